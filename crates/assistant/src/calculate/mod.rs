//! Runs a [`CalculationRequest`] on the `stats` crate and explains the result: inputs with
//! their provenance, assumptions, outputs, the formula, reasoning steps that carry the exact
//! numbers, and a one-paragraph Markdown summary.
//!
//! Every number in a [`Calculation`] is either an input (given or a stated default) or a
//! value `stats` returned; this module does no statistics of its own. Its only arithmetic
//! turns inputs into the calculator's argument shapes (a relative lift on a mean into metric
//! units via `stats`' conventions is not done here: mean effects go in as Cohen's d = effect /
//! sd, exactly as the `stats` CLI does).

pub mod format;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use stats::StatsError;
use stats::hypothesis::{Alternative, Summary};
use stats::power::{Design, Family, Lift, MeanTest, ProportionMethod, Sides};

pub use crate::understand::CalculationRequest;
use crate::understand::{CalculationKind, Origin, ParamName, Value};

/// Why a calculation could not be run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CalculateError {
    /// A required input is absent.
    #[error("cannot compute {kind}: missing {name}; ask the user for it")]
    Missing {
        /// The calculation.
        kind: &'static str,
        /// The input.
        name: &'static str,
    },
    /// An input has the wrong shape or an unknown choice.
    #[error("cannot compute {kind}: {name} {reason}")]
    Invalid {
        /// The calculation.
        kind: &'static str,
        /// The input.
        name: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },
    /// The calculator rejected the inputs.
    #[error("{kind}: {source}")]
    Stats {
        /// The calculation.
        kind: &'static str,
        /// The calculator's error, which says what would be valid.
        #[source]
        source: StatsError,
    },
}

/// One input as shown to the user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    /// The value in calculator units.
    pub value: Value,
    /// The value as displayed ("10%", "3,000").
    pub display: String,
    /// Its unit in words ("rate", "units per group", "probability").
    pub unit: String,
    /// `given`, `previous` (from the earlier turn) or `assumed`.
    pub origin: String,
    /// The text it was read from, when given in this turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One output value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// Its name, snake_case ("n_per_group", "p_value", "adjusted_p_value_2").
    pub name: String,
    /// The value `stats` returned.
    pub value: f64,
    /// The value as displayed in the summary and steps.
    pub display: String,
}

/// A finished calculation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calculation {
    /// The kind's snake_case name ("sample_size", "proportion_test", ...).
    pub kind: String,
    /// A short title ("Sample size for two proportions").
    pub title: String,
    /// Inputs by name.
    pub inputs: BTreeMap<String, Input>,
    /// Assumptions and readings, one sentence each.
    pub assumptions: Vec<String>,
    /// Outputs in a meaningful order (the headline first).
    pub outputs: Vec<Output>,
    /// The formula in plain text.
    pub formula: String,
    /// Reasoning: inputs, then the formula, then the result, as sentences with the numbers.
    pub steps: Vec<String>,
    /// The result in one Markdown sentence, without the assumptions ("Sample size for two
    /// proportions: **57,763 units per group** …").
    pub result: String,
    /// One Markdown paragraph: `result`, then the assumptions.
    pub summary: String,
}

impl Calculation {
    /// The output named `name`.
    pub fn output(&self, name: &str) -> Option<f64> {
        self.outputs
            .iter()
            .find(|o| o.name == name)
            .map(|o| o.value)
    }

    /// Every number as displayed (inputs and outputs), for checking generated text against.
    pub fn displayed_numbers(&self) -> Vec<String> {
        self.inputs
            .values()
            .map(|i| i.display.clone())
            .chain(self.outputs.iter().map(|o| o.display.clone()))
            .collect()
    }
}

/// Reads inputs out of a request with typed errors.
struct Req<'a> {
    r: &'a CalculationRequest,
    kind: &'static str,
}

impl Req<'_> {
    fn num(&self, n: ParamName) -> Result<f64, CalculateError> {
        self.r.number(n).ok_or(CalculateError::Missing {
            kind: self.kind,
            name: n.as_str(),
        })
    }
    fn opt(&self, n: ParamName) -> Option<f64> {
        self.r.number(n)
    }
    fn list(&self, n: ParamName) -> Result<&[f64], CalculateError> {
        self.r.list(n).ok_or(CalculateError::Missing {
            kind: self.kind,
            name: n.as_str(),
        })
    }
    fn choice<T: serde::de::DeserializeOwned>(
        &self,
        n: ParamName,
        default: &str,
    ) -> Result<T, CalculateError> {
        let s = self.r.choice(n).unwrap_or(default);
        serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
            CalculateError::Invalid {
                kind: self.kind,
                name: n.as_str(),
                reason: format!("has the unknown value `{s}`; use one of the calculator's names"),
            }
        })
    }
    fn stats<T>(&self, r: Result<T, StatsError>) -> Result<T, CalculateError> {
        r.map_err(|source| CalculateError::Stats {
            kind: self.kind,
            source,
        })
    }
}

fn unit_of(n: ParamName) -> &'static str {
    use ParamName as P;
    match n {
        P::Baseline | P::Treatment => "rate",
        P::Alpha | P::Power | P::Level | P::Threshold => "probability",
        P::Mde => "effect",
        P::N => "units per group",
        P::ControlN | P::TreatmentN | P::Trials => "units",
        P::ControlX | P::TreatmentX | P::Successes => "conversions",
        P::DailyTraffic => "units per day",
        P::Exposure => "share of traffic",
        P::Variants | P::Looks => "count",
        P::Ratio => "treatment units per control unit",
        P::PValues => "p-values",
        P::Counts => "units per variant",
        P::Weights => "planned shares",
        P::Rho => "correlation",
        P::Sd | P::ControlSd | P::TreatmentSd => "metric units",
        P::Mean | P::ControlMean | P::TreatmentMean => "metric units",
        P::EffectSize => "standard deviations (Cohen's d)",
        _ => "choice",
    }
}

fn display_input(n: ParamName, v: &Value, r: &CalculationRequest) -> String {
    use ParamName as P;
    match v {
        Value::Number(x) => match n {
            P::Baseline | P::Treatment | P::Exposure => format::pct(*x),
            P::Power | P::Level => format::pct(*x),
            P::Alpha | P::Threshold => format::prob(*x),
            P::Mde => {
                let proportion = r.choice(P::Metric) != Some("mean");
                match r.choice(P::MdeScale) {
                    Some("relative") => format!("{} relative", format::pct(*x)),
                    _ if proportion => format!("{} percentage points", format::sig(x * 100.0, 4)),
                    _ => format::num(*x),
                }
            }
            P::N
            | P::ControlN
            | P::TreatmentN
            | P::ControlX
            | P::TreatmentX
            | P::Successes
            | P::Trials
            | P::DailyTraffic
            | P::Variants
            | P::Looks
                if x.fract() == 0.0 && *x >= 0.0 =>
            {
                format::int(*x as u64)
            }
            _ => format::num(*x),
        },
        Value::List(xs) => xs
            .iter()
            .map(|x| {
                if n == P::Counts && x.fract() == 0.0 && *x >= 0.0 {
                    format::int(*x as u64)
                } else {
                    format::num(*x)
                }
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Choice(s) => s.clone(),
    }
}

fn inputs(r: &CalculationRequest) -> BTreeMap<String, Input> {
    r.params
        .iter()
        .map(|(k, p)| {
            let (origin, text) = match &p.origin {
                Origin::Given { text, .. } => ("given", Some(text.clone())),
                Origin::Previous => ("previous", None),
                Origin::Assumed => ("assumed", None),
            };
            (
                k.as_str().to_string(),
                Input {
                    value: p.value.clone(),
                    display: display_input(*k, &p.value, r),
                    unit: unit_of(*k).to_string(),
                    origin: origin.to_string(),
                    text,
                },
            )
        })
        .collect()
}

/// Builds outputs as they are pushed, with their display strings.
#[derive(Default)]
struct Outs(Vec<Output>);

impl Outs {
    fn push(&mut self, name: impl Into<String>, value: f64, display: String) -> String {
        self.0.push(Output {
            name: name.into(),
            value,
            display: display.clone(),
        });
        display
    }
    fn int(&mut self, name: &str, v: u64) -> String {
        self.push(name, v as f64, format::int(v))
    }
    fn prob(&mut self, name: &str, v: f64) -> String {
        self.push(name, v, format::prob(v))
    }
    fn pct(&mut self, name: &str, v: f64) -> String {
        self.push(name, v, format::pct(v))
    }
    fn num(&mut self, name: &str, v: f64) -> String {
        self.push(name, v, format::num(v))
    }
}

fn sides_text(s: Sides) -> &'static str {
    match s {
        Sides::TwoSided => "two-sided",
        Sides::OneSided => "one-sided",
    }
}

fn alt_text(a: Alternative) -> &'static str {
    match a {
        Alternative::TwoSided => "two-sided",
        Alternative::Greater => "one-sided (treatment greater)",
        Alternative::Less => "one-sided (treatment less)",
    }
}

/// The design and effect of a sample-size, power, MDE or duration request.
struct DesignParts {
    design: Design,
    /// Treatment rate (proportions) or Cohen's d (means); `None` for an MDE request.
    effect: Option<f64>,
    proportion: bool,
    baseline: f64,
    sd: Option<f64>,
}

fn design_parts(q: &Req, need_effect: bool) -> Result<DesignParts, CalculateError> {
    let r = q.r;
    let alpha = q.num(ParamName::Alpha)?;
    let sides: Sides = q.choice(ParamName::Sides, "two-sided")?;
    let ratio = q.opt(ParamName::Ratio).unwrap_or(1.0);
    let proportion = r.choice(ParamName::Metric) != Some("mean");
    if proportion {
        let baseline = q.num(ParamName::Baseline)?;
        let design = Design {
            family: Family::Proportions {
                baseline,
                method: ProportionMethod::Pooled,
            },
            alpha,
            sides,
            ratio,
            strict: None,
        };
        let effect = if !need_effect {
            None
        } else if let Some(t) = q.opt(ParamName::Treatment) {
            Some(t)
        } else {
            let m = q.num(ParamName::Mde)?;
            let lift = if r.choice(ParamName::MdeScale) == Some("relative") {
                Lift::Relative(m)
            } else {
                Lift::Absolute(m)
            };
            Some(q.stats(lift.treatment_rate(baseline))?)
        };
        Ok(DesignParts {
            design,
            effect,
            proportion,
            baseline,
            sd: None,
        })
    } else {
        let design = Design {
            family: Family::Means { test: MeanTest::T },
            alpha,
            sides,
            ratio,
            strict: None,
        };
        let sd = q.opt(ParamName::Sd);
        let effect = if !need_effect {
            None
        } else if let Some(d) = q.opt(ParamName::EffectSize) {
            Some(d)
        } else {
            let m = q.num(ParamName::Mde)?;
            let sd = q.num(ParamName::Sd)?;
            let delta = if r.choice(ParamName::MdeScale) == Some("relative") {
                m * q.num(ParamName::Mean)?
            } else {
                m
            };
            // Written to reject NaN as well as non-positive values.
            if sd.is_nan() || sd <= 0.0 {
                return Err(CalculateError::Invalid {
                    kind: q.kind,
                    name: "sd",
                    reason: format!("must be greater than 0, got {sd}"),
                });
            }
            Some(delta / sd)
        };
        Ok(DesignParts {
            design,
            effect,
            proportion,
            baseline: 0.0,
            sd,
        })
    }
}

fn design_assumptions(d: &Design) -> String {
    format!(
        "alpha = {}, {}, allocation 1:{}",
        format::prob(d.alpha),
        sides_text(d.sides),
        format::num(d.ratio)
    )
}

/// Runs the calculation `request` describes.
pub fn run(request: &CalculationRequest) -> Result<Calculation, CalculateError> {
    use CalculationKind as K;
    let kind = request.kind.as_str();
    let q = Req { r: request, kind };
    let mut out = Outs::default();
    let mut steps: Vec<String> = Vec::new();
    let inputs = inputs(request);
    let given: Vec<String> = inputs
        .iter()
        .filter(|(_, i)| i.origin != "assumed")
        .map(|(k, i)| format!("{k} = {}", i.display))
        .collect();
    let assumed: Vec<String> = inputs
        .iter()
        .filter(|(_, i)| i.origin == "assumed")
        .map(|(k, i)| format!("{k} = {}", i.display))
        .collect();
    steps.push(if given.is_empty() {
        "No inputs were given explicitly.".to_string()
    } else {
        format!("Given: {}.", given.join(", "))
    });
    if !assumed.is_empty() {
        steps.push(format!("Assumed (not given): {}.", assumed.join(", ")));
    }
    let (title, formula, result): (String, String, String) = match request.kind {
        K::SampleSize | K::Power | K::Mde => {
            let dp = design_parts(&q, request.kind != K::Mde)?;
            let d = dp.design;
            let formula = if dp.proportion {
                "power = Φ((|p2 − p1|·√n − z(1−α/s)·√(p̄(1 − p̄)(1 + 1/r))) / √(p1(1 − p1) + p2(1 − p2)/r)), with s = 2 for a two-sided test, p̄ the pooled rate and r the allocation ratio; solved for the missing quantity".to_string()
            } else {
                "power from the noncentral t distribution with df = n(1 + r) − 2 and noncentrality d·√(n·r/(1 + r)), where d = effect / sd (Cohen's d); solved for the missing quantity".to_string()
            };
            let what = if dp.proportion {
                "two proportions"
            } else {
                "two means"
            };
            match request.kind {
                K::SampleSize => {
                    let power = q.num(ParamName::Power)?;
                    let e = dp.effect.unwrap_or_default();
                    let s = q.stats(d.sample_size(e, power))?;
                    let ctl = out.int("n_per_group", s.n_per_group);
                    let trt = out.int("n_treatment", s.n_treatment);
                    let tot = out.int("n_total", s.n_total);
                    out.num("n_per_group_exact", s.n_per_group_exact);
                    let effect_text = if dp.proportion {
                        let t = out.pct("treatment_rate", e);
                        format!("a change from {} to {t}", format::pct(dp.baseline))
                    } else {
                        let dd = out.num("effect_size", e);
                        format!("an effect of d = {dd} standard deviations")
                    };
                    steps.push(format!(
                        "The test must detect {effect_text} with power {} at {}.",
                        format::pct(power),
                        design_assumptions(&d)
                    ));
                    steps.push(format!(
                        "Solving the power equation for n gives {} per group before rounding up.",
                        format::num(s.n_per_group_exact)
                    ));
                    let result = format!(
                        "**{ctl} units per group** ({ctl} control + {trt} treatment = {tot} in total) to detect {effect_text} with {} power",
                        format::pct(power)
                    );
                    steps.push(format!(
                        "Result: {ctl} control + {trt} treatment = {tot} units."
                    ));
                    (format!("Sample size for {what}"), formula, result)
                }
                K::Power => {
                    let n = q.num(ParamName::N)?;
                    let e = dp.effect.unwrap_or_default();
                    let pw = q.stats(d.power(e, n))?;
                    let pws = out.prob("power", pw);
                    let effect_text = if dp.proportion {
                        format!(
                            "a change from {} to {}",
                            format::pct(dp.baseline),
                            format::pct(e)
                        )
                    } else {
                        format!("an effect of d = {}", format::num(e))
                    };
                    steps.push(format!(
                        "With n = {} per group, the test looks for {effect_text} at {}.",
                        display_n(n),
                        design_assumptions(&d)
                    ));
                    steps.push(format!("Evaluating the power function gives {pws}."));
                    let result = format!(
                        "**power {pws}** ({}) with {} units per group to detect {effect_text}",
                        format::pct(pw),
                        display_n(n)
                    );
                    (format!("Power for {what}"), formula, result)
                }
                _ => {
                    let n = q.num(ParamName::N)?;
                    let power = q.num(ParamName::Power)?;
                    let e = q.stats(d.mde(n, power, false))?;
                    let result = if dp.proportion {
                        let t = out.pct("treatment_rate", e);
                        let abs = out.push(
                            "mde_absolute",
                            e - dp.baseline,
                            format!(
                                "{} percentage points",
                                format::sig((e - dp.baseline) * 100.0, 4)
                            ),
                        );
                        let rel = out.pct("mde_relative", e / dp.baseline - 1.0);
                        steps.push(format!(
                            "With n = {} per group and power {} at {}, the smallest detectable treatment rate above {} is found by solving the power equation for p2.",
                            display_n(n),
                            format::pct(power),
                            design_assumptions(&d),
                            format::pct(dp.baseline)
                        ));
                        steps.push(format!("Result: p2 = {t}, an absolute lift of {abs} and a relative lift of {rel}."));
                        format!(
                            "**MDE {abs}** ({rel} relative: {} → {t}) with {} units per group and {} power",
                            format::pct(dp.baseline),
                            display_n(n),
                            format::pct(power)
                        )
                    } else {
                        let dd = out.num("effect_size", e);
                        steps.push(format!(
                            "With n = {} per group and power {} at {}, solving the power equation for d gives d = {dd}.",
                            display_n(n),
                            format::pct(power),
                            design_assumptions(&d)
                        ));
                        match dp.sd {
                            Some(sd) => {
                                let m = out.num("mde", e * sd);
                                steps.push(format!(
                                    "In metric units: d × sd = {dd} × {} = {m}.",
                                    format::num(sd)
                                ));
                                format!(
                                    "**MDE {m}** in metric units (d = {dd}) with {} units per group and {} power",
                                    display_n(n),
                                    format::pct(power)
                                )
                            }
                            None => format!(
                                "**MDE d = {dd}** standard deviations with {} units per group and {} power",
                                display_n(n),
                                format::pct(power)
                            ),
                        }
                    };
                    (
                        format!("Minimum detectable effect for {what}"),
                        formula,
                        result,
                    )
                }
            }
        }
        K::Duration => {
            let dp = design_parts(&q, true)?;
            let power = q.num(ParamName::Power)?;
            let daily = q.num(ParamName::DailyTraffic)?;
            let exposure = q.opt(ParamName::Exposure).unwrap_or(1.0);
            let variants = q.opt(ParamName::Variants).unwrap_or(2.0);
            if !(variants.fract() == 0.0 && (2.0..=1000.0).contains(&variants)) {
                return Err(CalculateError::Invalid {
                    kind,
                    name: "variants",
                    reason: format!("must be a whole number of at least 2, got {variants}"),
                });
            }
            let e = dp.effect.unwrap_or_default();
            let r = q.stats(stats::duration::duration(
                &dp.design,
                e,
                power,
                daily,
                exposure,
                variants as u32,
                stats::duration::VariantCorrection::Bonferroni,
            ))?;
            let days = out.int("days", r.days);
            out.num("days_exact", r.days_exact);
            let npg = out.int("n_per_group", r.n_per_group);
            let tot = out.int("n_total", r.n_total);
            let apc = out.prob("alpha_per_comparison", r.alpha_per_comparison);
            steps.push(format!(
                "Each of the {} variants needs {npg} units at alpha {apc} per comparison (Bonferroni over {} comparisons with control) and power {}.",
                r.variants,
                r.variants - 1,
                format::pct(power)
            ));
            steps.push(format!(
                "days = ceil(k × n per group / (daily traffic × share in the test)) = ceil({tot} / ({} × {})) = {days}.",
                format::int(daily as u64),
                format::num(exposure)
            ));
            let result = format!(
                "**{days} days** ({npg} units per variant, {tot} in total, at {} eligible units per day with {} of traffic in the test)",
                format::int(daily as u64),
                format::pct(exposure)
            );
            (
                "Experiment duration".into(),
                "days = ceil(k · n / (T · a)), where n is the per-variant sample size at alpha / (k − 1), k the number of variants, T the daily traffic and a the share of traffic in the test".into(),
                result,
            )
        }
        K::ProportionTest => {
            let (cx, cn, tx, tn) = counts(&q)?;
            let alt: Alternative = q.choice(ParamName::Alternative, "two-sided")?;
            let alpha = q.num(ParamName::Alpha)?;
            let t = q.stats(stats::hypothesis::two_proportion_z(
                cx, cn, tx, tn, alt, true,
            ))?;
            let ci = q.stats(stats::intervals::proportion_diff(
                cx,
                cn,
                tx,
                tn,
                1.0 - alpha,
                stats::intervals::DiffCi::Newcombe,
            ))?;
            let p = out.prob("p_value", t.p_value);
            let z = out.num("statistic", t.statistic);
            let diff = out.push(
                "difference",
                ci.estimate,
                format!("{} percentage points", format::sig(ci.estimate * 100.0, 4)),
            );
            let lo = out.push(
                "ci_lower",
                ci.lower,
                format!("{} pp", format::sig(ci.lower * 100.0, 4)),
            );
            let hi = out.push(
                "ci_upper",
                ci.upper,
                format!("{} pp", format::sig(ci.upper * 100.0, 4)),
            );
            steps.push(format!(
                "Control {} of {}, treatment {} of {}; pooled z test, {}.",
                format::int(cx as u64),
                format::int(cn as u64),
                format::int(tx as u64),
                format::int(tn as u64),
                alt_text(alt)
            ));
            steps.push(format!("z = {z}, p = {p}; the difference is {diff} with a {} Newcombe interval [{lo}, {hi}].", format::pct(1.0 - alpha)));
            let verdict = if t.p_value < alpha {
                "significant"
            } else {
                "not significant"
            };
            let result = format!(
                "**p = {p}** (z = {z}): {verdict} at alpha {}; difference {diff}, {} CI [{lo}, {hi}]",
                format::prob(alpha),
                format::pct(1.0 - alpha)
            );
            (
                "Two-proportion z test".into(),
                "z = (p2 − p1) / √(p̄(1 − p̄)(1/n1 + 1/n2)), p̄ = (x1 + x2) / (n1 + n2); p from the standard normal".into(),
                result,
            )
        }
        K::FisherTest => {
            let (cx, cn, tx, tn) = counts(&q)?;
            let alt: Alternative = q.choice(ParamName::Alternative, "two-sided")?;
            let alpha = q.num(ParamName::Alpha)?;
            let t = q.stats(stats::hypothesis::fisher_exact(
                [[tx, tn - tx], [cx, cn - cx]],
                alt,
            ))?;
            let p = out.prob("p_value", t.p_value);
            let or = out.num("odds_ratio", t.statistic);
            steps.push(format!(
                "Table (treatment row first): [{}, {}; {}, {}]; {}.",
                format::int(tx as u64),
                format::int((tn - tx) as u64),
                format::int(cx as u64),
                format::int((cn - cx) as u64),
                alt_text(alt)
            ));
            steps.push(format!("Summing the hypergeometric probabilities of tables no more likely than this one gives p = {p}; the sample odds ratio is {or}."));
            let verdict = if t.p_value < alpha {
                "significant"
            } else {
                "not significant"
            };
            (
                "Fisher's exact test".into(),
                "p = Σ P(table) over tables with the same margins that are no more likely than the observed one (hypergeometric)".into(),
                format!("**p = {p}** (odds ratio {or}): {verdict} at alpha {}", format::prob(alpha)),
            )
        }
        K::TTest => {
            let c = Summary {
                mean: q.num(ParamName::ControlMean)?,
                sd: q.num(ParamName::ControlSd)?,
                n: q.num(ParamName::ControlN)?,
            };
            let t = Summary {
                mean: q.num(ParamName::TreatmentMean)?,
                sd: q.num(ParamName::TreatmentSd)?,
                n: q.num(ParamName::TreatmentN)?,
            };
            let alt: Alternative = q.choice(ParamName::Alternative, "two-sided")?;
            let alpha = q.num(ParamName::Alpha)?;
            let equal = request.choice(ParamName::TTestVariant) == Some("student");
            let r = q.stats(stats::hypothesis::t_test_two_sample(c, t, equal, alt))?;
            let p = out.prob("p_value", r.p_value);
            let ts = out.num("statistic", r.statistic);
            let df = r.df.map(|d| out.num("df", d)).unwrap_or_default();
            let est = r
                .estimate
                .map(|e| out.num("difference", e))
                .unwrap_or_default();
            let se = r
                .std_error
                .map(|e| out.num("std_error", e))
                .unwrap_or_default();
            let name = if equal { "Student" } else { "Welch" };
            steps.push(format!(
                "Control mean {} (sd {}, n {}), treatment mean {} (sd {}, n {}); {name} t test, {}.",
                format::num(c.mean), format::num(c.sd), display_n(c.n),
                format::num(t.mean), format::num(t.sd), display_n(t.n),
                alt_text(alt)
            ));
            steps.push(format!("difference = {est}, standard error = {se}, t = {ts} with {df} degrees of freedom, p = {p}."));
            let verdict = if r.p_value < alpha {
                "significant"
            } else {
                "not significant"
            };
            (
                format!("{name} two-sample t test"),
                if equal {
                    "t = (m2 − m1) / (s_p √(1/n1 + 1/n2)), s_p² = ((n1 − 1)s1² + (n2 − 1)s2²) / (n1 + n2 − 2), df = n1 + n2 − 2".into()
                } else {
                    "t = (m2 − m1) / √(s1²/n1 + s2²/n2), df by Welch-Satterthwaite".into()
                },
                format!(
                    "**p = {p}** (t = {ts}, df = {df}): {verdict} at alpha {}; difference {est}",
                    format::prob(alpha)
                ),
            )
        }
        K::ProportionCi => {
            let x = q.num(ParamName::Successes)?;
            let n = q.num(ParamName::Trials)?;
            let level = q.num(ParamName::Level)?;
            let m: stats::intervals::ProportionCi = q.choice(ParamName::CiMethod, "wilson")?;
            let ci = q.stats(stats::intervals::proportion(x, n, level, m))?;
            let est = out.pct("estimate", ci.estimate);
            let lo = out.pct("lower", ci.lower);
            let hi = out.pct("upper", ci.upper);
            steps.push(format!(
                "{} of {} gives an observed rate of {est}.",
                format::int(x as u64),
                format::int(n as u64)
            ));
            steps.push(format!(
                "The {} {} interval is [{lo}, {hi}].",
                format::pct(level),
                ci.method
            ));
            (
                format!("{} interval for a proportion", ci.method),
                match m {
                    stats::intervals::ProportionCi::Wilson => {
                        "(p̂ + z²/2n ± z√(p̂(1 − p̂)/n + z²/4n²)) / (1 + z²/n)".into()
                    }
                    stats::intervals::ProportionCi::Wald => "p̂ ± z√(p̂(1 − p̂)/n)".into(),
                    stats::intervals::ProportionCi::AgrestiCoull => {
                        "p̃ ± z√(p̃(1 − p̃)/ñ), ñ = n + z², p̃ = (x + z²/2)/ñ".into()
                    }
                    stats::intervals::ProportionCi::ClopperPearson => {
                        "Beta quantiles: [B(α/2; x, n − x + 1), B(1 − α/2; x + 1, n − x)]".into()
                    }
                    stats::intervals::ProportionCi::Jeffreys => {
                        "Beta(x + ½, n − x + ½) quantiles at α/2 and 1 − α/2".into()
                    }
                },
                format!(
                    "**{} CI [{lo}, {hi}]** around {est} ({} of {})",
                    format::pct(level),
                    format::int(x as u64),
                    format::int(n as u64)
                ),
            )
        }
        K::DiffCi => {
            let (cx, cn, tx, tn) = counts(&q)?;
            let level = q.num(ParamName::Level)?;
            let m: stats::intervals::DiffCi = q.choice(ParamName::CiMethod, "newcombe")?;
            let ci = q.stats(stats::intervals::proportion_diff(cx, cn, tx, tn, level, m))?;
            let est = out.push(
                "estimate",
                ci.estimate,
                format!("{} pp", format::sig(ci.estimate * 100.0, 4)),
            );
            let lo = out.push(
                "lower",
                ci.lower,
                format!("{} pp", format::sig(ci.lower * 100.0, 4)),
            );
            let hi = out.push(
                "upper",
                ci.upper,
                format!("{} pp", format::sig(ci.upper * 100.0, 4)),
            );
            steps.push(format!(
                "Treatment minus control: {est}; the {} {} interval is [{lo}, {hi}].",
                format::pct(level),
                ci.method
            ));
            (
                "Interval for a difference of proportions".into(),
                "Newcombe: (p2 − p1) − √((p2 − l2)² + (u1 − p1)²), (p2 − p1) + √((u2 − p2)² + (p1 − l1)²) from the Wilson bounds of each rate".into(),
                format!("**difference {est}, {} CI [{lo}, {hi}]**", format::pct(level)),
            )
        }
        K::MeanCi => {
            let s = Summary {
                mean: q.num(ParamName::Mean)?,
                sd: q.num(ParamName::Sd)?,
                n: q.num(ParamName::N)?,
            };
            let level = q.num(ParamName::Level)?;
            let ci = q.stats(stats::intervals::mean(s, level))?;
            let lo = out.num("lower", ci.lower);
            let hi = out.num("upper", ci.upper);
            out.num("estimate", ci.estimate);
            steps.push(format!(
                "Mean {} with sd {} over n = {}; t quantile with {} degrees of freedom.",
                format::num(s.mean),
                format::num(s.sd),
                display_n(s.n),
                display_n(s.n - 1.0)
            ));
            steps.push(format!(
                "The {} interval is [{lo}, {hi}].",
                format::pct(level)
            ));
            (
                "t interval for a mean".into(),
                "m ± t(1 − α/2, n − 1) · s / √n".into(),
                format!(
                    "**{} CI [{lo}, {hi}]** around the mean {}",
                    format::pct(level),
                    format::num(s.mean)
                ),
            )
        }
        K::Adjust => {
            let ps = q.list(ParamName::PValues)?;
            let method: stats::multiple::Correction = q.choice(ParamName::Correction, "holm")?;
            let alpha = q.num(ParamName::Alpha)?;
            let r = q.stats(stats::multiple::adjust(ps, method, alpha))?;
            let mut rejected = Vec::new();
            for (i, (a, rej)) in r.adjusted.iter().zip(&r.reject).enumerate() {
                let d = out.prob(&format!("adjusted_p_value_{}", i + 1), *a);
                steps.push(format!(
                    "p = {} → adjusted {d}: {}.",
                    format::prob(ps[i]),
                    if *rej { "rejected" } else { "not rejected" }
                ));
                if *rej {
                    rejected.push(format::prob(ps[i]));
                }
            }
            let k = out.int("rejected", rejected.len() as u64);
            let mname = request
                .choice(ParamName::Correction)
                .unwrap_or("holm")
                .to_string();
            steps.insert(
                steps.len() - r.adjusted.len(),
                format!(
                    "{mname} correction of {} p-values at level {}.",
                    ps.len(),
                    format::prob(alpha)
                ),
            );
            let which = if rejected.is_empty() {
                "none".to_string()
            } else {
                rejected.join(", ")
            };
            (
                format!("Multiple-testing correction ({mname})"),
                match method {
                    stats::multiple::Correction::Bonferroni => "p_adj = min(1, m · p)".into(),
                    stats::multiple::Correction::Sidak => "p_adj = 1 − (1 − p)^m".into(),
                    stats::multiple::Correction::Holm => {
                        "sorted ascending, p_adj(i) = max over j ≤ i of min(1, (m − j + 1) · p(j))"
                            .into()
                    }
                    stats::multiple::Correction::Hochberg => {
                        "sorted descending, p_adj(i) = min over j ≥ i of min(1, (m − j + 1) · p(j))"
                            .into()
                    }
                    stats::multiple::Correction::BenjaminiHochberg => {
                        "sorted descending, p_adj(i) = min over j ≥ i of min(1, m · p(j) / j)"
                            .into()
                    }
                    stats::multiple::Correction::BenjaminiYekutieli => {
                        "as Benjamini-Hochberg with m replaced by m · Σ 1/k".into()
                    }
                    stats::multiple::Correction::None => "p_adj = p".into(),
                },
                format!(
                    "**{k} of {} rejected** at {} ({mname}): {which}",
                    ps.len(),
                    format::prob(alpha)
                ),
            )
        }
        K::Srm => {
            let counts = q.list(ParamName::Counts)?;
            let weights = q.list(ParamName::Weights)?;
            let threshold = q.num(ParamName::Threshold)?;
            let r = q.stats(stats::srm::srm(counts, weights, threshold))?;
            let p = out.prob("p_value", r.p_value);
            let chi = out.num("statistic", r.statistic);
            for (i, e) in r.expected.iter().enumerate() {
                out.num(&format!("expected_{}", i + 1), *e);
            }
            steps.push(format!(
                "Observed {} against expected {} from the planned split.",
                counts
                    .iter()
                    .map(|c| format::int(*c as u64))
                    .collect::<Vec<_>>()
                    .join(" / "),
                r.expected
                    .iter()
                    .map(|e| format::num(*e))
                    .collect::<Vec<_>>()
                    .join(" / ")
            ));
            steps.push(format!(
                "χ² = {chi} with {} degrees of freedom gives p = {p}.",
                format::num(r.df)
            ));
            let verdict = if r.mismatch {
                "**sample-ratio mismatch**: do not trust the results until the assignment is explained"
            } else {
                "no mismatch detected"
            };
            (
                "Sample-ratio mismatch check".into(),
                "χ² = Σ (observed − expected)² / expected, expected = total × planned share; p from χ² with k − 1 df".into(),
                format!("p = {p} (χ² = {chi}) against the threshold {}: {verdict}", format::prob(threshold)),
            )
        }
        K::Cuped => {
            let rho = q.num(ParamName::Rho)?;
            let n = q.opt(ParamName::N);
            let r = q.stats(stats::cuped::cuped_sample_size(n.unwrap_or(0.0), rho))?;
            let saving = out.pct("variance_reduction", r.saving);
            let result = match n {
                Some(n) => {
                    let nn = out.int("n_per_group", r.n_per_group);
                    steps.push(format!("CUPED multiplies the variance, and so the sample size, by 1 − ρ²; ρ = {} removes {saving}.", format::num(rho)));
                    steps.push(format!(
                        "{} × (1 − {}²) = {} → {nn} per group.",
                        display_n(n),
                        format::num(rho),
                        format::num(r.n_per_group_exact)
                    ));
                    format!(
                        "**{nn} units per group** with CUPED instead of {} ({saving} fewer)",
                        display_n(n)
                    )
                }
                None => {
                    steps.push(format!("CUPED multiplies the variance by 1 − ρ²; ρ = {} removes {saving} of it, and the sample size needed falls by the same share.", format::num(rho)));
                    format!(
                        "**{saving} variance reduction** (and {saving} fewer units for the same power)"
                    )
                }
            };
            (
                "CUPED variance reduction".into(),
                "Var(adjusted) = Var(Y)(1 − ρ²); n_CUPED = n (1 − ρ²)".into(),
                result,
            )
        }
        K::SequentialBoundaries => {
            let k = q.num(ParamName::Looks)?;
            if !(k.fract() == 0.0 && (1.0..=50.0).contains(&k)) {
                return Err(CalculateError::Invalid {
                    kind,
                    name: "looks",
                    reason: format!("must be a whole number from 1 to 50, got {k}"),
                });
            }
            let alpha = q.num(ParamName::Alpha)?;
            let sides: Sides = q.choice(ParamName::Sides, "two-sided")?;
            let spending: stats::sequential::Spending =
                q.choice(ParamName::Spending, "o-brien-fleming")?;
            let kk = k as usize;
            let fractions: Vec<f64> = (1..=kk).map(|i| i as f64 / k).collect();
            let b = q.stats(stats::sequential::lan_demets(
                &fractions, alpha, sides, spending,
            ))?;
            let mut zs = Vec::new();
            for (i, &fraction) in fractions.iter().enumerate() {
                let z = out.num(&format!("z_{}", i + 1), b.z[i]);
                let np = out.prob(&format!("nominal_p_{}", i + 1), b.nominal_p[i]);
                out.prob(&format!("alpha_spent_{}", i + 1), b.alpha_spent[i]);
                steps.push(format!("Look {} at information {}: |z| ≥ {z} (nominal p {np}), cumulative alpha spent {}.", i + 1, format::num(fraction), format::prob(b.alpha_spent[i])));
                zs.push(z);
            }
            let sname = request
                .choice(ParamName::Spending)
                .unwrap_or("o-brien-fleming")
                .to_string();
            (
                "Group-sequential boundaries".into(),
                match spending {
                    stats::sequential::Spending::OBrienFleming => "α(t) = 2 − 2Φ(z(1−α/2)/√t) per side; boundaries by recursive numerical integration (Armitage-McPherson-Rowe)".into(),
                    stats::sequential::Spending::Pocock => "α(t) = α ln(1 + (e − 1)t); boundaries by recursive numerical integration (Armitage-McPherson-Rowe)".into(),
                },
                format!("**boundaries {}** for {kk} equally spaced looks ({sname} spending, overall alpha {}, {})", zs.join(", "), format::prob(alpha), sides_text(sides)),
            )
        }
        K::Bayes => {
            let (cx, cn, tx, tn) = counts(&q)?;
            let level = q.num(ParamName::Level)?;
            let r = q.stats(stats::bayes::beta_binomial(
                cx,
                cn,
                tx,
                tn,
                1.0,
                1.0,
                level,
                stats::bayes::BayesMode::Exact,
            ))?;
            let pb = out.prob("prob_b_beats_a", r.prob_b_beats_a);
            let loss = out.prob("expected_loss", r.expected_loss);
            let lo = out.push(
                "difference_lower",
                r.difference.lower,
                format!("{} pp", format::sig(r.difference.lower * 100.0, 4)),
            );
            let hi = out.push(
                "difference_upper",
                r.difference.upper,
                format!("{} pp", format::sig(r.difference.upper * 100.0, 4)),
            );
            steps.push(format!(
                "Posteriors: A ~ Beta({}, {}), B ~ Beta({}, {}) from uniform priors.",
                format::num(cx + 1.0),
                format::num(cn - cx + 1.0),
                format::num(tx + 1.0),
                format::num(tn - tx + 1.0)
            ));
            steps.push(format!("P(B > A) = {pb}; expected loss of shipping B = {loss}; {} credible interval of B − A [{lo}, {hi}].", format::pct(level)));
            (
                "Bayesian comparison of two rates".into(),
                "P(B > A) = ∫ P(p_B > x) f_A(x) dx with Beta(1 + x, 1 + n − x) posteriors".into(),
                format!(
                    "**P(B beats A) = {pb}**, expected loss of shipping B {loss}, {} credible interval of the difference [{lo}, {hi}]",
                    format::pct(level)
                ),
            )
        }
    };
    steps.insert(
        steps.len().min(if assumed.is_empty() { 1 } else { 2 }),
        format!("Formula: {formula}."),
    );
    let mut assumptions = request.assumptions.clone();
    assumptions.dedup();
    let result = format!("{title}: {result}.");
    let summary = if assumptions.is_empty() {
        result.clone()
    } else {
        format!("{result} Assumptions: {}.", assumptions.join("; "))
    };
    Ok(Calculation {
        kind: kind.to_string(),
        title,
        inputs,
        assumptions,
        outputs: out.0,
        formula,
        steps,
        result,
        summary,
    })
}

fn display_n(n: f64) -> String {
    if n.fract() == 0.0 && n >= 0.0 {
        format::int(n as u64)
    } else {
        format::num(n)
    }
}

fn counts(q: &Req) -> Result<(f64, f64, f64, f64), CalculateError> {
    Ok((
        q.num(ParamName::ControlX)?,
        q.num(ParamName::ControlN)?,
        q.num(ParamName::TreatmentX)?,
        q.num(ParamName::TreatmentN)?,
    ))
}
