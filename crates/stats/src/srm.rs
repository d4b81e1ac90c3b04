//! Sample-ratio mismatch: a chi-square goodness-of-fit test of the observed units per variant
//! against the planned split. A tiny p-value means the assignment or logging is broken and the
//! experiment's results should not be trusted until that is explained.

use serde::{Deserialize, Serialize};

use crate::error::{Result, prob_open};
use crate::hypothesis::chi_square_gof;

/// The SRM check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SrmResult {
    /// Chi-square statistic.
    pub statistic: f64,
    /// p-value of the goodness-of-fit test.
    pub p_value: f64,
    /// Degrees of freedom (variants - 1).
    pub df: f64,
    /// Units observed per variant.
    pub observed: Vec<f64>,
    /// Units expected per variant under the planned split.
    pub expected: Vec<f64>,
    /// Observed share per variant.
    pub observed_share: Vec<f64>,
    /// Planned share per variant (normalised).
    pub expected_share: Vec<f64>,
    /// The p-value below which a mismatch is declared.
    pub threshold: f64,
    /// Whether `p_value < threshold`.
    pub mismatch: bool,
}

/// Tests observed `counts` against the planned `weights` (e.g. [1, 1] or [0.5, 0.25, 0.25]).
/// A common `threshold` is 0.001, strict because the check runs on every experiment.
pub fn srm(counts: &[f64], weights: &[f64], threshold: f64) -> Result<SrmResult> {
    prob_open("threshold", threshold)?;
    let r = chi_square_gof(counts, weights)?;
    let total: f64 = counts.iter().sum();
    let wsum: f64 = weights.iter().sum();
    Ok(SrmResult {
        statistic: r.statistic,
        p_value: r.p_value,
        df: r.df,
        observed: counts.to_vec(),
        expected: r.expected.into_iter().next().unwrap_or_default(),
        observed_share: counts.iter().map(|c| c / total).collect(),
        expected_share: weights.iter().map(|w| w / wsum).collect(),
        threshold,
        mismatch: r.p_value < threshold,
    })
}
