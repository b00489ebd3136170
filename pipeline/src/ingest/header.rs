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
//! the configuration change it should be. The header must be the previous one column for
//! column but for at most [`MAX_DAMAGED`] names (and a quarter of its columns) — or, in a CSV
//! file whose first record has the previous header's width, but for one separator lost (two
//! names run together, one column fewer) or one inserted (a name cut in two, an empty name,
//! one column more). Each damaged name must look damaged (an undecodable character, or at
//! most [`MAX_EDITS`] characters changed), name no configured column and no other column of
//! the previous header, and stand for a configured name this header lacks — unless it is
//! exactly the previous names with a separator inserted or lost; a differing name where
//! neither header has a configured one (an unmapped `受理人` now `受理员`) is left as it is.
//! Not for JSON Lines: an object's keys have no positions. (A line break in a header line,
//! and a stray quote before a name, are mended where the CSV header is read:
//! [`super::readers`].)

use super::same_name;
use crate::config::{Format, Source};

/// At most this many names of a header are taken from the previous header.
const MAX_DAMAGED: usize = 2;

/// A damaged name differs from the name it stands for by at most this many characters
/// (inserted, removed or replaced) unless it holds an undecodable character: a GBK byte
/// changed turns one or two characters, a byte lost shifts the rest of the name, which then
/// ends in U+FFFD before the separator.
const MAX_EDITS: usize = 2;

/// Columns of a file read by the previous header's names.
#[derive(Debug, Clone, PartialEq)]
pub struct Renamed {
    /// 0-based position of the first, in the file's header.
    pub column: usize,
    /// The names the file gives them: one, or two for a name a separator cut in two.
    pub was: Vec<String>,
    /// The previous header's names they are read as: one, or two for names run together.
    pub now: Vec<String>,
}

impl std::fmt::Display for Renamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let was: Vec<String> = self.was.iter().map(|w| format!("{w:?}")).collect();
        match self.was.len() {
            1 => write!(f, "第{}列", self.column + 1)?,
            n => write!(f, "第{}–{}列", self.column + 1, self.column + n)?,
        }
        write!(f, " {} as {}", was.join(", "), self.now.join(", "))
    }
}

/// A damaged header read against the previous one: the header to read the file with, and
/// what was read so.
#[derive(Debug, Clone, PartialEq)]
pub struct Repair {
    /// The header the file's rows are read with.
    pub header: Vec<String>,
    /// The damaged names and what they are read as.
    pub renamed: Vec<Renamed>,
}

/// How `header` reads against `previous` (the source's last loaded header), or `None` when
/// the two are not the same layout with a few damaged names (see the module's doc).
/// `header` is as the file has it; `previous` as the lake's state keeps it (masked like the
/// quarantine's header, which leaves a column name as it is). `row_width` is how many cells
/// the file's first record has (CSV; `None` when unknown): a header one column wider or
/// narrower than `previous` reads as it only when its rows have `previous`'s width — then
/// also when its names are all there, a separator inserted beside an empty name or one
/// lost between two names (`来电号码,,诉求地址`, `受理人备注`) — and an export that
/// changed its header and rows alike is left as it is.
pub fn repaired(
    src: &Source,
    header: &[String],
    previous: &[String],
    row_width: Option<usize>,
) -> Option<Repair> {
    let (n, m) = (header.len(), previous.len());
    if n != m && row_width != Some(m) {
        return None;
    }
    let same = |i: usize, j: usize| same_name(&header[i], &previous[j]);
    let prefix = (0..n.min(m)).take_while(|&i| same(i, i)).count();
    let suffix = (0..n.min(m))
        .take_while(|&k| same(n - 1 - k, m - 1 - k))
        .count();
    // The pieces that differ, as (first column, columns) of the file and of the previous.
    let pieces: Vec<((usize, usize), (usize, usize))> = match (src.format, n.cmp(&m)) {
        (Format::Jsonl, _) => return None,
        (_, std::cmp::Ordering::Equal) => (0..n)
            .filter(|&i| !same(i, i))
            .map(|i| ((i, 1), (i, 1)))
            .collect(),
        // A separator lost: one name of the file for two of the previous header.
        (Format::Csv, std::cmp::Ordering::Less)
            if n + 1 == m && prefix < n && prefix + suffix + 1 >= n =>
        {
            vec![((prefix, 1), (prefix, 2))]
        }
        // A separator inserted: two names of the file for one (the last name and an empty
        // one after it, when it is inserted at the line's end).
        (Format::Csv, std::cmp::Ordering::Greater)
            if n == m + 1 && m > 0 && prefix.min(m - 1) + suffix + 1 >= m =>
        {
            let at = prefix.min(m - 1);
            vec![((at, 2), (at, 1))]
        }
        _ => return None,
    };
    if pieces.is_empty() || pieces.len() > MAX_DAMAGED || pieces.len() * 4 > m {
        return None;
    }
    let configured = |name: &str| (src.columns.values().flatten()).any(|c| same_name(name, c));
    // A configured field the header has no column for, that `name` is one of the names of.
    let lacked = |name: &str| {
        (src.columns.values()).any(|names| {
            names.iter().any(|c| same_name(name, c))
                && !names.iter().any(|c| header.iter().any(|h| same_name(h, c)))
        })
    };
    let looks_damaged = |was: &str, now: &str| was.contains('\u{FFFD}') || within_edits(was, now);
    let mut renamed = vec![];
    for ((at, width), (from, count)) in pieces {
        let was = &header[at..at + width];
        let now = &previous[from..from + count];
        if width == count && !configured(&was[0]) && !configured(&now[0]) {
            continue;
        }
        // A separator inserted or lost, and nothing else: the names run together are the
        // previous ones.
        let separator = width != count && same_name(&was.concat(), &now.concat());
        let damaged = (was.iter())
            .all(|w| !configured(w) && !previous.iter().any(|p| same_name(w, p)))
            && now.iter().any(|p| lacked(p))
            && looks_damaged(&was.concat(), &now.concat());
        if !separator && !damaged {
            return None;
        }
        renamed.push(Renamed {
            column: at,
            was: was.to_vec(),
            now: now.to_vec(),
        });
    }
    if renamed.is_empty() {
        return None;
    }
    let header = match n == m {
        true => (0..n)
            .map(|i| match renamed.iter().find(|r| r.column == i) {
                Some(r) => r.now[0].clone(),
                None => header[i].clone(),
            })
            .collect(),
        false => previous.to_vec(),
    };
    Some(Repair { header, renamed })
}

/// A damaged header read against the configuration alone (a source's first file, or a
/// header [`repaired`] does not read): each name holding an undecodable character — the
/// mark a transfer's damage leaves, which no export names a column with — that is at most
/// [`MAX_EDITS`] characters from a configured name of a field the header has no column for,
/// and from no other such field's, is read as that name (`来电�间` as `来电时间`), when no
/// other name of the header is so for that field. A name damaged into other valid
/// characters is left (`办理时间` is a column of its own, not `办结时间` damaged), as are
/// more than [`MAX_DAMAGED`] names or a quarter of the columns. Not for JSON Lines, whose
/// keys have no positions to keep.
pub fn repaired_by_configuration(src: &Source, header: &[String]) -> Option<Repair> {
    if src.format == Format::Jsonl {
        return None;
    }
    let configured = |name: &str| (src.columns.values().flatten()).any(|c| same_name(name, c));
    // The configured fields the header has no column for, by their names.
    let lacked: Vec<&Vec<String>> = (src.columns.values())
        .filter(|names| !names.iter().any(|c| header.iter().any(|h| same_name(h, c))))
        .collect();
    // (column, field, configured name) for every damaged name close to a lacked field's.
    let mut pairs: Vec<(usize, usize, &String)> = vec![];
    for (i, h) in header.iter().enumerate() {
        if !h.contains('\u{FFFD}') || configured(h) {
            continue;
        }
        for (f, names) in lacked.iter().enumerate() {
            if let Some(c) = names.iter().find(|c| within_edits(h, c)) {
                pairs.push((i, f, c));
            }
        }
    }
    let once = |key: &dyn Fn(&(usize, usize, &String)) -> usize, p: &(usize, usize, &String)| {
        pairs.iter().filter(|q| key(q) == key(p)).count() == 1
    };
    let renamed: Vec<Renamed> = (pairs.iter())
        .filter(|p| once(&|q| q.0, p) && once(&|q| q.1, p))
        .map(|&(column, _, now)| Renamed {
            column,
            was: vec![header[column].clone()],
            now: vec![now.clone()],
        })
        .collect();
    if renamed.is_empty() || renamed.len() > MAX_DAMAGED || renamed.len() * 4 > header.len() {
        return None;
    }
    let mut header = header.to_vec();
    for r in &renamed {
        header[r.column] = r.now[0].clone();
    }
    Some(Repair { header, renamed })
}

/// Whether `was` is at most [`MAX_EDITS`] characters (inserted, removed or replaced; spaces
/// aside) from `now`, and not all of them.
fn within_edits(was: &str, now: &str) -> bool {
    let edits = strsim::levenshtein(&was.replace(' ', ""), now);
    edits <= MAX_EDITS && edits < now.chars().count()
}

/// Whether `cells` — a CSV file's first line, taken for its header although no line of the
/// file's first ones names a mapped column — is a record of `previous`'s layout: as many
/// cells, an id where `previous` has the id's column, and a time `dates` reads where it has
/// the receipt's. Then the file was written without its header line (an export made with
/// 表头 unticked, a feed that omits it one night) and reads under `previous`.
pub fn a_record_of(
    src: &Source,
    cells: &[String],
    previous: &[String],
    dates: &super::datetime::DateFormats,
) -> bool {
    let column = |field: &str| {
        let names = src.columns.get(field)?;
        previous
            .iter()
            .position(|p| names.iter().any(|n| same_name(p, n)))
    };
    let (Some(id), Some(received)) = (column("source_id"), column("received_at")) else {
        return false;
    };
    src.format == Format::Csv
        && cells.len() == previous.len()
        && !cells[id].trim().is_empty()
        && dates.parse(&cells[received]).is_some()
}

/// What [`a_record_of`] reads, as the summary shows it.
pub fn no_header_line(previous: &[String]) -> String {
    format!(
        "第1行 is a record, not a header: the file read with the previous header's {} columns",
        previous.len()
    )
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

    /// The names the file's columns are read with, or `None`.
    fn read(src: &Source, header: &str, previous: &str) -> Option<Vec<String>> {
        let previous = names(previous);
        let rows = previous.len();
        repaired(src, &names(header), &previous, Some(rows)).map(|r| r.header)
    }

    #[test]
    fn a_damaged_name_is_read_as_the_previous_headers_name_at_its_place() {
        let src = source(Format::Csv);
        let previous = names(PREVIOUS);
        // A GBK byte lost: the name ends in an undecodable character.
        let lost = names("工单编号,来电笠\u{FFFD},派单时间,诉求地址,诉求内容,受理人,备注,来源");
        let r = repaired(&src, &lost, &previous, Some(8)).unwrap_or_else(|| panic!("not read"));
        assert_eq!(r.header, previous);
        assert_eq!(r.renamed.len(), 1);
        assert_eq!(
            r.renamed[0].to_string(),
            "第2列 \"来电笠\u{FFFD}\" as 来电时间"
        );
        // A byte changed: one character another, in two names at once.
        let changed = "工单编号,来电时问,派单时间,诉求地止,诉求内容,受理人,备注,来源";
        let r = repaired(&src, &names(changed), &previous, Some(8))
            .unwrap_or_else(|| panic!("not read"));
        assert_eq!(
            r.renamed.iter().map(|r| r.column).collect::<Vec<_>>(),
            [1, 3]
        );
        assert_eq!(r.header, previous);
        // An unmapped column renamed beside a damaged name is left as the file has it.
        let changed = "工单编号,来电时问,派单时间,诉求地址,诉求内容,受理员,备注,来源";
        let r = repaired(&src, &names(changed), &previous, Some(8))
            .unwrap_or_else(|| panic!("not read"));
        assert_eq!(r.renamed.len(), 1);
        assert_eq!(
            (r.header[1].as_str(), r.header[5].as_str()),
            ("来电时间", "受理员")
        );
        // The same header in a workbook.
        assert_eq!(
            read(&source(Format::Xlsx), &lost.join(","), PREVIOUS),
            Some(previous)
        );
    }

    #[test]
    fn a_separator_lost_or_inserted_in_a_csv_header_reads_the_previous_header() {
        let src = source(Format::Csv);
        let previous = names(PREVIOUS);
        // Lost: two names run together, with the byte that replaced the separator.
        for header in [
            "工单编号,来电时间来电号码,诉求地址,诉求内容,受理人,备注,来源",
            "工单编号,来电时间 派单时间,诉求地址,诉求内容,受理人,备注,来源",
            "工单编号,来电时间k派单时间,诉求地址,诉求内容,受理人,备注,来源",
            "工单编号吹缡奔\u{FFFD},派单时间,诉求地址,诉求内容,受理人,备注,来源",
            "工单编号,来电时间,派单时间,诉求地址,诉求内容受理人,备注,来源",
        ] {
            let r = repaired(&src, &names(header), &previous, Some(8));
            if header.contains("来电号码") {
                // Not the names of the previous header run together.
                assert_eq!(r, None, "{header}");
                continue;
            }
            let r = r.unwrap_or_else(|| panic!("not read: {header}"));
            assert_eq!(r.header, previous, "{header}");
            assert_eq!(r.renamed[0].now.len(), 2, "{header}");
        }
        // Inserted: a name cut in two.
        let cut = "工单编号,来电,时间,派单时间,诉求地址,诉求内容,受理人,备注,来源";
        let r =
            repaired(&src, &names(cut), &previous, Some(8)).unwrap_or_else(|| panic!("not read"));
        assert_eq!(r.header, previous);
        assert_eq!(
            r.renamed[0].to_string(),
            "第2–3列 \"来电\", \"时间\" as 来电时间"
        );
        // With every configured name there, a separator beside an empty name, lost between
        // two unmapped names or added at the line's end reads as the previous header when
        // the rows have its width, and not when they have the file's header's.
        for header in [
            "工单编号,来电时间,,派单时间,诉求地址,诉求内容,受理人,备注,来源",
            "工单编号,来电时间,派单时间,诉求地址,诉求内容,受理人备注,来源",
            &format!("{PREVIOUS},"),
        ] {
            assert_eq!(
                read(&src, header, PREVIOUS),
                Some(previous.clone()),
                "{header}"
            );
            let width = names(header).len();
            let as_wide = repaired(&src, &names(header), &previous, Some(width));
            assert_eq!(as_wide, None, "{header}");
            assert_eq!(repaired(&src, &names(header), &previous, None), None);
        }
        // A workbook's cells have no separators to lose.
        assert_eq!(read(&source(Format::Xlsx), cut, PREVIOUS), None);
        // A column dropped at the end, or added, is a new layout.
        assert_eq!(
            read(
                &src,
                "工单编号,派单时间,诉求地址,诉求内容,受理人,备注,来源",
                PREVIOUS
            ),
            None
        );
        assert_eq!(read(&src, &format!("{PREVIOUS},街道"), PREVIOUS), None);
        assert_eq!(read(&src, "工单编号", "工单编号,来电时间"), None);
    }

    #[test]
    fn a_new_layout_is_not_taken_for_damage() {
        let src = source(Format::Csv);
        let refused = |header: &str| read(&src, header, PREVIOUS).is_none();
        // Nothing differs, or only a column no field is configured for.
        assert!(refused(PREVIOUS));
        assert!(refused(
            "工单编号,来电时间,派单时间,诉求地址,诉求内容,受理员,备注,来源"
        ));
        // A column added or removed.
        assert!(refused(
            "工单编号,来电日期,派单时间,诉求地址,诉求内容,受理人,备注,来源,街道"
        ));
        assert!(refused(
            "工单编号,来电日期,派单时间,诉求地址,诉求内容,受理人,备注"
        ));
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
        assert_eq!(
            read(
                &src,
                "工单编号,来电时问,诉求内容",
                "工单编号,来电时间,诉求内容"
            ),
            None
        );
        // The column the previous header names there is still found elsewhere.
        assert!(refused(
            "工单编号,来电时问,派单时间,诉求地址,诉求内容,来电时间,备注,来源"
        ));
        // JSON Lines keys have no positions.
        let lost = "工单编号,来电笠\u{FFFD},派单时间,诉求地址,诉求内容,受理人,备注,来源";
        assert_eq!(read(&source(Format::Jsonl), lost, PREVIOUS), None);
    }

    #[test]
    fn a_first_files_damaged_names_are_read_as_the_configured_names_they_are_close_to() {
        let src = source(Format::Csv);
        let read = |h: &str| repaired_by_configuration(&src, &names(h)).map(|r| r.header);
        // A byte lost or changed into an undecodable one, in one name or two.
        assert_eq!(
            read("工单编号,来电\u{FFFD}间,诉求地址,诉求内容,受理人,备注,来源,派单时间"),
            Some(names(
                "工单编号,来电时间,诉求地址,诉求内容,受理人,备注,来源,派单时间"
            ))
        );
        let r = repaired_by_configuration(
            &src,
            &names("工单编号,来电笠\u{FFFD},派单时间,诉求地\u{FFFD},诉求内容,受理人,备注,来源"),
        )
        .unwrap_or_else(|| panic!("not read"));
        assert_eq!(r.header, names(PREVIOUS));
        assert_eq!(
            r.renamed
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            [
                "第2列 \"来电笠\u{FFFD}\" as 来电时间",
                "第4列 \"诉求地\u{FFFD}\" as 诉求地址"
            ]
        );
        // A name changed into valid characters may be a column of its own: left.
        assert_eq!(read("工单编号,来电时问,派单时间,诉求地址,诉求内容"), None);
        // Too far from any configured name, or from two lacked fields' names alike.
        assert_eq!(
            read("工单编号,\u{FFFD}\u{FFFD}\u{FFFD}间,派单时间,诉求地址,诉求内容"),
            None
        );
        let mut two = source(Format::Csv);
        two.columns
            .insert("closed_at".into(), vec!["来电时刻".into()]);
        assert_eq!(
            repaired_by_configuration(&two, &names("工单编号,来电时\u{FFFD},诉求地址,诉求内容")),
            None
        );
        // Two damaged names close to one field: which is it?
        assert_eq!(
            read("工单编号,来电\u{FFFD}间,来\u{FFFD}时间,诉求地址,诉求内容,派单时间"),
            None
        );
        // More than a quarter of the columns.
        assert_eq!(
            read("工单编号,来电\u{FFFD}间,派单时间,诉求\u{FFFD}址,诉求内容"),
            None
        );
        // Nothing lacked, or JSON Lines: nothing to read.
        assert_eq!(read(PREVIOUS), None);
        let jsonl = source(Format::Jsonl);
        assert!(repaired_by_configuration(&jsonl, &names("工单编号,来电\u{FFFD}间")).is_none());
    }
}
