//! Read + check of a generated 100,000-row × 9-column .xlsx (issue 2's
//! target: ≤ 0.25 s native). The file is also written to
//! target/bench-users-100k.xlsx so the peak memory of `roster check` can be
//! measured on it (docs/PERFORMANCE.md says how).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use roster_shared::{CheckOptions, check_file};
use rust_xlsxwriter::Workbook;

/// The allocator the `roster` binary (CLI and server) uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const HEADERS: [&str; 9] = [
    "First Name",
    "Last Name",
    "Username",
    "Email",
    "User ID",
    "Password",
    "Sub-level-1",
    "Special Needs",
    "Time Zone",
];

fn users_xlsx(rows: u32) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("Users").unwrap();
    for (c, h) in HEADERS.iter().enumerate() {
        sheet.write_string(0, c as u16, *h).unwrap();
    }
    for i in 1..=rows {
        let r = i;
        sheet.write_string(r, 0, format!("First{i}")).unwrap();
        sheet
            .write_string(r, 1, format!("Last{}", i % 977))
            .unwrap();
        sheet.write_string(r, 2, format!("user{i}")).unwrap();
        sheet
            .write_string(r, 3, format!("user{i}@example.com"))
            .unwrap();
        sheet.write_number(r, 4, f64::from(100_000 + i)).unwrap();
        sheet.write_string(r, 5, format!("pw-{i:08}")).unwrap();
        sheet
            .write_string(r, 6, ["North", "South", "East", "West"][i as usize % 4])
            .unwrap();
        sheet
            .write_string(r, 7, if i % 10 == 0 { "yes" } else { "no" })
            .unwrap();
        sheet.write_string(r, 8, "Europe/Amsterdam").unwrap();
    }
    workbook.save_to_buffer().unwrap()
}

fn bench(c: &mut Criterion) {
    let bytes = users_xlsx(100_000);
    let target = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../target/bench-users-100k.xlsx"
    );
    std::fs::write(target, &bytes).ok();
    let options = CheckOptions::default();
    let report = check_file(&bytes, None, &options).unwrap();
    assert_eq!(
        (report.summary.rows, report.summary.with_errors),
        (100_000, 0)
    );

    let mut group = c.benchmark_group("xlsx 100k rows x 9 columns");
    group.sample_size(10);
    group.bench_function("read + check", |b| {
        b.iter(|| check_file(black_box(&bytes), None, &options).unwrap())
    });
    group.bench_function("read only", |b| {
        b.iter(|| roster_shared::read_table(black_box(&bytes), None, &options.read).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
