//! PNG charts (plotters on an RGB buffer, encoded with `png`). Every label is Chinese, drawn
//! with the CJK font registered by [`crate::font::register`].

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::font::FAMILY;
use crate::{level_zh, Error, Heatmap, MapPoint, ReportData, Result, StreetBar, TrendSeries};

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

const LEVEL_RED: RGBColor = RGBColor(214, 39, 40);
const LEVEL_YELLOW: RGBColor = RGBColor(240, 173, 0);
const LEVEL_GREEN: RGBColor = RGBColor(44, 160, 44);
const INK: RGBColor = RGBColor(40, 40, 40);
const BAND: RGBColor = RGBColor(158, 202, 225);
const LINE: RGBColor = RGBColor(31, 119, 180);

fn level_color(level: &str) -> RGBColor {
    match level {
        "red" => LEVEL_RED,
        "yellow" => LEVEL_YELLOW,
        _ => LEVEL_GREEN,
    }
}

fn font(size: u32) -> TextStyle<'static> {
    (FAMILY, size).into_font().color(&INK)
}

/// Draws on a white `w`×`h` canvas and returns the PNG bytes.
///
/// # Errors
/// [`Error::Chart`] when drawing fails, [`Error::Png`] when encoding does.
pub fn render_png(
    chart: &'static str,
    w: u32,
    h: u32,
    draw: impl FnOnce(&Area<'_>) -> std::result::Result<(), String>,
) -> Result<Vec<u8>> {
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| Error::Chart {
            chart,
            reason: e.to_string(),
        })?;
        draw(&root).map_err(|reason| Error::Chart { chart, reason })?;
        root.present().map_err(|e| Error::Chart {
            chart,
            reason: e.to_string(),
        })?;
    }
    encode(&buf, w, h)
}

/// Encodes an RGB buffer as PNG.
///
/// # Errors
/// [`Error::Png`].
pub fn encode(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    let mut out = vec![];
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Best);
        enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
        let mut wr = enc.write_header()?;
        wr.write_image_data(rgb)?;
    }
    Ok(out)
}

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

fn short(date: &str) -> String {
    date.get(5..).unwrap_or(date).to_string()
}

/// Where a chart is shown: its layout size in CSS pixels and the pixels drawn per CSS pixel.
/// Every font, margin, marker and line is sized in CSS pixels, so a chart drawn for a phone
/// (360 CSS pixels wide, twice as many pixels) shows its labels as large as the page's text,
/// where a desktop chart shrunk to a phone's width would show them at a third of that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Canvas {
    /// Width in CSS pixels.
    pub w: u32,
    /// Height in CSS pixels.
    pub h: u32,
    /// Pixels per CSS pixel.
    pub scale: u32,
}

impl Canvas {
    /// A canvas drawn at one pixel per CSS pixel.
    pub const fn new(w: u32, h: u32) -> Canvas {
        Canvas { w, h, scale: 1 }
    }

    /// A canvas drawn at `scale` pixels per CSS pixel (a phone's dense screen).
    pub const fn sharp(w: u32, h: u32, scale: u32) -> Canvas {
        Canvas { w, h, scale }
    }

    /// The image's size in pixels.
    pub const fn pixels(self) -> (u32, u32) {
        (self.w * self.scale, self.h * self.scale)
    }

    /// `v` CSS pixels in pixels.
    fn px(self, v: u32) -> u32 {
        v * self.scale
    }

    /// `v` CSS pixels in pixels, for coordinates.
    fn pxi(self, v: i32) -> i32 {
        v * self.scale as i32
    }

    /// The chart font at `size` CSS pixels.
    fn font(self, size: u32) -> TextStyle<'static> {
        font(size * self.scale)
    }

    /// The caption font: `wide` CSS pixels, 16 on a phone.
    fn caption(self, wide: u32) -> TextStyle<'static> {
        self.font(if self.narrow() { 16 } else { wide })
    }

    /// A phone-width layout: fewer axis labels, shorter captions.
    fn narrow(self) -> bool {
        self.w < 600
    }

    /// How many axis labels fit along `len` CSS pixels, one per `each`.
    fn labels(self, len: u32, each: u32) -> usize {
        (len / each).clamp(2, 10) as usize
    }
}

/// Draws on a white canvas and returns the PNG bytes.
fn render_canvas(
    chart: &'static str,
    cv: Canvas,
    draw: impl FnOnce(&Area<'_>) -> std::result::Result<(), String>,
) -> Result<Vec<u8>> {
    let (w, h) = cv.pixels();
    render_png(chart, w, h, draw)
}

/// Weekly counts with the detector's upper bound as a band, alarms (red dots), petitions
/// (black triangles) and the alert's first-raised week (a dashed line).
///
/// # Errors
/// As [`render_png`].
pub fn trend(title: &str, s: &TrendSeries, cv: Canvas) -> Result<Vec<u8>> {
    render_canvas("trend", cv, |root| {
        let n = s.counts.len().max(1);
        let ymax = s
            .counts
            .iter()
            .copied()
            .chain(s.upper.iter().flatten().copied())
            .fold(1.0f64, f64::max)
            * if cv.narrow() { 1.5 } else { 1.2 }; // room above the lines for the legend
        let mut c = ChartBuilder::on(root)
            .caption(title, cv.caption(22))
            .margin(cv.px(12))
            .x_label_area_size(cv.px(36))
            .y_label_area_size(cv.px(44))
            .build_cartesian_2d(0f64..n as f64, 0f64..ymax)
            .map_err(e)?;
        let weeks = s.weeks.clone();
        c.configure_mesh()
            .disable_x_mesh()
            .x_labels(cv.labels(cv.w, 80))
            .x_label_formatter(&|x| {
                weeks
                    .get(x.round() as usize)
                    .map(|d| short(d))
                    .unwrap_or_default()
            })
            // Counts are whole: no decimals unless the scale is small.
            .y_label_formatter(&|y| match ymax >= 6.0 {
                true => format!("{y:.0}"),
                false => format!("{y:.1}"),
            })
            .y_desc("件/周")
            .label_style(cv.font(13))
            .axis_desc_style(cv.font(14))
            .draw()
            .map_err(e)?;
        let band: Vec<(f64, f64)> = s
            .upper
            .iter()
            .enumerate()
            .filter_map(|(i, u)| u.map(|u| (i as f64 + 0.5, u)))
            .collect();
        let (k, mark) = (cv.pxi(1), cv.pxi(18));
        if !band.is_empty() {
            c.draw_series(AreaSeries::new(band, 0.0, BAND.mix(0.5)).border_style(BAND))
                .map_err(e)?
                .label("基线上限（Farrington）")
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5 * k), (x + mark, y + 5 * k)], BAND.filled())
                });
        }
        let line = LINE.stroke_width(cv.px(2));
        c.draw_series(LineSeries::new(
            s.counts
                .iter()
                .enumerate()
                .map(|(i, &v)| (i as f64 + 0.5, v)),
            line,
        ))
        .map_err(e)?
        .label("每周件数")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + mark, y)], line));
        let dot = cv.pxi(5);
        c.draw_series(
            s.counts
                .iter()
                .enumerate()
                .filter(|(i, _)| s.alarms.get(*i).copied().unwrap_or(false))
                .map(|(i, &v)| Circle::new((i as f64 + 0.5, v), dot, LEVEL_RED.filled())),
        )
        .map_err(e)?
        .label("异常报警")
        .legend(move |(x, y)| Circle::new((x + 9 * k, y), dot, LEVEL_RED.filled()));
        c.draw_series(
            s.petitions
                .iter()
                .enumerate()
                .filter(|(_, &p)| p)
                .map(|(i, _)| {
                    TriangleMarker::new((i as f64 + 0.5, ymax * 0.04), cv.pxi(7), INK.filled())
                }),
        )
        .map_err(e)?
        .label("信访")
        .legend(move |(x, y)| TriangleMarker::new((x + 9 * k, y), 6 * k, INK.filled()));
        if let Some(f) = s.first_raised {
            let x = f as f64 + 0.5;
            let dashed = LEVEL_RED.stroke_width(cv.px(2));
            c.draw_series(DashedLineSeries::new(
                vec![(x, 0.0), (x, ymax)],
                cv.px(6),
                cv.px(4),
                dashed,
            ))
            .map_err(e)?
            .label("首次预警")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + mark, y)], dashed));
        }
        c.configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(cv.font(if cv.narrow() { 12 } else { 13 }))
            .legend_area_size(cv.px(24))
            .margin(cv.px(if cv.narrow() { 3 } else { 5 }))
            .background_style(WHITE.mix(0.85))
            .border_style(INK.mix(0.3))
            .draw()
            .map_err(e)?;
        Ok(())
    })
}

/// Compounds × weeks, colour by count.
///
/// # Errors
/// As [`render_png`].
pub fn heatmap(hm: &Heatmap, cv: Canvas) -> Result<Vec<u8>> {
    render_canvas("heatmap", cv, |root| {
        let rows = hm.rows.len().max(1);
        let cols = hm.cols.len().max(1);
        let vmax = hm.values.iter().flatten().copied().fold(1.0f64, f64::max);
        // The row labels take at most 16 characters, and at most 45 % of a narrow chart.
        let label_size = 13;
        let label_chars = if cv.narrow() {
            ((cv.w * 9 / 20).saturating_sub(22) / label_size).max(4) as usize
        } else {
            16
        };
        let label_area = 12 + label_size * label_chars as u32 + 10;
        let mut c = ChartBuilder::on(root)
            .caption(
                if cv.narrow() {
                    "高风险小区问题类别·逐周件数"
                } else {
                    "高风险小区主要问题类别·逐周件数"
                },
                cv.caption(22),
            )
            .margin(cv.px(12))
            .x_label_area_size(cv.px(36))
            .y_label_area_size(cv.px(label_area))
            .build_cartesian_2d(0f64..cols as f64, -0.5f64..rows as f64 - 0.5)
            .map_err(e)?;
        let weeks = hm.cols.clone();
        c.configure_mesh()
            .disable_mesh()
            .x_labels(cv.labels(cv.w.saturating_sub(label_area), 70))
            .y_labels(rows)
            .x_label_formatter(&|x| {
                weeks
                    .get(x.floor() as usize)
                    .map(|d| short(d))
                    .unwrap_or_default()
            })
            .y_label_formatter(&|_| String::new())
            .label_style(cv.font(12))
            .draw()
            .map_err(e)?;
        for (r, row) in hm.values.iter().enumerate() {
            for (k, &v) in row.iter().enumerate() {
                let t = (v / vmax).clamp(0.0, 1.0);
                let color = RGBColor(
                    (255.0 - t * (255.0 - 200.0)) as u8,
                    (255.0 - t * 220.0) as u8,
                    (255.0 - t * 220.0) as u8,
                );
                let y = (rows - 1 - r) as f64;
                c.draw_series(std::iter::once(Rectangle::new(
                    [(k as f64, y - 0.5), (k as f64 + 1.0, y + 0.5)],
                    color.filled(),
                )))
                .map_err(e)?;
            }
        }
        // Row labels beside the cells (the top row is the riskiest compound).
        for (r, label) in hm.rows.iter().enumerate() {
            let (_, py) = c.backend_coord(&(0.0, (rows - 1 - r) as f64));
            let text: String = label.chars().take(label_chars).collect();
            let style = cv.font(label_size).pos(Pos::new(HPos::Left, VPos::Center));
            root.draw(&Text::new(text, (cv.pxi(12), py), style))
                .map_err(e)?;
        }
        Ok(())
    })
}

/// Red and yellow compounds per street, a bar each (street names beside them, which a phone
/// has room for), with records per 1,000 residents in brackets.
///
/// # Errors
/// As [`render_png`].
pub fn streets(bars: &[StreetBar], cv: Canvas) -> Result<Vec<u8>> {
    render_canvas("streets", cv, |root| {
        let n = bars.len().max(1);
        let label_size = 13;
        let longest = bars.iter().map(|b| b.street.chars().count()).max();
        let name_area = (16 + label_size * longest.unwrap_or(4) as u32).min(cv.w * 2 / 5);
        // The bars take at most half the plot, leaving room for their counts.
        let xmax = bars
            .iter()
            .map(|b| (b.red + b.yellow) as f64)
            .fold(1.0f64, f64::max)
            * 2.0;
        let mut c = ChartBuilder::on(root)
            .caption("各街道红黄预警小区数", cv.caption(20))
            .margin(cv.px(12))
            .x_label_area_size(cv.px(40))
            .y_label_area_size(cv.px(name_area))
            .build_cartesian_2d(0f64..xmax, 0f64..n as f64)
            .map_err(e)?;
        let names: Vec<String> = bars.iter().map(|b| b.street.clone()).collect();
        let name_of = |y: &f64| {
            let y = *y;
            let i = n as f64 - y - 0.5;
            match (i.fract().abs() < 0.01 && i >= 0.0).then(|| names.get(i as usize)) {
                Some(Some(name)) => name.clone(),
                _ => String::new(),
            }
        };
        c.configure_mesh()
            .disable_y_mesh()
            .y_labels(n * 2 + 1)
            .y_label_formatter(&name_of)
            .x_labels(cv.labels(cv.w.saturating_sub(name_area), 80))
            .x_label_formatter(&|x| {
                if x.fract().abs() < 1e-9 {
                    format!("{x:.0}")
                } else {
                    String::new()
                }
            })
            .x_desc("红黄预警小区数（括号内：近4周每千人诉求件数）")
            .label_style(cv.font(label_size))
            .axis_desc_style(cv.font(if cv.narrow() { 12 } else { 14 }))
            .draw()
            .map_err(e)?;
        for (i, b) in bars.iter().enumerate() {
            let y = (n - 1 - i) as f64;
            let (y0, y1) = (y + 0.2, y + 0.8);
            let red = b.red as f64;
            let yellow = b.yellow as f64;
            c.draw_series([
                Rectangle::new([(0.0, y0), (red, y1)], LEVEL_RED.filled()),
                Rectangle::new([(red, y0), (red + yellow, y1)], LEVEL_YELLOW.filled()),
            ])
            .map_err(e)?;
            let style = cv.font(13).pos(Pos::new(HPos::Left, VPos::Center));
            c.draw_series(std::iter::once(Text::new(
                format!("{}红 {}黄 ({:.1})", b.red, b.yellow, b.rate),
                (red + yellow + xmax * 0.02, y + 0.5),
                style,
            )))
            .map_err(e)?;
        }
        Ok(())
    })
}

/// `text` cut to `units` half-widths (an ASCII character one, any other two), with `…` when
/// cut: the 日报's lines mix Chinese and digits, so a count of characters cut them too early
/// or too late.
fn fit_width(text: &str, units: usize) -> String {
    let width = |c: char| if c.is_ascii() { 1 } else { 2 };
    if text.chars().map(width).sum::<usize>() <= units {
        return text.to_string();
    }
    let mut used = 2; // the ellipsis
    let mut out: String = text
        .chars()
        .take_while(|&c| {
            used += width(c);
            used <= units
        })
        .collect();
    out.push('…');
    out
}

/// Compounds at their coordinates, coloured by level (green small, alerts large).
///
/// # Errors
/// As [`render_png`].
pub fn map(points: &[MapPoint], cv: Canvas) -> Result<Vec<u8>> {
    render_canvas("map", cv, |root| {
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in points {
            x0 = x0.min(p.lon);
            x1 = x1.max(p.lon);
            y0 = y0.min(p.lat);
            y1 = y1.max(p.lat);
        }
        if !(x0 < x1 && y0 < y1) {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        let (dx, dy) = ((x1 - x0) * 0.05, (y1 - y0) * 0.05);
        let mut c = ChartBuilder::on(root)
            .caption("小区分布与预警等级", cv.caption(22))
            .margin(cv.px(12))
            .x_label_area_size(cv.px(30))
            .y_label_area_size(cv.px(50))
            .build_cartesian_2d(x0 - dx..x1 + dx, y0 - dy..y1 + dy)
            .map_err(e)?;
        c.configure_mesh()
            .x_desc("经度")
            .y_desc("纬度")
            .x_labels(cv.labels(cv.w, 70))
            .y_labels(cv.labels(cv.h, 50))
            .label_style(cv.font(12))
            .axis_desc_style(cv.font(13))
            .draw()
            .map_err(e)?;
        let k = cv.pxi(1);
        for level in ["green", "yellow", "red"] {
            let color = level_color(level);
            let size = cv.pxi(if level == "green" { 3 } else { 7 });
            c.draw_series(
                points
                    .iter()
                    .filter(|p| p.level == level)
                    .map(|p| Circle::new((p.lon, p.lat), size, color.filled())),
            )
            .map_err(e)?
            .label(format!("{}色", level_zh(level)))
            .legend(move |(x, y)| Circle::new((x + 8 * k, y), 5 * k, color.filled()));
        }
        c.configure_series_labels()
            .label_font(cv.font(13))
            .legend_area_size(cv.px(24))
            .margin(cv.px(5))
            .background_style(WHITE.mix(0.85))
            .border_style(INK.mix(0.3))
            .draw()
            .map_err(e)?;
        Ok(())
    })
}

/// The one-page daily summary (日报) for a chat group: headline figures and the red list.
///
/// # Errors
/// As [`render_png`].
pub fn daily(d: &ReportData, w: u32, h: u32) -> Result<Vec<u8>> {
    render_png("daily", w, h, |root| {
        let hl = &d.headline;
        let pct = |v: Option<f64>| v.map_or("—".to_string(), |v| format!("{:.1}%", 100.0 * v));
        let mut y = 24;
        let line = |text: String, size: u32, color: RGBColor, y: &mut i32| {
            let r = root.draw(&Text::new(text, (28, *y), font(size).color(&color)));
            *y += size as i32 + 12;
            r.map_err(e)
        };
        line(
            format!("{} 弱信号风险日报 {}", d.title, d.as_of),
            30,
            INK,
            &mut y,
        )?;
        line(
            match hl.compared_with {
                Some(_) => format!(
                    "红色预警小区 {} 个 · 黄色 {} 个 · 新增 {} 个",
                    hl.red, hl.yellow, hl.new_alerts
                ),
                None => format!(
                    "红色预警小区 {} 个 · 黄色 {} 个（首次运行）",
                    hl.red, hl.yellow
                ),
            },
            24,
            LEVEL_RED,
            &mut y,
        )?;
        line(
            format!(
                "当日诉求：热线 {} · 网格 {} · 信访 {}    近7天：{} · {} · {}",
                hl.day[0], hl.day[1], hl.day[2], hl.week[0], hl.week[1], hl.week[2]
            ),
            20,
            INK,
            &mut y,
        )?;
        line(
            format!(
                "满意率 {}（目标92%） · 就地化解率 {}（目标95%）",
                pct(hl.satisfaction),
                pct(hl.local_share)
            ),
            20,
            INK,
            &mut y,
        )?;
        // Missing data, then where the alerts gather, as the report's summary says them (cut
        // to the page's width).
        for f in hl.data_gaps.iter().cloned().chain(crate::focus(d)) {
            line(fit_width(&f, 92), 18, INK, &mut y)?;
        }
        y += 8;
        line("重点关注小区".to_string(), 22, INK, &mut y)?;
        for (i, a) in d.alerts.iter().take(8).enumerate() {
            let color = level_color(&a.level);
            root.draw(&Circle::new((40, y + 10), 8, color.filled()))
                .map_err(e)?;
            let reason = a.reasons.first().cloned().unwrap_or_default();
            let reason: String = reason.chars().take(34).collect();
            // On a first run every alert is "new": the word says nothing there.
            let trend = match hl.compared_with {
                Some(_) => a.trend.as_str(),
                None => "",
            };
            let r = root.draw(&Text::new(
                format!(
                    "{}. {}({}) {:.0}分 {trend} {}",
                    i + 1,
                    a.name,
                    a.street,
                    a.score,
                    a.top_category
                ),
                (58, y),
                font(19),
            ));
            r.map_err(e)?;
            y += 26;
            root.draw(&Text::new(
                format!("   {reason}"),
                (58, y),
                font(16).color(&RGBColor(90, 90, 90)),
            ))
            .map_err(e)?;
            y += 28;
        }
        if d.alerts.is_empty() {
            line("今日无红黄预警小区".to_string(), 20, LEVEL_GREEN, &mut y)?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_are_cut_by_their_width_not_their_characters() {
        let gap = "数据提示：12345热线自 2025-12-28 后 2 天无记录，可能缺少导出，结果可能偏低。";
        // 48 characters, 80 half-widths: whole.
        assert_eq!(super::fit_width(gap, 92), gap);
        assert_eq!(super::fit_width("一二三四五", 6), "一二…");
        assert_eq!(super::fit_width("ab一二三", 6), "ab一…");
        assert_eq!(super::fit_width("一二三", 6), "一二三");
        assert_eq!(super::fit_width("", 6), "");
    }
}
