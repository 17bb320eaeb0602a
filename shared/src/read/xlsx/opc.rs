//! The package's map (Open Packaging Conventions): which part is the
//! workbook, and where the parts it relates to are. Writers other than Excel
//! put the workbook anywhere (`/workbook.xml`, `/xl/Workbook.xml`): the
//! package says where through `_rels/.rels` and `[Content_Types].xml`, and
//! part names are compared ignoring ASCII case, as the conventions say.

use quick_xml::events::Event;

use crate::error::ReadError;

/// One `<Relationship>` of a `.rels` part.
pub(super) struct Relationship {
    pub id: String,
    /// The type URI; compared by its last segment (`/worksheet`), which is
    /// the same in Transitional and Strict OOXML.
    pub kind: String,
    pub target: String,
    pub external: bool,
}

impl Relationship {
    pub fn is(&self, kind: &str) -> bool {
        !self.external
            && self
                .kind
                .rsplit_once('/')
                .is_some_and(|(_, last)| last == kind)
    }
}

pub(super) fn relationships(rels: &[u8]) -> Result<Vec<Relationship>, ReadError> {
    let mut out = Vec::new();
    let mut reader = quick_xml::Reader::from_reader(rels);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf).map_err(bad)? {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "Relationship" => {
                let get = |k: &str| super::xml::attribute(&e, k).unwrap_or_default();
                out.push(Relationship {
                    id: get("Id"),
                    kind: get("Type"),
                    target: get("Target"),
                    external: get("TargetMode").eq_ignore_ascii_case("External"),
                });
            }
            Event::Eof => return Ok(out),
            _ => {}
        }
        buf.clear();
    }
}

/// The relationships part of `part`: `xl/workbook.xml` →
/// `xl/_rels/workbook.xml.rels`; the package's own is `_rels/.rels`.
pub(super) fn rels_of(part: &str) -> String {
    match part.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None => format!("_rels/{part}.rels"),
    }
}

/// The part a relationship of `source` points to: `target` is a URI
/// relative to the source's folder, or absolute from the package root
/// (`""` is the package itself). Percent escapes are decoded, `.` and
/// `..` resolved; the result has no leading `/`.
pub(super) fn resolve(source: &str, target: &str) -> String {
    let target = percent_decoded(target);
    let mut segments: Vec<&str> = Vec::new();
    if !target.starts_with('/')
        && let Some((dir, _)) = source.rsplit_once('/')
    {
        segments.extend(dir.split('/').filter(|s| !s.is_empty()));
    }
    for segment in target.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    segments.join("/")
}

fn percent_decoded(uri: &str) -> String {
    if !uri.contains('%') {
        return uri.to_string();
    }
    let bytes = uri.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What `[Content_Types].xml` says a part is: its `Override`, else the
/// `Default` for its extension (both compared ignoring ASCII case).
pub(super) fn content_type(types: &[u8], part: &str) -> Option<String> {
    let mut reader = quick_xml::Reader::from_reader(types);
    let mut buf = Vec::new();
    let extension = part.rsplit_once('.').map(|(_, e)| e);
    let mut by_default = None;
    loop {
        let event = reader.read_event_into(&mut buf).ok()?;
        match event {
            Event::Start(e) | Event::Empty(e) => {
                let get = |k: &str| super::xml::attribute(&e, k);
                match e.local_name().as_ref() {
                    "Override" => {
                        let name = get("PartName").unwrap_or_default();
                        if resolve("", &name).eq_ignore_ascii_case(part) {
                            return get("ContentType");
                        }
                    }
                    "Default" if by_default.is_none() => {
                        let ext = get("Extension").unwrap_or_default();
                        if extension.is_some_and(|x| x.eq_ignore_ascii_case(&ext)) {
                            by_default = get("ContentType");
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => return by_default,
            _ => {}
        }
        buf.clear();
    }
}

/// Every part `[Content_Types].xml` names with the content type of a
/// workbook's main part, in order.
pub(super) fn workbook_parts(types: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut reader = quick_xml::Reader::from_reader(types);
    let mut buf = Vec::new();
    while let Ok(event) = reader.read_event_into(&mut buf) {
        match event {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "Override" => {
                let get = |k: &str| super::xml::attribute(&e, k).unwrap_or_default();
                if is_workbook_type(&get("ContentType")) {
                    out.push(resolve("", &get("PartName")));
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    out
}

/// The main part of a workbook, template or macro-enabled workbook
/// (Transitional and Strict share these types); `.xlsb`'s binary one too,
/// so that it is named as such.
fn is_workbook_type(content_type: &str) -> bool {
    let t = content_type.trim().to_ascii_lowercase();
    (t.starts_with("application/vnd.openxmlformats-officedocument.spreadsheetml.")
        || t.starts_with("application/vnd.ms-excel."))
        && (t.ends_with(".main+xml") || t.ends_with(".main"))
}

/// A type that says the part is some other Office document's main part
/// (a .docx or .pptx renamed .xlsx).
pub(super) fn is_other_document_type(content_type: &str) -> bool {
    let t = content_type.to_ascii_lowercase();
    t.contains("wordprocessingml") || t.contains("presentationml") || t.contains("ms-word")
}

fn bad(e: impl std::fmt::Display) -> ReadError {
    ReadError::Damaged {
        format: ".xlsx",
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_resolve_against_their_source_folder() {
        assert_eq!(resolve("", "workbook.xml"), "workbook.xml");
        assert_eq!(resolve("", "/xl/workbook.xml"), "xl/workbook.xml");
        assert_eq!(
            resolve("xl/workbook.xml", "worksheets/sheet1.xml"),
            "xl/worksheets/sheet1.xml"
        );
        assert_eq!(
            resolve("xl/workbook.xml", "/xl/worksheets/sheet1.xml"),
            "xl/worksheets/sheet1.xml"
        );
        assert_eq!(
            resolve("xl/workbook.xml", "../custom/./sheet%201.xml"),
            "custom/sheet 1.xml"
        );
        assert_eq!(resolve("workbook.xml", "sheet1.xml"), "sheet1.xml");
        // Never above the root, whatever the target says.
        assert_eq!(resolve("xl/workbook.xml", "../../../a.xml"), "a.xml");
        assert_eq!(resolve("", "%zz%4"), "%zz%4");
    }

    #[test]
    fn rels_parts_sit_beside_their_source() {
        assert_eq!(rels_of("xl/workbook.xml"), "xl/_rels/workbook.xml.rels");
        assert_eq!(rels_of("workbook.xml"), "_rels/workbook.xml.rels");
    }

    #[test]
    fn content_types_by_override_then_default() {
        let types = br#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="XML" ContentType="application/xml"/><Override PartName="/Book.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/></Types>"#;
        assert_eq!(workbook_parts(types), ["Book.xml"]);
        assert_eq!(
            content_type(types, "book.XML").as_deref(),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml")
        );
        assert_eq!(
            content_type(types, "other.xml").as_deref(),
            Some("application/xml")
        );
        assert!(is_workbook_type(
            "application/vnd.ms-excel.sheet.macroEnabled.main+xml"
        ));
        assert!(is_workbook_type(
            "application/vnd.ms-excel.sheet.binary.macroEnabled.main"
        ));
        assert!(!is_workbook_type(
            "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
        ));
    }
}
