//! The crate's error type.

use thiserror::Error;

/// Why a statistical routine could not produce a result.
///
/// The enum is `#[non_exhaustive]`: match on the variants you care about and
/// keep a catch-all arm. The `Display` text is meant for end users.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum StatsError {
    /// Fewer observations than the routine needs (for example a t-test with
    /// one value in a group, or Shapiro–Wilk outside 3 ≤ n ≤ 5000).
    #[error("too few observations for {what}: need {needed}, got {got}")]
    TooFewObservations {
        /// The routine or quantity that needed more data.
        what: &'static str,
        /// The minimum required.
        needed: usize,
        /// What was supplied.
        got: usize,
    },
    /// Input that is not acceptable: NaN or infinite values, mismatched
    /// lengths, probabilities outside [0, 1], negative times, and so on.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The data carry no information for the requested quantity: all
    /// values identical, a zero margin in a table, collinear covariates, a
    /// singular information matrix.
    #[error("degenerate data: {0}")]
    Degenerate(String),
    /// (Quasi-)complete separation in logistic regression, or a monotone
    /// likelihood in Cox regression: the maximum-likelihood estimate is
    /// infinite, so no finite coefficients, standard errors or Wald
    /// intervals exist.
    #[error("separation: {0}")]
    Separation(String),
    /// An iterative fit did not converge within its iteration limit.
    #[error("{what} did not converge within {iterations} iterations")]
    NonConvergence {
        /// The fit that failed.
        what: &'static str,
        /// The iteration limit that was reached.
        iterations: usize,
    },
}

impl StatsError {
    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        StatsError::InvalidInput(msg.into())
    }
    pub(crate) fn degenerate(msg: impl Into<String>) -> Self {
        StatsError::Degenerate(msg.into())
    }
}

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, StatsError>;

/// Checks that every value is finite.
pub(crate) fn check_finite(x: &[f64], what: &str) -> Result<()> {
    if let Some(i) = x.iter().position(|v| !v.is_finite()) {
        return Err(StatsError::invalid(format!(
            "{what}: value {} at position {i} is not finite",
            x[i]
        )));
    }
    Ok(())
}
