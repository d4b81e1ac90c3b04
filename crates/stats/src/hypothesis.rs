//! Hypothesis tests: two-proportion z, Pearson chi-square (r x c and goodness of fit, with or
//! without Yates), Fisher exact 2x2, Student / Welch / paired / one-sample t, Mann-Whitney U
//! and seeded bootstrap intervals (percentile and BCa).
//!
//! Two-sample tests are oriented as treatment minus control: the statistic is positive when
//! the treatment is larger, and [`Alternative::Greater`] means "treatment greater". The
//! references (scipy, statsmodels) are called with the treatment sample first to match.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde::{Deserialize, Serialize};

use crate::dist::{chi2_sf, hypergeom_pmf, t_cdf, t_sf};
use crate::error::{Result, StatsError, all_finite, finite, positive};
use crate::special::{norm_cdf, norm_ppf, norm_sf};

/// The alternative hypothesis of a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    /// The two differ in either direction.
    #[default]
    TwoSided,
    /// Treatment (or the sample) is greater.
    Greater,
    /// Treatment (or the sample) is less.
    Less,
}

impl Alternative {
    /// p-value of a statistic whose null distribution has CDF `cdf` and survival `sf`.
    fn p_value(self, cdf: f64, sf: f64) -> f64 {
        match self {
            Alternative::TwoSided => (2.0 * cdf.min(sf)).min(1.0),
            Alternative::Greater => sf,
            Alternative::Less => cdf,
        }
    }
}

/// The outcome of a test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// The test's name, for display.
    pub test: String,
    /// The test statistic (z, t, chi-square, U, or the odds ratio for Fisher).
    pub statistic: f64,
    /// The p-value.
    pub p_value: f64,
    /// Degrees of freedom, where the test has them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub df: Option<f64>,
    /// The estimated effect (difference treatment - control, or the sample mean).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimate: Option<f64>,
    /// Standard error of the estimate, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std_error: Option<f64>,
    /// The alternative tested.
    pub alternative: Alternative,
}

fn count(name: &'static str, x: f64) -> Result<f64> {
    finite(name, x)?;
    if x < 0.0 || x.fract() != 0.0 {
        return Err(StatsError::OutOfRange {
            name,
            expected: "a whole number 0 or greater",
            got: x,
        });
    }
    Ok(x)
}

fn check_counts(x: f64, n: f64, which: &'static str) -> Result<()> {
    count("successes", x)?;
    count("n", n)?;
    if n <= 0.0 {
        return Err(StatsError::OutOfRange {
            name: "n",
            expected: "at least 1",
            got: n,
        });
    }
    if x > n {
        return Err(StatsError::InvalidInput {
            what: which,
            reason: format!("{x} successes out of {n} trials; successes must not exceed n"),
        });
    }
    Ok(())
}

/// Two-proportion z test of treatment (x2 of n2) against control (x1 of n1).
///
/// `pooled` uses the pooled rate for the standard error (statsmodels `proportions_ztest`);
/// otherwise the unpooled Wald standard error (statsmodels `test_proportions_2indep`,
/// method `wald`).
pub fn two_proportion_z(
    x1: f64,
    n1: f64,
    x2: f64,
    n2: f64,
    alternative: Alternative,
    pooled: bool,
) -> Result<TestResult> {
    check_counts(x1, n1, "control counts")?;
    check_counts(x2, n2, "treatment counts")?;
    let (p1, p2) = (x1 / n1, x2 / n2);
    let se = if pooled {
        let p = (x1 + x2) / (n1 + n2);
        (p * (1.0 - p) * (1.0 / n1 + 1.0 / n2)).sqrt()
    } else {
        (p1 * (1.0 - p1) / n1 + p2 * (1.0 - p2) / n2).sqrt()
    };
    if se == 0.0 {
        return Err(StatsError::Unsolvable {
            what: "two-proportion z test",
            reason: "the standard error is zero (all or no conversions in every group); use Fisher's exact test".into(),
        });
    }
    let z = (p2 - p1) / se;
    Ok(TestResult {
        test: format!(
            "two-proportion z test ({})",
            if pooled { "pooled" } else { "unpooled" }
        ),
        statistic: z,
        p_value: alternative.p_value(norm_cdf(z), norm_sf(z)),
        df: None,
        estimate: Some(p2 - p1),
        std_error: Some(se),
        alternative,
    })
}

/// Result of a chi-square test, with the expected counts it used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChiSquareResult {
    /// The test's name.
    pub test: String,
    /// The chi-square statistic.
    pub statistic: f64,
    /// Upper-tail p-value.
    pub p_value: f64,
    /// Degrees of freedom.
    pub df: f64,
    /// Expected counts under the null, same shape as the input.
    pub expected: Vec<Vec<f64>>,
    /// Whether the Yates continuity correction was applied (only ever for 1 df).
    pub yates: bool,
}

/// Pearson chi-square test of independence on an r x c table of counts; `yates` applies the
/// continuity correction when the table has one degree of freedom (as scipy's
/// `chi2_contingency`).
pub fn chi_square_independence(table: &[Vec<f64>], yates: bool) -> Result<ChiSquareResult> {
    let r = table.len();
    let c = table.first().map_or(0, Vec::len);
    if r < 2 || c < 2 || table.iter().any(|row| row.len() != c) {
        return Err(StatsError::InvalidInput {
            what: "contingency table",
            reason: format!(
                "need a rectangular table with at least 2 rows and 2 columns, got {r} rows"
            ),
        });
    }
    for row in table {
        for &x in row {
            finite("table count", x)?;
            if x < 0.0 {
                return Err(StatsError::OutOfRange {
                    name: "table count",
                    expected: "0 or greater",
                    got: x,
                });
            }
        }
    }
    let rows: Vec<f64> = table.iter().map(|row| row.iter().sum()).collect();
    let cols: Vec<f64> = (0..c)
        .map(|j| table.iter().map(|row| row[j]).sum())
        .collect();
    if let Some(i) = rows.iter().position(|&s| s == 0.0) {
        return Err(StatsError::InvalidInput {
            what: "contingency table",
            reason: format!(
                "row {} is empty; every row and column needs a nonzero total",
                i + 1
            ),
        });
    }
    if let Some(j) = cols.iter().position(|&s| s == 0.0) {
        return Err(StatsError::InvalidInput {
            what: "contingency table",
            reason: format!(
                "column {} is empty; every row and column needs a nonzero total",
                j + 1
            ),
        });
    }
    let total: f64 = rows.iter().sum();
    let df = ((r - 1) * (c - 1)) as f64;
    let apply_yates = yates && df == 1.0;
    let mut stat = 0.0;
    let mut expected = vec![vec![0.0; c]; r];
    for i in 0..r {
        for j in 0..c {
            let e = rows[i] * cols[j] / total;
            expected[i][j] = e;
            let mut d = table[i][j] - e;
            if apply_yates {
                // Shrink |O - E| by 1/2, but never past zero.
                d = d.signum() * (d.abs() - 0.5).max(0.0);
            }
            stat += d * d / e;
        }
    }
    Ok(ChiSquareResult {
        test: "Pearson chi-square test of independence".into(),
        statistic: stat,
        p_value: chi2_sf(stat, df),
        df,
        expected,
        yates: apply_yates,
    })
}

/// Pearson chi-square goodness of fit of `observed` counts against `expected_shares`
/// (any positive weights; they are normalised to the observed total).
pub fn chi_square_gof(observed: &[f64], expected_shares: &[f64]) -> Result<ChiSquareResult> {
    if observed.len() < 2 || observed.len() != expected_shares.len() {
        return Err(StatsError::InvalidInput {
            what: "goodness of fit",
            reason: format!(
                "need at least 2 categories and one expected share per category, got {} counts and {} shares",
                observed.len(),
                expected_shares.len()
            ),
        });
    }
    for &x in observed {
        finite("observed count", x)?;
        if x < 0.0 {
            return Err(StatsError::OutOfRange {
                name: "observed count",
                expected: "0 or greater",
                got: x,
            });
        }
    }
    for &w in expected_shares {
        positive("expected share", w)?;
    }
    let total: f64 = observed.iter().sum();
    if total <= 0.0 {
        return Err(StatsError::InvalidInput {
            what: "goodness of fit",
            reason: "all observed counts are zero; give at least one unit".into(),
        });
    }
    let wsum: f64 = expected_shares.iter().sum();
    let expected: Vec<f64> = expected_shares.iter().map(|w| total * w / wsum).collect();
    let stat: f64 = observed
        .iter()
        .zip(&expected)
        .map(|(o, e)| (o - e) * (o - e) / e)
        .sum();
    let df = (observed.len() - 1) as f64;
    Ok(ChiSquareResult {
        test: "Pearson chi-square goodness of fit".into(),
        statistic: stat,
        p_value: chi2_sf(stat, df),
        df,
        expected: vec![expected],
        yates: false,
    })
}

/// Fisher's exact test on the 2x2 table [[a, b], [c, d]]. The statistic is the sample odds
/// ratio ad / bc; `Greater` tests an odds ratio above one. The two-sided p-value sums the
/// probabilities of all tables no more likely than the observed one (relative tolerance
/// 1e-7, as R's `fisher.test`).
pub fn fisher_exact(table: [[f64; 2]; 2], alternative: Alternative) -> Result<TestResult> {
    for row in &table {
        for &x in row {
            count("table count", x)?;
        }
    }
    let [[a, b], [c, d]] = table;
    let (r1, r2, c1) = (a + b, c + d, a + c);
    if r1 == 0.0 || r2 == 0.0 || c1 == 0.0 || b + d == 0.0 {
        return Err(StatsError::InvalidInput {
            what: "2x2 table",
            reason: "a row or column total is zero; every margin needs at least one unit".into(),
        });
    }
    let n = r1 + r2;
    let (n_u, r1_u, c1_u) = (n as u64, r1 as u64, c1 as u64);
    let lo = (c1 - r2).max(0.0) as u64;
    let hi = c1.min(r1) as u64;
    let pmf = |k: u64| hypergeom_pmf(k, n_u, r1_u, c1_u);
    let a_u = a as u64;
    let p = match alternative {
        Alternative::Greater => (a_u..=hi).map(pmf).sum::<f64>(),
        Alternative::Less => (lo..=a_u).map(pmf).sum::<f64>(),
        Alternative::TwoSided => {
            let p_obs = pmf(a_u);
            (lo..=hi)
                .map(pmf)
                .filter(|&p| p <= p_obs * (1.0 + 1e-7))
                .sum::<f64>()
        }
    };
    let odds = if b * c == 0.0 {
        if a * d == 0.0 {
            f64::NAN
        } else {
            f64::INFINITY
        }
    } else {
        a * d / (b * c)
    };
    Ok(TestResult {
        test: "Fisher exact test".into(),
        statistic: odds,
        p_value: p.min(1.0),
        df: None,
        estimate: None,
        std_error: None,
        alternative,
    })
}

/// Summary statistics of one sample.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Sample mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1 denominator).
    pub sd: f64,
    /// Sample size.
    pub n: f64,
}

impl Summary {
    /// Summarises raw data; needs at least two values.
    pub fn from_data(xs: &[f64]) -> Result<Summary> {
        all_finite("data value", xs)?;
        if xs.len() < 2 {
            return Err(StatsError::InvalidInput {
                what: "sample",
                reason: format!("need at least 2 values, got {}", xs.len()),
            });
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
        Ok(Summary {
            mean,
            sd: (ss / (n - 1.0)).sqrt(),
            n,
        })
    }

    fn validate(&self, which: &'static str) -> Result<()> {
        finite("mean", self.mean)?;
        positive("sd", self.sd)?;
        if !(self.n >= 2.0) || !self.n.is_finite() {
            return Err(StatsError::InvalidInput {
                what: which,
                reason: format!("n must be at least 2, got {}", self.n),
            });
        }
        Ok(())
    }
}

/// Two-sample t test of treatment against control from summary statistics: Student's (pooled
/// variance) when `equal_var`, Welch's otherwise.
pub fn t_test_two_sample(
    control: Summary,
    treatment: Summary,
    equal_var: bool,
    alternative: Alternative,
) -> Result<TestResult> {
    control.validate("control sample")?;
    treatment.validate("treatment sample")?;
    let (v1, v2) = (
        control.sd.powi(2) / control.n,
        treatment.sd.powi(2) / treatment.n,
    );
    let (se, df) = if equal_var {
        let df = control.n + treatment.n - 2.0;
        let sp2 = ((control.n - 1.0) * control.sd.powi(2)
            + (treatment.n - 1.0) * treatment.sd.powi(2))
            / df;
        ((sp2 * (1.0 / control.n + 1.0 / treatment.n)).sqrt(), df)
    } else {
        let df = (v1 + v2).powi(2) / (v1 * v1 / (control.n - 1.0) + v2 * v2 / (treatment.n - 1.0));
        ((v1 + v2).sqrt(), df)
    };
    let diff = treatment.mean - control.mean;
    let t = diff / se;
    Ok(TestResult {
        test: if equal_var {
            "Student two-sample t test".into()
        } else {
            "Welch two-sample t test".into()
        },
        statistic: t,
        p_value: alternative.p_value(t_cdf(t, df), t_sf(t, df)),
        df: Some(df),
        estimate: Some(diff),
        std_error: Some(se),
        alternative,
    })
}

/// One-sample t test of the sample mean against `mu0`.
pub fn t_test_one_sample(
    sample: Summary,
    mu0: f64,
    alternative: Alternative,
) -> Result<TestResult> {
    sample.validate("sample")?;
    finite("mu0", mu0)?;
    let se = sample.sd / sample.n.sqrt();
    let t = (sample.mean - mu0) / se;
    let df = sample.n - 1.0;
    Ok(TestResult {
        test: "one-sample t test".into(),
        statistic: t,
        p_value: alternative.p_value(t_cdf(t, df), t_sf(t, df)),
        df: Some(df),
        estimate: Some(sample.mean - mu0),
        std_error: Some(se),
        alternative,
    })
}

/// Paired t test of treatment minus control, pair by pair.
pub fn t_test_paired(
    control: &[f64],
    treatment: &[f64],
    alternative: Alternative,
) -> Result<TestResult> {
    if control.len() != treatment.len() {
        return Err(StatsError::InvalidInput {
            what: "paired samples",
            reason: format!(
                "the samples must have equal length, got {} and {}",
                control.len(),
                treatment.len()
            ),
        });
    }
    let diffs: Vec<f64> = treatment.iter().zip(control).map(|(t, c)| t - c).collect();
    let mut r = t_test_one_sample(Summary::from_data(&diffs)?, 0.0, alternative)?;
    r.test = "paired t test".into();
    Ok(r)
}

/// How the Mann-Whitney p-value is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MwuMethod {
    /// Exact when both samples have at most 8 values and there are no ties, else asymptotic
    /// (scipy's rule).
    #[default]
    Auto,
    /// The exact permutation distribution of U; needs untied data and n1 + n2 <= 100.
    Exact,
    /// Normal approximation with tie correction and continuity correction.
    Asymptotic,
}

/// Mann-Whitney U test. The statistic is U of the treatment sample (the number of
/// (treatment, control) pairs with the treatment value larger, ties counting one half).
pub fn mann_whitney(
    control: &[f64],
    treatment: &[f64],
    alternative: Alternative,
    method: MwuMethod,
    continuity: bool,
) -> Result<TestResult> {
    all_finite("data value", control)?;
    all_finite("data value", treatment)?;
    if control.is_empty() || treatment.is_empty() {
        return Err(StatsError::InvalidInput {
            what: "Mann-Whitney samples",
            reason: "both samples need at least one value".into(),
        });
    }
    let (n1, n2) = (treatment.len(), control.len());
    let mut all: Vec<(f64, bool)> = treatment
        .iter()
        .map(|&x| (x, true))
        .chain(control.iter().map(|&x| (x, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Mid-ranks, and the tie term sum(t^3 - t).
    let mut r1 = 0.0;
    let mut tie_term = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        r1 += all[i..=j].iter().filter(|x| x.1).count() as f64 * rank;
        i = j + 1;
    }
    let (f1, f2) = (n1 as f64, n2 as f64);
    let u1 = r1 - f1 * (f1 + 1.0) / 2.0;
    let u2 = f1 * f2 - u1;
    let (u, factor) = match alternative {
        Alternative::Greater => (u1, 1.0),
        Alternative::Less => (u2, 1.0),
        Alternative::TwoSided => (u1.max(u2), 2.0),
    };
    let ties = tie_term > 0.0;
    let exact = match method {
        MwuMethod::Exact => {
            if ties {
                return Err(StatsError::InvalidInput {
                    what: "Mann-Whitney exact method",
                    reason: "the data have ties; use the asymptotic method".into(),
                });
            }
            if n1 + n2 > 100 {
                return Err(StatsError::InvalidInput {
                    what: "Mann-Whitney exact method",
                    reason: format!(
                        "n1 + n2 = {} exceeds 100; use the asymptotic method",
                        n1 + n2
                    ),
                });
            }
            true
        }
        MwuMethod::Asymptotic => false,
        MwuMethod::Auto => n1 <= 8 && n2 <= 8 && !ties,
    };
    let p = if exact {
        mwu_exact_sf(u, n1.min(n2), n1.max(n2))
    } else {
        let n = f1 + f2;
        let s = (f1 * f2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
        if !(s > 0.0) {
            return Err(StatsError::InvalidInput {
                what: "Mann-Whitney samples",
                reason: "every value is tied; the test is undefined".into(),
            });
        }
        let mut num = u - f1 * f2 / 2.0;
        if continuity {
            num -= 0.5;
        }
        norm_sf(num / s)
    };
    Ok(TestResult {
        test: format!(
            "Mann-Whitney U test ({})",
            if exact { "exact" } else { "asymptotic" }
        ),
        statistic: u1,
        p_value: (p * factor).clamp(0.0, 1.0),
        df: None,
        estimate: None,
        std_error: None,
        alternative,
    })
}

/// P(U >= u) under the null for sample sizes m <= n without ties, from the exact counts:
/// the coefficients of the Gaussian binomial [m + n choose m] in q.
fn mwu_exact_sf(u: f64, m: usize, n: usize) -> f64 {
    let max = m * n;
    let mut poly = vec![0_i128; max + 1];
    poly[0] = 1;
    for i in 1..=m {
        // Multiply by (1 - q^(n+i)), then divide by (1 - q^i); both exact in integers.
        let s = n + i;
        for k in (s..=max).rev() {
            poly[k] -= poly[k - s];
        }
        for k in i..=max {
            poly[k] += poly[k - i];
        }
    }
    let total: i128 = poly.iter().sum();
    let start = u.ceil().max(0.0) as usize;
    let upper: i128 = poly.iter().skip(start).sum();
    upper as f64 / total as f64
}

/// A bootstrap statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BootStatistic {
    /// The mean of one sample.
    #[default]
    Mean,
    /// The median of one sample.
    Median,
    /// Mean of the treatment sample minus mean of the control sample.
    DiffMeans,
}

/// A bootstrap interval method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BootMethod {
    /// Quantiles of the bootstrap distribution.
    Percentile,
    /// Bias-corrected and accelerated (Efron 1987), acceleration by the jackknife.
    #[default]
    Bca,
}

/// A bootstrap confidence interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BootstrapResult {
    /// The statistic on the original data.
    pub estimate: f64,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Confidence level.
    pub level: f64,
    /// Standard deviation of the bootstrap replicates.
    pub std_error: f64,
    /// Number of resamples.
    pub resamples: usize,
    /// Seed of the ChaCha20 generator; the same seed gives the same interval.
    pub seed: u64,
    /// Method used.
    pub method: BootMethod,
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

fn statistic(stat: BootStatistic, samples: &[&[f64]]) -> f64 {
    match stat {
        BootStatistic::Mean => mean(samples[0]),
        BootStatistic::Median => median(samples[0]),
        BootStatistic::DiffMeans => mean(samples[1]) - mean(samples[0]),
    }
}

/// Linear-interpolation quantile (type 7, numpy's default) of sorted data.
pub(crate) fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let h = (v.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// The interval from given bootstrap replicates: the deterministic half of the bootstrap,
/// exposed so it can be checked against scipy on the same replicates. `samples` is
/// `[data]` for one-sample statistics and `[control, treatment]` for `DiffMeans`.
pub fn bootstrap_interval_from_replicates(
    stat: BootStatistic,
    samples: &[&[f64]],
    replicates: &[f64],
    level: f64,
    method: BootMethod,
) -> Result<(f64, f64)> {
    crate::error::prob_open("level", level)?;
    all_finite("bootstrap replicate", replicates)?;
    if replicates.len() < 2 {
        return Err(StatsError::InvalidInput {
            what: "bootstrap",
            reason: "need at least 2 resamples".into(),
        });
    }
    let alpha = (1.0 - level) / 2.0;
    let mut sorted = replicates.to_vec();
    sorted.sort_by(f64::total_cmp);
    let (a1, a2) = match method {
        BootMethod::Percentile => (alpha, 1.0 - alpha),
        BootMethod::Bca => {
            let theta = statistic(stat, samples);
            let b = replicates.len() as f64;
            let below = replicates.iter().filter(|&&t| t < theta).count() as f64;
            let at_or_below = replicates.iter().filter(|&&t| t <= theta).count() as f64;
            let z0 = norm_ppf((below + at_or_below) / (2.0 * b));
            // Jackknife acceleration, summed over samples as in Efron & Tibshirani 15.4.
            let (mut num, mut den) = (0.0, 0.0);
            for j in 0..samples.len() {
                let nj = samples[j].len();
                let mut leave: Vec<f64> = Vec::with_capacity(nj);
                for i in 0..nj {
                    let reduced: Vec<f64> = samples[j]
                        .iter()
                        .enumerate()
                        .filter(|(k, _)| *k != i)
                        .map(|(_, &x)| x)
                        .collect();
                    let mut s: Vec<&[f64]> = samples.to_vec();
                    s[j] = &reduced;
                    leave.push(statistic(stat, &s));
                }
                let m = mean(&leave);
                let nf = nj as f64;
                let u: Vec<f64> = leave.iter().map(|t| (nf - 1.0) * (m - t)).collect();
                num += u.iter().map(|x| x * x * x).sum::<f64>() / nf.powi(3);
                den += u.iter().map(|x| x * x).sum::<f64>() / nf.powi(2);
            }
            let a = if den > 0.0 {
                num / (6.0 * den.powf(1.5))
            } else {
                0.0
            };
            if !z0.is_finite() {
                return Err(StatsError::Unsolvable { what: "BCa interval", reason: "every replicate lies on one side of the estimate; use the percentile method".into() });
            }
            let za = norm_ppf(alpha);
            let adj = |z: f64| norm_cdf(z0 + (z0 + z) / (1.0 - a * (z0 + z)));
            (adj(za), adj(-za))
        }
    };
    Ok((quantile_sorted(&sorted, a1), quantile_sorted(&sorted, a2)))
}

/// Seeded bootstrap confidence interval. `samples` is `[data]` for `Mean` and `Median`,
/// `[control, treatment]` for `DiffMeans` (each group resampled separately).
pub fn bootstrap(
    stat: BootStatistic,
    samples: &[&[f64]],
    level: f64,
    resamples: usize,
    seed: u64,
    method: BootMethod,
) -> Result<BootstrapResult> {
    let want = if stat == BootStatistic::DiffMeans {
        2
    } else {
        1
    };
    if samples.len() != want || samples.iter().any(|s| s.len() < 2) {
        return Err(StatsError::InvalidInput {
            what: "bootstrap samples",
            reason: format!("{stat:?} needs {want} sample(s) of at least 2 values"),
        });
    }
    for s in samples {
        all_finite("data value", s)?;
    }
    if !(100..=10_000_000).contains(&resamples) {
        return Err(StatsError::OutOfRange {
            name: "resamples",
            expected: "between 100 and 10,000,000",
            got: resamples as f64,
        });
    }
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let mut reps = Vec::with_capacity(resamples);
    let mut buf: Vec<Vec<f64>> = samples.iter().map(|s| vec![0.0; s.len()]).collect();
    for _ in 0..resamples {
        for (b, s) in buf.iter_mut().zip(samples) {
            for slot in b.iter_mut() {
                *slot = s[rng.random_range(0..s.len())];
            }
        }
        let views: Vec<&[f64]> = buf.iter().map(Vec::as_slice).collect();
        reps.push(statistic(stat, &views));
    }
    let (lower, upper) = bootstrap_interval_from_replicates(stat, samples, &reps, level, method)?;
    let m = mean(&reps);
    let sd =
        (reps.iter().map(|r| (r - m) * (r - m)).sum::<f64>() / (reps.len() as f64 - 1.0)).sqrt();
    Ok(BootstrapResult {
        estimate: statistic(stat, samples),
        lower,
        upper,
        level,
        std_error: sd,
        resamples,
        seed,
        method,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_mwu_counts_sum_to_binomial() {
        // All 6 arrangements of sizes 2 and 2: U takes 0,1,2,2,3,4.
        assert!((mwu_exact_sf(2.0, 2, 2) - 4.0 / 6.0).abs() < 1e-15);
        assert!((mwu_exact_sf(0.0, 2, 2) - 1.0).abs() < 1e-15);
    }

    #[test]
    fn empty_margin_is_an_error() {
        let e = chi_square_independence(&[vec![0.0, 0.0], vec![3.0, 4.0]], true);
        assert!(matches!(e, Err(StatsError::InvalidInput { .. })));
    }

    #[test]
    fn bootstrap_is_reproducible_with_a_seed() {
        let xs: Vec<f64> = (0..50).map(|i| ((i * 37) % 11) as f64).collect();
        let a = bootstrap(BootStatistic::Mean, &[&xs], 0.95, 2000, 7, BootMethod::Bca);
        let b = bootstrap(BootStatistic::Mean, &[&xs], 0.95, 2000, 7, BootMethod::Bca);
        assert!(a.is_ok() && a == b);
    }
}
