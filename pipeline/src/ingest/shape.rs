//! Cells moved a column by a damaged CSV line, found from the shape of the file's reporters.
//!
//! An unquoted comma typed in a cell splits it in two; when the same line also lacks its last
//! cell (a blank left out by a hand edit), the two cancel out: the line has the header's width
//! and every cell between them sits one column to the right. If the reporter's column is among
//! them, the reporter's value (a name, a number, an openid) moves into the next column — the
//! content or the address, which are written to the lake — and the reporter's own column holds
//! its neighbour's value. Masking catches a moved phone or ID number, not a name.
//!
//! What a file's reporters look like is learned from its first rows ([`ShapeCounter`]), and
//! for a file with too few reporters of its own (a night's export of a small channel) from
//! the source's earlier files too ([`ShapeHistory`]: counts of shapes per column name, no
//! value): when
//! nearly all of them have one [`Shape`] (names, numbers, openids) and a column mostly does
//! not (the content, the address), a row whose reporter cell has another shape (or is blank
//! where blanks are rare) while that column has the reporters' is taken as moved
//! ([`ShiftCheck::moved`]).

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a cell looks like, as far as telling a reporter from other values goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Blank.
    Empty,
    /// A phone, ID or account number: at least seven digits, with separators.
    Number,
    /// A person's name: two to six Chinese characters, a middle dot or `*` (a masked name).
    Name,
    /// An account token such as an openid: 16–64 ASCII letters, digits, `_` and `-`.
    Token,
    /// Anything else.
    Other,
}

const SHAPES: usize = 5;

impl Shape {
    /// The shape of `cell` (trimmed).
    pub fn of(cell: &str) -> Shape {
        let s = cell.trim();
        if s.is_empty() {
            return Shape::Empty;
        }
        if s.len() > 64 {
            return Shape::Other; // free text: the common case, decided on its length
        }
        let (mut digits, mut cjk, mut chars) = (0, 0, 0);
        let (mut number, mut name, mut token) = (true, true, true);
        for ch in s.chars() {
            chars += 1;
            let digit = ch.is_ascii_digit() || ('０'..='９').contains(&ch);
            digits += usize::from(digit);
            let han = matches!(ch, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}');
            cjk += usize::from(han);
            number &= digit || matches!(ch, '+' | '-' | '(' | ')' | ' ' | 'X' | 'x' | '－');
            name &= han || matches!(ch, '·' | '•' | '*' | '＊');
            token &= ch.is_ascii_alphanumeric() || matches!(ch, '_' | '-');
        }
        if number && digits >= 7 {
            Shape::Number
        } else if name && cjk >= 1 && (2..=6).contains(&chars) {
            Shape::Name
        } else if token && (16..=64).contains(&chars) && s.bytes().any(|b| b.is_ascii_alphabetic())
        {
            Shape::Token
        } else {
            Shape::Other
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Reporters counted before a file's shape is trusted.
const MIN_REPORTERS: u32 = 50;
/// Share of the non-blank reporter cells that must have one shape.
const DOMINANT_SHARE: f64 = 0.9;
/// A column is checked when fewer than this share of its cells have the reporters' shape:
/// the content and address, not a status or category column of short words shaped like
/// names. A row is only taken as moved when its reporter cell is odd too, so a content often
/// as short as a name costs few false alarms.
const CHECKED_SHARE: f64 = 0.5;
/// A blank reporter cell is odd when at most this share of the file's rows have one.
const BLANK_SHARE: f64 = 0.05;

/// Rows a [`ShapeHistory`] holds at most: beyond them its counts are scaled down, so it
/// follows what a source's exports look like now.
const HISTORY_ROWS: u32 = 5_000;

/// The shapes of a source's earlier files, counted per column name (shapes only: no value of
/// any cell), kept in the ingest's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShapeHistory {
    /// Rows counted.
    rows: u32,
    /// Per column name: [blank, number, name, token, other].
    columns: BTreeMap<String, [u32; SHAPES]>,
}

impl ShapeHistory {
    /// Adds a file's own counts (`counter` before any history was added), by its header's
    /// column names, scaling the whole down past [`HISTORY_ROWS`].
    pub fn absorb(&mut self, header: &[String], counter: &ShapeCounter) {
        if counter.rows == 0 || header.len() != counter.counts.len() {
            return;
        }
        self.rows += counter.rows;
        for (name, counts) in header.iter().zip(&counter.counts) {
            let to = self.columns.entry(name.clone()).or_default();
            for (t, c) in to.iter_mut().zip(counts) {
                *t += c;
            }
        }
        if self.rows > HISTORY_ROWS {
            let scale = f64::from(HISTORY_ROWS) / f64::from(self.rows);
            let scaled = |n: u32| (f64::from(n) * scale).round() as u32;
            self.rows = HISTORY_ROWS;
            for counts in self.columns.values_mut() {
                counts.iter_mut().for_each(|n| *n = scaled(*n));
            }
        }
    }
}

/// Counts the shapes of a file's first rows, one column at a time.
#[derive(Debug, Clone)]
pub struct ShapeCounter {
    reporter: usize,
    /// Rows counted.
    rows: u32,
    /// Per column, the rows of each shape.
    counts: Vec<[u32; SHAPES]>,
}

impl ShapeCounter {
    /// A counter for a file of `width` columns with the reporter in column `reporter`.
    pub fn new(width: usize, reporter: usize) -> ShapeCounter {
        ShapeCounter {
            reporter,
            rows: 0,
            counts: vec![[0; SHAPES]; width],
        }
    }

    /// Counts one row; rows of another width than the header's are left out.
    pub fn add(&mut self, cells: &[Cow<'_, str>]) {
        if cells.len() != self.counts.len() {
            return;
        }
        self.rows += 1;
        for (count, cell) in self.counts.iter_mut().zip(cells) {
            count[Shape::of(cell).index()] += 1;
        }
    }

    /// Whether the counted rows hold too few reporters for a check of their own.
    pub fn too_few_reporters(&self) -> bool {
        self.counts
            .get(self.reporter)
            .is_none_or(|r| r.iter().sum::<u32>() - r[Shape::Empty.index()] < MIN_REPORTERS)
    }

    /// Adds the counts of a source's earlier files to the columns of `header` (this
    /// counter's) with their names. A column the history lacks keeps its own shares (its
    /// counts scaled up alike); with no history of the reporter's column, nothing is added.
    pub fn add_history(&mut self, header: &[String], history: &ShapeHistory) {
        let known = |i: usize| header.get(i).and_then(|n| history.columns.get(n));
        if header.len() != self.counts.len() || known(self.reporter).is_none() || self.rows == 0 {
            return;
        }
        let scale = f64::from(self.rows + history.rows) / f64::from(self.rows);
        for (i, counts) in self.counts.iter_mut().enumerate() {
            match known(i) {
                Some(h) => counts.iter_mut().zip(h).for_each(|(c, h)| *c += h),
                None => {
                    (counts.iter_mut()).for_each(|c| *c = (f64::from(*c) * scale).round() as u32)
                }
            }
        }
        self.rows += history.rows;
    }

    /// The check the counted rows support: `None` when the reporters are too few or have no
    /// dominant shape, or no column is one where that shape is uncommon.
    pub fn finish(self) -> Option<ShiftCheck> {
        let reporters = self.counts.get(self.reporter)?;
        let filled: u32 = reporters.iter().sum::<u32>() - reporters[Shape::Empty.index()];
        if filled < MIN_REPORTERS {
            return None;
        }
        let shape = [Shape::Number, Shape::Name, Shape::Token]
            .into_iter()
            .find(|s| f64::from(reporters[s.index()]) >= DOMINANT_SHARE * f64::from(filled))?;
        let rows = f64::from(self.rows);
        let checked: Vec<bool> = (self.counts.iter().enumerate())
            .map(|(i, c)| i != self.reporter && f64::from(c[shape.index()]) < CHECKED_SHARE * rows)
            .collect();
        checked.contains(&true).then_some(ShiftCheck {
            reporter: self.reporter,
            shape,
            blank_is_odd: f64::from(reporters[Shape::Empty.index()]) <= BLANK_SHARE * rows,
            checked,
        })
    }
}

/// What a file's reporters look like, and the columns where that shape is uncommon.
#[derive(Debug, Clone)]
pub struct ShiftCheck {
    reporter: usize,
    shape: Shape,
    /// Whether a blank reporter cell is rare in the file (a typed separator next to the
    /// reporter's leaves a blank cell behind it).
    blank_is_odd: bool,
    /// Per column: whether a cell shaped like a reporter is uncommon there (and checked).
    checked: Vec<bool>,
}

impl ShiftCheck {
    /// Whether a row may have moved: it has the header's width (other rows are handled as
    /// such) and its reporter cell is not shaped like the file's reporters, nor blank in a
    /// file where blanks are common (anonymous callers).
    pub fn suspect(&self, cells: &[Cow<'_, str>]) -> bool {
        cells.len() == self.checked.len()
            && cells
                .get(self.reporter)
                .is_some_and(|c| match Shape::of(c) {
                    Shape::Empty => self.blank_is_odd,
                    s => s != self.shape,
                })
    }

    /// Whether a quarantined row's reporter-shaped cells should be hidden: it may have moved,
    /// or it has another width than the header's (its cells moved by as many columns as
    /// separators were typed before the reporter's, which a left-out one after it hides).
    pub fn unsure(&self, cells: &[Cow<'_, str>]) -> bool {
        cells.len() != self.checked.len() || self.suspect(cells)
    }

    /// Whether `cell` is shaped like the file's reporters.
    pub fn like_reporter(&self, cell: &str) -> bool {
        Shape::of(cell) == self.shape
    }

    /// The columns a suspect row's reporter has moved to: those where a cell shaped like
    /// the reporters is uncommon, and the row has one. None for a row that is not suspect.
    pub fn moved<'a>(&'a self, cells: &'a [Cow<'_, str>]) -> impl Iterator<Item = usize> + 'a {
        let suspect = self.suspect(cells);
        (0..cells.len())
            .filter(move |&i| suspect && self.checked[i] && self.like_reporter(&cells[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<Cow<'static, str>> {
        cells.iter().map(|c| Cow::Owned((*c).to_owned())).collect()
    }

    #[test]
    fn cells_have_the_shapes_of_reporters_or_not() {
        for (cell, shape) in [
            ("", Shape::Empty),
            ("  ", Shape::Empty),
            ("13812345678", Shape::Number),
            ("+86 138-1234-5678", Shape::Number),
            ("0571-88886666", Shape::Number),
            ("11010119900307123X", Shape::Number),
            ("１３８１２３４５６７８", Shape::Number),
            ("12号", Shape::Other),
            ("123456", Shape::Other),
            ("王伟", Shape::Name),
            ("欧阳建国", Shape::Name),
            ("阿依古丽·买买提", Shape::Other), // eight characters: too long to tell
            ("张*", Shape::Name),
            ("张**", Shape::Name),
            ("王", Shape::Other),
            ("3单元", Shape::Other),
            ("oX_abcdefghijklmnop", Shape::Token),
            ("wx_abcdef", Shape::Other),
            ("1234567890123456789012", Shape::Number),
            ("电梯坏了困人请尽快维修", Shape::Other),
        ] {
            assert_eq!(Shape::of(cell), shape, "{cell:?}");
        }
    }

    fn counted(rows: usize, reporter: impl Fn(usize) -> &'static str) -> ShapeCounter {
        let mut c = ShapeCounter::new(3, 1);
        for i in 0..rows {
            let content = if i % 50 == 0 {
                "漏水"
            } else {
                "电梯坏了请尽快修"
            };
            c.add(&row(&["建设路12号", reporter(i), content]));
        }
        c
    }

    #[test]
    fn a_file_of_names_checks_the_columns_where_names_are_uncommon() {
        let check = counted(100, |i| ["王伟", "李娜"][i % 2]).finish().unwrap();
        let moved = row(&["建设路12号", "3单元", "欧阳建国"]);
        assert_eq!(check.moved(&moved).collect::<Vec<_>>(), vec![2]);
        // A blank reporter where none are: a separator typed before the name.
        assert_eq!(check.moved(&row(&["建设路12号", "", "王伟"])).count(), 1);
        // A whole row, a row of another width: nothing moved.
        for cells in [
            row(&["建设路12号", "王伟", "漏水"]),
            row(&["建设路12号", "3单元", "欧阳建国", ""]),
        ] {
            assert_eq!(check.moved(&cells).count(), 0, "{cells:?}");
        }
        // Where anonymous reporters are common, a blank one is not odd.
        let check = counted(100, |i| ["王伟", "李娜", ""][i % 3])
            .finish()
            .unwrap();
        assert_eq!(check.moved(&row(&["建设路12号", "", "王伟"])).count(), 0);
    }

    /// A small file is checked with its source's earlier files, matched by column name
    /// (another file may order its columns otherwise), and the history keeps the recent
    /// files' share.
    #[test]
    fn a_small_file_borrows_the_shapes_of_its_sources_earlier_files_by_column_name() {
        let names = |cols: &[&str]| cols.iter().map(|c| (*c).to_owned()).collect::<Vec<_>>();
        let mut history = ShapeHistory::default();
        history.absorb(
            &names(&["地址", "联系人", "内容"]),
            &counted(100, |i| ["王伟", "李娜"][i % 2]),
        );
        // Ten rows, the columns in another order: too few of its own.
        let mut small = ShapeCounter::new(3, 2);
        for _ in 0..10 {
            small.add(&row(&["电梯坏了请尽快修", "建设路12号", "王伟"]));
        }
        assert!(small.too_few_reporters());
        assert!(small.clone().finish().is_none());
        small.add_history(&names(&["内容", "地址", "联系人"]), &history);
        assert!(!small.too_few_reporters());
        let check = small.finish().unwrap();
        let moved = row(&["欧阳建国", "建设路12号", "3单元"]);
        assert_eq!(check.moved(&moved).collect::<Vec<_>>(), vec![0]);
        // A column the history lacks keeps its own shares: here, mostly names, so it is
        // not checked; without a history of the reporter's column nothing is added.
        let mut renamed = ShapeCounter::new(3, 2);
        for i in 0..10 {
            renamed.add(&row(&[
                ["李娜", "漏水"][usize::from(i == 0)],
                "建设路12号",
                "王伟",
            ]));
        }
        let mut with = renamed.clone();
        with.add_history(&names(&["备注", "地址", "联系人"]), &history);
        let check = with.finish().unwrap();
        assert_eq!(check.moved(&moved).count(), 0);
        let mut without = renamed.clone();
        without.add_history(&names(&["备注", "地址", "来电人"]), &history);
        assert!(without.too_few_reporters());
        // Past 5,000 rows the history is scaled down: the newest files weigh as much.
        for _ in 0..60 {
            history.absorb(
                &names(&["地址", "联系人", "内容"]),
                &counted(100, |_| "13812345678"),
            );
        }
        assert_eq!(history.rows, HISTORY_ROWS);
        let reporters = history.columns["联系人"];
        assert!(reporters[Shape::Number.index()] > 20 * reporters[Shape::Name.index()]);
        // A file whose header differs from its counts is not absorbed.
        let before = history.clone();
        history.absorb(&names(&["地址"]), &counted(10, |_| "王伟"));
        assert_eq!(history, before);
    }

    #[test]
    fn too_few_or_mixed_reporters_give_no_check() {
        assert!(counted(49, |_| "王伟").finish().is_none());
        assert!(counted(100, |i| ["王伟", "13812345678"][i % 2])
            .finish()
            .is_none());
        // Names as common in the content as in the reporters: no column to check.
        let mut c = ShapeCounter::new(2, 0);
        for _ in 0..100 {
            c.add(&row(&["王伟", "漏水"]));
        }
        assert!(c.finish().is_none());
        // Blank reporters do not count toward the fifty.
        assert!(counted(200, |i| if i % 5 == 0 { "王伟" } else { "" })
            .finish()
            .is_none());
    }
}
