//! The demo city: a synthetic district with ground truth (`weaksignal simulate`).
//!
//! Deterministic for a seed. Writes the compound registry, two years of exports in the
//! formats real offices produce (12345 monthly GBK CSV overlapping by three days, grid JSON
//! Lines, petition XLSX), the taxonomy, a config for them, and the truth (episodes,
//! escalations and each record's compound). The generative assumptions are listed in `notebooks-data/README.md`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Poisson};
use serde::Serialize;

use crate::error::IoContext;
use crate::registry::{Category, Compound};
use crate::Result;

/// The bundled taxonomy (also in `notebooks-data/taxonomy.csv`).
pub const TAXONOMY_CSV: &str = include_str!("../../notebooks-data/taxonomy.csv");
/// The bundled rule file (also in `notebooks-data/rules.toml`).
pub const RULES_TOML: &str = include_str!("../../notebooks-data/rules.toml");
/// The bundled escalation lexicon (also in `notebooks-data/lexicon.txt`).
pub const LEXICON_TXT: &str = include_str!("../../notebooks-data/lexicon.txt");

/// City size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
pub enum Scale {
    /// About 80 compounds.
    Small,
    /// About 600 compounds.
    Medium,
    /// About 10,000 compounds.
    Large,
}

impl Scale {
    fn compounds(self) -> usize {
        match self {
            Scale::Small => 80,
            Scale::Medium => 600,
            Scale::Large => 10_000,
        }
    }
}

/// What `simulate` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct SimSummary {
    /// Output folder.
    pub out: PathBuf,
    /// Compounds.
    pub compounds: usize,
    /// Rows per channel as exported (hotline counts overlap rows twice).
    pub rows: BTreeMap<String, usize>,
    /// Episodes and how many escalate.
    pub episodes: usize,
    /// Escalations (collective or city-level-or-above petitions).
    pub escalations: usize,
    /// The config written.
    pub config: PathBuf,
}

const STREETS: &[&str] = &[
    "东城街道",
    "西湖街道",
    "南湖街道",
    "北岸街道",
    "新华街道",
    "长安街道",
    "滨江街道",
    "和平街道",
    "青山街道",
    "龙泉街道",
];
const NAME_A: &[&str] = &[
    "阳光", "幸福", "锦绣", "金色", "翠湖", "碧水", "华府", "龙湾", "东方", "紫荆", "桂园", "枫林",
    "天悦", "景苑", "丽都", "盛世", "和园", "新城", "书香", "滨河",
];
const NAME_B: &[&str] = &[
    "花园", "家园", "小区", "名苑", "雅居", "公寓", "府", "里", "城", "湾",
];
const ROADS: &[&str] = &[
    "建设路",
    "人民路",
    "解放路",
    "中山路",
    "文化路",
    "长江路",
    "黄河路",
    "青年路",
];
const TYPES: &[(&str, f64)] = &[
    ("商品房", 0.45),
    ("老旧小区", 0.25),
    ("三无小区", 0.08),
    ("城中村", 0.10),
    ("安置房", 0.12),
];
const COMPANIES: &[&str] = &[
    "万家物业",
    "安居物业",
    "恒信物业",
    "城市之光物业",
    "金盾物业",
    "绿城服务",
    "华润物业",
    "碧桂园服务",
];

/// Text templates: the category's problem phrases, combined with generic openings and endings.
fn phrases(l2: &str) -> &'static [&'static str] {
    match l2 {
        "道路破损" => &[
            "小区门口道路坑洼不平",
            "路面塌陷存在安全隐患",
            "道路破损下雨积水",
        ],
        "违章搭建" => &[
            "有业主在楼顶私搭乱建",
            "一楼住户违规扩建院子",
            "公共区域被违建占用",
        ],
        "停车管理" => &[
            "小区停车位不足车辆乱停",
            "消防通道被车辆堵塞",
            "外来车辆随意停放",
        ],
        "环境卫生" => &[
            "垃圾桶满了无人清运",
            "楼道堆放杂物卫生很差",
            "垃圾站异味严重",
        ],
        "占道经营" => &[
            "小区门口流动摊贩占道",
            "商户占用人行道经营",
            "早市摊位堵塞道路",
        ],
        "绿化养护" => &[
            "树木长期无人修剪遮挡阳光",
            "绿地被毁改成菜地",
            "枯树有倒伏危险",
        ],
        "供水问题" => &["家里停水没有通知", "自来水水压太低", "水管爆裂大量漏水"],
        "供电问题" => &["小区频繁停电", "电压不稳电器损坏", "楼道灯损坏长期不亮"],
        "供暖问题" => &["暖气不热室温只有十几度", "供暖管道漏水", "暖气片冰凉"],
        "燃气问题" => &["燃气管道有异味", "天然气停供影响做饭", "燃气表故障"],
        "电动车充电" => &[
            "楼道里有人飞线充电",
            "电动车在楼道充电有火灾隐患",
            "小区充电桩太少",
        ],
        "老旧小区改造" => &[
            "老旧小区改造施工拖延",
            "改造后外墙脱落",
            "改造方案没有征求居民意见",
        ],
        "电梯故障" => &[
            "电梯经常故障困人",
            "电梯停运一个月没人修",
            "电梯异响存在安全隐患",
        ],
        "物业服务" => &[
            "物业不作为服务很差",
            "物业人员态度恶劣",
            "物业对报修不理不睬",
        ],
        "物业收费" => &["物业费上涨没有公示", "物业乱收费", "停车费收费不合理"],
        "公共收益" => &[
            "小区公共收益去向不明",
            "电梯广告收入没有公开",
            "公共收益被物业侵占",
        ],
        "业委会选举" => &[
            "业委会选举程序不公开",
            "业委会成员与物业勾结",
            "要求重新选举业委会",
        ],
        "小区安保" => &[
            "门禁损坏外来人员随意进出",
            "小区发生盗窃保安不管",
            "监控长期损坏",
        ],
        "设施维修" => &["楼顶漏水多次报修未处理", "下水道堵塞污水外溢", "单元门损坏"],
        "邻里纠纷" => &["楼上住户漏水到我家", "邻居占用公共过道", "邻居养狗扰民"],
        "噪音扰民" => &["夜间施工噪音扰民", "广场舞音响太吵", "楼下商铺噪音大"],
        "延期交房" => &[
            "开发商延期交房一年多",
            "交房日期一拖再拖",
            "逾期交房没有赔偿",
        ],
        "房产证办理" => &[
            "交房多年办不了房产证",
            "不动产证迟迟不能办理",
            "开发商不配合办证",
        ],
        "拆迁安置" => &["拆迁补偿标准太低", "安置房迟迟不能入住", "征收补偿款未到位"],
        "欠薪问题" => &["物业公司拖欠保洁工资", "施工队拖欠农民工工资", "讨薪无门"],
        _ => &["小区问题反映", "希望有关部门处理", "情况比较紧急"],
    }
}
const OPENINGS: &[&str] = &[
    "来电人反映:",
    "市民反映",
    "业主称",
    "居民来电反映",
    "诉求人表示",
    "",
];
const ENDINGS: &[&str] = &[
    "，请尽快处理。",
    "，希望相关部门解决。",
    "，影响正常生活。",
    "。",
    "，要求答复。",
];
const ESCALATION: &[&str] = &[
    "多次反映无人处理",
    "一直没解决",
    "已经联系了很多业主准备集体上访",
    "准备找媒体曝光",
    "反复投诉没人管",
    "准备到市里反映",
];

#[derive(Debug, Clone, Serialize)]
struct Episode {
    episode_id: String,
    kind: String,
    compound_id: String,
    category_l2: String,
    start: NaiveDate,
    end: NaiveDate,
    escalates: bool,
    escalation_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Serialize)]
struct Escalation {
    compound_id: String,
    date: NaiveDate,
    participants: u32,
    level: String,
    episode_id: String,
}

struct Event {
    compound: usize,
    cat: usize,
    time: NaiveDateTime,
    channel: u8, // 0 hotline, 1 grid, 2 petition
    reporter: u64,
    dissatisfied_p: f64,
    returned_p: f64,
    escalating_text: bool,
    participants: u32,
    level: &'static str,
}

fn pick<'a, T>(rng: &mut StdRng, v: &'a [T]) -> &'a T {
    &v[rng.random_range(0..v.len())]
}

fn build_registry(rng: &mut StdRng, n: usize) -> Vec<Compound> {
    let mut out = Vec::with_capacity(n);
    let mut used = std::collections::HashSet::new();
    let mut gates = std::collections::HashSet::new();
    let communities_per_street = (n / 40).clamp(2, 40);
    for i in 0..n {
        let street = STREETS[i % STREETS.len()];
        let community = format!(
            "{}{}社区",
            &street[..street.len() - "街道".len()],
            1 + (i / STREETS.len()) % communities_per_street
        );
        let mut name = format!("{}{}", pick(rng, NAME_A), pick(rng, NAME_B));
        // In a small city about one name in ten may repeat in another street (ambiguity that
        // the street resolves); otherwise numbered phases keep names unique.
        if (n > 150 || rng.random_bool(0.9)) && !used.insert(name.clone()) {
            name = format!(
                "{name}{}期",
                ["一", "二", "三", "四", "五", "六", "七", "八", "九"][rng.random_range(0..9)]
            );
            if !used.insert(name.clone()) {
                name = format!("{name}{}区", i);
                used.insert(name.clone());
            }
        }
        let r: f64 = rng.random();
        let mut acc = 0.0;
        let mut kind = "商品房";
        for (t, p) in TYPES {
            acc += p;
            if r < acc {
                kind = t;
                break;
            }
        }
        let households: u32 = match kind {
            "商品房" => rng.random_range(400..4000),
            "老旧小区" => rng.random_range(150..1200),
            "三无小区" => rng.random_range(150..500),
            "城中村" => rng.random_range(300..2500),
            _ => rng.random_range(500..3000),
        };
        let road = pick(rng, ROADS);
        // A road number is one gate: taken numbers move on to the next free one (a large
        // city's roads run into the thousands), so no two compounds share a road address.
        let mut no = rng.random_range(1..300);
        while !gates.insert((road, no)) {
            no += 1;
        }
        let short: String = name.chars().take(2).collect();
        let aliases = format!(
            "{road}{no}号|{short}{}",
            if name.contains("期") { "" } else { "小区" }
        );
        out.push(Compound {
            compound_id: format!("C{:05}", i + 1),
            name,
            aliases,
            street: street.into(),
            community,
            grid: format!("G{:03}", i / 6 + 1),
            households,
            population: (households as f64 * rng.random_range(2.3..3.1)) as u32,
            kind: kind.into(),
            property_company: if kind == "三无小区" {
                String::new()
            } else {
                pick(rng, COMPANIES).to_string()
            },
            lon: Some(116.30 + rng.random_range(0.0..0.25)),
            lat: Some(39.85 + rng.random_range(0.0..0.20)),
            year_built: Some(match kind {
                "老旧小区" | "三无小区" => rng.random_range(1980..2000),
                _ => rng.random_range(1995..2022),
            }),
        });
    }
    out
}

fn season_weight(l2: &str, month: u32) -> f64 {
    match l2 {
        "供暖问题" => {
            if matches!(month, 11 | 12 | 1 | 2 | 3) {
                4.0
            } else {
                0.1
            }
        }
        "供水问题" | "供电问题" => {
            if matches!(month, 6..=8) {
                2.0
            } else {
                0.8
            }
        }
        "噪音扰民" => {
            if matches!(month, 5..=9) {
                1.8
            } else {
                0.8
            }
        }
        "电动车充电" => {
            if matches!(month, 6..=9) {
                1.5
            } else {
                0.9
            }
        }
        _ => 1.0,
    }
}

fn type_rate(kind: &str) -> f64 {
    match kind {
        "老旧小区" => 1.6,
        "三无小区" => 1.9,
        "城中村" => 1.4,
        "安置房" => 1.3,
        _ => 1.0,
    }
}

/// Spring Festival (approximate Gregorian dates) ± a week: calls drop by half.
fn festival(d: NaiveDate) -> f64 {
    let sf = match d.year() {
        2024 => NaiveDate::from_ymd_opt(2024, 2, 10),
        2025 => NaiveDate::from_ymd_opt(2025, 1, 29),
        2026 => NaiveDate::from_ymd_opt(2026, 2, 17),
        _ => None,
    };
    match sf {
        Some(s) if (d - s).num_days().abs() <= 7 => 0.5,
        _ => 1.0,
    }
}

fn weekday(d: NaiveDate) -> f64 {
    match d.weekday().number_from_monday() {
        1 => 1.25,
        2..=5 => 1.05,
        6 => 0.75,
        _ => 0.65,
    }
}

/// Generates the demo city into `out`.
///
/// # Errors
/// I/O.
pub fn simulate(
    scale: Scale,
    seed: u64,
    out: &Path,
    start: NaiveDate,
    days: i64,
) -> Result<SimSummary> {
    let mut rng = StdRng::seed_from_u64(seed);
    let compounds = build_registry(&mut rng, scale.compounds());
    let cats: Vec<Category> = csv::Reader::from_reader(TAXONOMY_CSV.as_bytes())
        .deserialize()
        .filter_map(|r| r.ok())
        .collect();
    let ncat = cats.len();
    let cat_idx = |l2: &str| cats.iter().position(|c| c.l2 == l2).unwrap_or(0);
    let mut events: Vec<Event> = vec![];
    let mut next_reporter: u64 = 1;
    // Background: Poisson per compound per day.
    for d in 0..days {
        let date = start + Duration::days(d);
        let trend = 1.0 + 0.25 * d as f64 / 730.0;
        let day_factor = weekday(date) * festival(date) * trend;
        let weights: Vec<f64> = cats
            .iter()
            .map(|c| season_weight(&c.l2, date.month()))
            .collect();
        let wsum: f64 = weights.iter().sum();
        for (ci, c) in compounds.iter().enumerate() {
            let lambda = c.households as f64 / 1000.0 * 0.22 * type_rate(&c.kind) * day_factor;
            let n = Poisson::new(lambda)
                .map(|p| p.sample(&mut rng) as usize)
                .unwrap_or(0);
            for _ in 0..n {
                let mut x = rng.random::<f64>() * wsum;
                let mut cat = 0;
                for (k, w) in weights.iter().enumerate() {
                    if x < *w {
                        cat = k;
                        break;
                    }
                    x -= w;
                }
                let channel = if rng.random_bool(0.7) { 0 } else { 1 };
                let secs = rng.random_range(7 * 3600..22 * 3600);
                // Most reporters are new; some households call about anything again.
                let reporter = if rng.random_bool(0.15) {
                    (ci as u64) << 40 | rng.random_range(0..20)
                } else {
                    next_reporter += 1;
                    next_reporter
                };
                events.push(Event {
                    compound: ci,
                    cat,
                    time: date.and_hms_opt(0, 0, 0).unwrap_or_default() + Duration::seconds(secs),
                    channel,
                    reporter,
                    dissatisfied_p: 0.06,
                    returned_p: 0.03,
                    escalating_text: false,
                    participants: 1,
                    level: "district",
                });
            }
        }
    }
    // Episodes.
    // A small district gets proportionally more episodes so that its two years hold enough
    // escalations to train on (about 20); larger ones one episode per five compounds.
    let n_ep = if compounds.len() <= 100 {
        compounds.len() * 3 / 5
    } else {
        compounds.len() / 5
    };
    let mut episodes = vec![];
    let mut escalations = vec![];
    for e in 0..n_ep {
        let ci = rng.random_range(0..compounds.len());
        let kind_roll: f64 = rng.random();
        let (kind, l2, escalates, dur): (&str, &str, bool, u32) = if kind_roll < 0.40 {
            let l2 = *pick(
                &mut rng,
                &[
                    "物业服务",
                    "电梯故障",
                    "公共收益",
                    "业委会选举",
                    "延期交房",
                    "房产证办理",
                    "拆迁安置",
                    "设施维修",
                ],
            );
            ("slow_burn", l2, true, rng.random_range(50..120))
        } else if kind_roll < 0.50 {
            (
                "no_precursor",
                *pick(&mut rng, &["拆迁安置", "欠薪问题", "延期交房"]),
                true,
                0,
            )
        } else if kind_roll < 0.65 {
            ("burst_water_main", "供水问题", false, 1)
        } else if kind_roll < 0.75 {
            ("heating_failure", "供暖问题", false, rng.random_range(3..7))
        } else if kind_roll < 0.88 {
            (
                "construction_noise",
                "噪音扰民",
                false,
                rng.random_range(20..45),
            )
        } else {
            (
                "resolved_dispute",
                *pick(&mut rng, &["物业服务", "停车管理", "物业收费"]),
                false,
                rng.random_range(30..60),
            )
        };
        let latest = (days - dur as i64 - 10).max(30);
        let mut s = start + Duration::days(rng.random_range(20..latest));
        if kind == "heating_failure" && !matches!(s.month(), 11 | 12 | 1 | 2) {
            s = NaiveDate::from_ymd_opt(s.year(), 12, rng.random_range(1..25)).unwrap_or(s);
        }
        let end = s + Duration::days(dur as i64);
        let cat = cat_idx(l2);
        let id = format!("E{:04}", e + 1);
        let households: Vec<u64> = (0..rng.random_range(4..12))
            .map(|_| {
                next_reporter += 1;
                next_reporter
            })
            .collect();
        let mk = |t: NaiveDateTime, ch: u8, rep: u64, dis: f64, ret: f64, esc: bool| Event {
            compound: ci,
            cat,
            time: t,
            channel: ch,
            reporter: rep,
            dissatisfied_p: dis,
            returned_p: ret,
            escalating_text: esc,
            participants: 1,
            level: "district",
        };
        match kind {
            "slow_burn" | "resolved_dispute" => {
                // A resolved dispute starts like a slow burn; at 40 % of its course the street
                // intervenes. Calls hold at that level for a week while the work is done, then
                // fall to nothing by the end, and from a week after the intervention the
                // tickets are handled: few dissatisfied ratings, few returns, no threats, no
                // spreading to the grid.
                let resolved = kind == "resolved_dispute";
                let intervention = dur * 2 / 5;
                let fade_days = (f64::from(dur - intervention) - 7.0).max(1.0);
                for d in 0..dur {
                    let frac = f64::from(d) / f64::from(dur);
                    let (frac_eff, fade, handled) = if resolved && d >= intervention {
                        let since = f64::from(d - intervention);
                        let fade = (1.0 - (since - 7.0) / fade_days).clamp(0.0, 1.0);
                        (0.4, fade, since >= 7.0)
                    } else {
                        (frac, 1.0, false)
                    };
                    let lam = (0.15 + 1.2 * frac_eff) * fade;
                    let n = Poisson::new(lam)
                        .map(|p| p.sample(&mut rng) as usize)
                        .unwrap_or(0);
                    for _ in 0..n {
                        let t = (s + Duration::days(d as i64))
                            .and_hms_opt(rng.random_range(8..21), rng.random_range(0..60), 0)
                            .unwrap_or_default();
                        let grid_share = if handled {
                            0.25
                        } else {
                            0.25 + 0.35 * frac_eff
                        };
                        let ch = if rng.random_bool(grid_share) { 1 } else { 0 };
                        let rep = *pick(&mut rng, &households);
                        let (dis, ret, esc) = if handled {
                            (0.10, 0.03, 0.05)
                        } else {
                            (
                                0.15 + 0.55 * frac_eff,
                                0.05 + 0.3 * frac_eff,
                                0.1 + 0.4 * frac_eff,
                            )
                        };
                        events.push(mk(t, ch, rep, dis, ret, rng.random_bool(esc)));
                    }
                }
            }
            "burst_water_main" => {
                for _ in 0..rng.random_range(10..30) {
                    let t = s
                        .and_hms_opt(rng.random_range(6..20), rng.random_range(0..60), 0)
                        .unwrap_or_default();
                    events.push(mk(
                        t,
                        0,
                        {
                            next_reporter += 1;
                            next_reporter
                        },
                        0.1,
                        0.02,
                        false,
                    ));
                }
            }
            _ => {
                for d in 0..dur.max(1) {
                    for _ in 0..rng.random_range(0..4) {
                        let t = (s + Duration::days(d as i64))
                            .and_hms_opt(rng.random_range(8..22), 0, 0)
                            .unwrap_or_default();
                        events.push(mk(
                            t,
                            rng.random_range(0..2),
                            {
                                next_reporter += 1;
                                next_reporter
                            },
                            0.12,
                            0.04,
                            false,
                        ));
                    }
                }
            }
        }
        let esc_date = escalates.then(|| end + Duration::days(rng.random_range(1..10)));
        if let Some(ed) = esc_date {
            let participants = rng.random_range(5..60);
            let level = *pick(
                &mut rng,
                &["city", "city", "province", "national", "district"],
            );
            let t = ed.and_hms_opt(9, 30, 0).unwrap_or_default();
            let mut ev = mk(t, 2, households[0], 0.0, 0.0, true);
            ev.participants = participants;
            ev.level = level;
            events.push(ev);
            escalations.push(Escalation {
                compound_id: compounds[ci].compound_id.clone(),
                date: ed,
                participants,
                level: level.into(),
                episode_id: id.clone(),
            });
        }
        episodes.push(Episode {
            episode_id: id,
            kind: kind.into(),
            compound_id: compounds[ci].compound_id.clone(),
            category_l2: l2.into(),
            start: s,
            end,
            escalates,
            escalation_date: esc_date,
        });
    }
    // A trickle of individual petitions (not escalations).
    for _ in 0..compounds.len() / 2 {
        let ci = rng.random_range(0..compounds.len());
        let t = (start + Duration::days(rng.random_range(0..days)))
            .and_hms_opt(10, 0, 0)
            .unwrap_or_default();
        events.push(Event {
            compound: ci,
            cat: rng.random_range(0..ncat),
            time: t,
            channel: 2,
            reporter: {
                next_reporter += 1;
                next_reporter
            },
            dissatisfied_p: 0.0,
            returned_p: 0.0,
            escalating_text: false,
            participants: rng.random_range(1..3),
            level: "district",
        });
    }
    events.sort_by_key(|e| e.time);
    std::fs::create_dir_all(out).at(out)?;
    write_outputs(
        &mut rng,
        out,
        &compounds,
        &cats,
        &events,
        &episodes,
        &escalations,
        start,
        days,
    )
}

/// Surnames of the simulated residents.
pub const PERSON_SURNAMES: [&str; 50] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "周", "吴", "徐", "孙", "马", "胡", "朱", "郭",
    "何", "罗", "林", "郑", "梁", "谢", "唐", "许", "冯", "宋", "韩", "邓", "彭", "曹", "曾", "田",
    "潘", "袁", "董", "叶", "杜", "丁", "蒋", "程", "余", "吕", "魏", "蔡", "苏", "卢", "沈", "姜",
    "姚", "钟",
];

/// Given names of the simulated residents.
pub const PERSON_GIVEN: [&str; 20] = [
    "建国", "秀英", "志强", "丽娟", "伟", "芳", "海燕", "德明", "桂兰", "玉珍", "红梅", "俊杰",
    "淑珍", "国庆", "春花", "晓东", "明辉", "静", "磊", "敏",
];

/// The name of resident `reporter` (as a petition register writes it): one of 1,000, as
/// the register's households were numbered before names were simulated.
fn person_name(reporter: u64) -> String {
    let k = (reporter % 997) as usize;
    format!(
        "{}{}",
        PERSON_SURNAMES[k % PERSON_SURNAMES.len()],
        PERSON_GIVEN[k / PERSON_SURNAMES.len()]
    )
}

/// A text a resident signed: some petitions and grid reports name their author, as the
/// registers and the app's free text do (`信访人王建国反映：`, `我叫李芳，`), fixed by `i`.
fn signed(body: String, i: usize, name: &str, petition: bool) -> String {
    let u = unit_hash(i, 5);
    match (petition, u) {
        (true, u) if u < 0.3 => format!("信访人{name}反映：{body}"),
        (true, u) if u < 0.45 => format!("本人{name}，{body}"),
        (false, u) if u < 0.04 => format!("我叫{name}，{body}"),
        (false, u) if u < 0.08 => format!("{body}联系人：{name}"),
        _ => body,
    }
}

fn phone(rep: u64) -> String {
    format!(
        "1{}{:09}",
        [3, 5, 7, 8, 9][(rep % 5) as usize],
        (rep.wrapping_mul(2_654_435_761)) % 1_000_000_000
    )
}

/// The export's id of event `i` on `channel` (0 hotline, 1 grid, 2 petition).
fn record_source_id(channel: u8, i: usize) -> String {
    match channel {
        0 => format!("H{:09}", i + 1),
        1 => format!("W{:09}", i + 1),
        _ => format!("X{:08}", i + 1),
    }
}

/// A fraction in [0, 1) fixed by `i` and `salt` (SplitMix64), for the export columns added
/// after the simulation's random stream was laid down: drawing them from `rng` would move
/// every later draw and so change the whole city.
fn unit_hash(i: usize, salt: u64) -> f64 {
    let mut z = (i as u64) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// The hotline's handling unit (承办单位): mostly the compound's street office, otherwise a
/// district department, whose name says nothing of the place.
fn handling_unit(i: usize, c: &Compound) -> String {
    const DEPARTMENTS: [&str; 5] = [
        "区住建委",
        "区城管委",
        "区市场监管局",
        "区水务局",
        "区房管局",
    ];
    let u = unit_hash(i, 1);
    if u < 0.7 {
        format!("{}办事处", c.street)
    } else {
        DEPARTMENTS[((u - 0.7) / 0.3 * 5.0) as usize % 5].to_owned()
    }
}

fn address_variant(rng: &mut StdRng, c: &Compound) -> String {
    let bldg = rng.random_range(1..30);
    let base = match rng.random_range(0..10) {
        0..=3 => c.name.clone(),
        4 => format!("{}{}", c.street, c.name),
        5 => c.aliases.split('|').next().unwrap_or(&c.name).to_owned(),
        6 => {
            // a typo: replace one character
            let mut cs: Vec<char> = c.name.chars().collect();
            let i = rng.random_range(0..cs.len());
            cs[i] = *pick(rng, &['园', '苑', '华', '景', '秀']);
            cs.into_iter().collect()
        }
        _ => format!("{}区{}", &c.street, c.name),
    };
    let s = format!("{base}{bldg}号楼{}单元", rng.random_range(1..6));
    if rng.random_bool(0.08) {
        s.chars()
            .map(|ch| {
                if ch.is_ascii_digit() {
                    char::from_u32(ch as u32 + 0xFEE0).unwrap_or(ch)
                } else {
                    ch
                }
            })
            .collect()
    } else {
        s
    }
}

fn text(rng: &mut StdRng, cat: &Category, esc: bool) -> String {
    let mut t = format!("{}{}", pick(rng, OPENINGS), pick(rng, phrases(&cat.l2)));
    if esc {
        t.push('，');
        let phrase = *pick::<&str>(rng, ESCALATION);
        t.push_str(phrase);
    }
    if rng.random_bool(0.05) {
        t.push_str(&format!("，联系电话{}", phone(rng.random())));
    }
    let ending = *pick::<&str>(rng, ENDINGS);
    t.push_str(ending);
    t
}

fn fmt_time(rng: &mut StdRng, t: NaiveDateTime) -> String {
    if rng.random_bool(0.7) {
        t.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        format!(
            "{}/{}/{} {}",
            t.year(),
            t.month(),
            t.day(),
            t.format("%H:%M")
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn write_outputs(
    rng: &mut StdRng,
    out: &Path,
    compounds: &[Compound],
    cats: &[Category],
    events: &[Event],
    episodes: &[Episode],
    escalations: &[Escalation],
    start: NaiveDate,
    days: i64,
) -> Result<SimSummary> {
    let mut rows = BTreeMap::new();
    // Registry and taxonomy.
    let mut w = csv::Writer::from_path(out.join("compounds.csv"))
        .map_err(|e| std::io::Error::other(e.to_string()))
        .at(out.join("compounds.csv"))?;
    for c in compounds {
        w.serialize(c)
            .map_err(|e| std::io::Error::other(e.to_string()))
            .at(out)?;
    }
    w.flush().at(out)?;
    std::fs::write(out.join("taxonomy.csv"), TAXONOMY_CSV).at(out)?;
    std::fs::write(out.join("rules.toml"), RULES_TOML).at(out)?;
    std::fs::write(out.join("lexicon.txt"), LEXICON_TXT).at(out)?;
    // Hotline: monthly GBK CSV, each file also holding the first 3 days of the next month.
    let hot_dir = out.join("exports/hotline");
    std::fs::create_dir_all(&hot_dir).at(&hot_dir)?;
    let header = "工单编号,来电时间,来电号码,诉求地址,诉求内容,诉求分类,派单时间,办理时限,办结时间,办理状态,回访满意度,是否重复来电,承办单位";
    struct Ticket {
        line_open: String,
        line_final: String,
        time: NaiveDateTime,
        closed: Option<NaiveDateTime>,
    }
    let mut tickets: Vec<Ticket> = vec![];
    let mut grid_lines: Vec<(NaiveDateTime, String)> = vec![];
    let mut petitions = vec![];
    let mut seen_reporter_cat: std::collections::HashSet<(u64, usize)> =
        std::collections::HashSet::new();
    for (i, e) in events.iter().enumerate() {
        let c = &compounds[e.compound];
        let cat = &cats[e.cat];
        let body = text(rng, cat, e.escalating_text);
        let label = if rng.random_bool(0.04) {
            String::new()
        } else if rng.random_bool(0.03) {
            cats[rng.random_range(0..cats.len())].l2.clone()
        } else if rng.random_bool(0.3) {
            cat.aliases.split('|').next().unwrap_or(&cat.l2).to_owned()
        } else {
            cat.l2.clone()
        };
        match e.channel {
            0 => {
                let id = record_source_id(0, i);
                let dispatched = e.time + Duration::minutes(rng.random_range(10..240));
                let due = dispatched + Duration::days(5);
                let returned = rng.random_bool(e.returned_p);
                let closed =
                    (!returned).then(|| dispatched + Duration::hours(rng.random_range(4..150)));
                let sat = if returned {
                    "不满意"
                } else if rng.random_bool(0.15) {
                    "未回访"
                } else if rng.random_bool(e.dissatisfied_p) {
                    "不满意"
                } else if rng.random_bool(0.2) {
                    "基本满意"
                } else {
                    "满意"
                };
                let repeat = if !seen_reporter_cat.insert((e.reporter, e.cat)) {
                    "是"
                } else {
                    "否"
                };
                let t = fmt_time(rng, e.time);
                let addr = address_variant(rng, c);
                let q = |s: &str| {
                    if s.contains(',') || s.contains('"') {
                        format!("\"{}\"", s.replace('"', "\"\""))
                    } else {
                        s.to_owned()
                    }
                };
                let common = format!(
                    "{id},{t},{},{},{},{}",
                    phone(e.reporter),
                    q(&addr),
                    q(&body),
                    label
                );
                let disp = dispatched.format("%Y-%m-%d %H:%M:%S");
                let due_s = due.format("%Y-%m-%d %H:%M:%S");
                let unit = handling_unit(i, c);
                let line_open = format!("{common},{disp},{due_s},,办理中,,{repeat},{unit}");
                let line_final = match closed {
                    Some(cl) => format!(
                        "{common},{disp},{due_s},{},已办结,{sat},{repeat},{unit}",
                        cl.format("%Y-%m-%d %H:%M:%S")
                    ),
                    None => format!("{common},{disp},{due_s},,退单,{sat},{repeat},{unit}"),
                };
                tickets.push(Ticket {
                    line_open,
                    line_final,
                    time: e.time,
                    closed: closed.or(Some(dispatched + Duration::days(3))),
                });
            }
            1 => {
                let rating = if rng.random_bool(e.dissatisfied_p) {
                    rng.random_range(1..3)
                } else {
                    rng.random_range(3..6)
                };
                let mut o = serde_json::json!({
                    "id": record_source_id(1, i),
                    "openid": format!("o{:016x}", e.reporter.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
                    "小区": if rng.random_bool(0.5) { c.name.clone() } else { address_variant(rng, c) },
                    "楼栋": format!("{}栋", rng.random_range(1..30)),
                    "内容": signed(body, i, &person_name(e.reporter), false),
                    "状态": if rng.random_bool(e.returned_p) { "退回" } else { "已完成" },
                    "评分": rating,
                    "提交时间": e.time.format("%Y-%m-%d %H:%M:%S").to_string(),
                });
                if rng.random_bool(0.6) {
                    o["类别"] = serde_json::Value::String(label);
                }
                // The grid the report went to; older app versions left it out.
                if unit_hash(i, 2) < 0.9 {
                    o["网格"] = serde_json::Value::String(c.grid.clone());
                }
                grid_lines.push((e.time, o.to_string()));
            }
            _ => petitions.push((i, e, body, label)),
        }
    }
    // Mess: malformed rows, duplicates, test tickets.
    let mut hot_written = 0usize;
    let mut month = NaiveDate::from_ymd_opt(start.year(), start.month(), 1).unwrap_or(start);
    let end = start + Duration::days(days);
    while month < end {
        let next = month
            .checked_add_months(chrono::Months::new(1))
            .unwrap_or(end);
        let export_at = (next + Duration::days(3))
            .and_hms_opt(0, 0, 0)
            .unwrap_or_default();
        let from = month.and_hms_opt(0, 0, 0).unwrap_or_default();
        let mut text_out = String::from(header);
        text_out.push('\n');
        for t in tickets
            .iter()
            .filter(|t| t.time >= from && t.time < export_at)
        {
            let final_ = t.closed.is_some_and(|c| c <= export_at);
            let line = if final_ { &t.line_final } else { &t.line_open };
            text_out.push_str(line);
            text_out.push('\n');
            hot_written += 1;
            if rng.random_bool(0.003) {
                text_out.push_str(line);
                text_out.push('\n');
                hot_written += 1;
            }
            if rng.random_bool(0.002) {
                text_out
                    .push_str("H999999999,2024-13-45 99:99,13800000000,某小区,内容缺失,,,,,,,,\n");
                hot_written += 1;
            }
            if rng.random_bool(0.001) {
                text_out.push_str(&format!(
                    "T{:08},{},13800000000,测试地址,测试工单请忽略,,,,,办理中,,否,\n",
                    rng.random_range(0..99_999_999),
                    t.time.format("%Y-%m-%d %H:%M:%S")
                ));
                hot_written += 1;
            }
            if rng.random_bool(0.001) {
                text_out.push_str("H888888888,2024-05-01 10:00:00,多余,列,数\n");
                hot_written += 1;
            }
        }
        let (bytes, _, _) = encoding_rs::GBK.encode(&text_out);
        let p = hot_dir.join(format!("12345_{}.csv", month.format("%Y-%m")));
        std::fs::write(&p, &bytes).at(&p)?;
        month = next;
    }
    rows.insert("hotline".into(), hot_written);
    // Grid: monthly JSON Lines.
    let grid_dir = out.join("exports/grid");
    std::fs::create_dir_all(&grid_dir).at(&grid_dir)?;
    let mut by_month: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (t, l) in &grid_lines {
        by_month
            .entry(t.format("%Y-%m").to_string())
            .or_default()
            .push(l.clone());
    }
    for (m, ls) in &by_month {
        let p = grid_dir.join(format!("grid_{m}.jsonl"));
        let mut f = std::fs::File::create(&p).at(&p)?;
        for l in ls {
            writeln!(f, "{l}").at(&p)?;
        }
        if rng.random_bool(0.3) {
            writeln!(f, "{{\"id\": \"W-broken\", \"内容\": ").at(&p)?;
        }
    }
    rows.insert("grid".into(), grid_lines.len());
    // Petitions: one XLSX register.
    let pet_dir = out.join("exports/petition");
    std::fs::create_dir_all(&pet_dir).at(&pet_dir)?;
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let cols = [
        "信访编号",
        "登记日期",
        "信访形式",
        "信访人",
        "人数",
        "是否集体访",
        "到达层级",
        "是否越级",
        "反映地址",
        "反映内容",
        "问题类别",
        "所属街道",
    ];
    for (j, h) in cols.iter().enumerate() {
        ws.write_string(0, j as u16, *h)?;
    }
    for (r, (i, e, body, label)) in petitions.iter().enumerate() {
        let row = r as u32 + 1;
        let c = &compounds[e.compound];
        ws.write_string(row, 0, record_source_id(2, *i))?;
        if rng.random_bool(0.3) {
            let serial = (e.time.date() - NaiveDate::from_ymd_opt(1899, 12, 30).unwrap_or_default())
                .num_days() as f64
                + 0.4;
            ws.write_number(row, 1, serial)?;
        } else {
            ws.write_string(row, 1, e.time.format("%Y-%m-%d").to_string())?;
        }
        ws.write_string(row, 2, *pick(rng, &["来信", "来访", "网上信访"]))?;
        let name = person_name(e.reporter);
        // A collective petition's register cell often counts the others it speaks for.
        if e.participants >= 5 && unit_hash(*i, 6) < 0.5 {
            ws.write_string(row, 3, format!("{name}等{}人", e.participants))?;
        } else {
            ws.write_string(row, 3, &name)?;
        }
        ws.write_number(row, 4, e.participants as f64)?;
        ws.write_string(row, 5, if e.participants >= 5 { "是" } else { "否" })?;
        let lvl = match e.level {
            "city" => "市",
            "province" => "省",
            "national" => "进京",
            _ => "区",
        };
        ws.write_string(row, 6, lvl)?;
        ws.write_string(
            row,
            7,
            if lvl != "区" && rng.random_bool(0.5) {
                "是"
            } else {
                "否"
            },
        )?;
        ws.write_string(row, 8, address_variant(rng, c))?;
        ws.write_string(row, 9, signed(body.clone(), *i, &name, true))?;
        ws.write_string(row, 10, label.as_str())?;
        if unit_hash(*i, 3) < 0.95 {
            ws.write_string(row, 11, c.street.as_str())?;
        }
    }
    let pp = pet_dir.join("petitions.xlsx");
    wb.save(&pp)?;
    rows.insert("petition".into(), petitions.len());
    // Truth.
    let truth = out.join("truth");
    std::fs::create_dir_all(&truth).at(&truth)?;
    let mut w = csv::Writer::from_path(truth.join("episodes.csv"))
        .map_err(|e| std::io::Error::other(e.to_string()))
        .at(&truth)?;
    for e in episodes {
        w.serialize(e)
            .map_err(|e| std::io::Error::other(e.to_string()))
            .at(&truth)?;
    }
    w.flush().at(&truth)?;
    // Each record's true compound, to measure address resolution against.
    let p = truth.join("records.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&p).at(&p)?);
    writeln!(f, "record_id,compound_id").at(&p)?;
    for (i, e) in events.iter().enumerate() {
        let channel = ["hotline", "grid", "petition"][usize::from(e.channel.min(2))];
        let id = record_source_id(e.channel, i);
        writeln!(f, "{channel}:{id},{}", compounds[e.compound].compound_id).at(&p)?;
    }
    f.flush().at(&p)?;
    let mut w = csv::Writer::from_path(truth.join("escalations.csv"))
        .map_err(|e| std::io::Error::other(e.to_string()))
        .at(&truth)?;
    for e in escalations {
        w.serialize(e)
            .map_err(|e| std::io::Error::other(e.to_string()))
            .at(&truth)?;
    }
    w.flush().at(&truth)?;
    let config = out.join("weaksignal.toml");
    std::fs::write(&config, DEMO_CONFIG).at(&config)?;
    Ok(SimSummary {
        out: out.into(),
        compounds: compounds.len(),
        rows,
        episodes: episodes.len(),
        escalations: escalations.len(),
        config,
    })
}

/// The config for the demo city's exports (also `notebooks-data/demo.toml`).
pub const DEMO_CONFIG: &str = include_str!("../../notebooks-data/demo.toml");

#[cfg(test)]
mod tests {
    use super::*;

    /// A road number is one gate: however large the city, no two compounds share their
    /// road-number alias, and a small city keeps the numbers it drew.
    #[test]
    fn road_numbers_are_unique_in_any_city() {
        for n in [80, 600, 10_000] {
            let reg = build_registry(&mut StdRng::seed_from_u64(1), n);
            let roads: std::collections::HashSet<&str> = reg
                .iter()
                .filter_map(|c| c.aliases.split('|').next())
                .collect();
            assert_eq!(roads.len(), n, "{n} compounds");
            assert!(reg.iter().all(|c| ROADS
                .iter()
                .any(|r| c.aliases.starts_with(r) && c.aliases.contains("号|"))));
        }
    }
}
