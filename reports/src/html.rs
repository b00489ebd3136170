//! The self-contained HTML report: one file, styles and images inline, a Content Security
//! Policy that forbids any network request, every record text escaped by the template engine.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Serialize;

use crate::charts::Canvas;
use crate::{charts, Error, ReportData, Result};

const TEMPLATE: &str = include_str!("../templates/index.html");

/// The charts as a desktop or a printed page shows them (one pixel per CSS pixel).
pub const TREND_SIZE: Canvas = Canvas::new(960, 420);
/// Heatmap, at the most (a row takes 28 CSS pixels).
pub const HEATMAP_SIZE: Canvas = Canvas::new(1000, 520);
/// Streets chart.
pub const STREETS_SIZE: Canvas = Canvas::new(960, 420);
/// Map.
pub const MAP_SIZE: Canvas = Canvas::new(720, 600);
/// The charts as a phone shows them, the page at most [`PHONE_MAX_WIDTH`] CSS pixels wide:
/// 360 CSS pixels wide, two pixels to each, so their labels are as large as the text.
pub const PHONE_TREND_SIZE: Canvas = Canvas::sharp(360, 300, 2);
/// Heatmap on a phone, at the most.
pub const PHONE_HEATMAP_SIZE: Canvas = Canvas::sharp(360, 420, 2);
/// Streets chart on a phone.
pub const PHONE_STREETS_SIZE: Canvas = Canvas::sharp(360, 320, 2);
/// Map on a phone.
pub const PHONE_MAP_SIZE: Canvas = Canvas::sharp(360, 340, 2);
/// The widest page (CSS pixels) that shows the phone charts.
pub const PHONE_MAX_WIDTH: u32 = 640;
/// Daily summary size.
pub const DAILY_SIZE: (u32, u32) = (900, 760);

/// What [`render`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// The HTML report.
    pub index: PathBuf,
    /// The daily PNG summary.
    pub daily: PathBuf,
    /// The chart PNGs.
    pub charts: Vec<PathBuf>,
}

fn data_uri(png: &[u8]) -> String {
    format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png)
    )
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.into(),
        source,
    })?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out")
    ));
    std::fs::write(&tmp, bytes).map_err(|source| Error::Io {
        path: tmp.clone(),
        source,
    })?;
    std::fs::rename(&tmp, path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })
}

/// A district with at most this many grids has every grid in the report: its red and yellow
/// grids in a table, its green ones in a second table folded under a line that counts them
/// (a leader on a phone sees the grids that need attention, not eighty green rows). A larger
/// district lists its red and yellow grids and only counts the green ones (ten thousand rows
/// would make the page megabytes long); the full grading is in the output's CSV.
pub const GRIDS_LISTED_IN_FULL: usize = 100;

/// The grids the report shows.
pub struct GridsShown<'a> {
    /// The red and yellow grids: red first, then yellow, each by rate (highest first).
    pub flagged: Vec<&'a crate::GridRow>,
    /// The green grids folded under a line, by rate (highest first); none in a district of
    /// more than [`GRIDS_LISTED_IN_FULL`] grids.
    pub folded: Vec<&'a crate::GridRow>,
    /// How many green grids the report leaves out.
    pub hidden: usize,
}

/// The grids the report shows; see [`GridsShown`].
pub fn grids_shown(grids: &[crate::GridRow]) -> GridsShown<'_> {
    let rank = |level: &str| match level {
        "red" => 0,
        "yellow" => 1,
        _ => 2,
    };
    let mut shown: Vec<&crate::GridRow> = grids.iter().collect();
    shown.sort_by(|a, b| (rank(&a.level).cmp(&rank(&b.level))).then(b.rate.total_cmp(&a.rate)));
    let flagged = shown.iter().take_while(|g| rank(&g.level) < 2).count();
    let mut folded = shown.split_off(flagged);
    let mut hidden = 0;
    if grids.len() > GRIDS_LISTED_IN_FULL {
        hidden = folded.len();
        folded.clear();
    }
    GridsShown {
        flagged: shown,
        folded,
        hidden,
    }
}

/// A heatmap's canvas `cv` cut to its rows: 28 CSS pixels a row, below the caption and the
/// axis (no taller than `cv`, no lower than 200).
pub fn fit_rows(cv: Canvas, rows: usize) -> Canvas {
    let rows = u32::try_from(rows).unwrap_or(u32::MAX);
    let h = 28u32.saturating_mul(rows).saturating_add(100);
    Canvas {
        h: h.clamp(200, cv.h),
        ..cv
    }
}

/// A chart in both layouts, as data URIs.
#[derive(Serialize)]
struct Img {
    wide: String,
    phone: String,
}

impl Img {
    fn new(wide: &[u8], phone: &[u8]) -> Img {
        Img {
            wide: data_uri(wide),
            phone: data_uri(phone),
        }
    }
}

#[derive(Serialize)]
struct DetailView<'a> {
    #[serde(flatten)]
    d: &'a crate::Detail,
    img: Img,
}

/// The HTML text of a report (charts rendered in both layouts and inlined) and the desktop
/// charts' PNGs.
///
/// # Errors
/// Chart or template errors.
pub fn html(d: &ReportData) -> Result<(String, HashMap<&'static str, Vec<u8>>)> {
    let mut pngs: HashMap<&'static str, Vec<u8>> = HashMap::new();
    let mut img: HashMap<&str, Img> = HashMap::new();
    let mut both = |name: &'static str, wide: Vec<u8>, phone: Vec<u8>| {
        img.insert(name, Img::new(&wide, &phone));
        pngs.insert(name, wide);
    };
    both(
        "streets",
        charts::streets(&d.streets, STREETS_SIZE)?,
        charts::streets(&d.streets, PHONE_STREETS_SIZE)?,
    );
    // A registry without coordinates has no map.
    if !d.map.is_empty() {
        both(
            "map",
            charts::map(&d.map, MAP_SIZE)?,
            charts::map(&d.map, PHONE_MAP_SIZE)?,
        );
    }
    if !d.heatmap.rows.is_empty() {
        both(
            "heatmap",
            charts::heatmap(&d.heatmap, fit_rows(HEATMAP_SIZE, d.heatmap.rows.len()))?,
            charts::heatmap(
                &d.heatmap,
                fit_rows(PHONE_HEATMAP_SIZE, d.heatmap.rows.len()),
            )?,
        );
    }
    let mut details = vec![];
    for det in &d.details {
        let title = format!("{} 每周诉求件数与基线", det.alert.name);
        let wide = charts::trend(&title, &det.trend, TREND_SIZE)?;
        let phone = charts::trend(&title, &det.trend, PHONE_TREND_SIZE)?;
        details.push(DetailView {
            d: det,
            img: Img::new(&wide, &phone),
        });
    }
    let pct = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{:.1}%", 100.0 * v));
    use minijinja::Value as V;
    let mut env = minijinja::Environment::new();
    env.add_template("index.html", TEMPLATE)?;
    let shown = grids_shown(&d.grids);
    let count = |level: &str| d.grids.iter().filter(|g| g.level == level).count();
    let (red, yellow) = (count("red"), count("yellow"));
    let grid_counts = [red, yellow, d.grids.len() - red - yellow];
    let level_zh: HashMap<&str, &str> = [("red", "红"), ("yellow", "黄"), ("green", "绿")].into();
    let page = env.get_template("index.html")?;
    let render = |font: &str| {
        page.render(minijinja::context! {
            font => font,
            title => d.title.clone(),
            as_of => d.as_of.clone(),
            h => V::from(minijinja::value::Serde(&d.headline)),
            satisfaction => pct(d.headline.satisfaction),
            sat_ok => d.headline.satisfaction.is_some_and(|v| v >= 0.92),
            local_share => pct(d.headline.local_share),
            local_ok => d.headline.local_share.is_some_and(|v| v >= 0.95),
            alerts => V::from(minijinja::value::Serde(&d.alerts)),
            details => V::from(minijinja::value::Serde(&details)),
            grids => V::from(minijinja::value::Serde(&shown.flagged)),
            grids_folded => V::from(minijinja::value::Serde(&shown.folded)),
            grids_hidden => shown.hidden,
            grid_counts => grid_counts,
            grid_total => d.grids.len(),
            grid_file => d.grid_file.clone(),
            grid_period => d.grid_period.clone(),
            img => V::from(minijinja::value::Serde(&img)),
            phone_max => PHONE_MAX_WIDTH,
            level_zh => V::from(minijinja::value::Serde(&level_zh)),
            notes => V::from(minijinja::value::Serde(&d.notes)),
            summary => crate::summary(d),
        })
    };
    // The page's text decides the glyphs its font carries: rendered first without the
    // `@font-face` rule, which shows nothing itself.
    let font = crate::font::web_subset(&render("")?)?;
    let text = render(&base64::engine::general_purpose::STANDARD.encode(font))?;
    Ok((text, pngs))
}

/// Renders `reports/<as_of>/index.html`, `daily.png` and the chart PNGs under `dir`.
///
/// # Errors
/// Font, chart, template or I/O errors.
pub fn render(d: &ReportData, dir: &Path, font: Option<&Path>) -> Result<Written> {
    crate::font::register(font)?;
    let (text, pngs) = html(d)?;
    let index = dir.join("index.html");
    write(&index, text.as_bytes())?;
    let daily = dir.join("daily.png");
    write(&daily, &charts::daily(d, DAILY_SIZE.0, DAILY_SIZE.1)?)?;
    let mut written = vec![];
    let mut names: Vec<_> = pngs.keys().copied().collect();
    names.sort();
    for name in names {
        let p = dir.join("charts").join(format!("{name}.png"));
        write(&p, &pngs[name])?;
        written.push(p);
    }
    Ok(Written {
        index,
        daily,
        charts: written,
    })
}
