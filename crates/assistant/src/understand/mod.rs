//! Query understanding: what a question asks (its [`Intent`]) and, for calculations, which
//! calculator inputs it gives, which are assumed and which are missing.
//!
//! Everything here is deterministic text processing with no model: a lexer that keeps byte
//! spans ([`lexer`]), a parameter parser that binds each number to the nearest compatible
//! keyword ([`params`]), a calculation-kind detector and an intent classifier built on cue
//! phrases ([`intent`]). A parameter the question does not give is either assumed with a
//! stated default (alpha 0.05 two-sided, power 0.8, a 50/50 split, ...) or, when no honest
//! default exists (a baseline rate, observed counts), reported in
//! [`Understanding::missing`] with the question to ask the user. Nothing is ever invented.
//!
//! Design choice: binding numbers to parameters is a small global assignment, not a regex per
//! parameter. "5% MDE at 80% power with a 10% baseline" and "baseline 10% power 80%" put the
//! keyword on opposite sides of its number; a regex per parameter reads "MDE at 80%" as an
//! MDE of 80%. Scoring every keyword-number pair by distance and assigning the least ambiguous
//! pairs first resolves both orders with one rule, and costs microseconds.

pub mod intent;
pub mod lexer;
pub mod params;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The most bytes of a question that are read. Longer input is cut at a character boundary
/// and a note says so; this bounds the work per question whatever a client sends.
pub const MAX_QUESTION_BYTES: usize = 4096;

/// What a question asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intent {
    /// "What is X?"
    Definition,
    /// A number to compute for a design: sample size, power, MDE, duration, CUPED saving,
    /// sequential boundaries.
    Calculation,
    /// How to do something.
    Methodology,
    /// What we should do; the company's own practice.
    BestPractice,
    /// X versus Y.
    Comparison,
    /// An explanation that walks several relations ("why does X make Y longer").
    MultiHop,
    /// Analysis of observed experiment data: tests, intervals, SRM, corrections, Bayesian
    /// comparisons.
    Analysis,
    /// Not about experimentation.
    OutOfScope,
}

impl Intent {
    /// Every intent, in a fixed order (for confusion matrices).
    pub const ALL: [Intent; 8] = [
        Intent::Definition,
        Intent::Calculation,
        Intent::Methodology,
        Intent::BestPractice,
        Intent::Comparison,
        Intent::MultiHop,
        Intent::Analysis,
        Intent::OutOfScope,
    ];

    /// The snake_case name, matching the knowledge base's intent labels where they overlap.
    pub fn as_str(self) -> &'static str {
        match self {
            Intent::Definition => "definition",
            Intent::Calculation => "calculation",
            Intent::Methodology => "methodology",
            Intent::BestPractice => "best_practice",
            Intent::Comparison => "comparison",
            Intent::MultiHop => "multi_hop",
            Intent::Analysis => "analysis",
            Intent::OutOfScope => "out_of_scope",
        }
    }

    /// Parses a snake_case name.
    pub fn parse(s: &str) -> Option<Intent> {
        Intent::ALL.into_iter().find(|i| i.as_str() == s)
    }

    /// The label the knowledge base's question sets use for this intent. They have no
    /// separate analysis label (analysis questions are labelled `calculation`) and no
    /// out-of-scope questions.
    pub fn knowledge_label(self) -> &'static str {
        match self {
            Intent::Analysis => "calculation",
            other => other.as_str(),
        }
    }

    /// Whether answering needs the calculator.
    pub fn uses_calculator(self) -> bool {
        matches!(self, Intent::Calculation | Intent::Analysis)
    }
}

/// Which calculation a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalculationKind {
    /// Units per group for two proportions or two means.
    SampleSize,
    /// Power at a given n.
    Power,
    /// Minimum detectable effect at a given n.
    Mde,
    /// Days to run, from the design and the traffic.
    Duration,
    /// Two-proportion z test on observed counts.
    ProportionTest,
    /// Welch (or Student) t test from summary statistics.
    TTest,
    /// Fisher's exact test on a 2x2 table of counts.
    FisherTest,
    /// Confidence interval for one proportion.
    ProportionCi,
    /// Confidence interval for the difference of two proportions.
    DiffCi,
    /// t interval for a mean from its summary.
    MeanCi,
    /// Multiple-testing adjustment of a list of p-values.
    Adjust,
    /// Sample-ratio mismatch check.
    Srm,
    /// Sample size saved by CUPED at a given correlation.
    Cuped,
    /// Group-sequential (Lan-DeMets) efficacy boundaries.
    SequentialBoundaries,
    /// Beta-binomial Bayesian comparison of two conversion rates.
    Bayes,
}

impl CalculationKind {
    /// Every kind.
    pub const ALL: [CalculationKind; 15] = [
        CalculationKind::SampleSize,
        CalculationKind::Power,
        CalculationKind::Mde,
        CalculationKind::Duration,
        CalculationKind::ProportionTest,
        CalculationKind::TTest,
        CalculationKind::FisherTest,
        CalculationKind::ProportionCi,
        CalculationKind::DiffCi,
        CalculationKind::MeanCi,
        CalculationKind::Adjust,
        CalculationKind::Srm,
        CalculationKind::Cuped,
        CalculationKind::SequentialBoundaries,
        CalculationKind::Bayes,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CalculationKind::SampleSize => "sample_size",
            CalculationKind::Power => "power",
            CalculationKind::Mde => "mde",
            CalculationKind::Duration => "duration",
            CalculationKind::ProportionTest => "proportion_test",
            CalculationKind::TTest => "t_test",
            CalculationKind::FisherTest => "fisher_test",
            CalculationKind::ProportionCi => "proportion_ci",
            CalculationKind::DiffCi => "diff_ci",
            CalculationKind::MeanCi => "mean_ci",
            CalculationKind::Adjust => "adjust",
            CalculationKind::Srm => "srm",
            CalculationKind::Cuped => "cuped",
            CalculationKind::SequentialBoundaries => "sequential_boundaries",
            CalculationKind::Bayes => "bayes",
        }
    }

    /// Parses a snake_case name.
    pub fn parse(s: &str) -> Option<CalculationKind> {
        CalculationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether this kind analyses observed data (as opposed to planning a design).
    pub fn is_analysis(self) -> bool {
        matches!(
            self,
            CalculationKind::ProportionTest
                | CalculationKind::TTest
                | CalculationKind::FisherTest
                | CalculationKind::ProportionCi
                | CalculationKind::DiffCi
                | CalculationKind::MeanCi
                | CalculationKind::Adjust
                | CalculationKind::Srm
                | CalculationKind::Bayes
        )
    }
}

/// A calculator input's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamName {
    /// `proportion` or `mean`.
    Metric,
    /// Control conversion rate, a fraction.
    Baseline,
    /// Treatment conversion rate, a fraction ("from 10% to 10.5%").
    Treatment,
    /// Effect to detect: a fraction for proportions, metric units for means.
    Mde,
    /// `absolute` or `relative`: how [`ParamName::Mde`] is meant.
    MdeScale,
    /// Metric mean (for means; also the mean of a one-sample interval).
    Mean,
    /// Metric standard deviation.
    Sd,
    /// Standardized effect, Cohen's d.
    EffectSize,
    /// Significance level.
    Alpha,
    /// Target power.
    Power,
    /// `one-sided` or `two-sided`.
    Sides,
    /// Control-group size (the one group of an interval).
    N,
    /// Treatment size over control size.
    Ratio,
    /// Eligible units per day.
    DailyTraffic,
    /// Share of eligible traffic in the experiment, in (0, 1].
    Exposure,
    /// Number of variants including control.
    Variants,
    /// Control conversions.
    ControlX,
    /// Control units.
    ControlN,
    /// Treatment conversions.
    TreatmentX,
    /// Treatment units.
    TreatmentN,
    /// Control mean (t test).
    ControlMean,
    /// Control standard deviation (t test).
    ControlSd,
    /// Treatment mean (t test).
    TreatmentMean,
    /// Treatment standard deviation (t test).
    TreatmentSd,
    /// Successes for a one-proportion interval.
    Successes,
    /// Trials for a one-proportion interval.
    Trials,
    /// p-values to adjust.
    PValues,
    /// Multiple-testing method (stats' kebab-case names).
    Correction,
    /// Observed units per variant (SRM).
    Counts,
    /// Planned shares per variant (SRM, from a split such as 50/50).
    Weights,
    /// SRM p-value threshold.
    Threshold,
    /// Correlation of the metric with its pre-period covariate (CUPED).
    Rho,
    /// Number of equally spaced looks (sequential).
    Looks,
    /// `o-brien-fleming` or `pocock`.
    Spending,
    /// Confidence level of an interval.
    Level,
    /// Interval method (stats' kebab-case names).
    CiMethod,
    /// `two-sided`, `greater` or `less` for tests on observed data.
    Alternative,
    /// Whether the t test assumes equal variances (`student`) or not (`welch`).
    TTestVariant,
}

impl ParamName {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamName::Metric => "metric",
            ParamName::Baseline => "baseline",
            ParamName::Treatment => "treatment",
            ParamName::Mde => "mde",
            ParamName::MdeScale => "mde_scale",
            ParamName::Mean => "mean",
            ParamName::Sd => "sd",
            ParamName::EffectSize => "effect_size",
            ParamName::Alpha => "alpha",
            ParamName::Power => "power",
            ParamName::Sides => "sides",
            ParamName::N => "n",
            ParamName::Ratio => "ratio",
            ParamName::DailyTraffic => "daily_traffic",
            ParamName::Exposure => "exposure",
            ParamName::Variants => "variants",
            ParamName::ControlX => "control_x",
            ParamName::ControlN => "control_n",
            ParamName::TreatmentX => "treatment_x",
            ParamName::TreatmentN => "treatment_n",
            ParamName::ControlMean => "control_mean",
            ParamName::ControlSd => "control_sd",
            ParamName::TreatmentMean => "treatment_mean",
            ParamName::TreatmentSd => "treatment_sd",
            ParamName::Successes => "successes",
            ParamName::Trials => "trials",
            ParamName::PValues => "p_values",
            ParamName::Correction => "correction",
            ParamName::Counts => "counts",
            ParamName::Weights => "weights",
            ParamName::Threshold => "threshold",
            ParamName::Rho => "rho",
            ParamName::Looks => "looks",
            ParamName::Spending => "spending",
            ParamName::Level => "level",
            ParamName::CiMethod => "ci_method",
            ParamName::Alternative => "alternative",
            ParamName::TTestVariant => "t_test_variant",
        }
    }
}

/// A parameter's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// A number.
    Number(f64),
    /// A list of numbers.
    List(Vec<f64>),
    /// One of a fixed set of names.
    Choice(String),
}

/// Where a parameter's value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "origin", rename_all = "snake_case")]
pub enum Origin {
    /// Written in the question; `start..end` are byte offsets into it.
    Given {
        /// Byte offset where the evidence starts.
        start: usize,
        /// Byte offset one past its end.
        end: usize,
        /// The evidence as written.
        text: String,
    },
    /// Carried over from the previous calculation of the conversation.
    Previous,
    /// Not given; a stated default.
    Assumed,
}

/// A parameter with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// The value, in calculator units (fractions for rates).
    pub value: Value,
    /// Where it came from.
    #[serde(flatten)]
    pub origin: Origin,
}

impl Param {
    /// The number, if the value is one.
    pub fn number(&self) -> Option<f64> {
        match self.value {
            Value::Number(x) => Some(x),
            _ => None,
        }
    }

    /// The list, if the value is one.
    pub fn list(&self) -> Option<&[f64]> {
        match &self.value {
            Value::List(x) => Some(x),
            _ => None,
        }
    }

    /// The choice, if the value is one.
    pub fn choice(&self) -> Option<&str> {
        match &self.value {
            Value::Choice(x) => Some(x),
            _ => None,
        }
    }

    /// Whether the user gave it (in this turn or an earlier one).
    pub fn is_given(&self) -> bool {
        !matches!(self.origin, Origin::Assumed)
    }
}

/// What the calculator is asked to compute, with every input it needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalculationRequest {
    /// Which calculation.
    pub kind: CalculationKind,
    /// Inputs by name, given or assumed.
    pub params: BTreeMap<ParamName, Param>,
    /// Sentences explaining how the text was read where a reading was chosen (for example
    /// how a bare "5% MDE" is taken).
    pub assumptions: Vec<String>,
}

impl CalculationRequest {
    /// The parameter `name`, if present.
    pub fn get(&self, name: ParamName) -> Option<&Param> {
        self.params.get(&name)
    }

    /// The number under `name`, if present and numeric.
    pub fn number(&self, name: ParamName) -> Option<f64> {
        self.get(name).and_then(Param::number)
    }

    /// The list under `name`, if present and a list.
    pub fn list(&self, name: ParamName) -> Option<&[f64]> {
        self.get(name).and_then(Param::list)
    }

    /// The choice under `name`, if present and a choice.
    pub fn choice(&self, name: ParamName) -> Option<&str> {
        self.get(name).and_then(Param::choice)
    }
}

/// A required input the question did not give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingParam {
    /// Which input.
    pub name: ParamName,
    /// The question to put to the user.
    pub question: String,
}

/// What the question asks, and the calculation it implies if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Understanding {
    /// The question's intent.
    pub intent: Intent,
    /// The calculation the question implies, with given and assumed inputs. Present for
    /// calculation and analysis intents, and for other intents whose text still carries a
    /// complete or partial calculation ("if we bump power from 80% to 90% what happens to
    /// runtime" is multi-hop, and its calculation part can still be shown).
    pub calculation: Option<CalculationRequest>,
    /// Required inputs not given. The calculation must not run while this is non-empty;
    /// ask these questions instead.
    pub missing: Vec<MissingParam>,
    /// Whether the question was read as a follow-up to the previous calculation.
    pub follow_up: bool,
    /// Remarks on how the text was read (truncation, ignored numbers).
    pub notes: Vec<String>,
}

impl Understanding {
    /// Whether the calculator can run now: a calculation is present and nothing required is
    /// missing.
    pub fn is_calculable(&self) -> bool {
        self.calculation.is_some() && self.missing.is_empty()
    }
}

/// Reads `question`. With `previous` (the last calculation of the conversation), a follow-up
/// such as "and with 90% power?" reuses its inputs and overrides only what the new text gives.
pub fn understand(question: &str, previous: Option<&CalculationRequest>) -> Understanding {
    let mut notes = Vec::new();
    let text = if question.len() > MAX_QUESTION_BYTES {
        let mut cut = MAX_QUESTION_BYTES;
        while !question.is_char_boundary(cut) {
            cut -= 1;
        }
        notes.push(format!(
            "only the first {cut} bytes of the question were read (it has {})",
            question.len()
        ));
        &question[..cut]
    } else {
        question
    };
    let tokens = lexer::lex(text);
    let cues = intent::Cues::find(&tokens);
    let parsed = params::parse(text, &tokens, &cues);
    let detected = params::detect_kind(&cues, &parsed);
    let follow_up = previous.is_some() && params::is_follow_up(&cues, &parsed, detected);
    let kind = if follow_up {
        let named = detected.filter(|_| params::names_a_kind(&cues));
        named.or(previous.map(|p| p.kind))
    } else {
        detected
    };
    let intent = match kind {
        Some(k) if follow_up && k.is_analysis() => Intent::Analysis,
        Some(_) if follow_up => Intent::Calculation,
        _ => intent::classify(&cues, &parsed, detected),
    };

    let mut calculation = None;
    let mut missing = Vec::new();
    if let Some(kind) = kind {
        let base = if follow_up { previous } else { None };
        let (req, miss) = params::build_request(kind, &parsed, base);
        // Other intents keep a calculation only when it is complete: a partial one would only
        // produce questions back to a user who asked for an explanation.
        if intent.uses_calculator() {
            missing = miss;
            calculation = Some(req);
        } else if miss.is_empty() {
            calculation = Some(req);
        }
    }
    notes.extend(parsed.notes.iter().cloned());
    Understanding {
        intent,
        calculation,
        missing,
        follow_up,
        notes,
    }
}
