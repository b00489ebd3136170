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
