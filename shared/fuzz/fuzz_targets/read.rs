//! Any bytes, as any format: reading and checking must end in a report or
//! one error, never a panic, an abort or a runaway allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_shared::{CheckOptions, check_file};

fuzz_target!(|data: &[u8]| {
    for name in [None, Some("users.csv")] {
        let _ = check_file(data, name, &CheckOptions::default());
    }
});
