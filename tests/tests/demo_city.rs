//! The demo city's statistical shape: rates per 1,000 residents, weekday, Spring Festival
//! and seasonal ratios, the share of malformed rows, and determinism for a seed. The
//! expected values follow from the generative assumptions in `notebooks-data/README.md`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use weaksignal_pipeline::config::{Channel, Config};
use weaksignal_pipeline::ingest::ingest;
use weaksignal_pipeline::privacy::Pseudonymizer;
use weaksignal_pipeline::simulate::{simulate, Scale};

/// The Asia/Shanghai date of a timestamp (no daylight saving there: +08:00 is exact).
fn shanghai_date(ms: i64) -> NaiveDate {
    use chrono::TimeZone;
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .timestamp_millis_opt(ms)
        .unwrap()
        .date_naive()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn digest_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_city() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let c = tempfile::tempdir().unwrap();
    simulate(Scale::Small, 11, a.path(), date(2024, 1, 1), 120).unwrap();
    simulate(Scale::Small, 11, b.path(), date(2024, 1, 1), 120).unwrap();
    simulate(Scale::Small, 12, c.path(), date(2024, 1, 1), 120).unwrap();
    let (ta, tb, tc) = (
        digest_tree(a.path()),
        digest_tree(b.path()),
        digest_tree(c.path()),
    );
    assert!(ta.len() > 5);
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (k, v) in &ta {
        if k.ends_with(".xlsx") {
            // The XLSX container stores its creation time: compare the cells.
            let cells = |root: &Path| {
                let f = weaksignal_pipeline::ingest::readers::open(
                    &root.join(k),
                    weaksignal_pipeline::config::Format::Xlsx,
                    weaksignal_pipeline::config::Encoding::Auto,
                    b',',
                    &[],
                    &[],
                    None,
                )
                .unwrap();
                let header = f.header.clone();
                let rows: Vec<_> = f.into_rows().map(|r| (r.row, r.cells)).collect();
                (header, rows)
            };
            let (a_cells, b_cells) = (cells(a.path()), cells(b.path()));
            assert!(a_cells.1.len() > 5, "{k} has rows");
            assert_eq!(a_cells, b_cells, "{k} differs for the same seed");
        } else {
            assert!(tb[k] == *v, "{k} differs for the same seed");
        }
    }
    assert_ne!(
        ta["compounds.csv"], tc["compounds.csv"],
        "another seed gives another registry"
    );
}

#[test]
fn statistical_shape_of_the_small_city() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulate(Scale::Small, 7, dir.path(), date(2024, 1, 1), 730).unwrap();
    let cfg = Config::load(&sim.config).unwrap();
    let keys = Pseudonymizer::new(b"shape-test-key-0123456789abcdef").unwrap();
    let s = ingest(&cfg, &keys, date(2025, 12, 31), false).unwrap();
    let records = weaksignal_pipeline::lake::read_all(&cfg.resolve(&cfg.lake)).unwrap();

    // Registry: sizes and populations in the documented ranges.
    let registry: Vec<weaksignal_pipeline::registry::Compound> =
        csv::Reader::from_path(dir.path().join("compounds.csv"))
            .unwrap()
            .deserialize()
            .map(Result::unwrap)
            .collect();
    assert_eq!(registry.len(), 80);
    assert!(registry
        .iter()
        .all(|c| (150..=4000).contains(&c.households) && c.population >= c.households));
    let population: f64 = registry.iter().map(|c| f64::from(c.population)).sum();

    // Rate: hotline and grid records per 1,000 residents per year. The background is
    // 0.22 per 1,000 households a day times the type factor (1.0–1.9), i.e. roughly 30–60
    // per 1,000 residents a year at about 2.7 residents per household, plus the episodes.
    let per_year = |ch: Channel| {
        records.iter().filter(|(c, _)| *c == ch).count() as f64 / 2.0 / population * 1000.0
    };
    let tickets = per_year(Channel::Hotline) + per_year(Channel::Grid);
    assert!(
        (25.0..90.0).contains(&tickets),
        "tickets per 1,000 a year {tickets:.1}"
    );
    // Hotline 70 % of the background, the grid 30 %.
    let share = per_year(Channel::Hotline) / tickets;
    assert!((0.6..0.8).contains(&share), "hotline share {share:.2}");

    // Weekday effect: Monday 1.25 against Sunday 0.65.
    let mut by_weekday = [0f64; 7];
    let mut by_day: HashMap<NaiveDate, f64> = HashMap::new();
    let mut heating_by_month = [0f64; 12];
    for (ch, r) in &records {
        if *ch == Channel::Petition {
            continue;
        }
        let d = shanghai_date(r.received_at);
        by_weekday[d.weekday().num_days_from_monday() as usize] += 1.0;
        *by_day.entry(d).or_default() += 1.0;
        if r.category_l2.as_deref() == Some("供暖问题") {
            heating_by_month[d.month0() as usize] += 1.0;
        }
    }
    let monday_sunday = by_weekday[0] / by_weekday[6];
    assert!(
        (1.6..2.3).contains(&monday_sunday),
        "Monday/Sunday {monday_sunday:.2}"
    );
    // Spring Festival 2025 (29 January) ± a week: about half the calls of the weeks around.
    let mean = |from: NaiveDate, to: NaiveDate| {
        let n = (to - from).num_days() + 1;
        from.iter_days()
            .take(n as usize)
            .map(|d| by_day.get(&d).copied().unwrap_or(0.0))
            .sum::<f64>()
            / n as f64
    };
    let festival = mean(date(2025, 1, 23), date(2025, 2, 4));
    let around = (mean(date(2025, 1, 2), date(2025, 1, 15))
        + mean(date(2025, 2, 12), date(2025, 2, 25)))
        / 2.0;
    let dip = festival / around;
    assert!((0.4..0.75).contains(&dip), "Spring Festival ratio {dip:.2}");
    // Heating complaints: winter months (Nov–Mar) weigh 4, the others 0.1.
    let winter: f64 = [10, 11, 0, 1, 2].iter().map(|&m| heating_by_month[m]).sum();
    let summer: f64 = [5, 6, 7].iter().map(|&m| heating_by_month[m]).sum();
    assert!(
        winter > 10.0 * (summer + 1.0),
        "heating winter {winter} summer {summer}"
    );

    // Mess: malformed and test rows are a fraction of a percent of the hotline export.
    let hot: Vec<_> = s.files.iter().filter(|f| f.source == "12345热线").collect();
    let rows: u64 = hot.iter().map(|f| f.rows).sum();
    let quarantined: u64 = hot.iter().map(|f| f.quarantined).sum();
    let q = quarantined as f64 / rows as f64;
    assert!(
        (0.001..0.01).contains(&q),
        "hotline quarantine share {q:.4}"
    );
    // Overlapping monthly files make duplicates and ticket updates.
    let dup: u64 = hot.iter().map(|f| f.duplicates).sum();
    let upd: u64 = hot.iter().map(|f| f.updated).sum();
    assert!(dup > 0 && upd > 0);

    // Ground truth beside the exports: escalations point to episodes that escalate.
    let truth = std::fs::read_to_string(dir.path().join("truth/escalations.csv")).unwrap();
    let n_esc = truth.lines().count() - 1;
    assert!(n_esc >= 15, "{n_esc} escalations");
    let episodes = std::fs::read_to_string(dir.path().join("truth/episodes.csv")).unwrap();
    let kinds: std::collections::BTreeSet<&str> = episodes
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .collect();
    for k in [
        "slow_burn",
        "no_precursor",
        "burst_water_main",
        "resolved_dispute",
    ] {
        assert!(kinds.contains(k), "no {k} episode in {kinds:?}");
    }
}
