//! Streaming readers for the export formats: CSV (UTF-8 with or without BOM, GBK/GB18030,
//! detected when asked), JSON Lines, and XLSX (first sheet). Each yields the header and then
//! rows of strings with their 1-based row number in the file.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};
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
    /// Cells, or the problem of the row: its quarantine reason code (`column_count` or
    /// `malformed`) and a detail.
    pub cells: std::result::Result<Vec<Cow<'static, str>>, (&'static str, String)>,
}

/// A source file opened for reading.
pub struct OpenFile {
    /// Column names.
    pub header: Vec<String>,
    /// The rows.
    pub rows: Rows,
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
    /// Every row in file order, parsed on this thread.
    pub fn into_rows(self) -> Box<dyn Iterator<Item = RawRow> + Send> {
        match self.rows {
            Rows::Parsed(rows) => rows,
            Rows::Blocks(blocks) => Box::new(blocks.flat_map(|b| {
                let mut rows = vec![];
                b.for_each_row(|row, cells| {
                    rows.push(RawRow {
                        row,
                        cells: cells.map(owned),
                    });
                });
                rows
            })),
        }
    }
}

/// Raw bytes read per CSV block (about 2,000 hotline rows).
const BLOCK_BYTES: usize = 512 * 1024;

/// A CSV file read as blocks of whole records, in file order.
pub struct CsvBlocks {
    input: Box<dyn Read + Send>,
    encoding: &'static encoding_rs::Encoding,
    /// Columns of the header.
    width: usize,
    /// Bytes read and not yet handed out; they begin at a record's start.
    carry: Vec<u8>,
    /// Line number of the carry's first byte.
    line: usize,
    eof: bool,
    /// A read error: the rows before it are handed out, then it ends the file.
    error: Option<String>,
}

/// Whole CSV records of a file, still in its encoding.
pub struct Block {
    bytes: Vec<u8>,
    /// Line number of the first byte.
    first_line: usize,
    encoding: &'static encoding_rs::Encoding,
    width: usize,
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

    /// Takes the first record (the header) off the carry.
    fn take_first_record(&mut self) -> Vec<u8> {
        loop {
            let end = match record_ends(&self.carry, true) {
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
            let cut = match record_ends(&self.carry, false) {
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
                width: self.width,
                error: if self.eof { self.error.take() } else { None },
            };
            self.line += cut.1;
            return Some(block);
        }
    }
}

/// The line breaks in `b`: `\n`, `\r\n`, and `\r` alone (old Mac exports), each counted
/// once. A `\r` at the end of `b` counts as a break: callers pass whole records, or text
/// that ends before a record's first byte, so it is never the first half of a `\r\n`.
fn line_breaks(b: &[u8]) -> usize {
    let lf = memchr::memchr_iter(b'\n', b).count();
    let cr = memchr::memchr_iter(b'\r', b)
        .filter(|&i| b.get(i + 1) != Some(&b'\n'))
        .count();
    lf + cr
}

/// The end (after its line break) of the last whole record in `buf`, or the first when
/// `first_only`, and the line breaks before it; `buf` begins at a record's start.
///
/// The bytes are read the way the `csv` crate reads them: a quote opens a quoted field only
/// at a field's start, `""` inside one is a quote, and line breaks inside one belong to it;
/// `\n`, `\r\n` and `\r` end a record. A `\r` at the end of `buf` ends nothing yet: the
/// next byte may be its `\n`.
fn record_ends(buf: &[u8], first_only: bool) -> Option<(usize, usize)> {
    let (mut i, mut lines) = (0, 0);
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
            _ if p == 0 || matches!(buf[p - 1], b',' | b'\n' | b'\r') => {
                // A quoted field: on to its closing quote.
                loop {
                    let Some(q) = memchr::memchr(b'"', &buf[i..]) else {
                        return last;
                    };
                    let q = i + q;
                    lines += line_breaks(&buf[i..q]);
                    i = q + 1;
                    match buf.get(i) {
                        Some(b'"') => i += 1,
                        // Cannot tell an escaped quote cut by the buffer's end from a close.
                        None => return last,
                        Some(_) => break,
                    }
                }
                continue;
            }
            _ => continue,
        }
        lines += 1;
        last = Some((i, lines));
        if first_only {
            return last;
        }
    }
    last
}

/// `bytes` as text (invalid sequences become U+FFFD); borrowed when valid UTF-8.
fn decode<'b>(encoding: &'static encoding_rs::Encoding, bytes: &'b [u8]) -> Cow<'b, str> {
    if encoding == UTF_8 {
        String::from_utf8_lossy(bytes)
    } else {
        encoding.decode_without_bom_handling(bytes).0
    }
}

impl Block {
    /// Decodes and parses the block, calling `f` with each row's line number and cells (or
    /// the problem of the row, as [`RawRow::cells`]); blank rows are skipped.
    pub fn for_each_row(
        &self,
        mut f: impl for<'c> FnMut(usize, std::result::Result<&'c Cells<'c>, (&'static str, String)>),
    ) {
        let text = decode(self.encoding, &self.bytes);
        let bytes = text.as_bytes();
        let mut records = Records {
            text: &text,
            pos: 0,
        };
        let mut cells = Vec::with_capacity(self.width);
        // The line of a record: the line breaks before its first byte.
        let (mut at, mut line) = (0usize, self.first_line);
        while let Some(start) = records.next_into(&mut cells) {
            line += line_breaks(&bytes[at..start]);
            at = start;
            if cells.iter().all(|c| c.trim().is_empty()) {
                continue;
            }
            if cells.len() == self.width {
                f(line, Ok(&cells));
            } else {
                f(
                    line,
                    Err((
                        "column_count",
                        format!("{} columns, header has {}", cells.len(), self.width),
                    )),
                );
            }
        }
        if let Some(e) = &self.error {
            line += line_breaks(&bytes[at..]);
            f(line, Err(("malformed", e.clone())));
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
/// one is built.
struct Records<'t> {
    text: &'t str,
    /// Where the next record (or the blank lines before it) begins.
    pos: usize,
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
        loop {
            let (cell, end) = self.field(self.pos);
            cells.push(cell);
            self.pos = (end + 1).min(b.len());
            if b.get(end) != Some(&b',') {
                return Some(start);
            }
        }
    }

    /// The field that starts at `at`, and the offset of the comma, line break or end of
    /// text that ends it.
    fn field(&self, at: usize) -> (Cow<'t, str>, usize) {
        let (text, b) = (self.text, self.text.as_bytes());
        let end_from =
            |i: usize| memchr::memchr3(b',', b'\r', b'\n', &b[i..]).map_or(b.len(), |k| i + k);
        if b.get(at) != Some(&b'"') {
            let end = end_from(at);
            return (Cow::Borrowed(&text[at..end]), end);
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
        (Cow::Owned(out), end)
    }
}

fn source_err(path: &Path, reason: impl Into<String>) -> Error {
    Error::Source {
        path: path.into(),
        reason: reason.into(),
    }
}

/// Detects the encoding of the first bytes: a BOM, valid UTF-8, else GB18030.
pub fn detect_encoding(head: &[u8]) -> &'static encoding_rs::Encoding {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        return UTF_8;
    }
    // A multi-byte character may be cut at the end of the sample.
    let cut = head.len().saturating_sub(4);
    match std::str::from_utf8(head) {
        Ok(_) => UTF_8,
        Err(e) if e.valid_up_to() >= cut && e.error_len().is_none() => UTF_8,
        Err(_) => GB18030,
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

fn read_full(f: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Opens a source file.
///
/// # Errors
/// Missing or unreadable file, undecodable text, not an XLSX, no header.
pub fn open(path: &Path, format: Format, enc: Encoding) -> Result<OpenFile> {
    match format {
        Format::Csv => open_csv(path, enc),
        Format::Jsonl => open_jsonl(path, enc),
        Format::Xlsx => open_xlsx(path),
    }
}

fn open_csv(path: &Path, enc: Encoding) -> Result<OpenFile> {
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
        width: 0,
        carry: head,
        line: 1,
        eof: false,
        error: None,
    };
    let first = blocks.take_first_record();
    let text = decode(encoding, &first);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut rec = csv::StringRecord::new();
    let header: Vec<String> = match rdr.read_record(&mut rec) {
        Ok(_) => rec
            .iter()
            .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
            .collect(),
        Err(e) => return Err(source_err(path, format!("cannot read the header: {e}"))),
    };
    if let Some(e) = blocks.error.take() {
        return Err(source_err(path, e));
    }
    if header.iter().all(String::is_empty) {
        return Err(source_err(path, "empty file or no header row"));
    }
    blocks.width = header.len();
    Ok(OpenFile {
        header,
        rows: Rows::Blocks(blocks),
    })
}

fn open_jsonl(path: &Path, enc: Encoding) -> Result<OpenFile> {
    let rdr = BufReader::new(text_reader(path, enc)?);
    let mut lines = rdr.lines().enumerate().peekable();
    // The header is the union of keys of the first object; later rows map by key.
    let mut header: Vec<String> = vec![];
    if let Some((_, Ok(first))) = lines.peek() {
        if let Ok(serde_json::Value::Object(m)) =
            serde_json::from_str::<serde_json::Value>(first.trim_start_matches('\u{feff}'))
        {
            header = m.keys().cloned().collect();
        }
    }
    if header.is_empty() {
        return Err(source_err(path, "the first line is not a JSON object"));
    }
    let keys = header.clone();
    let rows = lines.filter_map(move |(i, line)| {
        let row = i + 1;
        let line = match line {
            Ok(l) => l,
            Err(e) => {
                return Some(RawRow {
                    row,
                    cells: Err(("malformed", format!("unreadable line: {e}"))),
                })
            }
        };
        let line = line.trim().trim_start_matches('\u{feff}');
        if line.is_empty() {
            return None;
        }
        let cells = match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(m)) => Ok(keys
                .iter()
                .map(|k| match m.get(k) {
                    None | Some(serde_json::Value::Null) => String::new(),
                    Some(serde_json::Value::String(s)) => s.clone(),
                    Some(v) => v.to_string(),
                })
                .map(Cow::Owned)
                .collect()),
            Ok(_) => Err(("malformed", "not a JSON object".to_owned())),
            Err(e) => Err(("malformed", format!("invalid JSON: {e}"))),
        };
        Some(RawRow { row, cells })
    });
    Ok(OpenFile {
        header,
        rows: Rows::Parsed(Box::new(rows)),
    })
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

fn open_xlsx(path: &Path) -> Result<OpenFile> {
    let mut wb = open_workbook_auto(path)
        .map_err(|e| source_err(path, format!("not a readable workbook: {e}")))?;
    let sheet = wb
        .sheet_names()
        .first()
        .cloned()
        .ok_or_else(|| source_err(path, "workbook has no sheet"))?;
    let range = wb
        .worksheet_range(&sheet)
        .map_err(|e| source_err(path, format!("sheet {sheet}: {e}")))?;
    let mut it = range.rows();
    let header: Vec<String> = it
        .next()
        .ok_or_else(|| source_err(path, "empty sheet"))?
        .iter()
        .map(|c| cell_string(c).trim().to_owned())
        .collect();
    let start = range.start().map(|(r, _)| r as usize).unwrap_or(0);
    let rows: Vec<RawRow> = it
        .enumerate()
        .filter(|(_, r)| r.iter().any(|c| !matches!(c, Data::Empty)))
        .map(|(i, r)| RawRow {
            row: start + i + 2,
            cells: Ok(r.iter().map(|c| Cow::Owned(cell_string(c))).collect()),
        })
        .collect();
    Ok(OpenFile {
        header,
        rows: Rows::Parsed(Box::new(rows.into_iter())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_numbered_like_a_spreadsheet() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        for eol in ["\n", "\r\n", "\r"] {
            let text = ["a,b", "1,2", "\"x\ny\",3", "", "4,5,6", "7,8", ""].join(eol);
            std::fs::write(&p, text).unwrap();
            let f = open(&p, Format::Csv, Encoding::Utf8).unwrap();
            let rows: Vec<(usize, bool)> =
                f.into_rows().map(|r| (r.row, r.cells.is_ok())).collect();
            assert_eq!(
                rows,
                vec![(2, true), (3, true), (6, false), (7, true)],
                "{eol:?}"
            );
        }
    }

    /// Rows read as blocks and the same rows parsed as one block agree, cells and line
    /// numbers, for a file of several blocks whose quoted fields
    /// hold line breaks, escaped quotes and commas, with stray quotes inside unquoted fields,
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
            let blocks = open(&p, Format::Csv, enc).unwrap();
            let Rows::Blocks(reader) = blocks.rows else {
                panic!("not read as blocks")
            };
            // Whole records per block, not the file as one block (a CR-only file has no `\n`).
            let sizes: Vec<usize> = reader.map(|b| b.bytes.len()).collect();
            assert!(sizes.len() > 3, "{eol:?}: {} blocks", sizes.len());
            assert!(sizes.iter().all(|&n| n < 2 * BLOCK_BYTES), "{eol:?}");
            let blocks = open(&p, Format::Csv, enc).unwrap();
            assert_eq!(blocks.header, vec!["编号", "内容", "地址"]);
            let a: Vec<_> = blocks.into_rows().map(|r| (r.row, r.cells)).collect();
            // The same rows parsed as one block.
            let body = record_ends(&bytes, true).unwrap().0;
            let whole = Block {
                bytes: bytes[body..].to_vec(),
                first_line: 2,
                encoding: if gbk { GB18030 } else { UTF_8 },
                width: 3,
                error: None,
            };
            let mut b = vec![];
            whole.for_each_row(|row, cells| b.push((row, cells.map(owned))));
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
        csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect()
    }

    fn split(text: &str) -> Vec<(usize, Vec<String>)> {
        let mut records = Records { text, pos: 0 };
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

    proptest::proptest! {
        #[test]
        fn records_split_like_the_csv_crate_on_any_text(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("a"), proptest::strategy::Just("电梯"),
                    proptest::strategy::Just(","), proptest::strategy::Just("\""),
                    proptest::strategy::Just("\r"), proptest::strategy::Just("\n"),
                    proptest::strategy::Just(" "), proptest::strategy::Just("\"\""),
                ],
                0..40,
            )
        ) {
            let text = parts.concat();
            let got: Vec<_> = split(&text).into_iter().map(|r| r.1).collect();
            proptest::prop_assert_eq!(got, csv_crate(&text));
        }
    }

    proptest::proptest! {
        /// Cutting any prefix where `record_ends` says loses nothing: the records before and
        /// after the cut are the records of the whole text, and the line count is right.
        #[test]
        fn a_cut_at_a_record_end_splits_nothing(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::strategy::Just("a"), proptest::strategy::Just("电梯"),
                    proptest::strategy::Just(","), proptest::strategy::Just("\""),
                    proptest::strategy::Just("\r"), proptest::strategy::Just("\n"),
                    proptest::strategy::Just("\r\n"), proptest::strategy::Just("\"\""),
                ],
                0..40,
            ),
            prefix in proptest::prelude::any::<proptest::sample::Index>(),
            first_only in proptest::bool::ANY,
        ) {
            let text = parts.concat();
            let prefix = prefix.index(text.len() + 1);
            if let Some((end, lines)) = record_ends(&text.as_bytes()[..prefix], first_only) {
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
            assert_eq!(record_ends(buf, false), last, "{name}");
            assert_eq!(record_ends(buf, true), first, "{name}");
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
                let r = open(&p, format, Encoding::Gbk);
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
            let f = open(&p, Format::Csv, enc).unwrap();
            assert_eq!(f.header, vec!["工单", "内容"]);
            let rows: Vec<_> = f.into_rows().map(|r| (r.row, r.cells.unwrap())).collect();
            assert_eq!(rows.len(), 1);
            assert_eq!(rows[0].0, 2);
            assert_eq!(rows[0].1[1], "漏水");
        }
    }
}
