//! sharedStrings.xml: every string of the workbook, each in one shared
//! allocation that every cell using it points to, so that a column of a
//! hundred thousand names costs one allocation per distinct name.

use std::sync::Arc;

use super::xml::{Scanner, push_text};
use crate::error::ReadError;

pub(super) struct SharedStrings {
    /// Empty strings are `Arc::default()`, which allocates nothing.
    strings: Vec<Arc<str>>,
}

impl SharedStrings {
    pub fn get(&self, index: usize) -> Option<&Arc<str>> {
        self.strings.get(index)
    }

    /// Each `<si>` is the text of its `<t>` elements (rich text runs
    /// included, phonetic hints left out). More than `limit` strings is
    /// refused: each costs a slot, even empty, and `<si/>` packs tightly.
    pub fn parse(xml: &[u8], limit: usize) -> Result<SharedStrings, ReadError> {
        let mut strings = Strings {
            list: Vec::new(),
            text: String::new(),
            limit,
        };
        let mut scanner = Scanner::new(xml);
        let mut in_si = false;
        let mut in_phonetic = false;
        loop {
            // The usual `<si><t>text</t></si>`, read without its tags' scans.
            if !in_si && let Some(raw) = scanner.wrapped(b"<si><t>", b"</t></si>") {
                push_text(raw, true, &mut strings.text);
                strings.end()?;
                continue;
            }
            let Some(tag) = scanner.next_tag() else {
                break;
            };
            match (tag.name, tag.closing) {
                (b"si", false) => {
                    if tag.self_closing {
                        strings.end()?;
                    } else if let Some(raw) = scanner.wrapped(b"<t>", b"</t></si>") {
                        // The usual `<si><t>text</t></si>`, read at once.
                        push_text(raw, true, &mut strings.text);
                        strings.end()?;
                    } else {
                        in_si = true;
                    }
                }
                (b"si", true) => {
                    strings.end()?;
                    in_si = false;
                }
                (b"rPh", closing) => in_phonetic = !closing && !tag.self_closing,
                (b"t", false) if in_si && !in_phonetic && !tag.self_closing => {
                    scanner.push_text_here(&mut strings.text);
                }
                _ => {}
            }
        }
        Ok(SharedStrings {
            strings: strings.list,
        })
    }
}

/// The strings read so far and the text of the one being read.
struct Strings {
    list: Vec<Arc<str>>,
    text: String,
    limit: usize,
}

impl Strings {
    /// Ends the string being read.
    fn end(&mut self) -> Result<(), ReadError> {
        if self.list.len() == self.limit {
            return Err(ReadError::TooManyStrings { limit: self.limit });
        }
        self.list.push(if self.text.is_empty() {
            Arc::default()
        } else {
            Arc::from(self.text.as_str())
        });
        self.text.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(sst: &SharedStrings, index: usize) -> Option<&str> {
        sst.get(index).map(|s| &**s)
    }

    #[test]
    fn plain_rich_and_phonetic_strings() {
        let sst = SharedStrings::parse(
            r#"<sst><si><t>Zo&#235;</t></si><si><r><rPr><b/></rPr><t xml:space="preserve">Mül</t></r><r><t>ler</t></r><rPh><t>ミュラー</t></rPh></si><si/><si><t/></si></sst>"#.as_bytes(),
            10,
        )
        .unwrap();
        assert_eq!(get(&sst, 0), Some("Zoë"));
        assert_eq!(get(&sst, 1), Some("Müller"));
        assert_eq!(get(&sst, 2), Some(""));
        assert_eq!(get(&sst, 3), Some(""));
        assert_eq!(get(&sst, 4), None);
    }

    #[test]
    fn more_strings_than_the_limit_are_refused() {
        let xml = b"<sst><si><t>a</t></si><si/><si><t>b</t></si></sst>";
        assert!(SharedStrings::parse(xml, 3).is_ok());
        assert_eq!(
            SharedStrings::parse(xml, 2).err(),
            Some(ReadError::TooManyStrings { limit: 2 })
        );
    }
}
