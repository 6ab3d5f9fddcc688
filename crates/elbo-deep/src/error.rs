//! Errors of the deep models.

use std::path::PathBuf;

/// Everything that can go wrong in elbo-deep.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error from elbo-core (data loading, invalid parameters).
    #[error(transparent)]
    Core(#[from] elbo_core::Error),
    /// An error from elbo-classic (the closed-form reference fits).
    #[error(transparent)]
    Classic(#[from] elbo_classic::Error),
    /// A hyper-parameter outside its range.
    #[error("{name} must be {expected}, got {value}")]
    InvalidParam {
        /// The parameter's name.
        name: &'static str,
        /// The value given.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// Data of the wrong shape (e.g. images that are not 28×28).
    #[error("{0}")]
    Shape(String),
    /// The loss or bound became NaN or infinite.
    #[error("the {what} became {value} at {at}; lower the learning rate")]
    NonFinite {
        /// What diverged (`loss`, `bound`).
        what: &'static str,
        /// The value (NaN, inf).
        value: f64,
        /// Where (epoch, step).
        at: String,
    },
    /// A device that this build cannot provide.
    #[error("device `{name}` is not available: {reason}")]
    Device {
        /// The name asked for.
        name: String,
        /// Why not (not compiled in, unknown).
        reason: String,
    },
    /// A checkpoint that cannot be written or read.
    #[error("checkpoint {}: {problem}", path.display())]
    Checkpoint {
        /// The checkpoint file.
        path: PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// A collective operation among data-parallel replicas failed, or the
    /// replicas disagree.
    #[error("{0}")]
    Replicas(String),
    /// An I/O error on a named file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl Error {
    /// An out-of-range hyper-parameter.
    pub fn invalid(
        name: &'static str,
        value: impl std::fmt::Display,
        expected: &'static str,
    ) -> Self {
        Error::InvalidParam {
            name,
            value: value.to_string(),
            expected,
        }
    }
}

/// Result with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
