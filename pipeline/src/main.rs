//! The `weaksignal` command line.

mod cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

// The ingest allocates and frees millions of small strings; mimalloc does that about twice
// as fast as glibc's allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The allocator's settings: huge pages, and how long freed memory is kept.
pub(crate) mod allocator {
    use std::ffi::c_int;

    /// `mi_option_purge_delay` in mimalloc's `mi_option_e` (the same index in its v2 and v3).
    const PURGE_DELAY: c_int = 15;

    /// Runs `f` (the `ingest` command) with mimalloc keeping the memory it frees for its
    /// next allocations. By default mimalloc (v3) returns freed pages to the system after a
    /// second (`purge_delay` 1000 ms), and the ingest, which frees and allocates millions
    /// of rows' worth, then spends about a fifth of its time in the kernel faulting and
    /// zeroing them again. Only for the standalone command (the process ends with it): in
    /// `nightly` the retained pages push the large city's scoring past 4 GiB.
    pub(crate) fn keeping_freed_memory<T>(f: impl FnOnce() -> T) -> T {
        with_purge_delay(-1, f)
    }

    /// Turns transparent huge pages off for the whole process (Linux), unless the user set
    /// `MIMALLOC_ALLOW_THP` (then mimalloc decides). mimalloc asks for huge pages on its
    /// arenas; every first touch of a 2 MiB page then has the kernel zero all of it, and
    /// pages freed in part stay resident whole. On the 2-core VM the GBK ingest benchmark
    /// spent 1.6–1.9 s in the kernel that way (0.7 s without; wall 7.89 → 7.56 s, median of
    /// five paired), and the large city's first `nightly` took 161.6–168.0 s and peaked at
    /// 3.30–3.45 GB with them, 136.8–140.6 s and 2.50–2.56 GB without.
    pub(crate) fn without_huge_pages() {
        if std::env::var_os("MIMALLOC_ALLOW_THP").is_some() {
            return;
        }
        #[cfg(target_os = "linux")]
        // SAFETY: `prctl(PR_SET_THP_DISABLE, 1, …)` takes integers only and changes how the
        // kernel backs later page faults, nothing the program can observe.
        if unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } != 0 {
            tracing::debug!("transparent huge pages stay on (prctl refused)");
        }
    }

    /// Runs `f` (the scoring of `nightly`) with mimalloc returning freed pages to the system
    /// after 10 ms: the scoring frees each window's tables before it builds the next, and
    /// with the default second the pages of several windows are held at once (the large
    /// city's first run peaked at 4.1–4.3 GB; with 10 ms, below 3.5 GB, some 40 s slower).
    pub(crate) fn returning_freed_memory<T>(f: impl FnOnce() -> T) -> T {
        with_purge_delay(10, f)
    }

    /// Runs `f` with mimalloc's `purge_delay` (ms, −1 never) set to `delay`, then restores
    /// it. `MIMALLOC_PURGE_DELAY` set by the user wins.
    fn with_purge_delay<T>(delay: std::ffi::c_long, f: impl FnOnce() -> T) -> T {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return f();
        }
        // SAFETY: reads and sets one integer option of the allocator, which mimalloc
        // allows at any time from any thread.
        let before = unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, delay) };
        let out = f();
        // SAFETY: as above.
        unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, before) };
        out
    }
}

/// weaksignal: early warning of escalating compound-level problems from 12345, grid and
/// petition records.
#[derive(Parser)]
#[command(
    version,
    after_help = "To try it: `weaksignal demo` builds a simulated district and runs the nightly \
                  batch on it. For a district: write its weaksignal.toml (the demo's is a \
                  commented example), check it with `weaksignal validate`, then schedule \
                  `weaksignal nightly` after the night's exports arrive."
)]
struct Cli {
    /// Only errors on stderr.
    #[arg(long, global = true)]
    quiet: bool,
    /// JSON logs (for schedulers).
    #[arg(long, global = true)]
    json_logs: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate the demo city (registry, exports, truth) deterministically.
    Simulate(cmd::simulate::Args),
    /// Ingest new or changed exports into the lake.
    Ingest(cmd::ingest::Args),
    /// Score an outside series file with one aberration detector.
    Detect(cmd::detect::Args),
    /// Score compounds on a date: features, model, rules, alerts.
    Score(cmd::score::Args),
    /// Score every week between two dates as if live, and measure against the truth.
    Backtest(cmd::backtest::Args),
    /// Train the text category classifier, fill blank categories, flag likely mislabels.
    Classify(cmd::classify::Args),
    /// Write compound features of a date to CSV (for notebooks and audits).
    Features(cmd::features::Args),
    /// Render the HTML report and charts of a date from its alerts.
    Report(cmd::report::Args),
    /// The nightly batch: ingest new exports, score, report, write the run manifest.
    Nightly(cmd::nightly::Args),
    /// List past runs.
    Runs(cmd::runs::Args),
    /// Check the config, registry, rules, lexicon, key and font; report every problem.
    Validate(cmd::validate::Args),
    /// Create the small demo city (if absent), run the nightly batch on it, print the report path.
    Demo(cmd::demo::Args),
}

/// Exit codes (documented in the README).
pub(crate) mod exit {
    /// Something went wrong that is not one of the cases below.
    pub(crate) const FAILURE: u8 = 1;
    /// Bad config or arguments.
    pub(crate) const BAD_CONFIG: u8 = 2;
    /// A source could not be read; the others were loaded.
    pub(crate) const PARTIAL: u8 = 3;
    /// Another run holds the lock.
    pub(crate) const LOCKED: u8 = 4;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let level = if cli.quiet { "error" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    if cli.json_logs {
        tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    } else {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    allocator::without_huge_pages();
    let result = match cli.command {
        Command::Simulate(a) => cmd::simulate::run(a),
        Command::Ingest(a) => cmd::ingest::run(a, cli.quiet),
        Command::Detect(a) => cmd::detect::run(a),
        Command::Score(a) => cmd::score::run(a),
        Command::Backtest(a) => cmd::backtest::run(a),
        Command::Classify(a) => cmd::classify::run(a),
        Command::Features(a) => cmd::features::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Nightly(a) => cmd::nightly::run(a, cli.quiet),
        Command::Runs(a) => cmd::runs::run(a),
        Command::Validate(a) => cmd::validate::run(a),
        Command::Demo(a) => cmd::demo::run(a, cli.quiet),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            let code = match e.downcast_ref::<weaksignal_pipeline::Error>() {
                Some(weaksignal_pipeline::Error::Config { .. })
                | Some(weaksignal_pipeline::Error::NoKey) => exit::BAD_CONFIG,
                Some(weaksignal_pipeline::Error::Locked { .. }) => exit::LOCKED,
                _ => exit::FAILURE,
            };
            ExitCode::from(code)
        }
    }
}
