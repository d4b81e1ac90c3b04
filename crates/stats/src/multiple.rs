//! Multiple-testing corrections: Bonferroni, Šidák, Holm, Hochberg, Benjamini-Hochberg and
//! Benjamini-Yekutieli, as adjusted p-values (statsmodels `multipletests` conventions) with
//! rejection flags `adjusted <= alpha`.

use serde::{Deserialize, Serialize};

use crate::error::{Result, StatsError, prob_open};

/// A correction method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Correction {
    /// Family-wise: p * m.
    Bonferroni,
    /// Family-wise: 1 - (1 - p)^m.
    Sidak,
    /// Family-wise, step-down.
    #[default]
    Holm,
    /// Family-wise, step-up (valid under independence or positive dependence).
    Hochberg,
    /// False discovery rate, step-up.
    BenjaminiHochberg,
    /// False discovery rate under arbitrary dependence.
    BenjaminiYekutieli,
    /// No correction.
    None,
}

/// Adjusted p-values and decisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adjusted {
    /// Method used.
    pub method: Correction,
    /// Family-wise error rate or false discovery rate controlled.
    pub alpha: f64,
    /// Adjusted p-values, in input order.
    pub adjusted: Vec<f64>,
    /// Whether each hypothesis is rejected.
    pub reject: Vec<bool>,
}

/// Adjusts `p_values` for multiple testing.
pub fn adjust(p_values: &[f64], method: Correction, alpha: f64) -> Result<Adjusted> {
    prob_open("alpha", alpha)?;
    if p_values.is_empty() {
        return Err(StatsError::InvalidInput {
            what: "p-values",
            reason: "give at least one p-value".into(),
        });
    }
    for &p in p_values {
        if !p.is_finite() {
            return Err(StatsError::NotFinite {
                name: "p-value",
                got: p,
            });
        }
        if !(0.0..=1.0).contains(&p) {
            return Err(StatsError::OutOfRange {
                name: "p-value",
                expected: "between 0 and 1",
                got: p,
            });
        }
    }
    let m = p_values.len();
    let mf = m as f64;
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p_values[a].total_cmp(&p_values[b]));
    let sorted: Vec<f64> = order.iter().map(|&i| p_values[i]).collect();
    let mut adj_sorted = vec![0.0; m];
    match method {
        Correction::None => adj_sorted.clone_from(&sorted),
        Correction::Bonferroni => {
            for (a, p) in adj_sorted.iter_mut().zip(&sorted) {
                *a = (p * mf).min(1.0);
            }
        }
        Correction::Sidak => {
            for (a, p) in adj_sorted.iter_mut().zip(&sorted) {
                *a = -(mf * (-p).ln_1p()).exp_m1();
            }
        }
        Correction::Holm => {
            let mut run: f64 = 0.0;
            for (i, p) in sorted.iter().enumerate() {
                run = run.max((mf - i as f64) * p);
                adj_sorted[i] = run.min(1.0);
            }
        }
        Correction::Hochberg | Correction::BenjaminiHochberg | Correction::BenjaminiYekutieli => {
            let c: f64 = if method == Correction::BenjaminiYekutieli {
                (1..=m).map(|k| 1.0 / k as f64).sum()
            } else {
                1.0
            };
            let mut run: f64 = f64::INFINITY;
            for i in (0..m).rev() {
                let rank = (i + 1) as f64;
                let v = if method == Correction::Hochberg {
                    (mf - rank + 1.0) * sorted[i]
                } else {
                    sorted[i] * mf * c / rank
                };
                run = run.min(v);
                adj_sorted[i] = run.min(1.0);
            }
        }
    }
    let mut adjusted = vec![0.0; m];
    for (k, &i) in order.iter().enumerate() {
        adjusted[i] = adj_sorted[k];
    }
    let reject = adjusted.iter().map(|&a| a <= alpha).collect();
    Ok(Adjusted {
        method,
        alpha,
        adjusted,
        reject,
    })
}
