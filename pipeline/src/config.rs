//! `weaksignal.toml`: the lake, the reference data, the privacy key and the sources.
//!
//! A new export layout is a config change: column names (Chinese headers), datetime formats
//! and value maps all live here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the Parquet lake lives.
    pub lake: PathBuf,
    /// How the lake's Parquet pages are compressed.
    #[serde(default)]
    pub lake_compression: LakeCompression,
    /// Reference data.
    pub reference: Reference,
    /// Privacy settings.
    #[serde(default)]
    pub privacy: Privacy,
    /// Ingest settings.
    #[serde(default)]
    pub ingest: IngestSettings,
    /// Scoring and report settings.
    #[serde(default)]
    pub scoring: Scoring,
    /// The export sources.
    #[serde(rename = "source", default)]
    pub sources: Vec<Source>,
    /// The directory relative paths are resolved against (the config file's folder).
    #[serde(skip)]
    pub base: PathBuf,
}

/// Scoring, report and retention settings (`[scoring]`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scoring {
    /// The rule file (rules and the `[fusion]` cut-offs).
    pub rules: PathBuf,
    /// Escalation phrases, one per line.
    pub lexicon: PathBuf,
    /// Where alerts, models, reports and run manifests go.
    pub output: PathBuf,
    /// Weeks of history the escalation model trains on.
    pub history_weeks: usize,
    /// Weeks of weekly history the trend detectors see.
    pub detector_weeks: usize,
    /// The report's title (the district's name).
    pub title: String,
    /// A CJK font file for the charts (default: the built-in WenQuanYi Micro Hei).
    pub font: Option<PathBuf>,
    /// Days of reports and run manifests kept (0 = keep all).
    pub keep_days: i64,
    /// Days after which the nightly run retrains the text classifier.
    pub text_retrain_days: i64,
    /// Grid grading: 12345 tickets per 1,000 residents per half-year at or above which a grid
    /// is yellow, and red.
    pub grid_yellow_rate: f64,
    /// See `grid_yellow_rate`.
    pub grid_red_rate: f64,
    /// Grid grading: petitions per half-year at or above which a grid is red.
    pub grid_red_petitions: u32,
    /// Tree depths of balanced random forests that compete with the escalation model's
    /// logistic regression on validation (average precision); empty: the logistic regression
    /// alone. Off by default: on the demo city they catch about as many escalations with about
    /// as many quiet reds, and train two to three times as long (see the README).
    pub escalation_forest_depths: Vec<usize>,
}

impl Default for Scoring {
    fn default() -> Self {
        Scoring {
            rules: "rules.toml".into(),
            lexicon: "lexicon.txt".into(),
            output: "output".into(),
            history_weeks: 104,
            detector_weeks: 104,
            title: "示范区".into(),
            font: None,
            keep_days: 90,
            text_retrain_days: 28,
            grid_yellow_rate: 60.0,
            grid_red_rate: 120.0,
            escalation_forest_depths: vec![],
            grid_red_petitions: 3,
        }
    }
}

/// Reference data files.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// Compound registry CSV.
    pub compounds: PathBuf,
    /// Category taxonomy CSV.
    pub taxonomy: PathBuf,
}

/// Privacy settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Privacy {
    /// File holding the HMAC key (used when `WEAKSIGNAL_KEY` is not set).
    pub key_file: Option<PathBuf>,
}

/// Ingest settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestSettings {
    /// Records received more than this many days after the run's date are quarantined.
    pub future_tolerance_days: i64,
    /// Records received before this date are quarantined (`past_date`): a mistyped year
    /// (`1025-03-05`), an Excel date cell left at its zero (`1900-01-00`, serial 1). Default
    /// 2000-01-01, before any district's 12345 hotline or grid platform.
    #[serde(default = "default_earliest", deserialize_with = "date")]
    pub earliest: chrono::NaiveDate,
    /// Content markers of test tickets, quarantined.
    pub test_markers: Vec<String>,
    /// Minimum fuzzy-match similarity (0–1) to accept a compound. A name one edit away
    /// below it (a three-character name, 0.67) is accepted only where the export's place
    /// columns confirm it.
    pub fuzzy_threshold: f64,
    /// Participants at or above which a petition is collective when the export has no flag.
    pub collective_threshold: i64,
    /// Words this district's texts put before a person's name, besides the built-in ones
    /// (`信访人`, `联系人`, `业主`, `我叫`…: see [`crate::names`]): `来访者`, `报修人`. Each
    /// must start with a Chinese character.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub name_cues: Vec<String>,
}

/// A date written as a TOML date (`2000-01-01`) or as a string (`"2000-01-01"`).
fn date<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<chrono::NaiveDate, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Toml(toml::value::Datetime),
        Text(String),
    }
    let text = match Written::deserialize(d)? {
        Written::Toml(t) => t.to_string(),
        Written::Text(t) => t,
    };
    chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map_err(|e| serde::de::Error::custom(format!("`{text}` is not a date (YYYY-MM-DD): {e}")))
}

/// [`IngestSettings::earliest`]'s default.
fn default_earliest() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings {
            future_tolerance_days: 2,
            earliest: default_earliest(),
            test_markers: vec!["测试工单".into(), "测试数据".into()],
            fuzzy_threshold: 0.75,
            collective_threshold: 5,
            name_cues: vec![],
        }
    }
}

/// Compression of the lake's Parquet pages (`lake_compression`). Every choice is read by
/// DataFusion, DuckDB, polars and Spark; a change applies to the partitions written next,
/// and the lake can mix them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LakeCompression {
    /// Snappy (the default of DuckDB and Spark): fast to write and read. On the
    /// 2.4-million-row benchmark the lake is 1.5× the size of `zstd`'s (150 MB against 101)
    /// and the ingest 0.15 s faster (0.27 s less CPU).
    #[default]
    Snappy,
    /// Zstandard, level 1: the smallest lake, at more CPU per write.
    Zstd,
    /// LZ4 (raw), about as fast and as large as Snappy.
    Lz4,
    /// No compression.
    None,
}

/// Source file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated values with a header row. (Each name also in capitals, as a file's
    /// extension is often written.)
    #[serde(alias = "CSV")]
    Csv,
    /// One JSON object per line, or one JSON array of objects (`json` names it too).
    #[serde(alias = "json", alias = "JSONL", alias = "JSON")]
    Jsonl,
    /// Excel workbook (first sheet, header row); `xls` (and ODS) are read alike.
    #[serde(alias = "xls", alias = "XLSX", alias = "XLS")]
    Xlsx,
}

/// Text encoding of a CSV or JSONL file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// UTF-8, with or without BOM (also `UTF-8`, `utf8`).
    #[serde(rename = "utf-8", alias = "UTF-8", alias = "utf8", alias = "UTF8")]
    Utf8,
    /// GBK / GB18030, which read GB2312 too (so those names, in either case, name it).
    #[serde(
        alias = "GBK",
        alias = "gb18030",
        alias = "GB18030",
        alias = "gb2312",
        alias = "GB2312"
    )]
    Gbk,
    /// BOM, then UTF-8 validity, else GB18030.
    #[default]
    Auto,
}

/// Record channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// 12345 hotline.
    Hotline,
    /// Grid complaint platform.
    Grid,
    /// Petitions (信访).
    Petition,
}

impl Channel {
    /// The lake's name for the channel.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Hotline => "hotline",
            Channel::Grid => "grid",
            Channel::Petition => "petition",
        }
    }
    /// All channels.
    pub const ALL: [Channel; 3] = [Channel::Hotline, Channel::Grid, Channel::Petition];
}

/// One export source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Name shown in summaries.
    pub name: String,
    /// Channel of its records.
    pub channel: Channel,
    /// Glob of files, relative to the config file.
    pub path: String,
    /// File format.
    pub format: Format,
    /// Encoding (CSV, JSONL).
    #[serde(default)]
    pub encoding: Encoding,
    /// The CSV field separator: `,` unless the export uses another (`"\t"`, `";"`, `"|"`).
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// The column names of a CSV export that has no header line, in file order: every line
    /// is then a record (`header = ["工单编号", "来电时间", …]`). Unset, a file's own header
    /// line names its columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<Vec<String>>,
    /// Datetime formats to try: chrono syntax (local time, or an instant when it reads `%z`),
    /// or a named one: `excel` (serial days), `rfc3339`, `epoch_s`, `epoch_ms`.
    #[serde(default = "default_datetime_formats")]
    pub datetime_formats: Vec<String>,
    /// Canonical field → the export's column name(s), first present wins.
    pub columns: BTreeMap<String, Vec<String>>,
    /// Canonical field → export value → canonical value.
    #[serde(default)]
    pub values: BTreeMap<String, BTreeMap<String, String>>,
}

fn default_delimiter() -> char {
    ','
}

fn default_datetime_formats() -> Vec<String> {
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y/%m/%d %H:%M:%S",
        "%Y/%m/%d %H:%M",
        "%Y-%m-%d",
        "%Y/%m/%d",
        "excel",
    ]
    .into_iter()
    .map(String::from)
    .collect()
}

/// Canonical fields a source may map.
pub const MAPPABLE_FIELDS: &[&str] = &[
    "source_id",
    "received_at",
    "address",
    "compound",
    "building",
    "content",
    "category",
    "reporter",
    "participants",
    "is_collective",
    "petition_level",
    "skip_level",
    "form",
    "dispatched_at",
    "due_at",
    "closed_at",
    "status",
    "satisfaction",
    "rating",
    "repeat_flag",
    "street",
    "community",
    "grid",
];

/// Fields whose values pass through a value map.
pub const VALUE_MAPPED: &[(&str, &[&str])] = &[
    ("status", &["open", "closed", "returned"]),
    (
        "satisfaction",
        &["satisfied", "basic", "dissatisfied", "none"],
    ),
    (
        "petition_level",
        &["district", "city", "province", "national"],
    ),
    ("is_collective", &["true", "false"]),
    ("skip_level", &["true", "false"]),
    ("repeat_flag", &["true", "false"]),
];

impl Config {
    /// Reads and validates a config file, reporting every problem at once.
    ///
    /// # Errors
    /// [`Error::Config`] listing each problem.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            path: path.into(),
            reason: e.to_string(),
        })?;
        let mut cfg: Config = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.into(),
            reason: e.to_string(),
        })?;
        cfg.base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let problems = cfg.problems();
        if !problems.is_empty() {
            return Err(Error::Config {
                path: path.into(),
                reason: problems.join("\n"),
            });
        }
        Ok(cfg)
    }

    /// Every problem with the configuration (empty when valid).
    pub fn problems(&self) -> Vec<String> {
        let mut p = vec![];
        if self.sources.is_empty() {
            p.push("no [[source]] defined".into());
        }
        let mut names = std::collections::BTreeSet::new();
        for s in &self.sources {
            if !names.insert(&s.name) {
                p.push(format!("source `{}` defined twice", s.name));
            }
            for f in s.columns.keys() {
                if !MAPPABLE_FIELDS.contains(&f.as_str()) {
                    p.push(format!(
                        "source `{}`: unknown canonical field `{f}` in columns",
                        s.name
                    ));
                }
            }
            for f in ["source_id", "received_at"] {
                if !s.columns.contains_key(f) {
                    p.push(format!("source `{}`: columns must map `{f}`", s.name));
                }
            }
            if !s.columns.contains_key("content") && !s.columns.contains_key("category") {
                p.push(format!(
                    "source `{}`: columns must map `content` or `category`",
                    s.name
                ));
            }
            for (field, map) in &s.values {
                match VALUE_MAPPED.iter().find(|(f, _)| f == field) {
                    None => p.push(format!(
                        "source `{}`: no value map allowed for `{field}`",
                        s.name
                    )),
                    Some((_, allowed)) => {
                        for (k, v) in map {
                            if !allowed.contains(&v.as_str()) {
                                p.push(format!(
                                    "source `{}`: values.{field}.\"{k}\" = \"{v}\" is not one of {allowed:?}",
                                    s.name
                                ));
                            }
                        }
                    }
                }
            }
            if !s.delimiter.is_ascii() || matches!(s.delimiter, '"' | '\r' | '\n') {
                p.push(format!(
                    "source `{}`: delimiter must be one ASCII character other than a quote or a \
                     line break, got {:?}",
                    s.name, s.delimiter
                ));
            }
            if let Some(h) = &s.header {
                if s.format != Format::Csv {
                    p.push(format!(
                        "source `{}`: `header` names the columns of a CSV export without a \
                         header line; the source's files (format = {:?}) have their own",
                        s.name,
                        format!("{:?}", s.format).to_lowercase()
                    ));
                }
                if h.iter().any(|n| n.trim().is_empty()) {
                    p.push(format!("source `{}`: `header` has an empty name", s.name));
                }
                let mut seen = std::collections::BTreeSet::new();
                for n in h.iter().filter(|n| !seen.insert(n.as_str())) {
                    p.push(format!("source `{}`: `header` names `{n}` twice", s.name));
                }
            }
            for f in &s.datetime_formats {
                if !crate::ingest::datetime::NAMED_FORMATS.contains(&f.as_str())
                    && chrono::format::StrftimeItems::new(f)
                        .any(|i| matches!(i, chrono::format::Item::Error))
                {
                    p.push(format!("source `{}`: bad datetime format `{f}`", s.name));
                }
            }
        }
        for cue in (self.ingest.name_cues.iter()).filter(|c| !crate::names::valid_cue(c)) {
            p.push(format!(
                "ingest.name_cues: `{cue}` must start with a Chinese character"
            ));
        }
        if self.ingest.future_tolerance_days < 0 {
            p.push(format!(
                "ingest.future_tolerance_days must be 0 or more (days a record may be received \
                 after the run's date), got {}",
                self.ingest.future_tolerance_days
            ));
        }
        let horizon_weeks = (crate::score::HORIZON_DAYS / 7) as usize;
        if self.scoring.history_weeks <= horizon_weeks {
            p.push(format!(
                "scoring.history_weeks must be more than {horizon_weeks}: the escalation model \
                 learns from weeks whose following {horizon_weeks} are known, got {}",
                self.scoring.history_weeks
            ));
        }
        let needed = crate::features::detector_weeks_needed();
        if self.scoring.detector_weeks < needed {
            p.push(format!(
                "scoring.detector_weeks must be at least {needed}: the Farrington detector \
                 compares a week with the same weeks a year before (with fewer, the rule on \
                 counts rising above their baseline never fires), got {}",
                self.scoring.detector_weeks
            ));
        }
        let (yellow, red) = (self.scoring.grid_yellow_rate, self.scoring.grid_red_rate);
        if !(yellow.is_finite() && red.is_finite() && 0.0 <= yellow && yellow <= red) {
            p.push(format!(
                "scoring.grid_yellow_rate and grid_red_rate must be numbers with 0 <= yellow <= \
                 red, got {yellow} and {red}"
            ));
        }
        if !(0.0..=1.0).contains(&self.ingest.fuzzy_threshold) {
            p.push(format!(
                "ingest.fuzzy_threshold must be in [0, 1], got {}",
                self.ingest.fuzzy_threshold
            ));
        }
        p
    }

    /// A path from the config, resolved against the config's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base.join(p)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ingest.earliest` reads as a TOML date or a string; anything else names the value.
    #[test]
    fn the_earliest_date_reads_as_a_toml_date_or_a_string() {
        let demo = crate::simulate::DEMO_CONFIG;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.toml");
        let with = |line: &str| demo.replace("earliest = 2000-01-01", line);
        for (line, want) in [
            ("earliest = 2000-01-01", (2000, 1, 1)),
            ("earliest = \"1995-06-30\"", (1995, 6, 30)),
            ("", (2000, 1, 1)),
        ] {
            std::fs::write(&p, with(line)).unwrap();
            let cfg = Config::load(&p).unwrap();
            let (y, m, d) = want;
            assert_eq!(
                cfg.ingest.earliest,
                chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap()
            );
        }
        std::fs::write(&p, with("earliest = \"2000年\"")).unwrap();
        let e = Config::load(&p).unwrap_err().to_string();
        assert!(e.contains("`2000年` is not a date"), "{e}");
    }

    /// The demo config's commented name cues read, and a cue that cannot start a name is
    /// named in the error.
    #[test]
    fn name_cues_start_with_a_chinese_character() {
        let demo = crate::simulate::DEMO_CONFIG;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.toml");
        let example = "# name_cues = [\"报修人\", \"来访者\"]";
        assert!(demo.contains(example));
        std::fs::write(&p, demo.replace(example, &example[2..])).unwrap();
        assert_eq!(
            Config::load(&p).unwrap().ingest.name_cues,
            ["报修人", "来访者"]
        );
        std::fs::write(&p, demo.replace(example, "name_cues = [\"tenant\", \"\"]")).unwrap();
        let e = Config::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("`tenant` must start with a Chinese character"),
            "{e}"
        );
        assert!(e.contains("`` must start"), "{e}");
    }

    /// Settings that would silently switch a stage off, or quarantine a night's records,
    /// are refused with the setting's name and what it needs (they were read as given).
    #[test]
    fn settings_that_would_switch_a_stage_off_are_refused() {
        let demo = crate::simulate::DEMO_CONFIG;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.toml");
        for (from, to, want) in [
            (
                "future_tolerance_days = 2",
                "future_tolerance_days = -1",
                "ingest.future_tolerance_days must be 0 or more",
            ),
            (
                "history_weeks = 104",
                "history_weeks = 8",
                "scoring.history_weeks must be more than 8",
            ),
            (
                "detector_weeks = 104",
                "detector_weeks = 52",
                "scoring.detector_weeks must be at least 56",
            ),
            (
                "grid_red_rate = 120.0",
                "grid_red_rate = 30.0",
                "0 <= yellow <= red, got 60 and 30",
            ),
        ] {
            assert!(demo.contains(from), "{from}");
            std::fs::write(&p, demo.replace(from, to)).unwrap();
            let e = Config::load(&p).unwrap_err().to_string();
            assert!(e.contains(want), "{to}: {e}");
        }
        // The smallest accepted values load.
        let edge = (demo.replace("future_tolerance_days = 2", "future_tolerance_days = 0"))
            .replace("history_weeks = 104", "history_weeks = 9")
            .replace("detector_weeks = 104", "detector_weeks = 56");
        std::fs::write(&p, edge).unwrap();
        assert!(Config::load(&p).is_ok());
    }

    /// Formats and encodings read as analysts write them: in capitals, and GBK's other names.
    #[test]
    fn formats_and_encodings_read_in_capitals_and_by_their_other_names() {
        /// The value `name` reads as, as a TOML string.
        fn read<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
            toml::from_str::<std::collections::BTreeMap<String, T>>(&format!("v = \"{name}\""))
                .ok()
                .and_then(|mut m| m.remove("v"))
        }
        let formats = [
            ("csv", Format::Csv),
            ("CSV", Format::Csv),
            ("JSONL", Format::Jsonl),
            ("json", Format::Jsonl),
            ("XLSX", Format::Xlsx),
            ("XLS", Format::Xlsx),
        ];
        for (name, want) in formats {
            assert_eq!(read::<Format>(name), Some(want), "{name}");
        }
        let encodings = [
            ("utf-8", Encoding::Utf8),
            ("UTF-8", Encoding::Utf8),
            ("utf8", Encoding::Utf8),
            ("gbk", Encoding::Gbk),
            ("GBK", Encoding::Gbk),
            ("GB18030", Encoding::Gbk),
            ("gb2312", Encoding::Gbk),
            ("auto", Encoding::Auto),
        ];
        for (name, want) in encodings {
            assert_eq!(read::<Encoding>(name), Some(want), "{name}");
        }
        assert_eq!(read::<Encoding>("big5"), None);
    }

    /// The demo config's commented example of a platform's JSON source is a valid source.
    #[test]
    fn the_demo_configs_example_source_is_valid() {
        let demo = crate::simulate::DEMO_CONFIG;
        let example: Vec<&str> = (demo.lines())
            .skip_while(|l| !l.starts_with("#   [[source]]"))
            .map(|l| l.trim_start_matches('#').trim_start())
            .collect();
        assert!(example.len() > 10, "{example:?}");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.toml");
        std::fs::write(&p, format!("{demo}\n{}\n", example.join("\n"))).unwrap();
        let cfg = Config::load(&p).unwrap();
        let src = cfg.sources.last().unwrap();
        assert_eq!(
            (src.name.as_str(), src.format),
            ("网格小程序", Format::Jsonl)
        );
        assert_eq!(src.datetime_formats, ["rfc3339", "epoch_ms"]);
        assert_eq!(src.columns["received_at"], ["createTime.$date"]);
    }

    #[test]
    fn reports_every_problem_at_once() {
        let text = r#"
lake = "lake"
[reference]
compounds = "c.csv"
taxonomy = "t.csv"
[[source]]
name = "a"
channel = "hotline"
path = "*.csv"
format = "csv"
datetime_formats = ["%Y-%m-%d %Q", "rfc3339", "epoch_ms", "epoch_s", "excel"]
columns = { source_id = ["id"], colour = ["x"] }
values = { status = { "已办结" = "done" } }
"#;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("w.toml");
        std::fs::write(&p, text).unwrap();
        let e = Config::load(&p).unwrap_err().to_string();
        for needle in ["colour", "received_at", "content", "done", "%Q"] {
            assert!(e.contains(needle), "missing `{needle}` in: {e}");
        }
        // The named formats are not chrono's, and not errors.
        assert_eq!(e.matches("bad datetime format").count(), 1, "{e}");
    }
}
