//! Masking the lake's texts again when the masking grows.
//!
//! A file read again with a newer reading masks its rows' texts as the code now does, but a
//! record whose export is no longer in the sources' folders keeps the text it was loaded
//! with. When the masking learns something new (personal names, since session 30), every
//! text in the lake — the records' content and address, and the quarantined rows' cells and
//! details of earlier runs — is masked once more, so no earlier text keeps what the product
//! now hides. What needs the row (a reporter's own name) cannot be redone without its export;
//! what the text itself shows (a name after a cue, a number) is.

use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, StringArray};
use arrow::record_batch::RecordBatch;

use crate::config::{Channel, LakeCompression};
use crate::error::IoContext;
use crate::lake;
use crate::names::Names;
use crate::Result;

/// Raised when the masking of free text grows: a lake whose texts were last masked with
/// an earlier code has them masked again, once. 1: personal names (see [`crate::names`]),
/// e-mail addresses and QQ and WeChat ids; 2: names before a verb of reporting and names
/// listed beside a name; 3: names after a post (`社区书记`, `物业管家`, `院长`) and names
/// ending before a word of the dictionary (`业主李秀英多次投诉`) or signing a text
/// (`…请尽快维修。李明`); 4: names after a trade (`保洁员`, `维修工`, `门卫`, `房东`) and
/// names ending before an adverb or `家` (`房东王建国不退押金`, `邻居张丽华家漏水`); 5: names
/// after a role (or listed after such a name), or before a verb after a post, that jieba's
/// segmenter cuts (`店主刘建军占道经营`, `业主王建国和赵小红乱倒垃圾`, `研究员黄健豪表示`);
/// 6: names after a role that end before a term of the district's taxonomy
/// (`邻居王秀英私搭乱建`), given names that start with `家` (`张家豪`) and given names of
/// characters that are also words of time, number or grammar where the text vouches for a
/// name (`联系人：王子涵`, `信访人刘天宇反映`); 7: after a role, a name's length chosen by
/// how many names end with its last character (`物业经理王丽拒不维修`), names the segmenter
/// cuts as a surname and a given name (`邻居王秀英乱倒垃圾`), names of three characters
/// before a rare word or where nothing ends them (`保洁员陈家豪乱倒垃圾`,
/// `房东王欣怡拒退押金`), names listed after a name as after a role (`王建国和高立新`),
/// names before `多次`, `再次`, `一直`, names after seven more trades (`物业员工`, `外卖员`)
/// and after `工作人员` before a verb of reporting, and a surname that starts common words
/// with one given character before a word (`维修工许超态度恶劣`); 8: mobile numbers with dots
/// between their groups (`138.1234.5678`) and numbers of eleven digits or more with at
/// least three written as Chinese numerals (`一三八一二三四五六七八`, a number typed as heard).
const MASKING_CODE: u32 = 8;

/// How texts are masked now: [`MASKING_CODE`], the district's own name cues
/// (`ingest.name_cues`) and a fingerprint of its taxonomy's terms (a name ends before one:
/// [`Names::with_terms`]). A lake whose texts were masked otherwise has them masked again.
pub(super) fn masking<'t>(
    name_cues: &[String],
    terms: impl IntoIterator<Item = &'t str>,
) -> String {
    let mut m = MASKING_CODE.to_string();
    if !name_cues.is_empty() {
        m = format!("{m}+{}", name_cues.join("|"));
    }
    let terms: std::collections::BTreeSet<&str> = terms.into_iter().collect();
    if !terms.is_empty() {
        let joined = terms.into_iter().collect::<Vec<_>>().join("|");
        m = format!(
            "{m}+terms {}",
            &blake3::hash(joined.as_bytes()).to_hex()[..8]
        );
    }
    m
}

/// What masking the lake again changed.
#[derive(Debug, Default)]
pub(super) struct Remasked {
    /// Records whose content or address changed.
    pub records: u64,
    /// Quarantined rows of earlier runs whose cells or detail changed.
    pub quarantined: u64,
    /// Partitions rewritten.
    pub written: Vec<String>,
}

/// Masks every text of the lake again: records' content and address, and the quarantine
/// files' cells and details. A partition or file is rewritten only when a text changed.
pub(super) fn remask(
    lake_dir: &Path,
    compression: LakeCompression,
    names: &Names,
) -> Result<Remasked> {
    let mut out = Remasked::default();
    for channel in Channel::ALL {
        for month in lake::months(lake_dir, channel) {
            let batches = lake::read_partition_batches(lake_dir, channel, &month)?;
            let mut changed = 0;
            let batches = (batches.iter())
                .map(|b| remasked_batch(b, names, &mut changed))
                .collect::<Result<Vec<_>>>()?;
            if changed == 0 {
                continue;
            }
            let p = lake::write_partition(lake_dir, channel, &month, &batches, compression)?;
            out.records += changed;
            out.written.push(p.to_string_lossy().into_owned());
        }
    }
    let qdir = lake_dir.join("quarantine");
    if qdir.is_dir() {
        let mut files: Vec<_> = (std::fs::read_dir(&qdir).at(&qdir)?)
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
            .collect();
        files.sort();
        for p in files {
            let n = remask_quarantine_file(&p, names)?;
            out.quarantined += n;
        }
    }
    Ok(out)
}

/// `b` with its content and address masked again; `changed` counts the rows whose text
/// changed.
fn remasked_batch(b: &RecordBatch, names: &Names, changed: &mut u64) -> Result<RecordBatch> {
    let mut columns: Vec<ArrayRef> = b.columns().to_vec();
    let mut row_changed = vec![false; b.num_rows()];
    for name in ["content", "address"] {
        let Some((i, _)) = b.schema().column_with_name(name) else {
            continue;
        };
        let Some(texts) = columns[i].as_any().downcast_ref::<StringArray>() else {
            continue;
        };
        let mut any = false;
        let new: StringArray = (0..texts.len())
            .map(|r| {
                if texts.is_null(r) {
                    return None;
                }
                let t = texts.value(r);
                Some(match names.mask_text(Cow::Borrowed(t)) {
                    Cow::Borrowed(t) => t.to_owned(),
                    Cow::Owned(m) if m == t => m,
                    Cow::Owned(m) => {
                        any = true;
                        row_changed[r] = true;
                        m
                    }
                })
            })
            .collect();
        if any {
            columns[i] = Arc::new(new);
        }
    }
    *changed += row_changed.iter().filter(|&&c| c).count() as u64;
    Ok(RecordBatch::try_new(b.schema(), columns)?)
}

/// Masks a quarantine file's cells and details again; the rows that changed. Lines that are
/// not JSON objects are kept as they are.
fn remask_quarantine_file(path: &Path, names: &Names) -> Result<u64> {
    let text = std::fs::read_to_string(path).at(path)?;
    let mut changed = 0;
    let mut lines = Vec::new();
    for line in text.lines() {
        let Ok(serde_json::Value::Object(mut row)) = serde_json::from_str(line) else {
            lines.push(line.to_owned());
            continue;
        };
        let mut any = false;
        let mut mask = |v: &mut serde_json::Value| {
            if let serde_json::Value::String(s) = v {
                let m = names.mask_text(s.as_str().into()).into_owned();
                if &m != s {
                    *s = m;
                    any = true;
                }
            }
        };
        if let Some(d) = row.get_mut("detail") {
            mask(d);
        }
        if let Some(serde_json::Value::Object(fields)) = row.get_mut("fields") {
            fields.values_mut().for_each(&mut mask);
        }
        if any {
            changed += 1;
            lines.push(serde_json::to_string(&row)?);
        } else {
            lines.push(line.to_owned());
        }
    }
    if changed > 0 {
        lake::write_atomic(path, |f| {
            use std::io::Write;
            let mut w = std::io::BufWriter::new(f);
            for l in &lines {
                writeln!(w, "{l}").at(path)?;
            }
            w.flush().at(path)?;
            Ok(())
        })?;
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{to_batch, Record};

    /// A lake loaded before names were masked: a record's name after a cue is masked, the
    /// others stay byte for byte; a quarantine file's cells alike.
    #[test]
    fn texts_loaded_earlier_are_masked_again_once() {
        let dir = tempfile::tempdir().unwrap();
        let lake_dir = dir.path();
        let rec = |id: &str, content: &str| Record {
            record_id: id.into(),
            content: content.into(),
            address: "阳光花园3号楼".into(),
            status: "open".into(),
            ..Default::default()
        };
        let write = |ch, m: &str, recs: &[Record]| {
            lake::write_partition(
                lake_dir,
                ch,
                m,
                &[to_batch(recs).unwrap()],
                LakeCompression::Snappy,
            )
            .unwrap()
        };
        write(
            Channel::Petition,
            "2024-05",
            &[
                rec("petition:X1", "信访人王建国反映电梯停运"),
                rec("petition:X2", "电梯停运"),
            ],
        );
        let untouched = write(
            Channel::Hotline,
            "2024-05",
            &[rec("hotline:H1", "电梯停运")],
        );
        let before = std::fs::read(&untouched).unwrap();
        let q = lake_dir.join("quarantine/run=1.jsonl");
        std::fs::create_dir_all(q.parent().unwrap()).unwrap();
        std::fs::write(
            &q,
            "{\"row\":2,\"detail\":\"cannot parse `x`\",\"fields\":{\"反映内容\":\"我叫李秀英，电梯停运\"}}\n\
             {\"row\":3,\"detail\":\"d\",\"fields\":{\"反映内容\":\"电梯停运\"}}\n",
        )
        .unwrap();

        let names = Names::new(&[]);
        let r = remask(lake_dir, LakeCompression::Snappy, &names).unwrap();
        assert_eq!((r.records, r.quarantined, r.written.len()), (1, 1, 1));
        let recs = lake::read_partition(lake_dir, Channel::Petition, "2024-05").unwrap();
        let texts: Vec<&str> = recs.iter().map(|r| r.content.as_ref()).collect();
        assert_eq!(texts, ["信访人[姓名]反映电梯停运", "电梯停运"]);
        assert_eq!(std::fs::read(&untouched).unwrap(), before);
        let q_text = std::fs::read_to_string(&q).unwrap();
        assert!(q_text.contains("我叫[姓名]，电梯停运") && !q_text.contains("李秀英"));
        assert!(q_text.contains("\"row\":3"));

        // Masked texts stay as they are.
        let again = remask(lake_dir, LakeCompression::Snappy, &names).unwrap();
        assert_eq!((again.records, again.quarantined), (0, 0));
    }
}
