//! Assembles the report's data from a date's alerts and the lake, and renders it with the
//! reports crate.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use chrono::{Duration, NaiveDate};
use datafusion::prelude::SessionContext;
use weaksignal_models::fusion::RiskLevel;
use weaksignal_models::trend::farrington::Farrington;
use weaksignal_models::trend::{Detector, Frequency, Series};
use weaksignal_reports::{
    AlertRow, Detail, GridRow, Headline, Heatmap, MapPoint, ReportData, StreetBar, TrendSeries,
};

use crate::config::Config;
use crate::features::{end_of_day_ms, sql_str, text_rows};
use crate::registry::{read_reference_csv, Compound};
use crate::score::{alerts_dir, Alert, GridGrade};
use crate::{Error, Result};

const DAY: i64 = 86_400_000;
const WEEKS_SHOWN: usize = 52;

fn channel_zh(c: &str) -> &'static str {
    match c {
        "hotline" => "12345热线",
        "grid" => "网格",
        "petition" => "信访",
        _ => "其他",
    }
}

/// The headline figures of `as_of` (the date's and the week's records per channel from
/// `days`, see [`daily_counts`]), and of the last 28 days' records, how many in all and how
/// many name no compound (for [`unresolved_note`]).
async fn headline(
    ctx: &SessionContext,
    as_of: NaiveDate,
    alerts: &[Alert],
    days: &BTreeMap<String, [u64; 28]>,
) -> Result<(Headline, (u64, u64))> {
    let tl = end_of_day_ms(as_of);
    let rows = text_rows(
        ctx,
        &format!(
            "SELECT channel,
                SUM(CASE WHEN satisfaction IN ('satisfied', 'basic') THEN 1 ELSE 0 END) AS good,
                SUM(CASE WHEN satisfaction <> 'none' THEN 1 ELSE 0 END) AS rated,
                COUNT(*) AS n,
                SUM(CASE WHEN compound_id IS NULL THEN 1 ELSE 0 END) AS unresolved
             FROM records WHERE CAST(received_at AS BIGINT) <= {tl}
               AND CAST(received_at AS BIGINT) > {d28}
             GROUP BY channel",
            d28 = tl - 28 * DAY
        ),
    )
    .await?;
    let mut h = Headline::default();
    for (channel, n) in days {
        let k = channel_index(channel);
        h.day[k] += n[0];
        h.week[k] += n[..7].iter().sum::<u64>();
    }
    let (mut good, mut rated, mut all, mut petitions) = (0i64, 0i64, 0i64, 0i64);
    let mut unresolved = 0i64;
    for r in rows {
        let v = |i: usize| r.get(i).and_then(|s| s.parse::<i64>().ok()).unwrap_or(0);
        good += v(1);
        rated += v(2);
        all += v(3);
        unresolved += v(4);
        if channel_index(&r[0]) == 2 {
            petitions += v(3);
        }
    }
    h.satisfaction = (rated > 0).then(|| good as f64 / rated as f64);
    h.local_share = (all > 0).then(|| 1.0 - petitions as f64 / all as f64);
    h.red = alerts.iter().filter(|a| a.level == RiskLevel::Red).count();
    h.yellow = alerts
        .iter()
        .filter(|a| a.level == RiskLevel::Yellow)
        .count();
    h.new_alerts = alerts
        .iter()
        .filter(|a| a.level != RiskLevel::Green && a.trend == weaksignal_models::fusion::Trend::New)
        .count();
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok((h, (count(all), count(unresolved))))
}

/// Records per channel and day over the 28 days up to `as_of` (index 0 the date itself).
async fn daily_counts(
    ctx: &SessionContext,
    as_of: NaiveDate,
) -> Result<BTreeMap<String, [u64; 28]>> {
    let tl = end_of_day_ms(as_of);
    let rows = text_rows(
        ctx,
        &format!(
            "SELECT channel, ({tl} - CAST(received_at AS BIGINT)) / {DAY} AS age, COUNT(*) AS n
             FROM records WHERE CAST(received_at AS BIGINT) <= {tl}
               AND CAST(received_at AS BIGINT) > {from}
             GROUP BY channel, ({tl} - CAST(received_at AS BIGINT)) / {DAY}",
            from = tl - 28 * DAY
        ),
    )
    .await?;
    let mut out: BTreeMap<String, [u64; 28]> = BTreeMap::new();
    for r in rows {
        let (Some(age), Some(n)) = (
            r.get(1).and_then(|v| v.parse::<usize>().ok()),
            r.get(2).and_then(|v| v.parse::<u64>().ok()),
        ) else {
            continue;
        };
        if let Some(slot) = out.entry(r[0].clone()).or_default().get_mut(age) {
            *slot += n;
        }
    }
    Ok(out)
}

/// Per channel, the days before `as_of` (0: the date itself) with a record, nearest first,
/// over the whole lake: how long a channel has been silent, however long.
async fn record_days(ctx: &SessionContext, as_of: NaiveDate) -> Result<BTreeMap<String, Vec<u32>>> {
    let tl = end_of_day_ms(as_of);
    let rows = text_rows(
        ctx,
        &format!(
            "SELECT channel, ({tl} - CAST(received_at AS BIGINT)) / {DAY} AS age
             FROM records WHERE CAST(received_at AS BIGINT) <= {tl}
             GROUP BY channel, ({tl} - CAST(received_at AS BIGINT)) / {DAY}"
        ),
    )
    .await?;
    let mut out: BTreeMap<String, Vec<u32>> = BTreeMap::new();
    for r in rows {
        if let Some(age) = r.get(1).and_then(|v| v.parse::<u32>().ok()) {
            out.entry(r[0].clone()).or_default().push(age);
        }
    }
    for ages in out.values_mut() {
        ages.sort_unstable();
    }
    Ok(out)
}

/// Channels whose data looks missing on `as_of`: a channel that had records on at least two
/// days in three (the hotline and grid platform, not the petitions) over the four weeks up
/// to its last record (`days`: [`record_days`]) and none since — however long ago that was:
/// a feed broken for weeks would otherwise read as a calm district —, or whose date has
/// under a quarter of its daily median over the last four weeks (`counts[c][0]` the date,
/// `[1..]` the 27 days before; a median of at least 8). A lake with no record up to the
/// date says so.
fn data_gaps(
    as_of: NaiveDate,
    counts: &BTreeMap<String, [u64; 28]>,
    days: &BTreeMap<String, Vec<u32>>,
) -> Vec<String> {
    if days.values().all(Vec::is_empty) {
        return vec![format!(
            "数据提示：截至 {as_of} 尚无任何记录，以下结果不反映实际情况。"
        )];
    }
    let mut out = vec![];
    for (channel, ages) in days {
        let name = channel_zh(channel);
        let Some(&silent) = ages.first() else {
            continue;
        };
        let active = ages.iter().take_while(|&&a| a < silent + 28).count();
        if silent > 0 && active * 3 >= 28 * 2 {
            let last = as_of - Duration::days(i64::from(silent));
            out.push(format!(
                "数据提示：{name}自 {last} 后 {silent} 天无记录，可能缺少导出，结果可能偏低。"
            ));
            continue;
        }
        let Some(daily) = counts.get(channel).filter(|d| d[0] > 0) else {
            continue;
        };
        let history = &daily[1..];
        if history.iter().filter(|&&n| n > 0).count() * 3 < history.len() * 2 {
            continue; // not a daily channel: a quiet day says nothing
        }
        let mut sorted = history.to_vec();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2];
        if median >= 8 && daily[0] * 4 < median {
            out.push(format!(
                "数据提示：{name}当日仅 {} 条（近4周日中位数 {median} 条），导出可能不完整。",
                daily[0]
            ));
        }
    }
    out
}

/// Per channel, the records of the 28 days up to `as_of` and of the 26 weeks before them:
/// (records, records without a reporter pseudonym) of each.
async fn identity_counts(
    ctx: &SessionContext,
    as_of: NaiveDate,
) -> Result<BTreeMap<String, [(u64, u64); 2]>> {
    let tl = end_of_day_ms(as_of);
    let recent = tl - 28 * DAY;
    let rows = text_rows(
        ctx,
        &format!(
            "SELECT channel, CAST(received_at AS BIGINT) > {recent} AS recent, COUNT(*) AS n,
                    COUNT(*) - COUNT(reporter_key) AS without
             FROM records WHERE CAST(received_at AS BIGINT) <= {tl}
               AND CAST(received_at AS BIGINT) > {from}
             GROUP BY channel, CAST(received_at AS BIGINT) > {recent}",
            from = recent - 26 * 7 * DAY
        ),
    )
    .await?;
    let mut out: BTreeMap<String, [(u64, u64); 2]> = BTreeMap::new();
    for r in rows {
        let (Some(n), Some(without)) = (
            r.get(2).and_then(|v| v.parse::<u64>().ok()),
            r.get(3).and_then(|v| v.parse::<u64>().ok()),
        ) else {
            continue;
        };
        let i = usize::from(r.get(1).is_some_and(|v| v == "true"));
        out.entry(r[0].clone()).or_default()[i] = (n, without);
    }
    Ok(out)
}

/// Channels whose recent records (`counts[c][1]`, the last 28 days) lack a reporter
/// pseudonym far more often than the channel's own earlier records (`[0]`, the 26 weeks
/// before): a reporter column renamed, dropped or shortened by a spreadsheet (`1.38E+10`),
/// which silently lowers every count of distinct and repeat households. Far more: at least
/// ten points above the earlier share and four standard errors above it (a binomial test on
/// the channel's own rate), with at least 50 recent and 200 earlier records.
fn identity_gaps(counts: &BTreeMap<String, [(u64, u64); 2]>) -> Vec<String> {
    let mut out = vec![];
    for (channel, [(old_n, old_without), (n, without)]) in counts {
        if *n < 50 || *old_n < 200 {
            continue;
        }
        let p = *old_without as f64 / *old_n as f64;
        let share = *without as f64 / *n as f64;
        let se = (p * (1.0 - p) / *n as f64).sqrt().max(1e-9);
        if share - p >= 0.10 && (share - p) / se >= 4.0 {
            out.push(format!(
                "数据提示：{}近28天有 {:.0}% 的记录缺少来电人标识（此前 {:.0}%），重复来电户等指标可能偏低；请检查导出中的号码或联系人列（是否改名，或被表格软件改写为 1.38E+10 之类）。",
                channel_zh(channel),
                100.0 * share,
                100.0 * p
            ));
        }
    }
    out
}

/// A channel's place in the headline's per-channel figures: hotline, grid, petition.
fn channel_index(channel: &str) -> usize {
    match channel {
        "hotline" => 0,
        "grid" => 1,
        _ => 2,
    }
}

/// What the scores cannot see: of `all` records of the last 28 days, the `unresolved` that
/// name no compound the registry resolves, when some do (they count in no compound's score,
/// so a leader reading "no red" should know how much went unseen, and an analyst where to
/// look).
fn unresolved_note(all: u64, unresolved: u64) -> Option<String> {
    (unresolved > 0).then(|| {
        format!(
            "近28天{all}条诉求中有{unresolved}条（{:.1}%）的地址未能对应到小区，未计入任何小区的得分；\
             最常见的这类地址及其可能对应的小区列在当次运行清单（输出目录 runs/ 下的 JSON，unmatched 一项），可据此在小区名册中补充别名或映射导出表的街道、网格列。",
            100.0 * unresolved as f64 / all.max(1) as f64
        )
    })
}

/// A note when the grid grading's thresholds tell the district's grids apart not at all —
/// every grid below yellow, or half of them or more at red by their rates — with where the
/// rates lie, so that the analyst can set thresholds that fit the district's volumes (the
/// defaults are a guess; a district's 12345 volume per resident varies tenfold).
fn grading_note(grades: &[GridGrade], yellow: f64, red: f64) -> Option<String> {
    if grades.len() < 10 {
        return None;
    }
    let mut rates: Vec<f64> = grades.iter().map(|g| g.rate).collect();
    rates.sort_by(f64::total_cmp);
    let median = rates[rates.len() / 2];
    let (low, high) = (rates[0], rates[rates.len() - 1]);
    let at_red = rates.iter().filter(|&&r| r >= red).count();
    let finding = if high < yellow {
        "全部网格的件数低于黄色阈值".to_string()
    } else if 2 * at_red >= rates.len() {
        format!("{} 个网格中 {at_red} 个的件数达到红色阈值", rates.len())
    } else {
        return None;
    };
    Some(format!(
        "网格评定阈值为每千人每半年 {yellow:.0} 件（黄）、{red:.0} 件（红）：本期{finding}，\
         各网格每千人件数最低 {low:.1}、中位数 {median:.1}、最高 {high:.1}；阈值可在配置 \
         scoring.grid_yellow_rate、grid_red_rate 中按本区实际调整。"
    ))
}

fn row(a: &Alert, rule_names: &HashMap<String, String>) -> AlertRow {
    AlertRow {
        compound_id: a.compound_id.clone(),
        name: a.name.clone(),
        street: a.street.clone(),
        community: a.community.clone(),
        level: a.level.as_str().into(),
        score: a.score,
        trend: a.trend.zh().into(),
        top_category: a.top_category.clone().unwrap_or_else(|| "—".into()),
        reasons: a.reasons.clone(),
        first_raised: a.first_raised.map(|d| d.to_string()).unwrap_or_default(),
        rules: a
            .rules
            .iter()
            .map(|r| rule_names.get(r).cloned().unwrap_or_else(|| r.clone()))
            .collect(),
    }
}

/// Weekly counts (oldest first) of the compounds in `ids`, per (compound, category), over
/// `weeks` weeks up to `as_of`; and the weeks with a petition.
async fn weekly(
    ctx: &SessionContext,
    ids: &[&str],
    as_of: NaiveDate,
    weeks: usize,
) -> Result<HashMap<(String, String), Vec<f64>>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let tl = end_of_day_ms(as_of);
    let list = ids
        .iter()
        .map(|i| sql_str(i))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = text_rows(
        ctx,
        &format!(
            "SELECT compound_id, COALESCE(category_l2, '') AS cat, channel,
                ({tl} - CAST(received_at AS BIGINT)) / {w} AS wk, COUNT(*) AS n
             FROM records WHERE compound_id IN ({list})
               AND CAST(received_at AS BIGINT) <= {tl}
               AND CAST(received_at AS BIGINT) > {lo}
             GROUP BY 1, 2, 3, 4",
            w = 7 * DAY,
            lo = tl - weeks as i64 * 7 * DAY
        ),
    )
    .await?;
    let mut out: HashMap<(String, String), Vec<f64>> = HashMap::new();
    for r in rows {
        let wk: usize = r[3].parse().unwrap_or(usize::MAX);
        if wk >= weeks {
            continue;
        }
        let n: f64 = r[4].parse().unwrap_or(0.0);
        let i = weeks - 1 - wk;
        for key in [
            (r[0].clone(), r[1].clone()),
            (r[0].clone(), "*".to_string()),
            (r[0].clone(), format!("@{}", r[2])),
        ] {
            out.entry(key).or_insert_with(|| vec![0.0; weeks])[i] += n;
        }
    }
    Ok(out)
}

/// Builds the report data of `as_of` from its alerts (already written by `score`).
///
/// # Errors
/// Missing alerts, lake or registry errors.
pub async fn build(
    cfg: &Config,
    ctx: &SessionContext,
    as_of: NaiveDate,
    rule_names: &HashMap<String, String>,
) -> Result<ReportData> {
    let output = cfg.resolve(&cfg.scoring.output);
    let dir = alerts_dir(&output, as_of);
    let read = |name: &str| -> Result<String> {
        let p = dir.join(name);
        std::fs::read_to_string(&p).map_err(|e| Error::Config {
            path: p.clone(),
            reason: format!("{e}: run `weaksignal score --as-of {as_of}` first"),
        })
    };
    let alerts: Vec<Alert> = serde_json::from_str(&read("alerts.json")?)?;
    let (grid_period, grades): (String, Vec<GridGrade>) =
        serde_json::from_str(&read("grid_grades.json")?)?;
    let compounds: Vec<Compound> = read_reference_csv(&cfg.resolve(&cfg.reference.compounds))?;
    let by_id: HashMap<&str, &Compound> = compounds
        .iter()
        .map(|c| (c.compound_id.as_str(), c))
        .collect();
    let days = daily_counts(ctx, as_of).await?;
    let (mut hl, (recent, unresolved)) = headline(ctx, as_of, &alerts, &days).await?;
    hl.compared_with = crate::score::previous_scoring(&output, as_of).map(|d| d.to_string());
    hl.data_gaps = data_gaps(as_of, &days, &record_days(ctx, as_of).await?);
    hl.data_gaps
        .extend(identity_gaps(&identity_counts(ctx, as_of).await?));
    for g in &hl.data_gaps {
        tracing::warn!(as_of = %as_of, "{g}");
    }
    let flagged: Vec<&Alert> = alerts
        .iter()
        .filter(|a| a.level != RiskLevel::Green)
        .collect();
    let red: Vec<&Alert> = flagged
        .iter()
        .copied()
        .filter(|a| a.level == RiskLevel::Red)
        .take(12)
        .collect();
    let heat: Vec<&Alert> = flagged.iter().copied().take(15).collect();
    let ids: Vec<&str> = heat
        .iter()
        .chain(red.iter())
        .map(|a| a.compound_id.as_str())
        .collect();
    let series = weekly(ctx, &ids, as_of, 104).await?;
    let week_end =
        |i: usize, n: usize| (as_of - Duration::days(7 * (n - 1 - i) as i64)).to_string();
    let farrington = Farrington::params().b(1).check()?;
    let mut details = vec![];
    for a in &red {
        let total = series
            .get(&(a.compound_id.clone(), "*".into()))
            .cloned()
            .unwrap_or_else(|| vec![0.0; 104]);
        let pts = farrington.detect(&Series::new(&total, Frequency::Weekly))?;
        let pet = series
            .get(&(a.compound_id.clone(), "@petition".into()))
            .cloned()
            .unwrap_or_else(|| vec![0.0; 104]);
        let skip = total.len() - WEEKS_SHOWN;
        let first_raised = a.first_raised.and_then(|f| {
            let back = (as_of - f).num_days() / 7;
            (back < WEEKS_SHOWN as i64).then(|| WEEKS_SHOWN - 1 - back as usize)
        });
        let trend = TrendSeries {
            weeks: (0..WEEKS_SHOWN).map(|i| week_end(i, WEEKS_SHOWN)).collect(),
            counts: total[skip..].to_vec(),
            upper: pts[skip..].iter().map(|p| p.upper_bound).collect(),
            alarms: pts[skip..].iter().map(|p| p.alarm == Some(true)).collect(),
            petitions: pet[skip..].iter().map(|&n| n > 0.0).collect(),
            first_raised,
        };
        let mut cats: Vec<(String, u64)> = series
            .iter()
            .filter(|((c, k), _)| {
                c == &a.compound_id && !k.starts_with(['*', '@']) && !k.is_empty()
            })
            .map(|((_, k), v)| (k.clone(), v[104 - 8..].iter().sum::<f64>() as u64))
            .filter(|(_, n)| *n > 0)
            .collect();
        cats.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
        let texts =
            crate::features::evidence(ctx, &a.compound_id, a.top_category.as_deref(), as_of, 5)
                .await?
                .into_iter()
                .map(|(_, ch, t, content)| {
                    let date = chrono::DateTime::from_timestamp_millis(t)
                        .map(|d| {
                            d.with_timezone(&chrono_tz::Asia::Shanghai)
                                .format("%m-%d")
                                .to_string()
                        })
                        .unwrap_or_default();
                    let text: String = content.chars().take(120).collect();
                    (date, channel_zh(&ch).to_string(), text)
                })
                .collect();
        details.push(Detail {
            alert: row(a, rule_names),
            trend,
            categories: cats,
            texts,
        });
    }
    let hm_weeks = 26;
    let mut heatmap = Heatmap {
        cols: (0..hm_weeks).map(|i| week_end(i, hm_weeks)).collect(),
        ..Default::default()
    };
    for a in &heat {
        let cat = a.top_category.clone().unwrap_or_default();
        let v = series
            .get(&(a.compound_id.clone(), cat.clone()))
            .map(|v| v[104 - hm_weeks..].to_vec())
            .unwrap_or_else(|| vec![0.0; hm_weeks]);
        heatmap.rows.push(format!(
            "{}·{}",
            a.name,
            if cat.is_empty() { "全部" } else { &cat }
        ));
        heatmap.values.push(v);
    }
    let mut streets: BTreeMap<String, (usize, usize, f64, f64)> = BTreeMap::new();
    for a in &alerts {
        let e = streets.entry(a.street.clone()).or_default();
        match a.level {
            RiskLevel::Red => e.0 += 1,
            RiskLevel::Yellow => e.1 += 1,
            RiskLevel::Green => {}
        }
        e.2 += a.figures.get("n28").copied().unwrap_or(0.0);
        e.3 += by_id
            .get(a.compound_id.as_str())
            .map_or(0.0, |c| f64::from(c.population));
    }
    let map = alerts
        .iter()
        .filter_map(|a| {
            let c = by_id.get(a.compound_id.as_str())?;
            Some(MapPoint {
                lon: c.lon?,
                lat: c.lat?,
                level: a.level.as_str().into(),
            })
        })
        .collect();
    let score_info: Option<serde_json::Value> = read("score_info.json")
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let mut notes = score_notes(score_info.as_ref(), recent, unresolved);
    notes.extend(grading_note(
        &grades,
        cfg.scoring.grid_yellow_rate,
        cfg.scoring.grid_red_rate,
    ));
    Ok(ReportData {
        as_of: as_of.to_string(),
        title: cfg.scoring.title.clone(),
        headline: hl,
        alerts: flagged.iter().map(|a| row(a, rule_names)).collect(),
        details,
        heatmap,
        streets: streets
            .into_iter()
            .map(|(street, (red, yellow, n, pop))| StreetBar {
                street,
                red,
                yellow,
                rate: 1000.0 * n / pop.max(1.0),
            })
            .collect(),
        map,
        grid_period,
        grids: grades
            .into_iter()
            .map(|g| GridRow {
                street: g.street,
                community: g.community,
                grid: g.grid,
                population: g.population,
                tickets: g.tickets,
                rate: g.rate,
                petitions: g.petitions,
                level: g.level.as_str().into(),
            })
            .collect(),
        grid_file: format!("alerts/as_of={as_of}/grid_grades.csv"),
        notes,
    })
}

/// The report's notes on how the scores were made: the red cut-off (fitted on history to a
/// precision, or the configured one), the model or why there was none, and the figures'
/// definitions. `score_info` is the scoring's `score_info.json`.
fn score_notes(
    score_info: Option<&serde_json::Value>,
    recent: u64,
    unresolved: u64,
) -> Vec<String> {
    let f64_at = |v: &serde_json::Value, k: &str| v.get(k).and_then(serde_json::Value::as_f64);
    let fitted = score_info
        .and_then(|v| v.get("red_cutoff_fitted"))
        .and_then(serde_json::Value::as_bool);
    let cutoff = score_info.and_then(|v| f64_at(v, "red_cutoff"));
    let cutoff_words = match (fitted, cutoff) {
        (Some(false), Some(c)) => format!("红色门槛为配置值 {c:.0}（未能按历史数据拟合）"),
        _ => match score_info.and_then(|v| f64_at(v, "red_precision")) {
            Some(p) => format!(
                "红色门槛由历史数据拟合：回测中红色预警此后8周内确实发生集体或越级信访的比例不低于{:.0}%（按置信下限估计）",
                100.0 * p
            ),
            None => "红色门槛由历史数据拟合".to_string(),
        },
    };
    let has_model = score_info
        .and_then(|v| v.get("model"))
        .is_some_and(|m| !m.is_null());
    let score_words = match has_model {
        true => "模型估计的8周内集体访或市级以上信访概率，叠加规则触发",
        false => "由触发的规则累加",
    };
    let mut notes = vec![
        format!("得分0–100：{score_words}；{cutoff_words}。"),
        "满意率=近28天回访中满意与基本满意之比；就地化解率=近28天诉求中未形成信访的比例。"
            .to_string(),
    ];
    notes.extend(unresolved_note(recent, unresolved));
    let Some(v) = score_info else {
        return notes;
    };
    if let Some(m) = v.get("model").filter(|m| !m.is_null()) {
        notes.push(format!(
            "升级模型 {}：验证集AUC {:.3}；红色门槛 {:.1}{}。",
            m.get("version").and_then(|x| x.as_str()).unwrap_or(""),
            m.pointer("/metrics/auc_valid")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::NAN),
            cutoff.unwrap_or(f64::NAN),
            if fitted == Some(true) {
                "（按历史拟合）"
            } else {
                "（配置值）"
            }
        ));
    } else if let Some(e) = v.get("model_error").and_then(|x| x.as_str()) {
        // The plain reason; the technical one (with its counts) stays in score_info.json
        // and the run's log for the analyst.
        let why = v
            .get("model_refusal")
            .and_then(|r| serde_json::from_value::<crate::score::Refusal>(r.clone()).ok())
            .map_or(e.to_string(), |r| r.zh().to_string());
        notes.push(format!("升级模型未启用（{why}）；得分仅来自规则。"));
    }
    notes
}

/// The report folder of a date.
pub fn report_dir(cfg: &Config, as_of: NaiveDate) -> PathBuf {
    cfg.resolve(&cfg.scoring.output)
        .join("reports")
        .join(as_of.to_string())
}

/// Builds and renders the report of `as_of`; returns the path of `index.html`.
///
/// # Errors
/// As [`build`], and font, chart or I/O errors.
pub async fn render(
    cfg: &Config,
    ctx: &SessionContext,
    as_of: NaiveDate,
    rule_names: &HashMap<String, String>,
) -> Result<PathBuf> {
    let data = build(cfg, ctx, as_of, rule_names).await?;
    let dir = report_dir(cfg, as_of);
    let w = weaksignal_reports::html::render(
        &data,
        &dir,
        cfg.scoring
            .font
            .as_deref()
            .map(|p| cfg.resolve(p))
            .as_deref(),
    )
    .map_err(|e| Error::Report(e.to_string()))?;
    let data_path = dir.join("report.json");
    crate::lake::write_atomic(&data_path, |f| Ok(serde_json::to_writer(f, &data)?))?;
    Ok(w.index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(channels: &[(&str, [u64; 28])]) -> BTreeMap<String, [u64; 28]> {
        channels.iter().map(|(c, d)| (c.to_string(), *d)).collect()
    }

    /// The days with records of 28 days' counts, and `before` days of records before them.
    fn days(counts: &BTreeMap<String, [u64; 28]>, before: u32) -> BTreeMap<String, Vec<u32>> {
        (counts.iter())
            .map(|(c, d)| {
                let within = (0..28u32).filter(|&a| d[a as usize] > 0);
                (c.clone(), within.chain(28..28 + before).collect())
            })
            .collect()
    }

    fn graded(rates: &[f64]) -> Vec<GridGrade> {
        (rates.iter().enumerate())
            .map(|(i, &rate)| GridGrade {
                street: "东湖街道".into(),
                community: "东湖社区".into(),
                grid: format!("G{i:03}"),
                population: 1000,
                tickets: rate as u64,
                rate,
                petitions: 0,
                level: weaksignal_models::fusion::RiskLevel::Green,
            })
            .collect()
    }

    #[test]
    fn thresholds_that_tell_no_grid_apart_are_noted_with_where_the_rates_lie() {
        let rates: Vec<f64> = (1..=11).map(|i| 5.0 * i as f64).collect(); // 5 … 55
        let note = grading_note(&graded(&rates), 60.0, 120.0).unwrap();
        assert!(note.contains("全部网格的件数低于黄色阈值"), "{note}");
        assert!(note.contains("最低 5.0、中位数 30.0、最高 55.0"), "{note}");
        assert!(
            note.contains("每千人每半年 60 件（黄）、120 件（红）"),
            "{note}"
        );
        // One grid at yellow: the thresholds tell grids apart.
        assert_eq!(grading_note(&graded(&rates), 55.0, 120.0), None);
        // Half at red or more.
        let note = grading_note(&graded(&rates), 10.0, 30.0).unwrap();
        assert!(
            note.contains("11 个网格中 6 个的件数达到红色阈值"),
            "{note}"
        );
        // 5 of 11 at red: no note.
        assert_eq!(grading_note(&graded(&rates), 10.0, 35.0), None);
        // Under ten grids, no note (a small set is often all green).
        assert_eq!(grading_note(&graded(&rates[..9]), 60.0, 120.0), None);
    }

    #[test]
    fn a_daily_channel_that_stops_or_thins_out_is_named() {
        let as_of = NaiveDate::from_ymd_opt(2025, 12, 30).unwrap();
        let gaps = |c: &BTreeMap<String, [u64; 28]>| data_gaps(as_of, c, &days(c, 60));
        let mut hotline = [30; 28];
        let grid = [10; 28];
        // Petitions come a few a month: a quiet date is normal.
        let mut petition = [0; 28];
        petition[9] = 1;
        petition[20] = 2;
        let p = counts(&[("petition", petition)]);
        let petition_days = BTreeMap::from([("petition".to_string(), vec![9, 20, 41, 70])]);
        assert!(data_gaps(as_of, &p, &petition_days).is_empty());
        assert!(gaps(&counts(&[("hotline", hotline), ("grid", grid)])).is_empty());
        // A weekend at half the usual is no gap.
        hotline[0] = 15;
        assert!(gaps(&counts(&[("hotline", hotline)])).is_empty());
        hotline[0] = 0;
        hotline[1] = 0;
        let mut thin = grid;
        thin[0] = 2;
        assert_eq!(
            gaps(&counts(&[("grid", thin), ("hotline", hotline)])),
            [
                "数据提示：网格当日仅 2 条（近4周日中位数 10 条），导出可能不完整。",
                "数据提示：12345热线自 2025-12-28 后 2 天无记录，可能缺少导出，结果可能偏低。",
            ]
        );
        // A channel too small for a quarter of its median to say anything.
        let mut small = [4; 28];
        small[0] = 1;
        assert!(gaps(&counts(&[("grid", small)])).is_empty());
        // Silent for longer than the four weeks (a feed broken for six weeks, or a date
        // typed years after the last export): named, with the day of its last record
        // (before session 39 a silence of more than ten days went unremarked).
        let long = BTreeMap::from([("hotline".to_string(), (42..120).collect::<Vec<u32>>())]);
        assert_eq!(
            data_gaps(as_of, &counts(&[("hotline", [0; 28])]), &long),
            ["数据提示：12345热线自 2025-11-18 后 42 天无记录，可能缺少导出，结果可能偏低。"]
        );
        // No record at all up to the date: the whole report is said to be empty.
        let none = data_gaps(as_of, &BTreeMap::new(), &BTreeMap::new());
        assert_eq!(
            none,
            ["数据提示：截至 2025-12-30 尚无任何记录，以下结果不反映实际情况。"]
        );
    }

    #[test]
    fn a_channel_whose_recent_records_lose_their_reporters_is_named() {
        let counts = |c: &[(&str, [(u64, u64); 2])]| -> BTreeMap<String, [(u64, u64); 2]> {
            c.iter().map(|(c, n)| (c.to_string(), *n)).collect()
        };
        // The hotline: 2 % anonymous before, 40 % now. Petitions: always without one
        // (a register with no reporter column): nothing to say. The grid: 30 % → 36 %,
        // within its own variation at this volume.
        let gaps = identity_gaps(&counts(&[
            ("hotline", [(6000, 120), (1000, 400)]),
            ("petition", [(300, 300), (60, 60)]),
            ("grid", [(2000, 600), (100, 36)]),
        ]));
        assert_eq!(
            gaps,
            ["数据提示：12345热线近28天有 40% 的记录缺少来电人标识（此前 2%），重复来电户等指标可能偏低；请检查导出中的号码或联系人列（是否改名，或被表格软件改写为 1.38E+10 之类）。"]
        );
        // Too few records to judge, either side.
        assert!(identity_gaps(&counts(&[("hotline", [(6000, 120), (40, 40)])])).is_empty());
        assert!(identity_gaps(&counts(&[("hotline", [(100, 2), (1000, 400)])])).is_empty());
    }
}
