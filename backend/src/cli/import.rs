//! `roster import FILE --role NAME --hierarchy PATH [--sheet NAME] [--map FIELD=HEADER]...
//! [--commit] [--skip-errors]`:
//! Try Import (and Import) straight on the database, through the server's
//! own import code (`roster_server::imports`), for scripts and large files.
//! `roster import --undo ID [--commit]`: the undo preview of an import
//! (SPEC section 6b), and with `--commit` the undo.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use roster_server::error::Error;
use roster_server::imports::{self, Actor, ImportPreview, ImportRegistry, ImportRequest};
use roster_server::permissions::Permissions;
use roster_server::{Clock, PasswordPolicy, db};
use roster_shared::RuleOptions;
use roster_shared::api::undo::UndoPreview;

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The spreadsheet: .xlsx, .xls, .ods or .csv.
    #[arg(required_unless_present = "undo", conflicts_with = "undo")]
    file: Option<PathBuf>,
    /// Undo the import of this id (its history entry's) instead: shows what
    /// the undo would do, and with --commit does it.
    #[arg(long, value_name = "ID")]
    undo: Option<i64>,
    /// The sheet to read (default: the first visible worksheet).
    #[arg(long)]
    sheet: Option<String>,
    /// Map a field to a column by its header, e.g. `--map email="Work mail"`
    /// (else the headers are recognised as on the check page).
    #[arg(long = "map", value_name = "FIELD=HEADER", value_parser = super::parse_map)]
    map: Vec<(roster_shared::Field, String)>,
    /// The role every imported user gets (its name, any case).
    #[arg(long, required_unless_present = "undo")]
    role: Option<String>,
    /// The start hierarchy node, as its path from the root (`Root/School A`).
    #[arg(long, required_unless_present = "undo")]
    hierarchy: Option<String>,
    /// Import (or undo) after showing the preview (else only the preview is shown).
    #[arg(long)]
    commit: bool,
    /// With --commit: import the other rows when some have errors.
    #[arg(long)]
    skip_errors: bool,
    /// The database, as for `roster serve`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://roster.db")]
    database_url: String,
}

/// Exit status: 0 done (or a preview without errors), 1 rows with errors
/// or a refused commit, 2 the file or the database could not be used.
pub fn run(args: ImportArgs) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("roster: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = match args.undo {
        Some(id) => runtime.block_on(undo(&args, id)),
        None => runtime.block_on(import(&args)),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            eprintln!("roster: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn describe(e: Error) -> anyhow::Error {
    match e {
        Error::Invalid { message, .. } => anyhow::anyhow!(message),
        other => anyhow::anyhow!(other.to_string()),
    }
}

/// The command line acts as no user (`user_pk` 0) holding every permission.
fn command_line() -> Actor {
    Actor {
        user_pk: 0,
        permissions: Permissions::all(),
    }
}

async fn import(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let (Some(file), Some(role), Some(hierarchy)) = (&args.file, &args.role, &args.hierarchy)
    else {
        anyhow::bail!("a file, --role and --hierarchy are needed to import");
    };
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rows = imports::rows_from_file(&bytes, &file_name, args.sheet.clone(), &args.map)
        .map_err(describe)?;
    imports::check_shape(&rows).map_err(describe)?;
    let db = db::connect(&args.database_url).await?;
    let role_id: Option<i64> = sqlx::query_scalar("SELECT id FROM roles WHERE name_key = $1")
        .bind(role.to_lowercase())
        .fetch_optional(&db)
        .await?;
    let role_id = role_id.with_context(|| format!("there is no role named {role:?}"))?;
    let hierarchy_id = roster_server::db::hierarchy::node_by_path(&db, hierarchy)
        .await?
        .with_context(|| format!("there is no hierarchy node {hierarchy:?}"))?;

    // The preview lives only as long as this command: a key of its own.
    let registry = ImportRegistry::new(roster_server::secret::SecretKey::generate()?);
    let rules = RuleOptions::default();
    let actor = command_line();
    let clock = Clock::system();
    let request = ImportRequest {
        file_name,
        sha256: imports::sha256_hex(&bytes),
        role_id,
        hierarchy_id,
        rows,
    };
    let preview = imports::create_preview(&db, &registry, &rules, actor, request, clock.now())
        .await
        .map_err(describe)?;
    print_preview(&preview);
    if !args.commit {
        imports::discard_preview(&db, preview.id)
            .await
            .map_err(describe)?;
        db.close().await;
        let errors = preview.summary.with_errors > 0;
        return Ok(ExitCode::from(u8::from(errors)));
    }
    let outcome = imports::commit(
        &db,
        &registry,
        &rules,
        PasswordPolicy::default(),
        actor,
        preview.id,
        args.skip_errors,
        clock.now(),
    )
    .await;
    let code = match outcome {
        Ok(result) => {
            println!(
                "Imported (import {}): {} created, {} synchronised, {} skipped.",
                preview.id, result.created, result.synced, result.skipped
            );
            ExitCode::SUCCESS
        }
        Err(Error::StalePreview(fresh)) => {
            eprintln!("roster: the directory changed meanwhile; nothing was imported");
            imports::discard_preview(&db, fresh.id)
                .await
                .map_err(describe)?;
            ExitCode::from(1)
        }
        Err(e) => {
            imports::discard_preview(&db, preview.id)
                .await
                .map_err(describe)?;
            eprintln!("roster: {:#}", describe(e));
            ExitCode::from(1)
        }
    };
    db.close().await;
    Ok(code)
}

fn print_preview(p: &ImportPreview) {
    let s = &p.summary;
    println!(
        "{} rows: {} to create, {} to synchronise ({} unchanged), {} with errors.",
        s.rows, s.to_create, s.to_sync, s.unchanged, s.with_errors
    );
    if !p.errors.is_empty() {
        println!("Errors (first 15 rows):");
        for e in &p.errors {
            match &e.held_by {
                Some(holder) => println!("  row {}: {} (held by {holder})", e.row, e.message),
                None => println!("  row {}: {}", e.row, e.message),
            }
        }
    }
    if !p.sync.is_empty() {
        println!("To synchronise (first 15):");
        for r in &p.sync {
            println!("  row {}: {} ({})", r.row, r.username, r.user_id);
        }
    }
    if !p.hierarchy_to_create.is_empty() {
        println!("Hierarchy nodes to create:");
        for path in &p.hierarchy_to_create {
            println!("  {path}");
        }
    }
    if !p.in_trash.is_empty() {
        println!("In the trash can (updated, they stay there):");
        for r in &p.in_trash {
            println!("  row {}: {}", r.row, r.username);
        }
    }
}

/// `roster import --undo ID [--commit]`. Exit status: 0 shown or undone,
/// 1 refused (already undone, not a finished import, or the directory
/// changed between the preview and the undo), 2 the database could not be used.
async fn undo(args: &ImportArgs, id: i64) -> anyhow::Result<ExitCode> {
    let db = db::connect(&args.database_url).await?;
    let preview = match imports::undo_preview(&db, command_line(), id).await {
        Ok(p) => p,
        Err(e @ (Error::NotFound(_) | Error::Conflict(_) | Error::AlreadyUndone(_))) => {
            eprintln!("roster: {:#}", describe(e));
            db.close().await;
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(describe(e)),
    };
    print_undo_preview(&preview);
    if !args.commit {
        db.close().await;
        return Ok(ExitCode::SUCCESS);
    }
    let outcome = imports::undo_commit(
        &db,
        command_line(),
        id,
        &preview.fingerprint,
        Clock::system().now(),
    )
    .await;
    db.close().await;
    match outcome {
        Ok(r) => {
            println!(
                "Undone (import {}): {} moved to the trash can, {} restored, {} nodes removed, \
                 {} left as they were.",
                r.undo_import_id, r.trashed, r.restored, r.nodes_removed, r.untouched
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ (Error::StaleUndo(_) | Error::Conflict(_) | Error::AlreadyUndone(_))) => {
            eprintln!("roster: {:#}", describe(e));
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(describe(e)),
    }
}

fn print_undo_preview(p: &UndoPreview) {
    let s = &p.summary;
    println!(
        "Undo of import {}: {} to the trash can, {} to restore, {} nodes to remove, {} left as they are.",
        p.import_id, s.to_trash, s.to_restore, s.nodes_to_remove, s.untouched
    );
    let more = |listed: usize, total: u64| {
        if (listed as u64) < total {
            println!("  … and {} more", total - listed as u64);
        }
    };
    if !p.to_trash.is_empty() {
        println!("To the trash can (created by the import):");
        for u in &p.to_trash {
            println!("  {} ({})", u.username, u.user_id);
        }
        more(p.to_trash.len(), s.to_trash);
    }
    if !p.to_restore.is_empty() {
        println!("Earlier values back (synchronised by the import):");
        for u in &p.to_restore {
            println!("  {}: {}", u.username, u.fields.join(", "));
        }
        more(p.to_restore.len(), s.to_restore);
    }
    if !p.nodes_to_remove.is_empty() {
        println!("Hierarchy nodes to remove (left empty):");
        for path in &p.nodes_to_remove {
            println!("  {path}");
        }
        more(p.nodes_to_remove.len(), s.nodes_to_remove);
    }
    if !p.untouched.is_empty() {
        println!("Left as they are:");
        for u in &p.untouched {
            println!("  {}", u.message);
        }
        more(p.untouched.len(), s.untouched);
    }
}
