use std::path::PathBuf;

use weaksignal_pipeline::config::Config;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Config file.
    #[arg(long, default_value = "weaksignal.toml")]
    config: PathBuf,
    /// Rows of each source's newest file to map as a dry run (0: none).
    #[arg(long, default_value_t = 1000)]
    preview_rows: usize,
}

/// Share of a previewed file's rows that, quarantined, points to the config rather than the
/// export (a datetime layout no format reads, a value map that does not fit).
const QUARANTINED_PROBLEM: f64 = 0.5;

/// Checks the config, the registry, the taxonomy, the rule file, the lexicon and the key;
/// maps the first rows of each source's newest file as the ingest would (nothing written);
/// and reports every problem at once.
pub(crate) fn run(a: Args) -> anyhow::Result<u8> {
    let cfg = match Config::load(&a.config) {
        Ok(c) => c,
        Err(e) => {
            println!("{e}");
            return Ok(crate::exit::BAD_CONFIG);
        }
    };
    let mut problems: Vec<String> = vec![];
    if let Err(e) = weaksignal_pipeline::registry::Registry::load(
        &cfg.resolve(&cfg.reference.compounds),
        cfg.ingest.fuzzy_threshold,
    ) {
        problems.push(e.to_string());
    }
    if let Err(e) =
        weaksignal_pipeline::registry::Taxonomy::load(&cfg.resolve(&cfg.reference.taxonomy))
    {
        problems.push(e.to_string());
    }
    let rules = cfg.resolve(&cfg.scoring.rules);
    match weaksignal_pipeline::registry::read_text(&rules) {
        Ok(t) => {
            if let Err(e) = weaksignal_models::rules::RuleSet::parse(
                &t,
                weaksignal_pipeline::features::FEATURES,
                weaksignal_pipeline::features::TEXTS,
            ) {
                problems.push(format!("{}: {e}", rules.display()));
            }
        }
        Err(e) => problems.push(e.to_string()),
    }
    let lex = cfg.resolve(&cfg.scoring.lexicon);
    if let Err(e) = weaksignal_pipeline::registry::read_text(&lex) {
        problems.push(e.to_string());
    }
    let keys = weaksignal_pipeline::privacy::Pseudonymizer::load(
        cfg.privacy
            .key_file
            .as_deref()
            .map(|p| cfg.resolve(p))
            .as_deref(),
    );
    if let Err(e) = &keys {
        problems.push(e.to_string());
    }
    for (i, f) in weaksignal_pipeline::ingest::source_files(&cfg) {
        if let Err(e) = f {
            problems.push(format!("source `{}`: {e}", cfg.sources[i].name));
        }
    }
    if let Err(e) = weaksignal_reports::font::find(
        cfg.scoring
            .font
            .as_deref()
            .map(|p| cfg.resolve(p))
            .as_deref(),
    ) {
        problems.push(e.to_string());
    }
    if problems.is_empty() && a.preview_rows > 0 {
        let as_of = super::today();
        match weaksignal_pipeline::ingest::preview::preview(&cfg, as_of, a.preview_rows) {
            Ok(previews) => {
                println!(
                    "dry run on each source's newest file (first {} rows, nothing written):",
                    a.preview_rows
                );
                for p in &previews {
                    problems.extend(show(p));
                }
            }
            Err(e) => problems.push(e.to_string()),
        }
    }
    if weaksignal_pipeline::ingest::cut_short(&cfg) {
        println!(
            "the last ingest stopped before it finished (killed, or out of space?): the next \
             one completes it"
        );
    }
    if let (true, Ok(keys)) = (problems.is_empty(), &keys) {
        match weaksignal_pipeline::ingest::files_read_again(&cfg, keys) {
            Ok(again) => show_read_again(&again),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if problems.is_empty() {
        println!("{}: ok", a.config.display());
        Ok(0)
    } else {
        for p in &problems {
            println!("- {p}");
        }
        println!("{} problem(s)", problems.len());
        Ok(crate::exit::BAD_CONFIG)
    }
}

/// Says which files already loaded the next ingest reads again, by why (a registry change
/// re-reads every export: years of them take a while).
fn show_read_again(again: &[(String, String)]) {
    let mut by_why: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for (file, why) in again {
        by_why.entry(why).or_default().push(file);
    }
    for (why, files) in by_why {
        let shown = files.iter().take(3).copied().collect::<Vec<_>>().join(", ");
        let more = match files.len() {
            n if n > 3 => format!(", … ({n} files)"),
            _ => String::new(),
        };
        println!("the next ingest reads again, because {why}: {shown}{more}");
    }
}

/// Prints one source's dry run; a problem when its file cannot be mapped or most of its rows
/// would be quarantined.
fn show(p: &weaksignal_pipeline::ingest::preview::Preview) -> Option<String> {
    if let Some(e) = &p.error {
        println!("  {}: {e}", p.source);
        return Some(format!("source `{}`: {e}", p.source));
    }
    let q = p.quarantined_rows();
    println!(
        "  {} {}: {} rows, {} would load ({:.1} % to a compound), {} quarantined",
        p.source,
        p.file,
        p.rows,
        p.loaded,
        100.0 * p.resolved as f64 / p.loaded.max(1) as f64,
        q
    );
    for (reason, (n, first)) in &p.quarantined {
        println!("      {n:>5} {reason} (first: {first})");
    }
    if !p.header_repairs.is_empty() {
        println!(
            "      header read against the source's previous one: {}",
            p.header_repairs.join(", ")
        );
    }
    if !p.missing_columns.is_empty() {
        println!("      no column for {}", p.missing_columns.join("; "));
    }
    if p.shortened_reporters > 0 {
        println!(
            "      {} rows have a reporter number the export shortened or rounded (like \
             1.38123E+10): they would count no household; export the column as text",
            p.shortened_reporters
        );
    }
    if p.petitioner_rows > 0 {
        println!(
            "      {} rows are petitioners of the petition above them (its number merged \
             down their rows): each petition loads once, counting them",
            p.petitioner_rows
        );
    }
    if p.names_masked > 0 {
        println!(
            "      {} rows would have a personal name masked as [姓名]",
            p.names_masked
        );
    }
    if let Some(first) = &p.far_date_first {
        println!(
            "      {} rows were received far from the rest of the file's, first at {first}: a \
             mistyped year?",
            p.far_dates
        );
    }
    if let Some(first) = &p.out_of_order_first {
        println!(
            "      {} tickets were dispatched, closed or due before they were received, or \
             dispatched a year after, first at {first}",
            p.out_of_order
        );
    }
    if !p.unknown_categories.is_empty() {
        let mut labels: Vec<(&String, &u64)> = p.unknown_categories.iter().collect();
        labels.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
        let shown: Vec<String> = (labels.iter().take(5))
            .map(|(l, n)| format!("{l} ({n})"))
            .collect();
        println!(
            "      {} category labels the taxonomy does not know: {}",
            labels.len(),
            shown.join(", ")
        );
    }
    (p.rows > 0 && q as f64 > QUARANTINED_PROBLEM * p.rows as f64).then(|| {
        format!(
            "source `{}`: {q} of the first {} rows of {} would be quarantined: check its \
             datetime formats, value maps and columns",
            p.source, p.rows, p.file
        )
    })
}
