//! The subcommands that need no server: `check` (no database either) and
//! `import` (the server's import code on the database directly).

pub mod check;
pub mod import;
