//! The typed error of the models crate.

/// Errors raised by the pure algorithms: bad parameters or unusable series.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter is out of its valid range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter {
        /// The parameter's name, as in the builder.
        name: &'static str,
        /// What is wrong with it, with the value given.
        reason: String,
    },
    /// A series cannot be scored by the detector (too short, bad values, wrong frequency).
    #[error("series cannot be scored by {detector}: {reason}")]
    BadSeries {
        /// The detector that refused the series.
        detector: &'static str,
        /// Why, with the offending index or value.
        reason: String,
    },
    /// A model was asked to train or score on too little data.
    #[error("{model}: too little data to {what}: {reason}")]
    TooLittleData {
        /// The model.
        model: &'static str,
        /// Train or score.
        what: &'static str,
        /// What was missing, with the counts.
        reason: String,
    },
    /// A model or rule artefact is inconsistent with the data it is given.
    #[error("{0}")]
    Mismatch(String),
    /// A rule file is invalid.
    #[error("rules line {line}: {reason}")]
    Rule {
        /// 1-based line in the rule file.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The learning library failed.
    #[error("{model}: {reason}")]
    Fit {
        /// The model.
        model: &'static str,
        /// The library's message.
        reason: String,
    },
}

/// `Result` with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn param(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name,
            reason: reason.into(),
        }
    }
    pub(crate) fn series(detector: &'static str, reason: impl Into<String>) -> Self {
        Error::BadSeries {
            detector,
            reason: reason.into(),
        }
    }
}
