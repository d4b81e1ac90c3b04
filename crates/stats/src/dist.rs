//! Distribution functions built on [`crate::special`]: Student t (central and noncentral),
//! chi-square, F, beta and hypergeometric.
//!
//! Quantiles are found by Brent's method on the CDF rather than by approximation formulas, so
//! they are as accurate as the CDFs themselves (a few ulps in most of the range).

use crate::special::{beta_inc, brent, gamma_inc, ln_beta, ln_gamma, norm_cdf, norm_ppf};

/// Student t CDF with `df > 0` degrees of freedom.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    if df > 1e15 {
        return norm_cdf(t);
    }
    let t2 = t * t;
    // The tail beyond |t| is I_x(df/2, 1/2) / 2 with x = df / (df + t^2).
    let (x, y) = (df / (df + t2), t2 / (df + t2));
    let tail = 0.5 * beta_inc(0.5 * df, 0.5, x, y).0;
    if t > 0.0 { 1.0 - tail } else { tail }
}

/// Student t survival function P(T > t).
pub fn t_sf(t: f64, df: f64) -> f64 {
    t_cdf(-t, df)
}

/// Student t quantile for `p` in (0, 1).
pub fn t_ppf(p: f64, df: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p > 0.5 {
        return -t_ppf_lower(1.0 - p, df);
    }
    t_ppf_lower(p, df)
}

/// The t with P(T < t) = p for p < 1/2 (so t < 0).
fn t_ppf_lower(p: f64, df: f64) -> f64 {
    let mut lo = norm_ppf(p).min(-1.0);
    for _ in 0..3000 {
        if t_cdf(lo, df) < p {
            break;
        }
        lo *= 2.0;
        if !lo.is_finite() {
            return f64::NEG_INFINITY;
        }
    }
    brent(|t| t_cdf(t, df) - p, lo, 0.0, 0.0).unwrap_or(f64::NAN)
}

/// Upper-tail Student t quantile: the t with P(T > t) = q.
pub fn t_isf(q: f64, df: f64) -> f64 {
    -t_ppf(q, df)
}

/// Chi-square CDF with `k > 0` degrees of freedom.
pub fn chi2_cdf(x: f64, k: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    gamma_inc(0.5 * k, 0.5 * x).0
}

/// Chi-square survival function (the p-value of a chi-square statistic).
pub fn chi2_sf(x: f64, k: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    gamma_inc(0.5 * k, 0.5 * x).1
}

/// F distribution survival function with `d1, d2` degrees of freedom.
pub fn f_sf(x: f64, d1: f64, d2: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    let denom = d2 + d1 * x;
    beta_inc(0.5 * d2, 0.5 * d1, d2 / denom, d1 * x / denom).0
}

/// Beta(a, b) CDF.
pub fn beta_cdf(x: f64, a: f64, b: f64) -> f64 {
    beta_inc(a, b, x, 1.0 - x).0
}

/// Beta(a, b) survival function.
pub fn beta_sf(x: f64, a: f64, b: f64) -> f64 {
    beta_inc(a, b, x, 1.0 - x).1
}

/// Beta(a, b) density.
pub fn beta_pdf(x: f64, a: f64, b: f64) -> f64 {
    if x <= 0.0 || x >= 1.0 {
        return 0.0;
    }
    ((a - 1.0) * x.ln() + (b - 1.0) * (-x).ln_1p() - ln_beta(a, b)).exp()
}

/// Beta(a, b) quantile: the x with I_x(a, b) = p.
pub fn beta_ppf(p: f64, a: f64, b: f64) -> f64 {
    if p <= 0.0 {
        return 0.0;
    }
    if p >= 1.0 {
        return 1.0;
    }
    brent(|x| beta_cdf(x, a, b) - p, 0.0, 1.0, 0.0).unwrap_or(f64::NAN)
}

/// Upper-tail beta quantile: the x with 1 - I_x(a, b) = q.
pub fn beta_isf(q: f64, a: f64, b: f64) -> f64 {
    if q <= 0.0 {
        return 1.0;
    }
    if q >= 1.0 {
        return 0.0;
    }
    brent(|x| q - beta_sf(x, a, b), 0.0, 1.0, 0.0).unwrap_or(f64::NAN)
}

/// Noncentral t CDF with `df` degrees of freedom and noncentrality `nc`.
///
/// Uses the Poisson-mixture series of Guenther (1978) as arranged by Lenth (AS 243), but
/// summed outward from the largest Poisson weight in both directions, as Benton and
/// Krishnamoorthy (2003) recommend, so that large noncentralities neither underflow nor need
/// thousands of leading terms.
pub fn nct_cdf(t: f64, df: f64, nc: f64) -> f64 {
    if t.is_nan() || df.is_nan() || nc.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    if t < 0.0 {
        return 1.0 - nct_cdf_nonneg(-t, df, -nc);
    }
    nct_cdf_nonneg(t, df, nc)
}

/// Noncentral t survival function P(T > t).
pub fn nct_sf(t: f64, df: f64, nc: f64) -> f64 {
    if t.is_nan() || df.is_nan() || nc.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 0.0 } else { 1.0 };
    }
    if t < 0.0 {
        return nct_cdf_nonneg(-t, df, -nc);
    }
    1.0 - nct_cdf_nonneg(t, df, nc)
}

/// The series for t >= 0: F(t) = Phi(-d) + 1/2 sum_j [p_j I_x(j+1/2, df/2) + q_j I_x(j+1, df/2)].
fn nct_cdf_nonneg(t: f64, df: f64, nc: f64) -> f64 {
    let base = norm_cdf(-nc);
    if t == 0.0 {
        return base;
    }
    if nc.abs() > 1000.0 {
        // Beyond any design a user could mean, the series would need millions of terms; the
        // normal approximation of Abramowitz & Stegun 26.7.10 is then far below 1e-6 off.
        return norm_cdf((t * (1.0 - 0.25 / df) - nc) / (1.0 + 0.5 * t * t / df).sqrt());
    }
    let t2 = t * t;
    let (x, y) = (t2 / (t2 + df), df / (t2 + df));
    let lambda = 0.5 * nc * nc;
    let half_b = 0.5 * df;
    // Poisson weight p_j and the companion q_j = nc/sqrt(2) * e^-lambda lambda^j / G(j + 3/2).
    let weights = |j: f64| -> (f64, f64) {
        if lambda == 0.0 {
            let p = if j == 0.0 { 1.0 } else { 0.0 };
            return (p, 0.0);
        }
        let ln_l = lambda.ln();
        let p = (-lambda + j * ln_l - ln_gamma(j + 1.0)).exp();
        let q = nc / std::f64::consts::SQRT_2 * (-lambda + j * ln_l - ln_gamma(j + 1.5)).exp();
        (p, q)
    };
    let term = |j: f64| -> (f64, f64) {
        let (p, q) = weights(j);
        let ia = beta_inc(j + 0.5, half_b, x, y).0;
        let ib = beta_inc(j + 1.0, half_b, x, y).0;
        (p * ia + q * ib, p.abs() + q.abs())
    };
    let mode = lambda.floor();
    let mut sum = 0.0;
    // Upward from the mode: the weights and the incomplete betas both decrease. The loops
    // count terms with integers so that a huge mode cannot stall on j + 1 == j.
    for k in 0..200_000_u32 {
        let j = mode + f64::from(k);
        let (v, w) = term(j);
        sum += v;
        if w < 1e-18 && k > 2 {
            break;
        }
    }
    // Downward from the mode.
    let below = mode.min(200_000.0) as u32;
    for k in 1..=below {
        let j = mode - f64::from(k);
        let (v, w) = term(j);
        sum += v;
        if w < 1e-18 {
            break;
        }
    }
    (base + 0.5 * sum).clamp(0.0, 1.0)
}

/// Natural log of the binomial coefficient C(n, k).
pub fn ln_choose(n: f64, k: f64) -> f64 {
    ln_gamma(n + 1.0) - ln_gamma(k + 1.0) - ln_gamma(n - k + 1.0)
}

/// Hypergeometric probability of `k` successes in `draws` from a population of `total` with
/// `successes` successes.
pub fn hypergeom_pmf(k: u64, total: u64, successes: u64, draws: u64) -> f64 {
    let (k, n, s, d) = (k as f64, total as f64, successes as f64, draws as f64);
    if k < (d - (n - s)).max(0.0) || k > d.min(s) {
        return 0.0;
    }
    (ln_choose(s, k) + ln_choose(n - s, d - k) - ln_choose(n, d)).exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        ((a - b) / b).abs()
    }

    #[test]
    fn t_quantile_inverts_cdf() {
        assert!(rel(t_isf(0.025, 10.0), 2.228_138_851_986_273_5) < 1e-13);
        assert!(rel(t_isf(0.025, 1.0), 12.706_204_736_174_7) < 1e-12);
        for &df in &[1.0, 3.5, 30.0, 1e6] {
            for &p in &[1e-12, 0.01, 0.3, 0.9] {
                let t = t_ppf(p, df);
                assert!(rel(t_cdf(t, df), p) < 1e-11, "df {df} p {p}");
            }
        }
    }

    #[test]
    fn nct_reduces_to_central_t() {
        for &t in &[-3.0, -0.5, 0.0, 0.7, 2.5] {
            assert!((nct_cdf(t, 7.0, 0.0) - t_cdf(t, 7.0)).abs() < 1e-14);
        }
    }

    #[test]
    fn beta_quantiles_invert() {
        let x = beta_ppf(0.025, 3.0, 98.0);
        assert!(rel(beta_cdf(x, 3.0, 98.0), 0.025) < 1e-12);
        let x = beta_isf(0.025, 3.0, 98.0);
        assert!(rel(beta_sf(x, 3.0, 98.0), 0.025) < 1e-12);
    }
}
