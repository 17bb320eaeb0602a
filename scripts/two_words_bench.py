"""For docs/PERFORMANCE.md "Two broad words": the statements a two-word
search sends, before (main at 944abab: `sorted_page`, the INTERSECT of both
ranges, sorted and counted) and after (`users.rs` `search_terms`: one word's
first 12,500 entries, each word's terms, the sought statement with
`enable_sort` and `jit` off), timed by psql's \\timing, on the database
scripts/two_words_seed.sql made. The SQL is written out here as users.rs
writes it; the page's users, read by id afterwards, are left out (the same
both times).

    python3 scripts/two_words_bench.py roster_two_words   # psql on PATH, PG* env
"""
import re
import subprocess
import sys

ID = "1000000000000000000"
END = "chr(1114111)"
COUNTED, SOUGHT, TOTAL_CAP = 12_500, 1_250, 10_000
# name, words, the terms each sought word begins, words tested per user, per_page, offset
CASES = [
    ("anna kowa, page 1 of 50", ["anna", "kowa"], [["anna"], ["kowalski"]], [], 50, 0),
    ("anna kowa, page 19 of 200", ["anna", "kowa"], [["anna"], ["kowalski"]], [], 200, 3600),
    ("anna noah (nothing in common), page 1 of 50", ["anna", "noah"], [["anna"], ["noah"]], [], 50, 0),
    ("sch anna, page 1 of 50", ["sch", "anna"], [["anna"]], ["sch"], 50, 0),
]


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def key(st):
    return f"substr({st}, 2, length({st}) - 21)"


def ident(st):
    return f"CAST(substr({st}, length({st}) - 18) AS BIGINT) - {ID}"


def seek(term, st):
    return (f"(SELECT sort_key || chr(1) || CAST(user_pk + {ID} AS TEXT) FROM user_search_terms "
            f"WHERE term = {lit(term)} AND active = 1 AND (sort_key, user_pk) >= "
            f"({key(st)}, {ident(st)} + CAST(substr({st}, 1, 1) AS BIGINT)) "
            f"ORDER BY sort_key, user_pk LIMIT 1)")


def step(sought, st):
    words = []
    for terms in sought:
        if len(terms) == 1:
            words.append(f"SELECT {seek(terms[0], st)} AS s")
        else:
            each = " UNION ALL ".join(f"SELECT {seek(t, st)} AS e" for t in terms)
            words.append(f"SELECT (SELECT MIN(e) FROM ({each}) w) AS s")
    return (f"(SELECT CASE WHEN COUNT(s) < {len(sought)} THEN '2' WHEN MIN(s) = MAX(s) "
            f"THEN '1' || MAX(s) ELSE '0' || MAX(s) END FROM ({' UNION ALL '.join(words)} "
            f"UNION ALL SELECT NULL AS s) x)")


def sought_sql(sought, tested, limit, offset):
    per_step = sum(len(t) for t in sought) + len(tested)
    steps = min(max((offset + limit) * 2 * per_step, SOUGHT), COUNTED) // per_step
    tests = "".join(
        f" AND EXISTS (SELECT 1 FROM user_search_terms t WHERE t.user_pk = {ident('st')} "
        f"AND t.term || '' >= {lit(w)} AND t.term || '' < {lit(w)} || {END})" for w in tested)
    start = f"'0' || chr(1) || '{ID}'"
    return (f"WITH RECURSIVE j(st, n, h) AS ( SELECT {step(sought, start)}, CAST(0 AS BIGINT), "
            f"CAST(0 AS BIGINT) UNION ALL SELECT {step(sought, 'j.st')}, j.n + 1, "
            f"j.h + CASE WHEN substr(j.st, 1, 1) = '1' THEN 1 ELSE 0 END FROM j "
            f"WHERE substr(j.st, 1, 1) <> '2' AND j.n < {steps} AND j.h < {TOTAL_CAP - 1}) "
            f"SELECT st, hits FROM ( SELECT st, n, CAST(SUM(CASE WHEN substr(st, 1, 1) = '1' "
            f"THEN 1 ELSE 0 END) OVER () AS BIGINT) AS hits, ROW_NUMBER() OVER (ORDER BY n) AS r "
            f"FROM j WHERE substr(st, 1, 1) = '2' OR (substr(st, 1, 1) = '1'{tests})) m "
            f"WHERE substr(st, 1, 1) = '2' OR (r > {offset} AND r <= {offset + limit}) ORDER BY n")


def script(after):
    out = ["\\timing on"]
    for name, words, sought, tested, limit, offset in CASES:
        out.append(f"\\echo '=== {name}'")
        if not after:
            parts = " INTERSECT ".join(
                f"SELECT user_pk, sort_key FROM user_search_terms WHERE active = 1 "
                f"AND term >= {lit(w)} AND term < {lit(w)} || {END}" for w in words)
            out.append(f"\\echo 'page, total'")
            out.append(f"SELECT count(*), max(total) FROM (SELECT user_pk, CAST(COUNT(*) OVER () "
                       f"AS BIGINT) AS total FROM ({parts}) m ORDER BY sort_key, user_pk "
                       f"LIMIT {limit} OFFSET {offset}) z;")
            continue
        w = words[0]
        out.append("BEGIN;")
        out.append(f"SELECT count(*) FROM (SELECT user_pk FROM user_search_terms WHERE active = 1 "
                   f"AND term >= {lit(w)} AND term < {lit(w)} || {END} LIMIT {COUNTED}) m;")
        for w in words:
            out.append(f"SELECT count(*) FROM (WITH RECURSIVE t(term, n) AS ( SELECT MIN(term), "
                       f"CAST(1 AS BIGINT) FROM user_search_terms WHERE term >= {lit(w)} AND "
                       f"term < {lit(w)} || {END} UNION ALL SELECT (SELECT MIN(s.term) FROM "
                       f"user_search_terms s WHERE s.term > t.term AND s.term < {lit(w)} || {END}), "
                       f"t.n + 1 FROM t WHERE t.term IS NOT NULL AND t.n < 129) "
                       f"SELECT term FROM t WHERE term IS NOT NULL) z;")
        out.append("SELECT set_config('enable_sort', 'off', true), set_config('jit', 'off', true);")
        out.append(f"\\echo 'page, found, ended'")
        out.append(f"SELECT count(*) FILTER (WHERE st LIKE '1%'), max(hits), bool_or(st = '2') "
                   f"FROM ({sought_sql(sought, tested, limit, offset)}) z;")
        out.append("SELECT set_config('enable_sort', 'on', true), set_config('jit', 'on', true);")
        out.append("COMMIT;")
    return "\n".join(out) + "\n"


def run(database, after):
    text = subprocess.run(["psql", "-X", "-d", database], input=script(after), text=True,
                          capture_output=True, check=True).stdout
    for case in text.split("=== ")[1:]:
        name = case.splitlines()[0]
        times = [float(t) for t in re.findall(r"Time: ([0-9.]+) ms", case)]
        rows = re.findall(r"^ +(\d+) \| +(\d+)(?: \| ([tf]))?$", case, re.M)
        label = "after " if after else "before"
        print(f"{label} {name}: {sum(times):.1f} ms in all, largest statement "
              f"{max(times):.1f} ms; {' '.join('|'.join(filter(None, r)) for r in rows)}")


if __name__ == "__main__":
    db = sys.argv[1] if len(sys.argv) > 1 else "roster_two_words"
    run(db, after=False)
    run(db, after=True)
