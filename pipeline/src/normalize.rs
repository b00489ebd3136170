//! Text normalisation: full-width to half-width, whitespace, and PII masking.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

/// Full-width ASCII (U+FF01–U+FF5E) to half-width, the ideographic space to a space, and runs
/// of whitespace to one space; trims.
pub fn normalize_text(s: &str) -> String {
    normalized(s).into_owned()
}

/// [`normalize_text`] without a copy when the text is already normal (most cells).
pub fn normalized(s: &str) -> Cow<'_, str> {
    if is_normal(s) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(normalize_chars(s))
    }
}

fn normalize_chars(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = true;
    for c in s.chars() {
        let c = match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        };
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
                last_space = true;
            }
        } else {
            out.push(c);
            last_space = false;
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Whether [`normalize_text`] would leave `s` unchanged (most export cells): no full-width
/// ASCII, no whitespace but single inner spaces.
///
/// Byte by byte: outside ASCII only the lead bytes 0xC2, 0xE1, 0xE2 and 0xE3 (Unicode
/// whitespace, the ideographic space) and 0xEF (full-width ASCII) can start a character
/// that needs a look; every other character (all of CJK) is skipped by its length.
fn is_normal(s: &str) -> bool {
    let b = s.as_bytes();
    if b.first() == Some(&b' ') || b.last() == Some(&b' ') {
        return false;
    }
    let mut last_space = false;
    let mut i = 0;
    while i < b.len() {
        let lead = b[i];
        if lead == b' ' {
            if last_space {
                return false;
            }
            last_space = true;
            i += 1;
            continue;
        }
        last_space = false;
        if lead < 0x80 {
            if (0x09..=0x0D).contains(&lead) {
                return false;
            }
            i += 1;
            continue;
        }
        let len = match lead {
            0xC0..=0xDF => 2,
            0xE0..=0xEF => 3,
            _ => 4,
        };
        if matches!(lead, 0xC2 | 0xE1 | 0xE2 | 0xE3 | 0xEF) {
            let Some(c) = s.get(i..).and_then(|t| t.chars().next()) else {
                return false;
            };
            if c.is_whitespace() || ('\u{FF01}'..='\u{FF5E}').contains(&c) {
                return false;
            }
        }
        i += len;
    }
    true
}

/// An address key for matching: normalised, without spaces and common punctuation.
pub fn address_key(s: &str) -> Cow<'_, str> {
    let n = normalized(s);
    // Byte by byte: the ASCII characters dropped, and the lead bytes of every non-ASCII
    // character that can be (whitespace, full-width forms, 、 — 。).
    let may_drop = n.bytes().any(|b| {
        b <= b' '
            || matches!(
                b,
                b',' | b'(' | b')' | b'-' | b'.' | 0xC2 | 0xE1..=0xE3 | 0xEF
            )
    });
    if !may_drop {
        return n;
    }
    Cow::Owned(
        n.chars()
            .filter(|c| {
                !c.is_whitespace()
                    && !matches!(
                        c,
                        ',' | '，' | '、' | '(' | ')' | '（' | '）' | '-' | '—' | '.' | '。'
                    )
            })
            .collect(),
    )
}

fn pii_patterns() -> &'static [(Regex, &'static str)] {
    static P: OnceLock<Vec<(Regex, &'static str)>> = OnceLock::new();
    P.get_or_init(|| {
        // Order matters: the longer identifiers first. Digit runs are delimited by
        // non-digits so a phone number inside an ID number is not masked twice.
        [
            (r"(?:^|\D)(\d{17}[\dXx])(?:\D|$)", "[身份证号]"),
            (r"(?:^|\D)(\d{16,19})(?:\D|$)", "[银行卡号]"),
            (r"(?:^|\D)(1[3-9]\d{9})(?:\D|$)", "[手机号]"),
            (r"(?:^|\D)(0\d{2,3}-?\d{7,8})(?:\D|$)", "[电话]"),
        ]
        .into_iter()
        .filter_map(|(p, l)| Regex::new(p).ok().map(|r| (r, l)))
        .collect()
    })
}

/// Masks phone numbers, 18-digit ID numbers and bank-card numbers in free text (expects
/// half-width digits: call after [`normalize_text`]).
pub fn mask_pii(s: &str) -> String {
    mask_pii_owned(s.to_owned())
}

/// [`mask_pii`] without a copy when there is nothing to mask (most texts).
pub fn masked(text: Cow<'_, str>) -> Cow<'_, str> {
    if has_digit_run(&text) {
        Cow::Owned(mask_pii_owned(text.into_owned()))
    } else {
        text
    }
}

/// Whether a text has a run of at least seven ASCII digits, which every identifier pattern
/// needs.
fn has_digit_run(text: &str) -> bool {
    let mut run = 0;
    text.bytes().any(|b| {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        run >= 7
    })
}

/// [`mask_pii`] of an owned text, returned as is (no copy) when there is nothing to mask.
pub fn mask_pii_owned(mut text: String) -> String {
    // Every pattern needs a run of at least seven digits: most texts have none.
    if !has_digit_run(&text) {
        return text;
    }
    for (re, label) in pii_patterns() {
        // Replace the captured group only, repeatedly (adjacent matches share delimiters).
        while let Some(m) = re.captures(&text).and_then(|c| c.get(1)) {
            text.replace_range(m.range(), label);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn fast_path_agrees_with_the_full_normalisation(
            s in "[a-z1 \u{3000}\u{00a0}\u{0085}\u{1680}\u{2028}\u{205f}\u{2010}\u{ff10}-\u{ff19}\u{ff21}\u{ff5e}\u{ff5f}\u{ff00}\t\n\r\u{0b}\u{1c}é小区😀]{0,12}"
        ) {
            proptest::prop_assert_eq!(normalize_text(&s), normalize_chars(&s));
        }
    }

    #[test]
    fn full_width_and_spaces() {
        assert_eq!(
            normalize_text("　阳光花园１２号楼  ３单元 "),
            "阳光花园12号楼 3单元"
        );
        assert_eq!(normalize_text("ＡＢＣ，"), "ABC,");
    }

    #[test]
    fn masks_identifiers() {
        let t = mask_pii(
            "电话13812345678，身份证110101199003071234，卡号6222021234567890123，座机010-87654321",
        );
        assert!(!t.contains("13812345678") && !t.contains("110101199003071234"));
        assert!(
            !t.contains("6222021234567890123") && !t.contains("87654321"),
            "{t}"
        );
        assert!(t.contains("[手机号]") && t.contains("[身份证号]") && t.contains("[银行卡号]"));
        // An ordinary number stays.
        assert_eq!(mask_pii("3号楼12层漏水"), "3号楼12层漏水");
    }

    #[test]
    fn masks_full_width_after_normalising() {
        let t = mask_pii(&normalize_text("电话１３８１２３４５６７８"));
        assert_eq!(t, "电话[手机号]");
    }
}
