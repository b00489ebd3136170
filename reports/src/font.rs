//! The CJK font chart labels are drawn with, registered so that they render as real glyphs,
//! and the subset of it the HTML report embeds.
//!
//! WenQuanYi Micro Hei is built into the binary (`reports/fonts/`, Apache-2.0), so a machine
//! with no CJK font installed still renders Chinese labels; an analyst may name another font
//! (the config's `scoring.font` or `WEAKSIGNAL_FONT`). The report's text falls back to the
//! glyphs it uses of the built-in font ([`web_subset`]) where the reader's system has none
//! of the CJK fonts it names.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The font family name charts use.
pub const FAMILY: &str = "weaksignal-cjk";

/// WenQuanYi Micro Hei 0.2.0-beta, as Debian's `fonts-wqy-microhei` ships it.
pub static BUNDLED: &[u8] = include_bytes!("../fonts/wqy-microhei.ttc");

/// The name reports give the built-in font.
pub const BUNDLED_NAME: &str = "WenQuanYi Micro Hei (built in)";

/// The font charts are drawn with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FontChoice {
    /// A file the analyst named.
    File(PathBuf),
    /// The built-in WenQuanYi Micro Hei.
    Bundled,
}

impl std::fmt::Display for FontChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FontChoice::File(p) => write!(f, "{}", p.display()),
            FontChoice::Bundled => f.write_str(BUNDLED_NAME),
        }
    }
}

/// The font to use: `explicit` (the config's), else `WEAKSIGNAL_FONT`, else the built-in one.
///
/// # Errors
/// [`Error::Font`] when a font was named and is not a file: a name that is wrong must not
/// quietly turn into another font.
pub fn find(explicit: Option<&Path>) -> Result<FontChoice> {
    let env = std::env::var_os("WEAKSIGNAL_FONT")
        .filter(|v| !v.is_empty())
        .map(|v| (PathBuf::from(v), "WEAKSIGNAL_FONT"));
    let named = explicit
        .map(|p| (p.to_path_buf(), "the config's scoring.font"))
        .or(env);
    match named {
        None => Ok(FontChoice::Bundled),
        Some((p, _)) if p.is_file() => Ok(FontChoice::File(p)),
        Some((p, by)) => Err(Error::Font(format!(
            "{} (named by {by}) is not a file; name a .ttf/.ttc with Chinese glyphs, or name \
             none to use the built-in WenQuanYi Micro Hei",
            p.display()
        ))),
    }
}

/// Loads the font [`find`] chooses and registers it with plotters under [`FAMILY`] (once per
/// process); returns the choice.
///
/// # Errors
/// [`Error::Font`] when a named font is missing, unreadable or not a font plotters can read.
pub fn register(explicit: Option<&Path>) -> Result<FontChoice> {
    static DONE: std::sync::OnceLock<std::result::Result<FontChoice, String>> =
        std::sync::OnceLock::new();
    let r = DONE.get_or_init(|| {
        let choice = find(explicit).map_err(|e| e.to_string())?;
        let bytes: &'static [u8] = match &choice {
            FontChoice::Bundled => BUNDLED,
            FontChoice::File(path) => {
                let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
                // plotters keeps a &'static font: the bytes live for the process (one font, once).
                Box::leak(bytes.into_boxed_slice())
            }
        };
        plotters::style::register_font(FAMILY, plotters::style::FontStyle::Normal, bytes)
            .map_err(|_| format!("{choice} is not a font plotters can read"))?;
        Ok(choice)
    });
    r.clone().map_err(Error::Font)
}

/// The glyphs of the built-in font for the characters of `text` it has, as a WOFF2 font for
/// the report's `@font-face` (a few hundred characters: about 40 KB).
///
/// # Errors
/// [`Error::Font`] when the built-in face cannot be read or subset (it can: a test renders
/// every report through this).
pub fn web_subset(text: &str) -> Result<Vec<u8>> {
    static FACE: std::sync::OnceLock<std::result::Result<Vec<u8>, String>> =
        std::sync::OnceLock::new();
    let face = FACE
        .get_or_init(|| first_face(BUNDLED).ok_or_else(|| "not a font collection".to_string()))
        .as_ref()
        .map_err(|e| Error::Font(format!("{BUNDLED_NAME}: {e}")))?;
    let bad = |e: font_subset::ParseError| Error::Font(format!("{BUNDLED_NAME}: {e}"));
    let font = font_subset::Font::opentype(face).map_err(bad)?;
    let chars: std::collections::BTreeSet<char> =
        text.chars().filter(|&c| font.contains_char(c)).collect();
    Ok(font.subset(&chars).map_err(bad)?.to_woff2())
}

/// The first face of a TrueType collection (`ttcf`) as a font file of its own, its tables'
/// and the file's checksums computed again; `None` when `ttc` is not a collection or ends
/// early. The font's deprecated direction hint is set to 2, as the specification asks and
/// the subsetter checks (WenQuanYi Micro Hei has 0).
fn first_face(ttc: &[u8]) -> Option<Vec<u8>> {
    if ttc.get(..4)? != b"ttcf" {
        return None;
    }
    let face = be32(ttc, 12)? as usize;
    let tables = usize::from(u16::from_be_bytes(
        ttc.get(face + 4..face + 6)?.try_into().ok()?,
    ));
    let data_start = 12 + 16 * tables;
    let mut out = ttc.get(face..face + 12)?.to_vec();
    let mut data = Vec::new();
    let mut head = None;
    for i in 0..tables {
        let record = face + 12 + 16 * i;
        let tag = ttc.get(record..record + 4)?;
        let (offset, len) = (be32(ttc, record + 8)? as usize, be32(ttc, record + 12)?);
        let mut table = ttc.get(offset..offset + len as usize)?.to_vec();
        if tag == b"head" {
            // The file's checksum is counted with its own field as 0.
            table.get_mut(8..12)?.fill(0);
            table.get_mut(48..50)?.copy_from_slice(&2u16.to_be_bytes());
            head = Some(data_start + data.len());
        }
        out.extend_from_slice(tag);
        out.extend_from_slice(&checksum(&table).to_be_bytes());
        out.extend_from_slice(&u32::try_from(data_start + data.len()).ok()?.to_be_bytes());
        out.extend_from_slice(&len.to_be_bytes());
        data.extend_from_slice(&table);
        data.resize(data.len().next_multiple_of(4), 0);
    }
    out.extend_from_slice(&data);
    let adjustment = 0xB1B0_AFBAu32.wrapping_sub(checksum(&out));
    let at = head? + 8;
    out.get_mut(at..at + 4)?
        .copy_from_slice(&adjustment.to_be_bytes());
    Some(out)
}

/// The big-endian `u32` at byte `at` of `b`.
fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// An OpenType checksum: the wrapping sum of the big-endian words, the last padded with 0.
fn checksum(bytes: &[u8]) -> u32 {
    bytes.chunks(4).fold(0u32, |sum, w| {
        let mut word = [0u8; 4];
        word[..w.len()].copy_from_slice(w);
        sum.wrapping_add(u32::from_be_bytes(word))
    })
}
