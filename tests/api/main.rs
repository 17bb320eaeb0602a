//! API tests: the real server on a fresh SQLite file and on a fresh
//! PostgreSQL database, spoken to over HTTP (SPEC sections 7 and 9).

mod helpers;

mod access;
mod binary;
mod hierarchy;
mod import_fault;
mod import_scale;
mod imports;
mod misc;
mod roles;
mod scale;
mod search;
mod sessions;
mod settings;
mod trash;
mod users;
