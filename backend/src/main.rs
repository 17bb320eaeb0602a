//! `roster`: the command line and the server of Roster.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cli;

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
    /// Run the web application: the API and the web app's files.
    Serve(server::ServeArgs),
    /// Administration that cannot wait for the web app.
    Admin(server::AdminArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    match args.command {
        Command::Check(check) => cli::check::run(check),
        Command::Serve(serve) => server::run_serve(serve),
        Command::Admin(admin) => server::run_admin(admin),
    }
}
