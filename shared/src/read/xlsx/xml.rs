//! A small, fast scanner for the two big parts of an .xlsx (the shared
//! strings and the sheet): tags, attributes and text, found with memchr.
//! It accepts what Excel and other writers produce and never panics on
//! anything else; a general XML parser is used for the small parts.

use memchr::memchr;

/// One tag: `<name attrs>`, `</name>` or `<name attrs/>`.
pub(super) struct Tag<'a> {
    /// The local name, without a namespace prefix (`x:row` → `row`).
    pub name: &'a [u8],
    pub closing: bool,
    pub self_closing: bool,
    attrs: &'a [u8],
}

impl<'a> Tag<'a> {
    /// The raw (still escaped) value of an attribute, by local name.
    pub fn attr(&self, wanted: &[u8]) -> Option<&'a [u8]> {
        self.attrs()
            .find(|(name, _)| *name == wanted)
            .map(|(_, v)| v)
    }

    /// Every attribute as (local name, raw value), in order.
    pub fn attrs(&self) -> Attrs<'a> {
        Attrs { rest: self.attrs }
    }
}

pub(super) struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attrs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let a = self.rest;
        let eq = position(b'=', a)?;
        let name = local(a[..eq].trim_ascii());
        let after = a[eq + 1..].trim_ascii_start();
        let quote = *after.first()?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let len = position(quote, &after[1..])?;
        self.rest = &after[1 + len + 1..];
        Some((name, &after[1..1 + len]))
    }
}

fn local(name: &[u8]) -> &[u8] {
    match position(b':', name) {
        Some(i) => &name[i + 1..],
        None => name,
    }
}

/// A byte in a short slice (a tag, a name): a plain loop beats memchr's
/// setup there.
fn position(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

pub(super) struct Scanner<'a> {
    xml: &'a [u8],
    pos: usize,
}

impl<'a> Scanner<'a> {
    pub fn new(xml: &'a [u8]) -> Self {
        Scanner { xml, pos: 0 }
    }

    /// The next tag, skipping text, comments, processing instructions and
    /// declarations. `None` at the end (or at a tag that never closes).
    pub fn next_tag(&mut self) -> Option<Tag<'a>> {
        loop {
            let here = self.xml.get(self.pos..)?;
            // Tags mostly follow each other directly: no search needed.
            let start = self.pos
                + if here.first() == Some(&b'<') {
                    0
                } else {
                    memchr(b'<', here)?
                };
            let rest = &self.xml[start + 1..];
            if rest.starts_with(b"!--") {
                let end = find(rest, b"-->")?;
                self.pos = start + 1 + end + 3;
                continue;
            }
            if rest.starts_with(b"![CDATA[") {
                let end = find(rest, b"]]>")?;
                self.pos = start + 1 + end + 3;
                continue;
            }
            // Writers escape `>` in attribute values, so a tag ends at the
            // first `>`; a file that does not is read wrongly, not unsafely.
            let end = match rest.get(..64).and_then(|head| position(b'>', head)) {
                Some(end) => end,
                None => memchr(b'>', rest)?,
            };
            self.pos = start + 1 + end + 1;
            let inner = &rest[..end];
            if inner.first().is_some_and(|&b| b == b'?' || b == b'!') {
                continue;
            }
            let (closing, inner) = match inner.strip_prefix(b"/") {
                Some(i) => (true, i),
                None => (false, inner),
            };
            let (self_closing, inner) = match inner.strip_suffix(b"/") {
                Some(i) => (true, i),
                None => (false, inner),
            };
            let name_end = inner
                .iter()
                .position(|&b| b == b' ' || b == b'\t' || b == b'\n' || b == b'\r')
                .unwrap_or(inner.len());
            return Some(Tag {
                name: local(&inner[..name_end]),
                closing,
                self_closing,
                attrs: &inner[name_end..],
            });
        }
    }

    /// The text of `open`text`close` right here, moving past it: the shape
    /// nearly every writer uses for a cell's value (`<v>12</v></c>`) and a
    /// shared string (`<si><t>Zoë</t></si>`). Anything else (a prefix,
    /// attributes, whitespace, CDATA, rich text) returns `None` and leaves
    /// the scanner where it was, for [`Scanner::next_tag`]. Reading the
    /// common shape directly saves a tag scan per tag.
    pub fn wrapped<const O: usize, const C: usize>(
        &mut self,
        open: &[u8; O],
        close: &[u8; C],
    ) -> Option<&'a [u8]> {
        let (text, after) = wrapped_text(self.xml.get(self.pos..)?, open, close)?;
        self.pos = self.xml.len() - after.len();
        Some(text)
    }

    /// What is left to scan, from the current position.
    pub fn rest(&self) -> &'a [u8] {
        self.xml.get(self.pos..).unwrap_or(&[])
    }

    /// Moves past `n` bytes of [`Scanner::rest`].
    pub fn skip(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.xml.len());
    }

    /// Appends the text of an element (a `<t>`) from here to its next tag,
    /// as [`push_text`] with Excel's escapes, taking CDATA sections
    /// (`<![CDATA[12345]]>`) as the text they hold.
    pub fn push_text_here(&mut self, out: &mut String) {
        loop {
            push_text(self.text(), true, out);
            let Some(cdata) = after_prefix(self.rest(), b"<![CDATA[") else {
                return;
            };
            let Some(end) = find(cdata, b"]]>") else {
                return;
            };
            out.push_str(&String::from_utf8_lossy(&cdata[..end]));
            self.skip(9 + end + 3);
        }
    }

    /// The raw text from here to the next tag (the tag is not consumed).
    pub fn text(&mut self) -> &'a [u8] {
        let rest = self.xml.get(self.pos..).unwrap_or(&[]);
        let len = memchr(b'<', rest).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }
}

/// [`Scanner::wrapped`] on a slice: the text between `open` and `close` at
/// the start of `xml`, and what follows `close`.
pub(super) fn wrapped_text<'a, const O: usize, const C: usize>(
    xml: &'a [u8],
    open: &[u8; O],
    close: &[u8; C],
) -> Option<(&'a [u8], &'a [u8])> {
    let rest = after_prefix(xml, open)?;
    let len = memchr(b'<', rest)?;
    let after = after_prefix(&rest[len..], close)?;
    Some((&rest[..len], after))
}

/// `bytes` after `prefix`, if they start with it. Compared as arrays: one
/// of up to 8 bytes (16 natively) compares as integers, where
/// `strip_prefix` calls `memcmp`, which in wasm compares a byte at a time
/// behind a call (5 % of reading a sheet in V8).
#[inline]
pub(super) fn after_prefix<'a, const N: usize>(
    bytes: &'a [u8],
    prefix: &[u8; N],
) -> Option<&'a [u8]> {
    let (head, rest) = bytes.split_first_chunk::<N>()?;
    (head == prefix).then_some(rest)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// Appends XML text to `out`, resolving entities and character references,
/// line ends as XML 1.0 §2.11 reads them (a literal CR LF or lone CR is one
/// LF; `&#13;` stays a CR), and (with `ooxml_escapes`) the `_xHHHH_`
/// escapes Excel writes for characters XML cannot hold.
pub(super) fn push_text(raw: &[u8], ooxml_escapes: bool, out: &mut String) {
    // One pass rather than a search per character: most texts are a few
    // bytes long, shorter than a search's set-up.
    let special = if ooxml_escapes { ESCAPED } else { ENTITY };
    if !raw.iter().any(|&b| SPECIAL[usize::from(b)] & special != 0) {
        // Checking for valid UTF-8 first is much faster than the lossy
        // conversion's chunking, and files are nearly always valid.
        match std::str::from_utf8(raw) {
            Ok(s) => out.push_str(s),
            Err(_) => out.push_str(&String::from_utf8_lossy(raw)),
        }
        return;
    }
    let text = String::from_utf8_lossy(raw);
    let mut rest: &str = &text;
    while let Some(i) = rest.find(['&', '\r', '_']) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if let Some(after) = rest.strip_prefix('\r') {
            out.push('\n');
            rest = after.strip_prefix('\n').unwrap_or(after);
        } else if rest.starts_with('&') {
            // An entity is short: looking further for its `;` would make a
            // text of many bare `&` quadratic.
            if let Some(end) = rest.bytes().take(13).position(|b| b == b';')
                && let Some(c) = entity(&rest[1..end])
            {
                out.push(c);
                rest = &rest[end + 1..];
                continue;
            }
            out.push('&');
            rest = &rest[1..];
        } else {
            // `_x000D_`: seven characters, four hex digits.
            let escaped = ooxml_escapes
                .then(|| rest.get(..7))
                .flatten()
                .filter(|s| s.starts_with("_x") && s.ends_with('_'))
                .and_then(|s| u32::from_str_radix(&s[2..6], 16).ok())
                .and_then(char::from_u32);
            match escaped {
                Some(c) => {
                    out.push(c);
                    rest = &rest[7..];
                }
                None => {
                    out.push('_');
                    rest = &rest[1..];
                }
            }
        }
    }
    out.push_str(rest);
}

/// The bytes [`push_text`] must look at: `&` and CR in any text, `_` where
/// Excel's escapes apply. A table: one load a byte, where three compares
/// cost a measurable share of reading 100,000 rows.
const ENTITY: u8 = 1;
const ESCAPED: u8 = 2;
const SPECIAL: [u8; 256] = {
    let mut table = [0; 256];
    table[b'&' as usize] = ENTITY | ESCAPED;
    table[b'\r' as usize] = ENTITY | ESCAPED;
    table[b'_' as usize] = ESCAPED;
    table
};

fn entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let code =
                if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok()
                } else {
                    name.strip_prefix('#')?.parse().ok()
                };
            code.and_then(char::from_u32)
        }
    }
}

/// The value of attribute `key` of a quick-xml start tag, its entities
/// decoded (the package parts: relationships, content types, styles).
pub(super) fn attribute(e: &quick_xml::events::BytesStart<'_>, key: &str) -> Option<String> {
    e.try_get_attribute(key)
        .ok()
        .flatten()
        .map(|a| decoded(a.value.as_bytes()))
}

/// Attribute or text bytes as a string, entities resolved.
pub(super) fn decoded(raw: &[u8]) -> String {
    let mut s = String::new();
    push_text(raw, false, &mut s);
    s
}

/// Cell text as a string, entities and Excel's `_xHHHH_` escapes resolved
/// (a formula's cached text is escaped as a shared string is).
pub(super) fn escaped_text(raw: &[u8]) -> String {
    let mut s = String::new();
    push_text(raw, true, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_attributes_and_text() {
        let mut s = Scanner::new(br#"<?xml version="1.0"?><!-- c --><x:row r="2" spans='1:3'><c r="A2" t="s"><v>12</v></c><c r="B2"/></x:row>"#);
        let row = s.next_tag().unwrap();
        assert_eq!(
            (row.name, row.attr(b"r"), row.attr(b"spans")),
            (&b"row"[..], Some(&b"2"[..]), Some(&b"1:3"[..]))
        );
        let c = s.next_tag().unwrap();
        assert_eq!((c.attr(b"t"), c.attr(b"s")), (Some(&b"s"[..]), None));
        assert_eq!(s.next_tag().unwrap().name, b"v");
        assert_eq!(s.text(), b"12");
        assert!(s.next_tag().unwrap().closing);
        s.next_tag();
        assert!(s.next_tag().unwrap().self_closing);
    }

    #[test]
    fn simple_elements_are_read_directly_and_others_left_alone() {
        let mut s = Scanner::new(b"<v>12</v></c><v>3</v></x><x:v>4</x:v></c><v>5</v>");
        assert_eq!(s.wrapped(b"<v>", b"</v></c>"), Some(&b"12"[..]));
        assert_eq!(s.wrapped(b"<v>", b"</v></c>"), None);
        assert_eq!(s.next_tag().unwrap().name, b"v");
        assert_eq!(s.text(), b"3");
        s.next_tag();
        s.next_tag();
        assert_eq!(s.wrapped(b"<v>", b"</v></c>"), None);
        assert_eq!(s.next_tag().unwrap().name, b"v");
        s.next_tag();
        s.next_tag();
        assert_eq!(s.wrapped(b"<v>", b"</v></c>"), None, "no closing tags");
        let mut s = Scanner::new(b"<v><![CDATA[1]]></v></c>");
        assert_eq!(s.wrapped(b"<v>", b"</v></c>"), None);
    }

    #[test]
    fn wrapped_text_is_read_only_when_plain() {
        let mut s = Scanner::new(b"<si><t>Zo&#235;</t></si><si><t>x</t></si>");
        assert_eq!(s.wrapped(b"<si><t>", b"</t></si>"), Some(&b"Zo&#235;"[..]));
        assert_eq!(s.wrapped(b"<si><t>", b"</t></x>"), None);
        assert_eq!(s.rest(), b"<si><t>x</t></si>", "a miss does not move");
        let mut s = Scanner::new(b"<si><t xml:space=\"preserve\"> x</t></si>");
        assert_eq!(s.wrapped(b"<si><t>", b"</t></si>"), None);
        let mut s = Scanner::new(b"<si><t>a<b/></t></si>");
        assert_eq!(s.wrapped(b"<si><t>", b"</t></si>"), None);
    }

    #[test]
    fn cdata_sections_are_text() {
        let mut s = Scanner::new(b"<t>a &amp; <![CDATA[<b> &amp; ]]>c<![CDATA[]]></t><x/>");
        s.next_tag();
        let mut out = String::new();
        s.push_text_here(&mut out);
        assert_eq!(out, "a & <b> &amp; c");
        assert!(s.next_tag().unwrap().closing);
        let mut s = Scanner::new(b"<t><![CDATA[never closed</t>");
        s.next_tag();
        let mut out = String::new();
        s.push_text_here(&mut out);
        assert_eq!(out, "");
    }

    #[test]
    fn entities_and_excel_escapes() {
        let mut out = String::new();
        push_text(
            b"a &amp; b &#233;&#x41; _x000D_ _x_ &bogus;",
            true,
            &mut out,
        );
        assert_eq!(out, "a & b éA \r _x_ &bogus;");
    }

    #[test]
    fn literal_line_ends_are_one_lf_and_escaped_ones_stay() {
        for escapes in [false, true] {
            let mut out = String::new();
            push_text(b"a\r\nb\rc\n\r\r\nd&#13;&#xD;\r", escapes, &mut out);
            assert_eq!(out, "a\nb\nc\n\n\nd\r\r\n", "escapes: {escapes}");
        }
        let mut out = String::new();
        push_text(b"a_x000D_\r\nb", true, &mut out);
        assert_eq!(out, "a\r\nb");
    }

    #[test]
    fn many_bare_ampersands_take_one_pass() {
        let raw = "&".repeat(1_000_000) + "&amp;";
        let mut out = String::new();
        push_text(raw.as_bytes(), true, &mut out);
        assert_eq!(out.len(), 1_000_001);
    }
}
