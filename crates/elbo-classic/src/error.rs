//! The error type of elbo-classic.

/// Everything that can go wrong while fitting a classical model.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid data or parameters, a decreasing bound, … (from elbo-core).
    #[error(transparent)]
    Core(#[from] elbo_core::Error),
    /// A linear-algebra step failed numerically.
    #[error("{what} failed: {hint}")]
    Numerical {
        /// The step.
        what: &'static str,
        /// What the user can do about it.
        hint: &'static str,
    },
}

/// `Result` with elbo-classic's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
