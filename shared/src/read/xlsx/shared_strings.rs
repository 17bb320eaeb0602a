//! sharedStrings.xml: every string of the workbook in one buffer, so that a
//! sheet of a million short strings costs one allocation, not a million.

use super::xml::{Scanner, push_text};

pub(super) struct SharedStrings {
    text: String,
    /// End offset of each string in `text`.
    ends: Vec<usize>,
}

impl SharedStrings {
    pub fn get(&self, index: usize) -> Option<&str> {
        let end = *self.ends.get(index)?;
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        self.text.get(start..end)
    }

    /// Each `<si>` is the text of its `<t>` elements (rich text runs
    /// included, phonetic hints left out).
    pub fn parse(xml: &[u8]) -> SharedStrings {
        let mut text = String::with_capacity(xml.len() / 3);
        let mut ends = Vec::new();
        let mut scanner = Scanner::new(xml);
        let mut in_si = false;
        let mut in_phonetic = false;
        loop {
            // The usual `<si><t>text</t></si>`, read without its tags' scans.
            if !in_si && let Some(raw) = scanner.wrapped(b"<si><t>", b"</t></si>") {
                push_text(raw, true, &mut text);
                ends.push(text.len());
                continue;
            }
            let Some(tag) = scanner.next_tag() else {
                break;
            };
            match (tag.name, tag.closing) {
                (b"si", false) => {
                    if tag.self_closing {
                        ends.push(text.len());
                    } else if let Some(raw) = scanner.wrapped(b"<t>", b"</t></si>") {
                        // The usual `<si><t>text</t></si>`, read at once.
                        push_text(raw, true, &mut text);
                        ends.push(text.len());
                    } else {
                        in_si = true;
                    }
                }
                (b"si", true) => {
                    ends.push(text.len());
                    in_si = false;
                }
                (b"rPh", closing) => in_phonetic = !closing && !tag.self_closing,
                (b"t", false) if in_si && !in_phonetic && !tag.self_closing => {
                    push_text(scanner.text(), true, &mut text);
                }
                _ => {}
            }
        }
        SharedStrings { text, ends }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_rich_and_phonetic_strings() {
        let sst = SharedStrings::parse(
            r#"<sst><si><t>Zo&#235;</t></si><si><r><rPr><b/></rPr><t xml:space="preserve">Mül</t></r><r><t>ler</t></r><rPh><t>ミュラー</t></rPh></si><si/><si><t/></si></sst>"#.as_bytes(),
        );
        assert_eq!(sst.get(0), Some("Zoë"));
        assert_eq!(sst.get(1), Some("Müller"));
        assert_eq!(sst.get(2), Some(""));
        assert_eq!(sst.get(3), Some(""));
        assert_eq!(sst.get(4), None);
    }
}
