//! The user's own page (`/users/{id}`) against the real `roster serve`:
//! every field shown, the server's messages next to their field, a saved
//! change, an administrator setting a password (the user then signs in
//! with it), and delete to the trash can. A child of `admin.rs`, whose
//! server and API helpers it uses.

use serde_json::json;

use super::{Api, RosterServer};
use crate::helpers::{BrowserApp, ENTER, SELECT_ALL, absent, present, says};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_edits_sets_a_password_and_deletes_on_the_users_page() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    let placed = api.role_and_root().await;
    let dana = api
        .create_user(
            placed,
            json!({
                "first_name": "Dana", "last_name": "Scully", "username": "dscully",
                "email": "dana@example.com", "user_id": "4001", "sync_key": "k-4001",
            }),
        )
        .await;

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_as_admin(&server).await;

    // From the list, the name links to the user's page with every field.
    app.search_users("scully").await;
    app.wait_for_text("#users-status", "1 user found for “scully”.")
        .await;
    app.click(&format!("#users-table a[href='/users/{dana}']"))
        .await;
    app.wait_for_path(&format!("/users/{dana}")).await;
    app.wait_for_text("#user-title", "Dana Scully").await;
    app.wait_for_text("#field-hierarchy", "Root").await;
    let value = |id: &str| format!("return document.querySelector('#{id}').value;");
    assert_eq!(app.script(&value("field-username")).await, "dscully");
    assert_eq!(app.script(&value("field-sync_key")).await, "k-4001");
    assert_eq!(app.script(&value("field-user_id")).await, "4001");
    let lede = app.text(".lede").await;
    assert!(lede.contains("no password"), "{lede}");
    assert!(lede.contains(" UTC · changed "), "{lede}");
    assert_eq!(
        app.script(
            "return document.querySelector('#field-role_id').selectedOptions[0].textContent.trim();"
        )
        .await,
        "Administrator"
    );
    app.screenshot("pages-1-user").await;

    // A bad username: the server's message next to the field, with an
    // icon, and the field marked invalid and focused.
    app.type_into("#field-username", &format!("{SELECT_ALL}dana scully"))
        .await;
    app.click("#save-user").await;
    app.wait_for_text("#field-username-error", "Username: spaces not allowed")
        .await;
    // The focus moves on the next frame.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(
        app.script(
            "const f = document.querySelector('#field-username'); \
             return [f.getAttribute('aria-invalid'), document.activeElement === f, \
                     !!document.querySelector('#field-username-error svg.icon-error')];"
        )
        .await,
        json!(["true", true, true])
    );
    app.screenshot("pages-2-user-field-error").await;

    // Fixed and saved from the keyboard.
    app.type_into("#field-username", &format!("{SELECT_ALL}dana.scully"))
        .await;
    // Said once the user asked again after the save is shown: the title
    // already has the new name.
    app.watch_said(
        "#user-status",
        "Saved Dana Mulder.",
        &says("#user-title", "Dana Mulder"),
    )
    .await;
    app.type_into("#field-last_name", &format!("{SELECT_ALL}Mulder{ENTER}"))
        .await;
    assert!(
        app.held_when_said().await,
        "the title has the new name when the save is announced"
    );
    assert_eq!(app.text("#field-username-error").await, "");
    let stored = api.get(&format!("/api/users/{dana}")).await;
    assert_eq!(stored["username"], "dana.scully");
    assert_eq!(stored["last_name"], "Mulder");
    assert_eq!(stored["sync_key"], "k-4001");
    assert_eq!(stored["hierarchy_ids"], json!([placed.1]));

    // Set password: too short is said next to the field; a good one lets
    // the user sign in.
    app.type_into("#new-password", &format!("short{ENTER}"))
        .await;
    app.wait_for_text("#new-password-error", "Password").await;
    app.screenshot("pages-3-user-password-error").await;
    app.watch_said(
        "#user-status",
        "They get no email",
        &says(".lede", "has a password"),
    )
    .await;
    app.type_into(
        "#new-password",
        &format!("{SELECT_ALL}a-long-new-password{ENTER}"),
    )
    .await;
    assert!(
        app.held_when_said().await,
        "the header says the user has a password when it is announced"
    );
    assert_eq!(app.script(&value("new-password")).await, "");
    app.screenshot("pages-4-user-password-set").await;
    let login = reqwest::Client::new()
        .post(server.url("/api/login"))
        .json(&json!({"username": "dana.scully", "password": "a-long-new-password"}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(login.status().as_u16(), 200, "the user signs in with it");

    // Delete asks first, then goes back to the list; the user is in the
    // trash can.
    app.click("#delete-user").await;
    app.wait_for_text("[role=alertdialog]", "trash can").await;
    app.screenshot("pages-5-user-confirm-delete").await;
    app.type_into("#confirm-delete", ENTER).await;
    app.wait_for_path("/users").await;
    let trash = api.get("/api/trash").await;
    assert_eq!(trash["total"], 1);
    assert_eq!(trash["users"][0]["username"], "dana.scully");

    // One's own page offers no delete.
    let me = api.get("/api/me").await;
    let my_id = me["user"]["id"].as_i64().expect("my id");
    app.client
        .goto(&server.url(&format!("/users/{my_id}")))
        .await
        .expect("open my page");
    app.wait_for_text("#field-hierarchy", "Root").await;
    assert_eq!(app.text("#delete-user").await, "");

    app.finish().await;
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_are_made_on_the_roles_page_and_grant_only_what_they_hold() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    let (_, root) = api.role_and_root().await;

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_as_admin(&server).await;
    app.click(".topbar a[href='/roles']").await;
    app.wait_for_path("/roles").await;
    app.wait_for_text("#roles-table", "Administrator").await;
    app.wait_for_text("#grant-rule", "You can only grant permissions you hold")
        .await;

    // A role without manage_users, made from the keyboard.
    app.type_into("#role-name", "Role keeper").await;
    app.press_space_on("#perm-manage_roles").await;
    // Each change is said once the list asked again after it is shown.
    app.watch_said(
        "#roles-status",
        "Created the role Role keeper.",
        &says("[data-role='Role keeper']", "Manage roles"),
    )
    .await;
    app.type_into("#role-name", ENTER).await;
    assert!(
        app.held_when_said().await,
        "the new role's row is shown when it is announced"
    );
    assert!(
        !app.text("[data-role='Role keeper']")
            .await
            .contains("Manage users")
    );
    app.screenshot("pages-6-roles").await;

    // Renamed; a taken name is refused with the server's message.
    let roles = api.get("/api/roles").await;
    let keeper = roles["roles"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "Role keeper"))
        .and_then(|r| r["id"].as_i64())
        .expect("the new role");
    app.click(&format!("#edit-role-{keeper}")).await;
    app.type_into("#role-name", &format!("{SELECT_ALL}Administrator{ENTER}"))
        .await;
    app.wait_for_text("#roles-error", "a role with this name already exists")
        .await;
    assert_eq!(
        app.script("return !!document.querySelector('#roles-error svg.icon-error');")
            .await,
        true
    );
    app.watch_said(
        "#roles-status",
        "Saved the role Keeper.",
        &format!(
            "{} && {}",
            present("[data-role='Keeper']"),
            absent("[data-role='Role keeper']")
        ),
    )
    .await;
    app.type_into("#role-name", &format!("{SELECT_ALL}Keeper{ENTER}"))
        .await;
    assert!(
        app.held_when_said().await,
        "the new name, not the old one, is shown when the rename is announced"
    );

    // A throwaway role, deleted after a confirmation.
    app.watch_said(
        "#roles-status",
        "Created the role Spare.",
        &present("[data-role='Spare']"),
    )
    .await;
    app.type_into("#role-name", &format!("Spare{ENTER}")).await;
    assert!(app.held_when_said().await, "Spare's row is shown");
    let roles = api.get("/api/roles").await;
    let spare = roles["roles"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "Spare"))
        .and_then(|r| r["id"].as_i64())
        .expect("the spare role");
    app.click(&format!("#delete-role-{spare}")).await;
    app.wait_for_text("[role=alertdialog]", "Delete the role Spare?")
        .await;
    app.watch_said(
        "#roles-status",
        "Deleted the role Spare.",
        &absent("[data-role='Spare']"),
    )
    .await;
    app.type_into("#confirm-delete", ENTER).await;
    assert!(
        app.held_when_said().await,
        "Spare's row is gone when its deletion is announced"
    );

    // A user with the new role: the users pages are closed to them, and
    // on the roles page what they lack is disabled, and said.
    api.create_user(
        (keeper, root),
        json!({
            "first_name": "Rita", "last_name": "Keeper", "username": "rita",
            "email": "rita@example.com", "user_id": "5001", "password": "a-long-rita-password",
        }),
    )
    .await;
    app.click("#sign-out").await;
    app.wait_for_path("/sign-in").await;
    app.wait_for_text("main h1", "Sign in").await;
    app.type_into("#username", "rita").await;
    app.type_into("#password", &format!("a-long-rita-password{ENTER}"))
        .await;
    app.wait_for_path("/").await;
    app.wait_for_text("#signed-in-as", "rita (Keeper)").await;
    assert_eq!(app.nav_links().await, ["Roster", "Check a file", "Roles"]);
    app.client
        .goto(&server.url("/users"))
        .await
        .expect("open /users");
    app.wait_for_text("main h1", "Not available").await;
    app.client
        .goto(&server.url(&format!("/users/{}", 1)))
        .await
        .expect("open a user's page");
    app.wait_for_text("main h1", "Not available").await;
    app.screenshot("pages-7-users-refused").await;
    app.client
        .goto(&server.url("/roles"))
        .await
        .expect("open /roles");
    app.wait_for_text("#roles-table", "Keeper").await;
    assert_eq!(
        app.script(
            "return ['manage_users','manage_roles'].map(k => document.querySelector('#perm-' + k).disabled);"
        )
        .await,
        json!([true, false])
    );
    assert!(
        app.text("#role-form")
            .await
            .contains("Manage users — you do not hold this permission")
    );
    app.screenshot("pages-8-roles-limited").await;

    app.finish().await;
    drop(server);
}

/// On one's own page the password form asks for the current password and
/// goes through `/api/me/password` (the server refuses a PUT on oneself that
/// sets a password): a wrong current password is said next to the form, a
/// right one changes it and this session goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_changes_their_own_password_with_the_current_one() {
    let _turn = crate::ONE_BROWSER_AT_A_TIME.lock().await;
    let server = RosterServer::start().await;
    let api = Api::sign_in(&server).await;
    let me = api.get("/api/me").await["user"]["id"]
        .as_i64()
        .expect("admin's id");

    let app = BrowserApp::start_at(server.addr).await;
    app.sign_in_as_admin(&server).await;
    app.client
        .goto(&server.url(&format!("/users/{me}")))
        .await
        .expect("open one's own page");
    app.wait_for_text("#password-form h2", "Change your password")
        .await;

    app.type_into("#current-password", "not-my-password").await;
    app.type_into("#new-password", &format!("a-brand-new-password{ENTER}"))
        .await;
    app.wait_for_text("#new-password-error", "Current password")
        .await;
    app.wait_for_focus("current-password").await;

    app.type_into("#current-password", super::ADMIN_PASSWORD)
        .await;
    app.type_into("#new-password", &format!("a-brand-new-password{ENTER}"))
        .await;
    app.wait_for_text("#user-status", "Your password is changed")
        .await;
    let login = reqwest::Client::new()
        .post(server.url("/api/login"))
        .json(&json!({"username": "admin", "password": "a-brand-new-password"}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(login.status().as_u16(), 200, "admin signs in with it");
    app.finish().await;
}
