//! `roster check FILE [--sheet NAME] [--map FIELD=HEADER]... [--json]`
//! (SPEC section 8): the rules crate on a file, printed as text or JSON.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use roster_shared::{CheckOptions, Field, ReadOptions, Report, check_file};

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The spreadsheet: .xlsx, .xls, .ods or .csv.
    file: PathBuf,
    /// The sheet to read (default: the first visible worksheet).
    #[arg(long)]
    sheet: Option<String>,
    /// Map a field to a column by its header, e.g. `--map email="Work mail"`.
    #[arg(long = "map", value_name = "FIELD=HEADER", value_parser = super::parse_map)]
    map: Vec<(Field, String)>,
    /// Print one JSON object instead of the text report.
    #[arg(long)]
    json: bool,
}

pub fn run(args: CheckArgs) -> ExitCode {
    match check(&args) {
        Ok(report) => {
            let printed = if args.json {
                print_json(&report)
            } else {
                print_text(&report)
            };
            if let Err(e) = printed {
                // A closed pipe (`| head`) is not the file's fault.
                if e.kind() != std::io::ErrorKind::BrokenPipe {
                    eprintln!("roster: cannot write the report: {e}");
                    return ExitCode::from(2);
                }
            }
            ExitCode::from(if report.errors.is_empty() { 0 } else { 1 })
        }
        Err(message) => {
            eprintln!("roster: {}: {message}", args.file.display());
            ExitCode::from(2)
        }
    }
}

fn check(args: &CheckArgs) -> Result<Report, String> {
    let limits = roster_shared::Limits::default();
    let size = std::fs::metadata(&args.file)
        .map_err(|e| e.to_string())?
        .len();
    if size > limits.max_file_bytes {
        // Refused before it is read into memory.
        return Err(roster_shared::ReadError::FileTooLarge {
            size,
            limit: limits.max_file_bytes,
        }
        .to_string());
    }
    let bytes = std::fs::read(&args.file).map_err(|e| e.to_string())?;
    let options = CheckOptions {
        read: ReadOptions {
            sheet: args.sheet.clone(),
            limits,
        },
        mapping: args.map.clone(),
        ..CheckOptions::default()
    };
    let name = args.file.file_name().and_then(|n| n.to_str());
    check_file(&bytes, name, &options).map_err(|e| e.to_string())
}

/// Streams the JSON to stdout: a report of 250,000 rows is never also held
/// as one string.
fn print_json(report: &Report) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    serde_json::to_writer(&mut out, report)?;
    writeln!(out)?;
    out.flush()
}

fn print_text(report: &Report) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let s = &report.source;
    let sheet = if s.sheet.is_empty() {
        String::new()
    } else {
        format!(", sheet \"{}\"", s.sheet)
    };
    writeln!(
        out,
        "{}{sheet}: header on row {}, {} data rows, {} blank rows skipped",
        s.format.extension(),
        s.header_row,
        s.data_rows,
        s.blank_rows
    )?;
    for (field, header) in &report.mapping {
        writeln!(out, "  {:<20} ← {header}", field.label())?;
    }
    if !report.unmapped_headers.is_empty() {
        writeln!(
            out,
            "  not imported: {}",
            report.unmapped_headers.join(", ")
        )?;
    }
    let sum = &report.summary;
    writeln!(
        out,
        "{} rows: {} valid, {} with errors, {} with warnings",
        sum.rows, sum.valid, sum.with_errors, sum.with_warnings
    )?;
    for e in &report.errors {
        writeln!(out, "  row {:>6}  {}", e.row, e.message)?;
    }
    if !report.warnings.is_empty() {
        // Warnings never change the exit status (SPEC section 4b).
        writeln!(out, "warnings (the rows can still be imported):")?;
        for w in &report.warnings {
            writeln!(out, "  row {:>6}  warning: {}", w.row, w.message)?;
        }
    }
    out.flush()
}
