//! Streaming readers for the export formats: CSV (UTF-8 with or without BOM, GBK/GB18030,
//! detected when asked), JSON Lines, and XLSX (first sheet). Each yields the header and then
//! rows of strings with their 1-based row number in the file.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};
use encoding_rs::{GB18030, UTF_8};
use encoding_rs_io::DecodeReaderBytesBuilder;

use crate::config::{Encoding, Format};
use crate::{Error, Result};

/// One data row: its row number in the file and its cells (JSONL: values in header order).
#[derive(Debug, Clone)]
pub struct RawRow {
    /// 1-based line / row number in the file (the header is row 1 for CSV and XLSX).
    pub row: usize,
    /// Cells, or the problem of the row: its quarantine reason code (`column_count` or
    /// `malformed`) and a detail.
    pub cells: std::result::Result<csv::StringRecord, (&'static str, String)>,
}

/// A source file opened for reading.
pub struct OpenFile {
    /// Column names.
    pub header: Vec<String>,
    /// The rows.
    pub rows: Box<dyn Iterator<Item = RawRow> + Send>,
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

fn text_reader(path: &Path, enc: Encoding) -> Result<Box<dyn Read + Send>> {
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
    let chained = std::io::Cursor::new(head).chain(f);
    Ok(Box::new(
        DecodeReaderBytesBuilder::new()
            .encoding(Some(encoding))
            .bom_override(true)
            .build(chained),
    ))
}

fn read_full(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
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
    let rdr = text_reader(path, enc)?;
    let mut csv = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(rdr);
    let header: Vec<String> = csv
        .headers()
        .map_err(|e| source_err(path, format!("cannot read the header: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_owned())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(source_err(path, "empty file or no header row"));
    }
    let width = header.len();
    // The first record is on line 2; the csv crate reports line 1 there when the header
    // ends with CRLF (as Windows exports do), one less for every later line too.
    let offset = 2usize.saturating_sub(csv.position().line() as usize);
    let mut rec = csv::StringRecord::new();
    let mut row = 1usize;
    let rows = std::iter::from_fn(move || loop {
        match csv.read_record(&mut rec) {
            Ok(false) => return None,
            Ok(true) => {
                row = rec
                    .position()
                    .map(|p| p.line() as usize + offset)
                    .unwrap_or(row + 1);
                if rec.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                let cells = if rec.len() != width {
                    Err((
                        "column_count",
                        format!("{} columns, header has {width}", rec.len()),
                    ))
                } else {
                    Ok(rec.clone())
                };
                return Some(RawRow { row, cells });
            }
            Err(e) => {
                row += 1;
                let line = e
                    .position()
                    .map(|p| p.line() as usize + offset)
                    .unwrap_or(row);
                return Some(RawRow {
                    row: line,
                    cells: Err(("malformed", format!("unreadable row: {e}"))),
                });
            }
        }
    });
    Ok(OpenFile {
        header,
        rows: Box::new(rows),
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
                .collect::<csv::StringRecord>()),
            Ok(_) => Err(("malformed", "not a JSON object".to_owned())),
            Err(e) => Err(("malformed", format!("invalid JSON: {e}"))),
        };
        Some(RawRow { row, cells })
    });
    Ok(OpenFile {
        header,
        rows: Box::new(rows),
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
            cells: Ok(r.iter().map(cell_string).collect::<csv::StringRecord>()),
        })
        .collect();
    Ok(OpenFile {
        header,
        rows: Box::new(rows.into_iter()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_numbered_like_a_spreadsheet() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.csv");
        for eol in ["\n", "\r\n"] {
            let text = ["a,b", "1,2", "\"x\ny\",3", "4,5,6", ""].join(eol);
            std::fs::write(&p, text).unwrap();
            let f = open(&p, Format::Csv, Encoding::Utf8).unwrap();
            let rows: Vec<(usize, bool)> = f.rows.map(|r| (r.row, r.cells.is_ok())).collect();
            assert_eq!(rows, vec![(2, true), (3, true), (5, false)], "{eol:?}");
        }
    }
}
