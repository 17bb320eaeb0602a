//! `roster`: the command line and the server of Roster.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

/// mimalloc: reading and checking a 100,000-row file makes about two million
/// small allocations; it runs 17% fewer instructions than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Returns freed memory to the system at once rather than after a delay, and
/// commits arena memory only when used: the peak of a 100,000-row check goes
/// from 106 MB to 59 MB for the same speed (docs/PERFORMANCE.md).
fn tune_allocator() {
    // Positions in mimalloc's `mi_option_e` (v2 include/mimalloc.h).
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: mi_option_set only stores a value mimalloc reads atomically;
    // it is called before any other thread exists.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}

/// The server lives in the library target `roster_server` (src/server/), so
/// the API tests can start it in-process.
use roster_server as server;

#[derive(Parser)]
#[command(
    name = "roster",
    version,
    about = "Import user accounts in bulk from spreadsheets"
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read and check a spreadsheet of users, with no server and no database.
    ///
    /// Exit status: 0 no errors, 1 some rows have errors, 2 the file could
    /// not be read.
    Check(cli::check::CheckArgs),
    /// Try Import a spreadsheet straight on the database and, with
    /// --commit, import it.
    ///
    /// Exit status: 0 done (or a preview without errors), 1 rows with
    /// errors or a refused commit, 2 the file or database could not be used.
    Import(cli::import::ImportArgs),
    /// Run the web application: the API and the web app's files.
    Serve(server::ServeArgs),
    /// Administration that cannot wait for the web app.
    Admin(server::AdminArgs),
}

fn main() -> ExitCode {
    tune_allocator();
    let args = Args::parse();
    match args.command {
        Command::Check(check) => cli::check::run(check),
        Command::Import(import) => cli::import::run(import),
        Command::Serve(serve) => server::run_serve(serve),
        Command::Admin(admin) => server::run_admin(admin),
    }
}
