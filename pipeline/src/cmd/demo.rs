use std::path::PathBuf;

use weaksignal_pipeline::config::Config;
use weaksignal_pipeline::ingest::ingest;
use weaksignal_pipeline::privacy::{create_key_file, Pseudonymizer};
use weaksignal_pipeline::simulate::{simulate, Scale};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Folder for the demo city and its lake.
    #[arg(long, default_value = "weaksignal-demo")]
    dir: PathBuf,
}

pub(crate) fn run(a: Args, quiet: bool) -> anyhow::Result<u8> {
    let config = a.dir.join("weaksignal.toml");
    if !config.exists() {
        println!("creating the small demo city in {} …", a.dir.display());
        simulate(
            Scale::Small,
            42,
            &a.dir,
            chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap_or_default(),
            730,
        )?;
    }
    let cfg = Config::load(&config)?;
    let key = cfg.resolve(
        cfg.privacy
            .key_file
            .as_deref()
            .unwrap_or(std::path::Path::new("secret.key")),
    );
    if !key.exists() {
        create_key_file(&key)?;
    }
    let keys = Pseudonymizer::load(Some(&key))?;
    // The demo data covers 2024-2025; run as of its last day.
    let as_of = chrono::NaiveDate::from_ymd_opt(2025, 12, 30).unwrap_or_default();
    let s = ingest(&cfg, &keys, as_of, !quiet)?;
    super::ingest::print_summary(&s);
    let lake = cfg.resolve(&cfg.lake);
    let manifest = lake.join("_runs").join(format!("{}.json", s.run));
    weaksignal_pipeline::lake::write_atomic(&manifest, |f| {
        Ok(serde_json::to_writer_pretty(f, &s)?)
    })?;
    println!(
        "lake: {}\nrun manifest: {}",
        lake.display(),
        manifest.display()
    );
    println!("(scoring and the HTML report are not built yet: see the open issues)");
    Ok(if s.has_errors() {
        crate::exit::PARTIAL
    } else {
        0
    })
}
