//! API tests: the real server on a fresh SQLite file and on a fresh
//! PostgreSQL database, spoken to over HTTP (SPEC sections 7 and 9).

mod helpers;

/// The allocator `roster serve` runs with (backend/src/main.rs), so that
/// the in-process server's timings (scale.rs, import_scale.rs) are the
/// binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod access;
mod backup;
mod binary;
mod directory_writes;
mod export;
mod hierarchy;
mod import_fault;
mod import_memory;
mod import_scale;
mod imports;
mod jobs;
mod load;
mod misc;
mod multi_process;
mod processes;
mod roles;
mod scale;
mod search;
mod sessions;
mod settings;
mod shared_state;
mod sign_in_limits;
mod transport;
mod trash;
mod undo;
mod usernames;
mod users;
