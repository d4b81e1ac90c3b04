//! Test duration: how many days of eligible traffic a design needs, given the share of
//! traffic in the experiment and the number of variants. With more than one treatment the
//! per-comparison alpha is corrected (Bonferroni or Šidák over the k - 1 comparisons with the
//! control), and traffic is split equally between all k variants.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StatsError, positive, prob_open};
use crate::power::{Design, SampleSize};

/// Correction of alpha across treatment-versus-control comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VariantCorrection {
    /// alpha / (k - 1).
    #[default]
    Bonferroni,
    /// 1 - (1 - alpha)^(1 / (k - 1)).
    Sidak,
    /// No correction.
    None,
}

/// How long the experiment must run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Duration {
    /// Whole days needed.
    pub days: u64,
    /// Days before rounding up.
    pub days_exact: f64,
    /// Units per variant (rounded up).
    pub n_per_group: u64,
    /// Units per variant before rounding.
    pub n_per_group_exact: f64,
    /// Units over all variants.
    pub n_total: u64,
    /// Number of variants including control.
    pub variants: u32,
    /// The alpha used for each comparison after correction.
    pub alpha_per_comparison: f64,
    /// Eligible units per day.
    pub daily_traffic: f64,
    /// Share of eligible traffic in the experiment.
    pub allocation: f64,
}

/// Days needed for `design` (its alpha is the family-wise level and its ratio is ignored:
/// variants get equal shares) to reach `power` at `effect`.
pub fn duration(
    design: &Design,
    effect: f64,
    power: f64,
    daily_traffic: f64,
    allocation: f64,
    variants: u32,
    correction: VariantCorrection,
) -> Result<Duration> {
    positive("daily traffic", daily_traffic)?;
    positive("allocation", allocation)?;
    if allocation > 1.0 {
        return Err(StatsError::OutOfRange {
            name: "allocation",
            expected: "in (0, 1], the share of traffic in the experiment",
            got: allocation,
        });
    }
    if variants < 2 {
        return Err(StatsError::OutOfRange {
            name: "variants",
            expected: "at least 2 (control plus one treatment)",
            got: f64::from(variants),
        });
    }
    prob_open("alpha", design.alpha)?;
    let m = f64::from(variants - 1);
    let alpha = match correction {
        VariantCorrection::Bonferroni => design.alpha / m,
        VariantCorrection::Sidak => -((-design.alpha).ln_1p() / m).exp_m1(),
        VariantCorrection::None => design.alpha,
    };
    let d = Design {
        alpha,
        ratio: 1.0,
        ..*design
    };
    let SampleSize {
        n_per_group,
        n_per_group_exact,
        ..
    } = d.sample_size(effect, power)?;
    let n_total = n_per_group * u64::from(variants);
    let days_exact = n_total as f64 / (daily_traffic * allocation);
    Ok(Duration {
        days: days_exact.ceil() as u64,
        days_exact,
        n_per_group,
        n_per_group_exact,
        n_total,
        variants,
        alpha_per_comparison: alpha,
        daily_traffic,
        allocation,
    })
}
