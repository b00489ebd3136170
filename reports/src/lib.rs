//! weaksignal's reports: PNG charts with Chinese labels (plotters, a CJK font built in:
//! [`font`]) and one self-contained zh-CN HTML file per date (minijinja, images inline, no
//! network), plus a one-page PNG summary (日报) for a chat group.
//!
//! The crate takes plain data ([`ReportData`]) and writes files; it knows nothing of the lake.

pub mod charts;
pub mod font;
pub mod html;

use serde::{Deserialize, Serialize};

/// Errors of the report stage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The CJK font named could not be found or loaded.
    #[error("font: {0}")]
    Font(String),
    /// A chart could not be drawn.
    #[error("chart {chart}: {reason}")]
    Chart {
        /// Which chart.
        chart: &'static str,
        /// The drawing error.
        reason: String,
    },
    /// The HTML template failed.
    #[error("html template: {0}")]
    Template(#[from] minijinja::Error),
    /// PNG encoding failed.
    #[error("png: {0}")]
    Png(#[from] png::EncodingError),
    /// I/O on a path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Headline figures.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Headline {
    /// Records received on the date: hotline, grid, petition.
    pub day: [u64; 3],
    /// Records received in the 7 days up to the date.
    pub week: [u64; 3],
    /// Satisfied or basically satisfied among rated tickets of the last 28 days.
    pub satisfaction: Option<f64>,
    /// Share of the last 28 days' records that did not become a petition.
    pub local_share: Option<f64>,
    /// Red compounds.
    pub red: usize,
    /// Yellow compounds.
    pub yellow: usize,
    /// Red or yellow alerts that are new since the previous run.
    pub new_alerts: usize,
    /// The date of the previous scoring `new_alerts` counts against; `None` on a first run,
    /// when every alert is new and the count says nothing.
    #[serde(default)]
    pub compared_with: Option<String>,
    /// Channels whose records stop before the date or are far fewer than usual on it, in
    /// plain Chinese: a report without alerts may only be missing its data.
    #[serde(default)]
    pub data_gaps: Vec<String>,
}

/// One row of the alert table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlertRow {
    /// Compound id.
    pub compound_id: String,
    /// Compound name.
    pub name: String,
    /// 街道.
    pub street: String,
    /// 社区.
    pub community: String,
    /// red / yellow / green.
    pub level: String,
    /// 0–100.
    pub score: f64,
    /// 新增 / 上升 / 下降 / 持平.
    pub trend: String,
    /// Top category.
    pub top_category: String,
    /// Reasons, most serious first.
    pub reasons: Vec<String>,
    /// First date of the current alert.
    pub first_raised: String,
    /// Rule names that fired.
    pub rules: Vec<String>,
}

/// A compound's weekly series for the trend chart.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TrendSeries {
    /// Week end dates (YYYY-MM-DD).
    pub weeks: Vec<String>,
    /// Records per week.
    pub counts: Vec<f64>,
    /// Detector upper bound (None where not scored).
    pub upper: Vec<Option<f64>>,
    /// Detector alarm per week.
    pub alarms: Vec<bool>,
    /// A petition that week.
    pub petitions: Vec<bool>,
    /// Index of the week the alert was first raised.
    pub first_raised: Option<usize>,
}

/// The detail of one red compound.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Detail {
    /// Its row in the alert table.
    pub alert: AlertRow,
    /// Weekly series.
    pub trend: TrendSeries,
    /// Records per category over the last 8 weeks.
    pub categories: Vec<(String, u64)>,
    /// Recent representative texts (redacted at ingest): date, channel, text.
    pub texts: Vec<(String, String, String)>,
}

/// One street's bar.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StreetBar {
    /// 街道.
    pub street: String,
    /// Red compounds.
    pub red: usize,
    /// Yellow compounds.
    pub yellow: usize,
    /// Records per 1,000 residents in the last 28 days.
    pub rate: f64,
}

/// One compound on the map.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MapPoint {
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
    /// red / yellow / green.
    pub level: String,
}

/// One grid's grade.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GridRow {
    /// 街道.
    pub street: String,
    /// 社区.
    pub community: String,
    /// 网格.
    pub grid: String,
    /// Residents.
    pub population: u64,
    /// 12345 tickets in the half-year.
    pub tickets: u64,
    /// Per 1,000 residents.
    pub rate: f64,
    /// Petitions in the half-year.
    pub petitions: u64,
    /// red / yellow / green.
    pub level: String,
}

/// A heatmap: rows × columns of counts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Heatmap {
    /// Row labels (compound and category).
    pub rows: Vec<String>,
    /// Column labels (week end dates).
    pub cols: Vec<String>,
    /// values[row][col].
    pub values: Vec<Vec<f64>>,
}

/// Everything one report shows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ReportData {
    /// Report date.
    pub as_of: String,
    /// Title (district name).
    pub title: String,
    /// Headline figures.
    pub headline: Headline,
    /// Red and yellow alerts, ranked.
    pub alerts: Vec<AlertRow>,
    /// Red compounds in detail.
    pub details: Vec<Detail>,
    /// Category heatmap of the top-risk compounds.
    pub heatmap: Heatmap,
    /// Street comparison.
    pub streets: Vec<StreetBar>,
    /// Compounds on the map.
    pub map: Vec<MapPoint>,
    /// Half-year label of the grid grading.
    pub grid_period: String,
    /// Grid grading, every grid.
    pub grids: Vec<GridRow>,
    /// Where the whole grid grading is written as a spreadsheet (shown when the report lists
    /// only the red and yellow grids).
    #[serde(default)]
    pub grid_file: String,
    /// Model and cut-off notes for analysts.
    pub notes: Vec<String>,
}

/// The level's Chinese word.
pub fn level_zh(level: &str) -> &'static str {
    match level {
        "red" => "红",
        "yellow" => "黄",
        _ => "绿",
    }
}

/// The report's first lines for a leader, in plain Chinese: how many alerts and how many are
/// new, the streets and problems the red ones (else the yellow ones) gather in, and the
/// targets missed. Satisfaction's target is 92 %, local resolution's 95 % (the districts'
/// own).
pub fn summary(d: &ReportData) -> Vec<String> {
    let h = &d.headline;
    // First: whatever follows may be low for want of data.
    let mut out = h.data_gaps.clone();
    if h.red + h.yellow == 0 {
        out.push("今日无红黄预警小区。".to_string());
    } else {
        let mut s = format!("红色预警小区 {} 个、黄色 {} 个", h.red, h.yellow);
        match &h.compared_with {
            Some(_) if h.new_alerts > 0 => {
                s.push_str(&format!("，其中较上次新增 {} 个", h.new_alerts));
            }
            Some(_) => {}
            None => s.push_str("（首次运行，无上次可比）"),
        }
        s.push('。');
        out.push(s);
        out.extend(focus(d));
    }
    let pct = |v: f64| format!("{:.1}%", 100.0 * v);
    if let Some(v) = h.satisfaction.filter(|&v| v < 0.92) {
        out.push(format!("满意率 {}，低于目标 92%。", pct(v)));
    }
    if let Some(v) = h.local_share.filter(|&v| v < 0.95) {
        out.push(format!("就地化解率 {}，低于目标 95%。", pct(v)));
    }
    out
}

/// Where the most serious alerts gather, in words: the streets with two or more of them and
/// their three most frequent problems — of the red alerts, or of the yellow when none is red.
/// Empty without alerts.
pub fn focus(d: &ReportData) -> Vec<String> {
    let h = &d.headline;
    let mut out = vec![];
    if h.red + h.yellow == 0 {
        return out;
    }
    // Where the most serious alerts gather: the red ones, or the yellow when none is red.
    let (level, word) = if h.red > 0 {
        ("red", "红色")
    } else {
        ("yellow", "黄色")
    };
    let flagged: Vec<&AlertRow> = d.alerts.iter().filter(|a| a.level == level).collect();
    let top = |key: &dyn Fn(&AlertRow) -> &str| -> Vec<(String, usize)> {
        let mut n: Vec<(String, usize)> = vec![];
        for a in &flagged {
            let k = key(a);
            if k.is_empty() {
                continue;
            }
            match n.iter_mut().find(|(x, _)| x == k) {
                Some(e) => e.1 += 1,
                None => n.push((k.to_string(), 1)),
            }
        }
        // Most first; of as many, the first met (the alerts come ranked by score).
        n.sort_by_key(|e| std::cmp::Reverse(e.1));
        n.truncate(3);
        n
    };
    let listed = |v: &[(String, usize)]| {
        (v.iter().map(|(k, c)| format!("{k}（{c} 个）")))
            .collect::<Vec<_>>()
            .join("、")
    };
    let streets = top(&|a| &a.street);
    if streets.first().is_some_and(|s| s.1 >= 2) {
        let gathered: Vec<(String, usize)> = streets.into_iter().filter(|s| s.1 >= 2).collect();
        out.push(format!("{word}预警集中在{}。", listed(&gathered)));
    }
    let problems = top(&|a| &a.top_category);
    if !problems.is_empty() {
        out.push(format!("{word}预警的主要问题：{}。", listed(&problems)));
    }
    out
}
