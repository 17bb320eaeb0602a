//! .xlsx, read by Roster itself rather than calamine: calamine lays a sheet
//! out as a dense grid (issue 693: cells at A1 and XFD1048576 ask for
//! 550 GB), inflates parts without a cap, and gives every cell's string its
//! own allocation. Here each part is inflated within the limits, each
//! distinct string is allocated once and shared by the cells that use it,
//! and cells stream into the [`RowCollector`].

mod opc;
mod package;
mod shared_strings;
mod sheet;
mod styles;
mod workbook;
mod xml;

use super::{Format, ReadOptions, Reporter, RowCollector, Sheet};
use crate::error::ReadError;
use package::Package;
use shared_strings::SharedStrings;

pub(super) fn read(
    bytes: &[u8],
    options: &ReadOptions,
    progress: &mut Reporter<'_>,
) -> Result<Sheet, ReadError> {
    let limits = &options.limits;
    let mut package = Package::open(bytes, limits)?;
    let workbook_part = find_workbook(&mut package)?;
    let workbook_xml = package
        .read(&workbook_part)?
        .ok_or_else(|| missing(&workbook_part))?;
    let rels_part = opc::rels_of(&workbook_part);
    let rels = package
        .read(&rels_part)?
        .ok_or_else(|| missing(&rels_part))?;
    let rels = opc::relationships(&rels)?;
    let workbook = workbook::parse(&workbook_xml, &workbook_part, &rels)?;
    // The workbook's related parts; a package without the relationship
    // may still hold the part under its usual name, beside the workbook.
    let related = |kind: &str, usual: &str| {
        rels.iter().find(|r| r.is(kind)).map_or_else(
            || opc::resolve(&workbook_part, usual),
            |r| opc::resolve(&workbook_part, &r.target),
        )
    };
    let strings_part = related("sharedStrings", "sharedStrings.xml");
    let styles_part = related("styles", "styles.xml");
    let entry = super::choose_sheet(
        &workbook.sheets,
        |s| &s.name,
        |s| s.is_worksheet && s.visible,
        options.sheet.as_deref(),
    )?;

    // Progress counts the XML of the shared strings, then of the sheet: the
    // two take nearly all the time.
    let strings_size = package.declared_size(&strings_part);
    progress.start(strings_size.saturating_add(package.declared_size(&entry.part)));
    let strings = match package.read(&strings_part)? {
        Some(xml) => SharedStrings::parse(&xml, limits.max_shared_strings)?,
        None => SharedStrings::parse(b"", 0)?,
    };
    let number_formats = match package.read(&styles_part)? {
        Some(xml) => styles::number_formats(&xml),
        None => Vec::new(),
    };
    let context = sheet::Context {
        strings: &strings,
        number_formats: &number_formats,
        is_1904: workbook.is_1904,
        strings_size,
    };
    let mut rows = RowCollector::new(limits);
    package
        .stream(&entry.part, |part| {
            sheet::read_sheet(part, &context, &mut rows, progress)
        })?
        .ok_or_else(|| missing(&entry.part))?;
    Ok(Sheet {
        format: Format::Xlsx,
        name: entry.name.clone(),
        rows: rows.finish()?,
    })
}

/// The workbook's main part: the package's `officeDocument` relationship,
/// else the part `[Content_Types].xml` types as a workbook, else Excel's
/// usual name. A .xlsb's binary workbook and another Office document's
/// main part are named as such.
fn find_workbook(package: &mut Package<'_>) -> Result<String, ReadError> {
    let types = package.read("[Content_Types].xml")?;
    let mut candidates = Vec::new();
    // A damaged `_rels/.rels` only costs this way of finding the workbook.
    if let Some(rels) = package.read("_rels/.rels")?
        && let Ok(rels) = opc::relationships(&rels)
    {
        candidates.extend(
            rels.iter()
                .filter(|r| r.is("officeDocument"))
                .map(|r| opc::resolve("", &r.target)),
        );
    }
    if let Some(types) = &types {
        candidates.extend(opc::workbook_parts(types));
    }
    candidates.extend(["xl/workbook.xml".to_string(), "xl/workbook.bin".to_string()]);
    let part = candidates
        .into_iter()
        .find(|c| package.has(c))
        .ok_or_else(|| ReadError::NotASpreadsheet {
            detail: "the zip archive holds no workbook".into(),
        })?;
    let content_type = types
        .as_deref()
        .and_then(|t| opc::content_type(t, &part))
        .unwrap_or_default();
    if part.to_ascii_lowercase().ends_with(".bin") || content_type.contains(".binary.") {
        return Err(ReadError::NotASpreadsheet {
            detail: "binary workbooks (.xlsb) are not supported; save as .xlsx".into(),
        });
    }
    if opc::is_other_document_type(&content_type) {
        return Err(ReadError::NotASpreadsheet {
            detail: "the file is an Office document but not an Excel workbook".into(),
        });
    }
    Ok(part)
}

fn missing(part: &str) -> ReadError {
    ReadError::Damaged {
        format: ".xlsx",
        detail: format!("the part {part} is missing"),
    }
}
