//! Which cell styles show dates or times: a number in a date-formatted cell
//! is a date (Excel stores dates as numbers), which matters for section 3's
//! conversion and its `wrong_type`.

use quick_xml::events::Event;

use crate::cells::Shown;

/// `shown[style index]`, from styles.xml's `cellXfs`.
pub(super) fn number_formats(styles: &[u8]) -> Vec<Shown> {
    let mut custom: Vec<(u32, Shown)> = Vec::new();
    let mut shown = Vec::new();
    let mut in_cell_xfs = false;
    let mut reader = quick_xml::Reader::from_reader(styles);
    let mut buf = Vec::new();
    let attr = super::xml::attribute;
    // A damaged styles part only costs date detection, not the read.
    while let Ok(event) = reader.read_event_into(&mut buf) {
        match event {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                "numFmt" => {
                    if let (Some(id), Some(code)) = (attr(&e, "numFmtId"), attr(&e, "formatCode"))
                        && let Ok(id) = id.parse()
                    {
                        custom.push((id, shown_by(&code)));
                    }
                }
                "cellXfs" => in_cell_xfs = true,
                "xf" if in_cell_xfs => {
                    let id: u32 = attr(&e, "numFmtId")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let format = custom
                        .iter()
                        .find(|(c, _)| *c == id)
                        .map_or_else(|| builtin(id), |(_, d)| *d);
                    shown.push(format);
                }
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == "cellXfs" => in_cell_xfs = false,
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    shown
}

/// Built-in number formats that show a date or time (ECMA-376 18.8.30);
/// 46 is `[h]:mm:ss`.
fn builtin(id: u32) -> Shown {
    match id {
        46 => Shown::Elapsed,
        14..=22 | 27..=36 | 45 | 47 | 50..=58 => Shown::Date,
        _ => Shown::Number,
    }
}

/// A custom format shows a date if its first section uses a date or time
/// letter outside quotes, brackets and escapes (`yyyy-mm-dd`, `h:mm`), and
/// an elapsed time if an `[h]`, `[mm]` or `[ss]` comes first (`[h]:mm`),
/// as calamine decides for .xls.
pub(super) fn shown_by(code: &str) -> Shown {
    let section = code.split(';').next().unwrap_or("");
    let mut chars = section.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            _ if quoted => {}
            '\\' | '_' | '*' => {
                chars.next();
            }
            '[' => {
                let inner: String = chars.by_ref().take_while(|&c| c != ']').collect();
                let lower = inner.to_ascii_lowercase();
                if !lower.is_empty() && lower.chars().all(|c| matches!(c, 'h' | 'm' | 's')) {
                    return Shown::Elapsed;
                }
            }
            'd' | 'D' | 'm' | 'M' | 'y' | 'Y' | 'h' | 'H' | 's' | 'S' => return Shown::Date,
            _ => {}
        }
    }
    Shown::Number
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_formats() {
        for code in [
            "yyyy-mm-dd",
            "d/m/yy h:mm",
            "h:mm:ss",
            "[$-409]mmm d",
            "dd\\.mm",
        ] {
            assert_eq!(shown_by(code), Shown::Date, "{code}");
        }
        for code in ["[h]:mm:ss", "[hh]:mm", "[Red][mm]:ss", "[s]"] {
            assert_eq!(shown_by(code), Shown::Elapsed, "{code}");
        }
        for code in ["0.00", "#,##0", "\"days\" 0", "[Red]0.0", "General", "@"] {
            assert_eq!(shown_by(code), Shown::Number, "{code}");
        }
        assert_eq!(builtin(46), Shown::Elapsed, "[h]:mm:ss");
        assert_eq!(builtin(21), Shown::Date, "h:mm:ss");
        assert_eq!(builtin(3), Shown::Number);
    }
}
