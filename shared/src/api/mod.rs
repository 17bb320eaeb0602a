//! The HTTP API's request and response types (SPEC section 9): the one home
//! of the wire, built by the server (which serves them) and the browser app
//! (which reads them), so a renamed field breaks the build, not a page.
//!
//! Plain serde data, no behaviour. With the `openapi` feature (the server
//! turns it on) each type also derives `utoipa::ToSchema` for the OpenAPI
//! document; the wasm app builds without it and does not carry utoipa.

pub mod undo;
