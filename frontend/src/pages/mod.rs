//! One file per page.

mod check;
mod duplicates;
mod hierarchy;
mod history;
mod history_entry;
mod history_undo;
mod home;
mod import;
mod not_found;
mod paging;
mod roles;
mod settings;
mod sign_in;
mod trash;
mod user;
mod users;

pub use check::CheckPage;
pub use duplicates::DuplicatesPage;
pub use hierarchy::HierarchyPage;
pub use history::ImportHistoryPage;
pub use history_entry::ImportEntryPage;
pub use home::HomePage;
pub use import::ImportPage;
pub use not_found::NotFoundPage;
pub use roles::RolesPage;
pub use settings::SettingsPage;
pub use sign_in::SignInPage;
pub use trash::TrashPage;
pub use user::UserPage;
pub use users::UsersPage;
