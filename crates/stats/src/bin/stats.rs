//! The `stats` command line: one subcommand per family of calculations, human-readable text
//! by default and one JSON object with `--json`. Every output states its assumptions. Bad
//! input exits with code 2 and a one-line message saying what is wrong and what is valid.

use std::process::ExitCode;

use anyhow::{Context, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use stats::analyze::{Aggregate, AnalysisRequest, MetricInput, VariantInput, analyze};
use stats::bayes::{BayesMode, NormalArm, beta_binomial, normal_means};
use stats::cuped::{cuped, cuped_sample_size};
use stats::duration::{VariantCorrection, duration};
use stats::hypothesis::{self as h, Alternative, BootMethod, BootStatistic, MwuMethod, Summary};
use stats::intervals::{self, DiffCi, LiftCi, ProportionCi};
use stats::moments::Moments;
use stats::multiple::{Correction, adjust};
use stats::power::{Design, Family, Lift, MeanTest, ProportionMethod, Sides};
use stats::sequential::{Look, Spending, lan_demets, mixing_rho_sq, msprt};
use stats::srm::srm;

#[derive(Parser)]
#[command(
    name = "stats",
    version,
    about = "Lift's calculation engine: power, tests, intervals, corrections, sequential and Bayesian A/B"
)]
struct Cli {
    /// Print one JSON object instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Units per group needed to reach a power.
    SampleSize(DesignArgs),
    /// Power at a given n (or, with --power as well, the alpha that reaches it).
    Power(DesignArgs),
    /// Minimum detectable effect at a given n and power.
    Mde(DesignArgs),
    /// Days of traffic a design needs.
    Duration(DurationArgs),
    /// Hypothesis tests.
    Test {
        #[command(subcommand)]
        test: TestCmd,
    },
    /// Confidence intervals.
    Ci {
        #[command(subcommand)]
        ci: CiCmd,
    },
    /// Multiple-testing correction of p-values.
    Adjust(AdjustArgs),
    /// Sample-ratio mismatch check.
    Srm(SrmArgs),
    /// CUPED variance reduction, or the sample-size saving it implies.
    Cuped(CupedArgs),
    /// Sequential testing: mSPRT and group-sequential boundaries.
    Sequential {
        #[command(subcommand)]
        seq: SeqCmd,
    },
    /// Bayesian A/B comparison.
    Bayes(BayesArgs),
    /// Full experiment analysis from a JSON or CSV file of aggregates.
    Analyze(AnalyzeArgs),
}

/// Parses a kebab-case enum value through the library's serde names, so the CLI and the JSON
/// API accept exactly the same spellings.
fn enum_arg<T: DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(Value::String(s.to_string())).map_err(|e| e.to_string())
}

fn num(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(format!("`{s}` is not a finite number"))
    }
}

/// A comma-separated list of numbers. A newtype, because clap reads a bare `Vec` field as
/// a repeated flag.
#[derive(Clone, Debug)]
struct Nums(Vec<f64>);

impl std::ops::Deref for Nums {
    type Target = Vec<f64>;
    fn deref(&self) -> &Vec<f64> {
        &self.0
    }
}

/// Rows separated by `;`, cells by `,`.
#[derive(Clone, Debug)]
struct Table(Vec<Vec<f64>>);

impl std::ops::Deref for Table {
    type Target = Vec<Vec<f64>>;
    fn deref(&self) -> &Vec<Vec<f64>> {
        &self.0
    }
}

fn list(s: &str) -> Result<Nums, String> {
    s.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(num)
        .collect::<Result<Vec<_>, _>>()
        .map(Nums)
}

fn table(s: &str) -> Result<Table, String> {
    s.split(';')
        .map(|r| list(r).map(|n| n.0))
        .collect::<Result<Vec<_>, _>>()
        .map(Table)
}

#[derive(Args, Clone)]
struct DesignArgs {
    /// What is compared: proportion or mean.
    #[arg(long, default_value = "proportion")]
    metric: String,
    /// Control conversion rate (proportion metrics).
    #[arg(long, value_parser = num)]
    baseline: Option<f64>,
    /// Treatment conversion rate (instead of --mde).
    #[arg(long, value_parser = num)]
    treatment: Option<f64>,
    /// Effect to detect: absolute difference (rate points, or metric units with --sd).
    #[arg(long, value_parser = num)]
    mde: Option<f64>,
    /// Read --mde as a relative lift (0.05 = +5 %).
    #[arg(long)]
    relative: bool,
    /// Standard deviation of the metric (mean metrics).
    #[arg(long, value_parser = num)]
    sd: Option<f64>,
    /// Standardized effect, Cohen's d (mean metrics, instead of --mde and --sd).
    #[arg(long, value_parser = num)]
    effect_size: Option<f64>,
    /// Test on means: t, z or one-sample-t (also paired).
    #[arg(long, default_value = "t", value_parser = enum_arg::<MeanTest>)]
    test: MeanTest,
    /// Variance model for proportions: pooled, unpooled or arcsine.
    #[arg(long, default_value = "pooled", value_parser = enum_arg::<ProportionMethod>)]
    method: ProportionMethod,
    /// Significance level.
    #[arg(long, default_value = "0.05", value_parser = num)]
    alpha: f64,
    /// Target power.
    #[arg(long, value_parser = num)]
    power: Option<f64>,
    /// Units in the control group.
    #[arg(long, value_parser = num)]
    n: Option<f64>,
    /// Allocation ratio n_treatment / n_control.
    #[arg(long, default_value = "1", value_parser = num)]
    ratio: f64,
    /// two-sided or one-sided.
    #[arg(long, default_value = "two-sided", value_parser = enum_arg::<Sides>)]
    sides: Sides,
    /// Count the far tail of a two-sided test (default: method's convention).
    #[arg(long)]
    strict: Option<bool>,
    /// For the MDE of a proportion, look for a decrease instead of an increase.
    #[arg(long)]
    decrease: bool,
}

impl DesignArgs {
    fn design(&self) -> anyhow::Result<Design> {
        let family = match self.metric.as_str() {
            "proportion" => Family::Proportions {
                baseline: self.baseline.ok_or_else(|| anyhow!("--baseline is required for a proportion metric; give the control rate in (0, 1)"))?,
                method: self.method,
            },
            "mean" => Family::Means { test: self.test },
            other => bail!("--metric must be `proportion` or `mean`, got `{other}`"),
        };
        Ok(Design {
            family,
            alpha: self.alpha,
            sides: self.sides,
            ratio: self.ratio,
            strict: self.strict,
        })
    }

    /// The effect the design expects: the treatment rate, or Cohen's d.
    fn effect(&self, d: &Design) -> anyhow::Result<f64> {
        match d.family {
            Family::Proportions { baseline, .. } => {
                if let Some(t) = self.treatment {
                    return Ok(t);
                }
                let m = self.mde.ok_or_else(|| {
                    anyhow!("give --treatment or --mde (absolute, or relative with --relative)")
                })?;
                let lift = if self.relative {
                    Lift::Relative(m)
                } else {
                    Lift::Absolute(m)
                };
                Ok(lift.treatment_rate(baseline)?)
            }
            Family::Means { .. } => {
                if let Some(e) = self.effect_size {
                    return Ok(e);
                }
                match (self.mde, self.sd) {
                    (Some(m), Some(sd)) if sd > 0.0 => Ok(m / sd),
                    (Some(_), Some(sd)) => bail!("--sd must be greater than 0, got {sd}"),
                    _ => bail!("give --effect-size, or --mde together with --sd"),
                }
            }
        }
    }

    fn assumptions(&self, d: &Design) -> Value {
        let method = match d.family {
            Family::Proportions { method, .. } => format!("{} two-proportion z", name(&method)),
            Family::Means { test } => match test {
                MeanTest::T => "two-sample t (noncentral t power)".to_string(),
                MeanTest::Z => "two-sample z".to_string(),
                MeanTest::OneSampleT => "one-sample / paired t (noncentral t power)".to_string(),
            },
        };
        json!({
            "alpha": d.alpha,
            "sides": name(&d.sides),
            "method": method,
            "allocation": if matches!(d.family, Family::Means { test: MeanTest::OneSampleT }) { "one sample".to_string() } else { format!("1:{}", fmt(d.ratio)) },
            "n_is": if matches!(d.family, Family::Means { test: MeanTest::OneSampleT }) { "units (pairs)" } else { "control-group units; treatment has ratio times as many" },
        })
    }

    fn effect_fields(&self, d: &Design, effect: f64) -> Map<String, Value> {
        let mut m = Map::new();
        match d.family {
            Family::Proportions { baseline, .. } => {
                m.insert("baseline".into(), json!(baseline));
                m.insert("treatment".into(), json!(effect));
                m.insert("difference".into(), json!(effect - baseline));
                m.insert("relative_lift".into(), json!(effect / baseline - 1.0));
            }
            Family::Means { .. } => {
                m.insert("effect_size".into(), json!(effect));
                if let Some(sd) = self.sd {
                    m.insert("difference".into(), json!(effect * sd));
                    m.insert("sd".into(), json!(sd));
                }
            }
        }
        m
    }
}

fn name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[derive(Args)]
struct DurationArgs {
    #[command(flatten)]
    design: DesignArgs,
    /// Eligible units per day.
    #[arg(long, value_parser = num)]
    daily_traffic: f64,
    /// Share of eligible traffic in the experiment, in (0, 1].
    #[arg(long, default_value = "1", value_parser = num)]
    allocation: f64,
    /// Variants including control.
    #[arg(long, default_value = "2")]
    variants: u32,
    /// Alpha correction across treatments: bonferroni, sidak or none.
    #[arg(long, default_value = "bonferroni", value_parser = enum_arg::<VariantCorrection>)]
    correction: VariantCorrection,
}

#[derive(Subcommand)]
enum TestCmd {
    /// Two-proportion z test.
    Proportions {
        #[arg(long, value_parser = num)]
        /// Control conversions.
        x1: f64,
        #[arg(long, value_parser = num)]
        /// Control units.
        n1: f64,
        #[arg(long, value_parser = num)]
        /// Treatment conversions.
        x2: f64,
        #[arg(long, value_parser = num)]
        /// Treatment units.
        n2: f64,
        /// Use the unpooled (Wald) standard error.
        #[arg(long)]
        unpooled: bool,
        #[command(flatten)]
        alt: AltArg,
    },
    /// Two-sample t test (Welch by default) from summaries or data, or paired.
    T(TArgs),
    /// One-sample t test.
    OneSample {
        /// Comma-separated data (or give --mean, --sd, --n).
        #[arg(long, value_parser = list)]
        data: Option<Nums>,
        #[arg(long, value_parser = num)]
        /// Sample mean.
        mean: Option<f64>,
        #[arg(long, value_parser = num)]
        /// Sample standard deviation.
        sd: Option<f64>,
        #[arg(long, value_parser = num)]
        /// Sample size.
        n: Option<f64>,
        /// Null mean.
        #[arg(long, default_value = "0", value_parser = num)]
        mu0: f64,
        #[command(flatten)]
        alt: AltArg,
    },
    /// Pearson chi-square test of independence; rows separated by `;`.
    Chi2 {
        /// Table, e.g. "10,20;30,25".
        #[arg(long, value_parser = table)]
        table: Table,
        /// Skip the Yates correction on 2x2 tables.
        #[arg(long)]
        no_yates: bool,
    },
    /// Chi-square goodness of fit.
    Gof {
        /// Observed counts.
        #[arg(long, value_parser = list)]
        observed: Nums,
        /// Expected shares (default equal).
        #[arg(long, value_parser = list)]
        expected: Option<Nums>,
    },
    /// Fisher exact test on a 2x2 table "a,b;c,d".
    Fisher {
        /// Table.
        #[arg(long, value_parser = table)]
        table: Table,
        #[command(flatten)]
        alt: AltArg,
    },
    /// Mann-Whitney U test.
    MannWhitney {
        /// Control values.
        #[arg(long, value_parser = list)]
        control: Nums,
        /// Treatment values.
        #[arg(long, value_parser = list)]
        treatment: Nums,
        /// auto, exact or asymptotic.
        #[arg(long, default_value = "auto", value_parser = enum_arg::<MwuMethod>)]
        method: MwuMethod,
        /// Drop the continuity correction.
        #[arg(long)]
        no_continuity: bool,
        #[command(flatten)]
        alt: AltArg,
    },
}

#[derive(Args)]
struct AltArg {
    /// two-sided, greater (treatment larger) or less.
    #[arg(long, default_value = "two-sided", value_parser = enum_arg::<Alternative>)]
    alternative: Alternative,
}

#[derive(Args)]
struct TArgs {
    /// Control data, comma-separated (or the summary flags).
    #[arg(long, value_parser = list)]
    control: Option<Nums>,
    /// Treatment data.
    #[arg(long, value_parser = list)]
    treatment: Option<Nums>,
    /// Control summary "mean,sd,n".
    #[arg(long, value_parser = list)]
    control_summary: Option<Nums>,
    /// Treatment summary "mean,sd,n".
    #[arg(long, value_parser = list)]
    treatment_summary: Option<Nums>,
    /// Student's t with pooled variance instead of Welch.
    #[arg(long)]
    equal_var: bool,
    /// Paired test on the data (same length).
    #[arg(long)]
    paired: bool,
    #[command(flatten)]
    alt: AltArg,
}

fn summary_of(data: &Option<Nums>, summary: &Option<Nums>, which: &str) -> anyhow::Result<Summary> {
    match (data, summary) {
        (Some(d), _) => Ok(Summary::from_data(d)?),
        (None, Some(s)) if s.len() == 3 => Ok(Summary {
            mean: s[0],
            sd: s[1],
            n: s[2],
        }),
        (None, Some(s)) => bail!(
            "--{which}-summary needs 3 numbers \"mean,sd,n\", got {}",
            s.len()
        ),
        (None, None) => bail!("give --{which} data or --{which}-summary \"mean,sd,n\""),
    }
}

#[derive(Subcommand)]
enum CiCmd {
    /// One proportion.
    Proportion {
        /// Successes.
        #[arg(long, value_parser = num)]
        x: f64,
        /// Trials.
        #[arg(long, value_parser = num)]
        n: f64,
        /// wald, wilson, agresti-coull, clopper-pearson or jeffreys.
        #[arg(long, default_value = "wilson", value_parser = enum_arg::<ProportionCi>)]
        method: ProportionCi,
        #[command(flatten)]
        level: LevelArg,
    },
    /// Difference of two proportions (treatment minus control).
    Diff {
        /// Control successes.
        #[arg(long, value_parser = num)]
        x1: f64,
        /// Control trials.
        #[arg(long, value_parser = num)]
        n1: f64,
        /// Treatment successes.
        #[arg(long, value_parser = num)]
        x2: f64,
        /// Treatment trials.
        #[arg(long, value_parser = num)]
        n2: f64,
        /// wald or newcombe.
        #[arg(long, default_value = "newcombe", value_parser = enum_arg::<DiffCi>)]
        method: DiffCi,
        #[command(flatten)]
        level: LevelArg,
    },
    /// A mean (t interval), from data or "mean,sd,n".
    Mean {
        /// Data.
        #[arg(long, value_parser = list)]
        data: Option<Nums>,
        /// Summary "mean,sd,n".
        #[arg(long, value_parser = list)]
        summary: Option<Nums>,
        #[command(flatten)]
        level: LevelArg,
    },
    /// Difference of means, Welch interval.
    MeanDiff {
        /// Control summary "mean,sd,n".
        #[arg(long, value_parser = list)]
        control_summary: Nums,
        /// Treatment summary "mean,sd,n".
        #[arg(long, value_parser = list)]
        treatment_summary: Nums,
        #[command(flatten)]
        level: LevelArg,
    },
    /// Relative lift m2 / m1 - 1 from two estimates and standard errors.
    Lift {
        /// Control estimate.
        #[arg(long, value_parser = num)]
        m1: f64,
        /// Its standard error.
        #[arg(long, value_parser = num)]
        se1: f64,
        /// Treatment estimate.
        #[arg(long, value_parser = num)]
        m2: f64,
        /// Its standard error.
        #[arg(long, value_parser = num)]
        se2: f64,
        /// delta or fieller.
        #[arg(long, default_value = "delta", value_parser = enum_arg::<LiftCi>)]
        method: LiftCi,
        #[command(flatten)]
        level: LevelArg,
    },
    /// Seeded bootstrap interval.
    Bootstrap {
        /// Data (mean, median), or the control sample for diff-means.
        #[arg(long, value_parser = list)]
        data: Nums,
        /// Treatment sample (diff-means only).
        #[arg(long, value_parser = list)]
        treatment: Option<Nums>,
        /// mean, median or diff-means.
        #[arg(long, default_value = "mean", value_parser = enum_arg::<BootStatistic>)]
        statistic: BootStatistic,
        /// percentile or bca.
        #[arg(long, default_value = "bca", value_parser = enum_arg::<BootMethod>)]
        method: BootMethod,
        /// Resamples.
        #[arg(long, default_value = "10000")]
        resamples: usize,
        /// Seed.
        #[arg(long, default_value = "0")]
        seed: u64,
        #[command(flatten)]
        level: LevelArg,
    },
}

#[derive(Args)]
struct LevelArg {
    /// Confidence level.
    #[arg(long, default_value = "0.95", value_parser = num)]
    level: f64,
}

#[derive(Args)]
struct AdjustArgs {
    /// p-values, comma-separated.
    #[arg(long, value_parser = list)]
    p_values: Nums,
    /// bonferroni, sidak, holm, hochberg, benjamini-hochberg, benjamini-yekutieli or none.
    #[arg(long, default_value = "holm", value_parser = enum_arg::<Correction>)]
    method: Correction,
    /// Error rate to control.
    #[arg(long, default_value = "0.05", value_parser = num)]
    alpha: f64,
}

#[derive(Args)]
struct SrmArgs {
    /// Units per variant.
    #[arg(long, value_parser = list)]
    counts: Nums,
    /// Planned weights (default equal).
    #[arg(long, value_parser = list)]
    weights: Option<Nums>,
    /// p-value below which a mismatch is declared.
    #[arg(long, default_value = "0.001", value_parser = num)]
    threshold: f64,
}

#[derive(Args)]
struct CupedArgs {
    /// Control sums "n,sum_y,sum_y2,sum_x,sum_x2,sum_xy".
    #[arg(long, value_parser = list)]
    control: Option<Nums>,
    /// Treatment sums, same order.
    #[arg(long, value_parser = list)]
    treatment: Option<Nums>,
    /// Saving mode: units per group needed without CUPED.
    #[arg(long, value_parser = num)]
    n: Option<f64>,
    /// Saving mode: correlation of metric and covariate.
    #[arg(long, value_parser = num)]
    rho: Option<f64>,
    #[command(flatten)]
    level: LevelArg,
}

fn moments_arg(v: &[f64], which: &str) -> anyhow::Result<Moments> {
    if v.len() != 6 {
        bail!(
            "--{which} needs 6 numbers \"n,sum_y,sum_y2,sum_x,sum_x2,sum_xy\", got {}",
            v.len()
        );
    }
    Ok(Moments {
        n: v[0],
        sum_y: v[1],
        sum_y2: v[2],
        sum_x: v[3],
        sum_x2: v[4],
        sum_xy: v[5],
    })
}

#[derive(Subcommand)]
enum SeqCmd {
    /// mSPRT always-valid p-values and confidence sequences.
    Msprt {
        /// Estimate at each look.
        #[arg(long, value_parser = list)]
        estimates: Nums,
        /// Variance of the estimate at each look.
        #[arg(long, value_parser = list)]
        variances: Nums,
        /// Mixing variance tau^2 (or give --tuning-n with --unit-variance).
        #[arg(long, value_parser = num)]
        tau_sq: Option<f64>,
        /// GrowthBook-style tuning sample size N*.
        #[arg(long, value_parser = num)]
        tuning_n: Option<f64>,
        /// Per-unit variance of the estimate (its variance times n).
        #[arg(long, value_parser = num)]
        unit_variance: Option<f64>,
        /// Significance level.
        #[arg(long, default_value = "0.05", value_parser = num)]
        alpha: f64,
    },
    /// Lan-DeMets group-sequential boundaries.
    Boundaries {
        /// Number of equally spaced looks (or give --fractions).
        #[arg(long)]
        looks: Option<usize>,
        /// Information fractions, increasing, last usually 1.
        #[arg(long, value_parser = list)]
        fractions: Option<Nums>,
        /// Total alpha.
        #[arg(long, default_value = "0.05", value_parser = num)]
        alpha: f64,
        /// two-sided or one-sided.
        #[arg(long, default_value = "two-sided", value_parser = enum_arg::<Sides>)]
        sides: Sides,
        /// o-brien-fleming or pocock.
        #[arg(long, default_value = "o-brien-fleming", value_parser = enum_arg::<Spending>)]
        spending: Spending,
    },
}

#[derive(Args)]
struct BayesArgs {
    /// beta-binomial or normal.
    #[arg(long, default_value = "beta-binomial")]
    model: String,
    /// Control conversions (beta-binomial).
    #[arg(long, value_parser = num)]
    xa: Option<f64>,
    /// Control units.
    #[arg(long, value_parser = num)]
    na: Option<f64>,
    /// Treatment conversions.
    #[arg(long, value_parser = num)]
    xb: Option<f64>,
    /// Treatment units.
    #[arg(long, value_parser = num)]
    nb: Option<f64>,
    /// Beta prior first shape.
    #[arg(long, default_value = "1", value_parser = num)]
    prior_a: f64,
    /// Beta prior second shape.
    #[arg(long, default_value = "1", value_parser = num)]
    prior_b: f64,
    /// Monte Carlo draws (exact integration when absent).
    #[arg(long)]
    draws: Option<u64>,
    /// Monte Carlo seed.
    #[arg(long, default_value = "0")]
    seed: u64,
    /// Control summary "mean,sd,n" (normal model).
    #[arg(long, value_parser = list)]
    a: Option<Nums>,
    /// Treatment summary "mean,sd,n" (normal model).
    #[arg(long, value_parser = list)]
    b: Option<Nums>,
    /// Normal prior "mean,variance" on each arm's mean (flat when absent).
    #[arg(long, value_parser = list)]
    prior: Option<Nums>,
    #[command(flatten)]
    level: LevelArg,
}

#[derive(Args)]
struct AnalyzeArgs {
    /// Aggregates: a .json file (the AnalysisRequest shape) or a .csv file with columns
    /// variant,metric,kind,n,conversions,sum,sum_sq,covariate_sum,covariate_sum_sq,sum_xy.
    #[arg(long)]
    input: String,
    /// Correction across comparisons (overrides the file).
    #[arg(long, value_parser = enum_arg::<Correction>)]
    correction: Option<Correction>,
    /// Level of the correction (overrides the file).
    #[arg(long, value_parser = num)]
    alpha: Option<f64>,
    /// Planned split per variant (overrides the file).
    #[arg(long, value_parser = list)]
    split: Option<Nums>,
}

/// A command's result: a headline for text output and the JSON object.
struct Output {
    headline: String,
    body: Value,
}

fn run(cli: &Cli) -> anyhow::Result<Output> {
    match &cli.cmd {
        Cmd::SampleSize(a) => {
            let d = a.design()?;
            let e = a.effect(&d)?;
            let power = a.power.unwrap_or(0.8);
            let s = d.sample_size(e, power)?;
            let mut m = a.effect_fields(&d, e);
            m.insert("power".into(), json!(power));
            merge(&mut m, &s);
            m.insert("assumptions".into(), a.assumptions(&d));
            let headline = if matches!(
                d.family,
                Family::Means {
                    test: MeanTest::OneSampleT
                }
            ) {
                format!("Sample size: {} units", s.n_per_group)
            } else {
                format!(
                    "Sample size: {} control + {} treatment = {} units",
                    s.n_per_group, s.n_treatment, s.n_total
                )
            };
            Ok(Output {
                headline,
                body: Value::Object(m),
            })
        }
        Cmd::Power(a) => {
            let d = a.design()?;
            let e = a.effect(&d)?;
            let n =
                a.n.ok_or_else(|| anyhow!("--n is required: the control-group size"))?;
            let mut m = a.effect_fields(&d, e);
            m.insert("n".into(), json!(n));
            if let Some(p) = a.power {
                let alpha = d.solve_alpha(e, n, p)?;
                m.insert("power".into(), json!(p));
                m.insert("alpha".into(), json!(alpha));
                let mut asm = a.assumptions(&d);
                asm["alpha"] = json!("solved");
                m.insert("assumptions".into(), asm);
                return Ok(Output {
                    headline: format!(
                        "Alpha that gives power {} at n = {}: {}",
                        fmt(p),
                        fmt(n),
                        fmt(alpha)
                    ),
                    body: Value::Object(m),
                });
            }
            let p = d.power(e, n)?;
            m.insert("power".into(), json!(p));
            m.insert("assumptions".into(), a.assumptions(&d));
            Ok(Output {
                headline: format!("Power: {}", fmt(p)),
                body: Value::Object(m),
            })
        }
        Cmd::Mde(a) => {
            let d = a.design()?;
            let n =
                a.n.ok_or_else(|| anyhow!("--n is required: the control-group size"))?;
            let power = a.power.unwrap_or(0.8);
            let e = d.mde(n, power, a.decrease)?;
            let mut m = a.effect_fields(&d, e);
            let mde = match d.family {
                Family::Proportions { baseline, .. } => {
                    m.insert("mde_relative".into(), json!(e / baseline - 1.0));
                    e - baseline
                }
                Family::Means { .. } => a.sd.map_or(e, |sd| e * sd),
            };
            m.insert("mde".into(), json!(mde));
            m.insert("n".into(), json!(n));
            m.insert("power".into(), json!(power));
            m.insert("assumptions".into(), a.assumptions(&d));
            let unit = match d.family {
                Family::Proportions { .. } => " (absolute)",
                Family::Means { .. } if a.sd.is_some() => " (metric units)",
                Family::Means { .. } => " (Cohen's d)",
            };
            Ok(Output {
                headline: format!("Minimum detectable effect: {}{unit}", fmt(mde)),
                body: Value::Object(m),
            })
        }
        Cmd::Duration(a) => {
            let d = a.design.design()?;
            let e = a.design.effect(&d)?;
            let power = a.design.power.unwrap_or(0.8);
            let r = duration(
                &d,
                e,
                power,
                a.daily_traffic,
                a.allocation,
                a.variants,
                a.correction,
            )?;
            let mut m = a.design.effect_fields(&d, e);
            m.insert("power".into(), json!(power));
            merge(&mut m, &r);
            let mut asm = a.design.assumptions(&d);
            asm["allocation"] = json!(format!(
                "equal split over {} variants, {} of traffic",
                a.variants,
                fmt(a.allocation)
            ));
            asm["correction"] = json!(name(&a.correction));
            m.insert("assumptions".into(), asm);
            Ok(Output {
                headline: format!(
                    "Duration: {} days ({} units per variant)",
                    r.days, r.n_per_group
                ),
                body: Value::Object(m),
            })
        }
        Cmd::Test { test } => run_test(test),
        Cmd::Ci { ci } => run_ci(ci),
        Cmd::Adjust(a) => {
            let r = adjust(&a.p_values, a.method, a.alpha)?;
            let mut m = Map::new();
            m.insert("p_values".into(), json!(a.p_values.0));
            merge(&mut m, &r);
            m.insert("assumptions".into(), json!({"alpha": a.alpha, "sides": "as the input p-values", "method": name(&a.method), "allocation": "n/a"}));
            let k = r.reject.iter().filter(|x| **x).count();
            Ok(Output {
                headline: format!(
                    "{} correction: {k} of {} rejected at {}",
                    name(&a.method),
                    r.reject.len(),
                    fmt(a.alpha)
                ),
                body: Value::Object(m),
            })
        }
        Cmd::Srm(a) => {
            let w = a
                .weights
                .clone()
                .map_or_else(|| vec![1.0; a.counts.len()], |n| n.0);
            let r = srm(&a.counts, &w, a.threshold)?;
            let mut m = Map::new();
            merge(&mut m, &r);
            m.insert("assumptions".into(), json!({"alpha": a.threshold, "sides": "upper tail of chi-square", "method": "Pearson chi-square goodness of fit", "allocation": w}));
            let verdict = if r.mismatch {
                "MISMATCH: do not trust the results until the assignment is explained"
            } else {
                "no mismatch detected"
            };
            Ok(Output {
                headline: format!("SRM check: p = {} ({verdict})", fmt(r.p_value)),
                body: Value::Object(m),
            })
        }
        Cmd::Cuped(a) => {
            if let (Some(n), Some(rho)) = (a.n, a.rho) {
                let r = cuped_sample_size(n, rho)?;
                let mut m = Map::new();
                merge(&mut m, &r);
                m.insert("assumptions".into(), json!({"alpha": "as the original design", "sides": "as the original design", "method": "CUPED variance factor 1 - rho^2", "allocation": "as the original design"}));
                return Ok(Output {
                    headline: format!(
                        "With CUPED: {} units per group instead of {}",
                        r.n_per_group,
                        fmt(n)
                    ),
                    body: Value::Object(m),
                });
            }
            let (Some(c), Some(t)) = (&a.control, &a.treatment) else {
                bail!(
                    "give --control and --treatment sums \"n,sum_y,sum_y2,sum_x,sum_x2,sum_xy\", or --n and --rho for the sample-size saving"
                );
            };
            let r = cuped(
                &moments_arg(c, "control")?,
                &moments_arg(t, "treatment")?,
                a.level.level,
            )?;
            let mut m = Map::new();
            merge(&mut m, &r);
            m.insert("assumptions".into(), json!({"alpha": 1.0 - a.level.level, "sides": "two-sided", "method": "CUPED, theta pooled over both groups, normal test", "allocation": "as observed"}));
            Ok(Output {
                headline: format!(
                    "CUPED difference: {} [{}, {}], p = {}",
                    fmt(r.estimate),
                    fmt(r.lower),
                    fmt(r.upper),
                    fmt(r.p_value)
                ),
                body: Value::Object(m),
            })
        }
        Cmd::Sequential { seq } => run_seq(seq),
        Cmd::Bayes(a) => run_bayes(a),
        Cmd::Analyze(a) => {
            let mut req = read_analysis(&a.input)?;
            if let Some(c) = a.correction {
                req.correction = c;
            }
            if let Some(al) = a.alpha {
                req.alpha = al;
            }
            if let Some(s) = &a.split {
                req.expected_split = Some(s.0.clone());
            }
            let r = analyze(&req)?;
            let mut m = Map::new();
            merge(&mut m, &r);
            m.insert("assumptions".into(), json!({
                "alpha": req.alpha,
                "sides": "two-sided",
                "method": format!("{} correction over {} comparisons; z test (proportions), Welch t (means), CUPED when a covariate is given", name(&req.correction), r.comparisons.len()),
                "allocation": req.expected_split.clone().unwrap_or_else(|| vec![1.0; req.variants.len()]),
            }));
            let sig = r.comparisons.iter().filter(|c| c.reject).count();
            Ok(Output {
                headline: format!(
                    "Analysis: {sig} of {} comparisons significant after correction; SRM p = {}",
                    r.comparisons.len(),
                    fmt(r.srm.p_value)
                ),
                body: Value::Object(m),
            })
        }
    }
}

fn run_test(t: &TestCmd) -> anyhow::Result<Output> {
    let (r, method_note) = match t {
        TestCmd::Proportions {
            x1,
            n1,
            x2,
            n2,
            unpooled,
            alt,
        } => (
            serde_json::to_value(h::two_proportion_z(
                *x1,
                *n1,
                *x2,
                *n2,
                alt.alternative,
                !unpooled,
            )?)?,
            "normal approximation",
        ),
        TestCmd::T(a) => {
            if a.paired {
                let (Some(c), Some(t)) = (&a.control, &a.treatment) else {
                    bail!("a paired test needs --control and --treatment data")
                };
                (
                    serde_json::to_value(h::t_test_paired(c, t, a.alt.alternative)?)?,
                    "paired differences, treatment minus control",
                )
            } else {
                let c = summary_of(&a.control, &a.control_summary, "control")?;
                let t = summary_of(&a.treatment, &a.treatment_summary, "treatment")?;
                (
                    serde_json::to_value(h::t_test_two_sample(
                        c,
                        t,
                        a.equal_var,
                        a.alt.alternative,
                    )?)?,
                    "treatment minus control",
                )
            }
        }
        TestCmd::OneSample {
            data,
            mean,
            sd,
            n,
            mu0,
            alt,
        } => {
            let s = match (data, mean, sd, n) {
                (Some(d), ..) => Summary::from_data(d)?,
                (None, Some(m), Some(s), Some(n)) => Summary {
                    mean: *m,
                    sd: *s,
                    n: *n,
                },
                _ => bail!("give --data, or --mean, --sd and --n"),
            };
            (
                serde_json::to_value(h::t_test_one_sample(s, *mu0, alt.alternative)?)?,
                "sample mean minus mu0",
            )
        }
        TestCmd::Chi2 { table, no_yates } => {
            let r = h::chi_square_independence(table, !no_yates)?;
            let mut v = serde_json::to_value(&r)?;
            v["alternative"] = json!("two-sided");
            (
                v,
                if r.yates {
                    "Yates continuity correction"
                } else {
                    "no continuity correction"
                },
            )
        }
        TestCmd::Gof { observed, expected } => {
            let w = expected
                .clone()
                .map_or_else(|| vec![1.0; observed.len()], |n| n.0);
            let mut v = serde_json::to_value(h::chi_square_gof(observed, &w)?)?;
            v["alternative"] = json!("two-sided");
            (v, "expected shares normalised to the observed total")
        }
        TestCmd::Fisher { table, alt } => {
            if table.len() != 2 || table.iter().any(|r| r.len() != 2) {
                bail!("--table must be a 2x2 table \"a,b;c,d\"");
            }
            let tb = [[table[0][0], table[0][1]], [table[1][0], table[1][1]]];
            (
                serde_json::to_value(h::fisher_exact(tb, alt.alternative)?)?,
                "statistic is the sample odds ratio",
            )
        }
        TestCmd::MannWhitney {
            control,
            treatment,
            method,
            no_continuity,
            alt,
        } => (
            serde_json::to_value(h::mann_whitney(
                control,
                treatment,
                alt.alternative,
                *method,
                !no_continuity,
            )?)?,
            "statistic is U of the treatment sample; tie-corrected",
        ),
    };
    let test_name = r["test"].as_str().unwrap_or("test").to_string();
    let mut m = r.as_object().cloned().unwrap_or_default();
    let sides = m
        .get("alternative")
        .and_then(Value::as_str)
        .unwrap_or("two-sided")
        .to_string();
    m.insert("assumptions".into(), json!({"alpha": "not applied; compare p_value with your alpha", "sides": sides, "method": format!("{test_name}; {method_note}"), "allocation": "as observed"}));
    let headline = format!(
        "{}: statistic {}, p = {}",
        capitalise(&test_name),
        fmt(m["statistic"].as_f64().unwrap_or(f64::NAN)),
        fmt(m["p_value"].as_f64().unwrap_or(f64::NAN))
    );
    Ok(Output {
        headline,
        body: Value::Object(m),
    })
}

fn run_ci(c: &CiCmd) -> anyhow::Result<Output> {
    let (v, level) = match c {
        CiCmd::Proportion {
            x,
            n,
            method,
            level,
        } => (
            serde_json::to_value(intervals::proportion(*x, *n, level.level, *method)?)?,
            level.level,
        ),
        CiCmd::Diff {
            x1,
            n1,
            x2,
            n2,
            method,
            level,
        } => (
            serde_json::to_value(intervals::proportion_diff(
                *x1,
                *n1,
                *x2,
                *n2,
                level.level,
                *method,
            )?)?,
            level.level,
        ),
        CiCmd::Mean {
            data,
            summary,
            level,
        } => (
            serde_json::to_value(intervals::mean(
                summary_of(data, summary, "summary")
                    .or_else(|_| summary_of(data, summary, "data"))?,
                level.level,
            )?)?,
            level.level,
        ),
        CiCmd::MeanDiff {
            control_summary,
            treatment_summary,
            level,
        } => {
            let c = summary_of(&None, &Some(control_summary.clone()), "control")?;
            let t = summary_of(&None, &Some(treatment_summary.clone()), "treatment")?;
            (
                serde_json::to_value(intervals::mean_diff_welch(c, t, level.level)?)?,
                level.level,
            )
        }
        CiCmd::Lift {
            m1,
            se1,
            m2,
            se2,
            method,
            level,
        } => (
            serde_json::to_value(intervals::relative_lift(
                *m1,
                *se1,
                *m2,
                *se2,
                level.level,
                *method,
            )?)?,
            level.level,
        ),
        CiCmd::Bootstrap {
            data,
            treatment,
            statistic,
            method,
            resamples,
            seed,
            level,
        } => {
            let samples: Vec<&[f64]> = match (statistic, treatment) {
                (BootStatistic::DiffMeans, Some(t)) => vec![data.as_slice(), t.as_slice()],
                (BootStatistic::DiffMeans, None) => {
                    bail!("diff-means needs --data (control) and --treatment")
                }
                _ => vec![data.as_slice()],
            };
            let r = h::bootstrap(
                *statistic,
                &samples,
                level.level,
                *resamples,
                *seed,
                *method,
            )?;
            let mut v = serde_json::to_value(&r)?;
            v["method"] = json!(format!(
                "bootstrap {} ({} resamples, seed {})",
                name(method),
                resamples,
                seed
            ));
            (v, level.level)
        }
    };
    let mut m = v.as_object().cloned().unwrap_or_default();
    let method = m
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    m.insert("assumptions".into(), json!({"alpha": 1.0 - level, "sides": "two-sided (equal tails)", "method": method, "allocation": "as observed"}));
    let headline = format!(
        "{} interval ({} %): {} [{}, {}]",
        capitalise(&method),
        fmt(100.0 * level),
        fmt(m["estimate"].as_f64().unwrap_or(f64::NAN)),
        fmt(m["lower"].as_f64().unwrap_or(f64::NAN)),
        fmt(m["upper"].as_f64().unwrap_or(f64::NAN))
    );
    Ok(Output {
        headline,
        body: Value::Object(m),
    })
}

fn run_seq(s: &SeqCmd) -> anyhow::Result<Output> {
    match s {
        SeqCmd::Msprt {
            estimates,
            variances,
            tau_sq,
            tuning_n,
            unit_variance,
            alpha,
        } => {
            if estimates.len() != variances.len() {
                bail!(
                    "--estimates and --variances need one value per look, got {} and {}",
                    estimates.len(),
                    variances.len()
                );
            }
            let tau = match (tau_sq, tuning_n, unit_variance) {
                (Some(t), ..) => *t,
                (None, Some(n), Some(v)) => mixing_rho_sq(*alpha, *n)? * v,
                _ => bail!("give --tau-sq, or --tuning-n with --unit-variance"),
            };
            let looks: Vec<Look> = estimates
                .iter()
                .zip(variances.iter())
                .map(|(&e, &v)| Look {
                    estimate: e,
                    variance: v,
                })
                .collect();
            let r = msprt(&looks, tau, *alpha)?;
            let mut m = Map::new();
            merge(&mut m, &r);
            m.insert("level".into(), json!(1.0 - alpha));
            m.insert("assumptions".into(), json!({"alpha": alpha, "sides": "two-sided", "method": format!("mSPRT, normal mixture with tau^2 = {}", fmt(tau)), "allocation": "as observed"}));
            Ok(Output {
                headline: format!(
                    "mSPRT after {} looks: always-valid p = {}, confidence sequence [{}, {}]",
                    looks.len(),
                    fmt(r.p_value),
                    fmt(r.lower),
                    fmt(r.upper)
                ),
                body: Value::Object(m),
            })
        }
        SeqCmd::Boundaries {
            looks,
            fractions,
            alpha,
            sides,
            spending,
        } => {
            let fr = match (fractions, looks) {
                (Some(f), _) => f.0.clone(),
                (None, Some(k)) if *k >= 1 => {
                    (1..=*k).map(|i| i as f64 / *k as f64).collect::<Vec<f64>>()
                }
                _ => bail!("give --looks (a count of at least 1) or --fractions"),
            };
            let r = lan_demets(&fr, *alpha, *sides, *spending)?;
            let mut m = Map::new();
            merge(&mut m, &r);
            m.insert("assumptions".into(), json!({"alpha": alpha, "sides": name(sides), "method": format!("Lan-DeMets {} spending", name(spending)), "allocation": "information fractions as given"}));
            let zs: Vec<String> = r.z.iter().map(|z| fmt(*z)).collect();
            Ok(Output {
                headline: format!("Boundaries (|z|) at {} looks: {}", fr.len(), zs.join(", ")),
                body: Value::Object(m),
            })
        }
    }
}

fn run_bayes(a: &BayesArgs) -> anyhow::Result<Output> {
    let level = a.level.level;
    let (r, method) = match a.model.as_str() {
        "beta-binomial" => {
            let (Some(xa), Some(na), Some(xb), Some(nb)) = (a.xa, a.na, a.xb, a.nb) else {
                bail!("the beta-binomial model needs --xa, --na, --xb and --nb");
            };
            let mode = match a.draws {
                Some(draws) => BayesMode::MonteCarlo {
                    draws,
                    seed: a.seed,
                },
                None => BayesMode::Exact,
            };
            (
                beta_binomial(xa, na, xb, nb, a.prior_a, a.prior_b, level, mode)?,
                format!(
                    "beta-binomial, Beta({}, {}) prior",
                    fmt(a.prior_a),
                    fmt(a.prior_b)
                ),
            )
        }
        "normal" => {
            let arm = |v: &Option<Nums>, w: &str| -> anyhow::Result<NormalArm> {
                match v {
                    Some(v) if v.len() == 3 => Ok(NormalArm {
                        mean: v[0],
                        sd: v[1],
                        n: v[2],
                    }),
                    _ => bail!("the normal model needs --{w} \"mean,sd,n\""),
                }
            };
            let prior = match &a.prior {
                None => None,
                Some(p) if p.len() == 2 => Some((p[0], p[1])),
                Some(_) => bail!("--prior needs 2 numbers \"mean,variance\""),
            };
            (
                normal_means(arm(&a.a, "a")?, arm(&a.b, "b")?, prior, level)?,
                "normal model for means".to_string(),
            )
        }
        other => bail!("--model must be `beta-binomial` or `normal`, got `{other}`"),
    };
    let mut m = Map::new();
    merge(&mut m, &r);
    m.insert("assumptions".into(), json!({"alpha": "not applicable (Bayesian)", "sides": "P(B > A)", "method": format!("{method}; {}", r.model), "allocation": "as observed", "level": level}));
    let mut headline = format!(
        "P(B beats A) = {}, expected loss of shipping B = {}",
        fmt(r.prob_b_beats_a),
        fmt(r.expected_loss)
    );
    if r.error_bound > 0.0 {
        headline.push_str(&format!(
            " (Monte Carlo error bound {})",
            fmt(r.error_bound)
        ));
    }
    Ok(Output {
        headline,
        body: Value::Object(m),
    })
}

fn read_analysis(path: &str) -> anyhow::Result<AnalysisRequest> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {path}; give a readable .json or .csv file"))?;
    if path.ends_with(".csv") {
        return parse_csv(&text);
    }
    serde_json::from_str(&text).map_err(|e| anyhow!("{path} is not a valid analysis request: {e}"))
}

fn parse_csv(text: &str) -> anyhow::Result<AnalysisRequest> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .ok_or_else(|| anyhow!("the CSV file is empty; it needs a header row"))?
        .split(',')
        .map(|s| s.trim().to_string())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(cv), Some(cm), Some(ck), Some(cn)) =
        (col("variant"), col("metric"), col("kind"), col("n"))
    else {
        bail!("the CSV header needs columns variant, metric, kind and n");
    };
    let mut variants: Vec<VariantInput> = Vec::new();
    let mut metrics: Vec<(String, Vec<(String, Aggregate)>)> = Vec::new();
    for (i, line) in lines.enumerate() {
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let get = |c: Option<usize>| -> anyhow::Result<Option<f64>> {
            match c.and_then(|c| f.get(c)).filter(|s| !s.is_empty()) {
                None => Ok(None),
                Some(s) => num(s)
                    .map(Some)
                    .map_err(|e| anyhow!("CSV row {}: {e}", i + 2)),
            }
        };
        let need = |c: &str| -> anyhow::Result<f64> {
            get(col(c))?.ok_or_else(|| anyhow!("CSV row {}: column `{c}` is required", i + 2))
        };
        let variant = f.get(cv).copied().unwrap_or_default().to_string();
        let metric = f.get(cm).copied().unwrap_or_default().to_string();
        let n = get(Some(cn))?.ok_or_else(|| anyhow!("CSV row {}: n is required", i + 2))?;
        let agg = match f.get(ck).copied().unwrap_or_default() {
            "proportion" => Aggregate::Proportion {
                n,
                conversions: need("conversions")?,
            },
            "mean" => Aggregate::Mean {
                n,
                sum: need("sum")?,
                sum_sq: need("sum_sq")?,
                covariate_sum: get(col("covariate_sum"))?,
                covariate_sum_sq: get(col("covariate_sum_sq"))?,
                sum_xy: get(col("sum_xy"))?,
            },
            other => bail!(
                "CSV row {}: kind must be `proportion` or `mean`, got `{other}`",
                i + 2
            ),
        };
        if !variants.iter().any(|v| v.name == variant) {
            variants.push(VariantInput {
                name: variant.clone(),
                units: n,
            });
        }
        match metrics.iter_mut().find(|m| m.0 == metric) {
            Some(m) => m.1.push((variant, agg)),
            None => metrics.push((metric, vec![(variant, agg)])),
        }
    }
    let metrics = metrics
        .into_iter()
        .map(|(name, rows)| {
            let values = variants
                .iter()
                .map(|v| {
                    rows.iter()
                        .find(|r| r.0 == v.name)
                        .map(|r| r.1)
                        .ok_or_else(|| {
                            anyhow!("metric `{name}` has no row for variant `{}`", v.name)
                        })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            Ok(MetricInput { name, values })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(AnalysisRequest {
        variants,
        expected_split: None,
        metrics,
        alpha: 0.05,
        level: 0.95,
        correction: Correction::Holm,
        srm_threshold: 0.001,
    })
}

fn merge<T: serde::Serialize>(m: &mut Map<String, Value>, v: &T) {
    if let Ok(Value::Object(o)) = serde_json::to_value(v) {
        m.extend(o);
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Formats a number for text output: integers as integers, otherwise 6 significant digits.
fn fmt(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "undefined".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if x == x.trunc() && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    let a = x.abs();
    if (1e-4..1e6).contains(&a) {
        let digits = (5 - a.log10().floor() as i32).max(0) as usize;
        let s = format!("{x:.digits$}");
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{x:.5e}")
    }
}

fn text_value(v: &Value) -> String {
    match v {
        Value::Number(n) => fmt(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "undefined".into(),
        Value::Array(a) => a.iter().map(text_value).collect::<Vec<_>>().join(", "),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| format!("{k} {}", text_value(v)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

fn render_text(out: &Output) -> String {
    let mut s = format!("{}\n", out.headline);
    let Value::Object(m) = &out.body else {
        return s;
    };
    for (k, v) in m {
        if k == "assumptions" || v.is_null() {
            continue;
        }
        match v {
            Value::Array(items) if items.iter().any(Value::is_object) => {
                s.push_str(&format!("  {k}:\n"));
                for it in items {
                    s.push_str(&format!("    - {}\n", text_value(it)));
                }
            }
            _ => s.push_str(&format!("  {k:<24} {}\n", text_value(v))),
        }
    }
    if let Some(Value::Object(a)) = m.get("assumptions") {
        let parts: Vec<String> = a
            .iter()
            .map(|(k, v)| format!("{k} {}", text_value(v)))
            .collect();
        s.push_str(&format!("Assumptions: {}\n", parts.join("; ")));
    }
    s
}

/// Rejects a result that would print a NaN: every number shown must be defined.
fn check_defined(v: &Value, path: &str) -> anyhow::Result<()> {
    match v {
        Value::Number(n) if n.as_f64().is_some_and(|x| !x.is_finite()) => {
            bail!("internal: {path} is not finite")
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .try_for_each(|(i, x)| check_defined(x, &format!("{path}[{i}]"))),
        Value::Object(o) => o
            .iter()
            .try_for_each(|(k, x)| check_defined(x, &format!("{path}.{k}"))),
        _ => Ok(()),
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // clap's own message spans several lines; keep the first, which names the problem.
            let text = e.render().to_string();
            let first = text
                .lines()
                .next()
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            eprintln!("error: {first} (run `stats --help` for valid usage)");
            return ExitCode::from(2);
        }
    };
    match run(&cli).and_then(|o| check_defined(&o.body, "output").map(|()| o)) {
        Ok(out) => {
            if cli.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&out.body).unwrap_or_else(|_| "{}".into())
                );
            } else {
                print!("{}", render_text(&out));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::from(2)
        }
    }
}
