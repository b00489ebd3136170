//! Ticket and ID numbers a spreadsheet rounded to fifteen digits, or a program to a double.
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
//!
//! A program that holds numbers as floating-point doubles (JavaScript's `Number`: a grid
//! platform's mini-program, a JSON export) rounds them past 2^53 to the nearest double and
//! writes the shortest decimal that reads back as it (`1645123456789012345` →
//! `1645123456789012200`; `20250305000123457` → `20250305000123456`). A genuine number
//! lands on a double once in the doubles' spacing there (4 for seventeen digits, 256 for
//! nineteen), so a file whose long numbers are all such decimals was rounded too, with the
//! spacing's powers of ten as the odds.

use std::collections::HashSet;

use crate::normalize::long_number_tail;

/// A file's long ticket numbers are taken as rounded when all of them look rounded and
/// chance would give that at most once in `10^ID_EVIDENCE` files (one power of ten per
/// zeroed digit, or per power of ten of the doubles' spacing), and some of them repeat.
const ID_EVIDENCE: f64 = 6.0;
/// The same for reporters, which need not repeat.
const REPORTER_EVIDENCE: f64 = 9.0;

/// Whether `cell` is a number of more than fifteen digits (`None` if not) that looks
/// rounded: its digits past the fifteenth all zeros (a spreadsheet), or, past 2^53, the
/// shortest decimal of a double (a floating-point program). With the powers of ten against
/// chance: the zeroed digits, or the doubles' spacing there; the larger.
fn rounding(cell: &str) -> Option<Option<f64>> {
    let (digits, zeroed) = long_number_tail(cell)?;
    let spreadsheet = zeroed.then_some(f64::from(digits));
    let double = cell
        .parse::<f64>()
        .ok()
        .filter(|&v| v >= 2f64.powi(53) && v.to_string() == cell)
        // The doubles' spacing at `v` is 2^(exponent - 52), the exponent biased by 1023.
        .map(|v| f64::from((v.to_bits() >> 52 & 0x7ff) as u16) - 1075.0)
        .map(|log2_spacing| log2_spacing * std::f64::consts::LOG10_2);
    Some(spreadsheet.into_iter().chain(double).reduce(f64::max))
}

/// The long numbers of one column.
#[derive(Debug, Default, Clone)]
struct Tails {
    /// Cells that are numbers of more than fifteen digits.
    long: u32,
    /// Of those, the ones that look rounded ([`rounding`]).
    rounded: u32,
    /// Their powers of ten against chance, summed.
    evidence: f64,
}

impl Tails {
    /// Counts `cell`; whether it is a long number that looks rounded.
    fn add(&mut self, cell: &str) -> bool {
        let Some(rounding) = rounding(cell) else {
            return false;
        };
        self.long += 1;
        if let Some(evidence) = rounding {
            self.rounded += 1;
            self.evidence += evidence;
        }
        rounding.is_some()
    }

    fn all_rounded(&self, evidence: f64) -> bool {
        self.long > 0 && self.rounded == self.long && self.evidence >= evidence
    }
}

/// Counts the long ticket and reporter numbers of a file's first rows.
#[derive(Debug, Default, Clone)]
pub struct RoundedCounter {
    ids: Tails,
    /// The rounded-looking ticket numbers seen, to find them repeating.
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
            ids: self.ids.all_rounded(ID_EVIDENCE) && self.repeats > 0,
            reporters: self.reporters.all_rounded(REPORTER_EVIDENCE),
        }
    }
}

/// Which of a file's columns a spreadsheet (or a floating-point program) rounded.
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
        self.ids && looks_rounded(id)
    }

    /// Whether reporter cell `cell` (trimmed) is one of the file's rounded ones.
    pub fn reporter(&self, cell: &str) -> bool {
        self.reporters && looks_rounded(cell)
    }
}

/// Whether a long number that looks rounded was rounded by a spreadsheet (its digits past
/// the fifteenth all zeros) rather than by a floating-point program.
pub fn by_spreadsheet(cell: &str) -> bool {
    long_number_tail(cell).is_some_and(|(_, zeroed)| zeroed)
}

/// Whether `cell` is a long number that looks rounded ([`rounding`]).
fn looks_rounded(cell: &str) -> bool {
    rounding(cell).is_some_and(|r| r.is_some())
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

    /// Tickets from `first` on, as a program holding them as doubles writes them.
    fn doubles(first: u64, n: u64) -> Vec<String> {
        (0..n).map(|i| ((first + i) as f64).to_string()).collect()
    }

    #[test]
    fn numbers_a_floating_point_program_rounded_are_told_by_the_doubles_they_are() {
        // The shortest decimal of the nearest double, as JavaScript writes it.
        assert_eq!(doubles(1645123456789012345, 1), ["1645123456789012200"]);
        assert_eq!(doubles(20250305000123457, 1), ["20250305000123456"]);
        // Nineteen digits: the doubles are 256 apart, so three numbers are the odds.
        let r = counted(&doubles(1645123456789012345, 3), &[]);
        assert!(r.ids);
        assert!(r.id("1645123456789012200"));
        assert!(!r.id("1645123456789012345"));
        // Seventeen digits: every fourth number is a double, so it takes ten; sixteen
        // below 2^53 are all doubles, and none is rounded.
        assert!(counted(&doubles(20250305000123457, 10), &[]).ids);
        assert!(!counted(&doubles(20250305000123457, 8), &[]).ids);
        assert!(!counted(&doubles(2025030500012345, 40), &[]).ids);
        // The same numbers as issued: three in four are no double.
        let whole: Vec<String> = (0..20)
            .map(|i| (20250305000123457u64 + i).to_string())
            .collect();
        assert!(!counted(&whole, &[]).ids);
        // Doubles that never repeat (a system counting in steps of 256): issued so.
        let spaced: Vec<String> = (0..20)
            .map(|i| ((1645123456789012480u64 + i * 256) as f64).to_string())
            .collect();
        assert!(!counted(&spaced, &[]).ids);
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
