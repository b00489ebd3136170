//! Finding and registering a CJK font so chart labels render as real glyphs.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// The font family name charts use.
pub const FAMILY: &str = "weaksignal-cjk";

/// Where CJK fonts live on common systems (Debian's fonts-wqy-microhei first).
pub const CANDIDATES: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/wenquanyi/wqy-microhei/wqy-microhei.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:\\Windows\\Fonts\\msyh.ttc",
];

/// The font to use: `explicit`, else `WEAKSIGNAL_FONT`, else the first candidate present.
///
/// # Errors
/// [`Error::Font`] naming what was tried and how to install one.
pub fn find(explicit: Option<&Path>) -> Result<PathBuf> {
    let env = std::env::var_os("WEAKSIGNAL_FONT").map(PathBuf::from);
    let tried: Vec<PathBuf> = explicit
        .map(Path::to_path_buf)
        .into_iter()
        .chain(env)
        .chain(CANDIDATES.iter().map(PathBuf::from))
        .collect();
    tried.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        Error::Font(format!(
            "none of {} exists; install one (Debian: `apt-get install fonts-wqy-microhei`) or set \
             WEAKSIGNAL_FONT to a .ttf/.ttc with Chinese glyphs",
            tried
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

/// Loads the font and registers it with plotters under [`FAMILY`] (once per process).
///
/// # Errors
/// [`Error::Font`] when the file is missing, unreadable or not a font with Chinese glyphs.
pub fn register(explicit: Option<&Path>) -> Result<PathBuf> {
    static DONE: std::sync::OnceLock<std::result::Result<PathBuf, String>> =
        std::sync::OnceLock::new();
    let r = DONE.get_or_init(|| {
        let path = find(explicit).map_err(|e| e.to_string())?;
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        // plotters keeps a &'static font: the bytes live for the process (one font, once).
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        plotters::style::register_font(FAMILY, plotters::style::FontStyle::Normal, bytes)
            .map_err(|_| format!("{} is not a font plotters can read", path.display()))?;
        Ok(path)
    });
    r.clone().map_err(Error::Font)
}
