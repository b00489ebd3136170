//! A damaged header line read against its source's previous header.
//!
//! A byte lost or changed in an export's header line (a transfer that cut a character, a
//! stray byte from a tool that rewrote the file) leaves a mapped column unnamed: `来电时间`
//! reads `来电�间`, the header has no column for `received_at`, and the file — every row of
//! it — is refused until someone fixes the export by hand. When the rest of the header is
//! the source's previous header column for column, the export is the same layout, and the
//! damaged names are the previous header's names at their positions: [`repaired`] finds
//! them, the file loads, and the summary says which columns were read so.
//!
//! It is strict on purpose, so that a new layout (a renamed, added or moved column) is still
//! the configuration change it should be: the header must have as many columns as the
//! previous one, differ from it in at most [`MAX_DAMAGED`] names and a quarter of its
//! columns, and each differing name must look damaged (an undecodable character, or at most
//! [`MAX_EDITS`] characters changed), must name no configured column and no other column of
//! the previous header, and must stand where the previous header had a configured name this
//! header lacks. Positional formats only (CSV, workbooks): a JSON object's keys have no
//! positions.

use super::same_name;
use crate::config::Source;

/// At most this many names of a header are taken from the previous header.
const MAX_DAMAGED: usize = 2;

/// A damaged name differs from the name it stands for by at most this many characters
/// (inserted, removed or replaced) unless it holds an undecodable character: a GBK byte
/// changed turns one or two characters, a byte lost shifts the rest of the name, which then
/// ends in U+FFFD before the separator.
const MAX_EDITS: usize = 2;

/// A column read by the previous header's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Renamed {
    /// 0-based position.
    pub column: usize,
    /// The name the file gives it.
    pub was: String,
    /// The previous header's name at that position.
    pub now: String,
}

impl std::fmt::Display for Renamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "第{}列 {:?} as {}", self.column + 1, self.was, self.now)
    }
}

/// The names of `header` to read as `previous`'s (the source's last loaded header), or none
/// when the two are not the same layout with a few damaged names (see the module's doc).
/// `header` is as the file has it; `previous` as the lake's state keeps it (masked like the
/// quarantine's header, which leaves a column name as it is).
pub fn repaired(src: &Source, header: &[String], previous: &[String]) -> Vec<Renamed> {
    if src.format == crate::config::Format::Jsonl || header.len() != previous.len() {
        return vec![];
    }
    let differing: Vec<usize> = (0..header.len())
        .filter(|&i| !same_name(&header[i], &previous[i]))
        .collect();
    if differing.is_empty() || differing.len() > MAX_DAMAGED || differing.len() * 4 > header.len()
    {
        return vec![];
    }
    let configured = |name: &str| (src.columns.values().flatten()).any(|n| same_name(name, n));
    // A configured field the header has no column for, that `name` is one of the names of.
    let lacked = |name: &str| {
        (src.columns.values()).any(|names| {
            names.iter().any(|n| same_name(name, n))
                && !names.iter().any(|n| header.iter().any(|h| same_name(h, n)))
        })
    };
    let looks_damaged = |was: &str, now: &str| {
        was.contains('\u{FFFD}') || {
            let edits = strsim::levenshtein(was, now);
            edits <= MAX_EDITS && edits < now.chars().count()
        }
    };
    let mut out = vec![];
    for i in differing {
        let (was, now) = (&header[i], &previous[i]);
        let damaged = !configured(was)
            && !previous.iter().any(|p| same_name(was, p))
            && lacked(now)
            && looks_damaged(was, now);
        if !damaged {
            return vec![];
        }
        out.push(Renamed {
            column: i,
            was: was.clone(),
            now: now.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Format, Source};

    fn source(format: Format) -> Source {
        let mut src: Source = toml::from_str(
            r#"
            name = "hotline"
            channel = "hotline"
            path = "x/*.csv"
            format = "csv"
            [columns]
            source_id = ["工单编号"]
            received_at = ["来电时间"]
            content = ["诉求内容"]
            address = ["诉求地址"]
            dispatched_at = ["派单时间"]
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        src.format = format;
        src
    }

    fn names(s: &str) -> Vec<String> {
        s.split(',').map(str::to_owned).collect()
    }

    const PREVIOUS: &str = "工单编号,来电时间,派单时间,诉求地址,诉求内容,受理人,备注,来源";

    #[test]
    fn a_damaged_name_is_read_as_the_previous_headers_name_at_its_place() {
        let src = source(Format::Csv);
        let previous = names(PREVIOUS);
        // A GBK byte lost: the name ends in an undecodable character.
        let lost = names("工单编号,来电笠\u{FFFD},派单时间,诉求地址,诉求内容,受理人,备注,来源");
        let r = repaired(&src, &lost, &previous);
        assert_eq!(r.len(), 1);
        assert_eq!((r[0].column, r[0].now.as_str()), (1, "来电时间"));
        assert_eq!(r[0].to_string(), "第2列 \"来电笠\u{FFFD}\" as 来电时间");
        // A byte changed: one character another, in two names at once.
        let changed = names("工单编号,来电时问,派单时间,诉求地止,诉求内容,受理人,备注,来源");
        let r = repaired(&src, &changed, &previous);
        assert_eq!(r.iter().map(|r| r.column).collect::<Vec<_>>(), [1, 3]);
        // The same header in a workbook.
        assert_eq!(repaired(&source(Format::Xlsx), &lost, &previous).len(), 1);
    }

    #[test]
    fn a_new_layout_is_not_taken_for_damage() {
        let src = source(Format::Csv);
        let previous = names(PREVIOUS);
        let refused = |header: &str| repaired(&src, &names(header), &previous).is_empty();
        // Nothing differs, or only a column no field is configured for.
        assert!(refused(PREVIOUS));
        assert!(refused(
            "工单编号,来电时间,派单时间,诉求地址,诉求内容,受理员,备注,来源"
        ));
        // A column added or removed.
        assert!(refused(
            "工单编号,来电日期,派单时间,诉求地址,诉求内容,受理人,备注,来源,街道"
        ));
        assert!(refused("工单编号,来电日期,派单时间,诉求地址,诉求内容,受理人,备注"));
        // Renamed to another configured column, or to another column of the layout.
        assert!(refused(
            "工单编号,派单时间,派单时间,诉求地址,诉求内容,受理人,备注,来源"
        ));
        assert!(refused(
            "工单编号,备注,派单时间,诉求地址,诉求内容,受理人,备注,来源"
        ));
        // A name that is not a damaged form of the previous one.
        assert!(refused(
            "工单编号,登记日期,派单时间,诉求地址,诉求内容,受理人,备注,来源"
        ));
        // Three names, or more than a quarter of a short header.
        assert!(refused(
            "工单编号,来电时问,派单时问,诉求地止,诉求内容,受理人,备注,来源"
        ));
        let short = names("工单编号,来电时间,诉求内容");
        let src3 = source(Format::Csv);
        assert!(repaired(&src3, &names("工单编号,来电时问,诉求内容"), &short).is_empty());
        // The column the previous header names there is still found elsewhere.
        assert!(refused(
            "工单编号,来电时问,派单时间,诉求地址,诉求内容,来电时间,备注,来源"
        ));
        // JSON Lines keys have no positions.
        let lost = names("工单编号,来电笠\u{FFFD},派单时间,诉求地址,诉求内容,受理人,备注,来源");
        assert!(repaired(&source(Format::Jsonl), &lost, &previous).is_empty());
    }
}
