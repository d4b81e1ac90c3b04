//! Generator 3: calculation pairs. Each family draws realistic inputs from seeded lists, asks for
//! the result in one of several phrasings (formal, casual and messy user styles), and answers with
//! the exact result from `stats`, the formula, the inputs and the assumptions. `calculation_json`
//! records `{calculation, inputs, outputs}` so the answer can be recomputed.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use stats::hypothesis::{Alternative, two_proportion_z};
use stats::intervals::{ProportionCi, proportion};
use stats::multiple::{Correction, adjust};
use stats::power::{Design, Family, Lift, MeanTest, ProportionMethod, Sides};

use crate::{Candidate, SynthError};

/// The calculation families this generator covers, in generation order.
pub const FAMILIES: &[&str] = &[
    "sample_size_two_proportions",
    "sample_size_two_means",
    "power_two_proportions",
    "mde_two_proportions",
    "test_duration",
    "ci_proportion",
    "two_proportion_z_test",
    "srm_chi_square",
    "adjust_p_values",
    "cuped_sample_size",
];

/// Formats a share as a percentage with at most two decimals (`0.05` → `5%`).
pub fn pct(x: f64) -> String {
    let s = format!("{:.2}", x * 100.0);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}%")
}

/// Formats an integer with thousands separators.
pub fn int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Formats a real result with four significant digits (p-values, statistics, bounds).
pub fn sig(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let digits = (3 - x.abs().log10().floor() as i32).max(0) as usize;
    if x.abs() < 1e-4 {
        format!("{x:.3e}")
    } else {
        format!("{x:.digits$}")
    }
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    // Every list below is a non-empty literal, so `choose` always returns an element.
    *items.choose(rng).unwrap_or(&items[0])
}

fn fill(template: &str, vars: &[(&str, String)]) -> String {
    vars.iter().fold(template.to_owned(), |t, (k, v)| {
        t.replace(&format!("{{{k}}}"), v)
    })
}

fn err<'a>(
    calculation: &'static str,
    inputs: &'a Value,
) -> impl FnOnce(stats::StatsError) -> SynthError + 'a {
    move |source| SynthError::Calculator {
        calculation,
        inputs: inputs.to_string(),
        source,
    }
}

fn sides_of(two_sided: bool) -> Sides {
    if two_sided {
        Sides::TwoSided
    } else {
        Sides::OneSided
    }
}

fn sides_word(two_sided: bool) -> &'static str {
    if two_sided { "two-sided" } else { "one-sided" }
}

/// The proportions design the generator uses (pooled variance, as R `power.prop.test`).
pub fn proportions_design(baseline: f64, alpha: f64, two_sided: bool) -> Design {
    Design {
        family: Family::Proportions {
            baseline,
            method: ProportionMethod::Pooled,
        },
        alpha,
        sides: sides_of(two_sided),
        ratio: 1.0,
        strict: None,
    }
}

struct Drawn {
    question: String,
    answer: String,
    inputs: Value,
    outputs: Value,
}

const BASELINES: &[f64] = &[
    0.01, 0.02, 0.03, 0.04, 0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.4,
];
const REL_MDE: &[f64] = &[0.02, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.25];
const POWERS: &[f64] = &[0.8, 0.8, 0.85, 0.9, 0.95];
const ALPHAS: &[f64] = &[0.05, 0.05, 0.05, 0.01, 0.1];

fn answer(result: String, formula: &str, inputs: String, assumptions: &str) -> String {
    format!("{result}\n\nFormula: {formula}\n\nInputs: {inputs}\n\nAssumptions: {assumptions}")
}

fn sample_size_props(rng: &mut ChaCha8Rng) -> Result<Drawn, SynthError> {
    let (baseline, mde, power, alpha, two) = (
        pick(rng, BASELINES),
        pick(rng, REL_MDE),
        pick(rng, POWERS),
        pick(rng, ALPHAS),
        rng.random_bool(0.8),
    );
    let inputs = json!({"baseline": baseline, "mde_relative": mde, "power": power, "alpha": alpha, "two_sided": two});
    let design = proportions_design(baseline, alpha, two);
    let p2 = Lift::Relative(mde)
        .treatment_rate(baseline)
        .map_err(err("sample_size_two_proportions", &inputs))?;
    let n = design
        .sample_size(p2, power)
        .map_err(err("sample_size_two_proportions", &inputs))?;
    let v = [
        ("b", pct(baseline)),
        ("m", pct(mde)),
        ("p", pct(power)),
        ("a", alpha.to_string()),
        ("s", sides_word(two).to_owned()),
    ];
    let t = [
        "What sample size per group do I need to detect a {m} relative lift on a {b} baseline conversion rate with {p} power at alpha = {a} ({s} test)?",
        "We convert at {b} today and want to catch a {m} relative improvement. How many users per variant for {p} power, alpha {a}, {s}?",
        "how many users per arm do i need?? baseline conv {b}, mde {m} relative, power {p}, alpha {a} {s}",
        "Calculate the required n per group for an A/B test: baseline {b}, relative MDE {m}, power {p}, significance level {a}, {s}.",
    ];
    let question = fill(pick(rng, &t), &v);
    let answer = answer(
        format!(
            "You need {} users per group ({} in total, exact {:.2} per group) to detect a change from {} to {} with {} power.",
            int(n.n_per_group),
            int(n.n_total),
            n.n_per_group_exact,
            pct(baseline),
            pct(p2),
            pct(power)
        ),
        "n = (z_{1-α/k} √(2 p̄ (1-p̄)) + z_{power} √(p1(1-p1) + p2(1-p2)))² / (p2 - p1)², with p̄ = (p1 + p2)/2 and k = 2 for a two-sided test, 1 for one-sided",
        format!(
            "baseline p1 = {}, treatment p2 = p1 × (1 + {}) = {}, alpha = {alpha} ({}), power = {}, equal allocation",
            pct(baseline),
            pct(mde),
            pct(p2),
            sides_word(two),
            pct(power)
        ),
        "independent users, a binary metric, a fixed horizon analysed once with a two-proportion z test (pooled variance under the null), and n rounded up.",
    );
    Ok(Drawn {
        question,
        answer,
        inputs,
        outputs: json!({"n_per_group": n.n_per_group, "n_total": n.n_total, "treatment_rate": p2}),
    })
}

fn sample_size_means(rng: &mut ChaCha8Rng) -> Result<Drawn, SynthError> {
    let sd = pick(rng, &[5.0, 10.0, 20.0, 25.0, 40.0, 60.0, 80.0, 120.0]);
    let mde = sd * pick(rng, &[0.02, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3]);
    let (power, alpha, two) = (pick(rng, POWERS), pick(rng, ALPHAS), rng.random_bool(0.85));
    let inputs = json!({"sd": sd, "mde": mde, "power": power, "alpha": alpha, "two_sided": two});
    let design = Design {
        family: Family::Means { test: MeanTest::T },
        alpha,
        sides: sides_of(two),
        ratio: 1.0,
        strict: None,
    };
    let d = mde / sd;
    let n = design
        .sample_size(d, power)
        .map_err(err("sample_size_two_means", &inputs))?;
    let v = [
        ("sd", sd.to_string()),
        ("mde", format!("{mde:.2}")),
        ("p", pct(power)),
        ("a", alpha.to_string()),
        ("s", sides_word(two).to_owned()),
    ];
    let t = [
        "Revenue per user has a standard deviation of ${sd}. How many users per group do I need to detect a ${mde} difference in means with {p} power at alpha {a} ({s})?",
        "what n per arm for a t-test, sd={sd}, smallest diff we care about {mde}, power {p}, alpha {a}, {s}?",
        "Compute the sample size per group for comparing two means: sd {sd}, minimum detectable difference {mde}, power {p}, alpha {a}, {s} test.",
    ];
    let question = fill(pick(rng, &t), &v);
    let answer = answer(
        format!(
            "You need {} units per group ({} in total; exact {:.2}). The standardized effect is d = {:.2} / {sd} = {d:.4}.",
            int(n.n_per_group),
            int(n.n_total),
            n.n_per_group_exact,
            mde
        ),
        "n ≈ 2 (z_{1-α/k} + z_{power})² / d² with d = Δ / σ, refined with the noncentral t distribution of the two-sample Student t test",
        format!(
            "σ = {sd}, Δ = {mde:.2}, alpha = {alpha} ({}), power = {}, equal group sizes",
            sides_word(two),
            pct(power)
        ),
        "independent units, equal variances in both groups, a two-sample t test analysed once, and n rounded up.",
    );
    Ok(Drawn {
        question,
        answer,
        inputs,
        outputs: json!({"n_per_group": n.n_per_group, "d": d}),
    })
}

fn power_props(rng: &mut ChaCha8Rng) -> Result<Drawn, SynthError> {
    let (baseline, mde, alpha) = (pick(rng, BASELINES), pick(rng, REL_MDE), pick(rng, ALPHAS));
    let n = pick(
        rng,
        &[
            2_000.0, 5_000.0, 10_000.0, 20_000.0, 50_000.0, 100_000.0, 250_000.0,
        ],
    );
    let inputs = json!({"baseline": baseline, "mde_relative": mde, "n_per_group": n, "alpha": alpha, "two_sided": true});
    let design = proportions_design(baseline, alpha, true);
    let p2 = Lift::Relative(mde)
        .treatment_rate(baseline)
        .map_err(err("power_two_proportions", &inputs))?;
    let power = design
        .power(p2, n)
        .map_err(err("power_two_proportions", &inputs))?;
    let v = [
        ("b", pct(baseline)),
        ("m", pct(mde)),
        ("n", int(n as u64)),
        ("a", alpha.to_string()),
    ];
    let t = [
        "What is the power of a two-sided test with {n} users per group to detect a {m} relative lift on a {b} baseline at alpha {a}?",
        "we only have {n} users per variant. baseline {b}, hoping for +{m} relative. what power does that give us (alpha {a})?",
        "Is {n} per group enough? Baseline conversion {b}, relative MDE {m}, alpha {a}, two-sided: what is the power?",
    ];
    let question = fill(pick(rng, &t), &v);
    let answer = answer(
        format!(
            "The power is {} ({:.4}): the chance of a significant result if the true rate moves from {} to {}.",
            pct(power),
            power,
            pct(baseline),
            pct(p2)
        ),
        "power = Φ((|p2 - p1| √n - z_{1-α/2} √(2 p̄ (1-p̄))) / √(p1(1-p1) + p2(1-p2)))",
        format!(
            "p1 = {}, p2 = {}, n = {} per group, alpha = {alpha}, two-sided",
            pct(baseline),
            pct(p2),
            int(n as u64)
        ),
        "independent users, a binary metric, equal groups, a two-proportion z test with pooled null variance, analysed once.",
    );
    Ok(Drawn {
        question,
        answer,
        inputs,
        outputs: json!({"power": power, "treatment_rate": p2}),
    })
}

fn mde_props(rng: &mut ChaCha8Rng) -> Result<Drawn, SynthError> {
    let (baseline, power, alpha) = (pick(rng, BASELINES), pick(rng, POWERS), pick(rng, ALPHAS));
    let n = pick(
        rng,
        &[
            5_000.0, 10_000.0, 20_000.0, 40_000.0, 80_000.0, 150_000.0, 500_000.0,
        ],
    );
    let inputs = json!({"baseline": baseline, "n_per_group": n, "power": power, "alpha": alpha, "two_sided": true});
    let design = proportions_design(baseline, alpha, true);
    let p2 = design
        .mde(n, power, false)
        .map_err(err("mde_two_proportions", &inputs))?;
    let rel = p2 / baseline - 1.0;
    let v = [
        ("b", pct(baseline)),
        ("n", int(n as u64)),
        ("p", pct(power)),
        ("a", alpha.to_string()),
    ];
    let t = [
        "With {n} users per group and a {b} baseline conversion rate, what is the minimum detectable effect at {p} power and alpha {a}?",
        "whats the smallest lift we can detect w/ {n} per arm? baseline {b}, power {p}, alpha {a}",
        "Compute the MDE for a two-sided two-proportion test: n = {n} per group, baseline {b}, power {p}, alpha {a}.",
    ];
    let question = fill(pick(rng, &t), &v);
    let answer = answer(
        format!(
            "The minimum detectable treatment rate is {:.6} ({}), an absolute lift of {:.6} and a relative lift of {}.",
            p2,
            pct(p2),
            p2 - baseline,
            pct(rel)
        ),
        "solve power(p2; n, α) = target power for p2 > p1, where power = Φ((|p2 - p1| √n - z_{1-α/2} √(2 p̄ (1-p̄))) / √(p1(1-p1) + p2(1-p2)))",
        format!(
            "p1 = {}, n = {} per group, alpha = {alpha}, two-sided, power = {}",
            pct(baseline),
            int(n as u64),
            pct(power)
        ),
        "independent users, a binary metric, equal groups, a two-proportion z test analysed once; the MDE is for an increase.",
    );
    Ok(Drawn {
        question,
        answer,
        inputs,
        outputs: json!({"treatment_rate": p2, "relative_lift": rel}),
    })
}

fn duration(rng: &mut ChaCha8Rng) -> Result<Drawn, SynthError> {
    let (baseline, mde, power) = (pick(rng, BASELINES), pick(rng, REL_MDE), pick(rng, POWERS));
    let traffic = pick(
        rng,
        &[2_000.0, 5_000.0, 12_000.0, 30_000.0, 80_000.0, 200_000.0],
    );
    let allocation = pick(rng, &[0.1, 0.2, 0.5, 1.0]);
    let variants: u32 = pick(rng, &[2, 2, 2, 3, 4]);
    let inputs = json!({"baseline": baseline, "mde_relative": mde, "power": power, "alpha": 0.05, "daily_traffic": traffic, "allocation": allocation, "variants": variants});
    let design = proportions_design(baseline, 0.05, true);
    let p2 = Lift::Relative(mde)
        .treatment_rate(baseline)
        .map_err(err("test_duration", &inputs))?;
    let d = stats::duration::duration(
        &design,
        p2,
        power,
        traffic,
        allocation,
        variants,
        stats::duration::VariantCorrection::Bonferroni,
    )
    .map_err(err("test_duration", &inputs))?;
    let v = [
        ("b", pct(baseline)),
        ("m", pct(mde)),
        ("p", pct(power)),
        ("t", int(traffic as u64)),
        ("al", pct(allocation)),
        ("k", variants.to_string()),
    ];
    let t = [
        "How many days must our test run? {t} eligible users per day, {al} of traffic in the experiment, {k} variants including control, baseline {b}, relative MDE {m}, power {p}, alpha 0.05.",
        "how long should we run this? ~{t} visitors/day, {al} allocated, {k} arms, conv {b}, want to detect {m} lift, {p} power",
        "Estimate the duration of an A/B/n test with {k} variants: daily traffic {t}, allocation {al}, baseline rate {b}, MDE {m} relative, power {p}, alpha 0.05.",
    ];
    let question = fill(pick(rng, &t), &v);
    let answer = answer(
        format!(
            "Run it for {} days ({:.2} days exact): {} users per variant, {} in total, at alpha {:.4} per comparison. Round up to whole weeks to cover the weekly cycle.",
            d.days,
            d.days_exact,
            int(d.n_per_group),
            int(d.n_total),
            d.alpha_per_comparison
        ),
        "days = ⌈k × n_per_group / (daily traffic × allocation)⌉, with n_per_group from the two-proportion sample size at alpha / (k - 1) (Bonferroni)",
        format!(
            "p1 = {}, p2 = {}, power = {}, family-wise alpha = 0.05, k = {variants}, daily traffic = {}, allocation = {}",
            pct(baseline),
            pct(p2),
            pct(power),
            int(traffic as u64),
            pct(allocation)
        ),
        "stable daily traffic, equal shares per variant, each treatment compared with control, Bonferroni correction across comparisons, a fixed horizon.",
    );
    Ok(Drawn {
        question,
        answer,
        inputs,
        outputs: json!({"days": d.days, "n_per_group": d.n_per_group, "n_total": d.n_total}),
    })
}

fn ci_prop(rng: &mut ChaCha8Rng) -> Result<Drawn, SynthError> {
    let n: f64 = pick(rng, &[200.0, 500.0, 1_000.0, 2_500.0, 8_000.0, 20_000.0]);
    let x = (n * pick::<f64>(rng, &[0.02, 0.05, 0.1, 0.18, 0.3, 0.45])).round()
        + f64::from(rng.random_range(0..7u8));
    let level = pick(rng, &[0.9, 0.95, 0.95, 0.99]);
    let (method, name, formula) = pick(
        rng,
        &[
            (
                ProportionCi::Wilson,
                "wilson",
                "(p̂ + z²/2n ± z √(p̂(1-p̂)/n + z²/4n²)) / (1 + z²/n)",
            ),
            (ProportionCi::Wald, "wald", "p̂ ± z √(p̂(1-p̂)/n)"),
            (
                ProportionCi::ClopperPearson,
                "clopper_pearson",
                "[Beta_{α/2}(x, n-x+1), Beta_{1-α/2}(x+1, n-x)]",
            ),
        ],
    );
    let inputs = json!({"successes": x, "n": n, "level": level, "method": name});
    let ci = proportion(x, n, level, method).map_err(err("ci_proportion", &inputs))?;
    let v = [
        ("x", int(x as u64)),
        ("n", int(n as u64)),
        ("l", pct(level)),
        ("m", name.replace('_', "-")),
    ];
    let t = [
        "{x} of {n} users converted. What is the {l} confidence interval for the conversion rate ({m} method)?",
        "got {x} conversions out of {n}, can you give me a {l} CI? use {m}",
        "Compute a {l} {m} confidence interval for a proportion with {x} successes in {n} trials.",
    ];
    let question = fill(pick(rng, &t), &v);
    let answer = answer(
        format!(
            "The estimate is {:.6} ({}) and the {} {} interval is [{:.6}, {:.6}].",
            ci.estimate,
            pct(ci.estimate),
            pct(level),
            name.replace('_', "-"),
            ci.lower,
            ci.upper
        ),
        formula,
        format!(
            "x = {}, n = {}, confidence level = {}",
            int(x as u64),
            int(n as u64),
            pct(level)
        ),
        "independent trials with a common success probability; the interval describes sampling uncertainty only.",
    );
    Ok(Drawn {
        question,
        answer,
        inputs,
        outputs: json!({"lower": ci.lower, "upper": ci.upper, "estimate": ci.estimate}),
    })
}

fn z_test(rng: &mut ChaCha8Rng) -> Result<Drawn, SynthError> {
    let n1 = pick(rng, &[1_000.0, 4_000.0, 10_000.0, 25_000.0, 60_000.0]);
    let n2 = n1 + f64::from(rng.random_range(0..200u16)) - 100.0;
    let p = pick(rng, BASELINES);
    let x1 = (n1 * p).round();
    let x2 = (n2 * p * (1.0 + pick(rng, &[-0.05, 0.0, 0.02, 0.05, 0.08, 0.12]))).round();
    let inputs = json!({"x1": x1, "n1": n1, "x2": x2, "n2": n2, "two_sided": true, "pooled": true});
    let r = two_proportion_z(x1, n1, x2, n2, Alternative::TwoSided, true)
        .map_err(err("two_proportion_z_test", &inputs))?;
    let v = [
        ("x1", int(x1 as u64)),
        ("n1", int(n1 as u64)),
        ("x2", int(x2 as u64)),
        ("n2", int(n2 as u64)),
    ];
    let t = [
        "Control had {x1} conversions out of {n1} users and treatment {x2} out of {n2}. Is the difference statistically significant?",
        "control {x1}/{n1}, variant {x2}/{n2} -- significant or not?? what's the p value",
        "Run a two-sided two-proportion z test: control {x1} of {n1}, treatment {x2} of {n2}. What are z and the p-value?",
    ];
    let question = fill(pick(rng, &t), &v);
    let verdict = if r.p_value < 0.05 {
        "significant at alpha 0.05"
    } else {
        "not significant at alpha 0.05"
    };
    let answer = answer(
        format!(
            "z = {:.4} and the two-sided p-value is {}, so the difference is {verdict}. Control converts at {}, treatment at {}.",
            r.statistic,
            sig(r.p_value),
            pct(x1 / n1),
            pct(x2 / n2)
        ),
        "z = (p̂2 - p̂1) / √(p̄ (1-p̄) (1/n1 + 1/n2)), p̄ = (x1 + x2)/(n1 + n2), p = 2 (1 - Φ(|z|))",
        format!(
            "x1 = {}, n1 = {}, x2 = {}, n2 = {}, two-sided, pooled variance",
            int(x1 as u64),
            int(n1 as u64),
            int(x2 as u64),
            int(n2 as u64)
        ),
        "independent users randomised to the arms, large enough counts for the normal approximation, one pre-planned test.",
    );
    Ok(Drawn {
        question,
        answer,
        inputs,
        outputs: json!({"statistic": r.statistic, "p_value": r.p_value}),
    })
}

fn srm(rng: &mut ChaCha8Rng) -> Result<Drawn, SynthError> {
    let total: f64 = pick(rng, &[10_000.0, 50_000.0, 120_000.0, 400_000.0]);
    let skew: f64 = pick(rng, &[0.0, 0.001, 0.003, 0.006, 0.01, 0.02]);
    let a = (total * (0.5 + skew)).round() + f64::from(rng.random_range(0..50u8));
    let b = total - a + f64::from(rng.random_range(0..50u8));
    let inputs = json!({"observed": [a, b], "expected_ratios": [1.0, 1.0], "threshold": 0.001});
    let r = stats::srm::srm(&[a, b], &[1.0, 1.0], 0.001).map_err(err("srm_chi_square", &inputs))?;
    let v = [("a", int(a as u64)), ("b", int(b as u64))];
    let t = [
        "Our 50/50 test assigned {a} users to control and {b} to treatment. Is there a sample ratio mismatch?",
        "srm check pls: {a} vs {b}, supposed to be a 50/50 split",
        "Do the counts {a} (control) and {b} (treatment) indicate a sample ratio mismatch for a planned 50/50 split?",
    ];
    let question = fill(pick(rng, &t), &v);
    let verdict = if r.mismatch {
        "This is a sample ratio mismatch: stop and find the cause before trusting any metric."
    } else {
        "No sample ratio mismatch is detected at the 0.001 threshold."
    };
    let answer = answer(
        format!(
            "χ² = {:.4} with 1 degree of freedom, p = {}. {verdict}",
            r.statistic,
            sig(r.p_value)
        ),
        "χ² = Σ (observed - expected)² / expected, expected = total × planned share, df = arms - 1",
        format!(
            "observed = [{}, {}], planned shares 50% / 50%, threshold p < 0.001",
            int(a as u64),
            int(b as u64)
        ),
        "units assigned independently; a strict threshold (0.001) because the check runs on every experiment.",
    );
    Ok(Drawn {
        question,
        answer,
        inputs,
        outputs: json!({"statistic": r.statistic, "p_value": r.p_value, "mismatch": r.mismatch}),
    })
}

fn adjust_p(rng: &mut ChaCha8Rng) -> Result<Drawn, SynthError> {
    let m = rng.random_range(3..7usize);
    let p: Vec<f64> = (0..m)
        .map(|_| {
            pick(
                rng,
                &[
                    0.001, 0.004, 0.008, 0.012, 0.02, 0.03, 0.041, 0.049, 0.07, 0.2, 0.45,
                ],
            )
        })
        .collect();
    let (method, name, formula) = pick(
        rng,
        &[
            (
                Correction::Holm,
                "holm",
                "sort p ascending; p̃(i) = max_{j ≤ i} min(1, (m - j + 1) p(j))",
            ),
            (Correction::Bonferroni, "bonferroni", "p̃ = min(1, m p)"),
            (
                Correction::BenjaminiHochberg,
                "bh",
                "sort p ascending; p̃(i) = min_{j ≥ i} min(1, m p(j) / j)",
            ),
        ],
    );
    let inputs = json!({"p_values": p, "method": name, "alpha": 0.05});
    let r = adjust(&p, method, 0.05).map_err(err("adjust_p_values", &inputs))?;
    let list = p
        .iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let label = match name {
        "bh" => "Benjamini-Hochberg",
        "holm" => "Holm",
        _ => "Bonferroni",
    };
    let v = [("l", list.clone()), ("m", label.to_owned())];
    let t = [
        "We tested several metrics and got p-values {l}. What are the {m}-adjusted p-values, and which survive at 0.05?",
        "p values {l} -- apply {m} pls, which ones are still significant?",
        "Adjust these p-values with the {m} method: {l}. Which hypotheses are rejected at alpha 0.05?",
    ];
    let question = fill(pick(rng, &t), &v);
    let adjusted = r
        .adjusted
        .iter()
        .map(|x| sig(*x))
        .collect::<Vec<_>>()
        .join(", ");
    let kept: Vec<String> = p
        .iter()
        .zip(&r.reject)
        .filter(|(_, k)| **k)
        .map(|(x, _)| x.to_string())
        .collect();
    let answer = answer(
        format!(
            "{label}-adjusted p-values, in input order: {adjusted}. Rejected at 0.05: {}.",
            if kept.is_empty() {
                "none".to_owned()
            } else {
                kept.join(", ")
            }
        ),
        formula,
        format!("p = [{list}], m = {m}, alpha = 0.05"),
        if name == "bh" {
            "controls the false discovery rate; valid under independence or positive dependence."
        } else {
            "controls the family-wise error rate across the m tests."
        },
    );
    Ok(Drawn {
        question,
        answer,
        inputs,
        outputs: json!({"adjusted": r.adjusted, "reject": r.reject}),
    })
}

fn cuped(rng: &mut ChaCha8Rng) -> Result<Drawn, SynthError> {
    let n = pick(rng, &[10_000.0, 25_000.0, 40_000.0, 100_000.0, 300_000.0]);
    let rho = pick(rng, &[0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
    let inputs = json!({"n_without": n, "rho": rho});
    let s = stats::cuped::cuped_sample_size(n, rho).map_err(err("cuped_sample_size", &inputs))?;
    let v = [("n", int(n as u64)), ("r", rho.to_string())];
    let t = [
        "Without variance reduction we need {n} users per group. If the pre-period metric correlates {r} with the outcome, how many do we need with CUPED?",
        "cuped question: n={n}/group now, corr with pre-period = {r}. how much does cuped save?",
        "How much sample size does CUPED save when the covariate correlation is {r} and the unadjusted requirement is {n} per group?",
    ];
    let question = fill(pick(rng, &t), &v);
    let answer = answer(
        format!(
            "With CUPED you need {} users per group ({:.2} exact) instead of {}: a saving of {}.",
            int(s.n_per_group),
            s.n_per_group_exact,
            int(n as u64),
            pct(s.saving)
        ),
        "n_CUPED = n × (1 - ρ²); saving = ρ²",
        format!("n without CUPED = {} per group, ρ = {rho}", int(n as u64)),
        "a pre-period covariate unaffected by the treatment, θ estimated on pooled data, and the same power and alpha as the unadjusted design.",
    );
    Ok(Drawn {
        question,
        answer,
        inputs,
        outputs: json!({"n_per_group": s.n_per_group, "saving": s.saving}),
    })
}

/// `per_family` calculation candidates for every family in [`FAMILIES`], seeded.
pub fn generate(per_family: usize, seed: u64) -> Result<Vec<Candidate>, SynthError> {
    type Draw = fn(&mut ChaCha8Rng) -> Result<Drawn, SynthError>;
    let draws: [Draw; 10] = [
        sample_size_props,
        sample_size_means,
        power_props,
        mde_props,
        duration,
        ci_prop,
        z_test,
        srm,
        adjust_p,
        cuped,
    ];
    let mut out = Vec::with_capacity(per_family * draws.len());
    for (family, draw) in FAMILIES.iter().zip(draws) {
        // One stream per family, so adding pairs to one family leaves the others unchanged.
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ crate::run::stable_hash(family));
        for i in 0..per_family {
            let d = draw(&mut rng)?;
            let json = json!({"calculation": family, "inputs": d.inputs, "outputs": d.outputs});
            out.push(Candidate {
                question: d.question,
                answer: d.answer,
                qa_type: "calculation".into(),
                generator: "calculation".into(),
                source_kind: "calculator".into(),
                source_id: format!("calc:{family}:{i}"),
                source_url: None,
                source_title: Some(format!("stats::{family}")),
                calculation_json: Some(json.to_string()),
                license: None,
                provenance: None,
                source_text: None,
            });
        }
    }
    Ok(out)
}
