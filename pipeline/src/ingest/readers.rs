//! Streaming readers for the export formats: CSV (UTF-8 with or without BOM, GBK/GB18030,
//! detected when asked), JSON Lines, and XLSX (the first sheet with cells; other sheets with
//! rows are named in the summary). Each yields the header and then
//! rows of strings with their 1-based row number in the file.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader, Sheets};
use encoding_rs::{GB18030, UTF_8};
use encoding_rs_io::DecodeReaderBytesBuilder;

use crate::config::{Encoding, Format};
use crate::{Error, Result};

/// A row's cells in header order: borrowed from the decoded text where they can be.
pub type Cells<'t> = [Cow<'t, str>];

/// One data row: its row number in the file and its cells (JSONL: values in header order).
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    /// 1-based line / row number in the file (the header is row 1 for CSV and XLSX).
    pub row: usize,
    /// Index of its sheet in [`OpenFile::sheets`] (0 for CSV and JSON Lines).
    pub sheet: u32,
    /// Cells, or the problem of the row.
    pub cells: std::result::Result<Vec<Cow<'static, str>>, Problem>,
    /// The rows of the sheet its record spans: 1, or for a petition whose number a register
    /// merged down the rows of its petitioners, their number on its first row and 0 on the
    /// others ([`petition_spans`]).
    pub span: u32,
}

/// Why a row cannot be mapped: its quarantine reason code (`column_count` or `malformed`)
/// and a detail.
pub type Problem = (&'static str, String);

/// A row as [`RawRow::cells`] holds it: its cells when it has no problem.
fn row_result(
    cells: &Cells<'_>,
    problem: Option<Problem>,
) -> std::result::Result<Vec<Cow<'static, str>>, Problem> {
    match problem {
        None => Ok(owned(cells)),
        Some(p) => Err(p),
    }
}

/// A source file opened for reading.
pub struct OpenFile {
    /// Column names.
    pub header: Vec<String>,
    /// How many of `header`'s names the file declares: all of them, but for JSON Lines only
    /// its first object's keys, followed in `header` by the keys asked for that the first
    /// object lacks (a later object may hold them).
    pub declared: usize,
    /// The rows.
    pub rows: Rows,
    /// The sheets of a workbook that are read, when there are several (empty otherwise).
    pub sheets: Vec<String>,
    /// Sheets of a workbook with rows that are not read (their header differs from the
    /// first sheet's), as `name (N rows, …)`.
    pub unread_sheets: Vec<String>,
}

/// The rows of a source file.
pub enum Rows {
    /// Parsed as they are read (JSON Lines, XLSX).
    Parsed(Box<dyn Iterator<Item = RawRow> + Send>),
    /// CSV cut into blocks of whole records; a block is decoded and split into rows where it
    /// is mapped, so decoding and parsing run on every core.
    Blocks(CsvBlocks),
}

impl OpenFile {
    /// Reads the rows under `header` instead of the file's own: a damaged header line read
    /// against its source's previous header (see [`super::header`]). A CSV file's rows are
    /// then expected to have its width.
    pub fn read_with_header(&mut self, header: Vec<String>) {
        if let Rows::Blocks(blocks) = &mut self.rows {
            blocks.layout = Layout::of(header.len(), blocks.layout.sep);
        }
        self.declared = header.len();
        self.header = header;
    }

    /// The cells of the CSV line taken for the header, when no line of the file's first ones
    /// names a mapped column (`None` otherwise): a file written without its header line.
    pub fn unnamed_header(&self) -> Option<&[String]> {
        match &self.rows {
            Rows::Blocks(b) if b.unnamed_header.is_some() => Some(&self.header),
            _ => None,
        }
    }

    /// How many cells a CSV file's first record has, when its header names a mapped column
    /// (`None` otherwise, and for other formats): a header damaged by a separator has one
    /// more or one fewer than its rows.
    pub fn first_row_width(&self) -> Option<usize> {
        match &self.rows {
            Rows::Blocks(b) => b.first_row_width,
            Rows::Parsed(_) => None,
        }
    }

    /// Reads the line taken for the header as the first record, under `header` (see
    /// [`OpenFile::unnamed_header`]); does nothing to other files.
    pub fn read_header_line_as_record(&mut self, header: Vec<String>) {
        if let Rows::Blocks(b) = &mut self.rows {
            if let Some(first) = b.unnamed_header.take() {
                b.put_back(first);
                self.read_with_header(header);
            }
        }
    }

    /// Every row in file order, parsed on this thread.
    pub fn into_rows(self) -> Box<dyn Iterator<Item = RawRow> + Send> {
        match self.rows {
            Rows::Parsed(rows) => rows,
            Rows::Blocks(blocks) => Box::new(blocks.flat_map(|b| {
                let mut rows = vec![];
                b.for_each_row(|row, cells, problem, _| {
                    rows.push(RawRow {
                        row,
                        sheet: 0,
                        cells: row_result(cells, problem),
                        span: 1,
                    });
                });
                rows
            })),
        }
    }
}

/// Raw bytes read per CSV block (about 2,000 hotline rows).
const BLOCK_BYTES: usize = 512 * 1024;

/// Line breaks a quoted field may hold. A field whose closing quote is further away is taken
/// as never closed: a stray quote typed at the start of a cell must not swallow the rest of
/// the file (see [`extent`]).
const QUOTED_LINES_MAX: usize = 1000;

/// What a CSV record must look like to be read across lines (see [`extent`]).
#[derive(Debug, Clone, Copy)]
struct Layout {
    /// Columns of the header; 0 while the header itself is read (any count then).
    width: usize,
    /// Line breaks a quoted field may hold ([`QUOTED_LINES_MAX`]).
    max_quoted_lines: usize,
    /// The field separator: `,`, or the source's `delimiter` (a tab, `;`, `|`).
    sep: u8,
}

impl Layout {
    fn of(width: usize, sep: u8) -> Layout {
        Layout {
            width,
            max_quoted_lines: QUOTED_LINES_MAX,
            sep,
        }
    }
}

/// Characters a CSV header's column name has at most: a longer one read across lines is a
/// stray quote's field running on through the records below.
const HEADER_NAME_MAX: usize = 64;

/// A CSV file read as blocks of whole records, in file order.
pub struct CsvBlocks {
    input: Box<dyn Read + Send>,
    encoding: &'static encoding_rs::Encoding,
    layout: Layout,
    /// Bytes read and not yet handed out; they begin at a record's start.
    carry: Vec<u8>,
    /// Line number of the carry's first byte.
    line: usize,
    eof: bool,
    /// A read error: the rows before it are handed out, then it ends the file.
    error: Option<String>,
    /// The first record, taken for the header although no line of the file's first ones
    /// names a mapped column: it may be a record of a file without a header line
    /// ([`OpenFile::read_header_line_as_record`]).
    unnamed_header: Option<Vec<u8>>,
    /// How many cells the record after the header has ([`OpenFile::first_row_width`]).
    first_row_width: Option<usize>,
}

/// Whole CSV records of a file, still in its encoding.
pub struct Block {
    bytes: Vec<u8>,
    /// Line number of the first byte.
    first_line: usize,
    encoding: &'static encoding_rs::Encoding,
    layout: Layout,
    /// The read error that ended the file after this block.
    error: Option<String>,
}

impl CsvBlocks {
    /// Reads up to `BLOCK_BYTES` more bytes into the carry.
    fn fill(&mut self) {
        if self.eof {
            return;
        }
        let start = self.carry.len();
        self.carry.resize(start + BLOCK_BYTES, 0);
        match read_full(&mut self.input, &mut self.carry[start..]) {
            Ok(n) => {
                self.carry.truncate(start + n);
                self.eof = n < BLOCK_BYTES;
            }
            Err(e) => {
                self.carry.truncate(start);
                self.eof = true;
                self.error = Some(format!("read error: {e}"));
            }
        }
    }

    /// Puts `record`, the last taken, back in front of the carry, to be read again.
    fn put_back(&mut self, mut record: Vec<u8>) {
        self.line = self.line.saturating_sub(line_breaks(&record));
        record.append(&mut self.carry);
        self.carry = record;
    }

    /// Takes the first record (the header) off the carry.
    fn take_first_record(&mut self) -> Vec<u8> {
        loop {
            let end = match record_ends(&self.carry, true, self.layout) {
                Some((end, _)) => end,
                None if self.eof => self.carry.len(),
                None => {
                    self.fill();
                    continue;
                }
            };
            let rest = self.carry.split_off(end);
            let first = std::mem::replace(&mut self.carry, rest);
            self.line += line_breaks(&first);
            return first;
        }
    }
}

impl Iterator for CsvBlocks {
    type Item = Block;

    fn next(&mut self) -> Option<Block> {
        loop {
            self.fill();
            let cut = match record_ends(&self.carry, false, self.layout) {
                Some(c) if !self.eof => c,
                // A record longer than a block: read on.
                None if !self.eof => continue,
                _ if self.carry.is_empty() && self.error.is_none() => return None,
                _ => (self.carry.len(), line_breaks(&self.carry)),
            };
            let rest = self.carry.split_off(cut.0);
            let block = Block {
                bytes: std::mem::replace(&mut self.carry, rest),
                first_line: self.line,
                encoding: self.encoding,
                layout: self.layout,
                error: if self.eof { self.error.take() } else { None },
            };
            self.line += cut.1;
            return Some(block);
        }
    }
}

/// Where the first line of `b` ends: after its line break (`\n`, `\r\n` or `\r`), or at
/// the end of `b`.
fn first_line_end(b: &[u8]) -> usize {
    memchr::memchr2(b'\n', b'\r', b).map_or(b.len(), |i| {
        i + 1 + usize::from(b[i] == b'\r' && b.get(i + 1) == Some(&b'\n'))
    })
}

/// A record without the line break that ends it (`\n`, `\r\n` or `\r`).
fn trim_line_break(b: &[u8]) -> &[u8] {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.strip_suffix(b"\r").unwrap_or(b)
}

/// The line breaks in `b`: `\n`, `\r\n`, and `\r` alone (old Mac exports), each counted
/// once. A `\r` at the end of `b` counts as a break: callers pass whole records, or text
/// that ends before a record's first byte, so it is never the first half of a `\r\n`.
fn line_breaks(b: &[u8]) -> usize {
    // One pass for both (it runs once per record): a `\r` counts unless a `\n` follows.
    memchr::memchr2_iter(b'\n', b'\r', b)
        .filter(|&i| b[i] == b'\n' || b.get(i + 1) != Some(&b'\n'))
        .count()
}

/// How far a CSV record that holds a quoted line break extends (see [`extent`]).
#[derive(Debug, PartialEq)]
enum Extent {
    /// The whole record, to its end (after the line break that ends it, or the text's end).
    Whole(usize),
    /// Only the record's first line is one: its line break is at `brk`, and the next record
    /// starts after it, at `end`.
    FirstLine { brk: usize, end: usize },
    /// The text ends before that can be told.
    Undecided,
}

/// The extent of the record that starts at `start` in `b`, read as [`Records`] reads it. A
/// quoted field may hold line breaks, but a record that does is trusted only if each of its
/// quotes closes (within `max_quoted_lines` line breaks), it has the header's number of
/// fields, and it is not two stray quotes paired up ([`continues_like_a_record`]).
/// Otherwise a quote was stray (typed at the start of a cell, or a closing one
/// lost) and would swallow the records after it: the first line alone is taken as the
/// record (usually quarantined for its column count) and reading goes on at the next line,
/// so every later record is still read and counted. `eof`: `b` is the whole text.
fn extent(b: &[u8], start: usize, layout: Layout, eof: bool) -> Extent {
    let (mut i, mut fields, mut multiline) = (start, 1usize, false);
    let first_line = |b: &[u8]| -> Extent {
        let Some(k) = memchr::memchr2(b'\r', b'\n', &b[start..]) else {
            return Extent::Undecided;
        };
        let brk = start + k;
        match (b[brk], b.get(brk + 1)) {
            (b'\r', Some(b'\n')) => Extent::FirstLine { brk, end: brk + 2 },
            (b'\r', None) if !eof => Extent::Undecided,
            _ => Extent::FirstLine { brk, end: brk + 1 },
        }
    };
    loop {
        // A field starts at `i`.
        if b.get(i) == Some(&b'"') {
            let mut breaks = 0;
            i += 1;
            loop {
                let Some(q) = memchr::memchr(b'"', &b[i..]) else {
                    breaks += line_breaks(&b[i..]);
                    multiline |= breaks > 0;
                    if breaks > layout.max_quoted_lines || (eof && multiline) {
                        return first_line(b);
                    }
                    return if eof {
                        Extent::Whole(b.len())
                    } else {
                        Extent::Undecided
                    };
                };
                let q = i + q;
                breaks += line_breaks(&b[i..q]);
                multiline |= breaks > 0;
                if breaks > layout.max_quoted_lines {
                    return first_line(b);
                }
                i = q + 1;
                match b.get(i) {
                    Some(b'"') => i += 1,
                    None if !eof => return Extent::Undecided,
                    _ => break,
                }
            }
        }
        // The rest of the field, unquoted.
        let Some(k) = memchr::memchr3(layout.sep, b'\r', b'\n', &b[i..]) else {
            if !eof {
                return Extent::Undecided;
            }
            i = b.len();
            break;
        };
        i += k;
        match b[i] {
            c if c == layout.sep => {
                fields += 1;
                i += 1;
            }
            b'\r' if b.get(i + 1) == Some(&b'\n') => {
                i += 2;
                break;
            }
            b'\r' if i + 1 == b.len() && !eof => return Extent::Undecided,
            _ => {
                i += 1;
                break;
            }
        }
    }
    if multiline
        && layout.width != 0
        && (fields != layout.width || continues_like_a_record(&b[start..i], layout))
    {
        return first_line(b);
    }
    Extent::Whole(i)
}

/// Whether a record that holds quoted line breaks is two stray quotes paired up: its first
/// line, read alone, is a whole record (its unclosed quote a character), and so is a later
/// line. Two stray quotes in the same column of two rows make a record of the header's
/// width that swallows the rows between; a field typed across lines leaves an incomplete
/// first line (its field opens there), or, in the last column, later lines of its own text,
/// which would need the header's number of fields to be taken for a record.
fn continues_like_a_record(record: &[u8], layout: Layout) -> bool {
    let (width, sep) = (layout.width, layout.sep);
    if width < 2 {
        return false; // every line is a whole record of one field
    }
    let mut lines = record.split(|&c| c == b'\n' || c == b'\r');
    lines
        .next()
        .is_some_and(|l| fields_on_line(l, sep) == width)
        && lines.any(|l| fields_on_line(l, sep) == width)
}

/// The fields of one line read as a record on its own: a quote opens a quoted field at a
/// field's start only if it closes on the line (`""` inside is a quote); otherwise it is a
/// character.
fn fields_on_line(line: &[u8], sep: u8) -> usize {
    let (mut i, mut fields) = (0, 1);
    loop {
        if line.get(i) == Some(&b'"') {
            let mut j = i + 1;
            while let Some(q) = memchr::memchr(b'"', &line[j..]) {
                j += q + 1;
                if line.get(j) == Some(&b'"') {
                    j += 1; // an escaped quote
                } else {
                    i = j; // closed: the field goes on after it
                    break;
                }
            }
        }
        match memchr::memchr(sep, &line[i.min(line.len())..]) {
            Some(k) => {
                i += k + 1;
                fields += 1;
            }
            None => return fields,
        }
    }
}

/// The end (after its line break) of the last whole record in `buf`, or the first when
/// `first_only`, and the line breaks before it; `buf` begins at a record's start.
///
/// The bytes are read the way the `csv` crate reads them: a quote opens a quoted field only
/// at a field's start, `""` inside one is a quote, and line breaks inside one belong to it;
/// `\n`, `\r\n` and `\r` end a record. A `\r` at the end of `buf` ends nothing yet: the
/// next byte may be its `\n`. A record with a quoted line break extends as [`extent`] says.
fn record_ends(buf: &[u8], first_only: bool, layout: Layout) -> Option<(usize, usize)> {
    let (mut i, mut lines, mut record) = (0, 0, 0);
    let mut last = None;
    // Commas matter only before a quote (whether it opens a field), so the scan looks for
    // quotes and line breaks and checks the byte before a quote.
    while let Some(k) = memchr::memchr3(b'"', b'\n', b'\r', &buf[i..]) {
        let p = i + k;
        i = p + 1;
        match buf[p] {
            b'\n' => {}
            b'\r' => match buf.get(i) {
                Some(b'\n') => continue, // the `\n` ends the record
                None => return last,
                Some(_) => {}
            },
            _ if p == 0 || matches!(buf[p - 1], b'\n' | b'\r') || buf[p - 1] == layout.sep => {
                // A quoted field: skipped when it closes on its line (the usual case), else
                // its record extends as `extent` says.
                let close = loop {
                    let Some(q) = memchr::memchr(b'"', &buf[i..]) else {
                        break None;
                    };
                    let q = i + q;
                    if memchr::memchr2(b'\r', b'\n', &buf[i..q]).is_some() {
                        break None;
                    }
                    i = q + 1;
                    match buf.get(i) {
                        Some(b'"') => i += 1,
                        None => return last, // an escaped quote cut by the buffer's end?
                        Some(_) => break Some(i),
                    }
                };
                if close.is_some() {
                    continue;
                }
                i = match extent(buf, record, layout, false) {
                    Extent::Whole(end) | Extent::FirstLine { end, .. } => end,
                    Extent::Undecided => return last,
                };
                lines += line_breaks(&buf[record..i]);
                last = Some((i, lines));
                record = i;
                if first_only {
                    return last;
                }
                continue;
            }
            _ => continue,
        }
        lines += 1;
        last = Some((i, lines));
        record = i;
        if first_only {
            return last;
        }
    }
    last
}

/// What a byte sequence that cannot be decoded becomes.
pub const REPLACEMENT: &str = "\u{FFFD}";

/// `bytes` as text (invalid sequences become U+FFFD), borrowed when valid UTF-8, and whether
/// any sequence was invalid.
fn decode<'b>(encoding: &'static encoding_rs::Encoding, bytes: &'b [u8]) -> (Cow<'b, str>, bool) {
    if encoding == UTF_8 {
        let text = String::from_utf8_lossy(bytes);
        let invalid = matches!(text, Cow::Owned(_));
        (text, invalid)
    } else {
        encoding.decode_without_bom_handling(bytes)
    }
}

impl Block {
    /// Decodes and parses the block, calling `f` with each row's line number, its cells
    /// (however many it has; none for a record that is not valid CSV), the problem of the
    /// row if it has one, and whether the cells may hold U+FFFD for bytes that could not be
    /// decoded (false when every byte of the block could). Blank rows are skipped.
    pub fn for_each_row(
        &self,
        mut f: impl for<'c> FnMut(usize, &'c Cells<'c>, Option<Problem>, bool),
    ) {
        let (text, lossy) = decode(self.encoding, &self.bytes);
        let bytes = text.as_bytes();
        let mut records = Records {
            text: &text,
            pos: 0,
            layout: Some(self.layout),
            sep: self.layout.sep,
        };
        let width = self.layout.width;
        let mut cells = Vec::with_capacity(width);
        // The line of a record: the line breaks before its first byte.
        let (mut at, mut line) = (0usize, self.first_line);
        while let Some(start) = records.next_into(&mut cells) {
            line += line_breaks(&bytes[at..start]);
            at = start;
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            let problem = (cells.len() != width).then(|| {
                let detail = format!("{} columns, header has {}", cells.len(), width);
                ("column_count", detail)
            });
            f(line, &cells, problem, lossy);
        }
        if let Some(e) = &self.error {
            line += line_breaks(&bytes[at..]);
            f(line, &[], Some(("malformed", e.clone())), lossy);
        }
    }
}

/// Cells that outlive the text they were read from.
pub fn owned(cells: &Cells<'_>) -> Vec<Cow<'static, str>> {
    cells.iter().map(|c| Cow::Owned(c.to_string())).collect()
}

/// The records of decoded CSV text, split the way the `csv` crate reads them: comma
/// separated; a quote opens a quoted field only at a field's start, and in one `""` is a
/// quote and commas and line breaks are text; after its closing quote the rest of the field
/// is kept as written; `\r`, `\n` or `\r\n` end a record; blank lines are skipped. A field
/// without quotes is borrowed from the text (no copy, no second UTF-8 check); only a quoted
/// one is built. With a layout, a record that holds a quoted line break is kept only if
/// [`extent`] trusts it, else its first line is read alone (the `csv` crate has no such
/// guard: one stray quote there swallows the rest of the file).
struct Records<'t> {
    text: &'t str,
    /// Where the next record (or the blank lines before it) begins.
    pos: usize,
    layout: Option<Layout>,
    /// The field separator.
    sep: u8,
}

impl<'t> Records<'t> {
    /// Reads the next record into `cells` and returns the offset of its first byte.
    ///
    /// Every offset used to slice the text is its start, its end, or next to an ASCII byte,
    /// so it is always a character boundary.
    fn next_into(&mut self, cells: &mut Vec<Cow<'t, str>>) -> Option<usize> {
        let b = self.text.as_bytes();
        while self.pos < b.len() && matches!(b[self.pos], b'\r' | b'\n') {
            self.pos += 1;
        }
        if self.pos >= b.len() {
            return None;
        }
        let start = self.pos;
        cells.clear();
        let mut multiline = false;
        loop {
            let (cell, end) = self.field(self.pos);
            multiline |= matches!(cell, Cow::Owned(_))
                && memchr::memchr2(b'\r', b'\n', &b[self.pos..end]).is_some();
            cells.push(cell);
            self.pos = (end + 1).min(b.len());
            if b.get(end) != Some(&self.sep) {
                break;
            }
        }
        if let (true, Some(layout)) = (multiline, self.layout) {
            if let Extent::FirstLine { brk, end } = extent(b, start, layout, true) {
                // Only the first line is the record: read it alone.
                let mut line = Records {
                    text: &self.text[..brk],
                    pos: start,
                    layout: None,
                    sep: self.sep,
                };
                line.next_into(cells);
                self.pos = end;
            }
        }
        Some(start)
    }

    /// The field that starts at `at`, and the offset of the comma, line break or end of
    /// text that ends it.
    fn field(&self, at: usize) -> (Cow<'t, str>, usize) {
        let (text, b, sep) = (self.text, self.text.as_bytes(), self.sep);
        let end_from =
            |i: usize| memchr::memchr3(sep, b'\r', b'\n', &b[i..]).map_or(b.len(), |k| i + k);
        if b.get(at) != Some(&b'"') {
            let end = end_from(at);
            let cell = &text[at..end];
            if let Some(inner) = excel_text(cell) {
                return (inner, end);
            }
            return (Cow::Borrowed(cell), end);
        }
        let mut out = String::new();
        let mut i = at + 1;
        loop {
            let Some(k) = memchr::memchr(b'"', &b[i..]) else {
                // Never closed: the field runs to the end of the text.
                out.push_str(&text[i..]);
                return (Cow::Owned(out), b.len());
            };
            out.push_str(&text[i..i + k]);
            i += k + 1;
            if b.get(i) == Some(&b'"') {
                out.push('"');
                i += 1;
            } else {
                break;
            }
        }
        let end = end_from(i);
        out.push_str(&text[i..end]);
        if let Some(inner) = excel_text(&out) {
            return (Cow::Owned(inner.into_owned()), end);
        }
        (Cow::Owned(out), end)
    }
}

/// The text of a cell an export wrote so that Excel shows a long number, a leading zero or a
/// date as written: as a text formula, `="2025030500012345"` (what the formula shows: `""`
/// inside it is one `"`), or after an apostrophe, `'13812345678` (a number or a time only:
/// digits and `-` `:` `/` `.` `+` and spaces). Without it, the record id, the date and the
/// reporter would keep the wrapper, and the same ticket exported plainly would be another
/// record, the same caller another household.
fn excel_text(cell: &str) -> Option<Cow<'_, str>> {
    if let Some(number) = cell.strip_prefix('\'') {
        let numeric = |b: &u8| b.is_ascii_digit() || b" -:/.+".contains(b);
        let b = number.as_bytes();
        return (b.iter().all(numeric) && b.iter().any(u8::is_ascii_digit))
            .then_some(Cow::Borrowed(number));
    }
    let inner = cell.strip_prefix("=\"")?.strip_suffix('"')?;
    match inner.contains('"') {
        false => Some(Cow::Borrowed(inner)),
        // `="a""b"` is a"b; a lone quote inside is not a text formula.
        true => (!inner.replace("\"\"", "").contains('"'))
            .then(|| Cow::Owned(inner.replace("\"\"", "\""))),
    }
}

fn source_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Source {
        path: path.into(),
        reason: reason.into(),
    }
}

/// At least this many valid multi-byte UTF-8 characters for each run of invalid bytes
/// make a text UTF-8 with damaged characters rather than GBK. Chinese text in GBK read as
/// UTF-8 is runs of invalid bytes broken by a character that happens to look like UTF-8 or
/// by ASCII: 0.3–0.8 valid characters a run (the demo's exports and the People's Daily
/// corpus, in 64 KB samples), and hardly ever above one. A UTF-8 export whose database cut
/// a field mid-character has one run for dozens of valid characters, and session 37's
/// damaged grid exports (runs of stray bytes inserted) 2–370, the 2 a sample of 65,000
/// stray bytes and 20 characters.
const DAMAGED_UTF8_RATIO: usize = 3;

/// Detects the encoding of the first bytes: a BOM, UTF-8 (valid, or but for a few damaged
/// spots: a field cut mid-character, stray bytes), else GB18030.
pub fn detect_encoding(head: &[u8]) -> &'static encoding_rs::Encoding {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return UTF_8;
    }
    let (valid, damaged) = utf8_tally(head);
    if damaged == 0 || valid >= DAMAGED_UTF8_RATIO * damaged {
        UTF_8
    } else {
        GB18030
    }
}

/// The multi-byte characters of `bytes` that are valid UTF-8, and the runs of bytes that
/// are not (invalid sequences with nothing valid between them are one run); a character
/// cut at the end (of a sample) counts as neither.
fn utf8_tally(mut bytes: &[u8]) -> (usize, usize) {
    let lead = |good: &[u8]| good.iter().filter(|&&b| b >= 0xC0).count();
    let (mut valid, mut runs, mut in_run) = (0, 0, false);
    loop {
        match std::str::from_utf8(bytes) {
            Ok(_) => return (valid + lead(bytes), runs),
            Err(e) => {
                let good = e.valid_up_to();
                valid += lead(&bytes[..good]);
                let Some(n) = e.error_len() else {
                    return (valid, runs);
                };
                if good > 0 || !in_run {
                    runs += 1;
                }
                in_run = true;
                bytes = &bytes[good + n..];
            }
        }
    }
}

/// The encoding of a text file, and its first bytes (read to detect it).
fn sniff(path: &Path, enc: Encoding) -> Result<(&'static encoding_rs::Encoding, Vec<u8>, File)> {
    let mut f = File::open(path).map_err(|e| source_err(path, e.to_string()))?;
    let mut head = vec![0u8; 64 * 1024];
    let n = read_full(&mut f, &mut head).map_err(|e| source_err(path, e.to_string()))?;
    head.truncate(n);
    let encoding = match enc {
        Encoding::Utf8 => UTF_8,
        Encoding::Gbk => GB18030,
        Encoding::Auto => detect_encoding(&head),
    };
    if encoding == UTF_8 && std::str::from_utf8(&head).is_err() && detect_encoding(&head) != UTF_8 {
        return Err(source_err(
            path,
            "not valid UTF-8 (set encoding = \"gbk\" or \"auto\")",
        ));
    }
    // Chinese text in GBK is never valid UTF-8 for long, so non-ASCII text that is valid
    // UTF-8 throughout was written as UTF-8 (read as GBK it would turn into mojibake, and
    // the header would match none of the mapped columns). A BOM says so by itself.
    let non_ascii = head.iter().filter(|b| !b.is_ascii()).count();
    if encoding == GB18030
        && !head.starts_with(&[0xEF, 0xBB, 0xBF])
        && non_ascii >= 16
        && detect_encoding(&head) == UTF_8
    {
        return Err(source_err(
            path,
            "the text is UTF-8, not GBK (set encoding = \"utf-8\" or \"auto\")",
        ));
    }
    Ok((encoding, head, f))
}

fn text_reader(path: &Path, enc: Encoding) -> Result<Box<dyn Read + Send>> {
    let (encoding, head, f) = sniff(path, enc)?;
    let chained = std::io::Cursor::new(head).chain(f);
    Ok(Box::new(
        DecodeReaderBytesBuilder::new()
            .encoding(Some(encoding))
            .bom_override(true)
            .build(chained),
    ))
}

/// Reads until `buf` is full or the input ends; the bytes read.
pub(crate) fn read_full(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Opens a source file. `keys` are the column names the mapping reads: a JSON Lines object
/// may leave out a key it has no value for (`类别` of an uncategorised report), so those the
/// first object lacks are read from every object too, not only the first object's keys.
///
/// # Errors
/// Missing or unreadable file, undecodable text, not an XLSX, no header (a JSON Lines file
/// whose first line is not an object).
/// `id_keys` name the record id's column (a workbook's petitions merged down several rows
/// of it span them: [`RawRow::span`]).
/// `header` names the columns of a CSV file without a header line (every line a record).
pub fn open(
    path: &Path,
    format: Format,
    enc: Encoding,
    delimiter: u8,
    keys: &[&str],
    id_keys: &[&str],
    header: Option<&[String]>,
) -> Result<OpenFile> {
    match format {
        Format::Csv => open_csv(path, enc, delimiter, keys, header),
        Format::Jsonl => open_jsonl(path, enc, keys),
        Format::Xlsx => open_xlsx(path, keys, id_keys),
    }
}

/// How many of `cells` name a column of `keys`.
fn names_of(cells: &[String], keys: &[&str]) -> usize {
    (cells.iter())
        .filter(|v| !v.is_empty() && keys.iter().any(|k| super::same_name(v, k)))
        .count()
}

/// Of a file's first rows (their cells), the header's index: the first naming the most
/// columns the mapping reads, with how many it names; the first row when none names any, and
/// `None` for no rows.
fn header_row<'r>(
    rows: impl IntoIterator<Item = &'r [String]>,
    keys: &[&str],
) -> Option<(usize, usize)> {
    let mut best: Option<(usize, usize)> = None;
    for (i, r) in rows.into_iter().enumerate() {
        let n = names_of(r, keys);
        if best.is_none_or(|(_, b)| n > b) {
            best = Some((i, n));
        }
    }
    best
}

fn open_csv(
    path: &Path,
    enc: Encoding,
    sep: u8,
    keys: &[&str],
    configured: Option<&[String]>,
) -> Result<OpenFile> {
    let (encoding, mut head, f) = sniff(path, enc)?;
    // Both encodings the blocks handle are ASCII-transparent: a byte `"`, `,` or `\n` is
    // always that character, so records can be cut on the raw bytes. UTF-16 cannot.
    const GB18030_BOM: &[u8] = &[0x84, 0x31, 0x95, 0x33];
    let (encoding, bom) = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        (UTF_8, 3)
    } else if encoding == GB18030 && head.starts_with(GB18030_BOM) {
        (GB18030, 4)
    } else {
        (encoding, 0)
    };
    head.drain(..bom);
    let utf16 = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
    let (encoding, input, head): (_, Box<dyn Read + Send>, _) = if utf16 {
        // UTF-16 is not ASCII-transparent: it is decoded to UTF-8 as it is read.
        (UTF_8, text_reader(path, enc)?, vec![])
    } else {
        (encoding, Box::new(f), head)
    };
    let mut blocks = CsvBlocks {
        input,
        encoding,
        layout: Layout::of(0, sep),
        carry: head,
        line: 1,
        eof: false,
        error: None,
        unnamed_header: None,
        first_row_width: None,
    };
    let cells_quoted = |record: &[u8], quoting: bool| -> Result<Vec<String>> {
        let (text, _) = decode(encoding, record);
        let mut rdr = csv::ReaderBuilder::new()
            .delimiter(sep)
            .flexible(true)
            .has_headers(false)
            .quoting(quoting)
            .from_reader(text.as_bytes());
        let mut rec = csv::StringRecord::new();
        match rdr.read_record(&mut rec) {
            Ok(_) => Ok(rec
                .iter()
                .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
                .collect()),
            Err(e) => Err(source_err(path, format!("cannot read the header: {e}"))),
        }
    };
    if let Some(header) = configured {
        // No header line: the first line is a record.
        blocks.layout = Layout::of(header.len(), sep);
        return Ok(OpenFile {
            declared: header.len(),
            header: header.to_vec(),
            rows: Rows::Blocks(blocks),
            sheets: vec![],
            unread_sheets: vec![],
        });
    }
    let cells = |record: &[u8]| cells_quoted(record, true);
    // Two lines a line break cut a header into, read as one — the break inserted, or put in
    // a separator's place — when that names more of the mapped columns than `than` (each
    // counted once: a header line repeated below names them twice), the break inserted when
    // both name as many (`max_by_key` keeps the last).
    let distinct = |c: &[String]| (keys.iter()).filter(|k| names_of(c, &[**k]) > 0).count();
    let joined = |above: &[u8], below: &[u8], than: &[String]| {
        let above = trim_line_break(above);
        let named = distinct(than);
        ([&[sep][..], &[][..]].into_iter())
            .filter_map(|between| cells(&[above, between, below].concat()).ok())
            .map(|c| (distinct(&c), c))
            .filter(|(n, _)| *n > named)
            .max_by_key(|(n, _)| *n)
            .map(|(_, c)| c)
    };
    let mut first = blocks.take_first_record();
    let mut header = cells(&first)?;
    if line_breaks(&first) > 1 {
        // A stray quote opened a field the header line never closed, and the field ran on
        // through the records below (up to the next quote, or the file's end): they would
        // be lost in a header name. The header is then its first line, its quotes as
        // written: when that names more mapped columns (those after the quote were in the
        // field), or a name read across lines runs long (a name quoted across a line break,
        // `"登记\n日期"`, is short, and its first line alone names no more).
        let end = first_line_end(&first);
        let line: Vec<String> = cells_quoted(&first[..end], false)?
            .into_iter()
            .map(|h| h.trim_matches('"').trim().to_owned())
            .collect();
        let long = |h: &String| h.contains(['\n', '\r']) && h.chars().count() > HEADER_NAME_MAX;
        // Or the record the run reached has the first line's width (a quote before an
        // unmapped last name, the run ended early in that record by one of its quotes).
        let rest = &first[end..];
        let row_end = first_line_end(rest);
        let row_width = cells(&rest[..row_end]).map(|c| c.len()).ok();
        let as_wide = row_width == Some(line.len()) && line.len() != header.len();
        if distinct(&line) > distinct(&header) || header.iter().any(long) || as_wide {
            let rest = first.split_off(end);
            header = line;
            blocks.put_back(rest);
        }
    }
    let named = names_of(&header, keys);
    if named > 0 {
        // A line break in the header line (a byte changed or inserted in transfer) leaves
        // the names after it on the next line, which would be read as a record: when the
        // two read as one line name more mapped columns, they are the header (a header and
        // its first record read as one name fewer: the last name runs into the record).
        let second = blocks.take_first_record();
        match joined(&first, &second, &header) {
            Some(h) => header = h,
            None => {
                let row = cells(&second).unwrap_or_default();
                blocks.first_row_width = (!second.is_empty()).then_some(row.len());
                blocks.put_back(second);
            }
        }
    }
    if !keys.is_empty() && named == 0 {
        // A title line (`12345工单导出（2025年3月）`) above the header: of the first records,
        // the header is the first naming the most mapped columns; the records after it are
        // put back to be read as rows.
        let line = blocks.line;
        let mut records: Vec<(Vec<u8>, Vec<String>, usize)> = vec![]; // bytes, cells, line after
        while records.len() + 1 < HEADER_ROWS_SEARCHED && !(blocks.eof && blocks.carry.is_empty()) {
            let r = blocks.take_first_record();
            let c = cells(&r).unwrap_or_default();
            records.push((r, c, blocks.line));
        }
        let (from, line) = match header_row(records.iter().map(|r| r.1.as_slice()), keys) {
            Some((i, n)) if n > 0 => {
                // A line break in the header line left its first names on the line above,
                // which names no mapped column (as a title would): joined, they name more.
                let above = if i == 0 { &first } else { &records[i - 1].0 };
                header = match joined(above, &records[i].0, &records[i].1) {
                    Some(c) => c,
                    None => std::mem::take(&mut records[i].1),
                };
                blocks.first_row_width = records.get(i + 1).map(|r| r.1.len());
                (i + 1, records[i].2)
            }
            _ => {
                blocks.unnamed_header = Some(first);
                (0, line)
            }
        };
        let mut back: Vec<u8> = records[from..]
            .iter()
            .flat_map(|(r, _, _)| r.iter().copied())
            .collect();
        back.extend_from_slice(&blocks.carry);
        blocks.carry = back;
        blocks.line = line;
    }
    if let Some(e) = blocks.error.take() {
        return Err(source_err(path, e));
    }
    if header.iter().all(String::is_empty) {
        return Err(source_err(path, "empty file or no header row"));
    }
    blocks.layout = Layout::of(header.len(), sep);
    Ok(OpenFile {
        declared: header.len(),
        header,
        rows: Rows::Blocks(blocks),
        sheets: vec![],
        unread_sheets: vec![],
    })
}

/// The lines of a text, numbered from 1, each ended by `\n`, `\r\n` or a lone `\r` (as
/// CSV records are), without their line break.
fn text_lines(mut input: impl BufRead) -> impl Iterator<Item = (usize, std::io::Result<String>)> {
    let (mut line, mut queue, mut done) = (0, std::collections::VecDeque::new(), false);
    std::iter::from_fn(move || loop {
        if let Some(l) = queue.pop_front() {
            line += 1;
            return Some((line, l));
        }
        if done {
            return None;
        }
        let mut buf = vec![];
        match input.read_until(b'\n', &mut buf) {
            Ok(0) => done = true,
            Ok(_) => {
                if buf.ends_with(b"\n") {
                    buf.pop();
                    if buf.ends_with(b"\r") {
                        buf.pop();
                    }
                }
                // Lone CRs inside (JSON text never holds a raw CR: it is escaped).
                queue.extend(
                    buf.split(|&b| b == b'\r')
                        .map(|l| Ok(String::from_utf8_lossy(l).into_owned())),
                );
            }
            Err(e) => {
                done = true;
                queue.push_back(Err(e));
            }
        }
    })
}

/// A JSON object, and the first key it gives twice: a damaged export can turn one key into
/// another (`openid` into a second `id`), and the record is then ambiguous (a map keeps the
/// last value silently).
struct JsonObject<'a> {
    map: JsonMap<'a>,
    twice: Option<String>,
}

/// An object's values as their JSON text, borrowed from the line: a number keeps every
/// digit it was written with (a 20-digit ticket number is past what a `u64` holds, and
/// parsed it came back as a rounded double, quarantined as a number a spreadsheet
/// shortened).
type JsonMap<'a> = std::collections::BTreeMap<String, &'a serde_json::value::RawValue>;

impl<'de> serde::Deserialize<'de> for JsonObject<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = JsonObject<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> std::result::Result<JsonObject<'de>, A::Error> {
                let mut o = JsonObject {
                    map: JsonMap::new(),
                    twice: None,
                };
                while let Some((k, v)) =
                    a.next_entry::<String, &'de serde_json::value::RawValue>()?
                {
                    if o.map.contains_key(&k) {
                        o.twice.get_or_insert_with(|| k.clone());
                    }
                    o.map.insert(k, v);
                }
                Ok(o)
            }
        }
        d.deserialize_map(Visitor)
    }
}

/// A JSON Lines record's object, or why it is none. A value that is no object is not quoted
/// (it may be anything, an identifier too).
fn json_object(line: &str) -> std::result::Result<JsonObject<'_>, String> {
    serde_json::from_str::<JsonObject>(line).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => "not a JSON object".to_owned(),
        _ => format!("invalid JSON: {e}"),
    })
}

/// The value of `key` in a JSON object: its own key, else a dotted path into nested objects
/// and arrays (`location.address`, `createTime.$date`, `images.0`), as platforms export
/// records with their parts nested.
fn json_path<'a>(m: &JsonMap<'a>, key: &str) -> Option<&'a serde_json::value::RawValue> {
    if let Some(v) = m.get(key) {
        return Some(v);
    }
    let mut parts = key.split('.');
    let mut v = *m.get(parts.next()?)?;
    for part in parts {
        let text = v.get().trim_start();
        v = if text.starts_with('{') {
            *serde_json::from_str::<JsonMap<'a>>(v.get())
                .ok()?
                .get(part)?
        } else if text.starts_with('[') {
            let a: Vec<&'a serde_json::value::RawValue> = serde_json::from_str(v.get()).ok()?;
            *a.get(part.parse::<usize>().ok()?)?
        } else {
            return None;
        };
    }
    Some(v)
}

/// A JSON value as a cell: a string's text, nothing for null, and any other value as it is
/// written (a number with all its digits).
fn json_cell(v: &serde_json::value::RawValue) -> String {
    let text = v.get().trim();
    if let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        // Without an escape the text between the quotes is the string (the parser has
        // checked it); only an escaped one is parsed again.
        match inner.contains('\\') {
            false => inner.to_owned(),
            true => serde_json::from_str::<String>(text).unwrap_or_default(),
        }
    } else if text == "null" {
        String::new()
    } else {
        text.to_owned()
    }
}

/// The lines of a JSON Lines file; or, when the file is one JSON array (as some platforms
/// export), its elements, one a line, numbered from 1 (the array is read whole).
type JsonLines = Box<dyn Iterator<Item = (usize, std::io::Result<String>)> + Send>;

fn json_lines(path: &Path, enc: Encoding) -> Result<JsonLines> {
    let mut lines = text_lines(BufReader::new(text_reader(path, enc)?)).peekable();
    // Blank lines before the first object are skipped (as they are everywhere).
    let blank = |l: &(usize, std::io::Result<String>)| match &l.1 {
        Ok(t) => t.trim().trim_start_matches('\u{feff}').is_empty(),
        Err(_) => false,
    };
    while lines.peek().is_some_and(blank) {
        lines.next();
    }
    let array = matches!(lines.peek(), Some((_, Ok(first)))
        if first.trim().trim_start_matches('\u{feff}').starts_with('['));
    if !array {
        return Ok(Box::new(lines));
    }
    let mut text = String::new();
    text_reader(path, enc)?
        .read_to_string(&mut text)
        .map_err(|e| source_err(path, format!("unreadable: {e}")))?;
    let items: Vec<Box<serde_json::value::RawValue>> =
        serde_json::from_str(text.trim_start_matches('\u{feff}'))
            .map_err(|e| source_err(path, format!("not a JSON array: {e}")))?;
    Ok(Box::new(
        (items.into_iter().enumerate()).map(|(i, v)| (i + 1, Ok(v.get().to_owned()))),
    ))
}

fn open_jsonl(path: &Path, enc: Encoding, wanted: &[&str]) -> Result<OpenFile> {
    let mut lines = json_lines(path, enc)?;
    // The header: the first object's keys, then the keys asked for that it or the other
    // objects of the file's first ten lines hold (nested ones too), then the keys asked for
    // that none of them holds. The objects are looked for among the first lines, as a CSV
    // header is: a damaged first line (cut, two records run together, a key's character
    // damaged) is a row quarantined as malformed or lacking that key, not the loss of the
    // file; a key no object there holds (a renamed one) still refuses it.
    let mut head = vec![];
    let mut first: Option<Vec<String>> = None;
    while head.len() < HEADER_ROWS_SEARCHED {
        let Some(line) = lines.next() else { break };
        if let (_, Ok(text)) = &line {
            if let Ok(o) = json_object(text.trim().trim_start_matches('\u{feff}')) {
                let keys = first.get_or_insert_with(|| o.map.keys().cloned().collect());
                for k in wanted {
                    if !keys.iter().any(|h| h == k) && json_path(&o.map, k).is_some() {
                        keys.push((*k).to_owned());
                    }
                }
            }
        }
        head.push(line);
    }
    let mut header: Vec<String> = vec![];
    let declared = match (first, head.first()) {
        // No object at all: an export of a night with nothing to report.
        (_, None) => None,
        (Some(keys), _) => {
            header = keys;
            Some(header.len())
        }
        (None, Some((_, Err(e)))) => return Err(source_err(path, format!("unreadable: {e}"))),
        (None, Some(_)) => {
            return Err(source_err(
                path,
                format!("none of the first {} lines is a JSON object", head.len()),
            ))
        }
    };
    let lines = head.into_iter().chain(lines);
    for k in wanted {
        if !header.iter().any(|h| h == k) {
            header.push((*k).to_owned());
        }
    }
    let declared = declared.unwrap_or(header.len());
    let keys = header.clone();
    let rows = lines.filter_map(move |(row, line)| {
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                return Some(RawRow {
                    row,
                    sheet: 0,
                    cells: Err(("malformed", format!("unreadable line: {e}"))),
                    span: 1,
                })
            }
        };
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            return None;
        }
        let cells = match json_object(line) {
            Ok(JsonObject { twice: Some(k), .. }) => {
                Err(("malformed", format!("key `{k}` given twice")))
            }
            Ok(JsonObject { map: m, .. }) => Ok(keys
                .iter()
                .map(|k| json_path(&m, k).map(json_cell).unwrap_or_default())
                .map(Cow::Owned)
                .collect()),
            Err(e) => Err(("malformed", e)),
        };
        Some(RawRow {
            row,
            sheet: 0,
            cells,
            span: 1,
        })
    });
    Ok(OpenFile {
        header,
        declared,
        rows: Rows::Parsed(Box::new(rows)),
        sheets: vec![],
        unread_sheets: vec![],
    })
}

/// Writes the value of each region merged down several rows into the region's other rows,
/// in its first column, and returns the cells written. A register merges a petition's
/// number, date, address and content over the rows of its petitioners, and a two-row header
/// merges the names over its sub-headers; the spreadsheet shows the value on every row, but
/// stores it in the top cell only, which left the rows below without a number (quarantined).
/// A region merged across columns leaves the others empty: the value is the first column's.
fn fill_merged_down(range: &mut calamine::Range<Data>, merged: &[calamine::Dimensions]) -> usize {
    let (Some(start), Some(end)) = (range.start(), range.end()) else {
        return 0;
    };
    let mut filled = 0;
    for m in merged.iter().filter(|m| m.end.0 > m.start.0) {
        let col = m.start.1;
        if col < start.1 || col > end.1 {
            continue;
        }
        let value = match range.get_value(m.start) {
            Some(v) if !matches!(v, Data::Empty) => v.clone(),
            _ => continue,
        };
        for row in (m.start.0 + 1).max(start.0)..=m.end.0.min(end.0) {
            if range
                .get_value((row, col))
                .is_none_or(|c| matches!(c, Data::Empty))
            {
                range.set_value((row, col), value.clone());
                filled += 1;
            }
        }
    }
    filled
}

/// The rows (0-based in the sheet) of the regions merged down column `col` below the
/// header row `header` (a petition's number over the rows of its petitioners): the
/// region's height on its first row, 0 on the others. A row outside them spans itself
/// alone, and so does a row under a header cell merged down over it (a two-row header).
fn petition_spans(merged: &[calamine::Dimensions], col: u32, header: u32) -> HashMap<u32, u32> {
    let mut spans = HashMap::new();
    let petitions = merged
        .iter()
        .filter(|m| m.start.1 == col && m.start.0 > header && m.end.0 > m.start.0);
    for m in petitions {
        spans.insert(m.start.0, m.end.0 - m.start.0 + 1);
        spans.extend((m.start.0 + 1..=m.end.0).map(|r| (r, 0)));
    }
    spans
}

fn cell_string(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                f.to_string()
            }
        }
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        // Excel dates stay serial numbers: the datetime parser's `excel` format reads them.
        Data::DateTime(dt) => dt.as_f64().to_string(),
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#ERR {e:?}"),
    }
}

/// What a file that is not a workbook seems to be, as a hint for the error: web systems
/// often save an HTML table or plain text under an `.xls` name.
fn not_a_workbook_hint(path: &Path) -> &'static str {
    let mut head = [0u8; 1024];
    let n = File::open(path)
        .and_then(|mut f| read_full(&mut f, &mut head))
        .unwrap_or(0);
    let head = &head[..n];
    // Zip (XLSX, ODS) and OLE (XLS) containers: damaged, not disguised.
    if head.starts_with(b"PK") || head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) || n == 0 {
        return "";
    }
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    if ["<html", "<table", "<!doctype", "<?xml", "<meta"]
        .iter()
        .any(|t| text.contains(t))
    {
        "; it is an HTML or XML page saved under a workbook's name (as web systems export \
         'xls'): open it in Excel and save it as .xlsx, or export CSV"
    } else if !head.contains(&0) {
        "; it is a text file, perhaps CSV saved under a workbook's name: configure the source \
         as format = \"csv\""
    } else {
        ""
    }
}

/// Rows of a sheet searched for its header.
const HEADER_ROWS_SEARCHED: usize = 10;

fn open_xlsx(path: &Path, keys: &[&str], id_keys: &[&str]) -> Result<OpenFile> {
    let mut wb = open_workbook_auto(path).map_err(|e| {
        source_err(
            path,
            format!("not a readable workbook: {e}{}", not_a_workbook_hint(path)),
        )
    })?;
    let names = wb.sheet_names();
    if names.is_empty() {
        return Err(source_err(path, "workbook has no sheet"));
    }
    // The first sheet with any cell sets the header (an empty cover sheet before it is passed
    // over). Every later sheet with the same columns, in any order, is read too (a register
    // kept one sheet per month or year); one with other columns is named, not lost
    // unnoticed.
    let has_cells = |r: &[Data]| r.iter().any(|c| !matches!(c, Data::Empty));
    let mut header: Option<Vec<String>> = None;
    let (mut sheets, mut rows, mut unread_sheets) = (vec![], vec![], vec![]);
    for name in names {
        let mut range = match wb.worksheet_range(&name) {
            Ok(r) => r,
            Err(e) if header.is_none() => {
                return Err(source_err(path, format!("sheet {name}: {e}")))
            }
            Err(e) => {
                unread_sheets.push(format!("{name} (unreadable: {e})"));
                continue;
            }
        };
        // A workbook's merged cells read as the spreadsheet shows them (a sheet whose merged
        // cells cannot be read keeps its rows as stored).
        let merged = match &mut wb {
            Sheets::Xlsx(x) => x.merge_cells_by_sheet_name(&name).unwrap_or_default(),
            Sheets::Xls(x) => x.merge_cells_by_sheet_name(&name).unwrap_or_default(),
            _ => vec![],
        };
        let filled = fill_merged_down(&mut range, &merged);
        if filled > 0 {
            tracing::info!(file = %path.display(), sheet = %name, cells = filled, "merged cells filled down");
        }
        // The sheet's header: a register often opens with a title row (`2025年信访登记表`) and
        // a line of who filled it in and when above its header, so of its first rows with a
        // cell the header is the first naming the most columns the mapping reads; the first
        // row with a cell when none names any.
        let mut firsts: Vec<(usize, Vec<String>)> = (range.rows().enumerate())
            .filter(|(_, r)| has_cells(r))
            .take(HEADER_ROWS_SEARCHED)
            .map(|(i, r)| {
                (
                    i,
                    r.iter().map(|c| cell_string(c).trim().to_owned()).collect(),
                )
            })
            .collect();
        let Some((k, _)) = header_row(firsts.iter().map(|(_, c)| c.as_slice()), keys) else {
            continue; // an empty sheet
        };
        let (top, columns) = firsts.swap_remove(k);
        let it = range.rows().skip(top + 1);
        // Where each column of the file's header is in this sheet.
        let order: Option<Vec<Option<usize>>> = match &header {
            None => Some((0..columns.len()).map(Some).collect()),
            Some(h) => same_columns(h, &columns),
        };
        let Some(order) = order else {
            let n = it.filter(|r| has_cells(r)).count();
            unread_sheets.push(format!("{name} ({n} rows, other columns)"));
            continue;
        };
        let (first_row, first_col) = range.start().unwrap_or((0, 0));
        let header_row = first_row as usize + top;
        // The record id's column in the sheet, where its petitions may span several rows.
        let id_col = (columns.iter())
            .position(|c| !c.is_empty() && id_keys.iter().any(|k| super::same_name(c, k)))
            .map(|c| c as u32 + first_col);
        let spans = id_col.map_or_else(HashMap::new, |col| {
            petition_spans(&merged, col, header_row as u32)
        });
        let sheet = sheets.len() as u32;
        rows.extend(it.enumerate().filter(|(_, r)| has_cells(r)).map(|(i, r)| {
            RawRow {
                row: header_row + i + 2,
                span: spans
                    .get(&((header_row + i + 1) as u32))
                    .copied()
                    .unwrap_or(1),
                sheet,
                cells: Ok(order
                    .iter()
                    .map(|c| {
                        Cow::Owned(
                            c.and_then(|c| r.get(c))
                                .map(cell_string)
                                .unwrap_or_default(),
                        )
                    })
                    .collect()),
            }
        }));
        header.get_or_insert(columns);
        sheets.push(name);
    }
    let header = header.ok_or_else(|| source_err(path, "every sheet is empty"))?;
    if sheets.len() == 1 {
        sheets.clear();
    }
    Ok(OpenFile {
        declared: header.len(),
        header,
        rows: Rows::Parsed(Box::new(rows.into_iter())),
        sheets,
        unread_sheets,
    })
}

/// Where each column of `header` is in `names`, when both name the same non-blank columns
/// (in any order; blank header cells are ignored).
fn same_columns(header: &[String], names: &[String]) -> Option<Vec<Option<usize>>> {
    fn named(v: &[String]) -> Vec<&str> {
        let mut n: Vec<&str> = v
            .iter()
            .map(String::as_str)
            .filter(|h| !h.is_empty())
            .collect();
        n.sort_unstable();
        n
    }
    if named(header) != named(names) {
        return None;
    }
    // A repeated name (two 备注 columns) takes its occurrences in order.
    let mut taken = vec![false; names.len()];
    Some(
        header
            .iter()
            .map(|h| {
                let at = (!h.is_empty())
                    .then(|| (0..names.len()).find(|&i| !taken[i] && names[i] == *h))
                    .flatten()?;
                taken[at] = true;
                Some(at)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_damaged_characters_leave_utf8_text_utf8() {
        let text = "工单编号,来电时间,诉求地址,诉求内容\n\
            H001,2025-03-05 10:00:00,阳光花园3栋,电梯坏了一周无人维修，业主多次反映\n\
            H002,2025-03-05 11:00:00,幸福里5号,楼上漏水物业不处理，要求尽快解决\n\
            H003,2025-03-06 09:30:00,锦绣江南2期,小区门口占道经营噪音扰民\n";
        let utf8 = text.as_bytes().to_vec();
        assert_eq!(detect_encoding(&utf8), UTF_8);
        // A field a database cut mid-character (the last byte of 修 lost), and a stray byte.
        let mut damaged = utf8.clone();
        damaged.insert(text.find("漏水").unwrap(), 0xFF);
        damaged.remove(text.find("维修").unwrap() + "维修".len() - 1);
        assert_eq!(utf8_tally(&damaged).1, 2);
        assert_eq!(detect_encoding(&damaged), UTF_8);
        // A burst of stray bytes is one damaged spot.
        let mut burst = utf8.clone();
        burst.splice(40..40, [0xFF; 500]);
        assert_eq!(utf8_tally(&burst).1, 1);
        assert_eq!(detect_encoding(&burst), UTF_8);
        // The same text in GBK is GBK, damaged or not, and so is a sample cut mid-character.
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        assert_eq!(detect_encoding(&gbk), GB18030);
        let mut gbk_damaged = gbk.to_vec();
        gbk_damaged.insert(10, 0xFF);
        assert_eq!(detect_encoding(&gbk_damaged), GB18030);
        // A UTF-8 sample cut inside its last character is whole UTF-8.
        let cut = &utf8[..text.find("扰民").unwrap() + 1];
        assert_eq!(utf8_tally(cut).1, 0);
        assert_eq!(detect_encoding(cut), UTF_8);
        // Mostly damaged UTF-8 is not taken for UTF-8.
        let lossy: Vec<u8> = utf8.iter().flat_map(|&b| [b, 0xFF]).collect();
        assert_eq!(detect_encoding(&lossy), GB18030);
    }

    #[test]
    fn csv_rows_are_numbered_like_a_spreadsheet() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        for eol in ["\n", "\r\n", "\r"] {
            let text = ["a,b", "1,2", "\"x\ny\",3", "", "4,5,6", "7,8", ""].join(eol);
            std::fs::write(&p, text).unwrap();
            let f = open(&p, Format::Csv, Encoding::Utf8, b',', &[], &[], None).unwrap();
            let rows: Vec<(usize, bool)> =
                f.into_rows().map(|r| (r.row, r.cells.is_ok())).collect();
            assert_eq!(
                rows,
                vec![(2, true), (3, true), (6, false), (7, true)],
                "{eol:?}"
            );
        }
    }

    #[test]
    fn sheets_match_by_column_names_in_any_order() {
        let v = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let h = v(&["编号", "备注", "", "备注"]);
        assert_eq!(
            same_columns(&h, &v(&["备注", "编号", "备注"])),
            Some(vec![Some(1), Some(0), None, Some(2)])
        );
        assert_eq!(same_columns(&h, &v(&["编号", "备注"])), None);
        assert_eq!(
            same_columns(&h, &v(&["编号", "备注", "备注", "地址"])),
            None
        );
    }

    #[test]
    fn json_lines_end_in_lf_crlf_or_a_lone_cr() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        for eol in ["\n", "\r\n", "\r"] {
            let lines = [
                r#"{"id":"1","内容":"电梯坏了"}"#,
                r#"{"id":"2","内容":"第一行\r\n第二行"}"#,
                "",
                r#"{"id":"3""#,
                r#"{"id":"4","内容":"漏水"}"#,
            ];
            std::fs::write(&p, lines.join(eol)).unwrap();
            let f = open(&p, Format::Jsonl, Encoding::Utf8, b',', &[], &[], None).unwrap();
            assert_eq!(f.header, vec!["id", "内容"]);
            let rows: Vec<(usize, Option<Vec<String>>)> = f
                .into_rows()
                .map(|r| {
                    let cells = r
                        .cells
                        .ok()
                        .map(|c| c.iter().map(|v| v.to_string()).collect());
                    (r.row, cells)
                })
                .collect();
            let cells = |id: &str, text: &str| Some(vec![id.to_owned(), text.to_owned()]);
            assert_eq!(
                rows,
                vec![
                    (1, cells("1", "电梯坏了")),
                    // An escaped line break is text, not a line end.
                    (2, cells("2", "第一行\r\n第二行")),
                    (4, None),
                    (5, cells("4", "漏水")),
                ],
                "{eol:?}"
            );
        }
    }

    #[test]
    fn a_json_record_with_a_key_twice_or_no_object_is_malformed_and_not_quoted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        let lines = [
            r#"{"id":"G1","openid":"oX_1","内容":"电梯坏了"}"#,
            // `open` lost: the reporter's value under a second `id`.
            r#"{"id":"G2","id":"oX_2","内容":"漏水"}"#,
            r#""13812345678""#,
            "[1,2]",
            r#"{"id":"G3","#,
        ];
        std::fs::write(&p, lines.join("\n")).unwrap();
        let f = open(&p, Format::Jsonl, Encoding::Utf8, b',', &[], &[], None).unwrap();
        assert_eq!(f.header, vec!["id", "openid", "内容"]);
        let rows: Vec<_> = f.into_rows().map(|r| (r.row, r.cells)).collect();
        assert_eq!(rows.len(), 5);
        assert!(rows[0].1.is_ok());
        assert_eq!(
            rows[1].1,
            Err(("malformed", "key `id` given twice".to_owned()))
        );
        for (row, cells) in &rows[2..4] {
            assert_eq!(
                cells,
                &Err(("malformed", "not a JSON object".to_owned())),
                "{row}"
            );
        }
        assert!(matches!(&rows[4].1, Err(("malformed", e)) if e.starts_with("invalid JSON")));
    }

    #[test]
    fn json_numbers_keep_every_digit_they_were_written_with() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        let lines = [
            // Past u64 (a double would read 20250401000000000000), within u64, negative,
            // a decimal, nested, an escaped string, null, a boolean and an array.
            r#"{"id":20250401000000000001,"评分":4.50,"o":{"n":[1, 98765432109876543210]},"内容":"漏\"水\"","x":null,"b":true}"#,
            r#"{"id":1765432109876543210,"评分":-3,"o":{"n":[]},"内容":"a\u4e00","x":[1, 2]}"#,
        ];
        std::fs::write(&p, lines.join("\n")).unwrap();
        let keys = ["id", "评分", "o.n.1", "内容", "x", "b"];
        let cells = |p: &Path| -> Vec<Vec<String>> {
            let f = open(p, Format::Jsonl, Encoding::Utf8, b',', &keys, &[], None).unwrap();
            let order: Vec<usize> = keys
                .iter()
                .map(|k| f.header.iter().position(|h| h == k).unwrap())
                .collect();
            f.into_rows()
                .map(|r| {
                    let c = r.cells.unwrap();
                    order.iter().map(|&i| c[i].to_string()).collect()
                })
                .collect()
        };
        let want = vec![
            vec![
                "20250401000000000001",
                "4.50",
                "98765432109876543210",
                "漏\"水\"",
                "",
                "true",
            ],
            vec!["1765432109876543210", "-3", "", "a一", "[1, 2]", ""],
        ];
        assert_eq!(cells(&p), want);
        // The same records as one JSON array, pretty-printed over several lines.
        let q = dir.path().join("b.json");
        std::fs::write(&q, format!("[\n  {},\n  {}\n]\n", lines[0], lines[1])).unwrap();
        assert_eq!(cells(&q), want);
    }

    #[test]
    fn a_json_lines_file_whose_first_line_is_damaged_takes_its_header_from_the_next_object() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.jsonl");
        let open_asking_content =
            |p: &Path| open(p, Format::Jsonl, Encoding::Utf8, b',', &["内容"], &[], None).unwrap();
        let lines = [
            // Cut, and two records run together: both rows, quarantined as malformed.
            r#"{"id":"G1","openid":"oX_1","内"#,
            r#"{"id":"G2","内容":"漏水"}{"id":"G3"}"#,
            r#"{"id":"G4","openid":"oX_4","内容":"电梯坏了"}"#,
            r#"{"id":"G5","内容":"停水"}"#,
        ];
        std::fs::write(&p, lines.join("\n")).unwrap();
        let f = open_asking_content(&p);
        assert_eq!(f.header, vec!["id", "openid", "内容"]);
        let rows: Vec<_> = f.into_rows().map(|r| (r.row, r.cells)).collect();
        let malformed = |c: &std::result::Result<Vec<Cow<'_, str>>, (&str, String)>| {
            matches!(c, Err(("malformed", _)))
        };
        assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert!(malformed(&rows[0].1) && malformed(&rows[1].1));
        assert_eq!(rows[2].1.as_deref().unwrap(), ["G4", "oX_4", "电梯坏了"]);
        assert_eq!(rows[3].1.as_deref().unwrap(), ["G5", "", "停水"]);
        // A key of the first object damaged: the key asked for is declared by the next.
        std::fs::write(
            &p,
            "{\"id\":\"G1\",\"内\u{FFFD}\":\"x\"}\n{\"id\":\"G2\",\"内容\":\"漏水\"}\n",
        )
        .unwrap();
        let f = open_asking_content(&p);
        assert_eq!(f.header, vec!["id", "内\u{FFFD}", "内容"]);
        assert_eq!(f.declared, 3);
        // No object among the first ten lines: not JSON Lines at all.
        std::fs::write(&p, "编号,内容\n".repeat(12)).unwrap();
        let e = open(&p, Format::Jsonl, Encoding::Utf8, b',', &[], &[], None)
            .err()
            .unwrap();
        assert!(
            e.to_string()
                .contains("none of the first 10 lines is a JSON object"),
            "{e}"
        );
    }

    /// Rows read as blocks and the same rows parsed as one block agree, cells and line
    /// numbers, for a file of several blocks whose quoted fields
    /// hold line breaks, escaped quotes and commas, with stray quotes inside unquoted fields
    /// and at the start of cells (each costing its own row only),
    /// CRLF or CR-only line ends, short rows and blank lines.
    #[test]
    fn blocks_read_the_same_rows_as_one_stream() {
        let dir = tempfile::tempdir().unwrap();
        for (eol, gbk) in [("\n", false), ("\r\n", true), ("\r", false), ("\r", true)] {
            let mut text = format!("编号,内容,地址{eol}");
            for i in 0..30_000 {
                let row = match i % 7 {
                    0 => format!("{i},\"第{i}行\n电梯\"\"坏了\"\",仍未修, 已反映\",幸福里{eol}"),
                    1 => format!("{i},他说5\"屏幕坏了,和平路{i}号{eol}"),
                    2 => format!("{i},短行{eol}"),
                    3 => eol.to_owned(),
                    4 => format!("{i},\"\",\"{}\"{eol}", "长".repeat(i % 300)),
                    // A stray quote: it must cost this row only.
                    6 => format!("{i},\"他说电梯坏了,幸福里{i}号{eol}"),
                    _ => format!("{i},楼道堆放杂物，要求清理。,紫荆家园{i}号楼{eol}"),
                };
                text.push_str(&row);
            }
            text.push_str("last,无换行结尾,\"x\ny\"");
            let p = dir.path().join("a.csv");
            let bytes = if gbk {
                GB18030.encode(&text).0.into_owned()
            } else {
                text.into_bytes()
            };
            assert!(bytes.len() > 3 * BLOCK_BYTES);
            std::fs::write(&p, &bytes).unwrap();
            let enc = if gbk { Encoding::Gbk } else { Encoding::Utf8 };
            let blocks = open(&p, Format::Csv, enc, b',', &[], &[], None).unwrap();
            let Rows::Blocks(reader) = blocks.rows else {
                panic!("not read as blocks")
            };
            // Whole records per block, not the file as one block (a CR-only file has no `\n`).
            let sizes: Vec<usize> = reader.map(|b| b.bytes.len()).collect();
            assert!(sizes.len() > 3, "{eol:?}: {} blocks", sizes.len());
            assert!(sizes.iter().all(|&n| n < 2 * BLOCK_BYTES), "{eol:?}");
            let blocks = open(&p, Format::Csv, enc, b',', &[], &[], None).unwrap();
            assert_eq!(blocks.header, vec!["编号", "内容", "地址"]);
            let a: Vec<_> = blocks.into_rows().map(|r| (r.row, r.cells)).collect();
            // The same rows parsed as one block.
            let body = record_ends(&bytes, true, Layout::of(0, b',')).unwrap().0;
            let whole = Block {
                bytes: bytes[body..].to_vec(),
                first_line: 2,
                encoding: if gbk { GB18030 } else { UTF_8 },
                layout: Layout::of(3, b','),
                error: None,
            };
            let mut b = vec![];
            whole.for_each_row(|row, cells, problem, _| b.push((row, row_result(cells, problem))));
            assert_eq!(a.len(), b.len(), "{eol:?}");
            assert_eq!(a.len(), (0..30_000).filter(|i| i % 7 != 3).count() + 1);
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x, y, "{eol:?}");
            }
            let last = a.last().unwrap();
            assert_eq!(last.1.as_ref().unwrap()[2], "x\ny");
        }
    }

    /// The records of `text` as the `csv` crate reads them.
    fn csv_crate(text: &str) -> Vec<Vec<String>> {
        csv_crate_sep(text, b',')
    }

    fn csv_crate_sep(text: &str, sep: u8) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .delimiter(sep)
            .flexible(true)
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    /// The records of `text` (and where each starts) as [`Records`] reads them: like the
    /// `csv` crate without a layout.
    fn split(text: &str) -> Vec<(usize, Vec<String>)> {
        split_as(text, None)
    }

    fn split_as(text: &str, layout: Option<Layout>) -> Vec<(usize, Vec<String>)> {
        let mut records = Records {
            text,
            pos: 0,
            sep: layout.map_or(b',', |l| l.sep),
            layout,
        };
        let mut cells = vec![];
        let mut out = vec![];
        while let Some(start) = records.next_into(&mut cells) {
            out.push((start, cells.iter().map(|c| c.to_string()).collect()));
        }
        out
    }

    #[test]
    fn records_split_like_the_csv_crate() {
        for text in [
            "a,b\nc,d",
            "\n\r\n a , b ,\r\n\r\n",
            "\"x,\"\"y\"\"\nz\",2\r3,\"\"\n",
            "a\"b\"c,\"d\"e\"f\",\"g",
            ",\n,,\n\"\"",
            "工单,\"内容，\n第二行\"\r\n1,漏水",
        ] {
            let got: Vec<_> = split(text).into_iter().map(|r| r.1).collect();
            assert_eq!(got, csv_crate(text), "{text:?}");
        }
        // Record starts: after the blank lines, at the first byte of the record.
        let starts: Vec<_> = split("\r\na\n\nb,\"\n\"\nc").iter().map(|r| r.0).collect();
        assert_eq!(starts, vec![2, 5, 11]);
    }

    /// Up to 40 pieces of CSV text: cells, separators, quotes and every kind of line end.
    fn csv_pieces() -> impl proptest::strategy::Strategy<Value = Vec<&'static str>> {
        let piece = proptest::sample::select(vec![
            "a", "电梯", ",", "\"", "\r", "\n", "\r\n", " ", "\"\"",
        ]);
        proptest::collection::vec(piece, 0..40)
    }

    /// The pieces as text, their separators a tab when `tab` (a comma is then text).
    fn joined(parts: &[&str], tab: bool) -> (String, u8) {
        match tab {
            false => (parts.concat(), b','),
            true => (
                parts
                    .iter()
                    .map(|p| if *p == "," { "\t" } else { p })
                    .collect(),
                b'\t',
            ),
        }
    }

    proptest::proptest! {
        #[test]
        fn records_split_like_the_csv_crate_on_any_text(
            parts in csv_pieces(),
            tab in proptest::bool::ANY,
            commas in proptest::bool::ANY,
        ) {
            let (mut text, sep) = joined(&parts, tab);
            if tab && commas {
                text.push_str(",a,\"b,\"\t,"); // commas as text
            }
            let mut records = Records { text: &text, pos: 0, layout: None, sep };
            let mut cells = vec![];
            let mut got = vec![];
            while records.next_into(&mut cells).is_some() {
                got.push(cells.iter().map(|c| c.to_string()).collect::<Vec<_>>());
            }
            proptest::prop_assert_eq!(got, csv_crate_sep(&text, sep));
        }
    }

    proptest::proptest! {
        /// Cutting any prefix where `record_ends` says loses nothing: the records before and
        /// after the cut are the records of the whole text, and the line count is right.
        #[test]
        fn a_cut_at_a_record_end_splits_nothing(
            parts in csv_pieces(),
            prefix in proptest::prelude::any::<proptest::sample::Index>(),
            first_only in proptest::bool::ANY,
            width in 0usize..4,
            max_quoted_lines in 0usize..3,
            tab in proptest::bool::ANY,
        ) {
            let (text, sep) = joined(&parts, tab);
            let prefix = prefix.index(text.len() + 1);
            let layout = Layout { width, max_quoted_lines, sep };
            let split = |t: &str| split_as(t, Some(layout));
            if let Some((end, lines)) =
                record_ends(&text.as_bytes()[..prefix], first_only, layout)
            {
                proptest::prop_assert!(end <= prefix);
                let (before, after) = text.as_bytes().split_at(end);
                proptest::prop_assert_eq!(lines, line_breaks(before));
                proptest::prop_assert_eq!(
                    line_breaks(before) + line_breaks(after),
                    line_breaks(text.as_bytes())
                );
                let mut both: Vec<_> = split(&text[..end]).into_iter().map(|r| r.1).collect();
                both.extend(split(&text[end..]).into_iter().map(|r| r.1));
                let whole: Vec<_> = split(&text).into_iter().map(|r| r.1).collect();
                proptest::prop_assert_eq!(both, whole);
            }
        }
    }

    #[test]
    fn a_petition_merged_down_its_id_column_spans_its_rows() {
        let region = |r0: u32, r1: u32, c: u32| calamine::Dimensions {
            start: (r0, c),
            end: (r1, c),
        };
        // Header on row 1 (0-based): its id cell merged over a sub-header row 2 is no
        // petition; rows 3–5 are one, row 6 alone, rows 7–8 one; another column's regions
        // and a region across columns only are not the id's.
        let merged = [
            region(1, 2, 0),
            region(3, 5, 0),
            region(7, 8, 0),
            region(3, 4, 2),
            calamine::Dimensions {
                start: (6, 0),
                end: (6, 3),
            },
        ];
        let spans = petition_spans(&merged, 0, 1);
        let mut got: Vec<(u32, u32)> = spans.into_iter().collect();
        got.sort_unstable();
        assert_eq!(got, [(3, 3), (4, 0), (5, 0), (7, 2), (8, 0)]);
    }

    #[test]
    fn a_page_or_text_saved_as_a_workbook_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("工单导出.xls");
        for (bytes, says) in [
            (
                "<html><head><meta charset=\"gbk\"></head><table><tr><td>工单编号</td></tr></table>"
                    .as_bytes()
                    .to_vec(),
                Some("HTML or XML page"),
            ),
            ("工单编号,来电时间\nH1,2025-03-05\n".as_bytes().to_vec(), Some("format = \"csv\"")),
            (vec![0xD0, 0xCF, 0x11, 0xE0, 0, 1, 2, 3], None),
            (vec![0, 159, 146, 150, 0, 1], None),
        ] {
            std::fs::write(&p, &bytes).unwrap();
            let e = open(&p, Format::Xlsx, Encoding::Auto, b',', &[], &[], None).err().unwrap().to_string();
            assert!(e.contains("not a readable workbook"), "{e}");
            match says {
                Some(hint) => assert!(e.contains(hint), "{e}"),
                None => assert!(!e.contains("saved") && !e.contains("text file"), "{e}"),
            }
        }
    }

    #[test]
    fn line_breaks_count_lf_crlf_and_a_lone_cr_once_each() {
        assert_eq!(line_breaks(b"a\r\nb\nc\rd\r"), 4);
        assert_eq!(line_breaks(b"\r\r\n\n"), 3);
        assert_eq!(line_breaks("电梯坏了，没人修".as_bytes()), 0);
        assert_eq!(line_breaks(b""), 0);
    }

    /// A stray quote at a cell's start costs its own line, never the records after it; a
    /// quoted field across lines is kept when its record has the header's width.
    #[test]
    fn a_stray_quote_does_not_swallow_the_records_after_it() {
        let layout = Layout {
            width: 3,
            max_quoted_lines: 2,
            sep: b',',
        };
        let rows = |text: &str| -> Vec<(usize, Vec<String>)> { split_as(text, Some(layout)) };
        let cells = |r: &[&str]| r.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        // Never closed: the csv crate reads one record to the end of the text.
        let text = "1,\"电梯坏了,a\n2,漏水,b\r\n3,停水,c";
        assert_eq!(csv_crate(text).len(), 1);
        assert_eq!(
            rows(text),
            vec![
                (0, cells(&["1", "电梯坏了,a"])),
                (18, cells(&["2", "漏水", "b"])),
                (30, cells(&["3", "停水", "c"])),
            ]
        );
        // Closed by the opening quote of a later field: the records between survive.
        let text = "1,\"坏了,a\n2,漏水,b\n3,\"x,y\",c\n4,d,e\n";
        let got = rows(text);
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0].1, cells(&["1", "坏了,a"]));
        assert_eq!(got[2].1, cells(&["3", "x,y", "c"]));
        // A quoted line break in a record of the right width is one record...
        let text = "1,\"第一行\r\n第二行\",a\n2,b,c\n";
        assert_eq!(rows(text), csv_crate_with_starts(text));
        assert_eq!(rows(text)[0].1, cells(&["1", "第一行\r\n第二行", "a"]));
        // ...but not across more line breaks than a quoted field may hold.
        let text = "1,\"一\n二\",a\n2,b,c\n";
        assert_eq!(rows(text).len(), 2);
        let text = "1,\"一\n二\n三\n四\",a\n2,b,c\n";
        let got = rows(text);
        assert_eq!(got.len(), 5, "{got:?}");
        assert_eq!(got[0].1, cells(&["1", "一"]));
        assert_eq!(got[3].1, cells(&["四\"", "a"]));
        assert_eq!(got[4].1, cells(&["2", "b", "c"]));
        // Two stray quotes in the same column pair up into a record of the right width:
        // its first line and the lines after it each read as a whole record, so the first
        // quote is taken as stray and every row is read.
        let text = "1,\"坏了,a\n2,漏水,b\n3,又\"说,c\n4,d,e\n";
        let got = rows(text);
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0].1, cells(&["1", "坏了,a"]));
        assert_eq!(got[1].1, cells(&["2", "漏水", "b"]));
        assert_eq!(got[2].1, cells(&["3", "又\"说", "c"]));
        let text = "1,\"坏了,a\r\n3,又\"说,c\r\n";
        assert_eq!(rows(text).len(), 2, "{:?}", rows(text));
        // A field typed across lines, with a comma in its text, stays one record, and so
        // does one in the last column, whose first line alone has the header's width.
        for text in [
            "1,\"第一行,\n第二行\",a\n2,b,c\n",
            "1,a,\"第一行\r\n第二行\"\r\n2,b,c\r\n",
        ] {
            assert_eq!(rows(text), csv_crate_with_starts(text));
            assert_eq!(rows(text).len(), 2);
        }
        // The cuts agree: the blocks of a file hold the same records.
        for text in [
            "1,\"电梯坏了,a\n2,漏水,b\r\n3,停水,c\n",
            "1,\"坏了,a\n2,漏水,b\n3,\"x,y\",c\n",
            "1,\"坏了,a\n2,漏水,b\n3,又\"说,c\n",
        ] {
            let (end, _) = record_ends(text.as_bytes(), true, layout).unwrap();
            assert_eq!(&text[end..end + 2], "2,");
        }
    }

    fn csv_crate_with_starts(text: &str) -> Vec<(usize, Vec<String>)> {
        let starts = split(text).into_iter().map(|r| r.0);
        starts.zip(csv_crate(text)).collect()
    }

    #[test]
    fn record_ends_never_cut_inside_a_quoted_field() {
        // (buffer, last end, first end), an end being (index, line breaks before it)
        type End = Option<(usize, usize)>;
        let cases: [(&[u8], End, End); 9] = [
            (b"a,b\nc,d\ne", Some((8, 2)), Some((4, 1))),
            (b"a,\"b\nc\"\nd", Some((8, 2)), Some((8, 2))),
            // An unterminated quoted field: no end after its start.
            (b"a\n\"b\nc", Some((2, 1)), Some((2, 1))),
            // A quote at the buffer's end may be the first of an escaped pair.
            (b"a\n\"b\"", Some((2, 1)), Some((2, 1))),
            (b"a\n\"b\"\"\n\"\n", Some((9, 3)), Some((2, 1))),
            // A quote inside an unquoted field is a character.
            (b"a\"b\nc", Some((4, 1)), Some((4, 1))),
            // `\r\n` is one break; `\r` alone is one too, but not at the buffer's end.
            (b"a\r\nb\r\nc", Some((6, 2)), Some((3, 1))),
            (b"a\rb,\"c\rd\"\re\r", Some((10, 3)), Some((2, 1))),
            (b"a\r", None, None),
        ];
        for (buf, last, first) in cases {
            let name = String::from_utf8_lossy(buf);
            assert_eq!(record_ends(buf, false, Layout::of(0, b',')), last, "{name}");
            assert_eq!(record_ends(buf, true, Layout::of(0, b',')), first, "{name}");
        }
    }

    #[test]
    fn utf8_text_declared_gbk_is_an_error_but_ascii_and_gbk_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        let text = "工单编号,诉求内容\n1,小区电梯坏了三天没人修\n";
        let cases: [(Vec<u8>, bool); 4] = [
            (text.as_bytes().to_vec(), false),
            (GB18030.encode(text).0.into_owned(), true),
            (b"id,content\n1,lift\n".to_vec(), true),
            // A BOM says UTF-8 by itself.
            ([&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat(), true),
        ];
        for (bytes, ok) in cases {
            std::fs::write(&p, &bytes).unwrap();
            for format in [Format::Csv, Format::Jsonl] {
                let r = open(&p, format, Encoding::Gbk, b',', &[], &[], None);
                if format == Format::Jsonl {
                    // Not JSON either way; only the encoding error matters here.
                    let e = r.err().map(|e| e.to_string()).unwrap_or_default();
                    assert_eq!(e.contains("not GBK"), !ok, "{e}");
                    continue;
                }
                match r {
                    Ok(f) => assert!(ok, "read {:?}", f.header),
                    Err(e) => assert!(!ok && e.to_string().contains("UTF-8, not GBK"), "{e}"),
                }
            }
        }
    }

    #[test]
    fn excel_text_wrappers_read_as_their_text() {
        let cases = [
            (r#"="2025030500012345""#, Some("2025030500012345")),
            (r#"="""#, Some("")),
            (r#"="a""b""#, Some(r#"a"b"#)),
            (r#"="a"b""#, None),
            ("=SUM(A1)", None),
            ("2025030500012345", None),
            (r#""quoted""#, None),
            ("'13812345678", Some("13812345678")),
            ("'2025-03-05 10:00:00", Some("2025-03-05 10:00:00")),
            ("'0571-88000000", Some("0571-88000000")),
            ("'好的'", None),
            ("'s", None),
            ("'", None),
        ];
        for (cell, text) in cases {
            assert_eq!(super::excel_text(cell).as_deref(), text, "{cell}");
        }
        // Unquoted, and quoted with its quotes doubled, as exports write it.
        let text = "编号,号码\n=\"007\",\"=\"\"13812345678\"\"\"\n";
        let mut r = Records {
            text,
            pos: 0,
            layout: None,
            sep: b',',
        };
        let mut cells = vec![];
        r.next_into(&mut cells);
        r.next_into(&mut cells);
        assert_eq!(cells, ["007", "13812345678"]);
    }

    #[test]
    fn a_bom_is_dropped_and_utf16_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        let mut utf8 = vec![0xEF, 0xBB, 0xBF];
        utf8.extend_from_slice("工单,内容\n1,漏水\n".as_bytes());
        let mut gb = vec![0x84, 0x31, 0x95, 0x33];
        gb.extend_from_slice(&GB18030.encode("工单,内容\n1,漏水\n").0);
        let mut utf16 = vec![0xFF, 0xFE];
        for u in "工单,内容\n1,漏水\n".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        for (bytes, enc) in [
            (utf8, Encoding::Auto),
            (gb, Encoding::Gbk),
            (utf16, Encoding::Auto),
        ] {
            std::fs::write(&p, bytes).unwrap();
            let f = open(&p, Format::Csv, enc, b',', &[], &[], None).unwrap();
            assert_eq!(f.header, vec!["工单", "内容"]);
            let rows: Vec<_> = f.into_rows().map(|r| (r.row, r.cells.unwrap())).collect();
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].0, 2);
            assert_eq!(rows[0].1[1], "漏水");
        }
    }
}
