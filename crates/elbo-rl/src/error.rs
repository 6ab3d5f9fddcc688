//! Errors of elbo-rl: one enum for the crate (STYLE.md §2.4).

/// Everything that can go wrong in elbo-rl.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    /// An environment name that [`crate::env::AnyEnv::by_name`] does not know.
    #[error("unknown environment `{name}`; known: {known}")]
    UnknownEnv {
        /// The name asked for.
        name: String,
        /// The names that exist, comma-separated.
        known: String,
    },
    /// A state or action of the wrong length for the environment.
    #[error("{what} of {env} has length {expected}, got {got}")]
    Shape {
        /// `state`, `action`, `observation`.
        what: &'static str,
        /// The environment.
        env: &'static str,
        /// The length it must have.
        expected: usize,
        /// The length given.
        got: usize,
    },
    /// An action of the wrong kind (discrete for a continuous environment or
    /// the reverse) or out of range.
    #[error("invalid action for {env}: {reason}")]
    Action {
        /// The environment.
        env: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A loss, return or parameter became NaN or infinite.
    #[error(
        "the {what} became {value} at iteration {iteration}; lower the learning rate or the step size"
    )]
    NonFinite {
        /// What diverged.
        what: &'static str,
        /// The value.
        value: f64,
        /// The iteration.
        iteration: usize,
    },
    /// Reading or writing a file (reference trajectories, metrics).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The VIME dynamics model (a Bayes-by-Backprop network of elbo-deep).
    #[error("dynamics model: {0}")]
    Dynamics(#[from] elbo_deep::Error),
    /// Malformed JSON.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// `Err(InvalidParam)` unless `ok`.
pub(crate) fn check(
    ok: bool,
    name: &'static str,
    value: impl ToString,
    expected: &'static str,
) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidParam {
            name,
            value: value.to_string(),
            expected,
        })
    }
}
