//! Typed failures of the report writer.
//!
//! Every failure names what it was doing, so that a load run that measured for an hour and
//! then could not write its report says where, instead of panicking and losing the numbers.

use std::path::PathBuf;

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Creating the report directory or writing one of its files failed.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file or directory that could not be written.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// Drawing or encoding a plot failed (the message names the plot).
    #[error("plot: {0}")]
    Plot(String),
    /// Serialising `summary.json` failed.
    #[error("summary.json: {0}")]
    Json(String),
}

impl ReportError {
    /// An I/O failure on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// Writes `contents` to `path`, mapping failures to [`ReportError::Io`].
pub(crate) fn write_file(path: &std::path::Path, contents: &[u8]) -> Result<(), ReportError> {
    std::fs::write(path, contents).map_err(|e| ReportError::io(path, e))
}
