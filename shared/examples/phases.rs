//! Times each step of read + check on one file (a profiling aid):
//! `cargo run --release -p roster-shared --example phases -- FILE`.

use std::time::Instant;

use roster_shared::{Mapping, ReadOptions, RuleOptions, check_rows, read_table, rows::map_rows};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let path = std::env::args().nth(1).expect("usage: phases FILE");
    let bytes = std::fs::read(&path).expect("readable file");
    let t = Instant::now();
    let table = read_table(&bytes, Some(&path), &ReadOptions::default()).expect("a table");
    let read = t.elapsed();
    let t = Instant::now();
    let mapping = Mapping::suggest(&table.headers);
    let rows = map_rows(&table, &mapping);
    let mapped = t.elapsed();
    let t = Instant::now();
    let checked = check_rows(rows, &RuleOptions::default());
    let check = t.elapsed();
    println!(
        "read {read:?}, map {mapped:?}, check {check:?}: {} rows, {} errors",
        checked.rows.len(),
        checked.errors.len()
    );
}
