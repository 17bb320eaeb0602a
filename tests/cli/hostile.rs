//! Every hostile file ends in exit status 2 with one clear line, within
//! seconds and within 2 GiB of address space (enforced with `ulimit -v`).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use roster_tests::{fixture, roster_bin};

/// A hang guard, not a speed measurement: far above the real figures.
const HANG_GUARD: Duration = Duration::from_secs(120);

fn check_hostile(path: &Path) -> String {
    check_hostile_with(path, &[])
}

/// [`check_hostile`] with more arguments after the file (`--json`).
fn check_hostile_with(path: &Path, args: &[&str]) -> String {
    let script = format!("ulimit -v {}; exec \"$0\" check \"$@\"", 2 * 1024 * 1024);
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .arg(roster_bin())
        .arg(path)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sh runs");
    let started = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if started.elapsed() > HANG_GUARD {
            child.kill().ok();
            panic!("{}: still running after {HANG_GUARD:?}", path.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{}: {stderr}", path.display());
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(out.stdout.is_empty());
    stderr
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("roster-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn a_one_gib_shared_string_in_a_one_mb_xlsx() {
    let err = check_hostile(&fixture("bomb-1gib.xlsx"));
    assert!(err.contains("in case it is a zip bomb"), "{err}");
}

#[test]
fn cells_at_a1_and_xfd1048576() {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "First Name").unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    let path = temp("corners.xlsx", &workbook.save_to_buffer().unwrap());
    let err = check_hostile(&path);
    assert!(
        err.ends_with("row 1048576 has a value in column XFD, beyond the limit of 1000 columns\n"),
        "{err}"
    );
}

#[test]
fn encrypted_truncated_random_and_far_away_files() {
    let err = check_hostile(&fixture("encrypted.xlsx"));
    assert!(err.contains("protected with a password"), "{err}");
    // Found by cargo fuzz: calamine panics on it; the panic is contained.
    let regression =
        roster_tests::workspace_root().join("shared/tests/fuzz-regressions/xls-short-record.xls");
    let err = check_hostile(&regression);
    assert!(
        err.contains("the .xls file is damaged or incomplete"),
        "{err}"
    );
    let err = check_hostile(&fixture("far-cell.xls"));
    assert!(
        err.contains("the sheet covers more than 4000000 cells"),
        "{err}"
    );
    let users = std::fs::read(fixture("users.xlsx")).unwrap();
    let err = check_hostile(&temp("truncated.xlsx", &users[..users.len() / 2]));
    assert!(err.contains("damaged or incomplete"), "{err}");
    let noise: Vec<u8> = (0..100_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let err = check_hostile(&temp("noise.xlsx", &noise));
    assert!(err.contains("not a spreadsheet Roster can read"), "{err}");
}

#[test]
fn more_than_250000_data_rows() {
    let mut csv = String::from("First Name,Last Name,Username,Email,User ID\n");
    for i in 0..250_001 {
        csv.push_str(&format!("A,B,u{i},u{i}@example.com,{i}\n"));
    }
    let err = check_hostile(&temp("many.csv", csv.as_bytes()));
    assert!(
        err.ends_with("the file has more than 250000 data rows; split it into smaller files\n"),
        "{err}"
    );
}

#[test]
fn a_file_over_25_mib() {
    let path = temp("big.csv", &vec![b'a'; 25 * 1024 * 1024 + 1]);
    let err = check_hostile(&path);
    assert!(
        err.ends_with("the file is 26214401 bytes; the limit is 26214400 bytes\n"),
        "{err}"
    );
}

/// An .xlsx (rust_xlsxwriter's) whose one shared string, `text`, is the
/// first name of `rows` rows; rust_xlsxwriter refuses a string over
/// Excel's limit, so the text is put in the shared strings part after.
fn xlsx_sharing_one_text(text: &str, rows: u32) -> Vec<u8> {
    use std::io::{Cursor, Write};
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, h) in ["First Name", "Last Name", "Username", "Email", "User ID"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for r in 1..=rows {
        sheet.write_string(r, 0, "SHARED-TEXT").unwrap();
        sheet.write_string(r, 1, "Lee").unwrap();
        sheet.write_string(r, 2, format!("u{r}")).unwrap();
        sheet
            .write_string(r, 3, format!("u{r}@example.org"))
            .unwrap();
        sheet.write_number(r, 4, f64::from(r)).unwrap();
    }
    let written = workbook.save_to_buffer().unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(written)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let entry_name = entry.name().unwrap().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if entry_name == "xl/sharedStrings.xml" {
            let xml = String::from_utf8(data).unwrap();
            assert_eq!(xml.matches("SHARED-TEXT").count(), 1);
            data = xml.replace("SHARED-TEXT", text).into_bytes();
        }
        out.start_file(&entry_name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&data).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn a_one_mb_shared_string_in_ten_thousand_cells() {
    // 10 GB of JSON once, which aborted `roster check --json`.
    let bytes = xlsx_sharing_one_text(&"x".repeat(1 << 20), 10_000);
    assert!(bytes.len() < 512 * 1024, "{} bytes", bytes.len());
    let path = temp("one-long-text.xlsx", &bytes);
    let err = check_hostile_with(&path, &["--json"]);
    assert!(
        err.ends_with(
            "row 2, column A holds more than 32767 characters, more than a spreadsheet cell can hold; shorten it\n"
        ),
        "{err}"
    );
}

/// Peak resident memory (VmHWM) of a running process, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    kib * 1024
}

#[test]
fn json_is_streamed_not_built_in_memory() {
    // A text at the limit in 3,000 rows: 98 MB of JSON, from a 40 KB file.
    let text = "x".repeat(32_767);
    let path = temp("long-texts.xlsx", &xlsx_sharing_one_text(&text, 3_000));
    let mut child = Command::new(roster_bin())
        .args(["check", "--json"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("roster runs");
    let mut stdout = child.stdout.take().unwrap();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut printed = stdout.read(&mut chunk).unwrap();
    // The process is writing (and blocked on the pipe): its peak so far
    // covers the read, the check and, were it built in memory, the JSON.
    let peak = peak_rss(child.id());
    loop {
        let n = stdout.read(&mut chunk).unwrap();
        if n == 0 {
            break;
        }
        printed += n;
    }
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1), "too_long first names");
    assert!(printed > 3_000 * 32_767, "{printed} bytes of JSON");
    assert!(
        peak < 64 * 1024 * 1024,
        "peak RSS {} MB while printing {} MB",
        peak >> 20,
        printed >> 20
    );
}
