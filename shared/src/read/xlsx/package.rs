//! The parts of an .xlsx package, inflated only when read and only within
//! the limits: the zip crate does not cap what an entry inflates to.

use std::io::{Cursor, Read};

use zip::ZipArchive;
use zip::result::ZipError;

use crate::error::ReadError;
use crate::limits::Limits;

pub(super) struct Package<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    limits: &'a Limits,
    inflated: u64,
}

impl<'a> Package<'a> {
    pub fn open(bytes: &'a [u8], limits: &'a Limits) -> Result<Self, ReadError> {
        let zip = ZipArchive::new(Cursor::new(bytes)).map_err(damaged)?;
        if zip.len() > limits.max_parts {
            return Err(ReadError::TooManyParts {
                limit: limits.max_parts,
            });
        }
        Ok(Package {
            zip,
            limits,
            inflated: 0,
        })
    }

    pub fn has(&self, name: &str) -> bool {
        self.zip.index_for_name(name).is_some()
    }

    /// A part's bytes; `None` if the package has no such part.
    pub fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, ReadError> {
        let Some(index) = self.zip.index_for_name(name) else {
            return Ok(None);
        };
        let mut entry = match self.zip.by_index(index) {
            Ok(entry) => entry,
            Err(ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED)) => {
                return Err(ReadError::Encrypted);
            }
            Err(e) => return Err(damaged(e)),
        };
        let packed = entry.compressed_size().max(1);
        let limits = self.limits;
        // Past this, the part has passed a limit; which one is told below.
        let cap = (limits.max_inflated_bytes - self.inflated.min(limits.max_inflated_bytes)).min(
            limits
                .ratio_applies_after
                .max(packed.saturating_mul(limits.max_compression_ratio)),
        );
        let declared = entry.size().min(cap).min(64 << 20) as usize;
        let mut data = Vec::with_capacity(declared);
        (&mut entry)
            .take(cap + 1)
            .read_to_end(&mut data)
            .map_err(|e| ReadError::Damaged {
                format: ".xlsx",
                detail: format!("part {name}: {e}"),
            })?;
        let size = data.len() as u64;
        if size > cap {
            return Err(if self.inflated + size > limits.max_inflated_bytes {
                ReadError::InflatedTooLarge {
                    limit: limits.max_inflated_bytes,
                }
            } else {
                ReadError::SuspiciousCompression {
                    part: name.to_string(),
                    ratio: limits.max_compression_ratio,
                }
            });
        }
        self.inflated += size;
        Ok(Some(data))
    }
}

fn damaged(e: ZipError) -> ReadError {
    match e {
        ZipError::UnsupportedArchive(ZipError::PASSWORD_REQUIRED) => ReadError::Encrypted,
        e => ReadError::Damaged {
            format: "zip",
            detail: e.to_string(),
        },
    }
}
