//! A dry run of the ingest on each source's newest file: what the config would load and
//! quarantine, before a night runs it (`weaksignal validate`). Nothing is written.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{
    far_months, learn_file, map_row, missing_columns, open_source, readers, redacted_detail,
    shape::ShapeHistory, shown_header, source_files, Context, Mapping, State,
};
use crate::config::Config;
use crate::privacy::Pseudonymizer;
use crate::record::RecordBuilder;
use crate::registry::{Registry, Taxonomy};
use crate::Result;

/// What the ingest would make of the first rows of one source's newest file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Preview {
    /// Source name.
    pub source: String,
    /// The file (its newest by name).
    pub file: String,
    /// Rows read (at most the preview's limit).
    pub rows: u64,
    /// Rows that would load.
    pub loaded: u64,
    /// Of those, rows whose address reached a compound.
    pub resolved: u64,
    /// Rows that would be quarantined, by reason: rows and the first one's detail (redacted
    /// as in the quarantine).
    pub quarantined: BTreeMap<String, (u64, String)>,
    /// Category labels of rows that would load which the taxonomy does not know, with
    /// their rows (identifiers masked): aliases to add before the first night.
    pub unknown_categories: BTreeMap<String, u64>,
    /// Rows that would load without a pseudonym: their reporter is a number a spreadsheet
    /// shortened (`1.38123E+10`).
    pub shortened_reporters: u64,
    /// Rows of a petition's petitioners below its first, where a register merged the
    /// petition's number down their rows: they add to the first row's record.
    pub petitioner_rows: u64,
    /// Rows that would load with a personal name masked (`[姓名]`), to check the masking
    /// and a district's `ingest.name_cues` on its own exports.
    pub names_masked: u64,
    /// Rows that would load into a month far from the rest of the sample's (a mistyped
    /// year), and the first one (see [`FileStats::far_dates`](super::FileStats::far_dates)).
    pub far_dates: u64,
    /// The first of them.
    pub far_date_first: Option<String>,
    /// Rows that would load with a later time before their receipt, and the first one (see
    /// [`FileStats::out_of_order`](super::FileStats::out_of_order)).
    pub out_of_order: u64,
    /// The first of them.
    pub out_of_order_first: Option<String>,
    /// Mapped columns the file lacks (empty in every row).
    pub missing_columns: Vec<String>,
    /// How a damaged or missing header line would be read against the source's previous
    /// header (see [`super::header`]).
    pub header_repairs: Vec<String>,
    /// Why the file cannot be read or mapped at all.
    pub error: Option<String>,
}

impl Preview {
    /// Quarantined rows, all reasons.
    pub fn quarantined_rows(&self) -> u64 {
        self.quarantined.values().map(|(n, _)| n).sum()
    }
}

/// Maps up to `max_rows` rows of each source's newest file as the ingest would on `as_of`
/// (a throwaway pseudonym key: nothing is kept), and counts what would load, reach a
/// compound, or be quarantined and why. A source without a file, or whose file cannot be
/// read or lacks a needed column, has its error.
///
/// # Errors
/// The registry or taxonomy cannot be read.
pub fn preview(cfg: &Config, as_of: NaiveDate, max_rows: usize) -> Result<Vec<Preview>> {
    let registry = Registry::load(
        &cfg.resolve(&cfg.reference.compounds),
        cfg.ingest.fuzzy_threshold,
    )?;
    let taxonomy = Taxonomy::load(&cfg.resolve(&cfg.reference.taxonomy))?;
    let keys = Pseudonymizer::new(&rand::random::<[u8; 32]>())?;
    // The shapes of the sources' files already loaded, as the ingest checks a small file.
    let state = State::load(&cfg.resolve(&cfg.lake))?;
    let ctx = Context::new(cfg, &registry, &taxonomy, &keys, as_of, "preview".into());
    // The newest file of each source: the last in name order.
    let mut newest: BTreeMap<usize, std::result::Result<std::path::PathBuf, String>> =
        BTreeMap::new();
    for (si, f) in source_files(cfg) {
        newest.insert(si, f);
    }
    let mut out = vec![];
    for (si, file) in newest {
        let src = &cfg.sources[si];
        let mut p = Preview {
            source: src.name.clone(),
            ..Preview::default()
        };
        match file {
            Ok(path) => {
                p.file = path.display().to_string();
                let history = state.shapes.get(&src.name);
                let previous = state.headers.get(&src.name);
                if let Err(e) = preview_file(&ctx, si, &path, max_rows, history, previous, &mut p) {
                    p.error = Some(e);
                }
            }
            Err(e) => p.error = Some(e),
        }
        out.push(p);
    }
    Ok(out)
}

/// Fills `p` from the first `max_rows` rows of `path`, or says why the file cannot be mapped.
fn preview_file(
    ctx: &Context<'_>,
    si: usize,
    path: &std::path::Path,
    max_rows: usize,
    history: Option<&ShapeHistory>,
    previous: Option<&Vec<String>>,
    p: &mut Preview,
) -> std::result::Result<(), String> {
    let src = &ctx.config.sources[si];
    // The reader's errors name the file.
    let mut opened = open_source(src, path).map_err(|e| e.to_string())?;
    p.header_repairs = super::read_against_previous_header(src, &mut opened, previous);
    let declared = &opened.header[..opened.declared.min(opened.header.len())];
    let (required, _) = missing_columns(src, declared);
    if !required.is_empty() {
        return Err(super::header_error(src, path, &opened, &required));
    }
    p.missing_columns = missing_columns(src, &opened.header).1;
    let mapping = Mapping::new(src, &opened.header, ctx);
    let width = opened.header.len();
    let header = shown_header(&opened.header);
    let fname = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let sample: Vec<readers::RawRow> = opened.into_rows().take(max_rows).collect();
    // The reporters' shape (CSV only, with the source's earlier files) and the rounded
    // numbers, learned from the sample as the ingest learns them from its first rows.
    let csv = src.format == crate::config::Format::Csv;
    learn_file(&mapping, &header, history, csv, |add| {
        for cells in sample.iter().filter_map(|raw| raw.cells.as_ref().ok()) {
            add(cells);
        }
    });
    let mut builder = RecordBuilder::with_capacity(sample.len());
    let mut months = BTreeMap::new();
    for raw in &sample {
        p.rows += 1;
        let (reason, detail) = match &raw.cells {
            // A petitioner's row below its petition's first adds to it (as in the ingest).
            Ok(_) if raw.span == 0 => {
                p.petitioner_rows += 1;
                continue;
            }
            Ok(cells) => match map_row(
                ctx,
                src,
                &mapping,
                cells,
                fname,
                (raw.row, raw.span),
                &mut builder,
            ) {
                Ok(l) => {
                    p.loaded += 1;
                    p.shortened_reporters += u64::from(l.shortened_reporter);
                    p.names_masked += u64::from(l.names_masked);
                    if let Some(o) = l.out_of_order {
                        p.out_of_order += 1;
                        p.out_of_order_first.get_or_insert_with(|| {
                            super::out_of_order_at(format!("row {}", raw.row), o)
                        });
                    }
                    months.entry(l.month).or_insert((0, raw.row as i64)).0 += 1;
                    if let Some(c) = l.unknown_category {
                        *p.unknown_categories
                            .entry(super::listed_label(&c, &ctx.names))
                            .or_default() += 1;
                    }
                    p.resolved += u64::from(!matches!(
                        l.method,
                        crate::registry::MatchMethod::Ambiguous
                            | crate::registry::MatchMethod::Unresolved
                    ));
                    continue;
                }
                Err(r) => (
                    r.reason.to_owned(),
                    redacted_detail(r.detail, width, cells, &mapping),
                ),
            },
            Err((reason, detail)) => ((*reason).to_owned(), detail.clone()),
        };
        p.quarantined.entry(reason).or_insert((0, detail)).0 += 1;
    }
    (p.far_dates, p.far_date_first) = far_months(&months);
    Ok(())
}
