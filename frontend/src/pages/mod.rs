//! One file per page.

mod check;
mod home;
mod not_found;
mod paging;
mod sign_in;
mod trash;
mod users;

pub use check::CheckPage;
pub use home::HomePage;
pub use not_found::NotFoundPage;
pub use sign_in::SignInPage;
pub use trash::TrashPage;
pub use users::UsersPage;
