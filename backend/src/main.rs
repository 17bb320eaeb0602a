//! `roster`: the command line and (later) the server of Roster.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

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
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Command::Check(check) => cli::check::run(check),
    }
}
