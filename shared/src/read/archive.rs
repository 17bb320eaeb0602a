//! Zip containers: which workbook they hold, and (for .ods, which calamine
//! opens) a check before calamine runs: the zip crate does not cap what an
//! entry inflates to, so every part is inflated once here into a counter,
//! and the read stops at the first limit.

use std::io::{self, Cursor, Read};

use zip::ZipArchive;
use zip::result::ZipError;

use crate::error::ReadError;
use crate::limits::Limits;

/// Which workbook a zip holds.
pub(super) enum ZipKind {
    Xlsx,
    Ods,
}

/// A part's index by its name. Part names are compared ignoring ASCII
/// case (Open Packaging Conventions), and some writers store names with
/// Windows separators (`xl\workbook.xml`): they name the same parts.
pub(super) fn index_of<R: io::Read + io::Seek>(zip: &ZipArchive<R>, name: &str) -> Option<usize> {
    zip.index_for_name(name).or_else(|| {
        zip.file_names_raw().position(|raw| {
            raw.len() == name.len()
                && raw
                    .iter()
                    .zip(name.as_bytes())
                    .all(|(&a, &b)| a.eq_ignore_ascii_case(&b) || (a == b'\\' && b == b'/'))
        })
    })
}

pub(super) fn kind(bytes: &[u8]) -> Result<ZipKind, ReadError> {
    let zip = ZipArchive::new(Cursor::new(bytes)).map_err(damaged("zip"))?;
    Ok(
        // An OOXML package says where its workbook is (xlsx/opc.rs).
        if [
            "[Content_Types].xml",
            "_rels/.rels",
            "xl/workbook.xml",
            "xl/workbook.bin",
        ]
        .iter()
        .any(|name| index_of(&zip, name).is_some())
        {
            ZipKind::Xlsx
        } else if zip.index_for_name("content.xml").is_some() {
            ZipKind::Ods
        } else {
            return Err(ReadError::NotASpreadsheet {
                detail: "the zip archive holds no workbook".into(),
            });
        },
    )
}

pub(super) fn check(bytes: &[u8], limits: &Limits) -> Result<(), ReadError> {
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(damaged("zip"))?;
    if zip.len() > limits.max_parts {
        return Err(ReadError::TooManyParts {
            limit: limits.max_parts,
        });
    }
    let mut total: u64 = 0;
    let mut sink = vec![0u8; 64 * 1024];
    for i in 0..zip.len() {
        let mut entry = match zip.by_index(i) {
            Ok(entry) => entry,
            Err(ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED)) => {
                return Err(ReadError::Encrypted);
            }
            Err(e) => return Err(damaged("zip")(e)),
        };
        if entry.encrypted() {
            return Err(ReadError::Encrypted);
        }
        let packed = entry.compressed_size().max(1);
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("#{i}"));
        let mut inflated: u64 = 0;
        loop {
            let n = match entry.read(&mut sink) {
                Ok(0) => break,
                Ok(n) => n as u64,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(ReadError::Damaged {
                        format: ".ods",
                        detail: format!("part {name}: {e}"),
                    });
                }
            };
            inflated += n;
            total += n;
            if total > limits.max_inflated_bytes {
                return Err(ReadError::InflatedTooLarge {
                    limit: limits.max_inflated_bytes,
                });
            }
            if inflated > limits.ratio_applies_after
                && inflated > packed.saturating_mul(limits.max_compression_ratio)
            {
                return Err(ReadError::SuspiciousCompression {
                    part: name,
                    ratio: limits.max_compression_ratio,
                });
            }
        }
    }
    Ok(())
}

fn damaged(format: &'static str) -> impl Fn(ZipError) -> ReadError {
    move |e| ReadError::Damaged {
        format,
        detail: e.to_string(),
    }
}
