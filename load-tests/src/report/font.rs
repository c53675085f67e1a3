//! Finds a TrueType font at run time and hands it to plotters.
//!
//! plotters is built without system font loading (no fontconfig, nothing to install on CI),
//! so text in charts needs a font registered by hand. Debian's `fonts-dejavu-core` puts
//! DejaVu Sans, which covers Vietnamese, where we look first; `SIGNQ_FONT` names another.
//! plotters measures every label with this font even for SVG output, so without one the
//! charts are drawn without text and the report says so.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::style::FontStyle;

/// Environment variable naming a TTF/OTF file to use instead of the default locations.
pub const FONT_ENV: &str = "SIGNQ_FONT";

/// Where the font is looked for after [`FONT_ENV`], first existing wins.
pub const FONT_PATHS: [&str; 2] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// The family name under which the font is registered; charts ask for this family.
pub(crate) const FAMILY: &str = "sans-serif";

/// What came of looking for a font, decided once per process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FontStatus {
    /// The font at this path is registered; charts can draw text.
    Loaded(PathBuf),
    /// No usable font; the reason, for the report's notes.
    Missing(String),
}

impl FontStatus {
    /// Whether charts can draw text.
    pub(crate) fn has_text(&self) -> bool {
        matches!(self, Self::Loaded(_))
    }
}

/// Registers the first usable font (once per process) and says which, or why none.
pub(crate) fn ensure() -> &'static FontStatus {
    static STATUS: OnceLock<FontStatus> = OnceLock::new();
    STATUS.get_or_init(|| {
        let from_env = std::env::var_os(FONT_ENV).map(PathBuf::from);
        let candidates = from_env
            .into_iter()
            .chain(FONT_PATHS.iter().map(PathBuf::from));
        let mut tried = Vec::new();
        for path in candidates {
            match register(&path) {
                Ok(()) => return FontStatus::Loaded(path),
                Err(why) => tried.push(format!("{}: {why}", path.display())),
            }
        }
        FontStatus::Missing(format!(
            "no font could be loaded ({}); install fonts-dejavu-core or set {FONT_ENV}",
            tried.join("; ")
        ))
    })
}

/// Reads and registers one font file.
fn register(path: &Path) -> Result<(), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    // plotters keeps fonts for the life of the process and wants `'static` bytes; this runs
    // at most once per candidate, once per process.
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font(FAMILY, FontStyle::Normal, bytes)
        .map_err(|_| "not a TrueType/OpenType font".to_owned())
}
