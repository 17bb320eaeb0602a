"""One-off: Try Import and the duplicates list against the seeded database."""
import json, sys, time
import requests

BASE = "http://127.0.0.1:18391"  # ROSTER_LISTEN of the server under test
# ROSTER_ADMIN_PASSWORD of its first start:
s = requests.Session()
r = s.post(BASE + "/api/login", json={"username": "admin", "password": "bench-Password-123!"})
r.raise_for_status()
csrf = r.json()["csrf_token"]
h = {"X-CSRF-Token": csrf}
role = s.get(BASE + "/api/roles").json()["roles"][0]["id"]
root = [n for n in s.get(BASE + "/api/hierarchy").json()["nodes"] if n["parent_id"] is None][0]["id"]

def rows(kind, start, n):
    out = []
    for k, i in enumerate(range(start, start + n)):
        if kind == "new":
            first, last, email = "Zoe", "New%d" % (i % 97), "n%07d@other.example.com" % i
        else:  # the seeded user i's name and email, in other capitals
            first, last = "FIRST%d" % (i % 1000), "last%d" % (i // 1000)
            email = ("u%07d@school%d.example.com" % (i, i % 97)).upper()
        out.append({"row": k + 2, "first_name": first, "last_name": last,
                    "username": "n%07d" % i, "email": email, "user_id": str(30000000 + i)})
    return out

def preview(kind, start, n):
    body = json.dumps({"file_name": "bench.xlsx", "role_id": role, "hierarchy_id": root,
                       "rows": rows(kind, start, n)})
    t = time.monotonic()
    r = s.post(BASE + "/api/imports", data=body, headers={**h, "Content-Type": "application/json"})
    dt = time.monotonic() - t
    r.raise_for_status()
    p = r.json()
    print("Try Import, %d %s rows: %.2f s, summary %s" % (n, kind, dt, p["summary"]))
    s.delete(BASE + "/api/imports/%d" % p["id"], headers=h)

for _ in range(2):
    preview("new", 1, 100000)
    preview("duplicate", 300000, 100000)
for page in [1, 1000]:
    for _ in range(2):
        t = time.monotonic()
        r = s.get(BASE + "/api/users/duplicates?page=%d" % page)
        dt = time.monotonic() - t
        r.raise_for_status()
        d = r.json()
        print("duplicates page %d: %.2f s, groups_total %d, groups %d" % (page, dt, d["groups_total"], len(d["groups"])))
