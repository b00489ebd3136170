//! Ticket and ID numbers a spreadsheet rounded to fifteen digits.
//!
//! A spreadsheet holds a number in fifteen significant digits. A ticket number of sixteen or
//! more digits in a column formatted as a number comes back from a saved export with its last
//! digits zeroed (`2025030500012345` → `2025030500012340`), and so does an 18-digit ID number
//! used as the reporter (`110101199003071234` → `110101199003071000`). Unlike the scientific
//! form ([`spreadsheet_shortened`](crate::normalize::spreadsheet_shortened)), one such number
//! looks whole; a file's worth tells. Genuine numbers end in any digit, so a file whose long
//! numbers all end in zeros past the fifteenth digit — so many that chance would do it less
//! than once in a million files — was rounded ([`RoundedCounter`], learned from the file's
//! first rows, as [`super::shape`] learns its reporters).
//!
//! Rounding folds consecutive tickets into one number (ten 16-digit ones, a hundred
//! 17-digit ones), each replacing the last in the lake as an "update"; so the ticket numbers
//! must also repeat in the rows counted. That tells rounding from a system that issues numbers
//! ending in zeros (a timestamp in microseconds), whose numbers do not repeat. A reporter
//! repeats by nature (a household calls again), so for reporters the odds must be longer
//! instead.

use std::collections::HashSet;

use crate::normalize::long_number_tail;

/// A file's long ticket numbers are taken as rounded when all of them end in zeros past the
/// fifteenth digit and chance would give that at most once in `10^ID_EVIDENCE` files (one
/// power of ten per zeroed digit), and some of them repeat.
const ID_EVIDENCE: u32 = 6;
/// The same for reporters, which need not repeat.
const REPORTER_EVIDENCE: u32 = 9;

/// The long numbers of one column.
#[derive(Debug, Default, Clone)]
struct Tails {
    /// Cells that are numbers of more than fifteen digits.
    long: u32,
    /// Of those, the ones whose digits past the fifteenth are all zeros.
    zeroed: u32,
    /// Their zeroed digits, summed: the powers of ten against chance.
    evidence: u32,
}

impl Tails {
    /// Counts `cell`; whether it is a long number ending in zeros.
    fn add(&mut self, cell: &str) -> bool {
        let Some((digits, zeroed)) = long_number_tail(cell) else {
            return false;
        };
        self.long += 1;
        if zeroed {
            self.zeroed += 1;
            self.evidence += digits;
        }
        zeroed
    }

    fn all_zeroed(&self, evidence: u32) -> bool {
        self.long > 0 && self.zeroed == self.long && self.evidence >= evidence
    }
}

/// Counts the long ticket and reporter numbers of a file's first rows.
#[derive(Debug, Default, Clone)]
pub struct RoundedCounter {
    ids: Tails,
    /// The zeroed ticket numbers seen, to find them repeating.
    seen: HashSet<String>,
    repeats: u32,
    reporters: Tails,
}

impl RoundedCounter {
    /// Counts one row's ticket number and reporter cell (both trimmed; the ticket number
    /// normalised).
    pub fn add(&mut self, id: &str, reporter: Option<&str>) {
        if self.ids.add(id) && !self.seen.insert(id.to_owned()) {
            self.repeats += 1;
        }
        if let Some(r) = reporter {
            self.reporters.add(r);
        }
    }

    /// What the rows counted show to be rounded.
    pub fn finish(&self) -> Rounded {
        Rounded {
            ids: self.ids.all_zeroed(ID_EVIDENCE) && self.repeats > 0,
            reporters: self.reporters.all_zeroed(REPORTER_EVIDENCE),
        }
    }
}

/// Which of a file's columns a spreadsheet rounded to fifteen digits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rounded {
    /// The ticket numbers.
    pub ids: bool,
    /// The reporters.
    pub reporters: bool,
}

impl Rounded {
    /// Whether ticket number `id` (normalised) is one of the file's rounded ones.
    pub fn id(&self, id: &str) -> bool {
        self.ids && zeroed(id)
    }

    /// Whether reporter cell `cell` (trimmed) is one of the file's rounded ones.
    pub fn reporter(&self, cell: &str) -> bool {
        self.reporters && zeroed(cell)
    }
}

/// Whether `cell` is a number of more than fifteen digits ending in zeros past the fifteenth.
fn zeroed(cell: &str) -> bool {
    long_number_tail(cell).is_some_and(|(_, zeroed)| zeroed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(ids: &[String], reporters: &[&str]) -> Rounded {
        let mut c = RoundedCounter::default();
        for (i, id) in ids.iter().enumerate() {
            c.add(id, reporters.get(i).copied());
        }
        c.finish()
    }

    /// Consecutive 16-digit tickets, as a spreadsheet leaves them when `round`.
    fn tickets(n: u64, round: bool) -> Vec<String> {
        (0..n)
            .map(|i| {
                let id = 2025030500012345 + i;
                (if round { id / 10 * 10 } else { id }).to_string()
            })
            .collect()
    }

    #[test]
    fn rounded_ticket_numbers_are_told_by_their_zeros_and_repeats() {
        let r = counted(&tickets(20, true), &[]);
        assert!(r.ids);
        assert!(r.id("2025030500012340"));
        // A long number of this file that does not end in zero, or a short one, is whole.
        assert!(!r.id("2025030500012341"));
        assert!(!r.id("T20250305"));
        // The same numbers before the spreadsheet: a tenth end in 0.
        assert!(!counted(&tickets(20, false), &[]).ids);
    }

    #[test]
    fn zeros_by_chance_or_by_design_are_not_rounding() {
        // Two rounded-looking numbers that repeat: chance gives it once in a hundred files.
        let few = vec!["2025030500012340".to_owned(); 2];
        assert!(!counted(&few, &[]).ids);
        // Numbers that all end in zeros and never repeat: issued so (microsecond stamps).
        let stamps: Vec<String> = (0..50)
            .map(|i| (1_741_150_000_000_000u64 + i * 1_000).to_string())
            .collect();
        assert!(!counted(&stamps, &[]).ids);
        // One genuine tail among many zeroed ones: the column was not rounded.
        let mut mixed = tickets(30, true);
        mixed.push("2025030500019999".into());
        assert!(!counted(&mixed, &[]).ids);
    }

    #[test]
    fn rounded_id_numbers_as_reporters_need_longer_odds() {
        let ids: Vec<String> = (0..10).map(|i| format!("T{i}")).collect();
        let three = [
            "110101199003071000",
            "320102198512120000",
            "440301197701010000",
        ];
        let r = counted(&ids, &three);
        assert!(r.reporters && !r.ids);
        assert!(r.reporter("110101199003071000"));
        assert!(!r.reporter("13812345678"));
        // Two 18-digit numbers ending in 000: once in a million, not once in a billion.
        assert!(!counted(&ids, &three[..2]).reporters);
        // Phone numbers are never long: nothing to tell.
        assert!(!counted(&ids, &["13812345670"; 10]).reporters);
    }
}
