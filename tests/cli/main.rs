//! `roster check` as an administrator runs it (SPEC section 8): the real
//! binary on real files, its exit status, its text and its JSON.

mod check;
mod hostile;
