//! Numbers and times as an administrator reads them, and the page's one
//! way to wait: each has its home here, used by every page.

/// `12345` → `"12,345"`; any integer type (the worker counts in `usize`,
/// the server in `i64`).
pub fn thousands<N: TryInto<i128>>(n: N) -> String {
    // Every integer type fits in an i128; the fallback is never taken.
    let n: i128 = n.try_into().unwrap_or(0);
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
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

/// `1` → `"1 row"`, `2` → `"2 rows"`, `1234` → `"1,234 rows"`.
pub fn count<N: TryInto<i128>>(n: N, one: &str, many: &str) -> String {
    let n: i128 = n.try_into().unwrap_or(0);
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// An RFC 3339 UTC time from the server as `"2026-11-26 02:21 UTC"`; any
/// other text as it is.
pub fn when(time: &str) -> String {
    match (time.get(..10), time.get(11..16)) {
        (Some(day), Some(minute)) if time.ends_with('Z') => format!("{day} {minute} UTC"),
        _ => time.to_string(),
    }
}

/// Waits `ms` milliseconds (the polls of a running import).
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
