//! One file per page.

mod check;
mod home;
mod not_found;

pub use check::CheckPage;
pub use home::HomePage;
pub use not_found::NotFoundPage;
