//! The console's HTML: escaping, URL encoding, the page shell, the QR code
//! and the chart. Everything that comes from a bucket, a key, a torrent or
//! a number goes through [`escape`] (text and attribute values alike).

use std::fmt::Write as _;

use crate::metrics::torrents::{HISTORY, Sample};

/// `text` with `&`, `<`, `>`, `"` and `'` as character references: safe in
/// an element's text and in a quoted attribute value.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Every byte of `text` but RFC 3986's unreserved characters as `%XX`
/// (`/` too): a key as one path segment or one query value, which no
/// browser splits or normalizes.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(b));
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// `text` with its `%XX` decoded (and, when `plus` is set, `+` as a space,
/// as S3's `encoding-type=url` writes it); `None` when that is not UTF-8.
pub(crate) fn decode(text: &str, plus: Plus) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' if plus == Plus::Space => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Whether `+` means a space when decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Plus {
    /// `+` is a space (S3's `encoding-type=url`, HTML forms).
    Space,
    /// `+` is itself (a URL path).
    Literal,
}

/// A whole page: `title` (escaped here) and `body` (HTML already).
pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · s3torrent</title><style>{STYLE}</style></head>\
         <body><header><a href=\"/_s3torrent/\">s3torrent</a></header><main>\n{body}\n</main></body></html>\n",
        escape(title)
    )
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0;color:#1d2330;background:#f7f8fa}\
header{background:#1d2330;padding:.6em 1.2em}header a{color:#fff;text-decoration:none;font-weight:600}\
main{max-width:60em;margin:1.2em auto;padding:0 1.2em}\
table{border-collapse:collapse;width:100%;background:#fff}\
td,th{text-align:left;padding:.35em .6em;border-bottom:1px solid #e3e6eb;vertical-align:top}\
th{font-weight:600;width:12em}td.n{text-align:right;font-variant-numeric:tabular-nums}\
code,.k{font-family:ui-monospace,monospace;word-break:break-all}\
.qr{width:220px;height:220px;background:#fff;padding:8px}\
.links a{display:inline-block;margin:.3em 1em .3em 0}\
.legend span{display:inline-block;width:.9em;height:.9em;margin:0 .3em 0 1em;vertical-align:middle}\
.muted{color:#687182}";

/// A byte count for people: `1.5 MiB (1572864 bytes)`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {} ({n} bytes)", UNITS[unit])
}

/// The QR code of `text` as inline SVG, or `None` when it does not fit in
/// one.
pub(crate) fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build();
    // Inline in HTML: no XML declaration.
    let svg = match svg.find("<svg") {
        Some(at) => &svg[at..],
        None => &svg,
    };
    Some(svg.replacen(
        "<svg",
        "<svg class=\"qr\" role=\"img\" aria-label=\"QR code of the magnet link\"",
        1,
    ))
}

/// The colours of the chart's two lines.
const ORIGIN_COLOUR: &str = "#d9480f";
const SWARM_COLOUR: &str = "#1971c2";

/// An SVG chart of the last hour before `now` (a minute): what the origin
/// sent and what the swarm downloaded, in all, each sample held until the
/// next; with a legend.
pub(crate) fn chart(history: &[Sample], now: u64) -> String {
    let (w, h, left, top, bottom) = (600.0_f64, 180.0_f64, 8.0_f64, 12.0_f64, 22.0_f64);
    let plot_h = h - top - bottom;
    let start = now.saturating_sub(HISTORY as u64);
    let max = history
        .iter()
        .map(|s| s.origin.max(s.downloaded))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let x = |minute: u64| {
        left + (minute.saturating_sub(start) as f64) / HISTORY as f64 * (w - 2.0 * left)
    };
    let y = |v: u64| top + plot_h - (v as f64 / max) * plot_h;
    let line = |value: fn(&Sample) -> u64| {
        let mut points = String::new();
        let mut last: Option<u64> = None;
        for s in history.iter().filter(|s| s.minute >= start) {
            if let Some(prev) = last {
                // Held until this sample.
                let _ = write!(points, "{:.1},{:.1} ", x(s.minute), y(prev));
            } else {
                let _ = write!(points, "{:.1},{:.1} ", x(s.minute), y(0));
            }
            let _ = write!(points, "{:.1},{:.1} ", x(s.minute), y(value(s)));
            last = Some(value(s));
        }
        if let Some(prev) = last {
            let _ = write!(points, "{:.1},{:.1}", x(now), y(prev));
        }
        points
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" \
         aria-label=\"Bytes the origin sent and the swarm downloaded, the last hour\">\
         <rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>\
         <line x1=\"{left}\" y1=\"{base:.1}\" x2=\"{right:.1}\" y2=\"{base:.1}\" stroke=\"#c5cad3\"/>\
         <polyline fill=\"none\" stroke=\"{SWARM_COLOUR}\" stroke-width=\"2\" points=\"{swarm}\"/>\
         <polyline fill=\"none\" stroke=\"{ORIGIN_COLOUR}\" stroke-width=\"2\" points=\"{origin}\"/>\
         <text x=\"{left}\" y=\"{label:.1}\" font-size=\"11\" fill=\"#687182\">an hour ago</text>\
         <text x=\"{right:.1}\" y=\"{label:.1}\" font-size=\"11\" fill=\"#687182\" text-anchor=\"end\">now</text>\
         <text x=\"{left}\" y=\"{top_label}\" font-size=\"11\" fill=\"#687182\">{max_label}</text></svg>",
        base = top + plot_h,
        right = w - left,
        swarm = line(|s| s.downloaded),
        origin = line(|s| s.origin),
        label = h - 6.0,
        top_label = top - 1.0,
        max_label = escape(&bytes(max as u64)),
    );
    let _ = write!(
        svg,
        "<p class=\"legend\"><span style=\"background:{SWARM_COLOUR}\"></span>downloaded by the swarm \
         <span style=\"background:{ORIGIN_COLOUR}\"></span>sent by the origin</p>"
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_encoding() {
        assert_eq!(
            escape(r#"<a href="x">&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(encode("a b/<é>.~"), "a%20b%2F%3C%C3%A9%3E.~");
        assert_eq!(
            decode("a%20b%2F%3C%C3%A9%3E", Plus::Literal).as_deref(),
            Some("a b/<é>")
        );
        assert_eq!(decode("a+b%2B", Plus::Space).as_deref(), Some("a b+"));
        assert_eq!(decode("a+b", Plus::Literal).as_deref(), Some("a+b"));
        assert_eq!(decode("100%", Plus::Literal).as_deref(), Some("100%"));
        assert_eq!(decode("%4", Plus::Literal).as_deref(), Some("%4"));
        assert_eq!(decode("%zz%41", Plus::Literal).as_deref(), Some("%zzA"));
        assert_eq!(decode("%FF", Plus::Literal), None);
        for key in ["a/../b", "x y+z", "<\"&>", "ü/ß"] {
            assert_eq!(decode(&encode(key), Plus::Literal).as_deref(), Some(key));
        }
    }

    #[test]
    fn the_qr_code_is_inline_svg() {
        let svg = qr_svg("magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567").unwrap();
        assert!(svg.starts_with("<svg class=\"qr\""), "{svg}");
        assert!(svg.ends_with("</svg>"), "{svg}");
        assert!(qr_svg(&"x".repeat(10_000)).is_none());
    }

    #[test]
    fn the_chart_holds_each_sample() {
        let history = [
            Sample {
                minute: 100,
                downloaded: 10,
                origin: 5,
            },
            Sample {
                minute: 130,
                downloaded: 40,
                origin: 5,
            },
        ];
        let svg = chart(&history, 140);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(svg.contains("40 bytes"), "{svg}");
    }
}
