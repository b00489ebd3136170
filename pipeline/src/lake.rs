//! The Parquet lake: `records/channel=<c>/month=<YYYY-MM>/part-0.parquet` (Hive layout,
//! readable as-is by DataFusion, DuckDB, polars and Spark), written atomically (temporary
//! file, fsync, rename) so a crash leaves the previous version intact.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

use crate::config::{Channel, LakeCompression};
use crate::error::IoContext;
use crate::record::{from_batch, Record};
use crate::Result;

/// The folder of one partition.
pub fn partition_dir(lake: &Path, channel: Channel, month: &str) -> PathBuf {
    lake.join("records")
        .join(format!("channel={}", channel.as_str()))
        .join(format!("month={month}"))
}

/// Reads a partition's batches (none if it does not exist).
///
/// # Errors
/// An unreadable Parquet file.
pub fn read_partition_batches(
    lake: &Path,
    channel: Channel,
    month: &str,
) -> Result<Vec<RecordBatch>> {
    let mut out = vec![];
    for f in parquet_files(&partition_dir(lake, channel, month))? {
        let file = File::open(&f).at(&f)?;
        for batch in ParquetRecordBatchReaderBuilder::try_new(file)?.build()? {
            out.push(batch?);
        }
    }
    Ok(out)
}

/// A partition's Parquet files in name order (none if it does not exist; a temporary file
/// of a write in progress is not one).
fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>> {
    if !dir.exists() {
        return Ok(vec![]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .at(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    files.sort();
    Ok(files)
}

/// Reads every record of a partition (empty if it does not exist).
///
/// # Errors
/// An unreadable Parquet file.
pub fn read_partition(lake: &Path, channel: Channel, month: &str) -> Result<Vec<Record>> {
    let mut out = vec![];
    for b in read_partition_batches(lake, channel, month)? {
        out.extend(from_batch(&b)?);
    }
    Ok(out)
}

/// Writes a file atomically: `write` fills a temporary file beside `path`, which is synced
/// and renamed over it.
///
/// # Errors
/// I/O, or whatever `write` returns.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).at(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let mut f = File::create(&tmp).at(&tmp)?;
    write(&mut f)?;
    f.sync_all().at(&tmp)?;
    drop(f);
    std::fs::rename(&tmp, path).at(path)?;
    Ok(())
}

/// Replaces a partition's contents with the records of `batches` (lake schema), in their
/// order (the ingest sorts them by time, then id). A partition left without records is
/// removed: its file, then its folder.
///
/// # Errors
/// I/O or Parquet errors.
pub fn write_partition(
    lake: &Path,
    channel: Channel,
    month: &str,
    batches: &[RecordBatch],
    compression: LakeCompression,
) -> Result<PathBuf> {
    let dir = partition_dir(lake, channel, month);
    let path = dir.join("part-0.parquet");
    if batches.iter().all(|b| b.num_rows() == 0) {
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e).at(&path),
            _ => {}
        }
        // Another file left in the folder keeps it.
        let _ = std::fs::remove_dir(&dir);
        return Ok(path);
    }
    // Dictionaries only where values repeat; unique text (ids, addresses, content,
    // pseudonyms) would fill a dictionary only to fall back to plain encoding. Times and
    // row numbers rise with the partition's order, so they are stored as packed deltas.
    let mut props = WriterProperties::builder()
        .set_compression(match compression {
            LakeCompression::Snappy => Compression::SNAPPY,
            LakeCompression::Zstd => Compression::ZSTD(ZstdLevel::try_new(1)?),
            LakeCompression::Lz4 => Compression::LZ4_RAW,
            LakeCompression::None => Compression::UNCOMPRESSED,
        })
        .set_max_row_group_row_count(Some(128 * 1024));
    for c in ["record_id", "address", "content", "reporter_key"] {
        props = props.set_column_dictionary_enabled(c.into(), false);
    }
    // No min/max for the text columns but the record id: time-ordered row groups each hold
    // nearly every compound, street, category and status, so their bounds would prune
    // nothing, and computing them compared every value twice (about 2 % of an ingest).
    // Times, numbers and the record id (which rises with time) keep theirs.
    for c in [
        "compound_id",
        "match_method",
        "street",
        "community",
        "grid",
        "address",
        "content",
        "category_l1",
        "category_l2",
        "category_source",
        "reporter_key",
        "petition_level",
        "status",
        "satisfaction",
        "source_file",
        "ingest_run",
    ] {
        props = props.set_column_statistics_enabled(c.into(), EnabledStatistics::None);
    }
    for c in [
        "received_at",
        "dispatched_at",
        "due_at",
        "closed_at",
        "source_row",
    ] {
        props = props
            .set_column_dictionary_enabled(c.into(), false)
            .set_column_encoding(c.into(), Encoding::DELTA_BINARY_PACKED);
    }
    let props = props.build();
    write_atomic(&path, |f| {
        let mut w = ArrowWriter::try_new(f, crate::record::schema(), Some(props))?;
        const CHUNK: usize = 64 * 1024;
        for batch in batches {
            let batch = crate::record::lake_batch(batch)?;
            for start in (0..batch.num_rows()).step_by(CHUNK) {
                w.write(&batch.slice(start, CHUNK.min(batch.num_rows() - start)))?;
            }
        }
        w.close()?;
        Ok(())
    })?;
    Ok(path)
}

/// Months with a partition for a channel.
pub fn months(lake: &Path, channel: Channel) -> Vec<String> {
    let dir = lake
        .join("records")
        .join(format!("channel={}", channel.as_str()));
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("month="))
                .map(str::to_owned)
        })
        .collect();
    v.sort();
    v
}

/// Calls `each` with every value of a text column of a channel's partitions (all, or the
/// one of `month`), the column read alone.
///
/// # Errors
/// An unreadable partition.
pub fn for_each_text(
    lake: &Path,
    channel: Channel,
    month: Option<&str>,
    column: &str,
    mut each: impl FnMut(&str),
) -> Result<()> {
    use arrow::array::AsArray;
    for_each_projected(lake, channel, month, &[column], |_, batch| {
        // A partition without the column (none of this version's) gives no column.
        let values = batch
            .columns()
            .first()
            .and_then(|c| c.as_string_opt::<i32>());
        if let Some(values) = values {
            values.iter().flatten().for_each(&mut each);
        }
    })
}

/// Calls `each` with the month and the `source_file` and `source_row` of every record of a
/// channel, those two columns read alone.
///
/// # Errors
/// An unreadable partition.
pub fn for_each_origin(
    lake: &Path,
    channel: Channel,
    mut each: impl FnMut(&str, &str, i64),
) -> Result<()> {
    use arrow::array::AsArray;
    use arrow::datatypes::Int64Type;
    for_each_projected(
        lake,
        channel,
        None,
        &["source_file", "source_row"],
        |m, b| {
            let file = b
                .column_by_name("source_file")
                .and_then(|c| c.as_string_opt::<i32>());
            let row = b
                .column_by_name("source_row")
                .and_then(|c| c.as_primitive_opt::<Int64Type>());
            if let (Some(file), Some(row)) = (file, row) {
                for (f, r) in file.iter().zip(row.iter()) {
                    if let (Some(f), Some(r)) = (f, r) {
                        each(m, f, r);
                    }
                }
            }
        },
    )
}

/// Calls `each` with the month and every batch of a channel's partitions (all, or the one of
/// `month`), of `columns` only.
fn for_each_projected(
    lake: &Path,
    channel: Channel,
    month: Option<&str>,
    columns: &[&str],
    mut each: impl FnMut(&str, &arrow::record_batch::RecordBatch),
) -> Result<()> {
    let months = match month {
        Some(m) => vec![m.to_owned()],
        None => months(lake, channel),
    };
    for m in months {
        for f in parquet_files(&partition_dir(lake, channel, &m))? {
            let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(&f).at(&f)?)?;
            let mask = parquet::arrow::ProjectionMask::columns(
                builder.parquet_schema(),
                columns.iter().copied(),
            );
            for batch in builder.with_projection(mask).build()? {
                each(&m, &batch?);
            }
        }
    }
    Ok(())
}

/// How many records of a channel each source file gave (`source_file`, read alone).
///
/// # Errors
/// An unreadable partition.
pub fn records_by_source_file(
    lake: &Path,
    channel: Channel,
) -> Result<std::collections::HashMap<String, u64>> {
    let mut out = std::collections::HashMap::new();
    for_each_text(lake, channel, None, "source_file", |name| {
        match out.get_mut(name) {
            Some(n) => *n += 1,
            None => {
                out.insert(name.to_owned(), 1);
            }
        }
    })?;
    Ok(out)
}

/// Every record of the lake (for tests and small lakes; analysis goes through DataFusion).
///
/// # Errors
/// An unreadable partition.
pub fn read_all(lake: &Path) -> Result<Vec<(Channel, Record)>> {
    let mut out = vec![];
    for ch in Channel::ALL {
        for m in months(lake, ch) {
            out.extend(read_partition(lake, ch, &m)?.into_iter().map(|r| (ch, r)));
        }
    }
    Ok(out)
}
