use std::path::PathBuf;

use weaksignal_pipeline::config::Config;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Config file.
    #[arg(long, default_value = "weaksignal.toml")]
    config: PathBuf,
}

/// Checks the config, the registry, the taxonomy, the rule file, the lexicon and the key, and
/// reports every problem at once.
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
    if let Err(e) = weaksignal_pipeline::privacy::Pseudonymizer::load(
        cfg.privacy
            .key_file
            .as_deref()
            .map(|p| cfg.resolve(p))
            .as_deref(),
    ) {
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
