//! The typed error of the pipeline library.

use std::path::PathBuf;

/// Errors of the ingest, lake and simulation stages. Each names the file (and where it
/// applies the row and field) so the analyst can find the problem.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration file is unreadable or invalid.
    #[error("config {path}: {reason}")]
    Config {
        /// The config file.
        path: PathBuf,
        /// Every problem found, one per line.
        reason: String,
    },
    /// A source file cannot be read at all.
    #[error("source file {path}: {reason}")]
    Source {
        /// The file.
        path: PathBuf,
        /// Why (missing, wrong encoding, not an XLSX, …).
        reason: String,
    },
    /// A reference file (registry, taxonomy, lexicon) is invalid.
    #[error("reference file {path}, row {row}: {reason}")]
    Reference {
        /// The file.
        path: PathBuf,
        /// 1-based row (0 when the whole file is at fault).
        row: usize,
        /// What is wrong.
        reason: String,
    },
    /// No pseudonymisation key was provided.
    #[error("no pseudonymisation key: set WEAKSIGNAL_KEY or `privacy.key_file` in the config (the key must be kept apart from the data)")]
    NoKey,
    /// I/O on a path.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Arrow error.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Parquet error.
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// JSON (manifest, state) error.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// DataFusion (feature queries) error.
    #[error("datafusion: {0}")]
    DataFusion(#[from] datafusion::error::DataFusionError),
    /// A model, rule or fusion error.
    #[error("{0}")]
    Model(#[from] weaksignal_models::Error),
    /// The report could not be rendered.
    #[error("report: {0}")]
    Report(String),
    /// A broken invariant inside the pipeline (a bug, reported rather than a panic).
    #[error("internal: {0}")]
    Internal(String),
    /// Another run holds the lock.
    #[error("another run is in progress (lock {path}, held by pid {pid}); if it is not, delete the lock")]
    Locked {
        /// The lock file.
        path: PathBuf,
        /// The holder.
        pid: u32,
    },
    /// XLSX writing (simulation) error.
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

/// `Result` with the pipeline's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attaches a path to an I/O error.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            path: path.into(),
            source,
        })
    }
}
