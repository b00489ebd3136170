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
//! | address, content | utf8 | free text, normalised, identifiers masked |
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

/// One canonical record.
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

impl Record {
    /// A hash of the record's content (not where or when it was read), to tell an identical
    /// re-export (a duplicate) from an update.
    pub fn content_hash(&self) -> u64 {
        use std::hash::{BuildHasher, Hash, Hasher};
        let mut h = foldhash::quality::FixedState::with_seed(0x5745_414b).build_hasher();
        (
            &self.record_id,
            self.received_at,
            &self.compound_id,
            &self.address,
            &self.content,
            &self.category_l2,
            &self.reporter_key,
            self.participants,
            self.is_collective,
            &self.petition_level,
            self.skip_level,
        )
            .hash(&mut h);
        (
            self.dispatched_at,
            self.due_at,
            self.closed_at,
            &self.status,
            &self.satisfaction,
            self.repeat_flag,
        )
            .hash(&mut h);
        h.finish()
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

macro_rules! strings {
    ($rs:expr, $f:ident) => {{
        let mut b = StringBuilder::new();
        for r in $rs {
            b.append_value(r.$f.as_str());
        }
        Arc::new(b.finish()) as ArrayRef
    }};
}
macro_rules! opt_strings {
    ($rs:expr, $f:ident) => {{
        let mut b = StringBuilder::new();
        for r in $rs {
            b.append_option(r.$f.as_deref());
        }
        Arc::new(b.finish()) as ArrayRef
    }};
}
macro_rules! bools {
    ($rs:expr, $f:ident) => {{
        let mut b = BooleanBuilder::new();
        for r in $rs {
            b.append_value(r.$f);
        }
        Arc::new(b.finish()) as ArrayRef
    }};
}
macro_rules! times {
    ($rs:expr, $f:ident) => {{
        let mut b = TimestampMillisecondBuilder::new().with_timezone(TZ);
        for r in $rs {
            b.append_option(r.$f);
        }
        Arc::new(b.finish()) as ArrayRef
    }};
}

/// Records to an Arrow batch.
///
/// # Errors
/// Never in practice (the columns match the schema).
pub fn to_batch(rs: &[Record]) -> Result<RecordBatch> {
    refs_to_batch(&rs.iter().collect::<Vec<_>>())
}

/// [`to_batch`] of records held by reference (sorted without moving them).
///
/// # Errors
/// Never in practice (the columns match the schema).
pub fn refs_to_batch(rs: &[&Record]) -> Result<RecordBatch> {
    let mut received = TimestampMillisecondBuilder::new().with_timezone(TZ);
    let mut score = Float64Builder::new();
    let mut participants = Int64Builder::new();
    let mut row = Int64Builder::new();
    for r in rs {
        received.append_value(r.received_at);
        score.append_value(r.match_score);
        participants.append_option(r.participants);
        row.append_value(r.source_row);
    }
    let cols: Vec<ArrayRef> = vec![
        strings!(rs, record_id),
        Arc::new(received.finish()),
        opt_strings!(rs, compound_id),
        strings!(rs, match_method),
        Arc::new(score.finish()),
        opt_strings!(rs, street),
        opt_strings!(rs, community),
        opt_strings!(rs, grid),
        strings!(rs, address),
        strings!(rs, content),
        opt_strings!(rs, category_l1),
        opt_strings!(rs, category_l2),
        strings!(rs, category_source),
        opt_strings!(rs, reporter_key),
        Arc::new(participants.finish()),
        bools!(rs, is_collective),
        opt_strings!(rs, petition_level),
        bools!(rs, skip_level),
        times!(rs, dispatched_at),
        times!(rs, due_at),
        times!(rs, closed_at),
        strings!(rs, status),
        strings!(rs, satisfaction),
        bools!(rs, repeat_flag),
        strings!(rs, source_file),
        Arc::new(row.finish()),
        strings!(rs, ingest_run),
    ];
    Ok(RecordBatch::try_new(schema(), cols)?)
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

fn s(a: &StringArray, i: usize) -> String {
    a.value(i).to_owned()
}
fn sv(a: &StringArray, i: usize) -> Str {
    Str::new(a.value(i))
}
fn osv(a: &StringArray, i: usize) -> Option<Str> {
    (!a.is_null(i)).then(|| Str::new(a.value(i)))
}
fn ot(a: &TimestampMillisecondArray, i: usize) -> Option<i64> {
    (!a.is_null(i)).then(|| a.value(i))
}

/// An Arrow batch (as written by [`to_batch`]) back to records.
///
/// # Errors
/// A column is missing or of the wrong type.
pub fn from_batch(b: &RecordBatch) -> Result<Vec<Record>> {
    let id = col::<StringArray>(b, "record_id")?;
    let rec = col::<TimestampMillisecondArray>(b, "received_at")?;
    let cid = col::<StringArray>(b, "compound_id")?;
    let mm = col::<StringArray>(b, "match_method")?;
    let ms = col::<Float64Array>(b, "match_score")?;
    let st = col::<StringArray>(b, "street")?;
    let cm = col::<StringArray>(b, "community")?;
    let gr = col::<StringArray>(b, "grid")?;
    let ad = col::<StringArray>(b, "address")?;
    let ct = col::<StringArray>(b, "content")?;
    let l1 = col::<StringArray>(b, "category_l1")?;
    let l2 = col::<StringArray>(b, "category_l2")?;
    let cs = col::<StringArray>(b, "category_source")?;
    let rk = col::<StringArray>(b, "reporter_key")?;
    let pa = col::<Int64Array>(b, "participants")?;
    let ic = col::<BooleanArray>(b, "is_collective")?;
    let pl = col::<StringArray>(b, "petition_level")?;
    let sk = col::<BooleanArray>(b, "skip_level")?;
    let da = col::<TimestampMillisecondArray>(b, "dispatched_at")?;
    let du = col::<TimestampMillisecondArray>(b, "due_at")?;
    let ca = col::<TimestampMillisecondArray>(b, "closed_at")?;
    let stt = col::<StringArray>(b, "status")?;
    let sat = col::<StringArray>(b, "satisfaction")?;
    let rf = col::<BooleanArray>(b, "repeat_flag")?;
    let sf = col::<StringArray>(b, "source_file")?;
    let sr = col::<Int64Array>(b, "source_row")?;
    let ir = col::<StringArray>(b, "ingest_run")?;
    Ok((0..b.num_rows())
        .map(|i| Record {
            record_id: sv(id, i),
            received_at: rec.value(i),
            compound_id: osv(cid, i),
            match_method: sv(mm, i),
            match_score: ms.value(i),
            street: osv(st, i),
            community: osv(cm, i),
            grid: osv(gr, i),
            address: s(ad, i),
            content: s(ct, i),
            category_l1: osv(l1, i),
            category_l2: osv(l2, i),
            category_source: sv(cs, i),
            reporter_key: osv(rk, i),
            participants: (!pa.is_null(i)).then(|| pa.value(i)),
            is_collective: ic.value(i),
            petition_level: osv(pl, i),
            skip_level: sk.value(i),
            dispatched_at: ot(da, i),
            due_at: ot(du, i),
            closed_at: ot(ca, i),
            status: sv(stt, i),
            satisfaction: sv(sat, i),
            repeat_flag: rf.value(i),
            source_file: sv(sf, i),
            source_row: sr.value(i),
            ingest_run: sv(ir, i),
        })
        .collect())
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
}
