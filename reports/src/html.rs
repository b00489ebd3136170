//! The self-contained HTML report: one file, styles and images inline, a Content Security
//! Policy that forbids any network request, every record text escaped by the template engine.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::Serialize;

use crate::{charts, Error, ReportData, Result};

const TEMPLATE: &str = include_str!("../templates/index.html");

/// Sizes of the charts (pixels).
pub const TREND_SIZE: (u32, u32) = (960, 420);
/// Heatmap size.
pub const HEATMAP_SIZE: (u32, u32) = (1000, 520);
/// Streets chart size.
pub const STREETS_SIZE: (u32, u32) = (960, 420);
/// Map size.
pub const MAP_SIZE: (u32, u32) = (720, 600);
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

#[derive(Serialize)]
struct DetailView<'a> {
    #[serde(flatten)]
    d: &'a crate::Detail,
    img: String,
}

/// The HTML text of a report (charts rendered and inlined).
///
/// # Errors
/// Chart or template errors.
pub fn html(d: &ReportData) -> Result<(String, HashMap<&'static str, Vec<u8>>)> {
    let mut pngs: HashMap<&'static str, Vec<u8>> = HashMap::new();
    pngs.insert(
        "streets",
        charts::streets(&d.streets, STREETS_SIZE.0, STREETS_SIZE.1)?,
    );
    pngs.insert("map", charts::map(&d.map, MAP_SIZE.0, MAP_SIZE.1)?);
    if !d.heatmap.rows.is_empty() {
        pngs.insert(
            "heatmap",
            charts::heatmap(&d.heatmap, HEATMAP_SIZE.0, HEATMAP_SIZE.1)?,
        );
    }
    let mut details = vec![];
    for det in &d.details {
        let png = charts::trend(
            &format!("{} 每周诉求件数与基线", det.alert.name),
            &det.trend,
            TREND_SIZE.0,
            TREND_SIZE.1,
        )?;
        details.push(DetailView {
            d: det,
            img: data_uri(&png),
        });
    }
    let img: HashMap<&str, String> = pngs.iter().map(|(k, v)| (*k, data_uri(v))).collect();
    let pct = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{:.1}%", 100.0 * v));
    use minijinja::Value as V;
    let mut env = minijinja::Environment::new();
    env.add_template("index.html", TEMPLATE)?;
    let level_zh: HashMap<&str, &str> = [("red", "红"), ("yellow", "黄"), ("green", "绿")].into();
    let text = env
        .get_template("index.html")?
        .render(minijinja::context! {
            title => d.title.clone(),
            as_of => d.as_of.clone(),
            h => V::from(minijinja::value::Serde(&d.headline)),
            satisfaction => pct(d.headline.satisfaction),
            sat_ok => d.headline.satisfaction.is_some_and(|v| v >= 0.92),
            local_share => pct(d.headline.local_share),
            local_ok => d.headline.local_share.is_some_and(|v| v >= 0.95),
            alerts => V::from(minijinja::value::Serde(&d.alerts)),
            details => V::from(minijinja::value::Serde(&details)),
            grids => V::from(minijinja::value::Serde(&d.grids)),
            grid_period => d.grid_period.clone(),
            img => V::from(minijinja::value::Serde(&img)),
            level_zh => V::from(minijinja::value::Serde(&level_zh)),
            notes => V::from(minijinja::value::Serde(&d.notes)),
        })?;
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
