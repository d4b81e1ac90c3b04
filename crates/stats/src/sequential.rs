//! Sequential testing: mSPRT always-valid p-values and confidence sequences with a normal
//! mixture (Johari, Pekelis & Walsh 2017; the form GrowthBook and Optimizely use), and
//! group-sequential boundaries by Lan-DeMets alpha spending (O'Brien-Fleming-type and
//! Pocock-type), computed by recursive numerical integration (Armitage, McPherson & Rowe).

use serde::{Deserialize, Serialize};

use crate::error::{Result, StatsError, finite, positive, prob_open};
use crate::power::Sides;
use crate::quadrature::gauss_legendre;
use crate::special::{brent, norm_isf, norm_pdf, norm_sf};

/// One interim look: the estimate (e.g. difference of means) and its variance at that look.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Look {
    /// Estimated effect.
    pub estimate: f64,
    /// Variance of the estimate (its standard error squared).
    pub variance: f64,
}

/// The mSPRT result at one look.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MsprtLook {
    /// Mixture likelihood ratio at this look.
    pub likelihood_ratio: f64,
    /// Always-valid p-value: the running minimum of 1 / likelihood ratio, capped at 1.
    pub p_value: f64,
    /// Lower bound of the confidence sequence (running intersection).
    pub lower: f64,
    /// Upper bound of the confidence sequence.
    pub upper: f64,
}

/// mSPRT over a series of looks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MsprtResult {
    /// Mixing variance tau^2 of the normal prior on the effect under the alternative.
    pub tau_sq: f64,
    /// Significance level of the confidence sequence.
    pub alpha: f64,
    /// One entry per look.
    pub looks: Vec<MsprtLook>,
    /// The p-value at the last look.
    pub p_value: f64,
    /// Lower bound at the last look.
    pub lower: f64,
    /// Upper bound at the last look.
    pub upper: f64,
    /// Whether the last p-value is below alpha (safe to stop and reject).
    pub reject: bool,
}

/// GrowthBook's mixing variance per unit variance for a tuning sample size N* (the total
/// sample size at which the confidence sequence is tightest):
/// rho^2 = (-2 ln alpha + ln(1 - 2 ln alpha)) / N*. Multiply by the per-unit variance of the
/// estimate (its variance times n) to get tau^2.
pub fn mixing_rho_sq(alpha: f64, tuning_n: f64) -> Result<f64> {
    prob_open("alpha", alpha)?;
    positive("tuning sample size", tuning_n)?;
    let l = -2.0 * alpha.ln();
    Ok((l + (l + 1.0).ln()) / tuning_n)
}

/// mSPRT with normal mixture variance `tau_sq`, testing effect = 0.
pub fn msprt(looks: &[Look], tau_sq: f64, alpha: f64) -> Result<MsprtResult> {
    positive("tau_sq", tau_sq)?;
    prob_open("alpha", alpha)?;
    if looks.is_empty() {
        return Err(StatsError::InvalidInput {
            what: "looks",
            reason: "give at least one look".into(),
        });
    }
    let mut out = Vec::with_capacity(looks.len());
    let (mut p, mut lo, mut hi) = (1.0_f64, f64::NEG_INFINITY, f64::INFINITY);
    for l in looks {
        finite("estimate", l.estimate)?;
        positive("variance", l.variance)?;
        let v = l.variance;
        let ln_lr = 0.5 * (v / (v + tau_sq)).ln()
            + tau_sq * l.estimate * l.estimate / (2.0 * v * (v + tau_sq));
        p = p.min((-ln_lr).exp().min(1.0));
        let half =
            ((v * (v + tau_sq) / tau_sq) * (-2.0 * alpha.ln() + ((v + tau_sq) / v).ln())).sqrt();
        lo = lo.max(l.estimate - half);
        hi = hi.min(l.estimate + half);
        out.push(MsprtLook {
            likelihood_ratio: ln_lr.exp(),
            p_value: p,
            lower: lo,
            upper: hi,
        });
    }
    Ok(MsprtResult {
        tau_sq,
        alpha,
        looks: out,
        p_value: p,
        lower: lo,
        upper: hi,
        reject: p < alpha,
    })
}

/// An alpha-spending function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Spending {
    /// Lan-DeMets O'Brien-Fleming type: 2 - 2 Phi(z_{a/2} / sqrt(t)) per side.
    #[default]
    OBrienFleming,
    /// Lan-DeMets Pocock type: a ln(1 + (e - 1) t) per side.
    Pocock,
}

/// Group-sequential efficacy boundaries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Boundaries {
    /// Information fractions of the looks.
    pub fractions: Vec<f64>,
    /// Critical |z| at each look (z for one-sided).
    pub z: Vec<f64>,
    /// Nominal p-value at each look (two-sided for two-sided designs).
    pub nominal_p: Vec<f64>,
    /// Cumulative alpha spent by each look (both sides together).
    pub alpha_spent: Vec<f64>,
    /// Total alpha.
    pub alpha: f64,
    /// Sidedness.
    pub sides: Sides,
    /// Spending function.
    pub spending: Spending,
}

fn spend(s: Spending, a: f64, t: f64) -> f64 {
    match s {
        Spending::OBrienFleming => 2.0 * norm_sf(norm_isf(a / 2.0) / t.sqrt()),
        Spending::Pocock => a * (1.0 + (std::f64::consts::E - 1.0) * t).ln(),
    }
}

/// Lan-DeMets boundaries at the given information `fractions` (increasing, in (0, 1]).
/// Two-sided designs spend alpha / 2 per side symmetrically; one-sided designs spend alpha on
/// the upper side (the convention of R gsDesign / ldbounds).
pub fn lan_demets(
    fractions: &[f64],
    alpha: f64,
    sides: Sides,
    spending: Spending,
) -> Result<Boundaries> {
    prob_open("alpha", alpha)?;
    if fractions.is_empty() || fractions.len() > 50 {
        return Err(StatsError::InvalidInput {
            what: "information fractions",
            reason: format!("need between 1 and 50 looks, got {}", fractions.len()),
        });
    }
    let mut prev = 0.0;
    for &t in fractions {
        finite("information fraction", t)?;
        if !(t > prev && t <= 1.0) {
            return Err(StatsError::InvalidInput {
                what: "information fractions",
                reason: "they must increase strictly and lie in (0, 1]".into(),
            });
        }
        prev = t;
    }
    let two = sides == Sides::TwoSided;
    let a_side = if two { alpha / 2.0 } else { alpha };
    let rule = gauss_legendre(24);
    const PANELS: usize = 60;
    // The sub-density of S_k = Z_k sqrt(t_k) on the continuation region, on quadrature nodes.
    let mut nodes: Vec<f64> = Vec::new();
    let mut dens: Vec<f64> = Vec::new(); // density times quadrature weight
    let (mut z, mut nominal, mut spent) = (Vec::new(), Vec::new(), Vec::new());
    let mut spent_prev = 0.0;
    for (k, &t) in fractions.iter().enumerate() {
        let cum = spend(spending, a_side, t);
        let target = cum - spent_prev;
        let c = if k == 0 {
            norm_isf(target)
        } else {
            let dt = t - fractions[k - 1];
            let sd = dt.sqrt();
            let st = t.sqrt();
            let exit = |c: f64| -> f64 {
                let b = c * st;
                nodes
                    .iter()
                    .zip(&dens)
                    .map(|(u, w)| w * norm_sf((b - u) / sd))
                    .sum::<f64>()
                    - target
            };
            brent(exit, 0.0, 40.0, 1e-14).ok_or(StatsError::NoConvergence {
                what: "group-sequential boundary",
            })?
        };
        z.push(c);
        nominal.push(if two { 2.0 * norm_sf(c) } else { norm_sf(c) });
        spent_prev = cum;
        spent.push(if two { 2.0 * cum } else { cum });
        // New continuation-region density on fresh nodes.
        let st = t.sqrt();
        let upper = c * st;
        let lower = if two {
            -upper
        } else {
            -upper.abs() - 12.0 * st
        };
        let h = (upper - lower) / PANELS as f64;
        let mut new_nodes = Vec::with_capacity(PANELS * rule.0.len());
        let mut new_dens = Vec::with_capacity(PANELS * rule.0.len());
        for p in 0..PANELS {
            let mid = lower + h * (p as f64 + 0.5);
            for (x, w) in rule.0.iter().zip(&rule.1) {
                let s = mid + 0.5 * h * x;
                let f = if k == 0 {
                    norm_pdf(s / st) / st
                } else {
                    let sd = (t - fractions[k - 1]).sqrt();
                    nodes
                        .iter()
                        .zip(&dens)
                        .map(|(u, wu)| wu * norm_pdf((s - u) / sd) / sd)
                        .sum::<f64>()
                };
                new_nodes.push(s);
                new_dens.push(f * w * 0.5 * h);
            }
        }
        nodes = new_nodes;
        dens = new_dens;
    }
    Ok(Boundaries {
        fractions: fractions.to_vec(),
        z,
        nominal_p: nominal,
        alpha_spent: spent,
        alpha,
        sides,
        spending,
    })
}
