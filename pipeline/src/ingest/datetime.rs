//! Datetime cells: local (Asia/Shanghai) datetimes in the formats a source lists, or
//! instants a platform exports with their offset (`rfc3339`, a format with `%z`) or as
//! epoch seconds or milliseconds (`epoch_s`, `epoch_ms`).
//!
//! Exports hold millions of datetimes in a few numeric layouts. chrono's parser is general
//! and slow there, so formats made only of `%Y %m %d %H %M %S`, spaces and literal
//! characters are read by a small scanner first. Anything the scanner does not accept
//! exactly (a leap second, extra spaces, another specifier) goes to chrono, so the result
//! is always chrono's.

use chrono::{Duration, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Asia::Shanghai;

use crate::normalize::normalized;

/// A source's datetime formats, compiled once for all its rows: local (Asia/Shanghai)
/// datetimes, or one of the [`NAMED_FORMATS`].
pub struct DateFormats(Vec<Format>);

/// Formats named instead of written in chrono's syntax: Excel serial days (local), RFC 3339
/// instants (`2025-03-05T02:00:00Z`, `…+08:00`), and Unix epoch seconds or milliseconds (as
/// mini-program platforms export them).
pub const NAMED_FORMATS: &[&str] = &["excel", "rfc3339", "epoch_s", "epoch_ms"];

enum Format {
    /// Excel serial days.
    Excel,
    Rfc3339,
    /// Unix epoch: milliseconds per unit (1,000 for seconds, 1 for milliseconds).
    Epoch(i64),
    Text(Compiled),
}

/// Epochs read as datetimes from 1990 to 2100 only: a number outside is not one (an Excel
/// serial or a ticket number), and the two units' ranges do not overlap.
const EPOCH_MS_RANGE: std::ops::Range<i64> = 631_152_000_000..4_102_444_800_000;

impl DateFormats {
    /// Compiles `formats` (chrono syntax, or one of the [`NAMED_FORMATS`]).
    pub fn new(formats: &[String]) -> DateFormats {
        DateFormats(
            formats
                .iter()
                .map(|f| match f.as_str() {
                    "excel" => Format::Excel,
                    "rfc3339" => Format::Rfc3339,
                    "epoch_s" => Format::Epoch(1000),
                    "epoch_ms" => Format::Epoch(1),
                    _ => Format::Text(Compiled::new(f)),
                })
                .collect(),
        )
    }

    /// The first format that reads `s` (normalised), as epoch milliseconds.
    pub fn parse(&self, s: &str) -> Option<i64> {
        // Most cells are in the first format's layout, digit for digit: such a cell is
        // already normal, and the first format reads it (see [`Fixed`]).
        if let Some(Format::Text(Compiled { fixed: Some(f), .. })) = self.0.first() {
            if let Some(ms) = f.parse_ms(s) {
                return Some(ms);
            }
        }
        let s = normalized(s);
        if s.is_empty() {
            return None;
        }
        self.0.iter().find_map(|f| match f {
            Format::Excel => s
                .parse::<f64>()
                .ok()
                .filter(|v| (1.0..200_000.0).contains(v))
                .and_then(|v| {
                    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_hms_opt(0, 0, 0)?;
                    base.checked_add_signed(Duration::milliseconds(
                        (v * 86_400_000.0).round() as i64
                    ))
                })
                .and_then(|n| local_to_ms(&n)),
            Format::Rfc3339 => chrono::DateTime::parse_from_rfc3339(&s)
                .ok()
                .map(|t| t.timestamp_millis()),
            Format::Epoch(unit) => (s.parse::<i64>().ok())
                .and_then(|v| v.checked_mul(*unit))
                .filter(|ms| EPOCH_MS_RANGE.contains(ms)),
            Format::Text(c) => c.parse_ms(&s),
        })
    }
}

/// Asia/Shanghai has kept UTC+8 without daylight saving since its last transition on
/// 1991-09-15 (tz database): from here on a local time converts by a fixed offset. Earlier
/// times go through the time-zone table.
const FIXED_FROM_LOCAL: NaiveDate = match NaiveDate::from_ymd_opt(1992, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};
const OFFSET_MS: i64 = 8 * 3_600_000;
/// 1992-01-01 00:00 Asia/Shanghai in epoch milliseconds (8,035 days after 1970-01-01 UTC,
/// less the offset).
const FIXED_FROM_MS: i64 = 694_224_000_000 - OFFSET_MS;

/// Epoch milliseconds of a valid local datetime (year, month, day, hour, minute, second)
/// from 1992 to 9999 without chrono (days from the civil calendar, H. Hinnant's
/// algorithm); `None` for an invalid datetime or one outside those years.
fn fixed_offset_ms([y, mo, d, h, mi, s]: [u32; 6]) -> Option<i64> {
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1992..=9999).contains(&y) || d == 0 || d > month_days || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let y = i64::from(y) - i64::from(mo <= 2);
    let (era, yoe) = (y / 400, y % 400);
    let mp = i64::from((mo + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = ((days * 24 + i64::from(h)) * 60 + i64::from(mi)) * 60 + i64::from(s);
    Some(secs * 1000 - OFFSET_MS)
}

/// Epoch milliseconds of a local (Asia/Shanghai) datetime; the earlier one when a clock
/// change made it ambiguous, `None` when it did not exist.
pub fn local_to_ms(n: &NaiveDateTime) -> Option<i64> {
    if n.date() >= FIXED_FROM_LOCAL {
        return Some(n.and_utc().timestamp_millis() - OFFSET_MS);
    }
    Shanghai
        .from_local_datetime(n)
        .earliest()
        .map(|t| t.timestamp_millis())
}

/// The local (Asia/Shanghai) datetime of epoch milliseconds.
pub fn ms_to_local(ms: i64) -> Option<NaiveDateTime> {
    if ms >= FIXED_FROM_MS {
        return chrono::DateTime::from_timestamp_millis(ms.checked_add(OFFSET_MS)?)
            .map(|t| t.naive_utc());
    }
    Shanghai
        .timestamp_millis_opt(ms)
        .earliest()
        .map(|t| t.naive_local())
}

/// A compiled format: chrono's items, and the scanner's tokens when the format is simple.
struct Compiled {
    items: Option<Vec<chrono::format::Item<'static>>>,
    fast: Option<Vec<Tok>>,
    /// The format's layout with every field at its full width, when it has one.
    fixed: Option<Fixed>,
}

/// A simple format with every number at its full width (`2024-03-05 14:22:10` for
/// `%Y-%m-%d %H:%M:%S`): each byte is a digit of a known field or a known literal, so a
/// cell is read by position. A cell that fits is normal (digits, and literals that
/// normalisation keeps, with single spaces inside), and the scanner would read the
/// same fields from it, so the result is the format's; any other cell goes the usual way.
#[derive(Debug)]
struct Fixed {
    /// Per byte: `Ok(field)` for a digit of that field, `Err(byte)` for a literal.
    bytes: Vec<std::result::Result<u8, u8>>,
}

impl Fixed {
    /// The layout of a simple format's tokens, when every literal survives normalisation
    /// and every space is a single one inside the text.
    fn new(toks: &[Tok]) -> Option<Fixed> {
        let mut bytes = vec![];
        for (k, t) in toks.iter().enumerate() {
            match *t {
                Tok::Num { field, max } => {
                    bytes.extend(std::iter::repeat_n(Ok(field as u8), max));
                }
                Tok::Space => {
                    // A single space inside the text (literals are never whitespace).
                    let inner = |t: Option<&Tok>| t.is_some_and(|t| *t != Tok::Space);
                    if !(inner(k.checked_sub(1).and_then(|p| toks.get(p)))
                        && inner(toks.get(k + 1)))
                    {
                        return None;
                    }
                    bytes.push(Err(b' '));
                }
                Tok::Byte(l) if l.is_ascii_graphic() && !l.is_ascii_digit() => bytes.push(Err(l)),
                Tok::Byte(_) => return None,
                Tok::Lit(c) => {
                    let mut buf = [0u8; 4];
                    let l = c.encode_utf8(&mut buf);
                    if normalized(l) != *l {
                        return None;
                    }
                    bytes.extend(l.bytes().map(Err));
                }
            }
        }
        Some(Fixed { bytes })
    }

    /// Epoch milliseconds of a cell in this layout, when it is a valid datetime from 1992 on.
    fn parse_ms(&self, s: &str) -> Option<i64> {
        let b = s.as_bytes();
        if b.len() != self.bytes.len() {
            return None;
        }
        let mut v = [0u32; 6];
        for (&c, want) in b.iter().zip(&self.bytes) {
            match *want {
                Ok(field) => {
                    let d = c.wrapping_sub(b'0');
                    if d > 9 {
                        return None;
                    }
                    let f = &mut v[usize::from(field)];
                    *f = *f * 10 + u32::from(d);
                }
                Err(l) if l == c => {}
                Err(_) => return None,
            }
        }
        fixed_offset_ms(v)
    }
}

/// A token of a simple format.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    /// 1 to `max` digits into a field (0 year, 1 month, 2 day, 3 hour, 4 minute, 5 second).
    Num { field: usize, max: usize },
    /// One space (chrono's whitespace item; more than one goes to chrono).
    Space,
    /// A literal ASCII character (compared as one byte).
    Byte(u8),
    /// A literal character.
    Lit(char),
}

/// Tokens of a format made only of `%Y %m %d %H %M %S`, spaces and literals, with a date
/// and either no time or at least hours and minutes; `None` for any other format.
fn compile_fast(f: &str) -> Option<Vec<Tok>> {
    let mut toks = vec![];
    let mut seen = [false; 6];
    let mut it = f.chars();
    while let Some(c) = it.next() {
        let t = match c {
            '%' => {
                let (field, max) = match it.next()? {
                    'Y' => (0, 4),
                    'm' => (1, 2),
                    'd' => (2, 2),
                    'H' => (3, 2),
                    'M' => (4, 2),
                    'S' => (5, 2),
                    _ => return None,
                };
                if seen[field] {
                    return None;
                }
                seen[field] = true;
                Tok::Num { field, max }
            }
            c if c.is_whitespace() => Tok::Space,
            c if c.is_ascii() => Tok::Byte(c as u8),
            c => Tok::Lit(c),
        };
        toks.push(t);
    }
    let date = seen[0] && seen[1] && seen[2];
    let time = (!seen[3] && !seen[4] && !seen[5]) || (seen[3] && seen[4]);
    (date && time).then_some(toks)
}

/// The datetime of the scanner's fields; `None` (then chrono is asked) when they are not a
/// valid one.
fn to_naive([y, mo, d, h, mi, sec]: [u32; 6]) -> Option<NaiveDateTime> {
    NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, mo, d)?.and_hms_opt(h, mi, sec)
}

/// The scanner: the fields (year, month, day, hour, minute, second; unset ones 0) of `s`,
/// unchecked. `None` means "ask chrono", never "invalid".
fn scan_fields(s: &str, toks: &[Tok]) -> Option<[u32; 6]> {
    let b = s.as_bytes();
    let mut pos = 0;
    let mut v = [0u32; 6];
    for t in toks {
        match *t {
            Tok::Num { field, max } => {
                let start = pos;
                let mut n = 0u32;
                while pos < b.len() && pos - start < max && b[pos].is_ascii_digit() {
                    n = n * 10 + u32::from(b[pos] - b'0');
                    pos += 1;
                }
                if pos == start {
                    return None;
                }
                v[field] = n;
            }
            Tok::Space => {
                let next_is_space = b.get(pos + 1).is_some_and(u8::is_ascii_whitespace);
                if b.get(pos) != Some(&b' ') || next_is_space {
                    return None;
                }
                pos += 1;
            }
            Tok::Byte(l) => {
                if b.get(pos) != Some(&l) {
                    return None;
                }
                pos += 1;
            }
            Tok::Lit(c) => {
                let mut buf = [0u8; 4];
                let l = c.encode_utf8(&mut buf).as_bytes();
                if !b[pos..].starts_with(l) {
                    return None;
                }
                pos += l.len();
            }
        }
    }
    (pos == b.len()).then_some(v)
}

impl Compiled {
    fn new(f: &str) -> Compiled {
        let fast = compile_fast(f);
        Compiled {
            items: chrono::format::StrftimeItems::new(f).parse_to_owned().ok(),
            fixed: fast.as_deref().and_then(Fixed::new),
            fast,
        }
    }

    /// Epoch milliseconds of `s` (a local datetime, or a date at midnight). The scanner's
    /// fields convert directly when they are a valid datetime from 1992 on (nearly every
    /// cell); otherwise the datetime of [`Compiled::parse`] goes through the time zone.
    fn parse_ms(&self, s: &str) -> Option<i64> {
        let fields = self.fast.as_deref().and_then(|t| scan_fields(s, t));
        if let Some(ms) = fields.and_then(fixed_offset_ms) {
            return Some(ms);
        }
        let naive = match fields.and_then(to_naive) {
            Some(n) => n,
            None => return chrono_parse_ms(s, self.items.as_deref()?),
        };
        local_to_ms(&naive)
    }

    /// A datetime (or a date at midnight): the scanner when it accepts `s`, else chrono.
    #[cfg(test)]
    fn parse(&self, s: &str) -> Option<NaiveDateTime> {
        (self.fast.as_deref().and_then(|t| scan_fields(s, t)))
            .and_then(to_naive)
            .or_else(|| chrono_parse(s, self.items.as_deref()?))
    }
}

/// A datetime (or a date at midnight) in format `f`.
#[cfg(test)]
fn parse_with(s: &str, f: &str) -> Option<NaiveDateTime> {
    Compiled::new(f).parse(s)
}

/// Epoch milliseconds of `s` by chrono: the instant when the format reads an offset (`%z`),
/// else the local datetime (or date at midnight).
fn chrono_parse_ms(s: &str, items: &[chrono::format::Item<'static>]) -> Option<i64> {
    use chrono::format::{parse, Parsed};
    let mut p = Parsed::new();
    parse(&mut p, s, items.iter()).ok()?;
    if p.offset().is_some() {
        return p.to_datetime().ok().map(|t| t.timestamp_millis());
    }
    let naive = (p.to_naive_datetime_with_offset(0).ok())
        .or_else(|| p.to_naive_date().ok().and_then(|d| d.and_hms_opt(0, 0, 0)))?;
    local_to_ms(&naive)
}

#[cfg(test)]
fn chrono_parse(s: &str, items: &[chrono::format::Item<'static>]) -> Option<NaiveDateTime> {
    use chrono::format::{parse, Parsed};
    let mut p = Parsed::new();
    parse(&mut p, s, items.iter()).ok()?;
    p.to_naive_datetime_with_offset(0)
        .ok()
        .or_else(|| p.to_naive_date().ok().and_then(|d| d.and_hms_opt(0, 0, 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORMATS: &[&str] = &[
        "%Y-%m-%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y-%m-%d",
        "%Y年%m月%d日 %H时%M分",
        "%d.%m.%Y",
        "%Y%m%d%H%M%S",
    ];

    fn slow(s: &str, f: &str) -> Option<NaiveDateTime> {
        let items = chrono::format::StrftimeItems::new(f)
            .parse_to_owned()
            .ok()?;
        chrono_parse(s, &items)
    }

    #[test]
    fn instants_with_an_offset_and_epochs_are_the_same_moment_as_local_time() {
        use chrono::Utc;
        let formats =
            |f: &[&str]| DateFormats::new(&f.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        // 10:00 in Shanghai is 02:00 UTC.
        let utc = Utc.with_ymd_and_hms(2025, 3, 5, 2, 0, 0).unwrap();
        let local = formats(&["%Y-%m-%d %H:%M:%S"]).parse("2025-03-05 10:00:00");
        assert_eq!(local, Some(utc.timestamp_millis()));
        let rfc = formats(&["rfc3339"]);
        for s in [
            "2025-03-05T02:00:00Z",
            "2025-03-05T10:00:00+08:00",
            "2025-03-04T21:00:00-05:00",
        ] {
            assert_eq!(rfc.parse(s), local, "{s}");
        }
        assert_eq!(
            rfc.parse("2025-03-05T02:00:00.250Z"),
            local.map(|m| m + 250)
        );
        assert_eq!(
            rfc.parse("2025-03-05 10:00:00"),
            None,
            "no offset: not an instant"
        );
        // A chrono format with an offset is an instant too; without one, local.
        let z = formats(&["%Y/%m/%d %H:%M:%S %z"]);
        assert_eq!(z.parse("2025/03/05 02:00:00 +0000"), local);
        let s = formats(&["epoch_s"]);
        let ms = formats(&["epoch_ms"]);
        assert_eq!(s.parse(&utc.timestamp().to_string()), local);
        assert_eq!(ms.parse(&utc.timestamp_millis().to_string()), local);
        // A number of the other unit, an Excel serial, a ticket number: not an epoch.
        assert_eq!(s.parse(&utc.timestamp_millis().to_string()), None);
        assert_eq!(ms.parse(&utc.timestamp().to_string()), None);
        for v in ["45723.5", "20250305", "H001", "-1741140000"] {
            assert_eq!((s.parse(v), ms.parse(v)), (None, None), "{v}");
        }
        // Listed together, each reads its own.
        let all = formats(&[
            "%Y-%m-%d %H:%M:%S",
            "rfc3339",
            "epoch_ms",
            "epoch_s",
            "excel",
        ]);
        for v in [
            "2025-03-05 10:00:00",
            "2025-03-05T02:00:00Z",
            "1741140000",
            "1741140000000",
        ] {
            assert_eq!(all.parse(v), local, "{v}");
        }
    }

    #[test]
    fn only_simple_formats_are_scanned() {
        assert!(compile_fast("%Y-%m-%d %H:%M:%S").is_some());
        assert!(compile_fast("%Y-%m-%d").is_some());
        assert!(compile_fast("%Y-%m-%d %H").is_none()); // chrono drops a lone hour
        assert!(compile_fast("%Y-%m-%dT%H:%M:%S%.f").is_none());
        assert!(compile_fast("%b %d %Y").is_none());
    }

    #[test]
    fn scanner_agrees_with_chrono_on_edge_cases() {
        for (s, f) in [
            ("2024-03-05 14:22:10", FORMATS[0]),
            ("2024-3-5 4:2:1", FORMATS[0]),
            ("2024-03-05  14:22:10", FORMATS[0]),
            ("2024-02-30 10:00:00", FORMATS[0]),
            ("2024-03-05 14:22:60", FORMATS[0]),
            ("2024-03-05 24:00:00", FORMATS[0]),
            ("2024/3/5 14:22", FORMATS[1]),
            ("2024/3/5 14:22:00", FORMATS[1]),
            ("2024-03-05", FORMATS[2]),
            ("2024-03-05 ", FORMATS[2]),
            ("2024年3月5日 14时22分", FORMATS[3]),
            ("05.03.2024", FORMATS[4]),
            ("20240305142210", FORMATS[5]),
            ("", FORMATS[0]),
        ] {
            assert_eq!(parse_with(s, f), slow(s, f), "{s:?} in {f:?}");
        }
        assert_eq!(
            parse_with("2024-3-5 4:2:1", FORMATS[0]),
            NaiveDate::from_ymd_opt(2024, 3, 5).and_then(|d| d.and_hms_opt(4, 2, 1))
        );
    }

    /// chrono's epoch of the same fields, for the years the direct path covers.
    fn via_chrono(v: [u32; 6]) -> Option<i64> {
        use chrono::Datelike;
        let [y, mo, d, h, mi, s] = v;
        NaiveDate::from_ymd_opt(i32::try_from(y).ok()?, mo, d)?
            .and_hms_opt(h, mi, s)
            .filter(|n| (1992..=9999).contains(&n.year()))
            .and_then(|n| local_to_ms(&n))
    }

    proptest::proptest! {
        #[test]
        fn direct_epoch_agrees_with_chrono(
            y in 1900u32..10_100, mo in 0u32..14, d in 0u32..33,
            h in 0u32..25, mi in 0u32..61, s in 0u32..61,
        ) {
            proptest::prop_assert_eq!(fixed_offset_ms([y, mo, d, h, mi, s]), via_chrono([y, mo, d, h, mi, s]));
        }
    }

    #[test]
    fn direct_epoch_on_calendar_edges() {
        for v in [
            [1992, 1, 1, 0, 0, 0],
            [1991, 12, 31, 23, 59, 59],
            [2000, 2, 29, 12, 0, 0],
            [2100, 2, 29, 12, 0, 0],
            [2024, 2, 29, 23, 59, 59],
            [2023, 2, 29, 0, 0, 0],
            [2024, 12, 31, 23, 59, 59],
            [2024, 4, 31, 0, 0, 0],
            [2024, 13, 1, 0, 0, 0],
            [9999, 12, 31, 23, 59, 59],
            [10_000, 1, 1, 0, 0, 0],
        ] {
            assert_eq!(fixed_offset_ms(v), via_chrono(v), "{v:?}");
        }
        // 1992-01-01 00:00 in Shanghai is 1991-12-31 16:00 UTC.
        assert_eq!(fixed_offset_ms([1992, 1, 1, 0, 0, 0]), Some(FIXED_FROM_MS));
        assert_eq!(
            fixed_offset_ms([2024, 2, 29, 0, 0, 0]),
            Some(1_709_136_000_000)
        );
    }

    #[test]
    fn fixed_offset_agrees_with_the_time_zone_table() {
        let tz = |n: &NaiveDateTime| {
            Shanghai
                .from_local_datetime(n)
                .earliest()
                .map(|t| t.timestamp_millis())
        };
        // Every 7 hours from 1985 (daylight saving until 1991) to 2045.
        let mut n = NaiveDate::from_ymd_opt(1985, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default();
        let end = NaiveDate::from_ymd_opt(2045, 1, 1).unwrap_or_default();
        let mut checked = 0;
        while n.date() < end {
            let ms = local_to_ms(&n);
            assert_eq!(ms, tz(&n), "{n}");
            if let Some(ms) = ms {
                let back = Shanghai
                    .timestamp_millis_opt(ms)
                    .earliest()
                    .map(|t| t.naive_local());
                assert_eq!(ms_to_local(ms), back, "{ms}");
                assert_eq!(
                    ms_to_local(ms - 1),
                    back.map(|b| b - Duration::milliseconds(1))
                );
            }
            n += Duration::hours(7);
            checked += 1;
        }
        assert!(checked > 75_000);
        // The boundary itself.
        let b = FIXED_FROM_LOCAL.and_hms_opt(0, 0, 0).unwrap_or_default();
        assert_eq!(local_to_ms(&b), Some(FIXED_FROM_MS));
        assert_eq!(tz(&b), Some(FIXED_FROM_MS));
    }

    #[test]
    fn fixed_layouts_of_simple_formats() {
        let layout = |f: &str| Compiled::new(f).fixed.map(|x| x.bytes.len());
        assert_eq!(layout("%Y-%m-%d %H:%M:%S"), Some(19));
        assert_eq!(layout("%Y年%m月%d日 %H时%M分"), Some(28));
        assert_eq!(layout("%Y%m%d%H%M%S"), Some(14));
        // A space at the end, a full-width literal: no layout.
        assert_eq!(layout("%Y-%m-%d %H:%M "), None);
        assert_eq!(layout("%Y-%m-%d %H：%M"), None);
        let f = DateFormats::new(&["%Y-%m-%d %H:%M:%S".into(), "%Y/%m/%d %H:%M".into()]);
        let want = |s: &str| {
            let n = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").ok()?;
            local_to_ms(&n)
        };
        assert_eq!(f.parse("2024-03-05 14:22:10"), want("2024-03-05 14:22:10"));
        // Not in the layout: normalised, then read as before.
        assert_eq!(
            f.parse("２０２４-03-05 14:22:10"),
            want("2024-03-05 14:22:10")
        );
        assert_eq!(f.parse(" 2024-03-05 14:22:10"), want("2024-03-05 14:22:10"));
        assert_eq!(f.parse("2024/3/5 14:22"), want("2024-03-05 14:22:00"));
        // In the layout but no such day, or before 1992: the usual way decides.
        assert_eq!(f.parse("2024-02-30 14:22:10"), None);
        assert_eq!(f.parse("1985-06-01 12:00:00"), want("1985-06-01 12:00:00"));
    }

    proptest::proptest! {
        /// Whatever the cell, the layout's reading is the format's: the whole parse, with
        /// the first format's layout, agrees with the scanner and chrono without it.
        #[test]
        fn fixed_layout_agrees_with_the_format(
            s in "[ 0-9０]{0,2}[0-9]{1,4}[-/年:]?[0-9]{1,2}[-/.月]?[0-9]{1,2}日?( {0,2}[0-9]{1,2}[:时]?[0-9]{0,2}[:分]?[0-9]{0,2})? ?",
            fi in 0usize..6,
        ) {
            let with = DateFormats::new(&[FORMATS[fi].to_owned(), "%Y/%m/%d %H:%M".to_owned()]);
            let mut without = DateFormats::new(&[FORMATS[fi].to_owned(), "%Y/%m/%d %H:%M".to_owned()]);
            for f in &mut without.0 {
                if let Format::Text(c) = f {
                    c.fixed = None;
                }
            }
            proptest::prop_assert_eq!(with.parse(&s), without.parse(&s));
        }

        /// Cells in the layouts themselves, any digits (invalid days and times included).
        #[test]
        fn fixed_layout_agrees_on_its_own_cells(
            s in "(19|20|99)[0-9]{2}-[0-3][0-9]-[0-3][0-9] [0-2][0-9]:[0-6][0-9]:[0-6][0-9]|[0-9]{4}年[0-9]{2}月[0-9]{2}日 [0-9]{2}时[0-9]{2}分|[0-9]{14}",
        ) {
            for fi in [0, 3, 5] {
                let with = DateFormats::new(&[FORMATS[fi].to_owned()]);
                let mut without = DateFormats::new(&[FORMATS[fi].to_owned()]);
                for f in &mut without.0 {
                    if let Format::Text(c) = f {
                        c.fixed = None;
                    }
                }
                proptest::prop_assert_eq!(with.parse(&s), without.parse(&s), "{}", FORMATS[fi]);
            }
        }

        #[test]
        fn scanner_agrees_with_chrono(
            s in "[0-9]{1,4}[-/.年]?[0-9]{1,2}[-/.月]?[0-9]{1,2}日?( {0,2}[0-9]{1,2}[:时]?[0-9]{0,2}[:分]?[0-9]{0,2})?",
            fi in 0usize..6,
        ) {
            proptest::prop_assert_eq!(parse_with(&s, FORMATS[fi]), slow(&s, FORMATS[fi]));
        }
    }
}
