//! .xlsx, read by Roster itself rather than calamine: calamine lays a sheet
//! out as a dense grid (issue 693: cells at A1 and XFD1048576 ask for
//! 550 GB), inflates parts without a cap, and gives every cell's string its
//! own allocation. Here each part is inflated within the limits, each
//! distinct string is allocated once and shared by the cells that use it,
//! and cells stream into the [`RowCollector`].

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
    if package.has("xl/workbook.bin") {
        return Err(ReadError::NotASpreadsheet {
            detail: "binary workbooks (.xlsb) are not supported; save as .xlsx".into(),
        });
    }
    let workbook_xml = package
        .read("xl/workbook.xml")?
        .ok_or_else(|| missing("xl/workbook.xml"))?;
    let rels = package
        .read("xl/_rels/workbook.xml.rels")?
        .ok_or_else(|| missing("xl/_rels/workbook.xml.rels"))?;
    let workbook = workbook::parse(&workbook_xml, &rels)?;
    let entry = super::choose_sheet(
        &workbook.sheets,
        |s| &s.name,
        |s| s.is_worksheet && s.visible,
        options.sheet.as_deref(),
    )?;

    // Progress counts the XML of the shared strings, then of the sheet: the
    // two take nearly all the time.
    let strings_size = package.declared_size("xl/sharedStrings.xml");
    progress.start(strings_size.saturating_add(package.declared_size(&entry.part)));
    let strings = match package.read("xl/sharedStrings.xml")? {
        Some(xml) => SharedStrings::parse(&xml, limits.max_shared_strings)?,
        None => SharedStrings::parse(b"", 0)?,
    };
    let number_formats = match package.read("xl/styles.xml")? {
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

fn missing(part: &str) -> ReadError {
    ReadError::Damaged {
        format: ".xlsx",
        detail: format!("the part {part} is missing"),
    }
}
