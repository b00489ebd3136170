//! Records whose later version falls in another month.
//!
//! The lake is partitioned by the month a record was received, and a merge looks a record up
//! in its own month's partition only. A later export that corrects a ticket's time across a
//! month's end, or a file read again with other datetime formats, puts the new version in
//! another partition than the old one; left alone, the lake would hold the ticket twice.
//! [`Placed`] notes in which month the run put each record it took (the hash of its id, 16
//! bytes a record, appended in merge order; after a run cut short between a move and its
//! clean-up, a record found identical too, so that the next run completes it), and
//! [`Placed::settle`] then removes the versions
//! a record left behind: those the run put in another month before, and those in the
//! partitions the lake had before the run (read by their `record_id` column only). A version
//! is removed only where the month the record went to holds the same id (a hash is not an
//! id).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasher;
use std::path::Path;

use arrow::array::BooleanArray;
use rayon::prelude::*;

use super::{month_label, Merged, Partition, ReadAgain};
use crate::config::{Channel, LakeCompression};
use crate::lake;
use crate::record::{Columns, RecordRef};
use crate::Result;

/// The file index of a version the lake held already (found identical, or kept against a
/// re-read one).
pub(super) const LAKES: u32 = u32::MAX;

/// The hash of a record id [`Placed`] keeps.
pub(super) fn id_hash(id: &str) -> u64 {
    foldhash::quality::FixedState::with_seed(0x5eed).hash_one(id)
}

/// A year and month as one number.
fn code((y, m): (i32, u32)) -> u32 {
    (y.max(0) as u32) * 12 + m
}

/// [`code`] back to a year and month.
fn month(c: u32) -> (i32, u32) {
    match c {
        0 => (0, 0),
        c => ((c - 1) as i32 / 12, (c - 1) % 12 + 1),
    }
}

/// Where the run put the records it took, per channel: (id hash, month code, file index),
/// in the order the lake took them.
#[derive(Default)]
pub(super) struct Placed {
    took: BTreeMap<Channel, Vec<(u64, u32, u32)>>,
    /// Whether the records found identical are placed too ([`LAKES`]): only after a run cut
    /// short (a re-read of a whole lake finds millions, and they cannot have moved).
    identical: bool,
}

/// What [`Placed::settle`] did.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Settled {
    /// Per file index: versions it placed that replaced one in another month (updates).
    pub(super) replaced: BTreeMap<usize, u64>,
    /// Per file index: versions it placed that were removed again, the lake keeping the one
    /// in another month (a file read again, against a later or archived export's version).
    pub(super) withdrawn: BTreeMap<usize, u64>,
    /// Partitions rewritten.
    pub(super) written: Vec<String>,
}

/// Where a record went last: month code and file index.
type Last = (u32, usize);

impl Placed {
    /// A run's placements; `after_cut_short`: the run before it stopped between its merges
    /// and [`Placed::settle`], so the records found identical are placed too.
    pub(super) fn new(after_cut_short: bool) -> Placed {
        Placed {
            took: BTreeMap::new(),
            identical: after_cut_short,
        }
    }

    /// Notes that these records ((id hash, file index or [`LAKES`])) are in `partition`.
    pub(super) fn track(&mut self, (channel, ym): Partition, took: &[(u64, u32)]) {
        let c = code(ym);
        let placed = (took.iter()).filter(|&&(_, f)| self.identical || f != LAKES);
        (self.took.entry(channel).or_default()).extend(placed.map(|&(h, f)| (h, c, f)));
    }

    /// [`Placed::track`]s the records each merge took, and returns the merges without them.
    pub(super) fn tracked(&mut self, mut merged: Vec<Merged>) -> Vec<Merged> {
        for m in &mut merged {
            if let Some(partition) = m.partition {
                self.track(partition, &std::mem::take(&mut m.placed));
            }
        }
        merged
    }

    /// Removes from the lake the versions the run's records left in other months:
    /// `before` lists the months each channel had before the run. A version in another
    /// month that a file read again must not replace ([`ReadAgain::keeps`]) stays, and the
    /// re-read version is removed instead.
    pub(super) fn settle(
        self,
        lake_dir: &Path,
        compression: LakeCompression,
        before: &BTreeMap<Channel, Vec<String>>,
        again: &ReadAgain,
    ) -> Result<Settled> {
        let mut out = Settled::default();
        for (channel, mut took) in self.took {
            // Each id's entries together, in the order taken (a stable sort): the last is
            // where it went; an earlier one in another month left a version there.
            took.par_sort_by_key(|&(h, ..)| h);
            let mut last: HashMap<u64, Last> = HashMap::new();
            let mut stale: BTreeMap<u32, HashSet<u64>> = BTreeMap::new();
            for same in took.chunk_by(|a, b| a.0 == b.0) {
                let &(h, m, f) = same.last().unwrap_or(&same[0]);
                for &(_, left, _) in same.iter().filter(|e| e.1 != m) {
                    stale.entry(left).or_default().insert(h);
                    last.insert(h, (m, f as usize));
                }
            }
            // The partitions the lake had before: ids the run put in another month.
            let before = before.get(&channel).map(Vec::as_slice).unwrap_or_default();
            if !before.is_empty() {
                let all: HashMap<u64, Last> = (took.chunk_by(|a, b| a.0 == b.0))
                    .filter_map(|same| same.last())
                    .map(|&(h, m, f)| (h, (m, f as usize)))
                    .collect();
                for label in before {
                    let Some(here) = month_of_label(label) else {
                        continue;
                    };
                    lake::for_each_text(lake_dir, channel, Some(label), "record_id", |id| {
                        let h = id_hash(id);
                        if let Some(&(m, f)) = all.get(&h).filter(|(m, _)| *m != here) {
                            stale.entry(here).or_default().insert(h);
                            last.insert(h, (m, f));
                        }
                    })?;
                }
            }
            if stale.is_empty() {
                continue;
            }
            // The ids of the months records went to, to tell a version left behind from a
            // record whose id only hashes alike.
            let mut ids_of: HashMap<u32, HashSet<String>> = HashMap::new();
            for &(m, _) in last.values() {
                if let std::collections::hash_map::Entry::Vacant(v) = ids_of.entry(m) {
                    let mut ids = HashSet::new();
                    let label = month_label(month(m));
                    lake::for_each_text(lake_dir, channel, Some(&label), "record_id", |id| {
                        ids.insert(id.to_owned());
                    })?;
                    v.insert(ids);
                }
            }
            // Removed where left; where a re-read version must yield, removed there instead.
            let mut yielded: BTreeMap<u32, HashSet<String>> = BTreeMap::new();
            for (m, hashes) in &stale {
                let written = remove(lake_dir, compression, channel, *m, |id, row| {
                    let h = id_hash(id);
                    let went = hashes.contains(&h).then(|| last.get(&h)).flatten();
                    let there = |to: &u32| ids_of.get(to).is_some_and(|ids| ids.contains(id));
                    let Some(&(to, file)) = went.filter(|(to, _)| there(to)) else {
                        return false;
                    };
                    if file == LAKES as usize {
                        // The lake's own version went there before: this one was left by a
                        // run cut short.
                        true
                    } else if again.keeps(file, row) {
                        yielded.entry(to).or_default().insert(id.to_owned());
                        *out.withdrawn.entry(file).or_default() += 1;
                        false
                    } else {
                        *out.replaced.entry(file).or_default() += 1;
                        true
                    }
                })?;
                out.written.extend(written);
            }
            for (m, ids) in &yielded {
                let written = remove(lake_dir, compression, channel, *m, |id, _| ids.contains(id))?;
                out.written.extend(written);
            }
        }
        Ok(out)
    }
}

/// Rows of files read again that their new reading quarantines, per channel: by the file as
/// records name it (`source_file`), its index in the run and the rows with their record ids.
pub(super) type Requarantined = BTreeMap<Channel, HashMap<String, (usize, HashSet<(i64, String)>)>>;

/// Removes the records the lake made before from rows that a file read again now
/// quarantines as bad records (a test marker, a bound or a check added since: see
/// [`super::WITHDRAWING`]). Found by their `source_file`, `source_row` and `record_id`
/// (two exports of a channel may share a file name in different folders); a row's record
/// that a later export replaced names that export, and stays. Returns the records removed
/// per file index, and the partitions rewritten.
pub(super) fn withdraw_quarantined(
    lake_dir: &Path,
    compression: LakeCompression,
    rows: &Requarantined,
) -> Result<(BTreeMap<usize, u64>, Vec<String>)> {
    let (mut removed, mut written) = (BTreeMap::new(), vec![]);
    for (&channel, files) in rows {
        // The partitions that hold a record from such a file and row (checked by id when
        // rewritten).
        let rows_of: HashMap<&str, HashSet<i64>> = (files.iter())
            .map(|(f, (_, rows))| (f.as_str(), rows.iter().map(|(r, _)| *r).collect()))
            .collect();
        let mut months = std::collections::BTreeSet::new();
        lake::for_each_origin(lake_dir, channel, |m, file, row| {
            let hit = rows_of.get(file).is_some_and(|rows| rows.contains(&row));
            if hit && !months.contains(m) {
                months.insert(m.to_owned());
            }
        })?;
        for m in months.iter().filter_map(|m| month_of_label(m)) {
            let p = remove(lake_dir, compression, channel, m, |id, r| {
                let fi = (files.get(r.source_file)).and_then(|(fi, rows)| {
                    rows.contains(&(r.source_row, id.to_owned())).then_some(*fi)
                });
                if let Some(fi) = fi {
                    *removed.entry(fi).or_default() += 1;
                }
                fi.is_some()
            })?;
            written.extend(p);
        }
    }
    Ok((removed, written))
}

/// Rewrites the partition of month code `m` without the rows `drop` picks; the path when
/// one was dropped.
fn remove(
    lake_dir: &Path,
    compression: LakeCompression,
    channel: Channel,
    m: u32,
    mut drop: impl FnMut(&str, &RecordRef<'_>) -> bool,
) -> Result<Option<String>> {
    let label = month_label(month(m));
    let batches = lake::read_partition_batches(lake_dir, channel, &label)?;
    let mut kept = Vec::with_capacity(batches.len());
    let mut dropped = false;
    for b in &batches {
        let cols = Columns::new(b)?;
        let keep: BooleanArray = (0..cols.len())
            .map(|i| Some(!drop(cols.record_id(i), &cols.row(i))))
            .collect();
        dropped |= keep.false_count() > 0;
        kept.push(arrow::compute::filter_record_batch(b, &keep)?);
    }
    if !dropped {
        return Ok(None);
    }
    let p = lake::write_partition(lake_dir, channel, &label, &kept, compression)?;
    Ok(Some(p.to_string_lossy().into_owned()))
}

/// The year and month of a partition's label (`2025-03`); `unknown` is (0, 0).
fn month_of_label(label: &str) -> Option<u32> {
    if label == "unknown" {
        return Some(0);
    }
    let (y, m) = label.split_once('-')?;
    Some(code((y.parse().ok()?, m.parse().ok()?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_their_codes_go_both_ways() {
        for ym in [(0, 0), (2024, 1), (2024, 12), (2025, 3), (1999, 7)] {
            assert_eq!(month(code(ym)), ym);
            assert_eq!(month_of_label(&month_label(ym)), Some(code(ym)));
        }
        assert_eq!(month_of_label("2025"), None);
    }

    /// The run put H1 in February (file 0, an earlier flush) and then in March (file 1):
    /// February's version goes, as does a version a partition had before the run (H2 in
    /// January, now in March). A version in another month that a file read again must not
    /// replace (H3, from an archived export) stays, and the re-read one goes. H5, left in
    /// January and March by a run cut short, is found identical in March: January's goes.
    #[test]
    fn versions_left_in_other_months_are_removed_and_a_re_read_one_yields() {
        use crate::record::{from_batch, to_batch, Record};
        let dir = tempfile::tempdir().unwrap();
        let lake_dir = dir.path();
        let hot = Channel::Hotline;
        let rec = |id: &str, file: &str| Record {
            record_id: id.into(),
            source_file: file.into(),
            status: "open".into(),
            ..Default::default()
        };
        let write = |m: &str, recs: &[Record]| {
            lake::write_partition(
                lake_dir,
                hot,
                m,
                &[to_batch(recs).unwrap()],
                LakeCompression::Snappy,
            )
            .unwrap();
        };
        write(
            "2025-01",
            &[
                rec("hotline:H2", "old.csv"),
                rec("hotline:H3", "archived.csv"),
                rec("hotline:H5", "d.csv"),
            ],
        );
        let before = BTreeMap::from([(hot, lake::months(lake_dir, hot))]);
        write(
            "2025-02",
            &[rec("hotline:H1", "a.csv"), rec("hotline:H4", "a.csv")],
        );
        write(
            "2025-03",
            &[
                rec("hotline:H1", "b.csv"),
                rec("hotline:H2", "b.csv"),
                rec("hotline:H3", "c.csv"),
                rec("hotline:H5", "d.csv"),
            ],
        );
        let mut p = Placed::new(true);
        let h = id_hash;
        p.track(
            (hot, (2025, 2)),
            &[(h("hotline:H1"), 0), (h("hotline:H4"), 0)],
        );
        let march = [
            (h("hotline:H1"), 1),
            (h("hotline:H2"), 1),
            (h("hotline:H3"), 2),
            (h("hotline:H5"), LAKES),
        ];
        p.track((hot, (2025, 3)), &march);
        // File 2 (c.csv) is read again; archived.csv is not in the run.
        let again = ReadAgain {
            files: vec![(false, hot), (false, hot), (true, hot)],
            read: HashMap::from([
                ((hot, "a.csv".to_owned()), 0),
                ((hot, "b.csv".to_owned()), 1),
                ((hot, "c.csv".to_owned()), 2),
            ]),
        };
        let s = p
            .settle(lake_dir, LakeCompression::Snappy, &before, &again)
            .unwrap();
        assert_eq!(s.replaced, BTreeMap::from([(1, 2)]));
        assert_eq!(s.withdrawn, BTreeMap::from([(2, 1)]));
        let ids = |m: &str| -> Vec<String> {
            let b = lake::read_partition_batches(lake_dir, hot, m).unwrap();
            (b.iter())
                .flat_map(|b| from_batch(b).unwrap())
                .map(|r| r.record_id.to_string())
                .collect()
        };
        assert_eq!(ids("2025-01"), ["hotline:H3"]);
        assert_eq!(ids("2025-02"), ["hotline:H4"]);
        assert_eq!(ids("2025-03"), ["hotline:H1", "hotline:H2", "hotline:H5"]);
        assert_eq!(s.written.len(), 3);
    }
}
