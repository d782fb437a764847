//! HTML pieces of the operator page: escaping, the page frame with its inline style, UTC times.

use std::fmt::{self, Display, Write};
use std::time::{SystemTime, UNIX_EPOCH};

/// `text` escaped for HTML element content and quoted attribute values.
pub(super) struct Esc<'a>(pub &'a str);

impl Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..at])?;
            f.write_str(match rest.as_bytes()[at] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[at + 1..];
        }
        f.write_str(rest)
    }
}

/// The three pages, for the navigation bar.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Tab {
    Overview,
    Catalog,
    Try,
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}\
header{background:#1d2430;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:baseline}\
header b{font-size:16px}header a{color:#c9d4e5;text-decoration:none}header a.on{color:#fff;border-bottom:2px solid #6fa8ff}\
main{padding:8px 24px 32px}h2{font-size:15px;margin:24px 0 8px}\
table{border-collapse:collapse;background:#fff;width:100%;box-shadow:0 1px 2px #0002}\
th,td{text-align:left;padding:5px 10px;border-bottom:1px solid #e3e6ea;vertical-align:top}\
th{background:#eef1f5;font-weight:600}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
.meta,.empty,small{color:#5b6575}.ok{color:#17823b}.bad{color:#b3261e}.warn{color:#9a6700}\
form{margin:12px 0;display:flex;gap:8px}input{font:inherit;padding:4px 8px}input[name=q]{width:28em}\
input[name=k]{width:4em}button{font:inherit;padding:4px 14px}code{font-size:13px}";

/// A whole page: the header with its navigation, then `body`.
pub(super) fn frame(gateway: &str, title: &str, tab: Tab, body: &str) -> String {
    let mut page = String::with_capacity(body.len() + 2048);
    let _ = write!(
        page,
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{} · {}</title><style>{STYLE}</style></head><body><header><b>{}</b>",
        Esc(title),
        Esc(gateway),
        Esc(gateway),
    );
    for (link, name, this) in [
        ("/ui", "Overview", Tab::Overview),
        ("/ui/catalog", "Catalog", Tab::Catalog),
        ("/ui/try", "Try a query", Tab::Try),
    ] {
        let on = if this == tab { " class=on" } else { "" };
        let _ = write!(page, "<a href=\"{link}\"{on}>{name}</a>");
    }
    let _ = write!(page, "</header><main>{body}</main></body></html>");
    page
}

/// `2026-03-01 12:34:56Z`.
pub(super) fn utc(at: SystemTime) -> String {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
