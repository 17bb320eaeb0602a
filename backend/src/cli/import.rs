//! `roster import FILE --role NAME --hierarchy PATH [--sheet NAME] [--map FIELD=HEADER]...
//! [--commit] [--skip-errors]`:
//! Try Import (and Import) straight on the database, through the server's
//! own import code (`roster_server::imports`), for scripts and large files.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use roster_server::error::Error;
use roster_server::imports::{self, Actor, ImportRegistry, ImportRequest};
use roster_server::permissions::Permissions;
use roster_server::{Clock, PasswordPolicy, db};
use roster_shared::RuleOptions;
use roster_shared::api::ImportPreview;

#[derive(clap::Args)]
pub struct ImportArgs {
    /// The spreadsheet: .xlsx, .xls, .ods or .csv.
    file: PathBuf,
    /// The sheet to read (default: the first visible worksheet).
    #[arg(long)]
    sheet: Option<String>,
    /// Map a field to a column by its header, e.g. `--map email="Work mail"`
    /// (else the headers are recognised as on the check page).
    #[arg(long = "map", value_name = "FIELD=HEADER", value_parser = super::parse_map)]
    map: Vec<(roster_shared::Field, String)>,
    /// The role every imported user gets (its name, any case).
    #[arg(long)]
    role: String,
    /// The start hierarchy node, as its path from the root (`Root/School A`).
    #[arg(long)]
    hierarchy: String,
    /// Import after showing the preview (else only the preview is shown).
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
    match runtime.block_on(import(&args)) {
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

async fn import(args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let file_name = args
        .file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rows = imports::rows_from_file(&bytes, &file_name, args.sheet.clone(), &args.map)
        .map_err(describe)?;
    imports::check_shape(&rows).map_err(describe)?;
    let db = db::connect(&args.database_url).await?;
    let role_id: Option<i64> = sqlx::query_scalar("SELECT id FROM roles WHERE name_key = $1")
        .bind(args.role.to_lowercase())
        .fetch_optional(&db)
        .await?;
    let role_id = role_id.with_context(|| format!("there is no role named {:?}", args.role))?;
    let hierarchy_id = roster_server::db::hierarchy::node_by_path(&db, &args.hierarchy)
        .await?
        .with_context(|| format!("there is no hierarchy node {:?}", args.hierarchy))?;

    // The preview lives only as long as this command: a key of its own.
    let registry = ImportRegistry::new(roster_server::secret::SecretKey::generate()?);
    let rules = RuleOptions::default();
    let actor = Actor {
        user_pk: 0,
        permissions: Permissions::all(),
    };
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
    if !p.warnings.is_empty() {
        println!(
            "Warnings, {} rows (first 15 rows; imported all the same):",
            s.with_warnings
        );
        for w in &p.warnings {
            println!("  row {}: {}", w.row, w.message);
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
