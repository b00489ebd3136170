use std::path::PathBuf;

use anyhow::Context;
use weaksignal_pipeline::config::Config;
use weaksignal_pipeline::ingest::{ingest, IngestSummary};
use weaksignal_pipeline::privacy::Pseudonymizer;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Config file.
    #[arg(long, default_value = "weaksignal.toml")]
    pub(crate) config: PathBuf,
    /// Run date (records later than it plus the tolerance are quarantined); default today.
    #[arg(long, value_parser = super::parse_date)]
    pub(crate) as_of: Option<chrono::NaiveDate>,
}

pub(crate) fn print_summary(s: &IngestSummary) {
    println!(
        "{:<12} {:<28} {:>9} {:>9} {:>8} {:>8} {:>8} {:>7} {:>7}",
        "source", "file", "rows", "loaded", "updated", "quarant.", "dupl.", "match%", "secs"
    );
    for f in &s.files {
        let name = std::path::Path::new(&f.file)
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("");
        if let Some(e) = &f.error {
            println!("{:<12} {:<28} ERROR: {e}", f.source, name);
        } else if f.skipped_unchanged {
            println!("{:<12} {:<28} unchanged, skipped", f.source, name);
        } else {
            println!(
                "{:<12} {:<28} {:>9} {:>9} {:>8} {:>8} {:>8} {:>6.1}% {:>7.2}",
                f.source,
                name,
                f.rows,
                f.loaded,
                f.updated,
                f.quarantined,
                f.duplicates,
                100.0 * f.match_rate(),
                f.seconds
            );
        }
    }
    let (rows, loaded, q, d): (u64, u64, u64, u64) = s.files.iter().fold((0, 0, 0, 0), |a, f| {
        (
            a.0 + f.rows,
            a.1 + f.loaded,
            a.2 + f.quarantined,
            a.3 + f.duplicates,
        )
    });
    println!("total: {rows} rows read = {loaded} loaded + {q} quarantined + {d} duplicates");
    // Files read again, by why, with the lake records they changed.
    let mut again: std::collections::BTreeMap<&str, (usize, u64)> = Default::default();
    for f in &s.files {
        if let Some(why) = &f.read_again {
            let e = again.entry(why).or_default();
            e.0 += 1;
            e.1 += f.changed;
        }
    }
    for (why, (files, changed)) in again {
        println!(
            "read again because {why}: {files} files already loaded; lake records changed: {changed}"
        );
    }
    if s.moved_month > 0 {
        println!(
            "{} records now fall in another month (a corrected time, another datetime format): \
             their earlier versions were removed",
            s.moved_month
        );
    }
    if s.withdrawn_quarantined > 0 {
        println!(
            "{} lake records removed: the files read again now quarantine the rows they were \
             made from",
            s.withdrawn_quarantined
        );
    }
    let names: u64 = s.files.iter().map(|f| f.names_masked).sum();
    if names > 0 {
        println!("personal names masked as [姓名] in {names} loaded rows");
    }
    if s.remasked + s.remasked_quarantined > 0 {
        println!(
            "texts masked again (the masking now hides personal names): {} lake records, {} \
             quarantined rows of earlier runs",
            s.remasked, s.remasked_quarantined
        );
    }
    for (channel, n) in &s.kept_earlier_reading {
        println!(
            "warning: {n} {channel} records keep their earlier reading: their exports are no \
             longer in the folder (put them back to read them again)"
        );
    }
    let mut methods = std::collections::BTreeMap::new();
    for f in &s.files {
        for (k, v) in &f.match_methods {
            *methods.entry(k.clone()).or_insert(0u64) += v;
        }
    }
    println!("compound match by method: {methods:?}");
    if !s.unmatched.is_empty() {
        println!(
            "addresses most often without a compound (the {} most in the run manifest):",
            s.unmatched.len()
        );
        for u in s.unmatched.iter().take(5) {
            let fits = match (u.candidates.is_empty(), u.similarity) {
                (true, _) => String::new(),
                (false, None) => format!(" → {}", first_candidates(&u.candidates)),
                (false, Some(sim)) => {
                    format!(" → nearest ({sim:.2}): {}", first_candidates(&u.candidates))
                }
            };
            println!(
                "  {:>6} rows  {:<10}  {}{fits}",
                u.rows, u.method, u.address
            );
        }
    }
    if !s.unknown_categories.is_empty() {
        println!(
            "category labels the taxonomy does not know (aliases to add in its file; the {} \
             most in the run manifest):",
            s.unknown_categories.len()
        );
        for c in s.unknown_categories.iter().take(5) {
            println!("  {:>6} rows  {}", c.rows, c.label);
        }
    }
    for f in s.files.iter().filter(|f| !f.header_repairs.is_empty()) {
        println!(
            "warning: {}: header read against the source's previous one: {} (check the \
             export; a name its layout now uses goes in the source's columns)",
            f.file,
            f.header_repairs.join(", ")
        );
    }
    for f in s.files.iter().filter(|f| !f.missing_columns.is_empty()) {
        println!(
            "warning: {} has no column for {}: empty in every row",
            f.file,
            f.missing_columns.join("; ")
        );
    }
    for f in s.files.iter().filter(|f| !f.unread_sheets.is_empty()) {
        println!(
            "warning: {}: sheets whose columns differ from the first sheet's are not read: {}",
            f.file,
            f.unread_sheets.join(", ")
        );
    }
    for f in s.files.iter().filter(|f| f.undecodable_rows > 0) {
        println!(
            "warning: {}: {} rows hold bytes that could not be decoded (shown as �), \
             first at {}; check the export and its encoding",
            f.file,
            f.undecodable_rows,
            f.undecodable_first.as_deref().unwrap_or("?")
        );
    }
    for f in s.files.iter().filter(|f| f.shortened_reporters > 0) {
        println!(
            "warning: {}: {} rows have a reporter number the export shortened or rounded (a \
             spreadsheet's 1.38123E+10 or 110101199003071000, a program's doubles; first at \
             {}): households shortened alike cannot be told apart, so these rows count no \
             household; export the column as text",
            f.file,
            f.shortened_reporters,
            f.shortened_reporter_first.as_deref().unwrap_or("?")
        );
    }
    for f in s.files.iter().filter(|f| f.far_dates > 0) {
        println!(
            "warning: {}: {} rows were received far from the rest of the file's, first at {}: \
             a mistyped year? They are loaded into their own months",
            f.file,
            f.far_dates,
            f.far_date_first.as_deref().unwrap_or("?")
        );
    }
    for f in s.files.iter().filter(|f| f.out_of_order > 0) {
        println!(
            "warning: {}: {} tickets were dispatched, closed or due before they were received, \
             or dispatched a year after, first at {}: a mistyped time or year, or a ticket \
             closed before it was logged? They are loaded as exported",
            f.file,
            f.out_of_order,
            f.out_of_order_first.as_deref().unwrap_or("?")
        );
    }
    if !s.frequent_problems.is_empty() {
        println!(
            "quarantined rows most often for (the {} most in the run manifest):",
            s.frequent_problems.len()
        );
        for p in s.frequent_problems.iter().take(5) {
            println!(
                "  {:>6} rows  {:<14}  {}: {} (first: {})",
                p.rows, p.reason, p.source, p.detail, p.first
            );
        }
    }
    if let Some(q) = &s.quarantine_file {
        println!("quarantine: {q}");
    }
}

pub(crate) fn run(a: Args, quiet: bool) -> anyhow::Result<u8> {
    let cfg = Config::load(&a.config)?;
    let keys = Pseudonymizer::load(
        cfg.privacy
            .key_file
            .as_ref()
            .map(|p| cfg.resolve(p))
            .as_deref(),
    )?;
    let as_of = a.as_of.unwrap_or_else(super::today);
    let s = crate::allocator::keeping_freed_memory(|| ingest(&cfg, &keys, as_of, !quiet))
        .with_context(|| format!("ingesting with {}", a.config.display()))?;
    if !quiet {
        print_summary(&s);
    }
    let manifest = cfg
        .resolve(&cfg.lake)
        .join("_runs")
        .join(format!("{}.json", s.run));
    weaksignal_pipeline::lake::write_atomic(&manifest, |f| {
        Ok(serde_json::to_writer_pretty(f, &s)?)
    })?;
    Ok(if s.has_errors() {
        crate::exit::PARTIAL
    } else {
        0
    })
}

/// Candidates shown on a terminal line: a short name that hundreds of compounds hold
/// (`东方园四期`) would fill the screen; the run manifest keeps them all.
const CANDIDATES_SHOWN: usize = 4;

/// The first [`CANDIDATES_SHOWN`] of `candidates`, and how many more there are.
fn first_candidates(candidates: &[String]) -> String {
    let shown = candidates[..candidates.len().min(CANDIDATES_SHOWN)].join(" | ");
    match candidates.len().saturating_sub(CANDIDATES_SHOWN) {
        0 => shown,
        more => format!("{shown} | … {more} more in the run manifest"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_candidate_list_is_cut_on_the_terminal() {
        let c =
            |n: usize| -> Vec<String> { (0..n).map(|i| format!("C{i:03} 东方园")).collect() };
        assert_eq!(first_candidates(&c(2)), "C000 东方园 | C001 东方园");
        assert_eq!(
            first_candidates(&c(4)),
            "C000 东方园 | C001 东方园 | C002 东方园 | C003 东方园"
        );
        assert_eq!(
            first_candidates(&c(300)),
            "C000 东方园 | C001 东方园 | C002 东方园 | C003 东方园 | … 296 more in the run manifest"
        );
    }
}
