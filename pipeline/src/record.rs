//! The canonical record and its Arrow schema: one row per ticket, complaint or petition.
//!
//! | column | type | meaning |
//! |---|---|---|
//! | record_id | utf8 | stable id: `<channel>:<source id>` |
//! | channel | utf8 | hotline, grid, petition (the Hive partition, not stored in files) |
//! | received_at | timestamp(ms, Asia/Shanghai) | when the record was received |
//! | compound_id | utf8? | resolved compound, null when unresolved |
//! | match_method, match_score | utf8, f64 | exact, alias, substring, fuzzy, ambiguous, unresolved |
//! | street, community, grid | utf8? | from the registry |
//! | address, content | utf8 | free text, normalised, identifiers and personal names masked |
//! | category_l1, category_l2 | utf8? | on the taxonomy |
//! | category_source | utf8 | given, classified, none |
//! | reporter_key | utf8? | HMAC pseudonym of the reporter, never the identity |
//! | participants | i64? | people (petitions) |
//! | is_collective | bool | collective petition or complaint |
//! | petition_level | utf8? | district, city, province, national |
//! | skip_level | bool | 越级 |
//! | dispatched_at, due_at, closed_at | timestamp? | ticket lifecycle |
//! | status | utf8 | open, closed, returned |
//! | satisfaction | utf8 | satisfied, basic, dissatisfied, none |
//! | repeat_flag | bool | the export marks a repeat call |
//! | source_file, source_row | utf8, i64 | where it came from |
//! | ingest_run | utf8 | the run that wrote this version |

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBuilder, Float64Array, Float64Builder, Int64Array,
    Int64Builder, RecordBatch, StringArray, StringBuilder, TimestampMillisecondArray,
    TimestampMillisecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde::Serialize;

use crate::Result;

/// A short text of the record: ids, registry and taxonomy names, codes. Held inline up to
/// 24 bytes (no allocation per row for nearly all of them); `address` and `content` stay
/// `String`.
pub type Str = compact_str::CompactString;

/// Time zone of every timestamp.
pub const TZ: &str = "Asia/Shanghai";

/// One canonical record, owned (tests, small lakes). The ingest builds Arrow columns from
/// [`RecordRef`]s without one.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[allow(missing_docs)]
pub struct Record {
    pub record_id: Str,
    pub received_at: i64,
    pub compound_id: Option<Str>,
    pub match_method: Str,
    pub match_score: f64,
    pub street: Option<Str>,
    pub community: Option<Str>,
    pub grid: Option<Str>,
    pub address: String,
    pub content: String,
    pub category_l1: Option<Str>,
    pub category_l2: Option<Str>,
    pub category_source: Str,
    pub reporter_key: Option<Str>,
    pub participants: Option<i64>,
    pub is_collective: bool,
    pub petition_level: Option<Str>,
    pub skip_level: bool,
    pub dispatched_at: Option<i64>,
    pub due_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub status: Str,
    pub satisfaction: Str,
    pub repeat_flag: bool,
    pub source_file: Str,
    pub source_row: i64,
    pub ingest_run: Str,
}

/// One canonical record borrowed from wherever its texts are: a mapped export row, an Arrow
/// batch, a [`Record`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[allow(missing_docs)]
pub struct RecordRef<'a> {
    pub record_id: &'a str,
    pub received_at: i64,
    pub compound_id: Option<&'a str>,
    pub match_method: &'a str,
    pub match_score: f64,
    pub street: Option<&'a str>,
    pub community: Option<&'a str>,
    pub grid: Option<&'a str>,
    pub address: &'a str,
    pub content: &'a str,
    pub category_l1: Option<&'a str>,
    pub category_l2: Option<&'a str>,
    pub category_source: &'a str,
    pub reporter_key: Option<&'a str>,
    pub participants: Option<i64>,
    pub is_collective: bool,
    pub petition_level: Option<&'a str>,
    pub skip_level: bool,
    pub dispatched_at: Option<i64>,
    pub due_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub status: &'a str,
    pub satisfaction: &'a str,
    pub repeat_flag: bool,
    pub source_file: &'a str,
    pub source_row: i64,
    pub ingest_run: &'a str,
}

impl Record {
    /// The record borrowed.
    pub fn as_ref(&self) -> RecordRef<'_> {
        RecordRef {
            record_id: &self.record_id,
            received_at: self.received_at,
            compound_id: self.compound_id.as_deref(),
            match_method: &self.match_method,
            match_score: self.match_score,
            street: self.street.as_deref(),
            community: self.community.as_deref(),
            grid: self.grid.as_deref(),
            address: &self.address,
            content: &self.content,
            category_l1: self.category_l1.as_deref(),
            category_l2: self.category_l2.as_deref(),
            category_source: &self.category_source,
            reporter_key: self.reporter_key.as_deref(),
            participants: self.participants,
            is_collective: self.is_collective,
            petition_level: self.petition_level.as_deref(),
            skip_level: self.skip_level,
            dispatched_at: self.dispatched_at,
            due_at: self.due_at,
            closed_at: self.closed_at,
            status: &self.status,
            satisfaction: &self.satisfaction,
            repeat_flag: self.repeat_flag,
            source_file: &self.source_file,
            source_row: self.source_row,
            ingest_run: &self.ingest_run,
        }
    }

    /// See [`RecordRef::content_hash`].
    pub fn content_hash(&self) -> u64 {
        self.as_ref().content_hash()
    }
}

impl RecordRef<'_> {
    /// A hash of the record's content (not where or when it was read), to tell an identical
    /// re-export (a duplicate) from an update. The same for a record however it is held.
    pub fn content_hash(&self) -> u64 {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = foldhash::quality::FixedState::with_seed(0x5745_414b).build_hasher();
        (
            self.record_id,
            self.received_at,
            self.compound_id,
            self.address,
            self.content,
            self.category_l2,
            self.reporter_key,
            self.participants,
            self.is_collective,
            self.petition_level,
            self.skip_level,
        )
            .hash(&mut h);
        (
            self.dispatched_at,
            self.due_at,
            self.closed_at,
            self.status,
            self.satisfaction,
            self.repeat_flag,
        )
            .hash(&mut h);
        h.finish()
    }

    /// The record owned.
    pub fn to_owned(&self) -> Record {
        let o = |s: Option<&str>| s.map(Str::new);
        Record {
            record_id: Str::new(self.record_id),
            received_at: self.received_at,
            compound_id: o(self.compound_id),
            match_method: Str::new(self.match_method),
            match_score: self.match_score,
            street: o(self.street),
            community: o(self.community),
            grid: o(self.grid),
            address: self.address.to_owned(),
            content: self.content.to_owned(),
            category_l1: o(self.category_l1),
            category_l2: o(self.category_l2),
            category_source: Str::new(self.category_source),
            reporter_key: o(self.reporter_key),
            participants: self.participants,
            is_collective: self.is_collective,
            petition_level: o(self.petition_level),
            skip_level: self.skip_level,
            dispatched_at: self.dispatched_at,
            due_at: self.due_at,
            closed_at: self.closed_at,
            status: Str::new(self.status),
            satisfaction: Str::new(self.satisfaction),
            repeat_flag: self.repeat_flag,
            source_file: Str::new(self.source_file),
            source_row: self.source_row,
            ingest_run: Str::new(self.ingest_run),
        }
    }
}

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some(TZ.into()))
}

/// The schema of the lake's files (without the `channel` partition column).
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("record_id", DataType::Utf8, false),
        Field::new("received_at", ts(), false),
        Field::new("compound_id", DataType::Utf8, true),
        Field::new("match_method", DataType::Utf8, false),
        Field::new("match_score", DataType::Float64, false),
        Field::new("street", DataType::Utf8, true),
        Field::new("community", DataType::Utf8, true),
        Field::new("grid", DataType::Utf8, true),
        Field::new("address", DataType::Utf8, false),
        Field::new("content", DataType::Utf8, false),
        Field::new("category_l1", DataType::Utf8, true),
        Field::new("category_l2", DataType::Utf8, true),
        Field::new("category_source", DataType::Utf8, false),
        Field::new("reporter_key", DataType::Utf8, true),
        Field::new("participants", DataType::Int64, true),
        Field::new("is_collective", DataType::Boolean, false),
        Field::new("petition_level", DataType::Utf8, true),
        Field::new("skip_level", DataType::Boolean, false),
        Field::new("dispatched_at", ts(), true),
        Field::new("due_at", ts(), true),
        Field::new("closed_at", ts(), true),
        Field::new("status", DataType::Utf8, false),
        Field::new("satisfaction", DataType::Utf8, false),
        Field::new("repeat_flag", DataType::Boolean, false),
        Field::new("source_file", DataType::Utf8, false),
        Field::new("source_row", DataType::Int64, false),
        Field::new("ingest_run", DataType::Utf8, false),
    ]))
}

/// Arrow builders of the lake's columns, filled one [`RecordRef`] at a time: the ingest maps
/// export rows straight into columns, with no owned record in between.
pub struct RecordBuilder {
    record_id: StringBuilder,
    received_at: TimestampMillisecondBuilder,
    compound_id: StringBuilder,
    match_method: StringBuilder,
    match_score: Float64Builder,
    street: StringBuilder,
    community: StringBuilder,
    grid: StringBuilder,
    address: StringBuilder,
    content: StringBuilder,
    category_l1: StringBuilder,
    category_l2: StringBuilder,
    category_source: StringBuilder,
    reporter_key: StringBuilder,
    participants: Int64Builder,
    is_collective: BooleanBuilder,
    petition_level: StringBuilder,
    skip_level: BooleanBuilder,
    dispatched_at: TimestampMillisecondBuilder,
    due_at: TimestampMillisecondBuilder,
    closed_at: TimestampMillisecondBuilder,
    status: StringBuilder,
    satisfaction: StringBuilder,
    repeat_flag: BooleanBuilder,
    source_file: StringBuilder,
    source_row: Int64Builder,
    ingest_run: StringBuilder,
}

impl RecordBuilder {
    /// Builders for about `rows` records.
    pub fn with_capacity(rows: usize) -> RecordBuilder {
        let s = || StringBuilder::with_capacity(rows, rows * 8);
        let text = |bytes| StringBuilder::with_capacity(rows, rows * bytes);
        let t = || TimestampMillisecondBuilder::with_capacity(rows).with_timezone(TZ);
        RecordBuilder {
            record_id: text(20),
            received_at: t(),
            compound_id: s(),
            match_method: s(),
            match_score: Float64Builder::with_capacity(rows),
            street: text(12),
            community: text(12),
            grid: s(),
            address: text(48),
            content: text(64),
            category_l1: text(12),
            category_l2: text(12),
            category_source: s(),
            reporter_key: text(16),
            participants: Int64Builder::with_capacity(rows),
            is_collective: BooleanBuilder::with_capacity(rows),
            petition_level: s(),
            skip_level: BooleanBuilder::with_capacity(rows),
            dispatched_at: t(),
            due_at: t(),
            closed_at: t(),
            status: s(),
            satisfaction: s(),
            repeat_flag: BooleanBuilder::with_capacity(rows),
            source_file: text(16),
            source_row: Int64Builder::with_capacity(rows),
            ingest_run: text(20),
        }
    }

    /// Appends one record.
    pub fn append(&mut self, r: &RecordRef<'_>) {
        self.record_id.append_value(r.record_id);
        self.received_at.append_value(r.received_at);
        self.compound_id.append_option(r.compound_id);
        self.match_method.append_value(r.match_method);
        self.match_score.append_value(r.match_score);
        self.street.append_option(r.street);
        self.community.append_option(r.community);
        self.grid.append_option(r.grid);
        self.address.append_value(r.address);
        self.content.append_value(r.content);
        self.category_l1.append_option(r.category_l1);
        self.category_l2.append_option(r.category_l2);
        self.category_source.append_value(r.category_source);
        self.reporter_key.append_option(r.reporter_key);
        self.participants.append_option(r.participants);
        self.is_collective.append_value(r.is_collective);
        self.petition_level.append_option(r.petition_level);
        self.skip_level.append_value(r.skip_level);
        self.dispatched_at.append_option(r.dispatched_at);
        self.due_at.append_option(r.due_at);
        self.closed_at.append_option(r.closed_at);
        self.status.append_value(r.status);
        self.satisfaction.append_value(r.satisfaction);
        self.repeat_flag.append_value(r.repeat_flag);
        self.source_file.append_value(r.source_file);
        self.source_row.append_value(r.source_row);
        self.ingest_run.append_value(r.ingest_run);
    }

    /// Records appended so far.
    pub fn len(&self) -> usize {
        arrow::array::ArrayBuilder::len(&self.record_id)
    }

    /// Whether nothing was appended.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The batch of the records appended (the builders are emptied).
    ///
    /// # Errors
    /// Never in practice (the columns match the schema).
    pub fn finish(&mut self) -> Result<RecordBatch> {
        let cols: Vec<ArrayRef> = vec![
            Arc::new(self.record_id.finish()),
            Arc::new(self.received_at.finish()),
            Arc::new(self.compound_id.finish()),
            Arc::new(self.match_method.finish()),
            Arc::new(self.match_score.finish()),
            Arc::new(self.street.finish()),
            Arc::new(self.community.finish()),
            Arc::new(self.grid.finish()),
            Arc::new(self.address.finish()),
            Arc::new(self.content.finish()),
            Arc::new(self.category_l1.finish()),
            Arc::new(self.category_l2.finish()),
            Arc::new(self.category_source.finish()),
            Arc::new(self.reporter_key.finish()),
            Arc::new(self.participants.finish()),
            Arc::new(self.is_collective.finish()),
            Arc::new(self.petition_level.finish()),
            Arc::new(self.skip_level.finish()),
            Arc::new(self.dispatched_at.finish()),
            Arc::new(self.due_at.finish()),
            Arc::new(self.closed_at.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.satisfaction.finish()),
            Arc::new(self.repeat_flag.finish()),
            Arc::new(self.source_file.finish()),
            Arc::new(self.source_row.finish()),
            Arc::new(self.ingest_run.finish()),
        ];
        Ok(RecordBatch::try_new(schema(), cols)?)
    }
}

/// Records to an Arrow batch.
///
/// # Errors
/// Never in practice (the columns match the schema).
pub fn to_batch(rs: &[Record]) -> Result<RecordBatch> {
    let mut b = RecordBuilder::with_capacity(rs.len());
    for r in rs {
        b.append(&r.as_ref());
    }
    b.finish()
}

fn col<'a, T: 'static>(b: &'a RecordBatch, name: &str) -> Result<&'a T> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| {
            arrow::error::ArrowError::SchemaError(format!(
                "lake file lacks column {name} of the expected type"
            ))
            .into()
        })
}

/// The typed columns of a lake batch, to read its rows as [`RecordRef`]s.
#[allow(missing_docs)]
pub struct Columns<'a> {
    record_id: &'a StringArray,
    received_at: &'a TimestampMillisecondArray,
    compound_id: &'a StringArray,
    match_method: &'a StringArray,
    match_score: &'a Float64Array,
    street: &'a StringArray,
    community: &'a StringArray,
    grid: &'a StringArray,
    address: &'a StringArray,
    content: &'a StringArray,
    category_l1: &'a StringArray,
    category_l2: &'a StringArray,
    category_source: &'a StringArray,
    reporter_key: &'a StringArray,
    participants: &'a Int64Array,
    is_collective: &'a BooleanArray,
    petition_level: &'a StringArray,
    skip_level: &'a BooleanArray,
    dispatched_at: &'a TimestampMillisecondArray,
    due_at: &'a TimestampMillisecondArray,
    closed_at: &'a TimestampMillisecondArray,
    status: &'a StringArray,
    satisfaction: &'a StringArray,
    repeat_flag: &'a BooleanArray,
    source_file: &'a StringArray,
    source_row: &'a Int64Array,
    ingest_run: &'a StringArray,
    rows: usize,
}

fn os(a: &StringArray, i: usize) -> Option<&str> {
    (!a.is_null(i)).then(|| a.value(i))
}
fn ot(a: &TimestampMillisecondArray, i: usize) -> Option<i64> {
    (!a.is_null(i)).then(|| a.value(i))
}

impl<'a> Columns<'a> {
    /// The columns of a batch with the lake's schema.
    ///
    /// # Errors
    /// A column is missing or of the wrong type.
    pub fn new(b: &'a RecordBatch) -> Result<Columns<'a>> {
        Ok(Columns {
            record_id: col(b, "record_id")?,
            received_at: col(b, "received_at")?,
            compound_id: col(b, "compound_id")?,
            match_method: col(b, "match_method")?,
            match_score: col(b, "match_score")?,
            street: col(b, "street")?,
            community: col(b, "community")?,
            grid: col(b, "grid")?,
            address: col(b, "address")?,
            content: col(b, "content")?,
            category_l1: col(b, "category_l1")?,
            category_l2: col(b, "category_l2")?,
            category_source: col(b, "category_source")?,
            reporter_key: col(b, "reporter_key")?,
            participants: col(b, "participants")?,
            is_collective: col(b, "is_collective")?,
            petition_level: col(b, "petition_level")?,
            skip_level: col(b, "skip_level")?,
            dispatched_at: col(b, "dispatched_at")?,
            due_at: col(b, "due_at")?,
            closed_at: col(b, "closed_at")?,
            status: col(b, "status")?,
            satisfaction: col(b, "satisfaction")?,
            repeat_flag: col(b, "repeat_flag")?,
            source_file: col(b, "source_file")?,
            source_row: col(b, "source_row")?,
            ingest_run: col(b, "ingest_run")?,
            rows: b.num_rows(),
        })
    }

    /// Rows.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// The record id of row `i` (no other column read).
    pub fn record_id(&self, i: usize) -> &'a str {
        self.record_id.value(i)
    }

    /// When row `i` was received (no other column read).
    pub fn received_at(&self, i: usize) -> i64 {
        self.received_at.value(i)
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> RecordRef<'a> {
        RecordRef {
            record_id: self.record_id.value(i),
            received_at: self.received_at.value(i),
            compound_id: os(self.compound_id, i),
            match_method: self.match_method.value(i),
            match_score: self.match_score.value(i),
            street: os(self.street, i),
            community: os(self.community, i),
            grid: os(self.grid, i),
            address: self.address.value(i),
            content: self.content.value(i),
            category_l1: os(self.category_l1, i),
            category_l2: os(self.category_l2, i),
            category_source: self.category_source.value(i),
            reporter_key: os(self.reporter_key, i),
            participants: (!self.participants.is_null(i)).then(|| self.participants.value(i)),
            is_collective: self.is_collective.value(i),
            petition_level: os(self.petition_level, i),
            skip_level: self.skip_level.value(i),
            dispatched_at: ot(self.dispatched_at, i),
            due_at: ot(self.due_at, i),
            closed_at: ot(self.closed_at, i),
            status: self.status.value(i),
            satisfaction: self.satisfaction.value(i),
            repeat_flag: self.repeat_flag.value(i),
            source_file: self.source_file.value(i),
            source_row: self.source_row.value(i),
            ingest_run: self.ingest_run.value(i),
        }
    }
}

/// The rows `indices` ((batch, row) pairs) of lake-schema batches, in order, as batches:
/// a run of at least [`RUN_ROWS`] rows that follow each other in one batch is a slice of
/// it (no copy: a time-ordered export fills its months with such runs), the rows between
/// runs are gathered into a batch of their own.
///
/// # Errors
/// A batch lacks a column of the lake's schema or has it with another type.
pub fn interleave_records(
    batches: &[&RecordBatch],
    indices: &[(usize, usize)],
) -> Result<Vec<RecordBatch>> {
    let schema = schema();
    // Each batch's columns in the lake schema's order, checked once.
    let columns = (batches.iter())
        .map(|b| lake_columns(&schema, b))
        .collect::<Result<Vec<_>>>()?;
    let gather = |rows: &[(usize, usize)]| -> Result<RecordBatch> {
        let cols = (0..schema.fields().len())
            .map(|k| {
                let values: Vec<&dyn Array> = columns.iter().map(|c| c[k].as_ref()).collect();
                arrow::compute::interleave(&values, rows)
            })
            .collect::<std::result::Result<Vec<ArrayRef>, _>>()?;
        Ok(RecordBatch::try_new(schema.clone(), cols)?)
    };
    let mut out = vec![];
    // Start of the rows not yet in `out`, and of the run being followed.
    let (mut pending, mut run) = (0, 0);
    for k in 1..=indices.len() {
        let follows = indices.get(k).is_some_and(|&(b, i)| {
            let (pb, pi) = indices[k - 1];
            b == pb && i == pi + 1
        });
        if follows {
            continue;
        }
        if k - run >= RUN_ROWS {
            if pending < run {
                out.push(gather(&indices[pending..run])?);
            }
            let (b, i) = indices[run];
            let slice = columns[b].iter().map(|c| c.slice(i, k - run)).collect();
            out.push(RecordBatch::try_new(schema.clone(), slice)?);
            pending = k;
        }
        run = k;
    }
    if pending < indices.len() {
        out.push(gather(&indices[pending..])?);
    }
    Ok(out)
}

/// `batch`'s columns in the order of the lake's schema (a batch read back from Parquet
/// may order or annotate them otherwise).
///
/// # Errors
/// The batch lacks a column of the lake's schema or has it with another type.
pub fn lake_batch(batch: &RecordBatch) -> Result<RecordBatch> {
    let schema = schema();
    let cols = lake_columns(&schema, batch)?;
    Ok(RecordBatch::try_new(schema, cols)?)
}

fn lake_columns(schema: &Schema, b: &RecordBatch) -> Result<Vec<ArrayRef>> {
    (schema.fields().iter())
        .map(|f| {
            b.column_by_name(f.name())
                .filter(|c| c.data_type() == f.data_type())
                .cloned()
                .ok_or_else(|| {
                    arrow::error::ArrowError::SchemaError(format!(
                        "lake batch lacks column {} of type {}",
                        f.name(),
                        f.data_type()
                    ))
                    .into()
                })
        })
        .collect()
}

/// Rows of [`interleave_records`] that follow each other in one batch and are taken as a
/// slice of it rather than copied.
pub const RUN_ROWS: usize = 64;

/// An Arrow batch (as written by [`to_batch`]) back to records.
///
/// # Errors
/// A column is missing or of the wrong type.
pub fn from_batch(b: &RecordBatch) -> Result<Vec<Record>> {
    let c = Columns::new(b)?;
    Ok((0..c.len()).map(|i| c.row(i).to_owned()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_round_trip() {
        let r = Record {
            record_id: "hotline:1".into(),
            received_at: 1_700_000_000_000,
            compound_id: Some("C1".into()),
            match_method: "exact".into(),
            match_score: 1.0,
            content: "电梯坏了".into(),
            participants: Some(7),
            closed_at: Some(1_700_000_100_000),
            status: "closed".into(),
            satisfaction: "dissatisfied".into(),
            ..Default::default()
        };
        let rs = vec![
            r.clone(),
            Record {
                record_id: "hotline:2".into(),
                ..r.clone()
            },
        ];
        let back = from_batch(&to_batch(&rs).unwrap()).unwrap();
        assert_eq!(back, rs);
    }

    #[test]
    fn a_row_hashes_the_same_however_it_is_held() {
        let a = Record {
            record_id: "hotline:1".into(),
            received_at: 1_700_000_000_000,
            compound_id: Some("C1".into()),
            content: "电梯坏了".into(),
            status: "open".into(),
            source_file: "a.csv".into(),
            ..Default::default()
        };
        // Where and when it was read do not count; what it says does.
        let moved = Record {
            source_file: "b.csv".into(),
            source_row: 9,
            ingest_run: "r2".into(),
            ..a.clone()
        };
        let closed = Record {
            status: "closed".into(),
            ..a.clone()
        };
        let unresolved = Record {
            compound_id: None,
            ..a.clone()
        };
        let batch = to_batch(&[a.clone(), moved, closed, unresolved]).unwrap();
        let cols = Columns::new(&batch).unwrap();
        let hashes: Vec<u64> = (0..cols.len())
            .map(|i| cols.row(i).content_hash())
            .collect();
        assert_eq!(hashes[0], a.content_hash());
        assert_eq!(hashes[1], hashes[0]);
        assert_ne!(hashes[2], hashes[0]);
        assert_ne!(hashes[3], hashes[0]);
    }

    #[test]
    fn interleaving_picks_rows_across_batches() {
        let r = |id: &str, t: i64| Record {
            record_id: id.into(),
            received_at: t,
            status: "open".into(),
            ..Default::default()
        };
        let a = to_batch(&[r("a1", 1), r("a2", 2)]).unwrap();
        let b = to_batch(&[r("b1", 3)]).unwrap();
        let out = interleave_records(&[&a, &b], &[(1, 0), (0, 1)]).unwrap();
        let ids: Vec<Str> = (out.iter().flat_map(|b| from_batch(b).unwrap()))
            .map(|r| r.record_id)
            .collect();
        assert_eq!(ids, ["b1", "a2"]);
        // A batch of another schema is an error, not a panic.
        let other = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)])),
            vec![Arc::new(Int64Array::from(vec![1]))],
        )
        .unwrap();
        assert!(interleave_records(&[&a, &other], &[(0, 0)]).is_err());
    }

    #[test]
    fn long_runs_of_a_batch_are_sliced_and_the_rest_gathered() {
        let rs = |p: &str, n: usize| {
            let v: Vec<Record> = (0..n)
                .map(|i| Record {
                    record_id: format!("{p}{i}").into(),
                    received_at: i as i64,
                    status: "open".into(),
                    ..Default::default()
                })
                .collect();
            to_batch(&v).unwrap()
        };
        let (a, b) = (rs("a", 200), rs("b", 10));
        // b0, a0..a99 (a run), b1, a150, b2..b4 (short runs), a100..a169 (a run)
        let mut idx = vec![(1, 0)];
        idx.extend((0..100).map(|i| (0, i)));
        idx.extend([(1, 1), (0, 150), (1, 2), (1, 3), (1, 4)]);
        idx.extend((100..170).map(|i| (0, i)));
        let out = interleave_records(&[&a, &b], &idx).unwrap();
        let sizes: Vec<usize> = out.iter().map(RecordBatch::num_rows).collect();
        assert_eq!(sizes, [1, 100, 5, 70]);
        let ids: Vec<Str> = (out.iter().flat_map(|b| from_batch(b).unwrap()))
            .map(|r| r.record_id)
            .collect();
        let want: Vec<String> = (idx.iter())
            .map(|&(b, i)| format!("{}{i}", ["a", "b"][b]))
            .collect();
        assert_eq!(ids, want);
        // The whole of a batch in order is one slice of it.
        let all: Vec<(usize, usize)> = (0..200).map(|i| (0, i)).collect();
        let out = interleave_records(&[&a], &all).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].num_rows(), 200);
    }
}
