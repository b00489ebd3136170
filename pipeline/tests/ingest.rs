//! The ingest on small hand-written exports: every reader (GBK CSV with Chinese headers, a
//! UTF-8 file with a BOM, JSON Lines, XLSX), every quarantine reason with its file, row and
//! field, row accounting, idempotent re-ingest, ticket updates replacing the old version,
//! address resolution through the registry, and no raw identifier in anything written.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;
use weaksignal_pipeline::config::{Channel, Config};
use weaksignal_pipeline::ingest::{ingest, IngestSummary};
use weaksignal_pipeline::lake;
use weaksignal_pipeline::privacy::Pseudonymizer;
use weaksignal_pipeline::record::Record;

const KEY: &[u8] = b"ingest-test-key-0123456789abcdef";

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 31).unwrap()
}

const COMPOUNDS: &str = "\
compound_id,name,aliases,street,community,grid,households,population,type,property_company,lon,lat,year_built
C1,阳光花园,阳光花园一期|建设路12号,东城街道,东城1社区,G1,800,2000,商品房,万家物业,116.4,39.9,2005
C2,阳光花园二期,建设路14号,东城街道,东城1社区,G1,600,1500,商品房,万家物业,116.4,39.9,2008
C3,幸福里,,东城街道,东城2社区,G2,300,700,老旧小区,,116.4,39.9,1988
C4,幸福里,,西湖街道,西湖1社区,G3,300,700,老旧小区,,116.5,39.9,1990
C5,锦绣江南,锦绣,西湖街道,西湖1社区,G3,1200,3300,商品房,华润物业,116.5,39.9,2012
";

const TAXONOMY: &str = "\
l1,l2,aliases
物业服务,电梯故障,电梯维修|电梯问题
物业服务,物业收费,物业费
公共服务,供水问题,停水
城市管理,违章搭建,私搭乱建
";

const CONFIG: &str = r#"
lake = "lake"
[reference]
compounds = "compounds.csv"
taxonomy = "taxonomy.csv"
[ingest]
future_tolerance_days = 2
test_markers = ["测试工单"]
fuzzy_threshold = 0.75
collective_threshold = 5

[[source]]
name = "12345热线"
channel = "hotline"
path = "exports/hotline/*.csv"
format = "csv"
encoding = "auto"
datetime_formats = ["%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "excel"]
[source.columns]
source_id = ["工单编号"]
received_at = ["来电时间"]
reporter = ["来电号码"]
address = ["诉求地址"]
content = ["诉求内容"]
category = ["诉求分类"]
closed_at = ["办结时间"]
status = ["办理状态"]
satisfaction = ["回访满意度"]
[source.values.status]
"已办结" = "closed"
"办理中" = "open"
"退单" = "returned"
[source.values.satisfaction]
"满意" = "satisfied"
"不满意" = "dissatisfied"
"未回访" = "none"

[[source]]
name = "网格投诉"
channel = "grid"
path = "exports/grid/*.jsonl"
format = "jsonl"
encoding = "utf-8"
datetime_formats = ["%Y-%m-%d %H:%M:%S"]
[source.columns]
source_id = ["id"]
received_at = ["提交时间"]
reporter = ["openid"]
compound = ["小区"]
content = ["内容"]
category = ["类别"]
rating = ["评分"]

[[source]]
name = "信访登记"
channel = "petition"
path = "exports/petition/*.xlsx"
format = "xlsx"
datetime_formats = ["%Y-%m-%d", "excel"]
[source.columns]
source_id = ["信访编号"]
received_at = ["登记日期"]
reporter = ["信访人"]
participants = ["人数"]
petition_level = ["到达层级"]
skip_level = ["是否越级"]
address = ["反映地址"]
content = ["反映内容"]
category = ["问题类别"]
[source.values.petition_level]
"区" = "district"
"市" = "city"
"省" = "province"
"#;

const HOTLINE_HEADER: &str =
    "工单编号,来电时间,来电号码,诉求地址,诉求内容,诉求分类,办结时间,办理状态,回访满意度";

/// The hotline export of March in GBK: good rows in several datetime formats, and one row
/// for each quarantine reason a CSV row can have.
fn hotline_march() -> String {
    hotline_march_lines().join("\r\n") + "\r\n"
}

/// The lines of [`hotline_march`].
fn hotline_march_lines() -> Vec<&'static str> {
    vec![
        HOTLINE_HEADER,
        // 2: good, alias with full-width digits, phone number in the text
        "H001,2025-03-05 14:22:10,13812345678,建设路１２号3单元,电梯坏了困人 请回电13912345678,电梯问题,2025-03-06 09:00:00,已办结,不满意",
        // 3: good, slash format, longest name wins (二期)
        "H002,2025/3/6 8:05,13812345678,东城街道阳光花园二期5栋,物业费乱收,物业费,,办理中,",
        // 4: good, Excel serial date (2025-03-07 12:00), typo 锦秀 for 锦绣
        "H003,45723.5,13700000000,西湖街道锦秀江南小区8幢,小区停水两天,停水,,退单,未回访",
        // 5: good, ambiguous compound (幸福里 in two streets)
        "H004,2025-03-08 10:00:00,13600000000,幸福里3号楼,电梯异响,电梯故障,,办理中,",
        // 6: bad_date
        "H005,三月五日,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
        // 7: column_count
        "H006,2025-03-05 10:00:00,13812345678,阳光花园",
        // 8: empty_record
        "H007,2025-03-05 10:00:00,13812345678,阳光花园,,,,办理中,",
        // 9: future_date (run date 2025-03-31, tolerance 2 days)
        "H008,2025-04-20 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
        // 10: unknown_value (a status missing from the value map)
        "H009,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,已归档,",
        // 11: missing_id; the ID number in the text must not reach the quarantine file
        ",2025-03-05 10:00:00,13812345678,阳光花园,身份证110101199003071234电梯坏了,电梯故障,,办理中,",
        // 12: test_ticket
        "H010,2025-03-05 10:00:00,13812345678,阳光花园,测试工单请忽略,电梯故障,,办理中,",
        // 13: exact duplicate of row 2
        "H001,2025-03-05 14:22:10,13812345678,建设路１２号3单元,电梯坏了困人 请回电13912345678,电梯问题,2025-03-06 09:00:00,已办结,不满意",
    ]
}

fn gbk(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable, "test text must be GBK-encodable");
    bytes.into_owned()
}

fn write(dir: &Path, rel: &str, bytes: &[u8]) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// Writes the city's March hotline export (GBK) from its lines.
fn write_march(c: &City, lines: &[impl AsRef<str>]) {
    write_hotline(c, "2025-03", lines);
}

/// Writes the city's March grid export (`grid_2025-03.jsonl`) as `text`.
fn write_grid(c: &City, text: impl AsRef<[u8]>) {
    write(
        c.dir.path(),
        "exports/grid/grid_2025-03.jsonl",
        text.as_ref(),
    );
}

/// Writes the city's hotline export of `month` (`12345_2025-04.csv`, GBK) from its lines.
fn write_hotline(c: &City, month: &str, lines: &[impl AsRef<str>]) {
    let lines: Vec<&str> = lines.iter().map(AsRef::as_ref).collect();
    write(
        c.dir.path(),
        &format!("exports/hotline/12345_{month}.csv"),
        &gbk(&lines.join("\n")),
    );
}

/// Writes `cells` as text into row `row` of a sheet, from its first column.
fn write_row(ws: &mut rust_xlsxwriter::Worksheet, row: u32, cells: &[&str]) {
    for (col, v) in cells.iter().enumerate() {
        ws.write_string(row, col as u16, *v).unwrap();
    }
}

/// The petition register's columns, as the test config maps them.
const PETITION_HEADER: [&str; 9] = [
    "信访编号",
    "登记日期",
    "信访人",
    "人数",
    "到达层级",
    "是否越级",
    "反映地址",
    "反映内容",
    "问题类别",
];

fn petitions_xlsx(path: &Path) {
    let mut wb = rust_xlsxwriter::Workbook::new();
    // A workbook records when it was made: a fixed time makes every city's register the
    // same bytes (the same file hashes and run id), as tests that compare two cities' lakes
    // need — made a second apart on a loaded machine, they differed.
    let made = rust_xlsxwriter::ExcelDateTime::from_ymd(2025, 3, 31).unwrap();
    wb.set_properties(&rust_xlsxwriter::DocProperties::new().set_creation_datetime(&made));
    let ws = wb.add_worksheet();
    write_row(ws, 0, &PETITION_HEADER);
    // Row 2: a real Excel date cell; row 3: a date typed as text; row 4: bad participants.
    let date = rust_xlsxwriter::ExcelDateTime::from_ymd(2025, 3, 20).unwrap();
    let fmt = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    ws.write_string(1, 0, "X001").unwrap();
    ws.write_datetime_with_format(1, 1, &date, &fmt).unwrap();
    ws.write_string(1, 2, "张三").unwrap();
    ws.write_number(1, 3, 32.0).unwrap();
    ws.write_string(1, 4, "市").unwrap();
    ws.write_string(1, 5, "是").unwrap();
    ws.write_string(1, 6, "西湖街道锦绣江南").unwrap();
    ws.write_string(1, 7, "业主集体反映交房延期").unwrap();
    ws.write_string(1, 8, "物业收费").unwrap();
    write_row(
        ws,
        2,
        &[
            "X002",
            "2025-03-21",
            "李四",
            "1",
            "区",
            "否",
            "阳光花园",
            "电梯长期停运",
            "电梯故障",
        ],
    );
    write_row(
        ws,
        3,
        &[
            "X003",
            "2025-03-22",
            "王五",
            "很多",
            "区",
            "否",
            "阳光花园",
            "电梯长期停运",
            "电梯故障",
        ],
    );
    wb.save(path).unwrap();
}

fn grid_jsonl() -> String {
    [
        r#"{"id":"G1","提交时间":"2025-03-10 09:00:00","openid":"oX_abcdefghijklmnop","小区":"阳光花园","内容":"电梯又坏了","类别":"电梯故障","评分":2}"#,
        r#"{"id":"G2","提交时间":"2025-03-11 09:00:00","openid":"oX_abcdefghijklmnop","小区":"锦绣","内容":"物业费太贵","类别":"","评分":5}"#,
        r#"{"id":"G3","提交时间":"2025-03-12 09:00:00","openid":"oX_zzzz","小区":"阳光花园","内容":"电梯","评分":9}"#,
        r#"{"id":"G4","提交时间":"2025-03-12 09:00:00","openid":"oX_zzzz","小区":"阳光花"#,
        r#"["not","an","object"]"#,
    ]
    .join("\n")
        + "\n"
}

struct City {
    dir: tempfile::TempDir,
    cfg: Config,
    keys: Pseudonymizer,
}

fn city() -> City {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "weaksignal.toml", CONFIG.as_bytes());
    write(d, "compounds.csv", COMPOUNDS.as_bytes());
    write(d, "taxonomy.csv", TAXONOMY.as_bytes());
    write(
        d,
        "exports/hotline/12345_2025-03.csv",
        &gbk(&hotline_march()),
    );
    write(
        d,
        "exports/grid/grid_2025-03.jsonl",
        grid_jsonl().as_bytes(),
    );
    std::fs::create_dir_all(d.join("exports/petition")).unwrap();
    petitions_xlsx(&d.join("exports/petition/petitions.xlsx"));
    let cfg = Config::load(&d.join("weaksignal.toml")).unwrap();
    City {
        dir,
        cfg,
        keys: Pseudonymizer::new(KEY).unwrap(),
    }
}

/// The city with its hotline's reporter in a `联系人` column (a contact's name), as the
/// registers of the moved-cell tests have it.
fn city_with_contacts() -> City {
    let mut c = city();
    source(&mut c, "12345热线")
        .columns
        .insert("reporter".into(), vec!["联系人".into()]);
    c
}

fn run(c: &City) -> IngestSummary {
    let s = ingest(&c.cfg, &c.keys, as_of(), false).unwrap();
    for f in &s.files {
        assert!(f.error.is_none(), "{}: {:?}", f.file, f.error);
        assert_eq!(
            f.rows,
            f.loaded + f.quarantined + f.duplicates,
            "row accounting of {}",
            f.file
        );
    }
    s
}

fn records(c: &City) -> BTreeMap<String, (Channel, Record)> {
    lake::read_all(&c.dir.path().join("lake"))
        .unwrap()
        .into_iter()
        .map(|(ch, r)| (r.record_id.to_string(), (ch, r)))
        .collect()
}

fn file<'a>(s: &'a IngestSummary, name: &str) -> &'a weaksignal_pipeline::ingest::FileStats {
    s.files
        .iter()
        .find(|f| f.file.ends_with(name))
        .unwrap_or_else(|| panic!("no stats for {name}"))
}

fn quarantine(s: &IngestSummary) -> Vec<serde_json::Value> {
    let p = s.quarantine_file.as_ref().expect("a quarantine file");
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn every_reader_loads_and_accounts_for_every_row() {
    let c = city();
    let s = run(&c);
    let hot = file(&s, "12345_2025-03.csv");
    assert_eq!(
        (hot.rows, hot.loaded, hot.quarantined, hot.duplicates),
        (12, 4, 7, 1)
    );
    let grid = file(&s, "grid_2025-03.jsonl");
    assert_eq!((grid.rows, grid.loaded, grid.quarantined), (5, 2, 3));
    let pet = file(&s, "petitions.xlsx");
    assert_eq!((pet.rows, pet.loaded, pet.quarantined), (3, 2, 1));

    let recs = records(&c);
    assert_eq!(recs.len(), 8, "{:?}", recs.keys().collect::<Vec<_>>());
    // GBK decoded, Chinese headers mapped, datetime formats, categories via aliases.
    let (ch, h1) = &recs["hotline:H001"];
    assert_eq!(*ch, Channel::Hotline);
    assert_eq!(h1.category_l2.as_deref(), Some("电梯故障"));
    assert_eq!(h1.category_source, "given");
    assert_eq!(h1.satisfaction, "dissatisfied");
    assert_eq!(h1.status, "closed");
    assert_eq!(h1.source_row, 2);
    let t = |s: &str| {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .unwrap()
            .and_utc()
            .timestamp_millis()
            - 8 * 3_600_000
    };
    assert_eq!(h1.received_at, t("2025-03-05 14:22:10"));
    assert_eq!(h1.closed_at, Some(t("2025-03-06 09:00:00")));
    assert_eq!(recs["hotline:H002"].1.received_at, t("2025-03-06 08:05:00"));
    assert_eq!(recs["hotline:H003"].1.received_at, t("2025-03-07 12:00:00"));
    assert_eq!(recs["hotline:H003"].1.status, "returned");
    // Address resolution: alias with full-width digits, longest name, typo, ambiguity.
    let m = |id: &str| {
        let r = &recs[id].1;
        (r.compound_id.clone(), r.match_method.clone())
    };
    assert_eq!(m("hotline:H001"), (Some("C1".into()), "alias".into()));
    assert_eq!(m("hotline:H002"), (Some("C2".into()), "substring".into()));
    assert_eq!(m("hotline:H003"), (Some("C5".into()), "fuzzy".into()));
    assert_eq!(m("hotline:H004"), (None, "ambiguous".into()));
    assert_eq!(recs["hotline:H002"].1.street.as_deref(), Some("东城街道"));
    // The run lists it without its building, with the compounds it fits.
    let unmatched: Vec<_> = (s.unmatched.iter())
        .map(|u| {
            (
                u.address.as_str(),
                u.method.as_str(),
                u.rows,
                u.candidates.join(" | "),
            )
        })
        .collect();
    assert!(
        unmatched.contains(&(
            "幸福里",
            "ambiguous",
            1,
            "C3 幸福里 (东城街道) | C4 幸福里 (西湖街道)".into()
        )),
        "{unmatched:?}"
    );
    // JSONL: rating 1–5 onto the satisfaction scale, alias of the typed compound.
    assert_eq!(recs["grid:G1"].1.satisfaction, "dissatisfied");
    assert_eq!(recs["grid:G2"].1.satisfaction, "satisfied");
    assert_eq!(recs["grid:G2"].1.compound_id.as_deref(), Some("C5"));
    assert_eq!(recs["grid:G2"].1.category_source, "none");
    // The same openid gives the same pseudonym; different ones differ.
    assert_eq!(
        recs["grid:G1"].1.reporter_key,
        recs["grid:G2"].1.reporter_key
    );
    assert_ne!(
        recs["grid:G1"].1.reporter_key,
        recs["hotline:H001"].1.reporter_key
    );
    // XLSX: a date cell and a text date, participants, level.
    let x1 = &recs["petition:X001"].1;
    assert_eq!(x1.received_at, t("2025-03-20 00:00:00"));
    assert_eq!(x1.participants, Some(32));
    assert!(x1.is_collective && x1.skip_level);
    assert_eq!(x1.petition_level.as_deref(), Some("city"));
    assert_eq!(
        recs["petition:X002"].1.received_at,
        t("2025-03-21 00:00:00")
    );
    assert!(!recs["petition:X002"].1.is_collective);
}

#[test]
fn every_quarantine_reason_names_file_row_and_field() {
    let c = city();
    let s = run(&c);
    let q = quarantine(&s);
    let got: Vec<(String, u64, String, Option<String>)> = q
        .iter()
        .map(|v| {
            (
                v["file"].as_str().unwrap().to_string(),
                v["row"].as_u64().unwrap(),
                v["reason"].as_str().unwrap().to_string(),
                v["field"].as_str().map(str::to_string),
            )
        })
        .collect();
    let hot = "exports/hotline/12345_2025-03.csv";
    let grid = "exports/grid/grid_2025-03.jsonl";
    let pet = "exports/petition/petitions.xlsx";
    let f = |s: &str| Some(s.to_string());
    let want = vec![
        (hot.into(), 6, "bad_date".into(), f("received_at")),
        (hot.into(), 7, "column_count".into(), None),
        (hot.into(), 8, "empty_record".into(), f("content")),
        (hot.into(), 9, "future_date".into(), f("received_at")),
        (hot.into(), 10, "unknown_value".into(), f("status")),
        (hot.into(), 11, "missing_id".into(), f("source_id")),
        (hot.into(), 12, "test_ticket".into(), f("content")),
        (grid.into(), 3, "unknown_value".into(), f("rating")),
        (grid.into(), 4, "malformed".into(), None),
        (grid.into(), 5, "malformed".into(), None),
        (pet.into(), 4, "unknown_value".into(), f("participants")),
    ];
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let mut want_sorted: Vec<(String, u64, String, Option<String>)> = want;
    want_sorted.sort();
    assert_eq!(got_sorted, want_sorted);
    // Quarantined rows keep their cells for the analyst, but redacted: no phone, ID number
    // or openid, and the reporter column is replaced.
    let text = std::fs::read_to_string(s.quarantine_file.as_ref().unwrap()).unwrap();
    for raw in ["13812345678", "110101199003071234", "oX_zzzz", "王五"] {
        assert!(!text.contains(raw), "quarantine file contains {raw}");
    }
    assert!(text.contains("[身份证号]") && text.contains("[已脱敏]"));
    assert!(q.iter().all(|v| !v["detail"].as_str().unwrap().is_empty()));
    // A row with too few cells keeps them too, under the header's names, the cells its
    // reporter may have moved to masked.
    let short = q.iter().find(|v| v["reason"] == "column_count").unwrap();
    assert_eq!(short["fields"]["诉求地址"], "阳光花园");
    assert_eq!(short["fields"]["工单编号"], "[已脱敏]");
    assert_eq!(short["fields"]["来电号码"], "[已脱敏]");
    assert_eq!(short["fields"]["办理状态"], "");
}

#[test]
fn header_names_match_the_config_once_normalised() {
    let c = city();
    // Another system's header: a full-width parenthesis pair, an ideographic space, a
    // zero-width space and a byte-order mark inside the line (a concatenated export).
    let header = HOTLINE_HEADER
        .replace("工单编号", "工单编号\u{200b}")
        .replace("来电时间", "\u{3000}来电时间")
        .replace("诉求内容", "\u{feff}诉求内容");
    let bytes = [
        header.as_str(),
        "H030,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
    ]
    .join("\n");
    write(
        c.dir.path(),
        "exports/hotline/12345_2025-03.csv",
        bytes.as_bytes(),
    );
    let s = run(&c);
    let hot = file(&s, "12345_2025-03.csv");
    assert!(hot.missing_columns.is_empty(), "{:?}", hot.missing_columns);
    assert_eq!((hot.rows, hot.loaded), (1, 1));
    let r = &records(&c)["hotline:H030"].1;
    assert_eq!(r.content, "电梯坏了");
}

#[test]
fn a_row_with_extra_cells_is_quarantined_with_its_cells_and_its_reporter_masked() {
    let c = city();
    // Two trailing separators: 11 cells for 9 columns, an undecodable byte (0xFF) in the
    // last, which is named by its position.
    // A comma typed in the content splits it: 11 cells again, an openid-like reporter in
    // the third, an undecodable byte in the time.
    let mut bytes = gbk(&[
        HOTLINE_HEADER,
        "H022,2025-03-05 12:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,,,",
        "H020,2025-03-05 10:00:00,wx_abcdef,阳光花园,电梯坏了,又坏了,还是坏,电梯故障,,办理中,",
        "H021,2025-03-05 11:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
    ]
    .join("\n"));
    let at = bytes.windows(5).position(|w| w == b"H020,").unwrap();
    bytes.insert(at - 1, 0xFF);
    let at = bytes.windows(5).position(|w| w == b"H020,").unwrap() + 10;
    bytes.insert(at, 0xFF);
    write(c.dir.path(), "exports/hotline/12345_2025-03.csv", &bytes);
    let s = run(&c);
    let hot = file(&s, "12345_2025-03.csv");
    assert_eq!((hot.rows, hot.loaded, hot.quarantined), (3, 1, 2));
    assert_eq!(hot.undecodable_rows, 2);
    assert_eq!(
        hot.undecodable_first.as_deref(),
        Some("row 2, column 第11列")
    );
    let q = quarantine(&s);
    let row = q.iter().find(|v| v["row"] == 3).unwrap();
    assert_eq!(row["reason"], "column_count");
    assert_eq!(row["detail"], "11 columns, header has 9");
    let fields = row["fields"].as_object().unwrap();
    assert_eq!(fields.len(), 11);
    assert_eq!(fields["第11列"], "");
    assert_eq!(fields["第10列"], "办理中");
    // The reporter's column and the two it may have moved to.
    for (k, v) in [
        ("来电号码", "[已脱敏]"),
        ("诉求地址", "[已脱敏]"),
        ("诉求内容", "[已脱敏]"),
    ] {
        assert_eq!(fields[k], v, "{k}");
    }
    assert_eq!(fields["诉求分类"], "又坏了");
    let text = std::fs::read_to_string(s.quarantine_file.as_ref().unwrap()).unwrap();
    assert!(!text.contains("wx_abcdef"));
}

#[test]
fn a_header_without_the_reporter_hides_every_quarantined_value_and_masks_its_own_names() {
    let c = city();
    // The reporter's column renamed (not found: every row loads without a reporter key),
    // two unmapped 备注 columns, a header name holding a phone number (a record's cell in a
    // damaged header), and rows rejected with the reporter's number quoted.
    let header = HOTLINE_HEADER.replace("来电号码", "来电人电话") + ",备注,备注,13912345678";
    let bytes = gbk(&[
        header.as_str(),
        "H040,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,,张三,二次来电,",
        "H041,13812345678,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,,张三,,",
        "H042,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,待定,,张三,二次来电,",
        // A quoted value holding backticks itself.
        "H043,`张三`2025,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,,,,",
    ]
    .join("\n"));
    write(c.dir.path(), "exports/hotline/12345_2025-03.csv", &bytes);
    let s = run(&c);
    let hot = file(&s, "12345_2025-03.csv");
    assert_eq!((hot.rows, hot.loaded, hot.quarantined), (4, 1, 3));
    assert!(
        hot.missing_columns.iter().any(|m| m.contains("来电号码")),
        "{:?}",
        hot.missing_columns
    );
    assert_eq!(records(&c)["hotline:H040"].1.reporter_key, None);
    let q = quarantine(&s);
    let bad_date = q.iter().find(|v| v["row"] == 3).unwrap();
    assert_eq!(bad_date["reason"], "bad_date");
    // The identity may be in any cell: every value is hidden, the blank cells stay blank.
    assert_eq!(bad_date["detail"], "cannot parse `[已脱敏]`");
    let fields = bad_date["fields"].as_object().unwrap();
    assert_eq!(fields.len(), 12, "{fields:?}");
    for k in ["诉求地址", "来电时间", "来电人电话", "备注"] {
        assert_eq!(fields[k], "[已脱敏]", "{k}");
    }
    assert_eq!(fields["备注（第11列）"], "");
    assert_eq!(fields["[手机号]"], "");
    let unknown = q.iter().find(|v| v["row"] == 4).unwrap();
    assert_eq!(unknown["reason"], "unknown_value");
    assert_eq!(unknown["field"], "status");
    assert_eq!(
        unknown["detail"],
        "value `[已脱敏]` is not in values.status"
    );
    assert_eq!(unknown["fields"]["备注（第11列）"], "[已脱敏]");
    let ticked = q.iter().find(|v| v["row"] == 5).unwrap();
    assert_eq!(ticked["detail"], "cannot parse `[已脱敏]`");
    let text = std::fs::read_to_string(s.quarantine_file.as_ref().unwrap()).unwrap();
    for raw in ["13812345678", "13912345678", "张三", "二次来电"] {
        assert!(!text.contains(raw), "quarantine file contains {raw}");
    }
}

/// A quarantined row shows the cells that explain it: the columns no field maps (a 备注
/// naming a person) are hidden whether its reporter cell is blank (an anonymous caller, or
/// cells moved by a damaged line) or not, and so is the reporter's.
#[test]
fn a_quarantined_row_hides_its_unmapped_cells() {
    let c = city();
    let header = format!("{HOTLINE_HEADER},备注");
    let bytes = gbk(&[
        header.as_str(),
        "H050,2025-03-05 10:00:00,,阳光花园,电梯坏了,电梯故障,,待定,,张三",
        "H051,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,待定,,二次来电",
    ]
    .join("\n"));
    write(c.dir.path(), "exports/hotline/12345_2025-03.csv", &bytes);
    let s = run(&c);
    let hot = file(&s, "12345_2025-03.csv");
    assert_eq!((hot.rows, hot.quarantined), (2, 2));
    let q = quarantine(&s);
    let anonymous = q.iter().find(|v| v["row"] == 2).unwrap();
    assert_eq!(anonymous["fields"]["备注"], "[已脱敏]");
    assert_eq!(anonymous["fields"]["诉求地址"], "阳光花园");
    assert_eq!(anonymous["fields"]["来电号码"], "");
    assert_eq!(anonymous["detail"], "value `待定` is not in values.status");
    let known = q.iter().find(|v| v["row"] == 3).unwrap();
    assert_eq!(known["fields"]["备注"], "[已脱敏]");
    assert_eq!(known["fields"]["来电号码"], "[已脱敏]");
    assert_eq!(known["fields"]["办理状态"], "待定");
}

#[test]
fn reingest_is_idempotent_and_an_updated_ticket_replaces_the_old_one() {
    let c = city();
    run(&c);
    let lake_files = |c: &City| {
        let mut v = vec![];
        for (ch, m) in [(Channel::Hotline, "2025-03"), (Channel::Grid, "2025-03")] {
            let dir = lake::partition_dir(&c.dir.path().join("lake"), ch, m);
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                v.push((p.clone(), std::fs::read(p).unwrap()));
            }
        }
        v
    };
    let before = lake_files(&c);
    let again = run(&c);
    assert!(again.files.iter().all(|f| f.skipped_unchanged));
    assert!(again.partitions_written.is_empty());
    assert_eq!(before, lake_files(&c));

    // The next export overlaps: H001 again unchanged, H002 now closed and rated, one new.
    let april = [
        HOTLINE_HEADER,
        "H001,2025-03-05 14:22:10,13812345678,建设路１２号3单元,电梯坏了困人 请回电13912345678,电梯问题,2025-03-06 09:00:00,已办结,不满意",
        "H002,2025/3/6 8:05,13812345678,东城街道阳光花园二期5栋,物业费乱收,物业费,2025-03-28 10:00:00,已办结,满意",
        "H011,2025-03-29 10:00:00,13812345678,幸福里东城街道,电梯又坏,电梯故障,,办理中,",
    ]
    .join("\n")
        + "\n";
    // UTF-8 with a BOM this time: the `auto` encoding must tell.
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(april.as_bytes());
    write(c.dir.path(), "exports/hotline/12345_2025-04.csv", &bytes);
    let s = run(&c);
    let f = file(&s, "12345_2025-04.csv");
    assert!(!f.skipped_unchanged);
    assert_eq!(
        (f.rows, f.loaded, f.updated, f.duplicates),
        (3, 2, 1, 1),
        "{f:?}"
    );
    assert!(file(&s, "12345_2025-03.csv").skipped_unchanged);
    let recs = records(&c);
    assert_eq!(recs.len(), 9);
    let h2 = &recs["hotline:H002"].1;
    assert_eq!(
        (h2.status.as_str(), h2.satisfaction.as_str()),
        ("closed", "satisfied")
    );
    assert_eq!(h2.source_file, "12345_2025-04.csv");
    // 幸福里 with its street named is no longer ambiguous.
    assert_eq!(recs["hotline:H011"].1.compound_id.as_deref(), Some("C3"));
}

#[test]
fn no_raw_identifier_reaches_the_lake() {
    let c = city();
    run(&c);
    let mut text = String::new();
    for (_, r) in records(&c).values() {
        text.push_str(&format!("{r:?}\n"));
    }
    for raw in [
        "13812345678",
        "13912345678",
        "13700000000",
        "oX_abcdefghijklmnop",
        "张三",
    ] {
        assert!(!text.contains(raw), "the lake holds {raw}");
    }
    assert!(
        text.contains("[手机号]"),
        "the phone number in the text is masked"
    );
}

/// A number with dots between its groups, and one typed as heard in Chinese numerals, are
/// masked like the others (before session 39 both reached the lake as written).
#[test]
fn numbers_written_with_dots_or_in_chinese_numerals_are_masked() {
    let c = city();
    write_march(
        &c,
        &[
            HOTLINE_HEADER,
            "H061,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了，回电138.1234.5678,电梯故障,,办理中,",
            "H062,2025-03-05 11:00:00,13812345678,阳光花园,停水，电话一三九一二三四五六七八,停水,,办理中,",
        ],
    );
    run(&c);
    let recs = records(&c);
    let text = |id: &str| recs[id].1.content.clone();
    assert_eq!(text("hotline:H061"), "电梯坏了，回电[手机号]");
    assert_eq!(text("hotline:H062"), "停水，电话[号码]");
}

/// Names in the texts: the petitioners' own (the register's 信访人, two in one cell) wherever
/// a text quotes them, and a name a cue introduces; a form of address stays.
#[test]
fn personal_names_in_texts_are_masked() {
    let c = city();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    write_row(ws, 0, &PETITION_HEADER);
    let row = |id, people, count, content| {
        let cells = [
            id,
            "2025-03-20",
            people,
            count,
            "区",
            "否",
            "阳光花园",
            content,
            "电梯故障",
        ];
        cells.map(str::to_owned)
    };
    for (r, cells) in [
        row(
            "X101",
            "王建国、李秀英",
            "2",
            "王建国多次反映电梯停运，李秀英也来访",
        ),
        row("X102", "赵敏", "很多", "赵敏称电梯停运三个月"),
        row("X103", "匿名", "1", "联系人：孙丽华，电梯停运"),
    ]
    .iter()
    .enumerate()
    {
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        write_row(ws, r as u32 + 1, &cells);
    }
    wb.save(c.dir.path().join("exports/petition/petitions.xlsx"))
        .unwrap();
    write_march(
        &c,
        &[HOTLINE_HEADER, "H060,2025-03-05 10:00:00,13812345678,阳光花园,市民王先生来电反映电梯坏了，我叫周杰伦，请回电,电梯故障,,办理中,"],
    );
    // The dry run counts the rows whose names it would mask, as the ingest does.
    let previews = weaksignal_pipeline::ingest::preview::preview(&c.cfg, as_of(), 1000).unwrap();
    let masked: Vec<(&str, u64)> = (previews.iter())
        .map(|p| (p.source.as_str(), p.names_masked))
        .collect();
    assert_eq!(masked, [("12345热线", 1), ("网格投诉", 0), ("信访登记", 2)]);
    let s = run(&c);
    let pet = file(&s, "petitions.xlsx");
    assert_eq!((pet.rows, pet.loaded, pet.quarantined), (3, 2, 1));
    assert_eq!(pet.names_masked, 2);
    assert_eq!(file(&s, "12345_2025-03.csv").names_masked, 1);
    let recs = records(&c);
    assert_eq!(
        recs["petition:X101"].1.content,
        "[姓名]多次反映电梯停运，[姓名]也来访"
    );
    assert_eq!(recs["petition:X103"].1.content, "联系人：[姓名]，电梯停运");
    assert_eq!(
        recs["hotline:H060"].1.content,
        "市民王先生来电反映电梯坏了，我叫[姓名]，请回电"
    );
    // The quarantined row's text is masked too.
    let q = quarantine(&s);
    let bad = q
        .iter()
        .find(|v| v["file"] == "exports/petition/petitions.xlsx");
    let bad = bad.unwrap();
    assert_eq!(bad["fields"]["反映内容"], "[姓名]称电梯停运三个月");
    let text = std::fs::read_to_string(s.quarantine_file.as_ref().unwrap()).unwrap();
    for name in ["王建国", "李秀英", "赵敏", "孙丽华", "周杰伦"] {
        assert!(!text.contains(name), "the quarantine holds {name}");
        for (_, r) in recs.values() {
            assert!(!format!("{r:?}").contains(name), "the lake holds {name}");
        }
    }
}

/// E-mail addresses and QQ and WeChat ids in a text are identifiers like phone numbers.
#[test]
fn accounts_in_texts_are_masked() {
    let c = city();
    write_march(
        &c,
        &[HOTLINE_HEADER, "H070,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了，请回复邮箱zhang.san@163.com或QQ:123456789，微信号zhang_san88,电梯故障,,办理中,"],
    );
    run(&c);
    let recs = records(&c);
    assert_eq!(
        recs["hotline:H070"].1.content,
        "电梯坏了，请回复邮箱[邮箱]或QQ:[账号]，微信号[账号]"
    );
}

/// A lake loaded before names were masked, with records whose export is gone: the next run
/// masks their texts once, and again when the district adds a name cue of its own; the run
/// after finds nothing left to mask.
#[test]
fn texts_an_earlier_masking_left_are_masked_once() {
    let mut c = city();
    run(&c);
    let lake_dir = c.dir.path().join("lake");
    // What session 29 wrote of an archived register, and its state without a masking.
    let mut recs = lake::read_partition(&lake_dir, Channel::Petition, "2025-03").unwrap();
    for (id, content) in [
        ("petition:X900", "信访人王建国反映电梯停运"),
        ("petition:X901", "报修人李强称电梯停运"),
        ("petition:X902", "电梯停运。张志强反映多次"),
        ("petition:X903", "社区书记王德云称会协调"),
        ("petition:X904", "维修工孙建军到场查看"),
        ("petition:X905", "店主刘建军占道经营"),
        ("petition:X906", "邻居王秀英私搭乱建"),
        ("petition:X908", "保洁员陈家豪乱倒垃圾"),
        ("petition:X909", "请回电一三八一二三四五六七八"),
    ] {
        let mut old = recs[0].clone();
        old.record_id = id.into();
        old.content = content.into();
        old.source_file = "petitions_2024.xlsx".into();
        recs.push(old);
    }
    lake::write_partition(
        &lake_dir,
        Channel::Petition,
        "2025-03",
        &[weaksignal_pipeline::record::to_batch(&recs).unwrap()],
        c.cfg.lake_compression,
    )
    .unwrap();
    let state_file = lake_dir.join("_state/files.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    let masked_with = state["masked_with"].as_str().unwrap().to_string();
    assert!(masked_with.starts_with("8+terms "), "{masked_with}");
    state.as_object_mut().unwrap().remove("masked_with");
    std::fs::write(&state_file, state.to_string()).unwrap();

    let s = run(&c);
    assert!(s.files.iter().all(|f| f.skipped_unchanged));
    assert_eq!((s.remasked, s.remasked_quarantined), (8, 0));
    assert_eq!(s.partitions_written.len(), 1);
    let content = |c: &City, id: &str| records(c)[id].1.content.to_string();
    assert_eq!(content(&c, "petition:X900"), "信访人[姓名]反映电梯停运");
    assert_eq!(content(&c, "petition:X902"), "电梯停运。[姓名]反映多次");
    assert_eq!(content(&c, "petition:X903"), "社区书记[姓名]称会协调");
    assert_eq!(content(&c, "petition:X904"), "维修工[姓名]到场查看");
    assert_eq!(content(&c, "petition:X905"), "店主[姓名]占道经营");
    // A name ends before a term of the taxonomy (`私搭` is no word of the dictionary).
    assert_eq!(content(&c, "petition:X906"), "邻居[姓名]私搭乱建");
    // A name of three before a rare word of the dictionary (`乱倒垃圾`).
    assert_eq!(content(&c, "petition:X908"), "保洁员[姓名]乱倒垃圾");
    // A number typed as heard (masking code 8).
    assert_eq!(content(&c, "petition:X909"), "请回电[号码]");
    // `报修人` is no built-in cue (and `李强` a word of jieba's dictionary).
    assert_eq!(content(&c, "petition:X901"), "报修人李强称电梯停运");
    let s = run(&c);
    assert_eq!((s.remasked, s.partitions_written.len()), (0, 0));

    // The district adds its cue: the exports are read again, the archived text masked.
    c.cfg.ingest.name_cues = vec!["报修人".into()];
    let s = run(&c);
    assert!(s.files.iter().all(|f| !f.skipped_unchanged));
    assert_eq!(s.remasked, 1);
    assert_eq!(content(&c, "petition:X901"), "报修人[姓名]称电梯停运");
    let s = run(&c);
    assert_eq!((s.remasked, s.partitions_written.len()), (0, 0));

    // A new term in the taxonomy: the archived texts are masked with it too.
    let archived = "petition:X907";
    let mut recs = lake::read_partition(&lake_dir, Channel::Petition, "2025-03").unwrap();
    let mut old = recs[0].clone();
    old.record_id = archived.into();
    old.content = "店主王秀英占道经营".into();
    old.source_file = "petitions_2024.xlsx".into();
    recs.push(old);
    let batch = weaksignal_pipeline::record::to_batch(&recs).unwrap();
    lake::write_partition(
        &lake_dir,
        Channel::Petition,
        "2025-03",
        &[batch],
        c.cfg.lake_compression,
    )
    .unwrap();
    assert_eq!(
        (run(&c).remasked, content(&c, archived).as_str()),
        (0, "店主王秀英占道经营")
    );
    let taxonomy = c.dir.path().join("taxonomy.csv");
    let mut t = std::fs::read_to_string(&taxonomy).unwrap();
    t.push_str("城市管理,占道经营,\n");
    std::fs::write(&taxonomy, t).unwrap();
    assert_eq!(run(&c).remasked, 1);
    assert_eq!(content(&c, archived), "店主[姓名]占道经营");
}

#[test]
fn unreadable_sources_are_reported_not_fatal() {
    let c = city();
    // Not a workbook, and a GBK file declared as UTF-8.
    write(
        c.dir.path(),
        "exports/petition/broken.xlsx",
        b"not a zip file",
    );
    let mut cfg = c.cfg.clone();
    cfg.sources[0].encoding = weaksignal_pipeline::config::Encoding::Utf8;
    let s = ingest(&cfg, &c.keys, as_of(), false).unwrap();
    assert!(s.has_errors());
    let broken = file(&s, "broken.xlsx");
    assert!(
        broken.error.as_deref().unwrap().contains("workbook"),
        "{broken:?}"
    );
    let hot = file(&s, "12345_2025-03.csv");
    assert!(hot.error.as_deref().unwrap().contains("UTF-8"), "{hot:?}");
    // The readable files still load.
    assert_eq!(file(&s, "grid_2025-03.jsonl").loaded, 2);
}

#[test]
fn a_header_without_the_needed_columns_is_an_error_naming_them() {
    let c = city();
    let normal = run(&c);
    let petitions_loaded = file(&normal, "petitions.xlsx").loaded;
    std::fs::remove_dir_all(c.dir.path().join("lake")).unwrap();

    let mut cfg = c.cfg.clone();
    // The hotline export renamed its id column; the grid export (UTF-8) is declared GBK,
    // which would turn its keys into mojibake; petitions map a column they do not have.
    cfg.sources[0]
        .columns
        .insert("source_id".into(), vec!["工单号".into()]);
    cfg.sources[1].encoding = weaksignal_pipeline::config::Encoding::Gbk;
    cfg.sources[2].columns.insert(
        "satisfaction".into(),
        vec!["满意度".into(), "回访结果".into()],
    );
    let s = ingest(&cfg, &c.keys, as_of(), false).unwrap();
    assert!(s.has_errors());

    let hot = file(&s, "12345_2025-03.csv");
    let e = hot.error.as_deref().unwrap();
    assert!(e.contains("12345_2025-03.csv"), "{e}");
    assert!(e.contains("source_id (工单号)"), "{e}");
    assert!(
        e.contains(HOTLINE_HEADER.replace(',', ", ").as_str()),
        "{e}"
    );
    assert_eq!((hot.rows, hot.quarantined), (0, 0));

    let grid = file(&s, "grid_2025-03.jsonl");
    let e = grid.error.as_deref().unwrap();
    assert!(e.contains("UTF-8, not GBK"), "{e}");

    // A missing optional column is a warning: the rows load with the field empty.
    let pet = file(&s, "petitions.xlsx");
    assert!(pet.error.is_none(), "{pet:?}");
    assert_eq!(pet.missing_columns, vec!["satisfaction (满意度, 回访结果)"]);
    assert_eq!(pet.loaded, petitions_loaded);
    assert_eq!(
        file(&normal, "petitions.xlsx").missing_columns,
        Vec::<String>::new()
    );
    // Nothing is recorded as ingested for the failed files: the next run reads them again.
    let fixed = run(&c);
    assert!(!file(&fixed, "12345_2025-03.csv").skipped_unchanged);
    assert!(!file(&fixed, "grid_2025-03.jsonl").skipped_unchanged);
    // The petitions loaded under another mapping: read again under this one, to the same
    // records.
    let pet = file(&fixed, "petitions.xlsx");
    assert_eq!(
        pet.read_again.as_deref(),
        Some("the source's mapping or the ingest settings changed")
    );
    assert_eq!((pet.changed, pet.duplicates), (0, petitions_loaded));
}

#[test]
fn a_damaged_header_is_read_against_the_sources_previous_header() {
    // An April export whose header lost a byte inside 来电时间 (GBK): the name ends in an
    // undecodable character, and the file has no column for a field every row needs.
    let april = [
        HOTLINE_HEADER,
        "H021,2025-03-29 10:00:00,13812345678,阳光花园,电梯又坏了,电梯故障,,办理中,",
        "H022,2025-03-30 08:30:00,13700000000,锦绣江南小区8幢,停水,停水,,办理中,",
    ]
    .join("\n");
    let mut damaged = gbk(&april);
    let at = gbk("工单编号,来电时").len() - 1;
    damaged.remove(at);
    let write_april = |c: &City| write(c.dir.path(), "exports/hotline/12345_2025-04.csv", &damaged);

    // Without an earlier file of the source, the name with an undecodable character is read
    // as the configured name it is close to (before session 39 the file was refused).
    let first = city();
    std::fs::remove_file(first.dir.path().join("exports/hotline/12345_2025-03.csv")).unwrap();
    write_april(&first);
    let s = ingest(&first.cfg, &first.keys, as_of(), false).unwrap();
    let f = file(&s, "12345_2025-04.csv");
    assert_eq!((f.rows, f.loaded), (2, 2), "{f:?}");
    assert!(f.header_repairs[0].ends_with("\" as 来电时间"), "{f:?}");
    // A byte changed into another character (时 → 什): no previous header says the column
    // is 来电时间 rather than a column of its own, and the file is refused, naming it.
    let mut changed = gbk(&april);
    changed[at] += 1;
    let first = city();
    std::fs::remove_file(first.dir.path().join("exports/hotline/12345_2025-03.csv")).unwrap();
    write(
        first.dir.path(),
        "exports/hotline/12345_2025-04.csv",
        &changed,
    );
    let s = ingest(&first.cfg, &first.keys, as_of(), false).unwrap();
    let f = file(&s, "12345_2025-04.csv");
    let e = f.error.as_deref().unwrap_or_default();
    assert!(e.contains("received_at (来电时间)"), "{e}");
    assert_eq!((f.rows, f.loaded), (0, 0));

    // After the March export, whose header is the same layout, it loads every row.
    let c = city();
    run(&c);
    write_april(&c);
    let s = run(&c);
    let f = file(&s, "12345_2025-04.csv");
    assert_eq!((f.rows, f.loaded), (2, 2), "{f:?}");
    assert_eq!(f.header_repairs.len(), 1, "{f:?}");
    assert!(f.header_repairs[0].starts_with("第2列 \"来电"), "{f:?}");
    assert!(f.header_repairs[0].ends_with("\" as 来电时间"), "{f:?}");
    let recs = records(&c);
    let h21 = &recs["hotline:H021"].1;
    let march_29 = NaiveDate::from_ymd_opt(2025, 3, 29).unwrap();
    let at_10 = march_29.and_hms_opt(10, 0, 0).unwrap();
    let local = chrono::DateTime::from_timestamp_millis(h21.received_at)
        .unwrap()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .naive_local();
    assert_eq!(local, at_10);
    assert_eq!(h21.compound_id.as_deref(), Some("C1"));

    // A May export whose header lost the separator after 来电时间: one column fewer than its
    // rows, which read under April's header, the caller's number keyed.
    let run_together = HOTLINE_HEADER.replacen("来电时间,", "来电时间", 1);
    let row = "H023,2025-03-30 09:00:00,13812345678,阳光花园,电梯又坏了,电梯故障,,办理中,";
    write_hotline(&c, "2025-05", &[run_together.as_str(), row]);
    let s = run(&c);
    let f = file(&s, "12345_2025-05.csv");
    assert_eq!((f.rows, f.loaded, f.quarantined), (1, 1, 0), "{f:?}");
    assert_eq!(
        f.header_repairs,
        ["第2列 \"来电时间来电号码\" as 来电时间, 来电号码"]
    );
    let recs = records(&c);
    assert_eq!(
        recs["hotline:H023"].1.reporter_key,
        recs["hotline:H021"].1.reporter_key
    );

    // A June export written without its header line: its first line is a record of the
    // previous header's layout (an id, a time where the receipt is), and is read as one.
    let rows = [
        "H024,2025-03-30 10:00:00,13812345678,阳光花园,电梯还是坏的,电梯故障,,办理中,",
        "H025,2025/3/30 11:00,13700000000,锦绣江南小区8幢,停水,停水,,办理中,",
    ];
    write_hotline(&c, "2025-06", &rows);
    let s = run(&c);
    let f = file(&s, "12345_2025-06.csv");
    assert_eq!((f.rows, f.loaded), (2, 2), "{f:?}");
    assert_eq!(
        f.header_repairs,
        ["第1行 is a record, not a header: the file read with the previous header's 9 columns"]
    );
    assert_eq!(records(&c)["hotline:H024"].1.source_row, 1);
    // One whose first line has another width, or no time where the receipt is, is not.
    for (month, first) in [
        (
            "2025-07",
            "H026,2025-03-30 10:00:00,13812345678,阳光花园,电梯还是坏的",
        ),
        (
            "2025-08",
            "H027,昨天,13812345678,阳光花园,电梯还是坏的,电梯故障,,办理中,",
        ),
    ] {
        write_hotline(&c, month, &[first, rows[1]]);
        let s = ingest(&c.cfg, &c.keys, as_of(), false).unwrap();
        let f = file(&s, &format!("12345_{month}.csv"));
        let e = f.error.as_deref().unwrap_or_default();
        assert!(e.contains("needs the source's `header`"), "{e}");
        std::fs::remove_file(
            c.dir
                .path()
                .join(format!("exports/hotline/12345_{month}.csv")),
        )
        .unwrap();
    }
}

#[test]
fn a_csv_export_without_a_header_line_reads_with_the_configured_header() {
    // The March export as a system that writes no header line sends it, the source's
    // `header` naming its columns: the same rows load and quarantine, numbered from line 1.
    let with_header = city();
    let expected = run(&with_header);
    let c = city();
    let body: Vec<&str> = hotline_march_lines().into_iter().skip(1).collect();
    write_march(&c, &body);
    let names: Vec<String> = HOTLINE_HEADER.split(',').map(str::to_owned).collect();
    let mut cfg = c.cfg.clone();
    cfg.sources[0].header = Some(names.clone());
    let s = ingest(&cfg, &c.keys, as_of(), false).unwrap();
    let (f, e) = (
        file(&s, "12345_2025-03.csv"),
        file(&expected, "12345_2025-03.csv"),
    );
    assert_eq!(f.error, None);
    assert_eq!(
        (f.rows, f.loaded, f.quarantined, f.duplicates),
        (e.rows, e.loaded, e.quarantined, e.duplicates)
    );
    assert_eq!(f.quarantine_reasons, e.quarantine_reasons);
    let (recs, before) = (records(&c), records(&with_header));
    assert_eq!(recs.len(), before.len());
    for (id, (channel, r)) in &recs {
        let b = &before[id].1;
        let shift = i64::from(*channel == Channel::Hotline);
        assert_eq!(
            (r.source_row, r.received_at),
            (b.source_row - shift, b.received_at),
            "{id}"
        );
        assert_eq!(
            (&r.content, &r.reporter_key),
            (&b.content, &b.reporter_key),
            "{id}"
        );
    }

    // A header naming no mapped column is the clear error a header line would give.
    let mut wrong = cfg.clone();
    wrong.sources[0].header = Some(names.iter().map(|n| format!("{n}x")).collect());
    std::fs::remove_dir_all(c.dir.path().join("lake")).unwrap();
    let s = ingest(&wrong, &c.keys, as_of(), false).unwrap();
    let e = file(&s, "12345_2025-03.csv")
        .error
        .clone()
        .unwrap_or_default();
    assert!(e.contains("the header has no column for"), "{e}");

    // Only CSV sources take one, with names that are not blank nor repeated.
    let toml = std::fs::read_to_string(c.dir.path().join("weaksignal.toml")).unwrap();
    let bad = toml.replacen(
        "format = \"xlsx\"",
        "format = \"xlsx\"\nheader = [\"信访编号\", \"信访编号\", \" \"]",
        1,
    );
    assert_ne!(bad, toml);
    write(c.dir.path(), "bad.toml", bad.as_bytes());
    let e = Config::load(&c.dir.path().join("bad.toml"))
        .unwrap_err()
        .to_string();
    for part in [
        "names the columns of a CSV export",
        "names `信访编号` twice",
        "an empty name",
    ] {
        assert!(e.contains(part), "{part}: {e}");
    }
}

/// The columns of a petition register in the tests that build their own workbooks.
const REGISTER_HEADER: [&str; 7] = [
    "信访编号",
    "登记日期",
    "信访人",
    "人数",
    "反映地址",
    "反映内容",
    "问题类别",
];

#[test]
fn every_sheet_with_the_same_columns_is_read_and_names_its_rows() {
    let c = city();
    let mut wb = rust_xlsxwriter::Workbook::new();
    wb.add_worksheet().set_name("封面").unwrap();
    let header = REGISTER_HEADER;
    let row = |id: &'static str, people: &'static str| {
        [
            id,
            "2025-03-21",
            "李四",
            people,
            "阳光花园",
            "电梯长期停运",
            "电梯故障",
        ]
    };
    // Two months in the same columns, a third with its columns reordered (and starting
    // below a blank row), and a notes sheet with other columns.
    type Sheet = (&'static str, Vec<usize>, Vec<[&'static str; 7]>);
    let sheets: [Sheet; 3] = [
        (
            "3月",
            (0..7).collect(),
            vec![row("X101", "1"), row("X102", "1")],
        ),
        (
            "4月",
            (0..7).collect(),
            vec![row("X201", "1"), row("X202", "很多")],
        ),
        ("5月", vec![6, 5, 4, 3, 2, 1, 0], vec![row("X301", "40")]),
    ];
    for (name, order, rows) in &sheets {
        let ws = wb.add_worksheet().set_name(*name).unwrap();
        let skip = u32::from(*name == "5月");
        for (col, &from) in order.iter().enumerate() {
            ws.write_string(skip, col as u16, header[from]).unwrap();
            for (r, cells) in rows.iter().enumerate() {
                ws.write_string(skip + r as u32 + 1, col as u16, cells[from])
                    .unwrap();
            }
        }
    }
    let notes = wb.add_worksheet().set_name("说明").unwrap();
    notes.write_string(0, 0, "说明").unwrap();
    notes.write_string(1, 0, "本表按月登记").unwrap();
    wb.save(c.dir.path().join("exports/petition/petitions.xlsx"))
        .unwrap();
    let s = run(&c);
    let f = file(&s, "petitions.xlsx");
    assert_eq!((f.rows, f.loaded, f.quarantined), (5, 4, 1));
    assert_eq!(f.unread_sheets, vec!["说明 (1 rows, other columns)"]);
    let recs = records(&c);
    let at = |id: &str| {
        let r = &recs[id].1;
        (r.source_file.to_string(), r.source_row, r.participants)
    };
    assert_eq!(
        at("petition:X101"),
        ("petitions.xlsx#3月".into(), 2, Some(1))
    );
    assert_eq!(
        at("petition:X201"),
        ("petitions.xlsx#4月".into(), 2, Some(1))
    );
    // Reordered columns are read by name; the row counts from the top of the sheet.
    assert_eq!(
        at("petition:X301"),
        ("petitions.xlsx#5月".into(), 3, Some(40))
    );
    assert!(recs["petition:X301"].1.is_collective);
    // The quarantine names the sheet of the row.
    let q = quarantine(&s);
    let bad: Vec<(&str, u64)> = q
        .iter()
        .filter(|v| v["reason"] == "unknown_value" && v["field"] == "participants")
        .map(|v| (v["file"].as_str().unwrap(), v["row"].as_u64().unwrap()))
        .collect();
    assert_eq!(bad, [("exports/petition/petitions.xlsx#4月", 3)]);
    // The manifest keeps the warning.
    let json = serde_json::to_value(&s).unwrap();
    let files = json["files"].as_array().unwrap();
    assert!(files
        .iter()
        .any(|f| f["unread_sheets"][0] == "说明 (1 rows, other columns)"));
}

#[test]
fn json_ticket_numbers_past_u64_load_with_every_digit() {
    // Two reports whose numbers differ in the last of twenty digits: read as doubles both
    // were 2.0250310000000000e19, quarantined as numbers a spreadsheet shortened.
    let c = city();
    let line = |id: &str, day: u32| {
        format!(
            r#"{{"id":{id},"提交时间":"2025-03-{day:02} 09:00:00","openid":"oX_{day}","小区":"阳光花园","内容":"电梯又坏了","类别":"电梯故障","评分":2}}"#
        )
    };
    let text = [
        line("20250310000000000001", 10),
        line("20250310000000000002", 11),
    ]
    .join("\n");
    write_grid(&c, text);
    let s = run(&c);
    let grid = file(&s, "grid_2025-03.jsonl");
    assert_eq!((grid.rows, grid.loaded, grid.quarantined), (2, 2, 0));
    let recs = records(&c);
    assert!(recs.contains_key("grid:20250310000000000001"));
    assert!(recs.contains_key("grid:20250310000000000002"));
}

#[test]
fn a_utf8_export_with_a_character_cut_in_its_first_rows_is_read_as_utf8() {
    // A database that cuts a field at a byte length cuts a character in half: the grid's
    // JSON Lines (declared UTF-8) and the hotline written in UTF-8 (`auto`) each lose the
    // last byte of one character in an early record. Before, one such byte in a file's
    // first 64 KB refused the grid file as "not valid UTF-8" and read the hotline as GBK
    // (its header then matched no column): every row of both was lost.
    let c = city();
    let d = c.dir.path();
    let cut = |text: &str, row: usize, word: &str| -> Vec<u8> {
        let mut bytes = vec![];
        for (i, line) in text.split_inclusive('\n').enumerate() {
            let mut b = line.as_bytes().to_vec();
            if i + 1 == row {
                b.remove(line.find(word).unwrap() + word.len() - 1);
            }
            bytes.extend(b);
        }
        bytes
    };
    write(
        d,
        "exports/grid/grid_2025-03.jsonl",
        &cut(&grid_jsonl(), 1, "电梯"),
    );
    write(
        d,
        "exports/hotline/12345_2025-03.csv",
        &cut(&hotline_march(), 3, "乱收"),
    );
    let s = run(&c);
    let clean = run(&city());
    for name in ["grid_2025-03.jsonl", "12345_2025-03.csv"] {
        let (f, g) = (file(&s, name), file(&clean, name));
        assert_eq!(f.error, None, "{name}");
        assert_eq!(
            (f.rows, f.loaded, f.quarantined, f.duplicates),
            (g.rows, g.loaded, g.quarantined, g.duplicates),
            "{name}"
        );
    }
    let hot = file(&s, "12345_2025-03.csv");
    assert_eq!(hot.undecodable_rows, 1);
    assert_eq!(
        hot.undecodable_first.as_deref(),
        Some("row 3, column 诉求内容")
    );
    assert_eq!(file(&s, "grid_2025-03.jsonl").undecodable_rows, 1);
    let recs = records(&c);
    assert!(recs["hotline:H002"]
        .1
        .content
        .starts_with("物业费乱\u{FFFD}"));
    assert!(!recs["hotline:H001"].1.content.contains('\u{FFFD}'));
    assert!(recs["grid:G1"].1.content.starts_with("电\u{FFFD}"));
}

#[test]
fn rows_with_bytes_that_cannot_be_decoded_are_loaded_and_counted() {
    let c = city();
    // Row 3's content holds 0xFF, which no GBK character has; row 5's address a lead byte
    // followed by `!`, which cannot end a two-byte character.
    let mut bytes = vec![];
    for (i, line) in hotline_march().split_inclusive("\r\n").enumerate() {
        let mut b = gbk(line);
        match i + 1 {
            3 => {
                let at = b
                    .windows(2)
                    .position(|w| w == gbk("乱").as_slice())
                    .unwrap();
                b.insert(at, 0xFF);
            }
            5 => {
                let at = b
                    .windows(2)
                    .position(|w| w == gbk("号").as_slice())
                    .unwrap();
                b.splice(at..at, [0x81, b'!']);
            }
            _ => {}
        }
        bytes.extend(b);
    }
    write(c.dir.path(), "exports/hotline/12345_2025-03.csv", &bytes);
    let s = run(&c);
    let f = file(&s, "12345_2025-03.csv");
    assert_eq!(f.undecodable_rows, 2);
    assert_eq!(
        f.undecodable_first.as_deref(),
        Some("row 3, column 诉求内容")
    );
    // The same accounting as the clean file: nothing is lost for a bad byte.
    let clean = run(&city());
    let g = file(&clean, "12345_2025-03.csv");
    assert_eq!(
        (f.rows, f.loaded, f.quarantined),
        (g.rows, g.loaded, g.quarantined)
    );
    assert_eq!(g.undecodable_rows, 0);
    assert!(g.undecodable_first.is_none());
    let recs = records(&c);
    assert!(recs["hotline:H002"].1.content.contains('\u{FFFD}'));
    assert!(recs["hotline:H004"].1.address.contains('\u{FFFD}'));
    assert!(!recs["hotline:H001"].1.content.contains('\u{FFFD}'));
    let json = serde_json::to_value(&s).unwrap();
    assert!(json["files"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["undecodable_rows"] == 2));
}

/// A JSON Lines object leaves out the keys it has no value for: a key the first object
/// lacks is still read from the later ones, an export with no object is a night with
/// nothing reported, and a key every row needs must be in the first object.
#[test]
fn json_lines_keys_missing_from_the_first_object_are_read_from_later_ones() {
    let c = city();
    let d = c.dir.path();
    write(
        d,
        "exports/grid/grid_2025-04.jsonl",
        [
            "",
            r#"{"id":"G11","提交时间":"2025-04-01 09:00:00","openid":"oX_a","小区":"阳光花园","内容":"楼道灯不亮"}"#,
            r#"{"id":"G12","提交时间":"2025-04-02 09:00:00","openid":"oX_b","小区":"阳光花园","内容":"电梯停了三天","类别":"电梯故障","评分":1}"#,
        ]
        .join("\n")
        .as_bytes(),
    );
    write(d, "exports/grid/grid_2025-05.jsonl", b"\xEF\xBB\xBF\n");
    let s = run(&c);
    let april = file(&s, "grid_2025-04.jsonl");
    assert_eq!((april.rows, april.loaded), (2, 2));
    assert!(
        april.missing_columns.is_empty(),
        "{:?}",
        april.missing_columns
    );
    let recs = records(&c);
    let (_, g12) = &recs["grid:G12"];
    assert_eq!(g12.category_l2.as_deref(), Some("电梯故障"));
    assert_eq!(g12.category_source, "given");
    assert_eq!(g12.satisfaction, "dissatisfied");
    let (_, g11) = &recs["grid:G11"];
    assert_eq!(g11.category_source, "none");
    assert_eq!(g11.satisfaction, "none");
    let may = file(&s, "grid_2025-05.jsonl");
    assert_eq!((may.rows, may.loaded, may.quarantined), (0, 0, 0));

    // Without the time in the first object, the file is refused with the column named.
    write(
        d,
        "exports/grid/grid_2025-06.jsonl",
        r#"{"id":"G21","openid":"oX_a","小区":"阳光花园","内容":"漏水","提交日期":"2025-06-01 09:00:00"}"#
            .as_bytes(),
    );
    let s = ingest(&c.cfg, &c.keys, as_of(), false).unwrap();
    let june = file(&s, "grid_2025-06.jsonl");
    let e = june.error.as_deref().unwrap_or_default();
    assert!(e.contains("received_at (提交时间)"), "{e}");
}

/// A register opens with a title row and a line of who filled it in above its header: the
/// header is found by the column names the config maps, and row numbers stay Excel's.
#[test]
fn a_workbook_header_below_a_title_is_found() {
    let c = city();
    let d = c.dir.path();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "2025年3月信访登记表").unwrap();
    ws.write_string(1, 0, "填报单位：西湖街道").unwrap();
    ws.write_string(1, 5, "填报日期：2025-03-31").unwrap();
    let header = REGISTER_HEADER;
    let rows = [
        [
            "X301",
            "2025-03-25",
            "赵六",
            "1",
            "阳光花园",
            "电梯长期停运",
            "电梯故障",
        ],
        [
            "X302",
            "2025-03-26",
            "钱七",
            "12",
            "西湖街道锦绣江南",
            "交房延期",
            "物业收费",
        ],
    ];
    for (r, cells) in std::iter::once(&header).chain(&rows).enumerate() {
        write_row(ws, 3 + r as u32, cells);
    }
    wb.save(d.join("exports/petition/登记_2025-03b.xlsx"))
        .unwrap();
    let s = run(&c);
    let april = file(&s, "登记_2025-03b.xlsx");
    assert_eq!(
        (april.rows, april.loaded, april.quarantined),
        (2, 2, 0),
        "{:?}",
        quarantine(&s)
    );
    let recs = records(&c);
    // The header is Excel's row 4, so the records are rows 5 and 6.
    assert_eq!(recs["petition:X301"].1.source_row, 5);
    assert_eq!(recs["petition:X302"].1.source_row, 6);
    assert_eq!(recs["petition:X302"].1.participants, Some(12));
    assert_eq!(recs["petition:X301"].1.content, "电梯长期停运");
}

/// A register kept by hand merges a petition's number, date, head count, address and content
/// over the rows of its petitioners, and its title across the columns. The spreadsheet shows
/// the merged value on every row but stores it in the top cell: the rows below read it too
/// (before, they had no number and were quarantined), so the petition is one record whose
/// head count and content are the merged ones, and no row is lost.
#[test]
fn a_workbooks_cells_merged_down_rows_read_on_every_row() {
    let c = city();
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    let plain = rust_xlsxwriter::Format::new();
    ws.merge_range(0, 0, 0, 6, "2025年3月信访登记表", &plain)
        .unwrap();
    write_row(ws, 1, &REGISTER_HEADER);
    // X401: rows 3–5 (Excel), one petitioner a row.
    for (col, v) in [
        (0, "X401"),
        (1, "2025-03-25"),
        (3, "3"),
        (4, "阳光花园"),
        (5, "业主集体反映电梯长期停运"),
        (6, "电梯故障"),
    ] {
        ws.merge_range(2, col, 4, col, v, &plain).unwrap();
    }
    for (r, name) in ["赵六", "钱七", "孙八"].iter().enumerate() {
        ws.write_string(2 + r as u32, 2, *name).unwrap();
    }
    let x402 = [
        "X402",
        "2025-03-26",
        "周九",
        "1",
        "西湖街道锦绣江南",
        "交房延期",
        "物业收费",
    ];
    write_row(ws, 5, &x402);
    // X403: rows 7–8, no head count: its petitioners are counted.
    for (col, v) in [
        (0, "X403"),
        (1, "2025-03-27"),
        (4, "阳光花园"),
        (5, "楼道堆物无人清理"),
        (6, "物业收费"),
    ] {
        ws.merge_range(6, col, 7, col, v, &plain).unwrap();
    }
    ws.write_string(6, 2, "吴一").unwrap();
    ws.write_string(7, 2, "郑二").unwrap();
    wb.save(c.dir.path().join("exports/petition/登记_2025-03m.xlsx"))
        .unwrap();
    let s = run(&c);
    let reg = file(&s, "登记_2025-03m.xlsx");
    assert_eq!((reg.rows, reg.quarantined), (6, 0), "{:?}", quarantine(&s));
    // Each petition loads once; its other petitioners' rows count with the duplicates
    // (before, each replaced the record, counted loaded and updated).
    assert_eq!((reg.loaded, reg.duplicates, reg.updated), (3, 3, 0));
    let recs = records(&c);
    let x401 = &recs["petition:X401"].1;
    assert_eq!(x401.participants, Some(3));
    assert_eq!(x401.content, "业主集体反映电梯长期停运");
    assert_eq!(x401.compound_id.as_deref(), Some("C1"));
    // The petition is its first row, and its reporter the first petitioner (before, the
    // last row's replaced it).
    assert_eq!(x401.source_row, 3);
    assert_eq!(x401.reporter_key.as_deref(), c.keys.key("赵六").as_deref());
    assert_ne!(x401.reporter_key.as_deref(), c.keys.key("孙八").as_deref());
    assert_eq!(recs["petition:X402"].1.source_row, 6);
    assert_eq!(recs["petition:X402"].1.participants, Some(1));
    let x403 = &recs["petition:X403"].1;
    assert_eq!((x403.source_row, x403.participants), (7, Some(2)));
    // `validate`'s dry run counts them alike.
    let previews = weaksignal_pipeline::ingest::preview::preview(&c.cfg, as_of(), 1000).unwrap();
    let p = (previews.iter())
        .find(|p| p.file.contains("登记_2025-03m"))
        .unwrap();
    assert_eq!((p.rows, p.loaded, p.petitioner_rows), (6, 3, 3));

    // A lake that session 37's code read (its reading code 7 for CSV, whose header could
    // swallow the records below a stray quote, 8 for the other formats) has its CSV exports
    // read again, once; its workbooks and JSON Lines exports are skipped. Each format's code
    // is raised on its own (workbooks were read again for their merged petitions alone).
    let state_file = c.dir.path().join("lake/_state/files.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).unwrap()).unwrap();
    for (file, reading) in state["readings"].as_object_mut().unwrap().iter_mut() {
        assert_eq!(reading["code"], 8, "{file}");
        if file.ends_with(".csv") {
            reading["code"] = 7.into();
        }
    }
    std::fs::write(&state_file, state.to_string()).unwrap();
    let s = run(&c);
    for f in &s.files {
        assert_eq!(f.skipped_unchanged, !f.file.ends_with(".csv"), "{}", f.file);
    }
    assert!(run(&c).files.iter().all(|f| f.skipped_unchanged));
}

/// A stray quote before a header name opens a field the header line never closes: before
/// session 38 it ran on through the records below into that name (or the whole file), and
/// the file loaded with those rows never read. The header is its first line, quotes as
/// written; a name quoted across a line break is still one name.
#[test]
fn a_stray_quote_in_a_csv_header_loses_no_record() {
    let c = city();
    let rows = [
        "H030,2025-03-19 10:00:00,13812345677,阳光花园,\"电梯坏了,困人\",电梯故障,,办理中,",
        "H031,2025-03-20 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,不满意",
        "H032,2025-03-21 10:00:00,13812345679,阳光花园,楼道漏水,,,办理中,满意",
        "H033,2025-03-22 10:00:00,13812345670,锦绣江南小区8幢,停水,停水,,办理中,",
    ];
    for (month, header) in [
        (
            "2025-04",
            HOTLINE_HEADER.replace("回访满意度", "\"回访满意度"),
        ),
        ("2025-05", HOTLINE_HEADER.replace("来电时间", "\"来电时间")),
        (
            "2025-06",
            HOTLINE_HEADER.replace("回访满意度", "\"回访\n满意度\""),
        ),
    ] {
        let lines: Vec<&str> = std::iter::once(header.as_str()).chain(rows).collect();
        write_hotline(&c, month, &lines);
    }
    let s = run(&c);
    for (name, loaded) in [("2025-04", 4), ("2025-05", 0), ("2025-06", 0)] {
        let f = file(&s, &format!("12345_{name}.csv"));
        assert_eq!(f.error, None, "{name}");
        assert_eq!(
            (f.rows, f.loaded, f.duplicates),
            (4, loaded, 4 - loaded),
            "{name}"
        );
        assert_eq!(f.missing_columns, Vec::<String>::new(), "{name}");
    }
    let recs = records(&c);
    assert_eq!(recs["hotline:H031"].1.satisfaction, "dissatisfied");
    assert_eq!(recs["hotline:H033"].1.source_row, 5);
    assert_eq!(recs["hotline:H030"].1.content, "电梯坏了,困人");

    // A stray quote before an unmapped last name, its run ended early in the first record
    // by that record's own quote: the record has the header line's width, and both load.
    let header = format!("{HOTLINE_HEADER},\"备注");
    let quoted = rows[0].replace("H030", "H036");
    let plain = rows[1].replace("H031", "H037");
    let (quoted, plain) = (format!("{quoted},无"), format!("{plain},无"));
    write_hotline(
        &c,
        "2025-08",
        &[header.as_str(), quoted.as_str(), plain.as_str()],
    );
    let s = run(&c);
    let f = file(&s, "12345_2025-08.csv");
    assert_eq!((f.rows, f.loaded, f.quarantined), (2, 2, 0), "{f:?}");

    // A name quoted across a line break with a separator in it is a name, not a stray
    // quote: the rows have its column, and load.
    let header = format!("{HOTLINE_HEADER},\"备注\n(内部,勿填)\"");
    let row = format!("{},无", rows[1].replace("H031", "H034"));
    write_hotline(&c, "2025-07", &[header.as_str(), row.as_str()]);
    let s = run(&c);
    let f = file(&s, "12345_2025-07.csv");
    assert_eq!((f.rows, f.loaded, f.quarantined), (1, 1, 0), "{f:?}");
}

/// A line break or a separator typed into a CSV header: the line break's two lines read as
/// one; an extra separator reads against the source's previous header when the rows have
/// its width, and an export that added a column to its header and its rows alike is read
/// as it is.
#[test]
fn a_line_break_or_a_separator_in_a_csv_header_loses_no_record() {
    let c = city();
    run(&c);
    let row = |id: &str, extra: &str| {
        format!("{id},2025-03-20 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,{extra}")
    };
    let files = [
        (
            "2025-04",
            HOTLINE_HEADER.replacen("诉求地址", "诉求\n地址", 1),
            row("H041", ""),
        ),
        (
            "2025-05",
            HOTLINE_HEADER.replacen("来电时间,", "来电时间,,", 1),
            row("H042", ""),
        ),
        (
            "2025-06",
            format!("{HOTLINE_HEADER},备注"),
            row("H043", ",夜间"),
        ),
    ];
    for (month, header, row) in &files {
        write_hotline(&c, month, &[header.as_str(), row.as_str()]);
    }
    let s = run(&c);
    for (month, repairs) in [
        ("2025-04", vec![]),
        ("2025-05", vec!["第3–4列 \"\", \"来电号码\" as 来电号码"]),
        ("2025-06", vec![]),
    ] {
        let f = file(&s, &format!("12345_{month}.csv"));
        assert_eq!((f.rows, f.loaded), (1, 1), "{month}: {f:?}");
        assert_eq!(f.header_repairs, repairs, "{month}");
    }
    let recs = records(&c);
    assert_eq!(recs["hotline:H041"].1.source_row, 3);
    assert_eq!(recs["hotline:H042"].1.compound_id.as_deref(), Some("C1"));

    // A header line repeated below it (exports concatenated) is not a header cut in two:
    // it is a row, quarantined for its time, and the records after it load.
    write_hotline(
        &c,
        "2025-07",
        &[HOTLINE_HEADER, HOTLINE_HEADER, &row("H044", "")],
    );
    let s = run(&c);
    let f = file(&s, "12345_2025-07.csv");
    assert_eq!((f.rows, f.loaded, f.quarantined), (2, 1, 1), "{f:?}");
    assert_eq!(f.quarantine_reasons.get("bad_date"), Some(&1), "{f:?}");
}

/// A CSV export may open with a title line (and a blank one) above its header: the header is
/// found by the mapped column names, the lines above it are not rows, and row numbers stay
/// the file's. A file whose first lines name no mapped column keeps its first line as the
/// header, and every line after it is still read.
#[test]
fn a_csv_header_below_a_title_is_found() {
    let c = city();
    let d = c.dir.path();
    let text = [
        "12345热线工单导出（2025年3月），导出时间：2025-03-31",
        "",
        HOTLINE_HEADER,
        "H101,2025-03-20 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
        "H102,2025-03-21 10:00:00,13812345679,阳光花园,\"楼道漏水\n三天了\",,,办理中,",
    ]
    .join("\r\n");
    write(d, "exports/hotline/12345_2025-03b.csv", &gbk(&text));
    let s = run(&c);
    let f = file(&s, "12345_2025-03b.csv");
    assert_eq!((f.rows, f.loaded, f.quarantined), (2, 2, 0));
    let recs = records(&c);
    assert_eq!(recs["hotline:H101"].1.source_row, 4);
    assert_eq!(recs["hotline:H102"].1.source_row, 5);
    assert_eq!(recs["hotline:H102"].1.content, "楼道漏水 三天了");

    // No line names a mapped column: the first is the header, the file is refused for it,
    // and nothing was read past it. Its cells are not listed: it may be a record.
    let text = ["导出说明,张三", "a,b", "1,2"].join("\n");
    write(d, "exports/hotline/12345_2025-03c.csv", &gbk(&text));
    let s = ingest(&c.cfg, &c.keys, as_of(), false).unwrap();
    let e = file(&s, "12345_2025-03c.csv")
        .error
        .clone()
        .unwrap_or_default();
    assert!(
        e.contains("none of its 2 columns is a configured one"),
        "{e}"
    );
    assert!(!e.contains("张三"), "{e}");
}

/// A source format by the name a config gives it (`json` and `xls` are aliases).
fn format_named(name: &str) -> weaksignal_pipeline::config::Format {
    let t: BTreeMap<String, weaksignal_pipeline::config::Format> =
        toml::from_str(&format!("f = \"{name}\"")).unwrap();
    t["f"]
}

/// The city's source named `name`, to change its config.
fn source<'c>(c: &'c mut City, name: &str) -> &'c mut weaksignal_pipeline::config::Source {
    (c.cfg.sources.iter_mut())
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no source {name}"))
}

/// A workbook's date cells are Excel serial days: they are read as dates even when the
/// source's formats leave out `excel`.
#[test]
fn workbook_date_cells_need_no_excel_format() {
    let mut c = city();
    source(&mut c, "信访登记").datetime_formats = vec!["%Y-%m-%d".into()];
    let s = run(&c);
    let pet = file(&s, "petitions.xlsx");
    assert_eq!((pet.rows, pet.loaded, pet.quarantined), (3, 2, 1));
    let recs = records(&c);
    // X001's 登记日期 is a real Excel date cell (2025-03-20), X002's a date typed as text.
    let day = |id: &str| weaksignal_pipeline::ingest::month_of(recs[id].1.received_at);
    assert_eq!(day("petition:X001"), "2025-03");
    assert_eq!(day("petition:X002"), "2025-03");
}

/// A name two streets have (幸福里), in an address that names neither: the export's own
/// street (or a handling unit that holds it), community or grid column, mapped as `street`,
/// `community` or `grid`, tells them apart; without any of them the row stays ambiguous.
#[test]
fn the_exports_place_columns_break_a_tie() {
    let mut c = city();
    let columns = &mut source(&mut c, "12345热线").columns;
    for (field, column) in [
        ("street", "承办单位"),
        ("community", "所属社区"),
        ("grid", "网格"),
    ] {
        columns.insert(field.into(), vec![column.into()]);
    }
    let text = [
        format!("{HOTLINE_HEADER},承办单位,所属社区,网格"),
        "H201,2025-03-20 10:00:00,13812345678,幸福里3号楼,电梯坏了,电梯故障,,办理中,,西湖街道办事处,,"
            .into(),
        "H202,2025-03-20 11:00:00,13812345679,幸福里5号楼,电梯坏了,电梯故障,,办理中,,区住建委,,".into(),
        "H203,2025-03-20 12:00:00,13812345670,幸福里,电梯坏了,电梯故障,,办理中,,东城街道,,".into(),
        "H204,2025-03-20 13:00:00,13812345671,幸福里2号楼,电梯坏了,电梯故障,,办理中,,,东城2社区,"
            .into(),
        // the grid goes before a street that contradicts it
        "H205,2025-03-20 14:00:00,13812345672,幸福里1号楼,电梯坏了,电梯故障,,办理中,,东城街道,,G3"
            .into(),
    ]
    .join("\n");
    write(
        c.dir.path(),
        "exports/hotline/12345_2025-03d.csv",
        &gbk(&text),
    );
    run(&c);
    let recs = records(&c);
    let at = |id: &str| {
        let r = &recs[id].1;
        (
            r.compound_id.as_deref().map(str::to_owned),
            r.match_method.to_string(),
        )
    };
    assert_eq!(at("hotline:H201"), (Some("C4".into()), "substring".into()));
    assert_eq!(at("hotline:H202"), (None, "ambiguous".into()));
    assert_eq!(at("hotline:H203"), (Some("C3".into()), "exact".into()));
    assert_eq!(at("hotline:H204"), (Some("C3".into()), "substring".into()));
    assert_eq!(at("hotline:H205"), (Some("C4".into()), "substring".into()));
}

/// One change made to an export's bytes, as damaged exports have them: a cut, a stray or
/// doubled separator, quote or line break, a byte no encoding expects, a line repeated or
/// moved, the file cut short. Positions are taken modulo the file's length.
#[derive(Debug, Clone)]
enum Mangle {
    Delete(usize, usize),
    Insert(usize, u8),
    Replace(usize, u8),
    RepeatLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
}

/// Bytes that mean something to a CSV, JSON or GBK reader, and some that mean nothing.
const MANGLE_BYTES: &[u8] = b",\"\n\r{}:[]\\ 13\x00\x80\x81\xa1\xfe\xff";

fn mangle() -> impl proptest::strategy::Strategy<Value = Mangle> {
    use proptest::prelude::*;
    let byte = proptest::sample::select(MANGLE_BYTES);
    prop_oneof![
        (any::<usize>(), 1..12usize).prop_map(|(a, n)| Mangle::Delete(a, n)),
        (any::<usize>(), byte.clone()).prop_map(|(a, b)| Mangle::Insert(a, b)),
        (any::<usize>(), byte).prop_map(|(a, b)| Mangle::Replace(a, b)),
        any::<usize>().prop_map(Mangle::RepeatLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mangle::SwapLines(a, b)),
        any::<usize>().prop_map(Mangle::Truncate),
    ]
}

fn apply_mangle(bytes: &mut Vec<u8>, m: &Mangle) {
    if bytes.is_empty() {
        return;
    }
    let at = |a: usize, bytes: &[u8]| a % bytes.len();
    let lines = |bytes: &[u8]| -> Vec<Vec<u8>> {
        (bytes.split_inclusive(|&b| b == b'\n'))
            .map(<[u8]>::to_vec)
            .collect()
    };
    match *m {
        Mangle::Delete(a, n) => {
            let a = at(a, bytes);
            let end = (a + n).min(bytes.len());
            bytes.drain(a..end);
        }
        Mangle::Insert(a, b) => bytes.insert(at(a, bytes), b),
        Mangle::Replace(a, b) => {
            let a = at(a, bytes);
            bytes[a] = b;
        }
        Mangle::RepeatLine(l) => {
            let mut v = lines(bytes);
            let l = l % v.len();
            v.insert(l, v[l].clone());
            *bytes = v.concat();
        }
        Mangle::SwapLines(a, b) => {
            let mut v = lines(bytes);
            let n = v.len();
            v.swap(a % n, b % n);
            *bytes = v.concat();
        }
        Mangle::Truncate(a) => bytes.truncate(at(a, bytes)),
    }
}

/// A number the masking must have replaced: a mobile number (its digits grouped or not, with
/// a country code or not), an ID or a bank-card number, standing alone.
fn unmasked_identifier(text: &str) -> Option<String> {
    static PII: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = PII.get_or_init(|| {
        let mobile = r"(?:\+?86|0086|0)?[- ]?1[3-9]\d[- ]?\d{4}[- ]?\d{4}";
        let pattern = format!(r"(?:^|\D)({mobile}|\d{{17}}[\dXx]|\d{{16,19}})(?:\D|$)");
        regex::Regex::new(&pattern).unwrap()
    });
    re.captures(text).map(|c| c[1].to_owned())
}

proptest::proptest! {
    // 40 cases of each property a run (PROPTEST_CASES=n for more).
    #![proptest_config(proptest::prelude::ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(40),
        ..proptest::prelude::ProptestConfig::default()
    })]

    /// A byte that is not ASCII written over any byte of a data row but its line end (a
    /// damaged character: a field cut mid-character, a flipped bit; in JSON Lines, any
    /// line) costs at most that row:
    /// the file is still read and reads as many rows as the clean one — the hotline in GBK
    /// and in UTF-8 (`auto`), the grid's JSON Lines (`utf-8`). No ASCII byte is swallowed by
    /// the damage, so the rows keep their bounds. Before session 37 one such byte in a
    /// UTF-8 file's first 64 KB refused the file or had it read as GBK.
    #[test]
    fn a_damaged_character_in_a_row_never_costs_the_file(
        at in proptest::prelude::any::<usize>(),
        byte in 0x80u8..=0xFF,
        which in 0usize..3,
    ) {
        let (rel, name, clean) = match which {
            0 => ("exports/hotline/12345_2025-03.csv", "12345_2025-03.csv", gbk(&hotline_march())),
            1 => ("exports/hotline/12345_2025-03.csv", "12345_2025-03.csv", hotline_march().into_bytes()),
            _ => ("exports/grid/grid_2025-03.jsonl", "grid_2025-03.jsonl", grid_jsonl().into_bytes()),
        };
        // Past the CSV header; a JSON Lines file's first object too may be damaged (its
        // header is then the next object's keys).
        let body = match which {
            2 => 0,
            _ => clean.iter().position(|&b| b == b'\n').unwrap() + 1,
        };
        let at = body + at % (clean.len() - body);
        proptest::prop_assume!(clean[at] != b'\n' && clean[at] != b'\r');
        let mut bytes = clean.clone();
        bytes[at] = byte;
        let c = city();
        write(c.dir.path(), rel, &bytes);
        // `run` holds that no file is refused and every row read is accounted for.
        let damaged = run(&c);
        let c0 = city();
        write(c0.dir.path(), rel, &clean);
        let clean_run = run(&c0);
        proptest::prop_assert_eq!(file(&damaged, name).rows, file(&clean_run, name).rows);
    }

    /// One byte of a GBK hotline header changed, removed or inserted — a quote, a line break
    /// (inserted, or over a separator or another ASCII byte), a separator or any other —
    /// costs no row once the source has loaded a file: April's export reads against March's
    /// header and loads every row the clean April export loads. Before session 38 most such
    /// files were refused whole, a quote opening a name ran on through the rows below (the
    /// file loaded without them), and a separator inserted or a line break quarantined
    /// every row for its column count.
    #[test]
    fn a_damaged_header_byte_never_costs_a_file_its_source_has_read_before(
        at in proptest::prelude::any::<usize>(),
        // Any byte, and as often those that change how a CSV line reads.
        byte in proptest::prop_oneof![
            proptest::prelude::any::<u8>(),
            proptest::sample::select(b"\n\r\",".to_vec()),
        ],
        how in 0usize..3,
    ) {
        let april = [
            HOTLINE_HEADER,
            "H021,2025-03-29 10:00:00,13812345678,阳光花园,电梯又坏了,电梯故障,,办理中,",
            "H022,2025-03-30 08:30:00,13700000000,锦绣江南小区8幢,停水,停水,,办理中,不满意",
        ]
        .join("\n");
        let clean = gbk(&april);
        let mut bytes = clean.clone();
        let at = at % gbk(HOTLINE_HEADER).len();
        // Not held: a line break over one byte of a two-byte character, which leaves the
        // lines on either side each with a broken half (the file may then be refused).
        proptest::prop_assume!(how != 0 || !b"\r\n".contains(&byte) || clean[at] < 0x80);
        match how {
            0 => bytes[at] = byte,
            1 => {
                bytes.remove(at);
            }
            _ => bytes.insert(at, byte),
        }
        let c = city();
        run(&c);
        write(c.dir.path(), "exports/hotline/12345_2025-04.csv", &bytes);
        // `run` holds that no file is refused and every row read is accounted for.
        let damaged = run(&c);
        let f = file(&damaged, "12345_2025-04.csv");
        proptest::prop_assert_eq!((f.rows, f.loaded), (2, 2), "{:?}", f);
    }

    /// Exports damaged at random still ingest: each file is loaded row by row or reported
    /// unreadable, every row read is loaded, quarantined or a duplicate, the lake holds
    /// exactly the records loaded, nothing written holds an unmasked identifier or a raw
    /// reporter, and ingesting the same damaged files again into that lake changes nothing.
    #[test]
    fn damaged_exports_lose_no_row_and_leak_no_identifier(
        hotline in proptest::collection::vec(mangle(), 1..8),
        grid in proptest::collection::vec(mangle(), 1..8),
        petition in proptest::option::weighted(0.3, mangle()),
    ) {
        let c = city();
        let d = c.dir.path();
        for (rel, changes) in [
            ("exports/hotline/12345_2025-03.csv", hotline),
            ("exports/grid/grid_2025-03.jsonl", grid),
            ("exports/petition/petitions.xlsx", petition.into_iter().collect()),
        ] {
            let mut bytes = std::fs::read(d.join(rel)).unwrap();
            for m in &changes {
                apply_mangle(&mut bytes, m);
            }
            std::fs::write(d.join(rel), bytes).unwrap();
        }
        let s = ingest(&c.cfg, &c.keys, as_of(), false).unwrap();
        let mut fresh = 0;
        for f in &s.files {
            match &f.error {
                Some(e) => proptest::prop_assert!(!e.trim().is_empty()),
                None => {
                    proptest::prop_assert_eq!(
                        f.rows,
                        f.loaded + f.quarantined + f.duplicates,
                        "row accounting of {}", f.file
                    );
                    fresh += f.loaded - f.updated;
                }
            }
        }
        let lake_dir = d.join("lake");
        let mut before = lake::read_all(&lake_dir).unwrap();
        proptest::prop_assert_eq!(before.len() as u64, fresh);

        // The summary (printed, and stored in the run manifest) with the lake and quarantine.
        let mut written = serde_json::to_string(&s).unwrap();
        for (_, r) in &before {
            for text in [&r.content, &r.address] {
                proptest::prop_assert_eq!(unmasked_identifier(text), None, "in {:?}", r);
            }
            written.push_str(&format!("{r:?}\n"));
        }
        if let Some(q) = &s.quarantine_file {
            for line in std::fs::read_to_string(q).unwrap().lines() {
                let row: serde_json::Value = serde_json::from_str(line).unwrap();
                let fields = row["fields"].as_object().into_iter().flatten();
                for v in fields.map(|(_, v)| v).chain([&row["detail"]]) {
                    let v = v.as_str().unwrap_or("");
                    proptest::prop_assert_eq!(unmasked_identifier(v), None, "in {}", line);
                }
                written.push_str(line);
            }
        }
        // The reporters' own identities (a number in the text is the pattern's to find: a
        // digit typed next to one makes it no number at all).
        for raw in ["13812345678", "13700000000", "oX_abcdefghijklmnop", "张三"] {
            let at = written.find(raw);
            let context = |i: usize| {
                let before: String = written[..i].chars().rev().take(120).collect();
                let after: String = written[i..].chars().take(60).collect();
                format!("{}{after}", before.chars().rev().collect::<String>())
            };
            proptest::prop_assert!(at.is_none(), "{} was written in: {}", raw, at.map(context).unwrap_or_default());
        }

        // The same files again, the lake's record of them forgotten: every row is found
        // in the lake already.
        let _ = std::fs::remove_dir_all(lake_dir.join("_state"));
        let again = ingest(&c.cfg, &c.keys, as_of(), false).unwrap();
        for (f, g) in s.files.iter().zip(&again.files) {
            proptest::prop_assert_eq!((f.rows, f.quarantined), (g.rows, g.quarantined));
            proptest::prop_assert_eq!(g.loaded, g.updated, "{:?}", g);
        }
        let mut after = lake::read_all(&lake_dir).unwrap();
        let id = |(_, r): &(Channel, Record)| r.record_id.to_string();
        before.sort_by_key(id);
        after.sort_by_key(id);
        proptest::prop_assert_eq!(before, after);
    }

    /// Lines of the register damaged the way that keeps their width — a comma typed
    /// anywhere, the blank last cell left out — never write a contact's name: the row loads
    /// (the name where it belongs, or cut in two) or is quarantined with the name hidden.
    #[test]
    fn a_typed_comma_and_a_left_out_cell_never_write_a_name(
        damage in proptest::collection::vec((1..201usize, proptest::prelude::any::<usize>()), 1..6),
    ) {
        let c = city_with_contacts();
        let mut lines = named_register();
        for (line, at) in &damage {
            let l = &mut lines[*line];
            if l.ends_with(',') {
                l.pop();
            }
            let mut chars: Vec<char> = l.chars().collect();
            chars.insert(at % (chars.len() + 1), ',');
            *l = chars.into_iter().collect();
        }
        write(c.dir.path(), "exports/hotline/12345_2025-03.csv", &gbk(&lines.join("\n")));
        let s = run(&c);
        let hot = file(&s, "12345_2025-03.csv");
        proptest::prop_assert_eq!(hot.rows, 200);
        let mut written = serde_json::to_string(&s).unwrap();
        for (_, r) in records(&c).values() {
            written.push_str(&format!("{r:?}\n"));
        }
        if let Some(q) = &s.quarantine_file {
            written.push_str(&std::fs::read_to_string(q).unwrap());
        }
        for name in CONTACTS {
            let at = written.find(name).map(|i| {
                let from = written[..i].char_indices().rev().nth(150).map_or(0, |(j, _)| j);
                written[from..].chars().take(200).collect::<String>()
            });
            proptest::prop_assert!(at.is_none(), "{} written in {:?}; lines {:?}", name, at, damage.iter().map(|d| &lines[d.0]).collect::<Vec<_>>());
        }
    }
}

/// A hand-edited register exported as CSV, the contact's name after the address: an unquoted
/// comma in one row's address and its blank last cell cancel out, so the row has the
/// header's width with every later cell one column to the right — the name in the content.
/// The file's contacts are learned to be names: the row is quarantined with the name hidden,
/// and the name reaches no record; rows that only look odd (a two-character content, a
/// number in the name column) load. A blank contact where every other row has one, beside a
/// content shaped like a name, is taken as moved too (a separator typed before the name).
#[test]
fn a_row_whose_cells_moved_a_column_keeps_the_name_out_of_the_lake() {
    let c = city_with_contacts();
    const NAMES: [&str; 8] = [
        "王伟", "李娜", "张敏", "刘洋", "陈静", "杨磊", "赵丽", "周杰",
    ];
    let mut lines = vec!["工单编号,来电时间,办理状态,诉求地址,联系人,诉求内容,诉求分类".to_owned()];
    for i in 0..60 {
        lines.push(format!(
            "H{i:03},2025-03-05 10:00:00,办理中,建设路12号,{},电梯又坏了请尽快修理,电梯故障",
            NAMES[i % NAMES.len()]
        ));
    }
    lines.extend([
        // Row 62: the comma typed in the address, the category left blank.
        "H100,2025-03-06 10:00:00,办理中,建设路12号,3单元,欧阳建国,电梯坏了".to_owned(),
        // Row 63: a blank contact and a name-shaped content, in a file of named contacts.
        "H101,2025-03-06 11:00:00,办理中,建设路12号,,漏水,".to_owned(),
        // Rows 64–65: odd but whole.
        "H102,2025-03-06 12:00:00,办理中,建设路12号,钱芳,漏水,".to_owned(),
        "H103,2025-03-06 13:00:00,办理中,建设路12号,13812345678,楼道灯坏了一直没人管,".to_owned(),
    ]);
    write_march(&c, &lines);
    let s = run(&c);
    let hot = file(&s, "12345_2025-03.csv");
    assert_eq!((hot.rows, hot.loaded, hot.quarantined), (64, 62, 2));
    let q = quarantine(&s);
    let moved = q.iter().find(|v| v["row"] == 62).unwrap();
    assert_eq!(moved["reason"], "shifted_cells");
    assert_eq!(moved["field"], "content");
    assert_eq!(moved["fields"]["诉求内容"], "[已脱敏]");
    assert_eq!(moved["fields"]["联系人"], "[已脱敏]");
    // Any cell shaped like a name is hidden in a row whose name may have moved; the others
    // are shown.
    assert_eq!(moved["fields"]["诉求分类"], "[已脱敏]");
    assert_eq!(moved["fields"]["诉求地址"], "建设路12号");
    assert_eq!(moved["fields"]["来电时间"], "2025-03-06 10:00:00");
    let recs = records(&c);
    assert!(!recs.contains_key("hotline:H100"));
    let blank = q.iter().find(|v| v["row"] == 63).unwrap();
    assert_eq!(blank["reason"], "shifted_cells");
    assert_eq!(blank["fields"]["诉求内容"], "[已脱敏]");
    assert_eq!(recs["hotline:H102"].1.content, "漏水");
    assert!(recs["hotline:H103"].1.reporter_key.is_some());
    let mut text = std::fs::read_to_string(s.quarantine_file.as_ref().unwrap()).unwrap();
    for (_, r) in recs.values() {
        text.push_str(&format!("{r:?}\n"));
    }
    assert!(!text.contains("欧阳建国"), "the name was written");
}

/// A night's export of a small channel holds too few contacts to learn what they look like
/// (fewer than 50). What the source's earlier files looked like (shapes per column, kept in
/// the lake's state) is learned with it, so a row whose name moved into the content is
/// caught there too; on a lake without that history, the same file cannot be checked.
#[test]
fn a_small_export_is_checked_for_moved_cells_with_its_sources_earlier_files() {
    let c = city_with_contacts();
    let header = "工单编号,来电时间,办理状态,诉求地址,联系人,诉求内容,诉求分类";
    let night = [
        header,
        "H500,2025-03-07 09:00:00,办理中,建设路12号,王伟,电梯又坏了请尽快修理,",
        "H501,2025-03-07 10:00:00,办理中,建设路12号,李娜,楼道灯坏了一直没人管,",
        // Row 4: the comma typed in the address, the category left out: the name moved.
        "H502,2025-03-07 11:00:00,办理中,建设路12号,3单元,欧阳建国,电梯坏了",
    ]
    .join("\n");
    // A lake with no history: the three rows load, the name in a record's content.
    write(
        c.dir.path(),
        "exports/hotline/12345_2025-03.csv",
        &gbk(&night),
    );
    let s = run(&c);
    assert_eq!(file(&s, "12345_2025-03.csv").quarantined, 0);
    assert_eq!(records(&c)["hotline:H502"].1.content, "欧阳建国");
    // A month's register loaded first, the night's export on the next run: caught.
    let c = city_with_contacts();
    let hotline = c.dir.path().join("exports/hotline");
    std::fs::remove_file(hotline.join("12345_2025-03.csv")).unwrap();
    write(
        &hotline,
        "12345_2025-03-01.csv",
        &gbk(&named_register().join("\n")),
    );
    run(&c);
    write(&hotline, "12345_2025-03-07.csv", &gbk(&night));
    // `validate`'s dry run of the newest file sees it first.
    let previews = weaksignal_pipeline::ingest::preview::preview(&c.cfg, as_of(), 1000).unwrap();
    assert_eq!(previews[0].quarantined["shifted_cells"].0, 1);
    let s = run(&c);
    let small = file(&s, "12345_2025-03-07.csv");
    assert_eq!((small.rows, small.loaded, small.quarantined), (3, 2, 1));
    assert_eq!(quarantine(&s)[0]["reason"], "shifted_cells");
    assert_eq!(quarantine(&s)[0]["row"], 4);
    assert!(!records(&c).contains_key("hotline:H502"));
    // The history is shapes per column, no cell's value.
    let state = std::fs::read_to_string(c.dir.path().join("lake/_state/files.json")).unwrap();
    assert!(state.contains("\"联系人\""), "{state}");
    for name in CONTACTS {
        assert!(!state.contains(name), "the state holds {name}");
    }
}

/// Contacts of the register the shift tests write, and its 60 rows (the category blank, as
/// hand-kept registers leave it): a CSV whose reporters are names, after the address. Its
/// 200 rows keep the few damaged ones a small share, as in a real export.
const CONTACTS: [&str; 8] = [
    "王伟",
    "李娜",
    "张敏",
    "刘洋",
    "陈静",
    "杨磊",
    "欧阳建国",
    "周杰",
];

fn named_register() -> Vec<String> {
    let mut lines = vec!["工单编号,来电时间,办理状态,诉求地址,联系人,诉求内容,诉求分类".to_owned()];
    for i in 0..200 {
        lines.push(format!(
            "H{i:03},2025-03-05 10:{:02}:00,办理中,建设路{}号,{},电梯又坏了请尽快修理,",
            i % 60,
            i % 20 + 1,
            CONTACTS[i % CONTACTS.len()]
        ));
    }
    lines
}

/// A mini-program platform's export: the record's parts nested (`location.小区`,
/// `评价.评分`), the time an RFC 3339 instant in UTC (`createTime.$date`) or epoch
/// milliseconds, and a nested user object no field maps. Dotted paths and the named formats
/// read it with a config change only; the user object reaches neither the lake nor the
/// quarantine.
#[test]
fn nested_json_records_with_instants_and_epochs_load_by_config() {
    let mut c = city();
    let grid = source(&mut c, "网格投诉");
    grid.datetime_formats = vec!["rfc3339".into(), "epoch_ms".into()];
    grid.columns = [
        ("source_id", "_id"),
        ("received_at", "createTime.$date"),
        ("reporter", "_openid"),
        ("compound", "location.小区"),
        ("content", "内容"),
        ("category", "类别"),
        ("rating", "评价.评分"),
    ]
    .into_iter()
    .map(|(f, k)| (f.to_owned(), vec![k.to_owned()]))
    .collect();
    let user = r#""user":{"nickName":"张三","phone":"13812345678"}"#;
    let lines = [
        format!(
            r#"{{"_id":"W1","createTime":{{"$date":"2025-03-05T02:00:00.000Z"}},"_openid":"oX_abcdefghijklmnop","location":{{"小区":"阳光花园","楼栋":"3栋"}},"内容":"电梯坏了","类别":"电梯故障","评价":{{"评分":2}},{user}}}"#
        ),
        format!(
            r#"{{"_id":"W2","createTime":{{"$date":1741140000000}},"_openid":"oX_abcdefghijklmnop","location":{{"小区":"锦绣"}},"内容":"物业费太贵","评价":{{}},{user}}}"#
        ),
        format!(
            r#"{{"_id":"W3","createTime":{{"$date":"三月五日"}},"_openid":"oX_zzzz","内容":"电梯",{user}}}"#
        ),
    ];
    write_grid(&c, lines.join("\n"));
    let s = run(&c);
    let g = file(&s, "grid_2025-03.jsonl");
    assert_eq!((g.rows, g.loaded, g.quarantined), (3, 2, 1));
    let recs = records(&c);
    let ten = NaiveDate::from_ymd_opt(2025, 3, 5)
        .unwrap()
        .and_hms_opt(10, 0, 0)
        .unwrap();
    let local_ms = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .with_timezone(&chrono_tz::Asia::Shanghai)
            .naive_local()
    };
    let w1 = &recs["grid:W1"].1;
    assert_eq!(local_ms(w1.received_at), ten);
    assert_eq!(w1.compound_id.as_deref(), Some("C1"));
    assert_eq!(w1.satisfaction, "dissatisfied");
    let w2 = &recs["grid:W2"].1;
    assert_eq!(local_ms(w2.received_at), ten);
    assert_eq!(w2.compound_id.as_deref(), Some("C5"));
    assert_eq!(w2.satisfaction, "none");
    assert_eq!(w1.reporter_key, w2.reporter_key);
    let q = quarantine(&s);
    let w3 = q
        .iter()
        .find(|v| v["file"].as_str().unwrap().contains("grid"))
        .unwrap();
    assert_eq!(w3["reason"], "bad_date");
    assert_eq!(w3["fields"]["createTime.$date"], "三月五日");
    assert_eq!(w3["fields"]["user"], "[已脱敏]");
    let mut written = std::fs::read_to_string(s.quarantine_file.as_ref().unwrap()).unwrap();
    for (_, r) in recs.values() {
        written.push_str(&format!("{r:?}\n"));
    }
    for raw in ["张三", "nickName", "13812345678", "oX_abcdefghijklmnop"] {
        assert!(!written.contains(raw), "{raw} written");
    }
}

/// An export saved as tab-separated text: with `delimiter = "\t"` it loads like the CSV
/// (commas in a cell are text, a quoted cell may hold a tab); without it, the error says
/// which delimiter to set.
#[test]
fn a_tab_separated_export_loads_by_config_and_is_named_without_it() {
    let mut c = city();
    let tsv = [
        HOTLINE_HEADER.replace(',', "\t"),
        "H001\t2025-03-05 14:22:10\t13812345678\t建设路12号\t电梯坏了,困人\t电梯问题\t\t办理中\t".into(),
        "H002\t2025-03-06 08:05:00\t13812345678\t阳光花园二期\t\"物业费\t乱收\"\t物业费\t\t已办结\t满意".into(),
        "H003\t2025-03-06 09:00:00\t13812345678\t阳光花园".into(),
    ]
    .join("\r\n");
    write(
        c.dir.path(),
        "exports/hotline/12345_2025-03.csv",
        &gbk(&tsv),
    );
    let s = ingest(&c.cfg, &c.keys, as_of(), false).unwrap();
    let e = file(&s, "12345_2025-03.csv").error.clone().unwrap();
    assert!(e.contains(r#"set `delimiter = "\t"`"#), "{e}");
    source(&mut c, "12345热线").delimiter = '\t';
    let s = run(&c);
    let hot = file(&s, "12345_2025-03.csv");
    assert_eq!((hot.rows, hot.loaded, hot.quarantined), (3, 2, 1));
    let recs = records(&c);
    assert_eq!(recs["hotline:H001"].1.content, "电梯坏了,困人");
    assert_eq!(recs["hotline:H001"].1.compound_id.as_deref(), Some("C1"));
    assert_eq!(recs["hotline:H002"].1.satisfaction, "satisfied");
    assert_eq!(quarantine(&s)[0]["detail"], "4 columns, header has 9");
}

/// An export opened in Excel and saved again: ticket numbers and phone numbers written as
/// `2.02503E+12` and `1.38123E+10`. A ticket number that lost its digits cannot be told from
/// the others shortened alike (loading it would merge different tickets as updates of one):
/// quarantined. A shortened reporter would give every household shortened alike one
/// pseudonym (false repeat callers): the row is loaded without one, and counted.
#[test]
fn numbers_a_spreadsheet_shortened_merge_no_tickets_and_no_households() {
    let c = city();
    let lines = [
        HOTLINE_HEADER,
        // 2, 3: two tickets of the same day, their numbers shortened alike
        "2.02503E+12,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
        "2.02503E+12,2025-03-05 11:00:00,13900000000,阳光花园,停水两天,停水,,办理中,",
        // 4, 5: two households whose phones were shortened alike
        "H401,2025-03-05 12:00:00,1.38123E+10,阳光花园,电梯坏了,电梯故障,,办理中,",
        "H402,2025-03-06 12:00:00,1.38123E+10,建设路12号,物业费乱收,物业费,,办理中,",
        // 6: a reporter written in full
        "H403,2025-03-06 13:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
    ];
    write_march(&c, &lines);
    let s = run(&c);
    let hot = file(&s, "12345_2025-03.csv");
    assert_eq!(
        (hot.rows, hot.loaded, hot.quarantined, hot.duplicates),
        (5, 3, 2, 0)
    );
    assert_eq!(hot.quarantine_reasons["shortened_number"], 2);
    let q: Vec<_> = (quarantine(&s).into_iter())
        .filter(|v| v["file"] == "exports/hotline/12345_2025-03.csv")
        .collect();
    assert_eq!(
        q.iter()
            .map(|v| (v["row"].as_u64().unwrap(), v["field"].as_str().unwrap()))
            .collect::<Vec<_>>(),
        [(2, "source_id"), (3, "source_id")]
    );
    assert!(
        q[0]["detail"].as_str().unwrap().contains("`2.02503E+12`"),
        "{}",
        q[0]["detail"]
    );
    // The shortened reporters are loaded without a pseudonym, counted, the first named.
    assert_eq!(hot.shortened_reporters, 2);
    assert_eq!(hot.shortened_reporter_first.as_deref(), Some("row 4"));
    let recs = records(&c);
    assert_eq!(recs["hotline:H401"].1.reporter_key, None);
    assert_eq!(recs["hotline:H402"].1.reporter_key, None);
    assert_eq!(recs["hotline:H401"].1.compound_id.as_deref(), Some("C1"));
    assert!(recs["hotline:H403"].1.reporter_key.is_some());
    assert!(!recs.keys().any(|id| id.contains("E+")));
    // `validate`'s dry run tells the same before a night runs.
    let previews = weaksignal_pipeline::ingest::preview::preview(&c.cfg, as_of(), 1000).unwrap();
    let hot = &previews[0];
    assert_eq!((hot.rows, hot.loaded, hot.shortened_reporters), (5, 3, 2));
    assert_eq!(hot.quarantined["shortened_number"].0, 2);
}

/// Ticket numbers of sixteen digits from a column a spreadsheet formatted as a number: it
/// keeps fifteen, so consecutive tickets come back as one number ending in 0, and each would
/// replace the last as an "update". The file's long numbers all ending in zeros, and
/// repeating, tell it: those rows are quarantined; a short number of the same file loads.
/// The same numbers as exported load whole. Reporters that are ID numbers rounded alike (a
/// workbook's number cells) are loaded without a pseudonym and counted.
#[test]
fn numbers_a_spreadsheet_rounded_to_fifteen_digits_merge_no_tickets_and_no_households() {
    let lines = |round: bool| {
        let mut lines = vec![HOTLINE_HEADER.to_owned()];
        for i in 0..20u64 {
            let id = 2025030500012345 + i;
            let id = if round { id / 10 * 10 } else { id };
            lines.push(format!(
                "{id},2025-03-05 {:02}:00:00,138123456{i:02},阳光花园,电梯坏了,电梯故障,,办理中,",
                i % 24
            ));
        }
        lines.push("H900,2025-03-06 10:00:00,13812345678,阳光花园,停水两天,停水,,办理中,".into());
        lines
    };
    let exported = city();
    write_march(&exported, &lines(false));
    let hot = run(&exported);
    let hot = file(&hot, "12345_2025-03.csv");
    assert_eq!((hot.rows, hot.loaded, hot.quarantined), (21, 21, 0));

    let c = city();
    write_march(&c, &lines(true));
    // The petitions' reporters are ID numbers in number cells, as a spreadsheet saved them.
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    write_row(
        ws,
        0,
        &["信访编号", "登记日期", "信访人", "反映地址", "反映内容"],
    );
    let reporters = [
        110101199003071000.0,
        320102198512120000.0,
        440301197701010000.0,
    ];
    for row in 1..=4u32 {
        ws.write_string(row, 0, format!("X{row}")).unwrap();
        ws.write_string(row, 1, "2025-03-20").unwrap();
        match reporters.get(row as usize - 1) {
            Some(&id) => ws.write_number(row, 2, id).unwrap(),
            None => ws.write_string(row, 2, "张三").unwrap(),
        };
        ws.write_string(row, 3, "阳光花园").unwrap();
        ws.write_string(row, 4, "电梯长期停运").unwrap();
    }
    wb.save(c.dir.path().join("exports/petition/petitions.xlsx"))
        .unwrap();
    let s = run(&c);
    let hot = file(&s, "12345_2025-03.csv");
    assert_eq!((hot.rows, hot.loaded, hot.quarantined), (21, 1, 20));
    assert_eq!(hot.quarantine_reasons["shortened_number"], 20);
    let q = quarantine(&s);
    let detail = q[0]["detail"].as_str().unwrap();
    assert!(detail.contains("past the fifteenth digit"), "{detail}");
    let recs = records(&c);
    assert!(recs.contains_key("hotline:H900"));
    assert!(!recs.keys().any(|id| id.starts_with("hotline:2025")));
    let pet = file(&s, "petitions.xlsx");
    assert_eq!((pet.rows, pet.loaded, pet.shortened_reporters), (4, 4, 3));
    assert_eq!(pet.shortened_reporter_first.as_deref(), Some("row 2"));
    assert_eq!(recs["petition:X1"].1.reporter_key, None);
    assert!(recs["petition:X4"].1.reporter_key.is_some());
    // `validate`'s dry run tells the same before a night runs.
    let previews = weaksignal_pipeline::ingest::preview::preview(&c.cfg, as_of(), 1000).unwrap();
    assert_eq!((previews[0].rows, previews[0].loaded), (21, 1));
    assert_eq!(previews[0].quarantined["shortened_number"].0, 20);
    assert_eq!(previews[2].shortened_reporters, 3);
}

/// Nineteen-digit ticket numbers a grid platform's mini-program wrote as JSON numbers: held
/// as JavaScript doubles, consecutive tickets come back as one number (the doubles there are
/// 256 apart), each an "update" of the last. The file's long numbers all being doubles'
/// decimals, and repeating, tells it: those rows are quarantined, naming the cause; the
/// same tickets written as strings load whole, and so do numbers below 2^53.
#[test]
fn numbers_a_floating_point_program_rounded_merge_no_tickets() {
    let lines = |id: &dyn Fn(u64) -> String| {
        (0..6u64)
            .map(|i| {
                format!(
                    r#"{{"id":{},"提交时间":"2025-03-1{i} 09:00:00","openid":"oX_{i}","小区":"阳光花园","内容":"电梯又坏了","类别":"电梯故障"}}"#,
                    id(i)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let first = 1645123456789012345u64;
    let grid = |lines: String| {
        let c = city();
        write_grid(&c, lines);
        let s = run(&c);
        let g = file(&s, "grid_2025-03.jsonl").clone();
        (c, s, g)
    };
    // As the mini-program wrote them: numbers, rounded to doubles.
    let (c, s, g) = grid(lines(&|i| ((first + i) as f64).to_string()));
    assert_eq!((g.rows, g.loaded, g.quarantined), (6, 0, 6));
    assert_eq!(g.quarantine_reasons["shortened_number"], 6);
    let q = quarantine(&s);
    let ours = (q.iter()).find(|v| v["reason"] == "shortened_number");
    let detail = ours.unwrap()["detail"].as_str().unwrap();
    // (The number itself is masked there, as a card number would be.)
    assert!(detail.contains("floating-point number"), "{detail}");
    assert!(!records(&c).keys().any(|id| id.starts_with("grid:")));
    // As strings, whole: six tickets.
    let (_, _, g) = grid(lines(&|i| format!("\"{}\"", first + i)));
    assert_eq!((g.rows, g.loaded, g.quarantined), (6, 6, 0));
    // Numbers below 2^53 are exact: six tickets.
    let (_, _, g) = grid(lines(&|i| (2025030500012345 + i).to_string()));
    assert_eq!((g.rows, g.loaded, g.quarantined), (6, 6, 0));
}

/// An export that writes its numbers and times as Excel text formulas (`="2025030500012345"`)
/// or after an apostrophe (`'13812345678`), so that Excel shows them as written, loads them
/// as their text: the same ticket in a plain export is the same record, and the caller the
/// same household.
#[test]
fn cells_written_as_excel_text_formulas_load_as_their_text() {
    let c = city();
    write_march(
        &c,
        &[
            HOTLINE_HEADER,
            r#"="2025030500012345",="2025-03-05 10:00:00",="13812345678",阳光花园,电梯坏了,电梯故障,,办理中,"#,
            r#""=""2025030500012346""","=""2025-03-05 11:00:00""",13812345678,阳光花园,停水两天,停水,,办理中,"#,
            "'2025030500012347,'2025-03-05 12:00:00,'13812345678,阳光花园,停电,停电,,办理中,",
        ],
    );
    let s = run(&c);
    assert_eq!(file(&s, "12345_2025-03.csv").loaded, 3);
    // The plain export of April closes the first ticket.
    let april = [
        HOTLINE_HEADER,
        "2025030500012345,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,2025-03-06 10:00:00,已办结,满意",
    ];
    write_hotline(&c, "2025-04", &april);
    let s = run(&c);
    let a = file(&s, "12345_2025-04.csv");
    assert_eq!((a.rows, a.loaded, a.updated), (1, 1, 1));
    let recs = records(&c);
    let first = &recs["hotline:2025030500012345"].1;
    assert_eq!(first.status, "closed");
    let second = &recs["hotline:2025030500012346"].1;
    assert!(first.reporter_key.is_some());
    assert_eq!(first.reporter_key, second.reporter_key);
    assert_eq!(
        first.reporter_key,
        recs["hotline:2025030500012347"].1.reporter_key
    );
    assert!(!recs.keys().any(|id| id.contains(['=', '\''])));
}

/// A year mistyped by a thousand and an Excel date cell left at its zero (serial 1, the last
/// day of 1899) would load into partitions of centuries ago, lost from the weeks they belong
/// to: quarantined as `past_date`, with the configured bound.
#[test]
fn a_record_received_before_the_earliest_date_is_quarantined() {
    let mut c = city();
    let lines = [
        HOTLINE_HEADER,
        "H600,1025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
        "H601,1,13812345678,阳光花园,停水两天,停水,,办理中,",
        "H602,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
    ];
    write_march(&c, &lines);
    let s = run(&c);
    let hot = file(&s, "12345_2025-03.csv");
    assert_eq!((hot.rows, hot.loaded, hot.quarantined), (3, 1, 2));
    assert_eq!(hot.quarantine_reasons["past_date"], 2);
    let q = quarantine(&s);
    let past: Vec<_> = q.iter().filter(|v| v["reason"] == "past_date").collect();
    assert_eq!(past.len(), 2);
    assert_eq!(past[0]["field"], "received_at");
    assert_eq!(
        past[0]["detail"],
        "received before 2000-01-01 (ingest.earliest)"
    );
    let months = weaksignal_pipeline::lake::months(&c.dir.path().join("lake"), Channel::Hotline);
    assert_eq!(months, ["2025-03"]);
    // The bound is the config's: a district loading older records moves it.
    c.cfg.ingest.earliest = chrono::NaiveDate::from_ymd_opt(1000, 1, 1).unwrap();
    let s = run(&c);
    assert_eq!(file(&s, "12345_2025-03.csv").quarantined, 0);
}

/// A file read again because its reading changed (here a later `ingest.earliest`) quarantines
/// a row it loaded before as a bad record: the record made from it leaves the lake. A row the
/// new reading cannot map (a status dropped from the value map, as a config mistake would)
/// keeps its record. A record from the same row number of another export stays, and a later
/// run changes nothing.
#[test]
fn records_of_rows_a_file_read_again_now_quarantines_leave_the_lake() {
    let mut c = city();
    write_march(
        &c,
        &[
            HOTLINE_HEADER,
            "H700,2019-12-30 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
            "H701,2025-03-05 10:00:00,13812345678,阳光花园,停水两天,停水,,办理中,",
        ],
    );
    let february = [
        HOTLINE_HEADER,
        "H702,2025-02-10 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
    ];
    write_hotline(&c, "2025-02", &february);
    run(&c);
    let ids = |c: &City| {
        records(c)
            .into_keys()
            .filter(|id| id.starts_with("hotline:H7"))
    };
    assert_eq!(
        ids(&c).collect::<Vec<_>>(),
        ["hotline:H700", "hotline:H701", "hotline:H702"]
    );
    c.cfg.ingest.earliest = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let status = &mut source(&mut c, "12345热线").values;
    status.get_mut("status").unwrap().remove("办理中");
    let s = run(&c);
    let march = file(&s, "12345_2025-03.csv");
    assert!(march.read_again.is_some());
    assert_eq!((march.rows, march.quarantined), (2, 2));
    assert_eq!(march.quarantine_reasons["past_date"], 1);
    assert_eq!(march.changed, 1);
    assert_eq!(s.withdrawn_quarantined, 1);
    let february = file(&s, "12345_2025-02.csv");
    assert_eq!((february.quarantined, february.changed), (1, 0));
    assert_eq!(
        ids(&c).collect::<Vec<_>>(),
        ["hotline:H701", "hotline:H702"]
    );
    assert!(
        !weaksignal_pipeline::lake::months(&c.dir.path().join("lake"), Channel::Hotline)
            .iter()
            .any(|m| m.starts_with("2019"))
    );
    let s = run(&c);
    assert_eq!(s.withdrawn_quarantined, 0);
    assert_eq!(ids(&c).count(), 2);
}

/// Two exports of the hotline named alike in two folders (`2024/03.csv`, `2025/03.csv`):
/// records name their export by file name only, so the record to take out when a row of one
/// is quarantined on reading again is found by its id too, and the other's record from the
/// same row number stays.
#[test]
fn a_record_taken_out_on_reading_again_is_told_from_a_namesakes_by_its_id() {
    let mut c = city();
    source(&mut c, "12345热线").path = "exports/hotline/**/*.csv".into();
    let export = |dir: &str, line: &str| {
        let text = [HOTLINE_HEADER, line].join("\n");
        write(
            c.dir.path(),
            &format!("exports/hotline/{dir}/03.csv"),
            &gbk(&text),
        );
    };
    export(
        "2024",
        "H800,2024-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
    );
    export(
        "2025",
        "H801,2019-03-05 10:00:00,13812345678,阳光花园,停水两天,停水,,办理中,",
    );
    run(&c);
    let recs = records(&c);
    let origin = |id: &str| {
        let r = &recs[id].1;
        (r.source_file.clone(), r.source_row)
    };
    assert_eq!(origin("hotline:H800"), origin("hotline:H801"));
    c.cfg.ingest.earliest = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap();
    let s = run(&c);
    assert_eq!(s.withdrawn_quarantined, 1);
    let recs = records(&c);
    assert!(recs.contains_key("hotline:H800"));
    assert!(!recs.contains_key("hotline:H801"));
}

/// A year mistyped within `ingest.earliest` (2015 for 2025) loads the record into a month no
/// recent week reads: the file's summary says so, learned from the file's own months.
#[test]
fn a_record_received_far_from_the_rest_of_its_file_is_named() {
    let c = city();
    let mut lines = vec![HOTLINE_HEADER.to_owned()];
    for day in 1..=5 {
        lines.push(format!(
            "H90{day},2025-03-0{day} 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,"
        ));
    }
    lines.insert(
        3,
        "H900,2015-03-05 10:00:00,13812345678,阳光花园,停水两天,停水,,办理中,".into(),
    );
    write_march(&c, &lines);
    let s = run(&c);
    let hot = file(&s, "12345_2025-03.csv");
    assert_eq!((hot.loaded, hot.far_dates), (6, 1));
    assert_eq!(
        hot.far_date_first.as_deref(),
        Some("row 4 (2015-03; most of the file's records are 2025-03)")
    );
    // The other files' records are all near each other.
    assert_eq!(file(&s, "grid_2025-03.jsonl").far_dates, 0);
    // `validate`'s dry run tells the same before a night runs.
    let previews = weaksignal_pipeline::ingest::preview::preview(&c.cfg, as_of(), 1000).unwrap();
    assert_eq!(previews[0].far_dates, 1);
    assert_eq!(previews[0].far_date_first, hot.far_date_first);
    assert_eq!(previews[1].far_dates, 0);
}

/// A ticket closed before it was received (a mistyped time or year, or closed before it
/// was logged) loads as exported and is counted and named; a minute's skew between the
/// phone and ticket systems is not.
#[test]
fn tickets_closed_before_they_were_received_are_named() {
    let c = city();
    let lines = [
        HOTLINE_HEADER,
        "H950,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,2025-03-06 09:00:00,已办结,满意",
        // Closed at minute resolution, seconds before the receipt's.
        "H951,2025-03-05 10:00:40,13812345678,阳光花园,电梯坏了,电梯故障,2025/3/5 10:00,已办结,满意",
        "H952,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,2025-03-02 09:00:00,已办结,满意",
        // A year slip at New Year: closed in 2024 for 2025.
        "H953,2025-01-03 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,2024-01-04 16:00:00,已办结,满意",
        "H954,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,2025-03-05 06:00:00,已办结,满意",
    ];
    write_march(&c, &lines);
    let s = run(&c);
    let hot = file(&s, "12345_2025-03.csv");
    assert_eq!((hot.loaded, hot.out_of_order), (5, 3));
    assert_eq!(
        hot.out_of_order_first.as_deref(),
        Some("row 4 (closed_at 3 days before received_at)")
    );
    // Loaded as exported: which of the two times is wrong the row does not say.
    let recs = records(&c);
    let closed = |id: &str| recs[id].1.closed_at.zip(Some(recs[id].1.received_at));
    let (closed_at, received_at) = closed("hotline:H952").unwrap();
    assert_eq!(received_at - closed_at, (3 * 24 + 1) * 3_600_000);
    assert_eq!(file(&s, "grid_2025-03.jsonl").out_of_order, 0);
    let previews = weaksignal_pipeline::ingest::preview::preview(&c.cfg, as_of(), 1000).unwrap();
    assert_eq!(previews[0].out_of_order, 3);
    assert_eq!(previews[0].out_of_order_first, hot.out_of_order_first);
}

/// A ticket dispatched a year after it was received, to two days, had its receipt's year
/// mistyped (at New Year, `2024` for `2025`): counted like a time out of order; a dispatch
/// hours or weeks late is not.
#[test]
fn a_receipt_a_year_before_its_dispatch_is_named() {
    let mut c = city();
    let hotline = (c.cfg.sources.iter_mut())
        .find(|s| s.channel == Channel::Hotline)
        .unwrap();
    hotline
        .columns
        .insert("dispatched_at".into(), vec!["派单时间".into()]);
    let lines = [
        "工单编号,来电时间,派单时间,来电号码,诉求地址,诉求内容,诉求分类,办结时间,办理状态,回访满意度",
        "H960,2025-03-05 10:00:00,2025-03-05 11:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
        "H961,2024-03-04 09:00:00,2025-03-05 11:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
        "H962,2025-02-01 10:00:00,2025-03-05 11:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
    ];
    write_march(&c, &lines);
    let s = run(&c);
    let hot = file(&s, "12345_2025-03.csv");
    assert_eq!((hot.loaded, hot.out_of_order), (3, 1));
    assert_eq!(
        hot.out_of_order_first.as_deref(),
        Some("row 3 (dispatched_at 366 days after received_at)")
    );
}

/// A status the config's map lacks, a datetime layout no format reads: the problems one
/// config change fixes for many rows are listed with their row counts and first row; a
/// problem of one row is not.
#[test]
fn the_quarantines_frequent_problems_are_listed_with_their_first_row() {
    let c = city();
    let mut lines = vec![HOTLINE_HEADER.to_owned()];
    for i in 0..3 {
        lines.push(format!(
            "H10{i},2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,已回访,"
        ));
    }
    for i in 0..2 {
        lines.push(format!(
            "H20{i},2025.03.05,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,"
        ));
    }
    lines.push("H300,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯故障,,待定,".into());
    write_march(&c, &lines);
    let s = run(&c);
    let hot: Vec<_> = (s.frequent_problems.iter())
        .filter(|p| p.source == "12345热线")
        .map(|p| {
            (
                p.rows,
                p.reason.as_str(),
                p.detail.as_str(),
                p.first.as_str(),
            )
        })
        .collect();
    assert_eq!(
        hot,
        [
            (
                3,
                "unknown_value",
                "value `已回访` is not in values.status",
                "exports/hotline/12345_2025-03.csv row 2"
            ),
            (
                2,
                "bad_date",
                "cannot parse `2025.03.05`",
                "exports/hotline/12345_2025-03.csv row 5"
            ),
        ]
    );
}

/// A platform that exports one JSON array (pretty-printed, with a byte-order mark) instead of
/// JSON Lines: `format = "json"` reads its elements as rows numbered from 1, an element that
/// is not an object quarantined like a bad line.
#[test]
fn a_json_array_export_loads_element_by_element() {
    let mut c = city();
    let grid = source(&mut c, "网格投诉");
    grid.format = format_named("json");
    let array = "\u{feff}[\n  {\"id\": \"G1\", \"提交时间\": \"2025-03-10 09:00:00\", \"openid\": \"oX_abcdefghijklmnop\",\n   \"小区\": \"阳光花园\", \"内容\": \"电梯又坏了\", \"类别\": \"电梯故障\", \"评分\": 2},\n  42,\n  {\"id\": \"G2\", \"提交时间\": \"2025-03-11 09:00:00\", \"openid\": \"oX_abcdefghijklmnop\",\n   \"小区\": \"锦绣\", \"内容\": \"物业费太贵\", \"评分\": 5}\n]\n";
    write_grid(&c, array);
    let s = run(&c);
    let g = file(&s, "grid_2025-03.jsonl");
    assert_eq!((g.rows, g.loaded, g.quarantined), (3, 2, 1));
    let q = quarantine(&s);
    let bad = q
        .iter()
        .find(|v| v["file"].as_str().unwrap().contains("grid"))
        .unwrap();
    assert_eq!(
        (bad["row"].as_u64(), bad["reason"].as_str()),
        (Some(2), Some("malformed"))
    );
    let recs = records(&c);
    assert_eq!(recs["grid:G1"].1.compound_id.as_deref(), Some("C1"));
    assert_eq!(recs["grid:G2"].1.satisfaction, "satisfied");
    // Not an array after all: an error naming the file.
    write_grid(&c, b"[{\"id\": 1},");
    let s = ingest(&c.cfg, &c.keys, as_of(), false).unwrap();
    let e = file(&s, "grid_2025-03.jsonl").error.clone().unwrap();
    assert!(
        e.contains("grid_2025-03.jsonl") && e.contains("not a JSON array"),
        "{e}"
    );
}

/// An old-style workbook (`.xls`, written by xlwt into `tests/fixtures/petitions.xls`) with
/// `format = "xls"`: read like XLSX.
#[test]
fn an_old_style_xls_workbook_loads() {
    let mut c = city();
    let reg = source(&mut c, "信访登记");
    reg.path = "exports/petition/*.xls".into();
    reg.format = format_named("xls");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/petitions.xls");
    write(
        c.dir.path(),
        "exports/petition/登记.xls",
        &std::fs::read(fixture).unwrap(),
    );
    let s = run(&c);
    let p = file(&s, "登记.xls");
    assert_eq!((p.rows, p.loaded), (2, 2));
    let recs = records(&c);
    let x2 = &recs["petition:X2"].1;
    assert_eq!((x2.participants, x2.is_collective), (Some(30), true));
    assert_eq!(x2.petition_level.as_deref(), Some("city"));
    assert_eq!(x2.compound_id.as_deref(), Some("C5"));
}

/// An export's own category names: those the taxonomy lacks are listed with their rows (two
/// or more), aliases known are not, and long text in the category column is no category.
#[test]
fn category_labels_the_taxonomy_lacks_are_listed() {
    let c = city();
    let mut lines = vec![HOTLINE_HEADER.to_owned()];
    let labels = [
        "电梯维修保养",
        "电梯维修保养",
        "电梯维修保养",
        "电梯问题",
        "停水",
        "奇怪分类",
        "电梯坏了很久没有人来修请尽快处理谢谢物业一直推脱不管",
        "电梯坏了很久没有人来修请尽快处理谢谢物业一直推脱不管",
        // A reporter's name typed into the category column.
        "王建国",
        "王建国",
    ];
    for (i, l) in labels.iter().enumerate() {
        lines.push(format!(
            "H{i:03},2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,{l},,办理中,"
        ));
    }
    // A quarantined row (its date) with a name in the category column.
    lines.push("H100,三月五日,13812345678,阳光花园,电梯坏了,李秀英,,办理中,".into());
    write_march(&c, &lines);
    let s = run(&c);
    let listed: Vec<(&str, u64)> = (s.unknown_categories.iter())
        .map(|u| (u.label.as_str(), u.rows))
        .collect();
    assert_eq!(listed, [("电梯维修保养", 3), ("[姓名]", 2)]);
    assert_eq!(records(&c)["hotline:H000"].1.category_source, "none");
    // The summary is what the run's manifest stores.
    assert!(!serde_json::to_string(&s).unwrap().contains("王建国"));
    let q = quarantine(&s);
    let h100 = q
        .iter()
        .find(|v| v["fields"]["工单编号"] == "H100")
        .unwrap();
    assert_eq!(h100["fields"]["诉求分类"], "[姓名]");
    assert_eq!(h100["fields"]["诉求内容"], "电梯坏了");
}

/// `validate`'s dry run: each source's newest file mapped as the ingest would, what would
/// load and be quarantined (by reason, with the first detail), and nothing written.
#[test]
fn a_dry_run_counts_what_each_source_would_load_and_writes_nothing() {
    let mut c = city();
    // A second, newer hotline file: the one previewed, with a category of its own.
    let april = hotline_march()
        + "H400,2025-03-05 10:00:00,13812345678,阳光花园,电梯坏了,电梯维修保养,,办理中,\r\n";
    write(
        c.dir.path(),
        "exports/hotline/12345_2025-04.csv",
        &gbk(&april),
    );
    let previews = weaksignal_pipeline::ingest::preview::preview(&c.cfg, as_of(), 1000).unwrap();
    let hot = &previews[0];
    assert!(hot.file.ends_with("12345_2025-04.csv"), "{}", hot.file);
    // Thirteen rows: six load (the duplicate too: a dry run keeps no lake), seven are
    // quarantined, one for each reason.
    assert_eq!((hot.rows, hot.loaded, hot.quarantined_rows()), (13, 6, 7));
    assert_eq!(
        hot.unknown_categories.iter().collect::<Vec<_>>(),
        [(&"电梯维修保养".to_owned(), &1)]
    );
    assert_eq!(
        hot.quarantined["bad_date"],
        (1, "cannot parse `三月五日`".to_owned())
    );
    assert_eq!(hot.quarantined.len(), 7);
    assert!(hot.error.is_none());
    assert!(
        !c.dir.path().join("lake").exists(),
        "a dry run writes no lake"
    );
    // A layout the config cannot map is the source's error, naming the file.
    source(&mut c, "网格投诉")
        .columns
        .insert("received_at".into(), vec!["时间".into()]);
    let previews = weaksignal_pipeline::ingest::preview::preview(&c.cfg, as_of(), 1000).unwrap();
    let e = previews[1].error.as_deref().unwrap();
    assert!(
        e.contains("grid_2025-03.jsonl") && e.contains("received_at"),
        "{e}"
    );
}

#[test]
fn exports_already_loaded_are_read_again_when_what_their_records_depend_on_changes() {
    let mut c = city();
    let d = c.dir.path().to_owned();
    // An address no compound has, a label the taxonomy lacks, and a ticket whose later
    // export (closed) will be removed from the exports folder.
    let april = [
        HOTLINE_HEADER,
        "H021,2025-03-20 10:00:00,13511112222,金色家园5号楼,垃圾三天没人收,垃圾清运,,办理中,",
        "H023,2025-03-21 10:00:00,13511113333,阳光花园3栋,电梯坏了,电梯故障,,办理中,",
    ]
    .join("\n")
        + "\n";
    write(&d, "exports/hotline/12345_2025-04.csv", april.as_bytes());
    let may = [
        HOTLINE_HEADER,
        "H023,2025-03-21 10:00:00,13511113333,阳光花园3栋,电梯坏了,电梯故障,2025-03-25 10:00:00,已办结,满意",
    ]
    .join("\n")
        + "\n";
    write(&d, "exports/hotline/12345_2025-05.csv", may.as_bytes());
    run(&c);
    let before = records(&c);
    let h21 = &before["hotline:H021"].1;
    assert_eq!(
        (h21.compound_id.as_deref(), h21.category_l2.as_deref()),
        (None, None)
    );
    assert_eq!(before["hotline:H023"].1.status.as_str(), "closed");
    assert!(
        !before.contains_key("hotline:H009"),
        "已归档 is not mapped yet"
    );

    // The analyst adds the alias and the label, and maps the status; the later export of
    // H023 has been archived away.
    std::fs::remove_file(d.join("exports/hotline/12345_2025-05.csv")).unwrap();
    write(
        &d,
        "compounds.csv",
        COMPOUNDS
            .replace(",锦绣,西湖街道", ",锦绣|金色家园,西湖街道")
            .as_bytes(),
    );
    write(
        &d,
        "taxonomy.csv",
        format!("{TAXONOMY}环境卫生,垃圾清运,\n").as_bytes(),
    );
    let status = c.cfg.sources[0].values.get_mut("status").unwrap();
    status.insert("已归档".into(), "closed".into());
    // `validate` tells before the ingest: every file still in the folder, and why.
    let told = weaksignal_pipeline::ingest::files_read_again(&c.cfg, &c.keys).unwrap();
    assert_eq!(
        told.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(),
        [
            "exports/hotline/12345_2025-03.csv",
            "exports/hotline/12345_2025-04.csv",
            "exports/grid/grid_2025-03.jsonl",
            "exports/petition/petitions.xlsx"
        ]
    );
    let s = run(&c);
    let after = records(&c);
    let h21 = &after["hotline:H021"].1;
    assert_eq!(
        (h21.compound_id.as_deref(), h21.category_l2.as_deref()),
        (Some("C5"), Some("垃圾清运"))
    );
    assert_eq!(after["hotline:H009"].1.status.as_str(), "closed");
    // The lake keeps the archived export's later version of H023, not the re-read one.
    assert_eq!(
        s.kept_earlier_reading,
        BTreeMap::from([("hotline".to_owned(), 1)]),
        "H023, whose export is gone"
    );
    let h23 = &after["hotline:H023"].1;
    assert_eq!(
        (h23.status.as_str(), h23.source_file.as_str()),
        ("closed", "12345_2025-05.csv")
    );
    let march = file(&s, "12345_2025-03.csv");
    assert_eq!(
        march.read_again.as_deref(),
        Some(
            "the compound registry, the taxonomy, the source's mapping or the ingest settings \
             changed"
        )
    );
    // The grid and petition sources' mappings did not change.
    let grid = file(&s, "grid_2025-03.jsonl");
    assert_eq!(
        grid.read_again.as_deref(),
        Some("the compound registry, the taxonomy changed")
    );
    // `changed` counts exactly the records that differ from the lake before.
    let differ = (after.iter())
        .filter(|(id, (_, r))| {
            before
                .get(*id)
                .is_none_or(|(_, b)| b.content_hash() != r.content_hash())
        })
        .count() as u64;
    assert!(differ >= 2, "H021 and H009 at least");
    assert_eq!(s.files.iter().map(|f| f.changed).sum::<u64>(), differ);
    assert_eq!(file(&s, "12345_2025-04.csv").changed, 1, "H021; H023 kept");

    // Nothing changed since: skipped. A state from before readings were recorded (no
    // `readings`) has its files read again once, to the same records.
    assert!(run(&c).files.iter().all(|f| f.skipped_unchanged));
    let state = d.join("lake/_state/files.json");
    let mut st: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    st.as_object_mut().unwrap().remove("readings");
    std::fs::write(&state, serde_json::to_vec(&st).unwrap()).unwrap();
    let s = run(&c);
    assert!(s.files.iter().all(|f| {
        f.read_again.as_deref() == Some("an earlier version of weaksignal loaded it")
            && f.changed == 0
    }));
    assert_eq!(records(&c), after);
    assert!(run(&c).files.iter().all(|f| f.skipped_unchanged));

    // A new key re-keys every reporter: the lake never mixes two keys' pseudonyms.
    let keys = Pseudonymizer::new(b"a-rotated-key-0123456789abcdefgh").unwrap();
    let s = ingest(&c.cfg, &keys, as_of(), false).unwrap();
    assert!(s
        .files
        .iter()
        .all(|f| f.read_again.as_deref() == Some("the pseudonym key changed")));
    assert_eq!(s.kept_earlier_reading.values().sum::<u64>(), 1);
    let rekeyed = records(&c);
    assert_eq!(
        rekeyed["hotline:H021"].1.reporter_key.as_deref(),
        keys.key("13511112222").as_deref()
    );
    let old_keys: std::collections::HashSet<_> = (before.values())
        .filter_map(|(_, r)| r.reporter_key.clone())
        .collect();
    // Every record whose export was read again: all but H023's archived version.
    let stale: Vec<&str> = (rekeyed.values())
        .filter(|(_, r)| {
            r.reporter_key
                .as_ref()
                .is_some_and(|k| old_keys.contains(k))
        })
        .map(|(_, r)| r.record_id.as_str())
        .collect();
    assert_eq!(stale, ["hotline:H023"]);
}

/// A later export that moves a ticket into another month (its time corrected across the
/// month's end), in a later run or the same one, and a datetime format corrected so that a
/// file read again puts its tickets in other months: the lake holds each record id once,
/// the latest version, and every row is accounted for.
#[test]
fn a_ticket_whose_time_moves_to_another_month_is_held_once() {
    // The hotline's records: id, status, time.
    let ids = |c: &City| {
        let all = weaksignal_pipeline::lake::read_all(&c.dir.path().join("lake")).unwrap();
        let mut ids: Vec<(String, String, i64)> = (all.iter())
            .filter(|(ch, _)| *ch == Channel::Hotline)
            .map(|(_, r)| (r.record_id.to_string(), r.status.to_string(), r.received_at))
            .collect();
        ids.sort();
        ids
    };
    let feb = [
        HOTLINE_HEADER,
        "H900,2025-02-28 23:59:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
        "H901,2025-02-27 10:00:00,13812345678,阳光花园,漏水,电梯故障,,办理中,",
    ]
    .join("\n");
    let mar = [
        HOTLINE_HEADER,
        "H900,2025-03-01 00:01:00,13812345678,阳光花园,电梯坏了,电梯故障,2025-03-02 10:00:00,已办结,满意",
    ]
    .join("\n");
    // In a later run, and in the same run.
    for same_run in [false, true] {
        let c = city();
        let d = c.dir.path();
        std::fs::remove_file(d.join("exports/hotline/12345_2025-03.csv")).unwrap();
        write(d, "exports/hotline/12345_2025-02.csv", &gbk(&feb));
        if !same_run {
            run(&c);
        }
        write(d, "exports/hotline/12345_2025-03b.csv", &gbk(&mar));
        let s = run(&c);
        let hot = ids(&c);
        assert_eq!(hot.len(), 2, "{same_run}: {hot:?}");
        assert_eq!(hot[0].0, "hotline:H900");
        assert_eq!(hot[0].1, "closed", "the later version");
        assert_eq!(file(&s, "12345_2025-03b.csv").updated, 1);
        // In one run, the earlier version never reached the lake.
        assert_eq!(s.moved_month, u64::from(!same_run));
        // Nothing left to move: a third run changes nothing.
        let again = run(&c);
        assert_eq!(again.moved_month, 0);
        assert!(!d.join("lake/_state/settling").exists());
        if same_run {
            continue;
        }
        // A run cut short after its merges, before the clean-up and the state: February's
        // partition and the state as they were, the marker left. The next run reads the
        // March export again, finds its ticket identical, and completes the clean-up.
        let lake = d.join("lake");
        let feb_part = lake.join("records/channel=hotline/month=2025-02/part-0.parquet");
        let state = lake.join("_state/files.json");
        let (feb_now, state_now) = (
            std::fs::read(&feb_part).unwrap(),
            std::fs::read(&state).unwrap(),
        );
        let c2 = city();
        let d2 = c2.dir.path();
        std::fs::remove_file(d2.join("exports/hotline/12345_2025-03.csv")).unwrap();
        write(d2, "exports/hotline/12345_2025-02.csv", &gbk(&feb));
        run(&c2);
        std::fs::copy(
            d2.join("lake/records/channel=hotline/month=2025-02/part-0.parquet"),
            &feb_part,
        )
        .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&state_now).unwrap();
        let mut cut: serde_json::Value = json.clone();
        for k in ["files", "readings"] {
            let m = cut[k].as_object_mut().unwrap();
            m.retain(|f, _| !f.ends_with("12345_2025-03b.csv"));
        }
        std::fs::write(&state, serde_json::to_vec(&cut).unwrap()).unwrap();
        std::fs::write(lake.join("_state/settling"), "\n").unwrap();
        assert_eq!(ids(&c).len(), 3, "the cut-short lake holds H900 twice");
        assert!(weaksignal_pipeline::ingest::cut_short(&c.cfg));
        run(&c);
        assert!(!weaksignal_pipeline::ingest::cut_short(&c.cfg));
        let hot = ids(&c);
        assert_eq!(hot.len(), 2, "{hot:?}");
        assert_eq!(hot[0].1, "closed");
        assert_eq!(std::fs::read(&feb_part).unwrap(), feb_now);
        assert!(!lake.join("_state/settling").exists());
    }
    // Day and month read the wrong way round, then corrected: read again, every ticket
    // moves to its true month, and is held once.
    let mut c = city();
    let d = c.dir.path().to_owned();
    std::fs::remove_file(d.join("exports/hotline/12345_2025-03.csv")).unwrap();
    let swapped = [
        HOTLINE_HEADER,
        "H910,03/02/2025 10:00,13812345678,阳光花园,电梯坏了,电梯故障,,办理中,",
        "H911,01/03/2025 10:00,13812345678,阳光花园,漏水,电梯故障,,办理中,",
        "H912,02/01/2025 10:00,13812345678,阳光花园,停水,停水,,办理中,",
    ]
    .join("\n");
    write(&d, "exports/hotline/12345_2025-q1.csv", &gbk(&swapped));
    source(&mut c, "12345热线").datetime_formats = vec!["%m/%d/%Y %H:%M".into()];
    run(&c);
    let before = ids(&c);
    source(&mut c, "12345热线").datetime_formats = vec!["%d/%m/%Y %H:%M".into()];
    let s = run(&c);
    let after = ids(&c);
    assert_eq!(after.len(), 3, "{after:?}");
    let months: Vec<String> = (after.iter())
        .map(|(_, _, t)| weaksignal_pipeline::ingest::month_of(*t))
        .collect();
    assert_eq!(months, ["2025-02", "2025-03", "2025-01"]);
    assert_eq!(s.moved_month, 3, "{before:?}");
}
