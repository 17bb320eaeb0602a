//! Numbers as an administrator reads them.

/// `12345` → `"12,345"`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A file size: `"820 KB"`, `"4.2 MB"`.
pub fn bytes(size: f64) -> String {
    const KB: f64 = 1024.0;
    if size < KB {
        format!("{size:.0} bytes")
    } else if size < KB * KB {
        format!("{:.0} KB", size / KB)
    } else {
        let mb = size / (KB * KB);
        if mb.fract() == 0.0 {
            format!("{mb:.0} MB")
        } else {
            format!("{mb:.1} MB")
        }
    }
}

/// A duration: `"35 ms"`, `"2.4 s"`.
pub fn duration(ms: f64) -> String {
    if ms < 1000.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{:.1} s", ms / 1000.0)
    }
}

/// `1` → `"1 row"`, `2` → `"2 rows"`.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}
