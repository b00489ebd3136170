//! End to end through the binary: `demo` from an empty folder, the manifest's row accounting,
//! a re-run with no new data, a new day of data, runs killed mid-way and re-run to the same
//! outputs, and the report in headless Chromium.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const KEY: &str = "0123456789abcdef0123456789abcdef-test-key";
const AS_OF: &str = "2025-12-30";

/// The `weaksignal` binary of this build: beside the test's own folder in the target
/// directory (`cargo test --workspace` builds it), else built now.
fn exe() -> &'static Path {
    static EXE: OnceLock<PathBuf> = OnceLock::new();
    EXE.get_or_init(|| {
        let me = std::env::current_exe().expect("test executable");
        let profile_dir = me
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>/deps");
        let exe = profile_dir.join(format!("weaksignal{}", std::env::consts::EXE_SUFFIX));
        if !exe.exists() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let mut build = Command::new(cargo);
            build.args(["build", "-p", "weaksignal-pipeline", "--bin", "weaksignal"]);
            if profile_dir.file_name().is_some_and(|n| n == "release") {
                build.arg("--release");
            }
            let status = build.status().expect("run cargo build");
            assert!(status.success(), "cargo build of weaksignal failed");
        }
        exe
    })
}

fn bin() -> Command {
    let mut c = Command::new(exe());
    c.env("WEAKSIGNAL_KEY", KEY).env("RUST_LOG", "warn");
    c
}

fn run_ok(args: &[&str]) -> String {
    let out = bin().args(args).output().expect("run weaksignal");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "weaksignal {args:?} failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// `weaksignal --quiet nightly --config CONFIG --as-of AS_OF`, which must succeed.
fn nightly_ok(config: &std::path::Path, as_of: &str) -> String {
    let config = config.to_str().expect("a UTF-8 temporary path");
    run_ok(&["--quiet", "nightly", "--config", config, "--as-of", as_of])
}

/// One demo shared by the tests of this file (it takes a while in a debug build).
fn demo() -> &'static (tempfile::TempDir, String) {
    static DEMO: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    DEMO.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path().join("demo");
        let out = run_ok(&["--quiet", "demo", "--dir", d.to_str().expect("utf-8 path")]);
        (dir, out)
    })
}

fn demo_dir() -> PathBuf {
    demo().0.path().join("demo")
}

/// Every file under `dir` (relative path → bytes), skipping run manifests and locks.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().to_string();
                if rel.contains("runs/") || rel.ends_with(".lock") || rel.contains("/_runs/") {
                    continue;
                }
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn manifests(dir: &Path) -> Vec<serde_json::Value> {
    let mut v: Vec<(String, serde_json::Value)> = std::fs::read_dir(dir.join("output/runs"))
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    let t = std::fs::read_to_string(e.path()).unwrap();
                    (
                        e.file_name().to_string_lossy().to_string(),
                        serde_json::from_str(&t).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| a.1["started"].as_str().cmp(&b.1["started"].as_str()));
    v.into_iter().map(|x| x.1).collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let p = e.path();
        let q = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &q);
        } else {
            std::fs::copy(&p, &q).unwrap();
        }
    }
}

/// A fresh copy of the demo's inputs (exports, registry, config; no lake, no outputs).
fn fresh_inputs(into: &Path) {
    let src = demo_dir();
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if matches!(name.as_str(), "lake" | "output") {
            continue;
        }
        if e.path().is_dir() {
            copy_dir(&e.path(), &into.join(&name));
        } else {
            std::fs::create_dir_all(into).unwrap();
            std::fs::copy(e.path(), into.join(&name)).unwrap();
        }
    }
}

#[test]
fn demo_accounts_for_every_row_and_reruns_change_nothing() {
    let (_, out) = demo();
    let dir = demo_dir();
    assert!(out.contains("report: "), "{out}");
    let index = dir.join("output/reports").join(AS_OF).join("index.html");
    assert!(index.exists());
    // The report says how many recent records reached no compound (the demo has some).
    let html = std::fs::read_to_string(&index).unwrap();
    assert!(
        html.contains("的地址未能对应到小区"),
        "no unresolved-address note"
    );
    // The first lines a leader reads: the counts, in words (a first run: nothing is "new").
    assert!(html.contains("<p class=\"summary\" id=\"summary\">红色预警小区 "));
    assert!(html.contains("（首次运行，无上次可比）"));
    assert!(html.contains("较上次新增预警（首次运行）"));
    // The red cut-off's note states the precision the rules file asks of it (0.7; the note
    // said "at least half" whatever the setting).
    assert!(
        html.contains("确实发生集体或越级信访的比例不低于70%"),
        "the cut-off note does not state the rules file's precision"
    );
    // The grid grading as a spreadsheet beside its JSON: every grid, Excel's BOM first.
    let alerts = dir.join("output/alerts").join(format!("as_of={AS_OF}"));
    let (_, grades): (String, Vec<serde_json::Value>) =
        serde_json::from_str(&std::fs::read_to_string(alerts.join("grid_grades.json")).unwrap())
            .unwrap();
    let csv = std::fs::read(alerts.join("grid_grades.csv")).unwrap();
    assert!(csv.starts_with(b"\xEF\xBB\xBF"));
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().count(), grades.len() + 1);
    // The half-year up to the date (183 of its 184 days), its rates projected to the whole.
    assert!(csv
        .lines()
        .nth(1)
        .unwrap()
        .starts_with("2025年下半年（截至12月30日，每千人件数按全半年折算）,"));
    assert!(html.contains("网格红黄绿评定 · 2025年下半年（截至12月30日"));
    // The demo's grids all fall below the default yellow threshold: the notes say so, with
    // where their rates lie and which settings to change.
    assert!(html.contains("本期全部网格的件数低于黄色阈值"));
    assert!(html.contains("scoring.grid_yellow_rate"));
    // The demo's district is small: the report lists every grid.
    assert!(html.contains(&format!("共 {} 个网格：", grades.len())));
    assert!(!html.contains("未列出"));
    let m = manifests(&dir);
    assert_eq!(m.len(), 1);
    let files = m[0]["ingest"]["files"].as_array().unwrap();
    assert!(files.len() >= 49, "{} files", files.len());
    let mut rows = 0;
    for f in files {
        let n = |k: &str| f[k].as_u64().unwrap();
        assert_eq!(
            n("rows"),
            n("loaded") + n("quarantined") + n("duplicates"),
            "{f}"
        );
        rows += n("rows");
    }
    assert!(rows > 20_000, "{rows} rows");
    assert_eq!(m[0]["status"], "ok");
    for stage in ["ingest", "score", "report"] {
        assert!(
            m[0]["stages"][stage].as_f64().is_some(),
            "stage {stage} timed"
        );
    }

    // No resident's name anywhere the batch wrote but the exports themselves (the petition
    // register names its petitioners, and some texts sign with them): the report, the
    // alerts, the manifests, the lake's state and quarantine. The lake's records are
    // scanned decoded in the e2e test.
    use weaksignal_pipeline::simulate::{PERSON_GIVEN, PERSON_SURNAMES};
    let masked: u64 = (files.iter())
        .map(|f| f["names_masked"].as_u64().unwrap_or(0))
        .sum();
    assert!(masked > 100, "{masked} rows with names masked");
    let names: Vec<String> = (PERSON_SURNAMES.iter())
        .flat_map(|s| PERSON_GIVEN.iter().map(move |g| format!("{s}{g}")))
        .collect();
    let mut scanned = 0;
    for (rel, bytes) in snapshot(&dir) {
        if rel.starts_with("exports") || rel.ends_with(".png") || rel.ends_with(".parquet") {
            continue;
        }
        let text = String::from_utf8_lossy(&bytes);
        scanned += 1;
        if let Some(n) = names.iter().find(|n| text.contains(n.as_str())) {
            panic!("{rel} holds the name {n}");
        }
    }
    assert!(scanned > 10, "{scanned} files scanned");

    // Re-run with no new data: nothing is ingested, outputs are identical.
    let work = tempfile::tempdir().unwrap();
    let w = work.path().join("city");
    copy_dir(&dir, &w);
    let before = snapshot(&w);
    nightly_ok(&w.join("weaksignal.toml"), AS_OF);
    let after = snapshot(&w);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (k, v) in &before {
        assert!(after[k] == *v, "{k} changed on a re-run with no new data");
    }
    let m = manifests(&w);
    let last = m.last().unwrap();
    for f in last["ingest"]["files"].as_array().unwrap() {
        assert_eq!(f["skipped_unchanged"], true, "{f}");
    }

    // A new day of data: only its file is read.
    let dec = std::fs::read_dir(w.join("exports/hotline"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .max()
        .unwrap();
    let raw = std::fs::read(&dec).unwrap();
    let (text, _, _) = encoding_rs::GBK.decode(&raw);
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let re_slash = regex::Regex::new(r"2025/12/\d+").unwrap();
    let re_dash = regex::Regex::new(r"2025-12-\d\d").unwrap();
    let mut day = vec![header];
    for l in lines.take(30) {
        let l = l.replacen("H0", "H9", 1);
        let l = re_slash.replace_all(&l, "2026/1/1");
        let l = re_dash.replace_all(&l, "2026-01-01");
        day.push(l.to_string());
    }
    let body = day.join("\r\n") + "\r\n";
    let (gbk, _, _) = encoding_rs::GBK.encode(&body);
    std::fs::write(w.join("exports/hotline/12345_2026-01-01.csv"), gbk).unwrap();
    nightly_ok(&w.join("weaksignal.toml"), "2026-01-01");
    let m = manifests(&w);
    let last = m.last().unwrap();
    let read: Vec<&serde_json::Value> = last["ingest"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["skipped_unchanged"] == false)
        .collect();
    assert_eq!(read.len(), 1, "only the new file is read: {read:?}");
    assert!(read[0]["file"]
        .as_str()
        .unwrap()
        .ends_with("12345_2026-01-01.csv"));
    assert_eq!(read[0]["rows"], 30);
    assert_eq!(
        read[0]["loaded"].as_u64().unwrap() + read[0]["quarantined"].as_u64().unwrap(),
        30
    );
    assert!(w.join("output/reports/2026-01-01/index.html").exists());
    // The first report had nothing to compare its alerts with; the next day's counts the
    // new ones against the day before.
    let next = std::fs::read_to_string(w.join("output/reports/2026-01-01/index.html")).unwrap();
    assert!(next.contains("较上次新增预警（上次 2025-12-30）"));
    let runs = run_ok(&[
        "runs",
        "--config",
        w.join("weaksignal.toml").to_str().unwrap(),
    ]);
    assert_eq!(runs.lines().count(), 1 + m.len(), "{runs}");
}

#[test]
fn a_killed_run_followed_by_a_new_one_gives_the_same_outputs() {
    let reference = snapshot(&demo_dir());
    // Time an uninterrupted run to choose kill points across it.
    let t0 = Instant::now();
    let probe = tempfile::tempdir().unwrap();
    fresh_inputs(probe.path());
    nightly_ok(&probe.path().join("weaksignal.toml"), AS_OF);
    let full = t0.elapsed();
    let mut killed_running = 0;
    for frac in [0.05, 0.3, 0.7] {
        let work = tempfile::tempdir().unwrap();
        fresh_inputs(work.path());
        let cfg = work.path().join("weaksignal.toml");
        let mut child = bin()
            .args([
                "--quiet",
                "nightly",
                "--config",
                cfg.to_str().unwrap(),
                "--as-of",
                AS_OF,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_secs_f64(full.as_secs_f64() * frac));
        if child.try_wait().unwrap().is_none() {
            killed_running += 1;
        }
        let _ = child.kill();
        let _ = child.wait();
        nightly_ok(&cfg, AS_OF);
        let got = snapshot(work.path());
        let want: BTreeMap<&String, &Vec<u8>> = reference
            .iter()
            .filter(|(k, _)| !k.starts_with("secret"))
            .collect();
        for (k, v) in want {
            let g = got
                .get(k)
                .unwrap_or_else(|| panic!("killed at {frac}: {k} missing"));
            assert!(
                g == v,
                "killed at {:.0}% of the run: {k} differs",
                100.0 * frac
            );
        }
        let temp_left: Vec<&String> = got.keys().filter(|k| k.contains(".tmp")).collect();
        assert!(
            temp_left.is_empty() || temp_left.iter().all(|k| !k.ends_with(".parquet")),
            "{temp_left:?}"
        );
    }
    assert!(
        killed_running >= 2,
        "only {killed_running} of 3 runs were killed mid-way"
    );
}

#[test]
fn a_live_lock_stops_a_second_run() {
    let work = tempfile::tempdir().unwrap();
    fresh_inputs(work.path());
    let out = work.path().join("output");
    std::fs::create_dir_all(&out).unwrap();
    // This test process is alive: its pid holds the lock.
    std::fs::write(out.join(".lock"), std::process::id().to_string()).unwrap();
    let o = bin()
        .args([
            "--quiet",
            "nightly",
            "--config",
            work.path().join("weaksignal.toml").to_str().unwrap(),
            "--as-of",
            AS_OF,
        ])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(String::from_utf8_lossy(&o.stderr).contains("another run is in progress"));
    // A lock left by a process that is gone is taken over.
    std::fs::write(out.join(".lock"), "999999999").unwrap();
    let o = bin()
        .args([
            "--quiet",
            "validate",
            "--config",
            work.path().join("weaksignal.toml").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

fn chromium() -> Option<PathBuf> {
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
}

#[test]
fn the_report_loads_in_headless_chromium_without_errors_or_requests() {
    let Some(chrome) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have Chromium (.ci/run installs Debian's chromium)"
        );
        eprintln!("SKIPPED: no Chromium on this machine (CI installs it)");
        return;
    };
    let dir = demo_dir();
    let index = dir.join("output/reports").join(AS_OF).join("index.html");
    let url = format!("file://{}", index.display());
    let profile = tempfile::tempdir().unwrap();
    let base = |c: &mut Command| {
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()));
    };
    let mut c = Command::new(&chrome);
    base(&mut c);
    let o = c
        .args(["--virtual-time-budget=3000", "--dump-dom", &url])
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&o.stdout).to_string();
    let log = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(
        dom.contains("弱信号风险报告"),
        "the page did not load:\n{log}"
    );
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Refused to") || l.contains("Uncaught"))
        .collect();
    assert!(console.is_empty(), "console errors: {console:?}");
    for pat in ["src=\"http", "href=\"http", "url(http", "src=\"//"] {
        assert!(!dom.contains(pat), "an external reference ({pat})");
    }
    let alerts: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(
            dir.join("output/alerts")
                .join(format!("as_of={AS_OF}"))
                .join("alerts.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let flagged = alerts.iter().filter(|a| a["level"] != "green").count();
    assert_eq!(dom.matches("class=\"alert-row").count(), flagged);
    // Every chart has a version drawn for a phone's width, which the browser shows there.
    assert!(dom.contains("<picture>"));
    assert_eq!(
        dom.matches("<picture>").count(),
        dom.matches("<img").count()
    );
    // A phone-width screenshot.
    let shot = profile.path().join("phone.png");
    let mut c = Command::new(&chrome);
    base(&mut c);
    let o = c
        .args(["--hide-scrollbars", "--window-size=390,1600"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(shot.exists(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = std::fs::read(&shot).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(
        u32::from_be_bytes([png[16], png[17], png[18], png[19]]),
        390
    );
    let keep = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-phone.png");
    std::fs::copy(&shot, &keep).unwrap();
    eprintln!("phone-width screenshot: {}", keep.display());

    // The report's own font draws its text (CI's Chromium has no CJK font): two pages in
    // that font alone, with the report's `@font-face`, showing different words of it, look
    // different; boxes for missing glyphs would look alike.
    let html = std::fs::read_to_string(&index).unwrap();
    let face = regex::Regex::new(r"@font-face \{[^}]*\}")
        .unwrap()
        .find(&html)
        .expect("the report embeds its font")
        .as_str()
        .to_string();
    let draw = |name: &str, words: &str| -> Vec<u8> {
        let page = profile.path().join(format!("{name}.html"));
        std::fs::write(
            &page,
            format!(
                "<!DOCTYPE html><meta charset=\"utf-8\"><style>{face} body {{ margin: 0; \
                 font: 48px \"weaksignal-cjk\"; }}</style><body>{words}"
            ),
        )
        .unwrap();
        let png = profile.path().join(format!("{name}.png"));
        let mut c = Command::new(&chrome);
        base(&mut c);
        c.args(["--hide-scrollbars", "--window-size=400,80"])
            .arg(format!("--screenshot={}", png.display()))
            .arg(format!("file://{}", page.display()))
            .output()
            .unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(std::fs::read(&png).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size()];
        let frame = reader.next_frame(&mut pixels).unwrap();
        pixels.truncate(frame.buffer_size());
        pixels
    };
    // Both are in the report (its title and a heading).
    let (a, b) = ("弱信号风险报告", "预警小区排名");
    assert!(html.contains(a) && html.contains(b));
    let (a, b) = (draw("a", a), draw("b", b));
    let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
    assert!(
        differing > 2_000,
        "two words in the report's font look alike ({differing} bytes differ): boxes?"
    );
}

/// Another district's habits: a registry kept in Excel (GBK, only the columns it needs: no
/// grids, types or coordinates) and the hotline exported as tab-separated text. With
/// `delimiter = "\t"` the nightly runs end to end: every hotline row is read and accounted
/// for as in the demo's comma-separated files, every compound is scored, and the report
/// leaves out the map and the grid grading it has no data for.
#[test]
fn a_lean_registry_and_tab_separated_exports_run_the_nightly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("lean");
    fresh_inputs(&d);
    let registry = std::fs::read_to_string(d.join("compounds.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(registry.as_bytes());
    let mut lean = String::from("compound_id,name,aliases,street,population\n");
    for r in rows.records() {
        let r = r.unwrap();
        lean.push_str(&format!(
            "{},{},{},{},{}\n",
            &r[0], &r[1], &r[2], &r[3], &r[7]
        ));
    }
    assert!(lean.starts_with("compound_id,name,aliases,street,population\nC"));
    std::fs::write(d.join("compounds.csv"), encoding_rs::GBK.encode(&lean).0).unwrap();
    for e in std::fs::read_dir(d.join("exports/hotline"))
        .unwrap()
        .flatten()
    {
        let bytes = std::fs::read(e.path()).unwrap();
        let (text, _, _) = encoding_rs::GB18030.decode(&bytes);
        let mut w = csv::WriterBuilder::new()
            .delimiter(b'\t')
            .flexible(true)
            .from_writer(vec![]);
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        for rec in r.records() {
            w.write_record(&rec.unwrap()).unwrap();
        }
        let tsv = String::from_utf8(w.into_inner().unwrap()).unwrap();
        std::fs::write(e.path(), encoding_rs::GBK.encode(&tsv).0).unwrap();
    }
    let config = d.join("weaksignal.toml");
    // Before the delimiter is set, `validate`'s dry run says which to set, and fails.
    let validate = || {
        bin()
            .args(["validate", "--config", config.to_str().unwrap()])
            .output()
            .unwrap()
    };
    let o = validate();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(o.status.code(), Some(2), "{text}");
    assert!(text.contains(r#"set `delimiter = "\t"`"#), "{text}");
    let toml = std::fs::read_to_string(&config).unwrap();
    let toml = toml.replacen(
        "format = \"csv\"\n",
        "format = \"csv\"\ndelimiter = \"\\t\"\n",
        1,
    );
    assert!(toml.contains("delimiter"));
    std::fs::write(&config, toml).unwrap();
    let o = validate();
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(o.status.success(), "{text}");
    assert!(text.contains("would load"), "{text}");
    nightly_ok(&config, AS_OF);

    let hotline = |m: &serde_json::Value| -> (u64, u64) {
        let files = m["ingest"]["files"].as_array().unwrap();
        let of = |k: &str| -> u64 {
            (files.iter())
                .filter(|f| f["source"] == "12345热线")
                .map(|f| f[k].as_u64().unwrap())
                .sum()
        };
        (
            of("rows"),
            of("loaded") + of("quarantined") + of("duplicates"),
        )
    };
    let demo = &manifests(&demo_dir())[0];
    let ours = &manifests(&d)[0];
    assert_eq!(ours["status"], "ok");
    let (rows, accounted) = hotline(ours);
    assert_eq!(rows, accounted);
    assert_eq!(
        rows,
        hotline(demo).0,
        "every hotline row read from the tab-separated files"
    );
    let alerts = |dir: &Path| -> usize {
        let p = dir.join(format!("output/alerts/as_of={AS_OF}/alerts.json"));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v.as_array().unwrap().len()
    };
    assert_eq!(alerts(&d), alerts(&demo_dir()));
    let report =
        std::fs::read_to_string(d.join(format!("output/reports/{AS_OF}/index.html"))).unwrap();
    assert!(!report.contains("小区分布") && !report.contains("网格红黄绿评定"));
    assert!(report.contains("预警小区排名"));
}

/// A scoring date before the lake's first record (a year mistyped) is refused, naming the
/// first day, and one well past its last is warned of; before session 39 both scored every
/// compound green from empty windows without a word.
#[test]
fn a_date_before_the_first_record_is_refused_and_one_past_the_last_warned_of() {
    let config = demo_dir().join("weaksignal.toml");
    let config = config.to_str().expect("a UTF-8 temporary path");
    let o = (bin().args([
        "--quiet",
        "score",
        "--config",
        config,
        "--as-of",
        "2015-12-30",
    ]))
    .output()
    .expect("run weaksignal");
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("nothing to score on 2015-12-30: the lake's records start on 2024-01-01"),
        "{err}"
    );
    assert!(!demo_dir().join("output/alerts/as_of=2015-12-30").exists());

    // A date two months past the last export is scored, with a warning naming the lake's
    // newest day (and the report's data notes, see report.rs).
    let work = tempfile::tempdir().unwrap();
    let w = work.path().join("city");
    copy_dir(&demo_dir(), &w);
    let config = w.join("weaksignal.toml");
    let config = config.to_str().expect("a UTF-8 temporary path");
    let o = (bin().args(["score", "--config", config, "--as-of", "2026-03-01"]))
        .output()
        .expect("run weaksignal");
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("the lake's newest record is from 2025-12-30, 61 days before 2026-03-01"),
        "{err}"
    );
}

/// A district in its first weeks: three months of exports. The window features ran their
/// joins on a table without columns when a query had no row (no reopened ticket yet) and
/// scoring failed; now the nightly scores every compound on the rules alone and the report
/// says the red cut-off is the configured one.
#[test]
fn a_young_district_with_three_months_of_exports_runs_the_nightly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("young");
    fresh_inputs(&d);
    for channel in ["hotline", "grid"] {
        for e in std::fs::read_dir(d.join("exports").join(channel))
            .unwrap()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().to_string();
            if !["2025-10", "2025-11", "2025-12"]
                .iter()
                .any(|m| name.contains(m))
            {
                std::fs::remove_file(e.path()).unwrap();
            }
        }
    }
    nightly_ok(&d.join("weaksignal.toml"), AS_OF);
    let m = &manifests(&d)[0];
    assert_eq!(m["status"], "ok");
    let p = d.join(format!("output/alerts/as_of={AS_OF}/alerts.json"));
    let alerts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    assert_eq!(alerts.as_array().unwrap().len(), 80);
    let report =
        std::fs::read_to_string(d.join(format!("output/reports/{AS_OF}/index.html"))).unwrap();
    assert!(
        report.contains("红色门槛为配置值"),
        "the report claims a fitted cut-off"
    );
    // Why there is no model, in the report's language (before: "历史数据不足" whatever the
    // reason, then the model's English error; here the model trains but does not validate).
    let info: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.join(format!("output/alerts/as_of={AS_OF}/score_info.json")))
            .unwrap(),
    )
    .unwrap();
    let why = match info["model_refusal"].as_str() {
        Some("too_little_data") => "历史数据中的升级事件尚不足以训练",
        Some("did_not_validate") => "在留出的历史周上未优于基准，未采用",
        other => panic!("model_refusal {other:?}"),
    };
    assert!(
        report.contains(&format!("升级模型未启用（{why}）；得分仅来自规则。")),
        "the report does not say why the model is off: {}",
        report.split("<h2>说明</h2>").nth(1).unwrap_or("no notes")
    );
    assert!(report.contains("得分0–100：由触发的规则累加；"));
    assert!(
        !report.contains("escalation model"),
        "an English error in the report"
    );
}

#[test]
fn a_taxonomy_change_reaches_the_loaded_records_and_retrains_the_text_model() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path().join("city");
    copy_dir(&demo_dir(), &w);
    let model = |w: &Path| -> serde_json::Value {
        let t = std::fs::read_to_string(w.join("lake/_models/textcat.json")).unwrap();
        serde_json::from_str::<serde_json::Value>(&t).unwrap()["taxonomy"].clone()
    };
    let trained_under = model(&w);
    assert!(trained_under.is_string(), "{trained_under}");
    // The analyst adds a category (an export's label the taxonomy lacked would map to it).
    let taxonomy = w.join("taxonomy.csv");
    let mut t = std::fs::read_to_string(&taxonomy).unwrap();
    t.push_str("环境卫生,垃圾清运,垃圾没人收\n");
    std::fs::write(&taxonomy, t).unwrap();
    let validated = run_ok(&[
        "validate",
        "--config",
        w.join("weaksignal.toml").to_str().unwrap(),
    ]);
    assert!(
        validated.contains("the next ingest reads again, because the taxonomy changed"),
        "{validated}"
    );
    nightly_ok(&w.join("weaksignal.toml"), AS_OF);
    let m = manifests(&w);
    let files = m.last().unwrap()["ingest"]["files"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!files.is_empty());
    for f in &files {
        assert_eq!(f["read_again"], "the taxonomy changed", "{f}");
        assert_eq!(
            f["rows"].as_u64().unwrap(),
            f["loaded"].as_u64().unwrap()
                + f["quarantined"].as_u64().unwrap()
                + f["duplicates"].as_u64().unwrap(),
            "{f}"
        );
    }
    let retrained_under = model(&w);
    assert!(retrained_under.is_string() && retrained_under != trained_under);
    // Nothing changed since: the next night reads nothing again and keeps the model.
    nightly_ok(&w.join("weaksignal.toml"), AS_OF);
    let m = manifests(&w);
    for f in m.last().unwrap()["ingest"]["files"].as_array().unwrap() {
        assert_eq!(f["skipped_unchanged"], true, "{f}");
    }
    assert_eq!(model(&w), retrained_under);
}

/// The December hotline export opened in Excel and saved again: every caller's number
/// written as `1.38123E+10`. The night loads the rows without pseudonyms and says so, and the
/// report tells its reader that repeat-household counts are low because the channel's recent
/// records lost their reporters (against the channel's own earlier share).
#[test]
fn reporters_a_spreadsheet_shortened_are_flagged_in_the_ingest_and_the_report() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path().join("city");
    copy_dir(&demo_dir(), &w);
    let export = w.join("exports/hotline/12345_2025-12.csv");
    let raw = std::fs::read(&export).unwrap();
    let (text, _, _) = encoding_rs::GB18030.decode(&raw);
    let mut shortened = 0;
    let lines: Vec<String> = (text.split('\n').enumerate())
        .map(|(i, line)| {
            let mut cells: Vec<String> = line.split(',').map(str::to_owned).collect();
            match cells.get_mut(2) {
                Some(c) if i > 0 && c.len() == 11 && c.bytes().all(|b| b.is_ascii_digit()) => {
                    *c = format!("{}.{}E+10", &c[..1], &c[1..6]);
                    shortened += 1;
                }
                _ => {}
            }
            cells.join(",")
        })
        .collect();
    assert!(shortened > 500, "{shortened}");
    std::fs::write(&export, encoding_rs::GB18030.encode(&lines.join("\n")).0).unwrap();
    let config = w.join("weaksignal.toml");
    let out = run_ok(&[
        "nightly",
        "--config",
        config.to_str().unwrap(),
        "--as-of",
        AS_OF,
    ]);
    assert!(
        out.contains("rows have a reporter number the export shortened or rounded"),
        "{out}"
    );
    let m = manifests(&w);
    let dec = (m.last().unwrap()["ingest"]["files"]
        .as_array()
        .unwrap()
        .iter())
    .find(|f| f["file"].as_str().unwrap().ends_with("12345_2025-12.csv"))
    .unwrap()
    .clone();
    // Every row that was mapped (the quarantined ones are not) had its reporter shortened.
    let mapped = dec["loaded"].as_u64().unwrap() + dec["duplicates"].as_u64().unwrap();
    assert!(mapped > 500 && mapped <= shortened, "{dec}");
    assert_eq!(dec["shortened_reporters"], mapped, "{dec}");
    let report =
        std::fs::read_to_string(w.join("output/reports").join(AS_OF).join("index.html")).unwrap();
    assert!(
        report.contains("数据提示：12345热线近28天有 100% 的记录缺少来电人标识"),
        "the report does not say the reporters are missing"
    );
    // Its records hold no pseudonym (one shared by every caller shortened alike).
    let lake = weaksignal_pipeline::lake::read_all(&w.join("lake")).unwrap();
    let december: Vec<_> = (lake.iter())
        .filter(|(_, r)| r.source_file == "12345_2025-12.csv")
        .collect();
    assert!(december.len() > 500, "{}", december.len());
    assert!(december.iter().all(|(_, r)| r.reporter_key.is_none()));
}
