//! Charts decode as PNGs of the expected size and are not blank; Chinese renders as glyphs;
//! record text is escaped in the HTML.

use weaksignal_reports::{
    charts, font, html, AlertRow, Detail, GridRow, Heatmap, MapPoint, ReportData, StreetBar,
    TrendSeries,
};

fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
    let dec = png::Decoder::new(std::io::Cursor::new(png));
    let mut r = dec.read_info().expect("a PNG");
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).expect("a frame");
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn ink(rgb: &[u8]) -> usize {
    rgb.chunks(3).filter(|p| p.iter().any(|&c| c < 200)).count()
}

fn sample() -> ReportData {
    let alert = AlertRow {
        compound_id: "C001".into(),
        name: "幸福家园".into(),
        street: "东湖街道".into(),
        community: "东湖社区".into(),
        level: "red".into(),
        score: 71.0,
        trend: "上升".into(),
        top_category: "物业服务".into(),
        reasons: vec![
            "30天内5户居民就同一问题重复反映".into(),
            "<script>alert('x')</script><img src=http://evil.example/a.png>".into(),
        ],
        first_raised: "2025-11-02".into(),
        rules: vec!["重复来电".into()],
    };
    let weeks: Vec<String> = (0..30)
        .map(|i| format!("2025-{:02}-{:02}", 6 + i / 4, 1 + (i % 4) * 7))
        .collect();
    ReportData {
        as_of: "2025-12-30".into(),
        title: "示范区".into(),
        alerts: vec![alert.clone()],
        details: vec![Detail {
            alert,
            trend: TrendSeries {
                counts: (0..30).map(|i| (i % 5 + i / 6) as f64).collect(),
                upper: (0..30).map(|i| (i > 5).then_some(6.0)).collect(),
                alarms: (0..30).map(|i| i == 28).collect(),
                petitions: (0..30).map(|i| i == 29).collect(),
                first_raised: Some(25),
                weeks: weeks.clone(),
            },
            categories: vec![("物业服务".into(), 12)],
            texts: vec![(
                "2025-12-29".into(),
                "hotline".into(),
                "电梯坏了<b>没人修</b>".into(),
            )],
        }],
        heatmap: Heatmap {
            rows: vec!["幸福家园·物业服务".into(), "阳光小区·噪音扰民".into()],
            cols: weeks[..10].to_vec(),
            values: vec![(0..10).map(|i| i as f64).collect(), vec![1.0; 10]],
        },
        streets: vec![
            StreetBar {
                street: "东湖街道".into(),
                red: 2,
                yellow: 3,
                rate: 12.5,
            },
            StreetBar {
                street: "西山街道".into(),
                red: 0,
                yellow: 1,
                rate: 8.0,
            },
        ],
        map: vec![
            MapPoint {
                lon: 114.30,
                lat: 30.55,
                level: "red".into(),
            },
            MapPoint {
                lon: 114.32,
                lat: 30.58,
                level: "green".into(),
            },
        ],
        ..Default::default()
    }
}

/// The charts of the sample in both layouts: (name, PNG, canvas).
fn all_charts(d: &ReportData) -> Vec<(String, Vec<u8>, charts::Canvas)> {
    let mut out = vec![];
    let layouts = [
        (
            "desktop",
            [
                html::TREND_SIZE,
                html::HEATMAP_SIZE,
                html::STREETS_SIZE,
                html::MAP_SIZE,
            ],
        ),
        (
            "phone",
            [
                html::PHONE_TREND_SIZE,
                html::PHONE_HEATMAP_SIZE,
                html::PHONE_STREETS_SIZE,
                html::PHONE_MAP_SIZE,
            ],
        ),
    ];
    for (layout, [trend, heatmap, streets, map]) in layouts {
        let mut add = |name: &str, png: Vec<u8>, cv: charts::Canvas| {
            out.push((format!("{name} ({layout})"), png, cv));
        };
        let title = "幸福家园 每周诉求件数与基线";
        add(
            "trend",
            charts::trend(title, &d.details[0].trend, trend).unwrap(),
            trend,
        );
        add(
            "heatmap",
            charts::heatmap(&d.heatmap, heatmap).unwrap(),
            heatmap,
        );
        add(
            "streets",
            charts::streets(&d.streets, streets).unwrap(),
            streets,
        );
        add("map", charts::map(&d.map, map).unwrap(), map);
    }
    out
}

#[test]
fn charts_are_pngs_of_the_expected_size_and_not_blank() {
    font::register(None).expect("the built-in CJK font");
    let d = sample();
    let mut cases: Vec<(String, Vec<u8>, (u32, u32))> = (all_charts(&d).into_iter())
        .map(|(name, png, cv)| (name, png, cv.pixels()))
        .collect();
    cases.push((
        "daily".into(),
        charts::daily(&d, 900, 760).unwrap(),
        (900, 760),
    ));
    for (name, png, (w, h)) in cases {
        let (pw, ph, rgb) = decode(&png);
        assert_eq!((pw, ph), (w, h), "{name}");
        let share = ink(&rgb) as f64 / (w * h) as f64;
        assert!(share > 0.01, "{name} is nearly blank ({share:.4} inked)");
    }
}

/// The height in pixels of the first band of dark rows from the top: the caption's glyphs.
fn caption_height(rgb: &[u8], w: u32) -> usize {
    let dark = |row: &[u8]| row.chunks(3).any(|p| p.iter().all(|&c| c < 100));
    let rows: Vec<bool> = rgb.chunks(w as usize * 3).map(dark).collect();
    let first = rows.iter().position(|&d| d).unwrap_or(0);
    rows[first..].iter().take_while(|&&d| d).count()
}

#[test]
fn on_a_phone_the_phone_charts_labels_are_as_large_as_text_and_the_desktops_are_not() {
    font::register(None).expect("the built-in CJK font");
    // A phone page shows a chart across about 360 CSS pixels.
    let shown = 360.0;
    for (name, png, cv) in all_charts(&sample()) {
        let (w, _, rgb) = decode(&png);
        let on_phone = caption_height(&rgb, w) as f64 * shown / f64::from(w);
        eprintln!("{name}: caption {on_phone:.1} CSS px on a phone");
        if cv.w < 600 {
            assert!(
                on_phone >= 11.0,
                "{name}: its caption is {on_phone:.1} CSS px tall on a phone"
            );
        } else {
            assert!(
                on_phone < 9.0,
                "{name}: a desktop chart's caption is {on_phone:.1} CSS px on a phone (the \
                 reason for the phone charts)"
            );
        }
    }
}

#[test]
fn the_report_gives_each_chart_a_phone_version_the_browser_picks_at_phone_width() {
    font::register(None).expect("the built-in CJK font");
    let (text, pngs) = html::html(&sample()).unwrap();
    // The template engine writes `/` in attributes as `&#x2f;`, which the browser reads as `/`.
    let text = text.replace("&#x2f;", "/");
    let media = format!(
        "<source media=\"(max-width: {}px)\" srcset=\"data:image/png;base64,",
        html::PHONE_MAX_WIDTH
    );
    // Streets, map, heatmap and the red compound's trend.
    assert_eq!(text.matches("<picture>").count(), 4);
    assert_eq!(text.matches(&media).count(), 4);
    // The phone versions are other images than the desktop ones, which are also written out.
    use base64::Engine;
    let mut phone = vec![];
    for part in text.split(&media).skip(1) {
        let b64 = part.split('"').next().unwrap();
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        phone.push(decode(&png).0);
    }
    assert!(phone.iter().all(|&w| w == 720), "{phone:?}");
    assert_eq!(pngs.len(), 3);
    assert!(pngs.values().all(|p| decode(p).0 >= 720));
    // Opened on a phone, often over mobile data: eight charts inline stay light (1.5 MB
    // before the PNGs were compressed with adaptive filters).
    assert!(text.len() < 400_000, "the report is {} bytes", text.len());
}

#[test]
fn chinese_labels_render_as_glyphs_not_boxes() {
    font::register(None).expect("the built-in CJK font");
    let draw = |text: &'static str| {
        charts::render_png("label", 300, 80, move |root| {
            use plotters::prelude::*;
            root.draw(&Text::new(text, (10, 20), (font::FAMILY, 32).into_font()))
                .map_err(|e| e.to_string())
        })
        .unwrap()
    };
    let blank = decode(&charts::render_png("blank", 300, 80, |_| Ok(())).unwrap()).2;
    let a = decode(&draw("预警小区")).2;
    let b = decode(&draw("物业服务")).2;
    assert_eq!(ink(&blank), 0);
    assert!(ink(&a) > 200, "Chinese text drew {} pixels", ink(&a));
    // Boxes (a missing glyph) look the same for any text; real glyphs differ.
    let differing = a.chunks(3).zip(b.chunks(3)).filter(|(x, y)| x != y).count();
    assert!(
        differing > 200,
        "two different labels look alike ({differing} pixels differ)"
    );
}

#[test]
fn record_text_is_escaped_and_nothing_external_is_referenced() {
    font::register(None).expect("the built-in CJK font");
    let (text, _) = html::html(&sample()).unwrap();
    assert!(!text.contains("<script>"));
    assert!(text.contains("&lt;script&gt;"));
    assert!(!text.contains("<b>没人修</b>"));
    assert!(!text.contains("<img src=http://evil"));
    assert!(!text.contains("src=\"http"), "an external image");
    assert!(text.contains("Content-Security-Policy"));
    assert_eq!(text.matches("class=\"alert-row").count(), 1);
}

/// The report carries the glyphs of every Chinese character it shows, from the built-in
/// font, as a WOFF2 data font its Content Security Policy allows, after the system fonts it
/// names: a reader with none of them sees the text, not boxes.
#[test]
fn the_report_carries_a_font_for_every_chinese_character_it_shows() {
    use base64::Engine;
    font::register(None).expect("the built-in CJK font");
    let (text, _) = html::html(&sample()).unwrap();
    assert!(text.contains("font-src data:"));
    assert!(text.contains(r#""Noto Sans CJK SC","weaksignal-cjk",sans-serif"#));
    let re = regex::Regex::new(r"url\(data:font/woff2;base64,([A-Za-z0-9+/=]+)\)").unwrap();
    let b64 = &re.captures(&text).expect("an embedded font")[1];
    let woff2 = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    // The page's few hundred characters, not the font's tens of thousands (5 MB).
    assert!(woff2.len() < 150_000, "{} bytes", woff2.len());
    let embedded = font_subset::OwnedFont::new(woff2.into_boxed_slice()).unwrap();
    let font = embedded.get();
    let shown: std::collections::BTreeSet<char> = (text.chars())
        .filter(|c| ('\u{4E00}'..='\u{9FFF}').contains(c) || "，。：；（）、".contains(*c))
        .collect();
    assert!(shown.len() > 100, "{} characters", shown.len());
    let missing: String = shown.iter().filter(|&&c| !font.contains_char(c)).collect();
    assert!(missing.is_empty(), "no glyph for {missing}");
    // Only those: a character the page does not show is left out.
    assert!(!text.contains('鹅') && !font.contains_char('鹅'));
}

#[test]
fn render_writes_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let w = html::render(&sample(), dir.path(), None).unwrap();
    assert!(w.index.exists() && w.daily.exists());
    assert_eq!(w.charts.len(), 3);
    let (pw, _, _) = decode(&std::fs::read(&w.daily).unwrap());
    assert_eq!(pw, html::DAILY_SIZE.0);
}

#[test]
fn a_named_font_that_is_missing_is_a_clear_error_not_another_font() {
    let e = font::find(Some(std::path::Path::new("/nonexistent/font.ttf")))
        .expect_err("a named font that does not exist");
    let e = e.to_string();
    assert!(e.contains("/nonexistent/font.ttf"), "{e}");
    assert!(e.contains("scoring.font"), "{e}");
}

#[test]
fn with_no_font_named_the_built_in_one_is_used_and_draws_chinese() {
    if std::env::var_os("WEAKSIGNAL_FONT").is_some_and(|v| !v.is_empty()) {
        return; // the environment names one: covered by the test above when it is wrong
    }
    assert_eq!(font::find(None).unwrap(), font::FontChoice::Bundled);
    // The bytes are a font collection ab_glyph reads, with glyphs for Chinese and digits.
    use ab_glyph::Font;
    let f = ab_glyph::FontRef::try_from_slice(font::BUNDLED).expect("a readable font");
    for c in ['预', '警', '小', '区', '7', 'A'] {
        assert_ne!(f.glyph_id(c).0, 0, "no glyph for {c}");
    }
}

/// `n` grids: grid i is red when i % 31 == 0, yellow when i % 13 == 0, else green, its rate i.
fn grids(n: usize) -> Vec<GridRow> {
    (0..n)
        .map(|i| GridRow {
            street: "东湖街道".into(),
            community: "东湖社区".into(),
            grid: format!("G{i:05}"),
            population: 1000,
            tickets: i as u64,
            rate: i as f64,
            petitions: 0,
            level: match i {
                _ if i % 31 == 0 => "red",
                _ if i % 13 == 0 => "yellow",
                _ => "green",
            }
            .into(),
        })
        .collect()
}

/// The grid codes of the report's grid tables, in order.
fn listed_grids(text: &str) -> Vec<String> {
    let re = regex::Regex::new(r"<td>(G\d{5})</td>").unwrap();
    (text.split("class=\"grids\"").skip(1))
        .flat_map(|t| {
            let table = t.split("</table>").next().unwrap_or("");
            re.captures_iter(table)
                .map(|c| c[1].to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The grid codes folded under the report's line of green grids.
fn folded_grids(text: &str) -> Vec<String> {
    let folded = text
        .split("<details class=\"more\" id=\"green-grids\">")
        .nth(1);
    listed_grids(
        folded
            .and_then(|t| t.split("</details>").next())
            .unwrap_or(""),
    )
}

#[test]
fn a_large_district_lists_its_red_and_yellow_grids_and_counts_the_green_ones() {
    font::register(None).expect("the built-in CJK font");
    let mut d = sample();
    d.grids = grids(10_000);
    d.grid_file = "alerts/as_of=2025-12-30/grid_grades.csv".into();
    let (text, _) = html::html(&d).unwrap();
    let listed = listed_grids(&text);
    let red = (0..10_000).filter(|i| i % 31 == 0).count();
    let yellow = (0..10_000).filter(|i| i % 31 != 0 && i % 13 == 0).count();
    assert_eq!(listed.len(), red + yellow);
    // Red first, the highest rate first; then yellow.
    assert_eq!(listed[0], "G09982"); // 9982 = 31 × 322, the last red
    assert_eq!(listed[red], "G09997"); // 9997 = 13 × 769, the last yellow
    let green = 10_000 - red - yellow;
    assert!(
        text.contains(&format!("其余 {green} 个绿色网格未列出")),
        "no count of the green"
    );
    assert!(text.contains("grid_grades.csv"));
    assert!(text.contains("共 10000 个网格："));
    // Ten thousand rows would have made the page megabytes long (its 1,043 listed rows are
    // about 480 KB, the embedded font's glyphs for them some 40 KB more).
    assert!(text.len() < 600_000, "{} bytes", text.len());

    // All green: no table, and the line says so.
    for g in &mut d.grids {
        g.level = "green".into();
    }
    let (text, _) = html::html(&d).unwrap();
    assert!(listed_grids(&text).is_empty());
    assert!(!text.contains("class=\"grids\""));
    assert!(text.contains("个网格：") && text.contains("均为绿色，未逐一列出"));
}

#[test]
fn a_small_district_lists_every_grid_red_first_the_green_ones_folded() {
    font::register(None).expect("the built-in CJK font");
    let mut d = sample();
    d.grids = grids(html::GRIDS_LISTED_IN_FULL);
    let (text, _) = html::html(&d).unwrap();
    let listed = listed_grids(&text);
    assert_eq!(listed.len(), html::GRIDS_LISTED_IN_FULL);
    assert_eq!(&listed[..4], ["G00093", "G00062", "G00031", "G00000"]); // red
    assert_eq!(listed[4], "G00091"); // the first yellow: 91, 78, 65, …
    assert_eq!(listed.last().map(String::as_str), Some("G00001"));
    assert!(!text.contains("未列出"));
    // The green grids, and only they, are folded under a line that counts them.
    let red = (0..100).filter(|i| i % 31 == 0).count();
    let yellow = (0..100).filter(|i| i % 31 != 0 && i % 13 == 0).count();
    let folded = folded_grids(&text);
    assert_eq!(folded, listed[red + yellow..]);
    assert_eq!(folded[0], "G00099");
    let green = 100 - red - yellow;
    assert!(text.contains(&format!("其余 {green} 个绿色网格（按每千人件数排列")));

    // All green: one folded table of every grid.
    for g in &mut d.grids {
        g.level = "green".into();
    }
    let (text, _) = html::html(&d).unwrap();
    assert_eq!(folded_grids(&text).len(), html::GRIDS_LISTED_IN_FULL);
    assert_eq!(listed_grids(&text).len(), html::GRIDS_LISTED_IN_FULL);
    assert!(text.contains("全部 100 个网格（按每千人件数排列"));
    // Nothing to fold: no line for it.
    d.grids = grids(14)
        .into_iter()
        .filter(|g| g.level != "green")
        .collect();
    let (text, _) = html::html(&d).unwrap();
    assert_eq!(listed_grids(&text), ["G00000", "G00013"]); // red, then yellow
    assert!(!text.contains("green-grids"));
}

#[test]
fn the_grid_grading_comes_after_the_red_compounds_details() {
    font::register(None).expect("the built-in CJK font");
    let mut d = sample();
    d.grids = grids(3);
    let (text, _) = html::html(&d).unwrap();
    let at = |s: &str| text.find(s).unwrap_or_else(|| panic!("no {s}"));
    assert!(at("预警小区排名") < at("红色预警小区详情"));
    assert!(at("红色预警小区详情") < at("网格红黄绿评定"));
}

fn alert(level: &str, street: &str, category: &str) -> AlertRow {
    AlertRow {
        level: level.into(),
        street: street.into(),
        top_category: category.into(),
        ..sample().alerts[0].clone()
    }
}

#[test]
fn the_summary_says_in_a_few_words_how_many_where_what_and_which_targets_are_missed() {
    let mut d = sample();
    d.alerts = vec![
        alert("red", "青山街道", "设施维修"),
        alert("red", "和平街道", "延期交房"),
        alert("red", "青山街道", "设施维修"),
        alert("yellow", "和平街道", "噪音扰民"),
        alert("yellow", "和平街道", "噪音扰民"),
    ];
    d.headline.red = 3;
    d.headline.yellow = 2;
    d.headline.new_alerts = 4;
    d.headline.compared_with = Some("2025-12-29".into());
    d.headline.satisfaction = Some(0.915);
    d.headline.local_share = Some(0.998);
    assert_eq!(
        weaksignal_reports::summary(&d),
        [
            "红色预警小区 3 个、黄色 2 个，其中较上次新增 4 个。",
            "红色预警集中在青山街道（2 个）。",
            "红色预警的主要问题：设施维修（2 个）、延期交房（1 个）。",
            "满意率 91.5%，低于目标 92%。",
        ]
    );
    font::register(None).expect("the built-in CJK font");
    let (text, _) = html::html(&d).unwrap();
    assert!(text.contains("<p class=\"summary\" id=\"summary\">红色预警小区 3 个"));

    // No red: the yellow ones are where it gathers; no alert, no target missed.
    d.alerts.retain(|a| a.level == "yellow");
    (d.headline.red, d.headline.new_alerts) = (0, 0);
    d.headline.satisfaction = Some(0.95);
    assert_eq!(
        weaksignal_reports::summary(&d),
        [
            "红色预警小区 0 个、黄色 2 个。",
            "黄色预警集中在和平街道（2 个）。",
            "黄色预警的主要问题：噪音扰民（2 个）。",
        ]
    );
    // A first run has nothing to compare with: every alert is new, and it says so instead.
    d.headline.compared_with = None;
    d.headline.new_alerts = 2;
    assert_eq!(
        weaksignal_reports::summary(&d)[0],
        "红色预警小区 0 个、黄色 2 个（首次运行，无上次可比）。"
    );
    let (text, _) = html::html(&d).unwrap();
    assert!(text.contains("较上次新增预警（首次运行）</div><div class=\"v\">—</div>"));
    assert!(text.contains("<td data-k=\"趋势\">—</td>"));
    d.alerts.clear();
    d.headline.yellow = 0;
    d.headline.local_share = Some(0.90);
    assert_eq!(
        weaksignal_reports::summary(&d),
        ["今日无红黄预警小区。", "就地化解率 90.0%，低于目标 95%。"]
    );
    // "No alert" said after the data that is missing, not before.
    let gap = "数据提示：12345热线自 2025-12-28 后 2 天无记录，可能缺少导出，结果可能偏低。";
    d.headline.data_gaps = vec![gap.into()];
    assert_eq!(
        weaksignal_reports::summary(&d)[..2],
        [gap, "今日无红黄预警小区。"]
    );
}

#[test]
fn charts_on_a_tiny_canvas_are_drawn_or_refused_without_a_panic() {
    font::register(None).expect("the built-in CJK font");
    let d = sample();
    let tiny = charts::Canvas::sharp(60, 40, 2);
    // Too small for the axes: an error is fine, a panic is not.
    let _ = charts::trend("幸福家园", &d.details[0].trend, tiny);
    let _ = charts::heatmap(&d.heatmap, tiny);
    let _ = charts::streets(&d.streets, tiny);
    let _ = charts::map(&d.map, tiny);
}

#[test]
fn a_registry_without_coordinates_or_grids_gets_no_map_or_grading() {
    font::register(None).expect("the built-in CJK font");
    let mut d = sample();
    let (text, pngs) = html::html(&d).unwrap();
    assert!(text.contains("小区分布") && pngs.contains_key("map"));
    d.map.clear();
    let (text, pngs) = html::html(&d).unwrap();
    assert!(!text.contains("小区分布") && !pngs.contains_key("map"));
    assert!(pngs.contains_key("streets"));
    // Nor grids: no grid grading.
    d.grids = grids(3);
    let (text, _) = html::html(&d).unwrap();
    assert!(text.contains("网格红黄绿评定"));
    d.grids.clear();
    let (text, _) = html::html(&d).unwrap();
    assert!(!text.contains("网格红黄绿评定"), "{text}");
}
