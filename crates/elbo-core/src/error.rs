//! The error type of elbo-core.

use std::path::PathBuf;

/// Everything that can go wrong in elbo-core. Every variant names what was
/// wrong and where, so the command line can print it as one clear line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating-system error.
        #[source]
        source: std::io::Error,
    },
    /// A file was read but its content is not what was expected.
    #[error("{path}:{line}: {problem}")]
    Parse {
        /// The file (or the embedded data set's name).
        path: PathBuf,
        /// 1-based line number for text files; the byte offset for binary ones.
        line: usize,
        /// What is wrong, in words.
        problem: String,
    },
    /// A hyper-parameter or argument is outside its valid range.
    #[error("`{name}` must be {expected}, got {value}")]
    InvalidParam {
        /// The parameter's name as the user writes it.
        name: &'static str,
        /// The value received.
        value: String,
        /// The valid range, in words ("greater than 0").
        expected: &'static str,
    },
    /// Arrays whose shapes do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// The data are unusable (empty, NaN, infinite, …).
    #[error("invalid data: {0}")]
    Data(String),
    /// A coordinate-ascent bound went down: a bug in the updates, not noise.
    #[error(
        "the bound decreased at iteration {iter}: {previous} -> {current} \
         (a CAVI bound never decreases; this is a bug, please report it)"
    )]
    BoundDecreased {
        /// The iteration (0-based) whose bound was lower.
        iter: usize,
        /// The bound before.
        previous: f64,
        /// The bound after.
        current: f64,
    },
    /// The bound or a parameter became NaN or infinite.
    #[error("the bound is not finite at iteration {iter} ({value}); {hint}")]
    NonFiniteBound {
        /// The iteration.
        iter: usize,
        /// The value.
        value: f64,
        /// What to try.
        hint: &'static str,
    },
    /// A matrix that must be positive definite is not.
    #[error("{what} is not positive definite; {hint}")]
    NotPositiveDefinite {
        /// Which matrix.
        what: &'static str,
        /// What to try.
        hint: &'static str,
    },
    /// An unknown name (data set, option value, …).
    #[error("unknown {kind} `{name}`; expected one of: {choices}")]
    Unknown {
        /// What kind of thing was named.
        kind: &'static str,
        /// The name received.
        name: String,
        /// The valid names.
        choices: String,
    },
}

/// `Result` with elbo-core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidParam`].
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_send_sync_and_messages_name_the_problem() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Error>();
        let e = Error::Parse {
            path: "a.csv".into(),
            line: 3,
            problem: "expected 2 fields, found 3".into(),
        };
        assert_eq!(e.to_string(), "a.csv:3: expected 2 fields, found 3");
        let e = Error::invalid("a0", -1.0, "greater than or equal to 0");
        assert_eq!(
            e.to_string(),
            "`a0` must be greater than or equal to 0, got -1"
        );
    }
}
