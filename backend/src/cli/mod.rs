//! The subcommands that need no server: `check` (no database either) and
//! `import` (the server's import code on the database directly).

pub mod check;
pub mod import;

use roster_shared::Field;

/// `--map FIELD=HEADER`, as `check` and `import` take it.
fn parse_map(arg: &str) -> Result<(Field, String), String> {
    let (key, header) = arg
        .split_once('=')
        .ok_or_else(|| format!("expected FIELD=HEADER, got \"{arg}\""))?;
    let field = Field::from_key(key.trim()).ok_or_else(|| {
        format!(
            "unknown field \"{key}\"; fields are: {}",
            Field::KEYS.join(", ")
        )
    })?;
    Ok((field, header.to_string()))
}
