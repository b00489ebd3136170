//! Ingest: exports → canonical records → the lake, with quarantine, de-duplication and row
//! accounting (rows read = loaded + quarantined + duplicates, per file).
//!
//! A later export of a ticket (processed later: files are taken in name order, which for
//! dated exports is time order) replaces the earlier version; an identical re-export is a
//! duplicate. Unchanged files are skipped by content hash.

pub mod datetime;
pub mod header;
mod placed;
pub mod preview;
pub mod readers;
mod remask;
pub mod rounded;
pub mod shape;

pub use datetime::DateFormats;

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow::array::RecordBatch;
use chrono::{Duration, NaiveDate};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tracing::{debug, info, instrument, warn};

use crate::config::{Channel, Config, Source};
use crate::error::IoContext;
use crate::lake;
use crate::names::{mask_own_names, reporter_names, Names, NAME_MASK};
use crate::normalize::{
    mask_pii, masked, normalize_text, normalized, normalized_free_text, spreadsheet_shortened,
};
use crate::privacy::Pseudonymizer;
use crate::record::{interleave_records, Columns, RecordBuilder, RecordRef, Str};
use crate::registry::{MatchMethod, Place, Registry, Taxonomy};
use crate::Result;
use readers::Cells;

/// Row accounting and timing for one source file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FileStats {
    /// Source name.
    pub source: String,
    /// File path.
    pub file: String,
    /// BLAKE3 of the file (`b3sum`).
    pub blake3: String,
    /// Skipped because unchanged since the last ingest.
    pub skipped_unchanged: bool,
    /// Read again although unchanged, because what its records depend on changed since it
    /// was ingested (the registry, the taxonomy, the mapping, the key): why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_again: Option<String>,
    /// Of a file read again, the records that changed the lake: a new compound, category
    /// or pseudonym for a record it held, or a record it lacked (a row quarantined before).
    /// Its other counts are those of any reading (its rows loaded, then found in the lake
    /// or replaced by a later export's version of the same ticket).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub changed: u64,
    /// Data rows read.
    pub rows: u64,
    /// Rows loaded (new or updated records).
    pub loaded: u64,
    /// Of the loaded, how many replaced an earlier version.
    pub updated: u64,
    /// Rows sent to quarantine.
    pub quarantined: u64,
    /// Rows identical to a record already loaded.
    pub duplicates: u64,
    /// Loaded rows resolved to a compound, by method.
    pub match_methods: BTreeMap<String, u64>,
    /// Quarantined rows by reason.
    pub quarantine_reasons: BTreeMap<String, u64>,
    /// A file that could not be read at all, or whose header lacks a column every row needs.
    pub error: Option<String>,
    /// Mapped fields none of whose columns the header has, as `field (column, …)`: those
    /// fields are empty in every row of the file (a renamed column, usually).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_columns: Vec<String>,
    /// How a damaged or missing header line was read against the source's previous header
    /// (see [`header`]): `第N列 "name" as 来电时间` for a damaged name, or the first line read
    /// as a record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub header_repairs: Vec<String>,
    /// Sheets of a workbook with rows that were not read (their columns differ from the
    /// first sheet's), as `name (N rows, …)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread_sheets: Vec<String>,
    /// Rows read whose text holds U+FFFD: bytes the encoding could not decode (a damaged
    /// export, or the wrong encoding). They are loaded or quarantined like any row, with
    /// the character replaced.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub undecodable_rows: u64,
    /// The first of them, as `row N, column C`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undecodable_first: Option<String>,
    /// Rows loaded without a pseudonym because their reporter is a number a spreadsheet
    /// shortened (`1.38123E+10`: a phone number opened in Excel and saved again). Its lost
    /// digits would give every household shortened alike one pseudonym, and so false repeat
    /// callers.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub shortened_reporters: u64,
    /// The first of them, as `row N` (of a sheet: `row N of 登记.xlsx#2025年`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shortened_reporter_first: Option<String>,
    /// Rows loaded with a personal name masked in their content or address (`[姓名]`: see
    /// [`crate::names`]), for the privacy officer's audit and to check a district's
    /// `ingest.name_cues`.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub names_masked: u64,
    /// Rows loaded into a month far from the rest of their file's (see [`far_months`]): a
    /// year mistyped (`2015-03-05` in an export of March 2025) puts a record in a partition
    /// no recent week reads.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub far_dates: u64,
    /// The first of them, as `row N (2015-03; the file's records are 2025-02…2025-03)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub far_date_first: Option<String>,
    /// Rows loaded whose ticket was dispatched, closed or due before it was received (by
    /// more than an hour: `CLOCK_SKEW_MS`) — a mistyped time or year, or a ticket closed
    /// before it was logged (an audit's `先办结后受理`) — or dispatched a year after it, to
    /// two days (`YEAR_SLIP`: the receipt's year mistyped at New Year). Loaded as exported:
    /// which time is wrong the row does not say.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub out_of_order: u64,
    /// The first of them, as `row N (closed_at 3 days before received_at)` or `row N
    /// (dispatched_at 365 days after received_at)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_of_order_first: Option<String>,
    /// Seconds spent.
    pub seconds: f64,
    /// Rows mapped per month received, with the first one's row (for [`FileStats::far_dates`]).
    #[serde(skip)]
    pub months: BTreeMap<(i32, u32), (u64, i64)>,
    /// Loaded rows left without a compound, by address without its building tail: rows and
    /// whether ambiguous (gathered into [`IngestSummary::unmatched`]).
    #[serde(skip)]
    pub unmatched: HashMap<Box<str>, (u64, bool)>,
    /// Loaded rows whose category label the taxonomy does not know, by label (gathered into
    /// [`IngestSummary::unknown_categories`]).
    #[serde(skip)]
    pub unknown_categories: HashMap<Box<str>, u64>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl FileStats {
    /// Share of loaded rows with a compound.
    pub fn match_rate(&self) -> f64 {
        let resolved: u64 = self
            .match_methods
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "unresolved" | "ambiguous"))
            .map(|(_, v)| v)
            .sum();
        let total: u64 = self.match_methods.values().sum();
        if total == 0 {
            0.0
        } else {
            resolved as f64 / total as f64
        }
    }
}

/// The result of one ingest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IngestSummary {
    /// Run id.
    pub run: String,
    /// Per file.
    pub files: Vec<FileStats>,
    /// Partitions written.
    pub partitions_written: Vec<String>,
    /// Quarantine file written, if any row was quarantined.
    pub quarantine_file: Option<String>,
    /// The addresses (without their building) most often left without a compound in the
    /// rows this run read, most rows first: where a registry alias, or an export's own
    /// street, community or grid column mapped in the config, would resolve the most.
    #[serde(default)]
    pub unmatched: Vec<UnmatchedAddress>,
    /// The quarantine's most frequent problems this run (the same reason and detail in at
    /// least two rows), most rows first: a value the config's maps lack, a datetime layout
    /// no format reads, a column count — what one config change fixes for many rows.
    #[serde(default)]
    pub frequent_problems: Vec<FrequentProblem>,
    /// The category labels the taxonomy does not know, most rows first (two rows or more):
    /// an export's own names for categories, to add as aliases in the taxonomy (meanwhile
    /// the text classifier fills those rows' categories).
    #[serde(default)]
    pub unknown_categories: Vec<UnknownCategory>,
    /// When files were read again: per channel, the lake's records whose export is no
    /// longer in its source's folder (archived), which keep the reading they were loaded
    /// with (their earlier compound, category, pseudonym); none when there are none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub kept_earlier_reading: BTreeMap<String, u64>,
    /// Records whose version loaded this run was received in another month than the one
    /// the lake held (a time corrected across a month's end, a datetime format changed):
    /// the earlier version was removed from its month's partition (counted as updates).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub moved_month: u64,
    /// Records removed from the lake because a file read again now quarantines the rows
    /// they were made from as bad records ([`WITHDRAWING`]; counted in those files'
    /// [`FileStats::changed`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub withdrawn_quarantined: u64,
    /// Lake records whose texts were masked again because the masking grew (a new code, or
    /// `ingest.name_cues`): records of exports no longer read, loaded with an earlier masking.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub remasked: u64,
    /// Quarantined rows of earlier runs whose cells were masked again alike.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub remasked_quarantined: u64,
}

/// A category label the taxonomy lacks, as [`IngestSummary::unknown_categories`] lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnknownCategory {
    /// The label (identifiers masked).
    pub label: String,
    /// Rows read this run with it (a row found already in the lake included).
    pub rows: u64,
}

/// The unknown category labels of `files`, most rows first (two or more), at most
/// [`UNMATCHED_LISTED`].
fn unknown_categories(files: &mut [FileStats], names: &Names) -> Vec<UnknownCategory> {
    let mut all: HashMap<Box<str>, u64> = HashMap::new();
    for f in files {
        for (label, rows) in std::mem::take(&mut f.unknown_categories) {
            *all.entry(label).or_default() += rows;
        }
    }
    let mut all: Vec<(Box<str>, u64)> = (all.into_iter()).filter(|(_, n)| *n >= 2).collect();
    all.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    (all.into_iter().take(UNMATCHED_LISTED))
        .map(|(label, rows)| UnknownCategory {
            label: listed_label(&label, names),
            rows,
        })
        .collect()
}

/// An unknown category label as listed: identifiers masked, and `[姓名]` for a label that
/// is a person's name (a reporter's name moved into the category column).
pub(crate) fn listed_label(label: &str, names: &Names) -> String {
    match names.is_a_name(label) {
        true => NAME_MASK.to_owned(),
        false => mask_pii(label),
    }
}

/// The longest label [`IngestSummary::unknown_categories`] lists.
const LABEL_CHARS: usize = 20;

/// A problem shared by quarantined rows, as [`IngestSummary::frequent_problems`] lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FrequentProblem {
    /// Source name.
    pub source: String,
    /// Reason code.
    pub reason: String,
    /// The field at fault, if one.
    pub field: Option<String>,
    /// The detail, redacted as in the quarantine.
    pub detail: String,
    /// Rows with it.
    pub rows: u64,
    /// The first of them: file and row.
    pub first: String,
}

/// How many problems [`IngestSummary::frequent_problems`] keeps.
const PROBLEMS_LISTED: usize = 20;

/// The quarantine's problems shared by at least two rows, most rows first.
fn frequent_problems(quarantine: &[QuarantineRow]) -> Vec<FrequentProblem> {
    let mut by: HashMap<(&str, &str, &str), (u64, &QuarantineRow)> = HashMap::new();
    for q in quarantine {
        by.entry((&q.source, &q.reason, &q.detail))
            .or_insert((0, q))
            .0 += 1;
    }
    let mut out: Vec<FrequentProblem> = (by.into_values())
        .filter(|(n, _)| *n >= 2)
        .map(|(rows, q)| FrequentProblem {
            source: q.source.clone(),
            reason: q.reason.clone(),
            field: q.field.clone(),
            detail: q.detail.clone(),
            rows,
            first: format!("{} row {}", q.file, q.row),
        })
        .collect();
    out.sort_by(|a, b| (b.rows, &a.first).cmp(&(a.rows, &b.first)));
    out.truncate(PROBLEMS_LISTED);
    out
}

/// An address left without a compound, as [`IngestSummary::unmatched`] lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnmatchedAddress {
    /// The address without its building tail (identifiers masked, as in the lake).
    pub address: String,
    /// `ambiguous` (several compounds fit) or `unresolved` (none does).
    pub method: String,
    /// Rows read this run with it (a row found already in the lake included).
    pub rows: u64,
    /// For an ambiguous one, the compounds it fits; for an unresolved one, those whose names
    /// are closest to it (below the fuzzy threshold, at least [`NEAREST_LISTED`]): `id name
    /// (street)`.
    pub candidates: Vec<String>,
    /// For an unresolved one with `candidates`, how close their names are (0–1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity: Option<f64>,
}

/// How many addresses [`IngestSummary::unmatched`] keeps.
const UNMATCHED_LISTED: usize = 30;

/// The least similarity of a name to an unresolved address for it to be listed as the
/// nearest: half its characters, below which a name says nothing of the address.
pub const NEAREST_LISTED: f64 = 0.5;

impl IngestSummary {
    /// Whether any file failed to read.
    pub fn has_errors(&self) -> bool {
        self.files.iter().any(|f| f.error.is_some())
    }
}

/// A quarantined row, with its fields redacted.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QuarantineRow {
    /// Source name.
    pub source: String,
    /// File.
    pub file: String,
    /// Row number in the file.
    pub row: usize,
    /// Reason code: bad_date, column_count, empty_record, future_date, malformed (a line
    /// that is not valid CSV or JSON), missing_id, past_date, shifted_cells (see [`shape`]),
    /// shortened_number (an id a spreadsheet wrote as `2.02403E+12`), test_ticket,
    /// unknown_value.
    pub reason: String,
    /// The field at fault, if one.
    pub field: Option<String>,
    /// Human-readable detail.
    pub detail: String,
    /// The row's cells by column name (`第N列` beyond the header), identifiers masked and
    /// the reporter's cell replaced by `[已脱敏]` (with every cell it may have shifted to,
    /// in a row of the wrong width).
    pub fields: BTreeMap<String, String>,
    /// The record id the row's source id makes, when it has one and the file is read
    /// again: the record an earlier reading made of the row is found by it (with its file
    /// and row). Never written.
    #[serde(skip)]
    pub(crate) record_id: Option<String>,
}

struct Reject {
    reason: &'static str,
    field: Option<&'static str>,
    detail: String,
}

fn reject(reason: &'static str, field: Option<&'static str>, detail: impl Into<String>) -> Reject {
    Reject {
        reason,
        field,
        detail: detail.into(),
    }
}

/// Everything the mapping of one row needs.
pub struct Context<'a> {
    /// Registry.
    pub registry: &'a Registry,
    /// Taxonomy.
    pub taxonomy: &'a Taxonomy,
    /// Pseudonymiser.
    pub keys: &'a Pseudonymizer,
    /// Run date: later records beyond the tolerance are quarantined.
    pub as_of: NaiveDate,
    /// Settings.
    pub config: &'a Config,
    /// Run id.
    pub run: String,
    /// The cues of personal names in texts (`ingest.name_cues` with the built-in ones).
    pub names: std::sync::Arc<Names>,
}

impl<'a> Context<'a> {
    /// A run's context; its names are masked by the district's cues (`ingest.name_cues`),
    /// knowing its places and its taxonomy's terms ([`Names::with_places`],
    /// [`Names::with_terms`]).
    pub fn new(
        config: &'a Config,
        registry: &'a Registry,
        taxonomy: &'a Taxonomy,
        keys: &'a Pseudonymizer,
        as_of: NaiveDate,
        run: String,
    ) -> Context<'a> {
        let names = Names::new(&config.ingest.name_cues)
            .with_places(registry.place_names())
            .with_terms(taxonomy.terms());
        Context {
            registry,
            taxonomy,
            keys,
            as_of,
            config,
            run,
            names: std::sync::Arc::new(names),
        }
    }

    /// The day from whose start a record is in the future: `as_of` + the tolerance + 1.
    fn future_limit(&self) -> NaiveDate {
        self.as_of + Duration::days(self.config.ingest.future_tolerance_days + 1)
    }

    /// [`Context::future_limit`] as epoch ms.
    fn future_limit_ms(&self) -> i64 {
        self.future_limit()
            .and_hms_opt(0, 0, 0)
            .and_then(|n| datetime::local_to_ms(&n))
            .unwrap_or(i64::MAX)
    }
}

/// Column positions of the canonical fields in one file's header.
struct Mapping {
    /// Column of each canonical field, in `MAPPABLE_FIELDS` order.
    cols: Vec<Option<usize>>,
    /// [`Context::names`].
    names: std::sync::Arc<Names>,
    reporter: Option<usize>,
    /// Whether the source maps a reporter column (found in the header or not).
    has_reporter: bool,
    /// What the file's reporters look like, learned from its first rows (CSV only: cells
    /// move a column only in a damaged CSV line).
    shift: std::sync::OnceLock<shape::ShiftCheck>,
    /// Which of the file's long numbers a spreadsheet rounded, learned from its first rows.
    rounded: std::sync::OnceLock<rounded::Rounded>,
    /// The source's datetime formats, compiled.
    dates: DateFormats,
    /// Records received from this epoch ms on are in the future.
    future_ms: i64,
    /// Records received before this epoch ms are too old ([`IngestSettings::earliest`]).
    ///
    /// [`IngestSettings::earliest`]: crate::config::IngestSettings::earliest
    past_ms: i64,
    /// Searchers for the test-ticket markers, built once.
    test_markers: Vec<memchr::memmem::Finder<'static>>,
    /// The source's value map of each field of [`VALUE_MAPPED`], in its order, as a list
    /// searched in place: a map holds a handful of values, and a sorted map of maps
    /// compared strings at every level, for five fields of every row.
    ///
    /// [`VALUE_MAPPED`]: crate::config::VALUE_MAPPED
    values: Vec<Option<Vec<(String, String)>>>,
}

/// Position of a field in [`crate::config::VALUE_MAPPED`], for `const` use.
const fn value_field(name: &str) -> usize {
    let fields = crate::config::VALUE_MAPPED;
    let mut i = 0;
    while i < fields.len() {
        if same_str(fields[i].0, name) {
            return i;
        }
        i += 1;
    }
    panic!("not a value-mapped field")
}

/// Whether two strings are equal, for `const` use.
const fn same_str(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut j = 0;
    while j < a.len() {
        if a[j] != b[j] {
            return false;
        }
        j += 1;
    }
    true
}

/// Position of a canonical field in `MAPPABLE_FIELDS`, for `const` use: a misspelt field
/// name is a compile error.
const fn field(name: &str) -> usize {
    let fields = crate::config::MAPPABLE_FIELDS;
    let mut i = 0;
    while i < fields.len() {
        if same_str(fields[i], name) {
            return i;
        }
        i += 1;
    }
    panic!("not a canonical field")
}

/// Whether an export's column name is a configured one: equal once both are normalised
/// (full-width forms, a stray U+FEFF or zero-width character) and without whitespace (a
/// workbook header wrapped onto two lines, `登记\n日期`), as systems that write the same
/// header differently do.
pub(crate) fn same_name(header: &str, configured: &str) -> bool {
    let bare = |s: &str| normalized(s).replace(' ', "");
    bare(header) == bare(configured)
}

/// Reads `opened`'s header against the source's previous one (`previous`, see [`header`])
/// when it lacks a configured column: its damaged names as the previous header's, or its
/// first line as a record when it names no configured column and is a record of that
/// layout; failing that (and for a source's first file), its names with an undecodable
/// character as the configured names they are close to
/// ([`header::repaired_by_configuration`]). What was read so, as the summary shows it.
pub(crate) fn read_against_previous_header(
    src: &Source,
    opened: &mut readers::OpenFile,
    previous: Option<&Vec<String>>,
) -> Vec<String> {
    let (required, optional) = missing_columns(src, &opened.header);
    let row_width = opened.first_row_width();
    let narrower_rows =
        previous.is_some_and(|p| row_width == Some(p.len()) && opened.header.len() != p.len());
    if required.is_empty() && optional.is_empty() && !narrower_rows {
        return vec![];
    }
    if let (Some(cells), Some(previous)) = (opened.unnamed_header(), previous) {
        let dates = DateFormats::new(&datetime_formats(src));
        if header::a_record_of(src, cells, previous, &dates) {
            opened.read_header_line_as_record(previous.clone());
            return vec![header::no_header_line(previous)];
        }
    }
    let by_previous = previous.and_then(|p| header::repaired(src, &opened.header, p, row_width));
    let Some(repair) =
        by_previous.or_else(|| header::repaired_by_configuration(src, &opened.header))
    else {
        return vec![];
    };
    opened.read_with_header(repair.header);
    (repair.renamed.into_iter())
        .map(|r| {
            let was = (r.was.iter())
                .map(|w| masked(normalized_free_text(w)).into_owned())
                .collect();
            header::Renamed { was, ..r }.to_string()
        })
        .collect()
}

/// The mapped fields the header has no column for: the first list those every row needs
/// (`source_id`, `received_at`, and `content` or `category`), the second the others. Each is
/// written `field (column, …)`.
fn missing_columns(src: &Source, header: &[String]) -> (Vec<String>, Vec<String>) {
    let absent = |f: &str| {
        src.columns
            .get(f)
            .filter(|names| !names.iter().any(|n| header.iter().any(|h| same_name(h, n))))
            .map(|names| format!("{f} ({})", names.join(", ")))
    };
    let (mut required, mut optional) = (vec![], vec![]);
    for f in src.columns.keys() {
        let Some(m) = absent(f) else { continue };
        match f.as_str() {
            "source_id" | "received_at" => required.push(m),
            "content" | "category" => {
                let other = if f == "content" {
                    "category"
                } else {
                    "content"
                };
                let other_found = src.columns.contains_key(other) && absent(other).is_none();
                if other_found {
                    optional.push(m);
                } else {
                    required.push(m);
                }
            }
            _ => optional.push(m),
        }
    }
    (required, optional)
}

/// The datetime formats a source's cells are tried in: the configured ones, and for a workbook
/// `excel` last if they lack it (a workbook's date cells are read as Excel serial days, so
/// without it every typed date would be quarantined as a bad date).
fn datetime_formats(src: &Source) -> Vec<String> {
    let mut formats = src.datetime_formats.clone();
    if src.format == crate::config::Format::Xlsx && !formats.iter().any(|f| f == "excel") {
        formats.push("excel".to_owned());
    }
    formats
}

impl Mapping {
    fn new(src: &Source, header: &[String], ctx: &Context<'_>) -> Mapping {
        let cols: Vec<Option<usize>> = crate::config::MAPPABLE_FIELDS
            .iter()
            .map(|&f| {
                src.columns
                    .get(f)?
                    .iter()
                    .find_map(|n| header.iter().position(|h| same_name(h, n)))
            })
            .collect();
        let reporter = cols[const { field("reporter") }];
        Mapping {
            cols,
            names: ctx.names.clone(),
            reporter,
            has_reporter: src.columns.contains_key("reporter"),
            shift: std::sync::OnceLock::new(),
            rounded: std::sync::OnceLock::new(),
            dates: DateFormats::new(&datetime_formats(src)),
            future_ms: ctx.future_limit_ms(),
            past_ms: (ctx.config.ingest.earliest.and_hms_opt(0, 0, 0))
                .and_then(|n| datetime::local_to_ms(&n))
                .unwrap_or(i64::MIN),
            test_markers: (ctx.config.ingest.test_markers.iter())
                .map(|t| memchr::memmem::Finder::new(t.as_bytes()).into_owned())
                .collect(),
            values: (crate::config::VALUE_MAPPED.iter())
                .map(|(f, _)| {
                    let map = src.values.get(*f)?;
                    Some(map.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                })
                .collect(),
        }
    }

    /// The canonical value of `raw` (normalised) in the source's value map of the field at
    /// `f` in `VALUE_MAPPED` (see [`value_field`]); `None` for a blank cell, an error for a
    /// value the map lacks or a field without a map.
    fn mapped(&self, f: usize, raw: &str) -> std::result::Result<Option<&str>, Reject> {
        let field = crate::config::VALUE_MAPPED.get(f).map_or("", |v| v.0);
        let raw = normalized(raw);
        if raw.is_empty() {
            return Ok(None);
        }
        match self.values.get(f).and_then(Option::as_ref) {
            Some(map) => match map.iter().find(|(k, _)| *k == *raw) {
                Some((_, v)) => Ok(Some(v.as_str())),
                None => Err(reject(
                    "unknown_value",
                    Some(field),
                    format!("value `{raw}` is not in values.{field}"),
                )),
            },
            None => Err(reject(
                "unknown_value",
                Some(field),
                format!("no value map for `{field}` (value `{raw}`)"),
            )),
        }
    }

    /// A yes/no cell: the usual words, else the source's value map of the field at `f` in
    /// `VALUE_MAPPED`; `None` when blank.
    fn flag(&self, f: usize, raw: &str) -> std::result::Result<Option<bool>, Reject> {
        let n = normalized(raw);
        let is = |words: &[&str]| words.iter().any(|w| n.eq_ignore_ascii_case(w));
        if n.is_empty() {
            Ok(None)
        } else if is(&["true", "1", "yes", "y", "是"]) {
            Ok(Some(true))
        } else if is(&["false", "0", "no", "n", "否"]) {
            Ok(Some(false))
        } else {
            Ok(self.mapped(f, raw)?.map(|v| v == "true"))
        }
    }

    /// The free-text field (written to the lake) a suspect row's reporter has moved into,
    /// if one: see [`shape`].
    fn moved_into_text(&self, cells: &Cells<'_>) -> Option<&'static str> {
        // Empty (no allocation) unless the row is suspect.
        let moved: Vec<usize> = self.shift.get()?.moved(cells).collect();
        [
            const { field("address") },
            const { field("compound") },
            const { field("building") },
            const { field("content") },
        ]
        .into_iter()
        .find(|&f| self.cols[f].is_some_and(|c| moved.contains(&c)))
        .map(|f| crate::config::MAPPABLE_FIELDS[f])
    }

    /// The file's reporter shape when a quarantined row's reporter-shaped cells are to be
    /// hidden (see [`shape::ShiftCheck::unsure`]).
    fn unsure(&self, cells: &Cells<'_>) -> Option<&shape::ShiftCheck> {
        self.shift.get().filter(|c| c.unsure(cells))
    }

    /// The cell of the canonical field at `f` (see [`field`]), "" when unmapped. Not
    /// trimmed: every cell goes through [`normalized`], which trims.
    fn get<'c>(&self, cells: &'c Cells<'_>, f: usize) -> &'c str {
        self.cols[f]
            .and_then(|i| cells.get(i))
            .map_or("", |s| s.as_ref())
    }
}

fn optional_time(
    dates: &DateFormats,
    field: &'static str,
    raw: &str,
) -> std::result::Result<Option<i64>, Reject> {
    if raw.trim().is_empty() {
        return Ok(None);
    }
    dates.parse(raw).map(Some).ok_or_else(|| {
        reject(
            "bad_date",
            Some(field),
            format!(
                "cannot parse `{}` with the configured formats",
                normalize_text(raw)
            ),
        )
    })
}

/// Maps one export row into `out`, or says why it is rejected (then `out` is unchanged).
fn map_row(
    ctx: &Context<'_>,
    src: &Source,
    m: &Mapping,
    cells: &Cells<'_>,
    file: &str,
    (row, span): (usize, u32),
    out: &mut RecordBuilder,
) -> std::result::Result<Loaded, Reject> {
    if let Some(f) = m.moved_into_text(cells) {
        return Err(reject(
            "shifted_cells",
            Some(f),
            format!(
                "the {f} looks like this file's reporters and the reporter's cell does not: the \
                 row's cells moved a column (a comma typed in a cell and a cell left out?)"
            ),
        ));
    }
    let sid = normalized(m.get(cells, const { field("source_id") }));
    if sid.is_empty() {
        return Err(reject("missing_id", Some("source_id"), "no source id"));
    }
    if spreadsheet_shortened(&sid) {
        return Err(reject(
            "shortened_number",
            Some("source_id"),
            format!(
                "`{sid}` is a number a spreadsheet shortened: the ticket cannot be told from \
                 others shortened alike (export the column as text, or do not save the export \
                 from Excel)"
            ),
        ));
    }
    if m.rounded.get().is_some_and(|r| r.id(&sid)) {
        return Err(reject(
            "shortened_number",
            Some("source_id"),
            match rounded::by_spreadsheet(&sid) {
                true => format!(
                    "`{sid}` ends in zeros past the fifteenth digit, as do all of this file's \
                     long ticket numbers, and they repeat: a spreadsheet rounded them to \
                     fifteen digits (a column formatted as a number), folding tickets into one \
                     (export the column as text, or do not save the export from Excel)"
                ),
                false => format!(
                    "`{sid}` is a floating-point number as written, as are all of this file's \
                     long ticket numbers, and they repeat: the exporting program held them as \
                     doubles (JavaScript numbers), which past 2^53 round to the nearest, folding \
                     tickets into one (export the ids as strings)"
                ),
            },
        ));
    }
    let raw_time = m.get(cells, const { field("received_at") });
    let received_at = m.dates.parse(raw_time).ok_or_else(|| {
        reject(
            "bad_date",
            Some("received_at"),
            format!("cannot parse `{}`", normalized(raw_time)),
        )
    })?;
    if received_at >= m.future_ms {
        return Err(reject(
            "future_date",
            Some("received_at"),
            format!(
                "received after {} (run date {} + tolerance)",
                ctx.future_limit(),
                ctx.as_of
            ),
        ));
    }
    if received_at < m.past_ms {
        return Err(reject(
            "past_date",
            Some("received_at"),
            format!(
                "received before {} (ingest.earliest)",
                ctx.config.ingest.earliest
            ),
        ));
    }
    let reporter = m.reporter.and_then(|i| cells.get(i));
    // The reporter's own names (a petition register's 信访人) wherever the texts quote them.
    let reporter_text = reporter.filter(|v| !v.is_ascii()).map(|v| normalized(v));
    let own = (reporter_text.as_deref()).map_or_else(Vec::new, reporter_names);
    let content = mask_own_names(
        m.names.mask_text(normalized_free_text(
            m.get(cells, const { field("content") }),
        )),
        &own,
    );
    let label = normalized(m.get(cells, const { field("category") }));
    if content.is_empty() && label.is_empty() {
        return Err(reject(
            "empty_record",
            Some("content"),
            "no content and no category",
        ));
    }
    if m.test_markers
        .iter()
        .any(|t| t.find(content.as_bytes()).is_some())
    {
        return Err(reject(
            "test_ticket",
            Some("content"),
            "test ticket marker in content",
        ));
    }
    let address = mask_own_names(
        m.names.mask_text(normalized_free_text(
            m.get(cells, const { field("address") }),
        )),
        &own,
    );
    // Only a text masking changed can hold a mask it made (or one the export had).
    let names_masked = [&content, &address]
        .iter()
        .any(|t| matches!(t, std::borrow::Cow::Owned(s) if s.contains(crate::names::NAME_MASK)));
    let typed = normalized(m.get(cells, const { field("compound") }));
    let building = normalized(m.get(cells, const { field("building") }));
    // What the export says of the place (its own street, community and grid columns), to
    // choose among compounds that share a name the address gives without its street.
    let place = Place {
        street: m.get(cells, const { field("street") }),
        community: m.get(cells, const { field("community") }),
        grid: m.get(cells, const { field("grid") }),
    };
    let mut res = ctx.registry.resolve_in(&typed, &place);
    let mut unmatched = None;
    if res.compound.is_none() {
        let full: std::borrow::Cow<'_, str> = if typed.is_empty() && building.is_empty() {
            address.as_ref().into()
        } else {
            format!("{address}{typed}{building}").into()
        };
        let r2 = ctx.registry.resolve_in(&full, &place);
        if r2.compound.is_some() || res.method != MatchMethod::Ambiguous {
            res = r2;
        }
        if res.compound.is_none() {
            // The typed compound and building are not masked with the address: mask all.
            let stem = m
                .names
                .mask_text(crate::normalize::address_stem(&full).into());
            unmatched = Some(mask_own_names(stem, &own).into());
        }
    }
    // Read last, when the line has arrived: the rest of the row is mapped meanwhile.
    if let Some(c) = res.compound {
        ctx.registry.prefetch_labels(c);
    }
    let cat = ctx.taxonomy.lookup(&label);
    // A label the taxonomy lacks; longer text in the category column is no category (cells
    // moved), and is not listed.
    let unknown_category =
        (cat.is_none() && !label.is_empty() && label.chars().count() <= LABEL_CHARS)
            .then(|| label.as_ref().into());
    let status = m
        .mapped(
            const { value_field("status") },
            m.get(cells, const { field("status") }),
        )?
        .unwrap_or("open");
    let mut satisfaction = m.mapped(
        const { value_field("satisfaction") },
        m.get(cells, const { field("satisfaction") }),
    )?;
    if satisfaction.is_none() {
        let r = normalized(m.get(cells, const { field("rating") }));
        if !r.is_empty() {
            let v: f64 = r.parse().map_err(|_| {
                reject(
                    "unknown_value",
                    Some("rating"),
                    format!("rating `{r}` is not a number"),
                )
            })?;
            if !(1.0..=5.0).contains(&v) {
                return Err(reject(
                    "unknown_value",
                    Some("rating"),
                    format!("rating {v} outside 1–5"),
                ));
            }
            satisfaction = Some(if v >= 4.0 {
                "satisfied"
            } else if v >= 3.0 {
                "basic"
            } else {
                "dissatisfied"
            });
        }
    }
    let participants = {
        let p = normalized(m.get(cells, const { field("participants") }));
        if p.is_empty() {
            // A register that puts each petitioner on a row of the petition counts them so.
            (span > 1).then_some(i64::from(span))
        } else {
            Some(p.trim_end_matches('人').parse::<i64>().map_err(|_| {
                reject(
                    "unknown_value",
                    Some("participants"),
                    format!("`{p}` is not a number"),
                )
            })?)
        }
    };
    let is_collective = m
        .flag(
            const { value_field("is_collective") },
            m.get(cells, const { field("is_collective") }),
        )?
        .unwrap_or(participants.is_some_and(|p| p >= ctx.config.ingest.collective_threshold));
    let petition_level = m.mapped(
        const { value_field("petition_level") },
        m.get(cells, const { field("petition_level") }),
    )?;
    let skip_level = m
        .flag(
            const { value_field("skip_level") },
            m.get(cells, const { field("skip_level") }),
        )?
        .unwrap_or(false);
    let repeat_flag = m
        .flag(
            const { value_field("repeat_flag") },
            m.get(cells, const { field("repeat_flag") }),
        )?
        .unwrap_or(false);
    let record_id = record_id(src.channel, &sid);
    // A number a spreadsheet shortened (or rounded: see [`rounded`]) would give every
    // household it shortened alike one pseudonym (false repeat callers): no pseudonym, and
    // counted. A spreadsheet writes it in ASCII, so the cell is only trimmed here; the
    // pseudonym normalises it, once.
    let shortened_reporter = reporter.is_some_and(|v| {
        let v = v.trim();
        spreadsheet_shortened(v) || m.rounded.get().is_some_and(|r| r.reporter(v))
    });
    let reporter_key = reporter
        .filter(|_| !shortened_reporter)
        .and_then(|v| ctx.keys.key(v));
    let dispatched_at = optional_time(
        &m.dates,
        "dispatched_at",
        m.get(cells, const { field("dispatched_at") }),
    )?;
    let due_at = optional_time(&m.dates, "due_at", m.get(cells, const { field("due_at") }))?;
    let closed_at = optional_time(
        &m.dates,
        "closed_at",
        m.get(cells, const { field("closed_at") }),
    )?;
    let out_of_order = [
        ("dispatched_at", dispatched_at),
        ("closed_at", closed_at),
        ("due_at", due_at),
    ]
    .into_iter()
    .find_map(|(f, t)| {
        t.map(|t| (f, received_at - t))
            .filter(|&(_, early)| early > CLOCK_SKEW_MS)
    })
    .or_else(|| {
        dispatched_at
            .map(|t| ("dispatched_at", received_at - t))
            .filter(|&(_, early)| YEAR_SLIP.contains(&-early))
    });
    let comp = res.compound.map(|i| ctx.registry.labels(i));
    let r = RecordRef {
        record_id: &record_id,
        received_at,
        compound_id: comp.map(|c| c.id),
        match_method: res.method.as_str(),
        match_score: res.score,
        street: comp.map(|c| c.street),
        community: comp.map(|c| c.community),
        grid: comp.map(|c| c.grid),
        address: if address.is_empty() { &typed } else { &address },
        content: &content,
        category_l1: cat.map(|c| c.l1.as_str()),
        category_l2: cat.map(|c| c.l2.as_str()),
        category_source: if cat.is_some() { "given" } else { "none" },
        reporter_key: reporter_key.as_deref(),
        participants,
        is_collective,
        petition_level,
        skip_level,
        dispatched_at,
        due_at,
        closed_at,
        status,
        satisfaction: satisfaction.unwrap_or("none"),
        repeat_flag,
        source_file: file,
        source_row: row as i64,
        ingest_run: &ctx.run,
    };
    let hash = r.content_hash();
    out.append(&r);
    Ok(Loaded {
        id: record_id,
        hash,
        method: res.method,
        unmatched,
        unknown_category,
        month: month_parts(received_at),
        row: (out.len() - 1) as u32,
        shortened_reporter,
        names_masked,
        out_of_order,
    })
}

/// How far a ticket's later time (dispatched, closed, due) may precede its receipt before
/// the row counts as out of order ([`FileStats::out_of_order`]): the clocks of the phone
/// and ticket systems differ, and a minute-resolution export (`2024/3/5 14:22`) cuts the
/// seconds a later time kept.
pub(crate) const CLOCK_SKEW_MS: i64 = HOUR_MS;

/// How long after its receipt a dispatch says the receipt's year was mistyped (a year, to
/// two days either way: `2024-01-03` received, `2025-01-03` dispatched): a ticket waits
/// hours or days for dispatch, never a year to the day.
const YEAR_SLIP: std::ops::RangeInclusive<i64> = 363 * DAY_MS..=368 * DAY_MS;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// `row N (closed_at 3 days before received_at)`, or `… after …` for a time `early_ms`
/// after the receipt (negative).
fn out_of_order_at(at: String, (field, early_ms): (&str, i64)) -> String {
    let side = if early_ms < 0 { "after" } else { "before" };
    let early_ms = early_ms.abs();
    let by = match (early_ms / DAY_MS, early_ms / HOUR_MS) {
        (0, 1) => "1 hour".to_owned(),
        (0, h) => format!("{h} hours"),
        (1, _) => "1 day".to_owned(),
        (d, _) => format!("{d} days"),
    };
    format!("{at} ({field} {by} {side} received_at)")
}

/// A source's file opened with its format, encoding, delimiter and mapped columns.
pub(crate) fn open_source(src: &Source, path: &Path) -> Result<readers::OpenFile> {
    let keys: Vec<&str> = (src.columns.values().flatten())
        .map(String::as_str)
        .collect();
    let delimiter = u8::try_from(src.delimiter).unwrap_or(b',');
    let id_keys: Vec<&str> = (src.columns.get("source_id").into_iter().flatten())
        .map(String::as_str)
        .collect();
    let header = src.header.as_deref();
    readers::open(
        path,
        src.format,
        src.encoding,
        delimiter,
        &keys,
        &id_keys,
        header,
    )
}

/// Months a file's records are at most this far from one holding many of them.
const NEAR_MONTHS: i32 = 12;

/// The rows of a file received in months far from the rest of its records, and the first
/// one, from its rows per month (`months`: rows, first row). A month is far when it holds
/// few of the file's rows (at most 1 %, or one) and lies more than [`NEAR_MONTHS`] from
/// every month holding more: an export covers a period, and an old ticket updated since may
/// join it, but one received ten years before the rest is a mistyped year. Learned from the
/// file itself, so a first load of several years (every month holding many) is not flagged,
/// and a file whose months all hold few says nothing.
fn far_months(months: &BTreeMap<(i32, u32), (u64, i64)>) -> (u64, Option<String>) {
    let total: u64 = months.values().map(|(n, _)| n).sum();
    let few = (total / 100).max(1);
    let index = |&(y, m): &(i32, u32)| y * 12 + m as i32;
    let many: Vec<i32> = (months.iter())
        .filter(|(_, (n, _))| *n > few)
        .map(|(ym, _)| index(ym))
        .collect();
    let (Some(lo), Some(hi)) = (many.iter().min(), many.iter().max()) else {
        return (0, None);
    };
    let label = |i: i32| {
        format!(
            "{}-{:02}",
            (i - 1).div_euclid(12),
            (i - 1).rem_euclid(12) + 1
        )
    };
    // (month index, rows, first row)
    let far: Vec<(i32, u64, i64)> = (months.iter())
        .map(|(ym, &(n, row))| (index(ym), n, row))
        .filter(|&(i, n, _)| n <= few && many.iter().all(|&m| (m - i).abs() > NEAR_MONTHS))
        .collect();
    let rows = far.iter().map(|(_, n, _)| n).sum();
    let first = (far.iter())
        .min_by_key(|(.., row)| *row)
        .map(|&(i, _, row)| {
            let span = match lo == hi {
                true => label(*lo),
                false => format!("{}…{}", label(*lo), label(*hi)),
            };
            format!(
                "row {row} ({}; most of the file's records are {span})",
                label(i)
            )
        });
    (rows, first)
}

/// The record id of source id `sid` (normalised) of `channel`: `hotline:H001`. Pushed, not
/// formatted: `format_compact!` went through `fmt::write` (1 % of an ingest).
fn record_id(channel: Channel, sid: &str) -> Str {
    let channel = channel.as_str();
    let mut id = Str::with_capacity(channel.len() + 1 + sid.len());
    id.push_str(channel);
    id.push(':');
    id.push_str(sid);
    id
}

/// Learns from a file's first rows (`each` gives them to the counters) which of its long
/// numbers a spreadsheet rounded (see [`rounded`]) and, when `shapes` (CSV), what its
/// reporters look like (see [`shape`]), with the source's earlier files (`history`) when
/// they hold too few reporters. Keeps the checks the rows support in `m`, and returns the
/// file's own shape counts, for the history.
fn learn_file(
    m: &Mapping,
    header: &[String],
    history: Option<&shape::ShapeHistory>,
    shapes: bool,
    each: impl FnOnce(&mut dyn FnMut(&Cells<'_>)),
) -> Option<shape::ShapeCounter> {
    let mut counter = (m.reporter)
        .filter(|_| shapes)
        .map(|r| shape::ShapeCounter::new(header.len(), r));
    let mut rounded = rounded::RoundedCounter::default();
    each(&mut |cells| {
        if let Some(c) = &mut counter {
            c.add(cells);
        }
        let id = normalized(m.get(cells, const { field("source_id") }));
        let reporter = m.reporter.and_then(|i| cells.get(i));
        rounded.add(id.trim(), reporter.map(|v| v.trim()));
    });
    let _ = m.rounded.set(rounded.finish());
    let mut counter = counter?;
    let own = counter.clone();
    if let Some(h) = history.filter(|_| counter.too_few_reporters()) {
        counter.add_history(header, h);
    }
    if let Some(check) = counter.finish() {
        let _ = m.shift.set(check);
    }
    Some(own)
}

/// The error of a file whose header lacks a column every row needs (`required`): what it
/// has (unless it names no configured column: then it may be a record, not repeated), the
/// workbook's other sheets, and the delimiter to set when the header reads as one column
/// holding another separator.
pub(crate) fn header_error(
    src: &Source,
    path: &Path,
    opened: &readers::OpenFile,
    required: &[String],
) -> String {
    let configured =
        (src.columns.values().flatten()).any(|n| opened.header.iter().any(|h| same_name(h, n)));
    let has = match configured {
        true => format!("it has: {}", shown_header(&opened.header).join(", ")),
        false => format!(
            "none of its {} columns is a configured one (not listed: the line may be a record)",
            opened.header.len()
        ),
    };
    let mut e = format!(
        "{}: the header has no column for {}; {has}. Check the source's columns and its encoding",
        path.display(),
        required.join("; "),
    );
    if !configured && src.format == crate::config::Format::Csv && src.header.is_none() {
        e.push_str(" (an export without a header line needs the source's `header`)");
    }
    if !opened.unread_sheets.is_empty() {
        let others = opened.unread_sheets.join(", ");
        e.push_str(&format!(" (the workbook's other sheets: {others})"));
    }
    if let ([only], crate::config::Format::Csv) = (opened.header.as_slice(), src.format) {
        if let Some(sep) = ['\t', ';', '|'].into_iter().find(|c| only.contains(*c)) {
            e.push_str(&format!(
                " (the header looks separated by {sep:?}: set `delimiter = {:?}` for the source)",
                sep.to_string()
            ));
        }
    }
    e
}

/// The name of column `i` (0-based): the header's, or `第N列` for a cell beyond it.
fn column_name(header: &[String], i: usize) -> std::borrow::Cow<'_, str> {
    match header.get(i) {
        Some(h) => h.as_str().into(),
        None => format!("第{}列", i + 1).into(),
    }
}

/// The header's names as errors and the quarantine show them: masked like a cell, since a
/// damaged export's header line may hold a record's cells (a line break lost between them).
fn shown_header(header: &[String]) -> Vec<String> {
    (header.iter())
        .map(|h| masked(normalized_free_text(h)).into_owned())
        .collect()
}

/// The cells of a row the reporter's identity may be in: its column's, and those it may
/// have moved to in a row with more cells than the header (a separator typed in a cell moves
/// it right by the difference) or fewer (left).
fn reporter_cells(header_len: usize, cells_len: usize, reporter: usize) -> std::ops::Range<usize> {
    match cells_len.checked_sub(header_len) {
        Some(more) => reporter..reporter + more + 1,
        None => reporter.saturating_sub(header_len - cells_len)..reporter + 1,
    }
}

/// Whether the source maps a reporter column the header lacks (renamed, or a damaged header
/// line): its rows' identities may then be in any cell.
fn reporter_lost(m: &Mapping) -> bool {
    m.has_reporter && m.reporter.is_none()
}

/// A quarantined row's cells by column name, as the quarantine shows them: identifiers
/// masked, the reporter's cells hidden, and so are the header's columns no field maps (a
/// contact's name, a nested user object: they explain no rejection). A row whose reporter
/// cells are blank (a damaged JSON key can move the value under another name) has its cells
/// beyond the header hidden too, and a file whose header lacks the reporter's column has
/// every cell hidden: the identity may be in any of them. A row whose reporter may have
/// moved a column (see [`shape`]), or of another width, has every cell shaped like the
/// file's reporters hidden.
fn redacted(header: &[String], cells: &Cells<'_>, m: &Mapping) -> BTreeMap<String, String> {
    if cells.is_empty() {
        return BTreeMap::new(); // a record that is not valid CSV or JSON: no cells
    }
    let lost = reporter_lost(m);
    let window = (m.reporter).map(|r| reporter_cells(header.len(), cells.len(), r));
    let is_reporter = |i: usize| window.as_ref().is_some_and(|w| w.contains(&i));
    let blank = |i: usize| cells.get(i).is_none_or(|c| c.trim().is_empty());
    let identity_found = window.clone().is_some_and(|mut w| w.any(|i| !blank(i)));
    let hide_beyond = m.has_reporter && !identity_found;
    let unmapped = |i: usize| !m.cols.contains(&Some(i)) && (i < header.len() || hide_beyond);
    // A row whose reporter may have moved, or of another width: every cell shaped like the
    // file's reporters.
    let moved = m.unsure(cells);
    // The reporter's names wherever another cell quotes them.
    let reporter_text = (window.clone().into_iter().flatten())
        .filter_map(|i| cells.get(i))
        .map(|v| normalized(v).into_owned())
        .collect::<Vec<_>>()
        .join("、");
    let own = reporter_names(&reporter_text);
    let mut fields = BTreeMap::new();
    for i in 0..header.len().max(cells.len()) {
        let v = cells.get(i).map_or("", |c| c.as_ref());
        let hidden =
            lost || is_reporter(i) || unmapped(i) || moved.is_some_and(|c| c.like_reporter(v));
        let v = if hidden && !blank(i) {
            "[已脱敏]".to_owned()
        } else if m.names.is_a_name(v) {
            // A name alone in a cell (moved into the category, say).
            NAME_MASK.to_owned()
        } else {
            let v = m.names.mask_text(normalized_free_text(v));
            mask_own_names(v, &own).into_owned()
        };
        // Two columns of one name (two 备注) keep both cells: the later named by its place.
        let name = column_name(header, i);
        let key = match fields.contains_key(name.as_ref()) {
            false => name.into_owned(),
            true => format!("{name}（第{}列）", i + 1),
        };
        fields.insert(key, v);
    }
    fields
}

/// A rejection's detail as the quarantine shows it: a cell it quotes masked like a cell, and
/// the reporter's own cells (which may have moved into the field quoted) hidden, with every
/// cell shaped like a reporter in a row whose reporter may have moved; when the
/// header lacks the reporter's column, all it quotes (between its first and last backtick)
/// hidden.
fn redacted_detail(detail: String, header_len: usize, cells: &Cells<'_>, m: &Mapping) -> String {
    if reporter_lost(m) {
        // From the first backtick to the last: a quoted value may hold backticks itself.
        if let (Some(a), Some(b)) = (detail.find('`'), detail.rfind('`')) {
            if a < b {
                return format!("{}`[已脱敏]`{}", &detail[..a], &detail[b + 1..]);
            }
        }
    }
    let mut detail = m.names.mask_text(detail.into()).into_owned();
    if let Some(r) = m.reporter {
        let moved = m.unsure(cells);
        let shaped =
            (0..cells.len()).filter(|&i| moved.is_some_and(|c| c.like_reporter(&cells[i])));
        for i in reporter_cells(header_len, cells.len(), r).chain(shaped) {
            let raw = cells.get(i).map_or("", |c| c.as_ref());
            // The detail quotes a cell as it is or normalised.
            for quoted in [raw.trim(), &normalized(raw)] {
                if !quoted.is_empty() && detail.contains(quoted) {
                    detail = detail.replace(quoted, "[已脱敏]");
                }
            }
        }
    }
    detail
}

/// A row mapped into its chunk's columns.
struct Loaded {
    id: Str,
    /// [`RecordRef::content_hash`].
    hash: u64,
    method: MatchMethod,
    /// The address without its building tail, when no compound was found.
    unmatched: Option<Box<str>>,
    /// The category label, when the taxonomy does not know it.
    unknown_category: Option<Box<str>>,
    /// Year and month of `received_at`: the partition.
    month: (i32, u32),
    /// Row in the chunk's batch.
    row: u32,
    /// The reporter's cell is a number a spreadsheet shortened: no pseudonym.
    shortened_reporter: bool,
    /// A personal name was masked in the content or address.
    names_masked: bool,
    /// The first of the ticket's later times that precedes its receipt, and by how much
    /// (ms): see [`FileStats::out_of_order`].
    out_of_order: Option<(&'static str, i64)>,
}

/// The outcome of mapping one row.
enum Outcome {
    Loaded(Loaded),
    Quarantined(Box<QuarantineRow>),
    /// A petitioner's row of a petition a register spread over several rows, below its
    /// first: counted with the duplicates.
    Petitioner,
}

/// A run of rows mapped together: the batch of those loaded, and every row's outcome in file
/// order.
struct Chunk {
    batch: RecordBatch,
    outcomes: Vec<Outcome>,
    /// Rows whose text holds U+FFFD, and where the first is.
    undecodable: (u64, Option<String>),
    /// Loaded rows whose reporter is a number a spreadsheet shortened, and the first.
    shortened: (u64, Option<String>),
    /// Loaded rows with a personal name masked.
    names_masked: u64,
    /// Loaded rows with a later time before their receipt, and the first.
    out_of_order: (u64, Option<String>),
}

/// Applies one chunk's outcomes to the file's counts, the pending records and the
/// quarantine.
fn apply(
    st: &mut FileStats,
    pending: &mut Pending,
    quarantine: &mut Vec<QuarantineRow>,
    file_idx: usize,
    chunk: Chunk,
) {
    let chunk_idx = pending.chunks.len() as u32;
    st.undecodable_rows += chunk.undecodable.0;
    if st.undecodable_first.is_none() {
        st.undecodable_first = chunk.undecodable.1;
    }
    st.shortened_reporters += chunk.shortened.0;
    st.names_masked += chunk.names_masked;
    if st.shortened_reporter_first.is_none() {
        st.shortened_reporter_first = chunk.shortened.1;
    }
    st.out_of_order += chunk.out_of_order.0;
    if st.out_of_order_first.is_none() {
        st.out_of_order_first = chunk.out_of_order.1;
    }
    let source_rows = (chunk.batch.column_by_name("source_row"))
        .and_then(|c| c.as_any().downcast_ref::<arrow::array::Int64Array>());
    for outcome in chunk.outcomes {
        st.rows += 1;
        match outcome {
            Outcome::Loaded(l) => {
                let month = st.months.entry(l.month).or_insert_with(|| {
                    let row = source_rows.map_or(0, |r| r.value(l.row as usize));
                    (0, row)
                });
                month.0 += 1;
                if !pending.recent.contains(&l.month) {
                    pending.recent.push(l.month);
                }
                let slot = Slot {
                    chunk: chunk_idx,
                    row: l.row,
                    hash: l.hash,
                    file: file_idx,
                    month: l.month,
                    method: l.method,
                };
                // One hash and probe per row: the entry is found or made once.
                let known = match pending.slots.entry(l.id) {
                    Entry::Occupied(o) if o.get().hash == l.hash => {
                        st.duplicates += 1;
                        continue;
                    }
                    Entry::Occupied(mut o) => {
                        o.insert(slot);
                        true
                    }
                    Entry::Vacant(v) => {
                        v.insert(slot);
                        false
                    }
                };
                st.loaded += 1;
                if known {
                    st.updated += 1;
                }
                if let Some(c) = l.unknown_category {
                    *st.unknown_categories.entry(c).or_default() += 1;
                }
                if let Some(a) = l.unmatched {
                    let e = st.unmatched.entry(a).or_default();
                    e.0 += 1;
                    e.1 |= l.method == MatchMethod::Ambiguous;
                }
                // No key allocated per row: the few methods are inserted once.
                match st.match_methods.get_mut(l.method.as_str()) {
                    Some(c) => *c += 1,
                    None => {
                        st.match_methods.insert(l.method.as_str().to_owned(), 1);
                    }
                }
            }
            Outcome::Petitioner => st.duplicates += 1,
            Outcome::Quarantined(q) => {
                st.quarantined += 1;
                *st.quarantine_reasons.entry(q.reason.clone()).or_default() += 1;
                quarantine.push(*q);
            }
        }
    }
    if chunk.batch.num_rows() > 0 {
        pending.chunks.push(chunk.batch);
    }
}

/// Year and month (Asia/Shanghai) of a timestamp; (0, 0) when out of range.
fn month_parts(ms: i64) -> (i32, u32) {
    use chrono::Datelike;
    datetime::ms_to_local(ms)
        .map(|t| (t.year(), t.month()))
        .unwrap_or((0, 0))
}

/// Month partition (`YYYY-MM`, Asia/Shanghai) of a timestamp.
pub fn month_of(ms: i64) -> String {
    month_label(month_parts(ms))
}

/// The partition name of a year and month ("unknown" out of range).
fn month_label((y, m): (i32, u32)) -> String {
    if (y, m) == (0, 0) {
        "unknown".to_owned()
    } else {
        format!("{y:04}-{m:02}")
    }
}

/// A lake partition: channel, and year and month.
type Partition = (Channel, (i32, u32));

/// Where a pending record is, and what the merge needs to know of it.
#[derive(Clone, Copy)]
struct Slot {
    /// Index of its batch in [`Pending::chunks`].
    chunk: u32,
    /// Row in that batch.
    row: u32,
    /// [`RecordRef::content_hash`].
    hash: u64,
    /// Index of the file that loaded it.
    file: usize,
    /// Partition month.
    month: (i32, u32),
    method: MatchMethod,
}

/// Records waiting to be merged into the lake: the mapped batches, and the latest version
/// of each record id in them (an earlier version stays in its batch, unreferenced).
#[derive(Default)]
struct Pending {
    chunks: Vec<RecordBatch>,
    slots: HashMap<Str, Slot, foldhash::quality::FixedState>,
    /// Partition months of the rows applied last.
    recent: Vec<(i32, u32)>,
}

impl Pending {
    /// Room for a flush's worth of records, so the slots never rehash while they fill.
    fn for_a_flush() -> Pending {
        Pending {
            chunks: vec![],
            slots: HashMap::with_capacity_and_hasher(FLUSH_RECORDS + MAP_BATCH, Default::default()),
            recent: vec![],
        }
    }

    /// Takes the records to merge now: those of the months the latest rows did not touch.
    /// Exports run in time order, so those months are complete and are written once, while
    /// the month being read stays pending instead of being written now and rewritten at the
    /// next flush. When that would leave most records pending (an export out of time
    /// order), everything is taken.
    fn take_settled(&mut self) -> Settled {
        let recent = std::mem::take(&mut self.recent);
        let settled = self
            .slots
            .values()
            .filter(|s| !recent.contains(&s.month))
            .count();
        if settled < self.slots.len() / 2 {
            return std::mem::replace(self, Pending::for_a_flush()).into_settled();
        }
        // The kept slots stay where they are in the map; the taken ones leave it.
        let mut kept_chunks = vec![false; self.chunks.len()];
        let taken: Vec<(Str, Slot)> = self
            .slots
            .extract_if(|_, slot| {
                let keep = recent.contains(&slot.month);
                if keep {
                    kept_chunks[slot.chunk as usize] = true;
                }
                !keep
            })
            .collect();
        // The kept slots point into the same chunks (shared, not copied); a chunk they do
        // not use is left empty so its memory goes with the merge.
        let kept: Vec<RecordBatch> = self
            .chunks
            .iter()
            .zip(kept_chunks)
            .map(|(c, kept)| {
                if kept {
                    c.clone()
                } else {
                    // Not a zero-length slice: that would keep the buffers alive.
                    RecordBatch::new_empty(c.schema())
                }
            })
            .collect();
        self.recent = recent;
        Settled {
            chunks: std::mem::replace(&mut self.chunks, kept),
            slots: taken,
        }
    }

    /// Everything pending, to merge.
    fn into_settled(self) -> Settled {
        Settled {
            chunks: self.chunks,
            slots: self.slots.into_iter().collect(),
        }
    }
}

/// Records taken from [`Pending`] to be merged: the batches, and where each record is in
/// them (one entry per record id).
struct Settled {
    chunks: Vec<RecordBatch>,
    slots: Vec<(Str, Slot)>,
}

/// Files already ingested: path → BLAKE3 (a state written with SHA-256 by an earlier version
/// matches nothing, so its files are read once more and found to be duplicates), and how
/// each was read.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    files: BTreeMap<String, String>,
    /// Path → how it was read (a state written before session 27 has none: its files are
    /// read again once, [`EARLIER_VERSION`]).
    #[serde(default)]
    readings: BTreeMap<String, Reading>,
    /// Source name → the shapes of its CSV files' cells, for checking a small file for
    /// moved cells (see [`shape`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    shapes: BTreeMap<String, shape::ShapeHistory>,
    /// Source name → the header of its last file loaded (as the quarantine shows it), for
    /// reading a damaged header against it (see [`header`]).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    headers: BTreeMap<String, Vec<String>>,
    /// How the lake's texts were last masked ([`remask::masking`]; empty before session 30).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    masked_with: String,
}

/// Why a file loaded before readings were recorded is read again: the code that read it
/// since changed what it makes of some rows (phone numbers keyed as their eleven digits,
/// times with an offset, cells moved by a typed comma).
const EARLIER_VERSION: &str = "an earlier version of weaksignal loaded it";

/// Quarantine reasons that judge a record itself, not the mapping of its row: when a file
/// read again quarantines a row for one of them (a test marker, `ingest.earliest` or a check
/// added since), the record an earlier reading made of it leaves the lake. A row the new
/// reading cannot map (a date format, a value map or a column changed — often a config
/// mistake) leaves its record in place: fixing the config reads it again, and a mistake
/// deletes no history meanwhile. `future_date` depends on the run's date, not the record.
const WITHDRAWING: [&str; 4] = [
    "past_date",
    "shifted_cells",
    "shortened_number",
    "test_ticket",
];

/// Raised when a change to the ingest's code changes the records it makes of the same
/// rows, so that files already loaded are read again. 2: a reporter a spreadsheet
/// shortened (`1.38123E+10`) has no pseudonym. 3: numbers a spreadsheet rounded to fifteen
/// digits (see [`rounded`]): such ticket numbers are quarantined (their records leave the
/// lake), such reporters have no pseudonym; a workbook's cells merged down rows read on
/// every row; a CSV cell written as an Excel text formula (`="2025030500012345"`) or after
/// an apostrophe reads as its text. 4: personal names in the texts masked (see
/// [`crate::names`]), and e-mail addresses and QQ and WeChat ids. 5, workbooks only
/// ([`reading_code`]): a petition whose number a register merged down its petitioners'
/// rows is its first row's record (the first petitioner's), the others counted with it.
/// 6: numbers a floating-point program rounded to doubles, as those a spreadsheet rounded
/// (workbooks 7: 6 and 5's merged petitions). 7: a reporter cell naming several people is
/// the household of the first by session 35's names (80 more surnames, given names that
/// start with `家` — `颜丽华、倪红梅` was keyed whole, and will be `颜丽华` on a later visit),
/// and the row's own names are masked in its texts by them (workbooks 8). JSON Lines 8: a
/// number keeps the digits it was written with (a ticket number past `u64` was rounded
/// and quarantined as shortened). CSV 8: a stray quote before a header name no longer
/// runs on through the records below, which were lost in the name (the file loaded with
/// fewer rows read than it holds).
const READING_CODE: u32 = 8;

/// [`READING_CODE`] for a source of `format`: a change to one format's reading alone reads
/// only that format's files again.
fn reading_code(format: crate::config::Format) -> u32 {
    match format {
        crate::config::Format::Xlsx | crate::config::Format::Jsonl | crate::config::Format::Csv => {
            READING_CODE
        }
    }
}

/// What a file's records depend on besides its bytes. An unchanged file whose reading
/// changed is read again: an alias added to the registry resolves the rows of earlier
/// exports too, an alias added to the taxonomy gives their labels a category, a value added
/// to a mapping loads the rows it had quarantined, a new key re-keys their reporters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Reading {
    /// [`reading_code`].
    code: u32,
    /// BLAKE3 of the compound registry file.
    registry: String,
    /// BLAKE3 of the taxonomy file.
    taxonomy: String,
    /// BLAKE3 of the source's settings (all but its name and path) and the ingest settings.
    mapping: String,
    /// [`Pseudonymizer::fingerprint`] of the key.
    key: String,
}

impl Reading {
    /// How each source's files are read now, in the order of `cfg.sources`.
    fn of_sources(cfg: &Config, keys: &Pseudonymizer) -> Result<Vec<Reading>> {
        let registry = crate::nightly::file_digest(&cfg.resolve(&cfg.reference.compounds))?;
        let taxonomy = crate::nightly::file_digest(&cfg.resolve(&cfg.reference.taxonomy))?;
        let key = keys.fingerprint();
        (cfg.sources.iter())
            .map(|src| {
                let settings = crate::config::Source {
                    name: String::new(),
                    path: String::new(),
                    ..src.clone()
                };
                let mapping = serde_json::to_vec(&(settings, &cfg.ingest))?;
                Ok(Reading {
                    code: reading_code(src.format),
                    registry: registry.clone(),
                    taxonomy: taxonomy.clone(),
                    mapping: blake3::hash(&mapping).to_hex().to_string(),
                    key: key.clone(),
                })
            })
            .collect()
    }

    /// What changed from `self` to `now`, in words; `None` when nothing did.
    fn changes(&self, now: &Reading) -> Option<String> {
        let changed: Vec<&str> = [
            (self.registry != now.registry, "the compound registry"),
            (self.taxonomy != now.taxonomy, "the taxonomy"),
            (
                self.mapping != now.mapping,
                "the source's mapping or the ingest settings",
            ),
            (self.key != now.key, "the pseudonym key"),
            (self.code != now.code, "the ingest's code"),
        ]
        .into_iter()
        .filter_map(|(c, what)| c.then_some(what))
        .collect();
        (!changed.is_empty()).then(|| format!("{} changed", changed.join(", ")))
    }
}

impl State {
    /// The lake's state; empty for a new lake.
    fn load(lake: &Path) -> Result<State> {
        match std::fs::read(state_path(lake)) {
            Ok(b) => Ok(serde_json::from_slice(&b)?),
            Err(_) => Ok(State::default()),
        }
    }
}

fn state_path(lake: &Path) -> PathBuf {
    lake.join("_state").join("files.json")
}

/// The key of a file in the ingest state: its path relative to the config's folder, so a
/// moved or copied installation keeps recognising files it has already loaded.
fn state_key(cfg: &Config, file: &str) -> String {
    let p = Path::new(file);
    p.strip_prefix(&cfg.base)
        .unwrap_or(p)
        .to_string_lossy()
        .replace('\\', "/")
}

/// Lists the files of every source (sorted by name within a source). A glob matching nothing
/// is reported as an error entry, not silently ignored.
pub fn source_files(cfg: &Config) -> Vec<(usize, std::result::Result<PathBuf, String>)> {
    let mut out = vec![];
    for (si, s) in cfg.sources.iter().enumerate() {
        let pattern = cfg.resolve(Path::new(&s.path));
        match glob::glob(&pattern.to_string_lossy()) {
            Ok(paths) => {
                let mut v: Vec<PathBuf> = paths
                    .filter_map(|p| p.ok())
                    .filter(|p| p.is_file())
                    .collect();
                v.sort();
                if v.is_empty() {
                    out.push((si, Err(format!("no file matches {}", pattern.display()))));
                }
                out.extend(v.into_iter().map(|p| (si, Ok(p))));
            }
            Err(e) => out.push((
                si,
                Err(format!("bad path pattern {}: {e}", pattern.display())),
            )),
        }
    }
    out
}

/// Rows mapped in parallel at a time.
const MAP_BATCH: usize = 8192;

/// Rows mapped into one Arrow batch (a task of the parallel map).
const MAP_CHUNK: usize = 2048;

/// CSV blocks mapped at a time (in parallel; a block of 512 KiB holds some 3,000 rows of an
/// export). Every batch ends with the cores waiting for its last block, so fewer, larger
/// batches waste less; but the batches in flight must stay in the cache (large city, GBK, 5
/// alternating runs each, median wall: 4 blocks 5.71 s, 8 blocks 5.47 s, 16 blocks 5.54 s,
/// 24 blocks 5.60 s, 48 blocks 5.80 s).
const MAP_BLOCKS: usize = 8;

/// Batches read and not yet applied, at most: the one being applied or waiting for it, and
/// the next, mapped meanwhile.
const BATCHES_IN_FLIGHT: usize = 3;

/// Rows read and not yet mapped.
enum Batch {
    Rows(Vec<readers::RawRow>),
    Blocks(Vec<readers::Block>),
}

impl Batch {
    /// Gives `f` the cells of every row that can be mapped.
    fn for_each_good(&self, f: &mut dyn FnMut(&Cells<'_>)) {
        match self {
            Batch::Rows(rows) => (rows.iter())
                .filter_map(|raw| raw.cells.as_ref().ok())
                .for_each(|cells| f(cells)),
            Batch::Blocks(blocks) => {
                for b in blocks {
                    b.for_each_row(|_, cells, problem, _| {
                        if problem.is_none() {
                            f(cells);
                        }
                    });
                }
            }
        }
    }
}

/// Where rows go to be mapped: line number, sheet (index in [`readers::OpenFile::sheets`]),
/// the rows its record spans ([`readers::RawRow::span`]), cells (however many the row has),
/// why the row cannot be mapped if it cannot, and whether the cells may hold U+FFFD.
type RowSink<'s> = dyn FnMut(usize, u32, u32, &Cells<'_>, Option<readers::Problem>, bool) + 's;

/// Records held in memory before they are merged into the lake.
const FLUSH_RECORDS: usize = 200_000;

/// Merges pending records into their lake partitions: identical to the lake → a duplicate,
/// different → an update, absent → a new row. Only changed partitions are rewritten. What
/// each partition found is returned, to be [`account`]ed.
fn merge(
    lake_dir: &Path,
    cfg: &Config,
    files: &[(usize, std::result::Result<PathBuf, String>)],
    again: &ReadAgain,
    pending: Settled,
) -> Result<Vec<Merged>> {
    let Settled { chunks, slots } = pending;
    let chunk_cols = chunks
        .iter()
        .map(Columns::new)
        .collect::<Result<Vec<_>>>()?;
    let mut by_part: BTreeMap<Partition, Vec<(Str, Slot)>> = BTreeMap::new();
    for (id, slot) in slots {
        // summary.files has one entry per entry of `files`, in the same order.
        let ch = cfg.sources[files[slot.file].0].channel;
        by_part
            .entry((ch, slot.month))
            .or_default()
            .push((id, slot));
    }
    // Partitions are independent: merged and written on every core.
    let outcomes: Vec<Result<Merged>> = by_part
        .into_par_iter()
        .map(|((ch, ym), news)| {
            let month = month_label(ym);
            let lake_batches = lake::read_partition_batches(lake_dir, ch, &month)?;
            let lake_cols = lake_batches
                .iter()
                .map(Columns::new)
                .collect::<Result<Vec<_>>>()?;
            // The partition's rows as (source batch, row): the lake's batches, then the chunks.
            let mut rows: Vec<(usize, usize)> = lake_cols
                .iter()
                .enumerate()
                .flat_map(|(b, c)| (0..c.len()).map(move |i| (b, i)))
                .collect();
            let index: HashMap<&str, usize, foldhash::quality::FixedState> = rows
                .iter()
                .enumerate()
                .map(|(p, &(b, i))| (lake_cols[b].record_id(i), p))
                .collect();
            let mut out = Merged {
                partition: Some((ch, ym)),
                ..Merged::default()
            };
            rows.reserve(news.len());
            // Pending record ids are unique: only the lake's records need an index.
            for (id, slot) in news {
                let new = (lake_batches.len() + slot.chunk as usize, slot.row as usize);
                let took = match index.get(id.as_str()) {
                    Some(&p) => {
                        let (b, i) = rows[p];
                        let held = lake_cols[b].row(i);
                        if held.content_hash() == slot.hash || again.keeps(slot.file, &held) {
                            // identical to the lake (or a version it keeps): a duplicate
                            out.duplicates.push((slot.file, slot.method));
                            false
                        } else {
                            out.updated.push(slot.file);
                            rows[p] = new;
                            true
                        }
                    }
                    None => {
                        rows.push(new);
                        true
                    }
                };
                out.changed |= took;
                if took && again.again(slot.file) {
                    out.changed_again.push(slot.file);
                }
                // Found identical too: a run cut short after a move leaves both versions,
                // and the re-run finds the moved one identical.
                let file = if took {
                    slot.file as u32
                } else {
                    placed::LAKES
                };
                out.placed.push((placed::id_hash(&id), file));
            }
            if out.changed {
                // Written sorted by time, then id.
                let key = |&(b, i): &(usize, usize)| {
                    let c = match b.checked_sub(lake_cols.len()) {
                        Some(k) => &chunk_cols[k],
                        None => &lake_cols[b],
                    };
                    (c.received_at(i), c.record_id(i))
                };
                // Keys read once per row, not twice per comparison.
                rows.sort_by_cached_key(key);
                let sources: Vec<&RecordBatch> = lake_batches.iter().chain(&chunks).collect();
                let batches = interleave_records(&sources, &rows)?;
                let p =
                    lake::write_partition(lake_dir, ch, &month, &batches, cfg.lake_compression)?;
                // A partition written more than once in a run shows a flush taken early.
                debug!(
                    channel = ch.as_str(),
                    month,
                    lake_rows = lake_cols.iter().map(Columns::len).sum::<usize>(),
                    rows = rows.len(),
                    "partition written"
                );
                out.written = Some(p.to_string_lossy().into_owned());
            }
            Ok(out)
        })
        .collect();
    outcomes.into_iter().collect()
}

/// Each file's BLAKE3, on every core (a first run reads years of exports); `None` for one
/// that cannot be read.
fn file_hashes(files: &[(usize, std::result::Result<PathBuf, String>)]) -> Vec<Option<String>> {
    (files.par_iter())
        .map(|(_, f)| {
            f.as_ref()
                .ok()
                .and_then(|p| crate::nightly::file_digest(p).ok())
        })
        .collect()
}

/// Each file's fate in a run, from its BLAKE3 (`None`: unreadable) and the state.
fn fates(
    cfg: &Config,
    files: &[(usize, std::result::Result<PathBuf, String>)],
    hashes: &[Option<String>],
    state: &State,
    readings: &[Reading],
) -> Vec<Fate> {
    (files.iter().zip(hashes))
        .map(|((si, file), hash)| {
            let (Ok(path), Some(hash)) = (file, hash) else {
                return Fate::Read;
            };
            let key = state_key(cfg, &path.to_string_lossy());
            if state.files.get(&key) != Some(hash) {
                return Fate::Read;
            }
            match state.readings.get(&key) {
                Some(was) => was
                    .changes(&readings[*si])
                    .map_or(Fate::Skip, Fate::ReadAgain),
                None => Fate::ReadAgain(EARLIER_VERSION.into()),
            }
        })
        .collect()
}

/// The files already loaded that the next ingest will read again, and why (for `validate`,
/// before a long re-read).
///
/// # Errors
/// An unreadable registry, taxonomy or ingest state.
pub fn files_read_again(cfg: &Config, keys: &Pseudonymizer) -> Result<Vec<(String, String)>> {
    let state = State::load(&cfg.resolve(&cfg.lake))?;
    let files = source_files(cfg);
    let hashes = file_hashes(&files);
    let readings = Reading::of_sources(cfg, keys)?;
    let fates = fates(cfg, &files, &hashes, &state, &readings);
    Ok((files.iter().zip(fates))
        .filter_map(|((_, f), fate)| match (f, fate) {
            (Ok(p), Fate::ReadAgain(why)) => Some((state_key(cfg, &p.to_string_lossy()), why)),
            _ => None,
        })
        .collect())
}

/// The marker a run leaves until the versions its records left in other months are removed
/// (see [`placed`]).
fn settling_path(lake: &Path) -> PathBuf {
    lake.join("_state").join("settling")
}

/// Whether the last ingest stopped before it finished (its marker is left): the next one
/// completes it.
pub fn cut_short(cfg: &Config) -> bool {
    settling_path(&cfg.resolve(&cfg.lake)).exists()
}

/// What a run does with a source file.
enum Fate {
    /// New or changed: read.
    Read,
    /// Unchanged, but how it is read changed since (why): read again.
    ReadAgain(String),
    /// Unchanged and read as before: skipped.
    Skip,
}

/// The files read again this run (by index in the run's file list), and where in that
/// list each file the run reads is, by channel and name (a record names its export by file
/// name; the hotline's `2025-03.csv` is not the grid's).
///
/// A file read again holds versions of its tickets that later exports replaced. Its record
/// replaces the lake's version only when that came from the same file or one read before it
/// in this run: the later export, read after it, brings its own version again (so the lake
/// never goes back to the older one between merges), and one no longer in the folder (an
/// archived export) cannot, so the lake keeps its version. The re-read record is then a
/// duplicate.
struct ReadAgain {
    /// Per file of the run: read again, and its channel.
    files: Vec<(bool, Channel)>,
    read: HashMap<(Channel, String), usize>,
}

impl ReadAgain {
    fn new(
        cfg: &Config,
        files: &[(usize, std::result::Result<PathBuf, String>)],
        fates: &[Fate],
    ) -> ReadAgain {
        let channel = |si: usize| cfg.sources[si].channel;
        ReadAgain {
            files: (files.iter().zip(fates))
                .map(|((si, _), f)| (matches!(f, Fate::ReadAgain(_)), channel(*si)))
                .collect(),
            // In file order: a name a channel's files share in several folders takes the
            // last one's place.
            read: (files.iter().zip(fates).enumerate())
                .filter(|(_, (_, fate))| !matches!(fate, Fate::Skip))
                .filter_map(|(i, ((si, f), _))| {
                    let name = f.as_ref().ok()?.file_name()?.to_str()?;
                    Some(((channel(*si), name.to_owned()), i))
                })
                .collect(),
        }
    }

    /// Whether file `file` is read again.
    fn again(&self, file: usize) -> bool {
        self.files.get(file).is_some_and(|f| f.0)
    }

    /// Whether the lake keeps `held` (a record of the same channel) against a record of
    /// file `file`.
    fn keeps(&self, file: usize, held: &RecordRef<'_>) -> bool {
        let Some(&(true, channel)) = self.files.get(file) else {
            return false;
        };
        // `登记.xlsx#2025年`: a sheet of 登记.xlsx
        let name = held.source_file;
        let at = |name: &str| self.read.get(&(channel, name.to_owned())).copied();
        let at = at(name).or_else(|| name.rsplit_once('#').and_then(|(f, _)| at(f)));
        at.is_none_or(|at| at > file)
    }
}

/// After files were read again, the records of their channels whose export is no longer in
/// the folder of any source of the channel, per channel (see
/// [`IngestSummary::kept_earlier_reading`]).
fn kept_earlier_reading(
    cfg: &Config,
    lake: &Path,
    files: &[(usize, std::result::Result<PathBuf, String>)],
    again: &ReadAgain,
) -> Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    let channels: std::collections::BTreeSet<Channel> = (again.files.iter())
        .filter(|(again, _)| *again)
        .map(|&(_, channel)| channel)
        .collect();
    for ch in channels {
        let present: std::collections::HashSet<&str> = (files.iter())
            .filter(|(si, _)| cfg.sources[*si].channel == ch)
            .filter_map(|(_, f)| f.as_ref().ok()?.file_name()?.to_str())
            .collect();
        let gone: u64 = (lake::records_by_source_file(lake, ch)?.into_iter())
            .filter(|(name, _)| {
                // `登记.xlsx#2025年`: a sheet of 登记.xlsx
                !present.contains(name.as_str())
                    && name
                        .rsplit_once('#')
                        .is_none_or(|(f, _)| !present.contains(f))
            })
            .map(|(_, n)| n)
            .sum();
        if gone > 0 {
            out.insert(ch.as_str().to_owned(), gone);
        }
    }
    Ok(out)
}

/// Corrects the file counts with what merges found (loads that were duplicates of the lake,
/// updates of it) and lists the partitions written.
fn account(summary: &mut IngestSummary, merged: Vec<Merged>) {
    for o in merged {
        for (fi, method) in o.duplicates {
            let st = &mut summary.files[fi];
            st.loaded -= 1;
            st.duplicates += 1;
            if let Some(c) = st.match_methods.get_mut(method.as_str()) {
                *c -= 1;
            }
        }
        for fi in o.updated {
            summary.files[fi].updated += 1;
        }
        for fi in o.changed_again {
            summary.files[fi].changed += 1;
        }
        summary.partitions_written.extend(o.written);
    }
}

/// What merging one partition found.
#[derive(Default)]
struct Merged {
    /// (file index, match method) of records identical to the lake.
    duplicates: Vec<(usize, MatchMethod)>,
    /// File indices of records that replaced an older version.
    updated: Vec<usize>,
    /// File indices of records of files read again that the lake took (new or replacing).
    changed_again: Vec<usize>,
    changed: bool,
    written: Option<String>,
    /// The partition.
    partition: Option<Partition>,
    /// The records merged, as the hash of their id and the index of the file whose version
    /// the lake holds ([`placed::LAKES`]: the lake's own, found identical or kept), for
    /// [`placed::Placed::track`].
    placed: Vec<(u64, u32)>,
}

/// Ingests every new or changed source file into the lake.
///
/// # Errors
/// Lake I/O errors. An unreadable source file is not an error: it is reported in its
/// [`FileStats::error`] and the other files still load.
#[instrument(skip_all, fields(as_of = %as_of))]
pub fn ingest(
    cfg: &Config,
    keys: &Pseudonymizer,
    as_of: NaiveDate,
    progress: bool,
) -> Result<IngestSummary> {
    let lake_dir = cfg.resolve(&cfg.lake);
    let files = source_files(cfg);
    // Each file's BLAKE3 (on every core: a first run reads years of exports), while the
    // registry's automaton is built (one core, a tenth of a second for 10,000 compounds).
    let (registry, hashes) = rayon::join(
        || {
            Registry::load(
                &cfg.resolve(&cfg.reference.compounds),
                cfg.ingest.fuzzy_threshold,
            )
        },
        || file_hashes(&files),
    );
    let registry = registry?;
    let taxonomy = Taxonomy::load(&cfg.resolve(&cfg.reference.taxonomy))?;
    let mut state = State::load(&lake_dir)?;
    let readings = Reading::of_sources(cfg, keys)?;
    let fates = fates(cfg, &files, &hashes, &state, &readings);
    let again = ReadAgain::new(cfg, &files, &fates);
    let months_before: BTreeMap<Channel, Vec<String>> = (Channel::ALL.into_iter())
        .map(|ch| (ch, lake::months(&lake_dir, ch)))
        .collect();
    // Present while a run's records may lie in two months (from its first merge until the
    // versions left behind are removed): a run that finds it completes the clean-up.
    let settling = settling_path(&lake_dir);
    let mut placed = placed::Placed::new(settling.exists());
    if fates.iter().any(|f| !matches!(f, Fate::Skip)) {
        lake::write_atomic(&settling, |f| {
            std::io::Write::write_all(f, b"\n").at(&settling)
        })?;
    }
    // The run id depends only on the inputs, so a re-run after a crash writes the same lake.
    let mut run_hasher = Sha256::new();
    run_hasher.update(as_of.to_string());
    for h in hashes.iter().flatten() {
        run_hasher.update(h);
    }
    let run = format!(
        "{}-{}",
        as_of.format("%Y%m%d"),
        &hex::encode(run_hasher.finalize())[..8]
    );
    let ctx = Context::new(cfg, &registry, &taxonomy, keys, as_of, run.clone());

    let mut summary = IngestSummary {
        run: run.clone(),
        ..Default::default()
    };
    // record_id → (record, content hash, index of the file that loaded it)
    let mut pending = Pending::for_a_flush();
    let mut quarantine: Vec<QuarantineRow> = vec![];
    let mut requarantined = placed::Requarantined::new();
    let mp = indicatif::MultiProgress::with_draw_target(if progress {
        indicatif::ProgressDrawTarget::stderr()
    } else {
        indicatif::ProgressDrawTarget::hidden()
    });
    for (((si, file), hash), fate) in files.iter().zip(&hashes).zip(&fates) {
        let src = &cfg.sources[*si];
        let started = Instant::now();
        let mut st = FileStats {
            source: src.name.clone(),
            ..Default::default()
        };
        let path = match file {
            Ok(p) => p,
            Err(e) => {
                warn!(source = %src.name, "{e}");
                st.error = Some(e.clone());
                summary.files.push(st);
                continue;
            }
        };
        st.file = path.to_string_lossy().into_owned();
        let Some(hash) = hash else {
            st.error = Some("cannot read the file".into());
            summary.files.push(st);
            continue;
        };
        st.blake3 = hash.clone();
        match fate {
            Fate::Skip => {
                st.skipped_unchanged = true;
                summary.files.push(st);
                continue;
            }
            Fate::ReadAgain(why) => st.read_again = Some(why.clone()),
            Fate::Read => {}
        }
        let mut opened = match open_source(src, path) {
            Ok(o) => o,
            Err(e) => {
                warn!("{e}");
                st.error = Some(e.to_string());
                summary.files.push(st);
                continue;
            }
        };
        st.header_repairs =
            read_against_previous_header(src, &mut opened, state.headers.get(&src.name));
        if !st.header_repairs.is_empty() {
            warn!(file = %path.display(), "header read against the source's previous one: {}", st.header_repairs.join(", "));
        }
        // A column every row needs must be declared; the others may be in later rows only.
        let declared = &opened.header[..opened.declared.min(opened.header.len())];
        let (required, _) = missing_columns(src, declared);
        let (_, optional) = missing_columns(src, &opened.header);
        if !required.is_empty() {
            let e = header_error(src, path, &opened, &required);
            warn!("{e}");
            st.error = Some(e);
            summary.files.push(st);
            continue;
        }
        if !opened.unread_sheets.is_empty() {
            warn!(file = %path.display(), "sheets not read: {}", opened.unread_sheets.join(", "));
            st.unread_sheets.clone_from(&opened.unread_sheets);
        }
        if !optional.is_empty() {
            warn!(file = %path.display(), "no column for {}: empty in every row", optional.join("; "));
            st.missing_columns = optional;
        }
        let pb = mp.add(indicatif::ProgressBar::new_spinner());
        pb.set_message(format!(
            "{} {}",
            src.name,
            path.file_name().and_then(|n| n.to_str()).unwrap_or("")
        ));
        let mapping = Mapping::new(src, &opened.header, &ctx);
        let file_idx = summary.files.len();
        let quarantined_before = quarantine.len();
        let qfile = state_key(cfg, &st.file);
        summary.files.push(st);
        let fname = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // Per sheet: the file as records (`source_file`) and the quarantine name it, with
        // the sheet when a workbook has several (`登记.xlsx#2025年`).
        let labels: Vec<(String, String)> = match opened.sheets.is_empty() {
            true => vec![(fname.to_owned(), qfile)],
            false => (opened.sheets.iter())
                .map(|s| (format!("{fname}#{s}"), format!("{qfile}#{s}")))
                .collect(),
        };
        // Three stages overlap: a reader thread reads the file in order (CSV as blocks of
        // whole records, decoded and parsed by the mapping; other formats as parsed rows), the
        // rayon pool maps each batch, and an applier thread applies the outcomes in file
        // order (so the result does not depend on threads) and merges into the lake whenever
        // FLUSH_RECORDS are pending (bounded memory). The files are recorded as ingested
        // only at the end, so a crash re-reads them and finds the merged records already
        // loaded (counted as duplicates then), leaving the same lake.
        let rows = opened.rows;
        let header = &shown_header(&opened.header);
        // The file's own shape counts, learned from its first batch, go to its source's
        // history once it is read.
        let learned = std::sync::OnceLock::new();
        let history = state.shapes.get(&src.name);
        let (mapping, ctx, labels, lake_dir, files, again, learned) =
            (&mapping, &ctx, &labels, &lake_dir, &files, &again, &learned);
        let (pb, tracking) = (&pb, &mut placed);
        let applied: Result<Vec<Merged>> = std::thread::scope(|scope| {
            let (stats, pending, quarantine) =
                (&mut summary.files[file_idx], &mut pending, &mut quarantine);
            let (raw_tx, raw_rx) = std::sync::mpsc::sync_channel::<Batch>(2);
            scope.spawn(move || match rows {
                readers::Rows::Parsed(mut rows) => loop {
                    let batch: Vec<readers::RawRow> = rows.by_ref().take(MAP_BATCH).collect();
                    if batch.is_empty() || raw_tx.send(Batch::Rows(batch)).is_err() {
                        break;
                    }
                },
                readers::Rows::Blocks(mut blocks) => loop {
                    let batch: Vec<readers::Block> = blocks.by_ref().take(MAP_BLOCKS).collect();
                    if batch.is_empty() || raw_tx.send(Batch::Blocks(batch)).is_err() {
                        break;
                    }
                },
            });
            // Merges run on their own thread, in order, while rows go on being mapped.
            let (merge_tx, merge_rx) = std::sync::mpsc::sync_channel::<Settled>(1);
            let merger = scope.spawn(move || -> Result<Vec<Merged>> {
                let mut found = vec![];
                for p in merge_rx {
                    let merged = merge(lake_dir, cfg, files, again, p)?;
                    found.extend(tracking.tracked(merged));
                }
                Ok(found)
            });
            // Mapped batches come back numbered, possibly out of order; the applier takes them
            // in order. A batch is mapped only with a token, which the applier returns once it
            // has applied the batch: at most BATCHES_IN_FLIGHT are mapped or waiting.
            let (out_tx, out_rx) = std::sync::mpsc::channel::<(usize, Result<Vec<Chunk>>)>();
            let (token_tx, token_rx) = std::sync::mpsc::sync_channel::<()>(BATCHES_IN_FLIGHT);
            for _ in 0..BATCHES_IN_FLIGHT {
                let _ = token_tx.send(());
            }
            let applier = scope.spawn(move || -> Result<()> {
                let mut waiting: BTreeMap<usize, Result<Vec<Chunk>>> = BTreeMap::new();
                let mut next = 0;
                for (seq, chunks) in out_rx {
                    waiting.insert(seq, chunks);
                    while let Some(chunks) = waiting.remove(&next) {
                        next += 1;
                        let st = &mut *stats;
                        pending.recent.clear();
                        for chunk in chunks? {
                            apply(st, pending, quarantine, file_idx, chunk);
                        }
                        let _ = token_tx.send(());
                        pb.set_position(st.rows);
                        if pending.slots.len() >= FLUSH_RECORDS
                            && merge_tx.send(pending.take_settled()).is_err()
                        {
                            return Ok(()); // the merger stopped on an error
                        }
                    }
                }
                Ok(())
            });
            let quarantined =
                |row: usize, qfile: &str, cells: &Cells<'_>, r: Reject| QuarantineRow {
                    source: src.name.clone(),
                    file: qfile.to_owned(),
                    row,
                    reason: r.reason.to_owned(),
                    field: r.field.map(str::to_owned),
                    detail: redacted_detail(r.detail, header.len(), cells, mapping),
                    fields: redacted(header, cells, mapping),
                    // Only a file read again looks its quarantined rows' records up.
                    record_id: (again.again(file_idx))
                        .then(|| normalized(mapping.get(cells, const { field("source_id") })))
                        .filter(|sid| !sid.is_empty())
                        .map(|sid| record_id(src.channel, &sid).to_string()),
                };
            // Maps the rows `each` yields into one chunk of Arrow columns.
            let map_chunk = |capacity: usize, each: &dyn Fn(&mut RowSink<'_>)| {
                let mut builder = RecordBuilder::with_capacity(capacity);
                let mut outcomes = Vec::with_capacity(capacity);
                let (mut undecodable, mut shortened) = ((0, None), (0, None));
                let mut out_of_order = (0, None);
                let mut names_masked = 0;
                each(&mut |row, sheet, span, cells, problem, lossy| {
                    let (fname, qfile) = &labels[(sheet as usize).min(labels.len() - 1)];
                    // `row 12`, or `row 12 of 登记.xlsx#2025年` in a workbook of several sheets
                    let at = || match labels.len() {
                        1 => format!("row {row}"),
                        _ => format!("row {row} of {fname}"),
                    };
                    if lossy {
                        if let Some(col) =
                            cells.iter().position(|v| v.contains(readers::REPLACEMENT))
                        {
                            undecodable.0 += 1;
                            undecodable.1.get_or_insert_with(|| {
                                format!("{}, column {}", at(), column_name(header, col))
                            });
                        }
                    }
                    if span == 0 && problem.is_none() {
                        // A petitioner's row below the petition's first: the petition is
                        // the first row's record (its reporter the first petitioner).
                        outcomes.push(Outcome::Petitioner);
                        return;
                    }
                    let outcome = match problem {
                        Some((reason, detail)) => Err(reject(reason, None, detail)),
                        None => map_row(ctx, src, mapping, cells, fname, (row, span), &mut builder),
                    };
                    if matches!(&outcome, Ok(l) if l.shortened_reporter) {
                        shortened.0 += 1;
                        shortened.1.get_or_insert_with(at);
                    }
                    names_masked += u64::from(matches!(&outcome, Ok(l) if l.names_masked));
                    if let Ok(Loaded {
                        out_of_order: Some(o),
                        ..
                    }) = &outcome
                    {
                        out_of_order.0 += 1;
                        out_of_order
                            .1
                            .get_or_insert_with(|| out_of_order_at(at(), *o));
                    }
                    outcomes.push(match outcome {
                        Ok(l) => Outcome::Loaded(l),
                        Err(r) => Outcome::Quarantined(Box::new(quarantined(row, qfile, cells, r))),
                    });
                });
                Ok(Chunk {
                    batch: builder.finish()?,
                    outcomes,
                    undecodable,
                    shortened,
                    names_masked,
                    out_of_order,
                })
            };
            // Each batch is mapped by a task of the rayon pool, its chunks on every core. The
            // next batch is queued before this one is done, so a core that has finished its
            // part of a batch takes up the next instead of waiting for the other's last chunk.
            rayon::in_place_scope_fifo(|tasks| {
                for (seq, batch) in raw_rx.into_iter().enumerate() {
                    if token_rx.recv().is_err() {
                        break; // the applier stopped on an error
                    }
                    // The file's reporters and long numbers are learned from its first
                    // batch, before any row is mapped: every row is checked alike, whatever
                    // the threads do.
                    if seq == 0 {
                        let csv = matches!(batch, Batch::Blocks(_));
                        let own = learn_file(mapping, header, history, csv, |add| {
                            batch.for_each_good(add)
                        });
                        if let Some(own) = own {
                            let _ = learned.set(own);
                        }
                    }
                    let (out, map_chunk) = (out_tx.clone(), &map_chunk);
                    tasks.spawn_fifo(move |_| {
                        let chunks: Result<Vec<Chunk>> = match &batch {
                            Batch::Rows(rows) => rows
                                .par_chunks(MAP_CHUNK)
                                .map(|raws| {
                                    map_chunk(raws.len(), &|f| {
                                        for raw in raws {
                                            let (row, sheet, span) = (raw.row, raw.sheet, raw.span);
                                            match &raw.cells {
                                                Ok(c) => f(row, sheet, span, c, None, true),
                                                Err(p) => {
                                                    f(row, sheet, span, &[], Some(p.clone()), true)
                                                }
                                            }
                                        }
                                    })
                                })
                                .collect(),
                            Batch::Blocks(blocks) => blocks
                                .par_iter()
                                .map(|b| {
                                    map_chunk(MAP_CHUNK, &|f| {
                                        b.for_each_row(|row, cells, problem, lossy| {
                                            f(row, 0, 1, cells, problem, lossy)
                                        })
                                    })
                                })
                                .collect(),
                        };
                        let _ = out.send((seq, chunks));
                    });
                }
            });
            drop(out_tx);
            let mapped = match applier.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            let merged = match merger.join() {
                Ok(r) => r,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            mapped.and(merged)
        });
        account(&mut summary, applied?);
        // The rows a file read again now quarantines as bad records: the lake's records
        // made from them go.
        if again.again(file_idx) {
            let withdrawing = |q: &&QuarantineRow| WITHDRAWING.contains(&q.reason.as_str());
            for q in quarantine[quarantined_before..].iter().filter(withdrawing) {
                let label = labels.iter().find(|(_, ql)| *ql == q.file);
                if let (Some((label, _)), Some(id)) = (label, &q.record_id) {
                    let files = requarantined.entry(src.channel).or_default();
                    let e = files
                        .entry(label.clone())
                        .or_insert_with(|| (file_idx, Default::default()));
                    e.1.insert((q.row as i64, id.clone()));
                }
            }
        }
        if let Some(own) = learned.get() {
            (state.shapes.entry(src.name.clone()).or_default()).absorb(header, own);
        }
        // The source's header to read a damaged one against: this file's, unless it names
        // fewer configured fields than the one kept (a damaged name read without repair).
        let found = |h: &[String]| {
            let (required, optional) = missing_columns(src, h);
            (src.columns.len()).saturating_sub(required.len() + optional.len())
        };
        if (state.headers.get(&src.name)).is_none_or(|kept| found(header) >= found(kept)) {
            state.headers.insert(src.name.clone(), header.clone());
        }
        {
            let st = &mut summary.files[file_idx];
            (st.far_dates, st.far_date_first) = far_months(&std::mem::take(&mut st.months));
            if let Some(first) = &st.far_date_first {
                warn!(file = %st.file, rows = st.far_dates, "records received far from the rest of the file's, first at {first}");
            }
            if let Some(first) = &st.out_of_order_first {
                warn!(file = %st.file, rows = st.out_of_order, "tickets dispatched, closed or due before they were received, or dispatched a year after, first at {first}");
            }
        }
        pb.finish_and_clear();
        let st = &mut summary.files[file_idx];
        st.seconds = started.elapsed().as_secs_f64();
        if let Some(first) = &st.undecodable_first {
            warn!(file = %st.file, rows = st.undecodable_rows, "bytes that could not be decoded, first at {first}");
        }
    }

    let merged = merge(&lake_dir, cfg, &files, &again, pending.into_settled())?;
    account(&mut summary, placed.tracked(merged));
    // A record whose later version fell in another month leaves the earlier one there.
    let settled = placed.settle(&lake_dir, cfg.lake_compression, &months_before, &again)?;
    for (fi, n) in settled.replaced {
        summary.files[fi].updated += n;
        summary.moved_month += n;
    }
    for (fi, n) in settled.withdrawn {
        let st = &mut summary.files[fi];
        st.loaded -= n;
        st.duplicates += n;
    }
    summary.partitions_written.extend(settled.written);
    let (withdrawn, written) =
        placed::withdraw_quarantined(&lake_dir, cfg.lake_compression, &requarantined)?;
    for (fi, n) in withdrawn {
        summary.files[fi].changed += n;
        summary.withdrawn_quarantined += n;
    }
    summary.partitions_written.extend(written);
    // Texts an earlier masking left (exports no longer read): masked once more. A lake new
    // this run was masked as it was written.
    let masking = remask::masking(&cfg.ingest.name_cues, taxonomy.terms());
    if state.masked_with != masking {
        if months_before.values().any(|m| !m.is_empty()) {
            let r = remask::remask(&lake_dir, cfg.lake_compression, &ctx.names)?;
            info!(
                records = r.records,
                quarantined = r.quarantined,
                "texts masked again"
            );
            summary.remasked = r.records;
            summary.remasked_quarantined = r.quarantined;
            summary.partitions_written.extend(r.written);
        }
        state.masked_with = masking;
    }
    match std::fs::remove_file(&settling) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e).at(&settling),
        _ => {}
    }
    // Logged once every merge is accounted for: records pending at a file's end may be
    // found in the lake by the last merge (duplicates then, not loaded).
    for st in summary
        .files
        .iter()
        .filter(|f| !f.skipped_unchanged && f.error.is_none())
    {
        info!(source = %st.source, file = %st.file, rows = st.rows, loaded = st.loaded, quarantined = st.quarantined, duplicates = st.duplicates, "file ingested");
    }
    summary.partitions_written.sort();
    summary.partitions_written.dedup();
    summary.kept_earlier_reading = kept_earlier_reading(cfg, &lake_dir, &files, &again)?;
    summary.frequent_problems = frequent_problems(&quarantine);
    if !quarantine.is_empty() {
        let qp = lake_dir.join("quarantine").join(format!("run={run}.jsonl"));
        lake::write_atomic(&qp, |f| {
            use std::io::Write;
            let mut w = std::io::BufWriter::new(f);
            for q in &quarantine {
                serde_json::to_writer(&mut w, q)?;
                w.write_all(b"\n").at(&qp)?;
            }
            w.flush().at(&qp)?;
            Ok(())
        })?;
        summary.quarantine_file = Some(qp.to_string_lossy().into_owned());
    }
    // Record the files only after the lake is written: a crash before this re-ingests them.
    // summary.files has one entry per entry of `files`, in the same order.
    for (f, (si, _)) in summary.files.iter().zip(&files) {
        if f.error.is_none() && !f.file.is_empty() {
            let key = state_key(cfg, &f.file);
            state.readings.insert(key.clone(), readings[*si].clone());
            state.files.insert(key, f.blake3.clone());
        }
    }
    let sp = state_path(&lake_dir);
    lake::write_atomic(&sp, |f| Ok(serde_json::to_writer_pretty(f, &state)?))?;
    summary.unmatched = unmatched_addresses(&mut summary.files, &registry);
    summary.unknown_categories = unknown_categories(&mut summary.files, &ctx.names);
    Ok(summary)
}

/// The addresses most often left without a compound over all files (their per-file counts
/// taken), most rows first, with the compounds an ambiguous one fits.
fn unmatched_addresses(files: &mut [FileStats], registry: &Registry) -> Vec<UnmatchedAddress> {
    let mut all: HashMap<Box<str>, (u64, bool)> = HashMap::new();
    for f in files {
        for (a, (rows, ambiguous)) in std::mem::take(&mut f.unmatched) {
            let e = all.entry(a).or_default();
            e.0 += rows;
            e.1 |= ambiguous;
        }
    }
    let mut all: Vec<(Box<str>, (u64, bool))> = all.into_iter().collect();
    all.sort_unstable_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
    let label = |c: usize| {
        let c = &registry.compounds[c];
        format!("{} {} ({})", c.compound_id, c.name, c.street)
    };
    (all.into_iter().take(UNMATCHED_LISTED))
        .map(|(address, (rows, ambiguous))| {
            let (method, similarity, candidates) = match ambiguous {
                true => (MatchMethod::Ambiguous, None, registry.candidates(&address)),
                false => match registry.nearest(&address, NEAREST_LISTED) {
                    Some((sim, near)) => (MatchMethod::Unresolved, Some(sim), near),
                    None => (MatchMethod::Unresolved, None, vec![]),
                },
            };
            UnmatchedAddress {
                candidates: candidates.into_iter().map(label).collect(),
                similarity,
                method: method.as_str().to_owned(),
                address: address.into(),
                rows,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int32Array;

    fn batch(rows: i32) -> RecordBatch {
        let a = Int32Array::from_iter_values(0..rows);
        RecordBatch::try_from_iter([("x", std::sync::Arc::new(a) as arrow::array::ArrayRef)])
            .unwrap()
    }

    /// How early a later time was is told in hours below a day, else in days.
    #[test]
    fn an_out_of_order_time_says_how_early_it_was() {
        const H: i64 = 3_600_000;
        for (early, want) in [
            (
                4 * H + 59_000,
                "row 6 (closed_at 4 hours before received_at)",
            ),
            (H + 1, "row 6 (closed_at 1 hour before received_at)"),
            (30 * H, "row 6 (closed_at 1 day before received_at)"),
            (
                365 * 24 * H,
                "row 6 (closed_at 365 days before received_at)",
            ),
            (
                -365 * 24 * H,
                "row 6 (closed_at 365 days after received_at)",
            ),
        ] {
            assert_eq!(out_of_order_at("row 6".into(), ("closed_at", early)), want);
        }
    }

    /// Months far from the rest of a file's are told from its own spread.
    #[test]
    fn months_far_from_the_rest_of_a_file_are_found() {
        let months = |v: &[((i32, u32), u64, i64)]| -> BTreeMap<(i32, u32), (u64, i64)> {
            v.iter().map(|&(ym, n, row)| (ym, (n, row))).collect()
        };
        // A month's export with a year mistyped by ten, and an old ticket updated since.
        let march = months(&[((2025, 3), 300, 2), ((2015, 3), 1, 7), ((2024, 7), 1, 9)]);
        assert_eq!(
            far_months(&march),
            (
                1,
                Some("row 7 (2015-03; most of the file's records are 2025-03)".into())
            )
        );
        // A night's export of thirty rows.
        let night = months(&[((2025, 3), 29, 2), ((2052, 3), 1, 5)]);
        assert_eq!(far_months(&night).0, 1);
        // A first load of three years: every month holds many.
        let years: Vec<_> = (0..36)
            .map(|i| ((2023 + i / 12, (i % 12 + 1) as u32), 50, 2))
            .collect();
        assert_eq!(far_months(&months(&years)), (0, None));
        // Too few rows to tell.
        let three = months(&[((2015, 1), 1, 2), ((2020, 1), 1, 3), ((2025, 1), 1, 4)]);
        assert_eq!(far_months(&three), (0, None));
    }

    #[test]
    fn a_file_read_again_replaces_only_versions_of_itself_or_of_files_read_before_it() {
        let hot = Channel::Hotline;
        let again = ReadAgain {
            // files 0 and 1 read again, file 2 new; file 3, of the grid, and 4 read again
            files: vec![
                (true, hot),
                (true, hot),
                (false, hot),
                (true, Channel::Grid),
                (true, hot),
            ],
            read: HashMap::from([
                ((hot, "12345_2025-01.csv".to_owned()), 0),
                ((hot, "12345_2025-02.csv".to_owned()), 1),
                ((hot, "登记.xlsx".to_owned()), 2),
                ((Channel::Grid, "2025-01.csv".to_owned()), 3),
                ((hot, "12345_2025-03.csv".to_owned()), 4),
            ]),
        };
        let held = |source_file| RecordRef {
            source_file,
            ..RecordRef::default()
        };
        assert!(!again.keeps(0, &held("12345_2025-01.csv")));
        assert!(
            again.keeps(0, &held("12345_2025-02.csv")),
            "the later export's"
        );
        assert!(!again.keeps(1, &held("12345_2025-01.csv")));
        assert!(
            again.keeps(1, &held("12345_2024-12.csv")),
            "an archived export's"
        );
        assert!(
            again.keeps(1, &held("登记.xlsx#2025年")),
            "a sheet of a later file"
        );
        assert!(
            !again.keeps(2, &held("12345_2024-12.csv")),
            "a new file replaces"
        );
        assert!(!again.keeps(2, &held("登记.xlsx#2025年")));
        // A name of another channel's file is not this channel's: the grid's `2025-01.csv`
        // read before does not make the hotline's (archived) one read.
        assert!(
            again.keeps(4, &held("2025-01.csv")),
            "another channel's file of the same name, read before"
        );
        assert!(!again.keeps(3, &held("2025-01.csv")));
        assert!(again.keeps(3, &held("12345_2025-01.csv")));
    }

    fn slot(chunk: u32, row: u32, month: (i32, u32)) -> Slot {
        Slot {
            chunk,
            row,
            hash: 0,
            file: 0,
            month,
            method: MatchMethod::Exact,
        }
    }

    fn ids(p: &Pending) -> Vec<&str> {
        let mut v: Vec<&str> = p.slots.keys().map(|k| k.as_str()).collect();
        v.sort_unstable();
        v
    }

    fn taken_ids(s: &Settled) -> Vec<&str> {
        let mut v: Vec<&str> = s.slots.iter().map(|(k, _)| k.as_str()).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn column_names_match_however_they_are_written() {
        for (header, configured) in [
            ("登记日期", "登记日期"),
            ("登记\n日期", "登记日期"),
            (" 来电 时间\u{3000}", "来电时间"),
            ("\u{feff}工单编号", "工单编号"),
            ("回访满意度（1-5）", "回访满意度(1-5)"),
            ("Phone  Number", "Phone Number"),
        ] {
            assert!(same_name(header, configured), "{header:?}");
        }
        assert!(!same_name("登记日期", "来电时间"));
        assert!(!same_name("登记", "登记日期"));
    }

    #[test]
    fn a_flush_leaves_the_month_being_read_pending() {
        let (jan, feb) = ((2024, 1), (2024, 2));
        let mut p = Pending::for_a_flush();
        p.chunks = vec![batch(2), batch(2), batch(1)];
        for (id, s) in [
            ("a", slot(0, 0, jan)),
            ("b", slot(0, 1, jan)),
            ("c", slot(1, 0, jan)),
            ("d", slot(1, 1, feb)),
            ("e", slot(2, 0, feb)),
        ] {
            p.slots.insert(id.into(), s);
        }
        p.recent = vec![feb];
        let taken = p.take_settled();
        assert_eq!(taken_ids(&taken), ["a", "b", "c"]);
        assert_eq!(ids(&p), ["d", "e"]);
        // Chunk indices stay valid on both sides; the chunk only January used is not kept.
        assert_eq!(taken.chunks.len(), 3);
        let kept_rows: Vec<usize> = p.chunks.iter().map(|c| c.num_rows()).collect();
        assert_eq!(kept_rows, [0, 2, 1]);
        assert_eq!(p.recent, [feb]);

        // Rows out of time order: the months just read hold most records, so all go.
        p.slots.insert("f".into(), slot(2, 0, jan));
        p.slots.insert("g".into(), slot(2, 0, (2023, 12)));
        p.recent = vec![feb, jan];
        let taken = p.take_settled();
        assert_eq!(taken_ids(&taken), ["d", "e", "f", "g"]);
        assert_eq!(taken.chunks.len(), 3);
        assert!(p.slots.is_empty() && p.chunks.is_empty() && p.recent.is_empty());
    }
}
