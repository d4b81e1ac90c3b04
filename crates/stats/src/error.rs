//! The one error type every function in the crate returns.
//!
//! Variants carry the offending name and value so a caller (the CLI, the HTTP API, the
//! assistant) can say what was wrong and what would have been valid without parsing text.

use thiserror::Error;

/// Why a calculation could not be done.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum StatsError {
    /// A number was NaN or infinite.
    #[error("{name} must be a finite number, got {got}")]
    NotFinite {
        /// The parameter's name as the caller spelled it.
        name: &'static str,
        /// The value given.
        got: f64,
    },
    /// A number was outside the range the method accepts.
    #[error("{name} must be {expected}, got {got}")]
    OutOfRange {
        /// The parameter's name.
        name: &'static str,
        /// The valid range in words, for example "in (0, 1)".
        expected: &'static str,
        /// The value given.
        got: f64,
    },
    /// The inputs are individually valid but together describe something that cannot be
    /// computed or solved, for example a power below alpha or a lift that pushes a rate above 1.
    #[error("{what}: {reason}")]
    Unsolvable {
        /// What was being computed.
        what: &'static str,
        /// Why it has no answer, and what would.
        reason: String,
    },
    /// Structured input (a table, a list of samples) has the wrong shape.
    #[error("{what} is invalid: {reason}")]
    InvalidInput {
        /// Which input.
        what: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// An iterative method did not converge; this indicates inputs at the edge of what
    /// double precision can represent.
    #[error("{what} did not converge; try less extreme inputs")]
    NoConvergence {
        /// Which computation.
        what: &'static str,
    },
}

/// Shorthand for results in this crate.
pub type Result<T> = std::result::Result<T, StatsError>;

/// Checks that `x` is finite.
pub(crate) fn finite(name: &'static str, x: f64) -> Result<f64> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(StatsError::NotFinite { name, got: x })
    }
}

/// Checks that `x` lies in the open interval (0, 1).
pub(crate) fn prob_open(name: &'static str, x: f64) -> Result<f64> {
    finite(name, x)?;
    if x > 0.0 && x < 1.0 {
        Ok(x)
    } else {
        Err(StatsError::OutOfRange {
            name,
            expected: "strictly between 0 and 1",
            got: x,
        })
    }
}

/// Checks that `x` is finite and strictly positive.
pub(crate) fn positive(name: &'static str, x: f64) -> Result<f64> {
    finite(name, x)?;
    if x > 0.0 {
        Ok(x)
    } else {
        Err(StatsError::OutOfRange {
            name,
            expected: "greater than 0",
            got: x,
        })
    }
}

/// Checks that `x` is finite and not negative.
pub(crate) fn non_negative(name: &'static str, x: f64) -> Result<f64> {
    finite(name, x)?;
    if x >= 0.0 {
        Ok(x)
    } else {
        Err(StatsError::OutOfRange {
            name,
            expected: "0 or greater",
            got: x,
        })
    }
}

/// Checks that every element of a slice is finite.
pub(crate) fn all_finite(name: &'static str, xs: &[f64]) -> Result<()> {
    for &x in xs {
        finite(name, x)?;
    }
    Ok(())
}
