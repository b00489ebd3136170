//! Text normalisation: full-width to half-width, whitespace, and PII masking.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

/// Full-width ASCII (U+FF01–U+FF5E) to half-width, the ideographic space and control
/// characters (NUL, DEL, C1…) to a space, and runs of whitespace to one space; zero-width
/// characters (U+200B–U+200D, U+2060, and U+FEFF, a byte-order mark left inside a
/// concatenated export) are removed; trims.
pub fn normalize_text(s: &str) -> String {
    normalized(s).into_owned()
}

/// [`normalize_text`] without a copy when the text is already normal (most cells).
pub fn normalized(s: &str) -> Cow<'_, str> {
    match first_change::<false>(s) {
        None => Cow::Borrowed(s),
        Some(at) => Cow::Owned(normalize_from::<false>(s, at)),
    }
}

/// [`normalized`] for free text that people read (a record's content and address): the
/// same, except that the punctuation Chinese writes full-width (`，：；！？（）`) stays as
/// it is, so a sentence keeps its own commas. Full-width digits, letters and symbols still
/// become half-width, so identifiers are still found and masked.
pub fn normalized_free_text(s: &str) -> Cow<'_, str> {
    match first_change::<true>(s) {
        None => Cow::Borrowed(s),
        Some(at) => Cow::Owned(normalize_from::<true>(s, at)),
    }
}

/// Full-width punctuation Chinese text is written with (GB/T 15834), kept in free text.
fn chinese_punctuation(c: char) -> bool {
    matches!(c, '，' | '：' | '；' | '！' | '？' | '（' | '）')
}

/// The bytes that may start a character normalisation changes, as ranges (first byte,
/// number of bytes): ASCII whitespace and control characters (≤ 0x20) and DEL, and outside
/// ASCII the lead bytes 0xC2 (C1 controls, Unicode whitespace), 0xE1, 0xE2 and 0xE3
/// (whitespace, zero-width characters, the ideographic space) and 0xEF (full-width ASCII,
/// U+FEFF). Continuation bytes and the lead bytes of CJK never do, so a run of them is
/// copied as it is.
const SPECIAL_RANGES: [(u8, u8); 5] = [(0x00, 0x21), (0x7F, 1), (0xC2, 1), (0xE1, 3), (0xEF, 1)];

/// ASCII punctuation an address key drops: `(` `)` and `,` `-` `.`.
const DROPPED_ASCII_RANGES: [(u8, u8); 2] = [(b'(', 2), (b',', 3)];

/// Whether byte `c` lies in one of `ranges`.
const fn in_byte_ranges(c: u8, ranges: &[(u8, u8)]) -> bool {
    let mut k = 0;
    while k < ranges.len() {
        if c.wrapping_sub(ranges[k].0) < ranges[k].1 {
            return true;
        }
        k += 1;
    }
    false
}

/// Per byte, whether it is in [`SPECIAL_RANGES`] (looked up byte by byte in short texts).
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = in_byte_ranges(b as u8, &SPECIAL_RANGES);
        b += 1;
    }
    t
};

/// The first position from `i` on whose byte is in [`SPECIAL_RANGES`], or `b.len()`. Sixteen
/// bytes at a time (SSE2 compares on x86-64): most text is CJK and ordinary ASCII, and this
/// scan was most of what normalisation cost.
fn next_special(b: &[u8], i: usize) -> usize {
    first_in(b, i, special_mask, |c| SPECIAL[usize::from(c)])
}

/// The first position from `i` on whose bit `mask` sets in its block of sixteen bytes, or
/// `b.len()`; texts shorter than a block are looked at byte by byte (`byte`).
fn first_in(
    b: &[u8],
    mut i: usize,
    mask: impl Fn(&[u8; 16]) -> u32,
    byte: impl Fn(u8) -> bool,
) -> usize {
    if b.len() < 16 {
        return (b.get(i..).unwrap_or_default().iter())
            .position(|&c| byte(c))
            .map_or(b.len(), |k| i + k);
    }
    while i < b.len() {
        let m = mask_at(b, i, &mask);
        if m != 0 {
            return i + m.trailing_zeros() as usize;
        }
        i += 16;
    }
    b.len()
}

/// `mask` of the sixteen bytes from `i` (`i < b.len()`, `b.len() ≥ 16`): bit k for byte
/// `i + k`, none past the end. The last block is read where it ends, overlapping the one
/// before, and shifted: no copy to pad it (a copy then a wide load stalls the store buffer).
fn mask_at(b: &[u8], i: usize, mask: impl Fn(&[u8; 16]) -> u32) -> u32 {
    let block = |at: usize| -> &[u8; 16] {
        b.get(at..at + 16)
            .and_then(|w| w.try_into().ok())
            .unwrap_or(&[b'a'; 16])
    };
    match b.len() - i {
        16.. => mask(block(i)),
        _ => {
            let start = b.len() - 16;
            mask(block(start)) >> (i - start)
        }
    }
}

/// Bit k set when byte k is in [`SPECIAL_RANGES`].
fn special_mask(w: &[u8; 16]) -> u32 {
    in_ranges(w, &SPECIAL_RANGES)
}

/// Bit k set when byte k is an ASCII digit, or a space or hyphen, which may group the
/// digits of a number (`139 1234 5678`, `139-1234-5678`).
fn number_mask(w: &[u8; 16]) -> u32 {
    in_ranges(w, &[(b'0', 10), (b' ', 1), (b'-', 2)])
}

/// [`number_mask`] of one byte.
fn in_number(c: u8) -> bool {
    c.is_ascii_digit() || c == b' ' || c == b'-' || c == b'.'
}

/// Bit k set when byte k is in [`DROPPED_ASCII_RANGES`].
fn dropped_ascii_mask(w: &[u8; 16]) -> u32 {
    in_ranges(w, &DROPPED_ASCII_RANGES)
}

/// Bit k set when byte k lies in one of `ranges` (first byte, number of bytes ≥ 1).
#[inline]
fn in_ranges(w: &[u8; 16], ranges: &[(u8, u8)]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: SSE2 is part of the x86-64 baseline: every CPU this code runs on has it.
        unsafe { in_ranges_sse2(w, ranges) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        (w.iter().enumerate()).fold(0, |m, (k, &c)| {
            m | u32::from(in_byte_ranges(c, ranges)) << k
        })
    }
}

/// [`in_ranges`] with SSE2 compares: x in `from..from + n` is, unsigned,
/// min(x − from, n − 1) == x − from.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse2")]
#[inline]
fn in_ranges_sse2(w: &[u8; 16], ranges: &[(u8, u8)]) -> u32 {
    use std::arch::x86_64::*;
    let [a, b, c, d, e, f, g, h, i, j, k, l, m, n, o, p] = *w;
    let x = _mm_set_epi64x(
        i64::from_le_bytes([i, j, k, l, m, n, o, p]),
        i64::from_le_bytes([a, b, c, d, e, f, g, h]),
    );
    let mut hit = _mm_setzero_si128();
    for &(from, n) in ranges {
        let d = _mm_sub_epi8(x, _mm_set1_epi8(from as i8));
        let last = _mm_set1_epi8(n.saturating_sub(1) as i8);
        hit = _mm_or_si128(hit, _mm_cmpeq_epi8(_mm_min_epu8(d, last), d));
    }
    _mm_movemask_epi8(hit) as u32
}

/// The character normalisation makes of `c`, before whitespace is collapsed (in free text
/// when `FREE_TEXT`).
fn half_width<const FREE_TEXT: bool>(c: char) -> char {
    match c {
        c if FREE_TEXT && chinese_punctuation(c) => c,
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        c if c.is_control() => ' ',
        _ => c,
    }
}

/// Characters normalisation removes: zero-width spaces and joiners, and U+FEFF.
fn invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}')
}

/// The byte offset of the first place where [`normalize_text`] changes `s` (the start of a
/// character it rewrites, or a space it drops), `None` when `s` is already normal.
fn first_change<const FREE_TEXT: bool>(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.first() == Some(&b' ') {
        return Some(0);
    }
    let mut last_space = false;
    let mut i = 0;
    loop {
        let next = next_special(b, i);
        if next > i {
            last_space = false;
            i = next;
        }
        if i >= b.len() {
            break;
        }
        if b[i] == b' ' {
            if last_space || i + 1 == b.len() {
                return Some(i);
            }
            last_space = true;
            i += 1;
            continue;
        }
        // A special byte is ASCII or a lead byte, so `i` is a character boundary.
        let Some(c) = s.get(i..).and_then(|t| t.chars().next()) else {
            return Some(i);
        };
        if c.is_whitespace() || half_width::<FREE_TEXT>(c) != c || invisible(c) {
            return Some(i);
        }
        last_space = false;
        i += c.len_utf8();
    }
    None
}

/// [`normalize_text`] of `s` whose first `at` bytes are already normal: copies them, then
/// copies runs of ordinary bytes whole and rewrites only the special characters.
fn normalize_from<const FREE_TEXT: bool>(s: &str, at: usize) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let (head, _) = s.split_at_checked(at).unwrap_or(("", s));
    out.push_str(head);
    // At the start a space would be leading, so it counts as following a space.
    let mut last_space = head.is_empty() || head.ends_with(' ');
    let mut i = head.len();
    while i < b.len() {
        let run = i;
        i = next_special(b, i);
        if i > run {
            // Both ends are character boundaries: a run stops only at ASCII or a lead byte.
            out.push_str(s.get(run..i).unwrap_or_default());
            last_space = false;
        }
        let Some(c) = s.get(i..).and_then(|t| t.chars().next()) else {
            break;
        };
        i += c.len_utf8();
        push_normal::<FREE_TEXT>(&mut out, c, &mut last_space);
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Appends `c` as normalisation writes it: nothing if invisible, half-width, and whitespace
/// (and control characters) as one space unless one was just written.
fn push_normal<const FREE_TEXT: bool>(out: &mut String, c: char, last_space: &mut bool) {
    if invisible(c) {
        return;
    }
    let c = half_width::<FREE_TEXT>(c);
    if c.is_whitespace() {
        if !*last_space {
            out.push(' ');
            *last_space = true;
        }
    } else {
        out.push(c);
        *last_space = false;
    }
}

/// The definition, character by character (what the property test compares with).
#[cfg(test)]
fn normalize_chars<const FREE_TEXT: bool>(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last_space = true;
    for c in s.chars() {
        push_normal::<FREE_TEXT>(&mut out, c, &mut last_space);
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// Whether a (trimmed) cell is a number a spreadsheet shortened to scientific notation
/// (`1.38123E+10`, `2E+11`, `1,38123E+10` where the decimal mark is a comma): a ticket number
/// or a phone number opened in Excel and saved again, whose digits beyond the shown ones are
/// lost, so that many tickets or households read as one.
pub fn spreadsheet_shortened(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(e) = b.iter().position(|c| matches!(c, b'E' | b'e')) else {
        return false;
    };
    let (mantissa, exponent) = (&b[..e], &b[e + 1..]);
    let digits = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
    let mantissa_ok = match mantissa {
        [d] => d.is_ascii_digit(),
        [d, b'.' | b',', rest @ ..] => d.is_ascii_digit() && digits(rest),
        _ => false,
    };
    mantissa_ok && matches!(exponent, [b'+', rest @ ..] if digits(rest) && rest.len() <= 3)
}

/// Of a (trimmed) cell that is a whole number of more than fifteen digits: how many digits
/// it has past the fifteenth, and whether they are all zeros. A spreadsheet keeps fifteen
/// significant digits, so a ticket or ID number it formatted as a number and saved again
/// ends in zeros (`2025030500012345` → `2025030500012340`); one such number proves nothing
/// (a tenth of genuine 16-digit numbers end in 0), a file's worth does
/// ([`crate::ingest::rounded`]).
pub fn long_number_tail(s: &str) -> Option<(u32, bool)> {
    let b = s.as_bytes();
    if b.len() <= 15 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let tail = &b[15..];
    Some((tail.len() as u32, tail.iter().all(|&d| d == b'0')))
}

/// An address without its building tail (`23号楼3单元`, `5栋`, `1201室`): the part that
/// names the place, for counting the addresses no compound was found for. A unit without a
/// number before it (`三单元`) stays.
pub fn address_stem(address: &str) -> &str {
    const UNITS: [&str; 8] = ["号楼", "单元", "栋", "幢", "座", "室", "层", "楼"];
    let mut s = address.trim_end();
    while let Some(rest) = UNITS.iter().find_map(|u| s.strip_suffix(u)) {
        let number = rest.trim_end_matches(|c: char| c.is_ascii_digit());
        if number.len() == rest.len() {
            break;
        }
        // `2-1201室`: building 2, room 1201
        let joined = number.trim_end_matches(['-', '#']);
        s = match joined.len() < number.len() {
            true => joined.trim_end_matches(|c: char| c.is_ascii_digit()),
            false => number,
        };
    }
    s
}

/// An address key for matching: normalised, without spaces and common punctuation.
pub fn address_key(s: &str) -> Cow<'_, str> {
    // One scan for what normalisation would change and what the key drops: the ASCII
    // characters dropped, and the lead bytes of every non-ASCII character that can be
    // (whitespace, full-width forms, 、 — 。), which are all special bytes. Most addresses
    // have none, and are their own key.
    let may_change = first_in(
        s.as_bytes(),
        0,
        |w| special_mask(w) | dropped_ascii_mask(w),
        |c| SPECIAL[usize::from(c)] || in_byte_ranges(c, &DROPPED_ASCII_RANGES),
    ) < s.len();
    if !may_change {
        return Cow::Borrowed(s);
    }
    let n = normalized(s);
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
        // non-digits so a phone number inside an ID number is not masked twice. Numbers
        // are often written in groups (`139 1234 5678`, `6222 0212 3456 7890`,
        // `110101 19900307 1234`), and a mobile number with the country code (`+86`,
        // `0086`) or a trunk `0` before it.
        [
            (
                r"(?:^|\D)(\d{6}[- ]?\d{8}[- ]?\d{3}[\dXx])(?:\D|$)",
                "[身份证号]",
            ),
            (
                r"(?:^|\D)(\d{4}(?:[- ]?\d{4}){3}(?:[- ]?\d{1,3})?)(?:\D|$)",
                "[银行卡号]",
            ),
            (
                r"(?:^|\D)((?:(?:\+?86|0086)[- ]?|0)?1[3-9]\d[-. ]?\d{4}[-. ]?\d{4})(?:\D|$)",
                "[手机号]",
            ),
            (r"(?:^|\D)(0\d{2,3}[- ]?\d{7,8})(?:\D|$)", "[电话]"),
            // A QQ number (five to eleven digits) after its name.
            (
                r"(?i)(?:qq|扣扣)(?:号码|号)?\s*[:：]?\s*(\d{5,11})(?:\D|$)",
                "[账号]",
            ),
            // Eleven digits or more that are none of those (a number run into the next
            // one when a separator is lost, a 15-digit ID of the old kind): masked whole,
            // since one may be inside.
            (r"(?:^|\D)(\d{11,})(?:\D|$)", "[号码]"),
        ]
        .into_iter()
        .filter_map(|(p, l)| Regex::new(p).ok().map(|r| (r, l)))
        .collect()
    })
}

/// Masks phone numbers, 18-digit ID numbers, bank-card numbers and any other run of eleven
/// digits or more in free text (expects half-width digits: call after [`normalize_text`]),
/// then the personal names the text introduces ([`crate::names`]).
pub fn mask_pii(s: &str) -> String {
    mask_pii_owned(s.to_owned())
}

/// [`mask_pii`] without a copy when there is nothing to mask (most texts).
pub fn masked(text: Cow<'_, str>) -> Cow<'_, str> {
    crate::names::Names::builtin().mask_text(text)
}

/// The identifiers of [`mask_pii`] masked, not the names (for a district's own name cues:
/// [`crate::names::Names::mask`]); no copy when there is nothing to mask. E-mail addresses
/// (`[邮箱]`, before the numbers: `12345678@qq.com`) and WeChat ids after their name
/// (`微信号zhang_san88`: `[账号]`) are masked too.
pub fn masked_numbers(text: Cow<'_, str>) -> Cow<'_, str> {
    let (email, wechat) = account_patterns();
    let text = match memchr::memchr(b'@', text.as_bytes()) {
        Some(_) => replace_captured(text, email.as_ref(), "[邮箱]"),
        None => text,
    };
    let text = if has_number_run(&text) {
        Cow::Owned(mask_numbers(text.into_owned()))
    } else {
        text
    };
    let ranges = match may_have_spelled_number(&text) {
        true => spelled_numbers(&text),
        false => vec![],
    };
    let text = match ranges.is_empty() {
        true => text,
        false => Cow::Owned(replaced(&text, ranges, "[号码]")),
    };
    match memchr::memmem::find(text.as_bytes(), "微信".as_bytes()) {
        Some(_) => replace_captured(text, wechat.as_ref(), "[账号]"),
        None => text,
    }
}

/// Whether `c` is a digit written as a Chinese numeral, one character a digit.
fn spelled_digit(c: char) -> bool {
    matches!(
        c,
        '零' | '〇' | '一' | '二' | '三' | '四' | '五' | '六' | '七' | '八' | '九' | '幺'
    )
}

/// The bytes of a digit written as a Chinese numeral in UTF-8 (with some others: this only
/// tells where none can be), ASCII digits, spaces and hyphens.
const SPELLED_RANGES: [(u8, u8); 10] = [
    (b'0', 10),
    (b' ', 1),
    (b'-', 1),
    (0x80, 0x0E),
    (0x94, 1),
    (0x9B, 3),
    (0xAB, 3),
    (0xB6, 5),
    (0xE3, 3),
    (0xE9, 1),
];

/// Whether a text has a run of seventeen bytes in [`SPELLED_RANGES`], which a run of
/// [`spelled_numbers`] needs (eleven digits, three of them three bytes each): sixteen bytes
/// at a time, so that the texts that have none (all but a few) cost little.
fn may_have_spelled_number(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() < 17 {
        return false;
    }
    let mut prev = 0u32;
    let mut i = 0;
    while i < b.len() {
        let mask = mask_at(b, i, |w| in_ranges(w, &SPELLED_RANGES));
        // Bit k of `r`: bits k to k + 16 of the two blocks are all set. A run of seventeen
        // spans two blocks, and starts in the first.
        let w = prev | (mask << 16);
        let mut r = w & (w >> 1);
        r &= r >> 2;
        r &= r >> 4;
        r &= r >> 8;
        if r & (r >> 1) != 0 {
            return true;
        }
        prev = mask;
        i += 16;
    }
    false
}

/// Runs of eleven digits or more with at least three written as Chinese numerals
/// (`一三八一二三四五六七八`, `幺三九 1234 5678`: a number read out on a call and typed as
/// heard), spaces and hyphens inside: a mobile or ID number the patterns on ASCII digits do
/// not see. Text has no such run otherwise (`一五一十`, `三三两两` are four). Only texts
/// [`may_have_spelled_number`] lets through are scanned.
fn spelled_numbers(text: &str) -> Vec<std::ops::Range<usize>> {
    let mut out = vec![];
    // The run so far: its start, its last digit's end, its digits, its spelled digits.
    let mut run: Option<(usize, usize, usize, usize)> = None;
    let close = |run: Option<(usize, usize, usize, usize)>, out: &mut Vec<_>| {
        if let Some((start, end, digits, spelled)) = run {
            if digits >= 11 && spelled >= 3 {
                out.push(start..end);
            }
        }
    };
    for (i, c) in text.char_indices() {
        let spelled = spelled_digit(c);
        if spelled || c.is_ascii_digit() {
            let (start, _, digits, n) = run.unwrap_or((i, i, 0, 0));
            run = Some((
                start,
                i + c.len_utf8(),
                digits + 1,
                n + usize::from(spelled),
            ));
        } else if !(matches!(c, ' ' | '-') && run.is_some()) {
            close(run.take(), &mut out);
        }
    }
    close(run, &mut out);
    out
}

/// E-mail addresses, and WeChat ids after their name (an id starts with a letter and has
/// six to twenty letters, digits, `_` and `-`; one that is a phone number is masked as one).
/// Fixed patterns, which compile; one that did not would mask nothing.
fn account_patterns() -> &'static (Option<Regex>, Option<Regex>) {
    static P: OnceLock<(Option<Regex>, Option<Regex>)> = OnceLock::new();
    P.get_or_init(|| {
        let email = r"(?i)([a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})";
        let wechat =
            r"微信(?:号|账号|ID|id)?\s*[:：]?\s*([A-Za-z][A-Za-z0-9_-]{5,19})(?:[^A-Za-z0-9_-]|$)";
        (Regex::new(email).ok(), Regex::new(wechat).ok())
    })
}

/// `text` with the first group of each match of `re` replaced by `label`; borrowed when
/// nothing matches.
fn replace_captured<'a>(text: Cow<'a, str>, re: Option<&Regex>, label: &str) -> Cow<'a, str> {
    let Some(re) = re else {
        return text;
    };
    let ranges: Vec<std::ops::Range<usize>> = (re.captures_iter(&text))
        .filter_map(|c| c.get(1).map(|m| m.range()))
        .collect();
    if ranges.is_empty() {
        return text;
    }
    Cow::Owned(replaced(&text, ranges, label))
}

/// `text` with each of `ranges` (byte ranges on character boundaries, in any order)
/// replaced by `label`; overlapping ranges are merged into one.
pub(crate) fn replaced(text: &str, mut ranges: Vec<std::ops::Range<usize>>, label: &str) -> String {
    ranges.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for r in ranges {
        if r.end <= at {
            continue;
        }
        out.push_str(&text[at..r.start.max(at)]);
        if r.start >= at {
            out.push_str(label);
        }
        at = r.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Whether a text has a run of at least seven ASCII digits, spaces and hyphens, which every
/// identifier pattern needs.
fn has_number_run(text: &str) -> bool {
    let b = text.as_bytes();
    if b.len() < 16 {
        let mut run = 0;
        return b.iter().any(|&c| {
            run = if in_number(c) { run + 1 } else { 0 };
            run >= 7
        });
    }
    // Sixteen bytes at a time: bit k of `w` is whether byte `i - 16 + k` is a digit, so
    // every run of seven lies inside the window of some block, with the block before it.
    let mut prev = 0u32;
    let mut i = 0;
    while i < b.len() {
        let mask = mask_at(b, i, number_mask);
        let w = prev | (mask << 16);
        if w & (w >> 1) & (w >> 2) & (w >> 3) & (w >> 4) & (w >> 5) & (w >> 6) != 0 {
            return true;
        }
        prev = mask;
        i += 16;
    }
    false
}

/// [`mask_pii`] of an owned text, returned as is (no copy) when there is nothing to mask.
pub fn mask_pii_owned(text: String) -> String {
    masked(Cow::Owned(text)).into_owned()
}

/// The identifiers of [`mask_pii`] masked, without the names.
fn mask_numbers(mut text: String) -> String {
    // Every pattern needs a run of at least seven digits (or their spaces and hyphens):
    // most texts have none.
    if !has_number_run(&text) {
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
    #[test]
    fn numbers_a_spreadsheet_shortened_are_told_from_identifiers() {
        for shortened in [
            "1.38123E+10",
            "2E+11",
            "2.02403E+12",
            "1,38123E+10",
            "4.5e+17",
        ] {
            assert!(super::spreadsheet_shortened(shortened), "{shortened}");
        }
        for kept in [
            "13812345678",
            "H2E+11",
            "E+10",
            "1.5E10",
            "1.5E-3",
            "12E+10",
            "1.E+10",
            "1.38123E+",
            "1.38123E+1234",
            "oX_2E+11",
            "",
        ] {
            assert!(!super::spreadsheet_shortened(kept), "{kept}");
        }
    }

    use super::*;

    #[test]
    fn a_long_number_tells_its_digits_past_the_fifteenth() {
        assert_eq!(long_number_tail("2025030500012340"), Some((1, true)));
        assert_eq!(long_number_tail("2025030500012345"), Some((1, false)));
        assert_eq!(long_number_tail("110101199003070000"), Some((3, true)));
        assert_eq!(long_number_tail("11010119900307001X"), None);
        assert_eq!(long_number_tail("202503050001234"), None); // fifteen digits: kept whole
        assert_eq!(long_number_tail("13812345678"), None);
        assert_eq!(long_number_tail(""), None);
    }

    #[test]
    fn an_address_stem_drops_the_building_tail_only() {
        for (address, stem) in [
            ("桂园小区23号楼3单元", "桂园小区"),
            ("桂园小区5栋1201室", "桂园小区"),
            ("建设路12号3单元", "建设路12号"),
            ("建设路12号", "建设路12号"),
            ("桂园小区三单元", "桂园小区三单元"),
            ("阳光花园2-1201室", "阳光花园"),
            ("单元", "单元"),
            ("", ""),
        ] {
            assert_eq!(address_stem(address), stem, "{address}");
        }
    }

    proptest::proptest! {
        #[test]
        fn fast_path_agrees_with_the_full_normalisation(
            s in "[a-z1 \u{3000}\u{00a0}\u{0085}\u{1680}\u{2028}\u{205f}\u{2010}\u{ff0c}\u{ff08}\u{ff09}\u{ff0d}\u{ff1a}\u{ff10}-\u{ff19}\u{ff21}\u{ff5e}\u{ff5f}\u{ff00}\u{0800}\u{3042}\t\n\r\u{0b}\u{1c}\u{0}\u{7f}\u{9f}\u{200b}\u{200d}\u{2060}\u{feff}\u{fefe}é小区电梯😀]{0,24}(小区电梯abc){0,3}[ ，\u{3000}a]{0,2}"
        ) {
            let want = normalize_chars::<false>(&s);
            proptest::prop_assert_eq!(normalize_text(&s), want.as_str());
            // Borrowed exactly when nothing changes.
            let borrowed = matches!(normalized(&s), Cow::Borrowed(_));
            proptest::prop_assert_eq!(borrowed, want == s);
            let want = normalize_chars::<true>(&s);
            let free = normalized_free_text(&s);
            proptest::prop_assert_eq!(free.as_ref(), want.as_str());
            proptest::prop_assert_eq!(matches!(free, Cow::Borrowed(_)), want == s);
        }
    }

    /// The definition: seven ASCII digits, spaces, hyphens or dots in a row anywhere.
    fn has_number_run_bytewise(text: &str) -> bool {
        let mut run = 0;
        text.bytes().any(|c| {
            run = if c.is_ascii_digit() || matches!(c, b' ' | b'-' | b'.') {
                run + 1
            } else {
                0
            };
            run >= 7
        })
    }

    proptest::proptest! {
        #[test]
        fn digit_runs_are_found_block_by_block_as_byte_by_byte(
            s in "[0-9]{0,9}([a小/:9０ .-]{0,3}[0-9]{0,9}){0,6}"
        ) {
            proptest::prop_assert_eq!(has_number_run(&s), has_number_run_bytewise(&s), "{}", s);
        }

        /// The sixteen-bytes-at-a-time check never passes over a number in Chinese numerals.
        #[test]
        fn a_number_in_chinese_numerals_is_never_skipped(
            s in "[路小区电梯坏]{0,20}[0-9一二三四五六七八九零〇幺两十 -]{0,30}[了，a]{0,2}"
        ) {
            if !spelled_numbers(&s).is_empty() {
                proptest::prop_assert!(may_have_spelled_number(&s), "{}", s);
            }
        }
    }

    #[test]
    fn special_bytes_are_found_sixteen_at_a_time_as_one_by_one() {
        for c in 0..=255u8 {
            for len in [1, 7, 15, 16, 17, 31, 33] {
                for at in 0..len {
                    let mut t = vec![b'x'; len];
                    t[at] = c;
                    let want = if SPECIAL[usize::from(c)] { at } else { len };
                    for from in [0, at / 2, at] {
                        assert_eq!(next_special(&t, from), want, "{c:#x} at {at} of {len}");
                    }
                    assert_eq!(next_special(&t, len), len);
                }
            }
        }
        assert_eq!(next_special(b"", 0), 0);
        assert_eq!(next_special("阳光花园，3号楼".as_bytes(), 0), 12);
    }

    #[test]
    fn dropped_punctuation_found_sixteen_at_a_time() {
        for b in 0..=255u8 {
            let w = [b; 16];
            let want = if matches!(b, b'(' | b')' | b',' | b'-' | b'.') {
                0xFFFF
            } else {
                0
            };
            assert_eq!(dropped_ascii_mask(&w), want, "byte {b:#x}");
        }
        assert_eq!(address_key("幸福路12-3号(东门)"), "幸福路123号东门");
        assert_eq!(address_key("幸福路12号，东门、3.5栋"), "幸福路12号东门35栋");
        assert!(matches!(address_key("阳光花园3号楼"), Cow::Borrowed(_)));
    }

    #[test]
    fn digits_found_sixteen_at_a_time() {
        for b in 0..=255u8 {
            let mut w = [b; 16];
            w[3] = b'0';
            w[9] = b'9';
            w[10] = 0x80 | b'5';
            w[11] = b'/';
            w[12] = b':';
            let want = (0..16)
                .filter(|&k| in_number(w[k]))
                .fold(0, |m, k| m | 1 << k);
            assert_eq!(
                in_number(b),
                b.is_ascii_digit() || matches!(b, b' ' | b'-' | b'.')
            );
            assert_eq!(number_mask(&w), want, "byte {b:#x}");
        }
        assert!(has_number_run("电话13812345678"));
        assert!(has_number_run("电话139-1234-5678"));
        assert!(has_number_run("电话138.1234.5678"));
        // Where a number may be written in Chinese numerals, at any offset.
        for pad in 0..20 {
            let lead = "路".repeat(pad);
            for text in [
                "一三八一二三四五六七八",
                "幺三九 1234 5678",
                "1三8一2三4五6七8",
            ] {
                assert!(
                    may_have_spelled_number(&format!("{lead}{text}")),
                    "{pad} {text}"
                );
                assert!(
                    may_have_spelled_number(&format!("{lead}{text}了")),
                    "{pad} {text}"
                );
            }
            let plain = format!("{lead}小区电梯坏了一个多月，物业一直不修，三三两两的居民");
            assert!(!may_have_spelled_number(&plain), "{plain}");
        }
        assert!(!has_number_run("3号楼12层漏水，编号123456的表"));
        assert!(has_number_run("1234567"));
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
    fn free_text_keeps_chinese_punctuation() {
        assert_eq!(
            normalized_free_text("电梯坏了，没人修！（３号楼）ＡＢ－１ 问：何时？；"),
            "电梯坏了，没人修！（3号楼）AB-1 问：何时？；"
        );
        // Nothing to change: borrowed, even with its full-width commas.
        assert!(matches!(
            normalized_free_text("施工队拖欠工资，请尽快处理。"),
            Cow::Borrowed(_)
        ));
        // A number typed full-width, dash included, is still found and masked.
        let t = masked(normalized_free_text(
            "座机０１０－８７６５４３２１，手机１３８１２３４５６７８",
        ));
        assert_eq!(t, "座机[电话]，手机[手机号]");
    }

    #[test]
    fn control_and_invisible_characters() {
        // NUL and other controls become spaces (collapsed); zero-width characters and a
        // byte-order mark inside the text go, so the name still matches.
        assert_eq!(normalize_text("漏水\0\0严重\u{7f}"), "漏水 严重");
        assert_eq!(
            normalize_text("\u{feff}阳光\u{200b}花园\u{1a}3号楼"),
            "阳光花园 3号楼"
        );
        assert_eq!(address_key("\u{feff}阳光\u{200b}花园"), "阳光花园");
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
        // Numbers written in groups, with a country code or a trunk 0.
        for (text, want) in [
            ("请回电139-1234-5678谢谢", "请回电[手机号]谢谢"),
            ("电话 139 1234 5678", "电话 [手机号]"),
            ("电话+8613912345678", "电话[手机号]"),
            ("电话+86 139 1234 5678", "电话[手机号]"),
            ("电话8613912345678", "电话[手机号]"),
            ("电话008613912345678", "电话[手机号]"),
            ("电话013912345678", "电话[手机号]"),
            ("卡号6222 0212 3456 7890 123", "卡号[银行卡号]"),
            ("卡号6222-0212-3456-7890", "卡号[银行卡号]"),
            ("身份证110101 19900307 123X", "身份证[身份证号]"),
            ("座机010 87654321", "座机[电话]"),
            ("座机0755-8765432", "座机[电话]"),
            ("13812345678 13912345678", "[手机号] [手机号]"),
            ("1381234567812号3单元", "[号码]号3单元"),
            ("旧身份证110101900307123", "旧身份证[号码]"),
            ("工单20250305000123", "工单[号码]"),
            ("QQ:123456789", "QQ:[账号]"),
            ("qq号 12345678，", "qq号 [账号]，"),
            ("邮箱zhang.san@163.com谢谢", "邮箱[邮箱]谢谢"),
            ("回复到12345678@qq.com", "回复到[邮箱]"),
            ("微信号zhang_san88", "微信号[账号]"),
            ("加微信：wxid_abc123 联系", "加微信：[账号] 联系"),
            ("微信13812345678", "微信[手机号]"),
            // Dots between the groups, and a number typed as heard (session 39).
            ("电话138.1234.5678", "电话[手机号]"),
            ("电话一三八一二三四五六七八，谢谢", "电话[号码]，谢谢"),
            ("回电幺三九 1234 5678", "回电[号码]"),
            (
                "身份证号一一零一零一一九九零零三零七一二三四",
                "身份证号[号码]",
            ),
        ] {
            assert_eq!(mask_pii(text), want, "{text}");
        }
        // Dates, times, rooms and short codes are not identifiers.
        for text in [
            "2024-03-05 10:00停水",
            "2024年3月5日 3号楼 1201室",
            "编号123456的表",
            "10-12层 2-3单元",
            "01012345",
            "1234567890号",
            "微信群里通知了",
            "微信支付不了",
            "用微信abc付款",
            "QQ群",
            "@物业 请处理",
            "2024.03.05停水",
            "单价3.5元，共1234.56元",
            "三三两两、一五一十地说了七八遍",
            "一二三四五六七八九号楼",
        ] {
            assert_eq!(mask_pii(text), text);
        }
    }

    /// The text classifier leaves the mask labels out of its terms: it knows every label
    /// the masking writes.
    #[test]
    fn the_text_classifier_knows_every_mask_label() {
        let t = mask_pii(
            "联系人：王建国，电话13812345678，身份证110101199003071234，卡号6222021234567890123，\
             座机010-87654321，工单20250305000123，邮箱a.b@163.com，QQ:123456789，\
             微信号zhang_san88",
        );
        let labels: Vec<&str> = t
            .split('[')
            .skip(1)
            .filter_map(|s| s.split_once(']').map(|(l, _)| l))
            .collect();
        assert_eq!(labels.len(), 9, "{t}");
        for l in labels {
            assert!(
                weaksignal_models::classify::textcat::MASK_LABELS.contains(&l),
                "{l}"
            );
        }
    }

    #[test]
    fn masks_full_width_after_normalising() {
        let t = mask_pii(&normalize_text("电话１３８１２３４５６７８"));
        assert_eq!(t, "电话[手机号]");
    }
}
