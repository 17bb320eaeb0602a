//! The parts of an .xlsx package, inflated only when read and only within
//! the limits: the zip crate does not cap what an entry inflates to.

use std::io::{Cursor, Read};

use zip::ZipArchive;
use zip::result::ZipError;

use crate::error::ReadError;
use crate::limits::Limits;
use crate::read::archive::index_of;

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
        index_of(&self.zip, name).is_some()
    }

    /// The size a part says it inflates to (0 if absent or unreadable):
    /// only an estimate, for progress.
    pub fn declared_size(&mut self, name: &str) -> u64 {
        index_of(&self.zip, name)
            .and_then(|i| self.zip.by_index_raw(i).ok().map(|e| e.size()))
            .unwrap_or(0)
    }

    /// A part's bytes; `None` if the package has no such part.
    pub fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, ReadError> {
        self.stream(name, |part| {
            let mut data = Vec::with_capacity(part.size_hint());
            part.read_to_end(&mut data).map_err(|e| part.error(e))?;
            Ok(data)
        })
    }

    /// Hands a part to `consume` as a reader that stops at the limits; for
    /// parts too big to hold whole (the sheet).
    pub fn stream<T>(
        &mut self,
        name: &str,
        consume: impl FnOnce(&mut PartReader<'_>) -> Result<T, ReadError>,
    ) -> Result<Option<T>, ReadError> {
        let Some(index) = index_of(&self.zip, name) else {
            return Ok(None);
        };
        let mut entry = self.zip.by_index(index).map_err(damaged)?;
        let packed = entry.compressed_size().max(1);
        let limits = self.limits;
        let left_in_total =
            limits.max_inflated_bytes - self.inflated.min(limits.max_inflated_bytes);
        let ratio_cap = limits
            .ratio_applies_after
            .max(packed.saturating_mul(limits.max_compression_ratio));
        let cap = left_in_total.min(ratio_cap);
        let declared = entry.size();
        let mut part = PartReader {
            inner: &mut entry,
            name,
            left: cap,
            cap,
            declared,
            passed: None,
        };
        let result = consume(&mut part);
        let read = cap - part.left;
        if part.passed.is_some() {
            return Err(if ratio_cap >= left_in_total {
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
        self.inflated += read;
        result.map(Some)
    }
}

/// One part being inflated: reads fail once the part passes its cap.
pub(super) struct PartReader<'p> {
    inner: &'p mut dyn Read,
    name: &'p str,
    left: u64,
    cap: u64,
    declared: u64,
    passed: Option<()>,
}

impl PartReader<'_> {
    /// Bytes inflated so far.
    pub fn inflated(&self) -> u64 {
        self.cap - self.left
    }

    /// The declared size, trusted only as far as 64 MiB and the cap.
    pub fn size_hint(&self) -> usize {
        self.declared.min(self.left).min(64 << 20) as usize
    }

    /// A read error of this part, as the file's error.
    pub fn error(&self, e: std::io::Error) -> ReadError {
        ReadError::Damaged {
            format: ".xlsx",
            detail: format!("part {}: {e}", self.name),
        }
    }
}

impl Read for PartReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? > 0 {
                self.passed = Some(());
                return Err(std::io::Error::other("the part passed its size limit"));
            }
            return Ok(0);
        }
        let want = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
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
