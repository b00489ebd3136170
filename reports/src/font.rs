//! The CJK font chart labels are drawn with, registered so that they render as real glyphs.
//!
//! WenQuanYi Micro Hei is built into the binary (`reports/fonts/`, Apache-2.0), so a machine
//! with no CJK font installed still renders Chinese labels; an analyst may name another font
//! (the config's `scoring.font` or `WEAKSIGNAL_FONT`).

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
