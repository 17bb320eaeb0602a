//! workbook.xml and its relationships: the sheets, their order, state and
//! part names, and the date system.

use quick_xml::events::Event;
use quick_xml::name::{Namespace, ResolveResult};

use super::opc::{Relationship, resolve};
use crate::error::ReadError;

pub(super) struct SheetEntry {
    pub name: String,
    pub visible: bool,
    pub is_worksheet: bool,
    /// Part name inside the package, e.g. `xl/worksheets/sheet1.xml`.
    pub part: String,
}

pub(super) struct Workbook {
    pub sheets: Vec<SheetEntry>,
    pub is_1904: bool,
}

/// `workbook` is the part named `part`; `rels` are its relationships.
pub(super) fn parse(
    workbook: &[u8],
    part: &str,
    rels: &[Relationship],
) -> Result<Workbook, ReadError> {
    let mut sheets = Vec::new();
    let mut is_1904 = false;
    let mut reader = quick_xml::NsReader::from_reader(workbook);
    let mut buf = Vec::new();
    loop {
        let (namespace, event) = reader.read_resolved_event_into(&mut buf).map_err(bad)?;
        match event {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                // Modern Excel also writes `<x15:workbookPr>` in `extLst`,
                // without `date1904`: only the main one tells the date system.
                "workbookPr" if is_main(&namespace) => {
                    is_1904 = e
                        .try_get_attribute("date1904")
                        .ok()
                        .flatten()
                        .is_some_and(|a| matches!(a.value.as_ref(), "1" | "true"));
                }
                "sheet" => {
                    let mut name = String::new();
                    let mut state = String::new();
                    let mut id = String::new();
                    for attr in e.attributes().flatten() {
                        let key = attr.key.local_name();
                        let value = super::xml::decoded(attr.value.as_bytes());
                        match key.as_ref() {
                            "name" => name = value,
                            "state" => state = value,
                            "id" => id = value,
                            _ => {}
                        }
                    }
                    let Some(rel) = rels.iter().find(|r| r.id == id && !r.external) else {
                        continue;
                    };
                    sheets.push(SheetEntry {
                        name,
                        visible: state.is_empty() || state == "visible",
                        is_worksheet: rel.is("worksheet"),
                        part: resolve(part, &rel.target),
                    });
                }
                _ => {}
            },
            Event::Eof => return Ok(Workbook { sheets, is_1904 }),
            _ => {}
        }
        buf.clear();
    }
}

/// The SpreadsheetML namespace (Transitional or Strict), or none at all
/// (hand-made files that declare no namespace).
fn is_main(namespace: &ResolveResult<'_>) -> bool {
    match namespace {
        ResolveResult::Bound(Namespace(ns)) => matches!(
            *ns,
            "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
                | "http://purl.oclc.org/ooxml/spreadsheetml/main"
        ),
        ResolveResult::Unbound => true,
        ResolveResult::Unknown(_) => false,
    }
}

fn bad(e: impl std::fmt::Display) -> ReadError {
    ReadError::Damaged {
        format: ".xlsx",
        detail: e.to_string(),
    }
}
