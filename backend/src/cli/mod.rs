//! The subcommands that need no server.

pub mod check;
