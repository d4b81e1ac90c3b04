//! Cue phrases and the intent classifier.
//!
//! [`Cues::find`] matches a fixed table of phrases against the question's words (after
//! correcting one-edit typos of the table's own words, so "sampel size" and "signficance"
//! still match) and records every hit with its token range. The parameter parser uses the
//! hits that name parameters; [`classify`] scores the intents from the rest.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use super::CalculationKind;
use super::Intent;
use super::lexer::{Kind, Token};
use super::params::Parsed;

/// What a cue phrase signals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cue {
    // Keywords that bind numbers. The parser decides on which side of the number they may sit.
    /// Baseline rate.
    Baseline,
    /// Target power.
    Power,
    /// Significance level.
    Alpha,
    /// Effect to detect.
    Mde,
    /// Standard deviation.
    Sd,
    /// Mean.
    Mean,
    /// Units per group, written after the number ("5000 per arm").
    PerGroup,
    /// Units, written before the number ("n = 3000", "sample of 400").
    NBefore,
    /// A unit noun after a number ("2400 users").
    Users,
    /// A success noun after a number ("120 conversions").
    Conversions,
    /// Daily traffic after the number ("10k a day").
    PerDay,
    /// Daily traffic before the number ("daily traffic 5000").
    TrafficBefore,
    /// Weekly traffic after the number.
    PerWeek,
    /// Share of traffic after the number ("50% of traffic").
    OfTraffic,
    /// Share of traffic before the number ("ramp is 5%", "allocation 0.5").
    ExposureBefore,
    /// Variant count after the number ("3 variants").
    VariantsAfter,
    /// Correlation with the covariate.
    Rho,
    /// Looks after the number ("5 looks").
    LooksAfter,
    /// "peek" or "look" before "N times".
    Peek,
    /// "times" after a number.
    Times,
    /// Confidence level.
    Level,
    /// Cohen's d.
    EffectSize,
    /// "total" after a number.
    Total,
    /// "each", "per arm" style broadcast words.
    Each,
    // Modifiers.
    /// "relative".
    Relative,
    /// "absolute".
    Absolute,
    /// One-sided test.
    OneSided,
    /// Two-sided test.
    TwoSided,
    /// A drop rather than a rise.
    Decrease,
    /// "split" or "allocation" near a ratio like 90/10.
    Split,
    /// "control" or "A".
    Control,
    /// "treatment", "variant" or "B".
    TreatmentWord,
    // Calculation-kind cues.
    /// Asks for a sample size.
    SampleSizeQ,
    /// Asks for power.
    PowerQ,
    /// Asks for an MDE.
    MdeQ,
    /// Asks for a duration.
    DurationQ,
    /// Asks whether a result is significant or for a p-value.
    TestQ,
    /// Asks for an interval.
    CiQ,
    /// Asks for a multiple-testing adjustment.
    AdjustQ,
    /// Mentions p-values.
    PValueWord,
    /// Holm.
    Holm,
    /// Hochberg.
    Hochberg,
    /// Benjamini-Hochberg.
    Bh,
    /// Benjamini-Yekutieli.
    By,
    /// Bonferroni.
    Bonferroni,
    /// Sidak.
    Sidak,
    /// Sample-ratio mismatch.
    SrmQ,
    /// CUPED.
    CupedQ,
    /// Sequential boundaries.
    SeqQ,
    /// Pocock spending.
    Pocock,
    /// Bayesian comparison.
    BayesQ,
    /// Fisher's exact test.
    FisherQ,
    /// Wilson interval.
    Wilson,
    /// Wald interval.
    Wald,
    /// Agresti-Coull interval.
    Agresti,
    /// Clopper-Pearson interval.
    Clopper,
    /// Jeffreys interval.
    Jeffreys,
    /// Welch t test.
    Welch,
    /// Student t test (equal variances).
    Student,
    /// Difference of two things.
    DiffWord,
    /// A t test.
    TTestWord,
    /// Conversion-rate vocabulary.
    RateWord,
    /// Mean-metric vocabulary (revenue, AOV, minutes).
    MeanWord,
    // Intent cues.
    /// "what is", "define", "meaning".
    DefWhat,
    /// "definition", "meaning", "in plain english".
    DefWord,
    /// "vs", "versus", "compared to".
    Versus,
    /// "or" between alternatives, "which is better", "difference between".
    Choose,
    /// "how do i", "how to", "steps", "best way".
    HowTo,
    /// "our", "we", "here", "policy", "allowed".
    Ours,
    /// Company-process nouns: review, scorecard, sign off, launch criteria.
    Process,
    /// "why".
    Why,
    /// "how does", "what happens", "affect", "lead to".
    Mechanism,
    /// "if", "when" conditionals.
    If,
    /// "right?", "is that", "does that mean": checking a belief.
    Belief,
    /// "how much", "how many fewer", "how much longer".
    HowMuch,
    /// "and", "what if", "what about", "instead": follow-up openers.
    FollowUp,
    /// A word from the experimentation domain.
    Domain,
    /// Asks for a quantity ("threshold", "chance", "critical z").
    Quantity,
    /// A yes/no opener ("does", "is", "can").
    YesNo,
    /// Prompt-injection and chit-chat vocabulary that is never a calculator input.
    OffTopic,
}

/// The phrase table. Words are lowercase; "-" and "'" in the question are ignored when
/// matching, so "one-sided" matches "one sided" and "what's" matches "what s".
const PHRASES: &[(&str, Cue)] = &[
    ("baseline", Cue::Baseline),
    ("base rate", Cue::Baseline),
    ("baseline rate", Cue::Baseline),
    ("baseline conversion", Cue::Baseline),
    ("baseline conversion rate", Cue::Baseline),
    ("baseline conv", Cue::Baseline),
    ("baseline ctr", Cue::Baseline),
    ("control rate", Cue::Baseline),
    ("current rate", Cue::Baseline),
    ("conversion rate", Cue::Baseline),
    ("conv rate", Cue::Baseline),
    ("conversion", Cue::Baseline),
    ("converts", Cue::Baseline),
    ("converting", Cue::Baseline),
    ("convert at", Cue::Baseline),
    ("converts at", Cue::Baseline),
    ("convert", Cue::Baseline),
    ("cr", Cue::Baseline),
    ("cvr", Cue::Baseline),
    ("ctr", Cue::Baseline),
    ("rate", Cue::Baseline),
    ("p0", Cue::Baseline),
    ("p1", Cue::Baseline),
    ("power", Cue::Power),
    ("powered", Cue::Power),
    ("pwr", Cue::Power),
    ("alpha", Cue::Alpha),
    ("α", Cue::Alpha),
    ("significance level", Cue::Alpha),
    ("significance", Cue::Alpha),
    ("sig level", Cue::Alpha),
    ("signif", Cue::Alpha),
    ("mde", Cue::Mde),
    ("minimum detectable effect", Cue::Mde),
    ("min detectable effect", Cue::Mde),
    ("lift", Cue::Mde),
    ("uplift", Cue::Mde),
    ("effect", Cue::Mde),
    ("detect", Cue::Mde),
    ("catch", Cue::Mde),
    ("increase", Cue::Mde),
    ("improvement", Cue::Mde),
    ("change", Cue::Mde),
    ("difference", Cue::Mde),
    ("diff", Cue::Mde),
    ("delta", Cue::Mde),
    ("boost", Cue::Mde),
    ("drop", Cue::Mde),
    ("decrease", Cue::Mde),
    ("sd", Cue::Sd),
    ("std", Cue::Sd),
    ("stdev", Cue::Sd),
    ("stddev", Cue::Sd),
    ("std dev", Cue::Sd),
    ("standard deviation", Cue::Sd),
    ("sigma", Cue::Sd),
    ("σ", Cue::Sd),
    ("mean", Cue::Mean),
    ("means", Cue::Mean),
    ("average", Cue::Mean),
    ("avg", Cue::Mean),
    ("aov", Cue::Mean),
    ("per group", Cue::PerGroup),
    ("per arm", Cue::PerGroup),
    ("per variant", Cue::PerGroup),
    ("per variation", Cue::PerGroup),
    ("per bucket", Cue::PerGroup),
    ("per cell", Cue::PerGroup),
    ("per side", Cue::PerGroup),
    ("a group", Cue::PerGroup),
    ("an arm", Cue::PerGroup),
    ("in each group", Cue::PerGroup),
    ("in each arm", Cue::PerGroup),
    ("each", Cue::PerGroup),
    ("n", Cue::NBefore),
    ("n =", Cue::NBefore),
    ("sample size of", Cue::NBefore),
    ("sample of", Cue::NBefore),
    ("only have", Cue::NBefore),
    ("users", Cue::Users),
    ("user", Cue::Users),
    ("visitors", Cue::Users),
    ("visits", Cue::Users),
    ("sessions", Cue::Users),
    ("people", Cue::Users),
    ("participants", Cue::Users),
    ("customers", Cue::Users),
    ("samples", Cue::Users),
    ("units", Cue::Users),
    ("trials", Cue::Users),
    ("impressions", Cue::Users),
    ("conversions", Cue::Conversions),
    ("converted", Cue::Conversions),
    ("conversion events", Cue::Conversions),
    ("signups", Cue::Conversions),
    ("sign ups", Cue::Conversions),
    ("purchases", Cue::Conversions),
    ("orders", Cue::Conversions),
    ("clicks", Cue::Conversions),
    ("successes", Cue::Conversions),
    ("buyers", Cue::Conversions),
    ("checkouts", Cue::Conversions),
    ("per day", Cue::PerDay),
    ("a day", Cue::PerDay),
    ("each day", Cue::PerDay),
    ("every day", Cue::PerDay),
    ("/ day", Cue::PerDay),
    ("users / day", Cue::PerDay),
    ("visitors / day", Cue::PerDay),
    ("users per day", Cue::PerDay),
    ("visitors per day", Cue::PerDay),
    ("users a day", Cue::PerDay),
    ("visitors a day", Cue::PerDay),
    ("daily users", Cue::PerDay),
    ("daily visitors", Cue::PerDay),
    ("eligible users / day", Cue::PerDay),
    ("eligible users per day", Cue::PerDay),
    ("eligible users a day", Cue::PerDay),
    ("dau", Cue::PerDay),
    ("daily", Cue::PerDay),
    ("daily traffic", Cue::TrafficBefore),
    ("traffic", Cue::TrafficBefore),
    ("traffic of", Cue::TrafficBefore),
    ("per week", Cue::PerWeek),
    ("a week", Cue::PerWeek),
    ("/ week", Cue::PerWeek),
    ("weekly", Cue::PerWeek),
    ("users per week", Cue::PerWeek),
    ("users a week", Cue::PerWeek),
    ("visitors per week", Cue::PerWeek),
    ("visitors a week", Cue::PerWeek),
    ("wau", Cue::PerWeek),
    ("of traffic", Cue::OfTraffic),
    ("of the traffic", Cue::OfTraffic),
    ("of our traffic", Cue::OfTraffic),
    ("of users", Cue::OfTraffic),
    ("of eligible traffic", Cue::OfTraffic),
    ("ramp", Cue::ExposureBefore),
    ("ramp is", Cue::ExposureBefore),
    ("ramped to", Cue::ExposureBefore),
    ("exposure", Cue::ExposureBefore),
    ("allocation", Cue::ExposureBefore),
    ("traffic allocation", Cue::ExposureBefore),
    ("variants", Cue::VariantsAfter),
    ("variant", Cue::VariantsAfter),
    ("variations", Cue::VariantsAfter),
    ("arms", Cue::VariantsAfter),
    ("groups", Cue::VariantsAfter),
    ("versions", Cue::VariantsAfter),
    ("buckets", Cue::VariantsAfter),
    ("cells", Cue::VariantsAfter),
    ("correlation", Cue::Rho),
    ("correlates", Cue::Rho),
    ("correlated", Cue::Rho),
    ("corr", Cue::Rho),
    ("rho", Cue::Rho),
    ("ρ", Cue::Rho),
    ("r", Cue::Rho),
    ("looks", Cue::LooksAfter),
    ("interim looks", Cue::LooksAfter),
    ("interim analyses", Cue::LooksAfter),
    ("analyses", Cue::LooksAfter),
    ("peeks", Cue::LooksAfter),
    ("checkpoints", Cue::LooksAfter),
    ("peek", Cue::Peek),
    ("look", Cue::Peek),
    ("check", Cue::Peek),
    ("times", Cue::Times),
    ("confidence", Cue::Level),
    ("confidence level", Cue::Level),
    ("level", Cue::Level),
    ("cohen s d", Cue::EffectSize),
    ("cohens d", Cue::EffectSize),
    ("effect size", Cue::EffectSize),
    ("effect size d", Cue::EffectSize),
    ("d =", Cue::EffectSize),
    ("total", Cue::Total),
    ("in total", Cue::Total),
    ("overall", Cue::Total),
    ("in both", Cue::Each),
    ("both", Cue::Each),
    ("for both", Cue::Each),
    ("relative", Cue::Relative),
    ("rel", Cue::Relative),
    ("relatively", Cue::Relative),
    ("absolute", Cue::Absolute),
    ("abs", Cue::Absolute),
    ("one sided", Cue::OneSided),
    ("1 sided", Cue::OneSided),
    ("one tailed", Cue::OneSided),
    ("1 tailed", Cue::OneSided),
    ("one tail", Cue::OneSided),
    ("onesided", Cue::OneSided),
    ("single sided", Cue::OneSided),
    ("directional", Cue::OneSided),
    ("two sided", Cue::TwoSided),
    ("2 sided", Cue::TwoSided),
    ("two tailed", Cue::TwoSided),
    ("2 tailed", Cue::TwoSided),
    ("twosided", Cue::TwoSided),
    ("two tail", Cue::TwoSided),
    ("lower", Cue::Decrease),
    ("decrease", Cue::Decrease),
    ("reduce", Cue::Decrease),
    ("reduction", Cue::Decrease),
    ("split", Cue::Split),
    ("allocation", Cue::Split),
    ("expected", Cue::Split),
    ("control", Cue::Control),
    ("treatment", Cue::TreatmentWord),
    ("variant", Cue::TreatmentWord),
    ("test group", Cue::TreatmentWord),
    ("sample size", Cue::SampleSizeQ),
    ("sample sizes", Cue::SampleSizeQ),
    ("how many users", Cue::SampleSizeQ),
    ("how many visitors", Cue::SampleSizeQ),
    ("how many people", Cue::SampleSizeQ),
    ("how many sessions", Cue::SampleSizeQ),
    ("how many samples", Cue::SampleSizeQ),
    ("how many customers", Cue::SampleSizeQ),
    ("how many per", Cue::SampleSizeQ),
    ("how many in", Cue::SampleSizeQ),
    ("how many do", Cue::SampleSizeQ),
    ("how many units", Cue::SampleSizeQ),
    ("how many participants", Cue::SampleSizeQ),
    ("how many observations", Cue::SampleSizeQ),
    ("how many subjects", Cue::SampleSizeQ),
    ("how many conversions", Cue::SampleSizeQ),
    ("n do i need", Cue::SampleSizeQ),
    ("n per group", Cue::SampleSizeQ),
    ("n per arm", Cue::SampleSizeQ),
    ("required n", Cue::SampleSizeQ),
    ("users do i need", Cue::SampleSizeQ),
    ("users do we need", Cue::SampleSizeQ),
    ("how big", Cue::SampleSizeQ),
    ("how large", Cue::SampleSizeQ),
    ("sample needed", Cue::SampleSizeQ),
    ("what power", Cue::PowerQ),
    ("power calc", Cue::PowerQ),
    ("power calculation", Cue::PowerQ),
    ("how much power", Cue::PowerQ),
    ("power do i have", Cue::PowerQ),
    ("power do we have", Cue::PowerQ),
    ("power would", Cue::PowerQ),
    ("power will", Cue::PowerQ),
    ("power does", Cue::PowerQ),
    ("what s the power", Cue::PowerQ),
    ("whats the power", Cue::PowerQ),
    ("what is the power", Cue::PowerQ),
    ("what is power", Cue::PowerQ),
    ("power of the test", Cue::PowerQ),
    ("enough power", Cue::PowerQ),
    ("underpowered", Cue::PowerQ),
    ("is that enough", Cue::PowerQ),
    ("enough", Cue::PowerQ),
    ("compute power", Cue::PowerQ),
    ("calculate power", Cue::PowerQ),
    ("achieved power", Cue::PowerQ),
    ("what power do", Cue::PowerQ),
    ("minimum detectable", Cue::MdeQ),
    ("min detectable", Cue::MdeQ),
    ("smallest effect", Cue::MdeQ),
    ("smallest lift", Cue::MdeQ),
    ("smallest change", Cue::MdeQ),
    ("smallest difference", Cue::MdeQ),
    ("detectable", Cue::MdeQ),
    ("what lift can", Cue::MdeQ),
    ("what effect can", Cue::MdeQ),
    ("what mde", Cue::MdeQ),
    ("whats my mde", Cue::MdeQ),
    ("what s my mde", Cue::MdeQ),
    ("my mde", Cue::MdeQ),
    ("the mde", Cue::MdeQ),
    ("how long", Cue::DurationQ),
    ("how many days", Cue::DurationQ),
    ("how many weeks", Cue::DurationQ),
    ("duration", Cue::DurationQ),
    ("runtime", Cue::DurationQ),
    ("run time", Cue::DurationQ),
    ("days", Cue::DurationQ),
    ("weeks", Cue::DurationQ),
    ("significant", Cue::TestQ),
    ("statistically significant", Cue::TestQ),
    ("stat sig", Cue::TestQ),
    ("sig", Cue::TestQ),
    ("p value", Cue::TestQ),
    ("p val", Cue::TestQ),
    ("pvalue", Cue::TestQ),
    ("z test", Cue::TestQ),
    ("ztest", Cue::TestQ),
    ("chi square", Cue::TestQ),
    ("chi squared", Cue::TestQ),
    ("real difference", Cue::TestQ),
    ("is it real", Cue::TestQ),
    ("did it win", Cue::TestQ),
    ("did b win", Cue::TestQ),
    ("winner", Cue::TestQ),
    ("t test", Cue::TTestWord),
    ("ttest", Cue::TTestWord),
    ("welch", Cue::Welch),
    ("welch s", Cue::Welch),
    ("welchs", Cue::Welch),
    ("unequal variance", Cue::Welch),
    ("unequal variances", Cue::Welch),
    ("student", Cue::Student),
    ("student s", Cue::Student),
    ("students", Cue::Student),
    ("equal variance", Cue::Student),
    ("equal variances", Cue::Student),
    ("pooled variance", Cue::Student),
    ("ci", Cue::CiQ),
    ("cis", Cue::CiQ),
    ("interval", Cue::CiQ),
    ("confidence interval", Cue::CiQ),
    ("margin of error", Cue::CiQ),
    ("error bars", Cue::CiQ),
    ("upper bound", Cue::CiQ),
    ("lower bound", Cue::CiQ),
    ("bounds", Cue::CiQ),
    ("range", Cue::CiQ),
    ("adjust", Cue::AdjustQ),
    ("adjusted", Cue::AdjustQ),
    ("adjustment", Cue::AdjustQ),
    ("correction", Cue::AdjustQ),
    ("correct for", Cue::AdjustQ),
    ("survive", Cue::AdjustQ),
    ("survives", Cue::AdjustQ),
    ("discoveries", Cue::AdjustQ),
    ("rejected", Cue::AdjustQ),
    ("reject", Cue::AdjustQ),
    ("multiple testing", Cue::AdjustQ),
    ("multiple comparisons", Cue::AdjustQ),
    ("fdr", Cue::Bh),
    ("p values", Cue::PValueWord),
    ("pvalues", Cue::PValueWord),
    ("pvals", Cue::PValueWord),
    ("p vals", Cue::PValueWord),
    ("p s", Cue::PValueWord),
    ("holm", Cue::Holm),
    ("holm bonferroni", Cue::Holm),
    ("hochberg", Cue::Hochberg),
    ("bh", Cue::Bh),
    ("benjamini hochberg", Cue::Bh),
    ("benjamini", Cue::Bh),
    ("by", Cue::By),
    ("benjamini yekutieli", Cue::By),
    ("yekutieli", Cue::By),
    ("bonferroni", Cue::Bonferroni),
    ("bonf", Cue::Bonferroni),
    ("sidak", Cue::Sidak),
    ("šidák", Cue::Sidak),
    ("srm", Cue::SrmQ),
    ("sample ratio", Cue::SrmQ),
    ("sample ratio mismatch", Cue::SrmQ),
    ("ratio mismatch", Cue::SrmQ),
    ("imbalance", Cue::SrmQ),
    ("imbalanced", Cue::SrmQ),
    ("mismatch", Cue::SrmQ),
    ("lopsided", Cue::SrmQ),
    ("uneven", Cue::SrmQ),
    ("cuped", Cue::CupedQ),
    ("cupac", Cue::CupedQ),
    ("variance reduction", Cue::CupedQ),
    ("pre period", Cue::CupedQ),
    ("pre experiment", Cue::CupedQ),
    ("covariate", Cue::CupedQ),
    ("boundaries", Cue::SeqQ),
    ("boundary", Cue::SeqQ),
    ("o brien", Cue::SeqQ),
    ("obrien", Cue::SeqQ),
    ("o brien fleming", Cue::SeqQ),
    ("obrien fleming", Cue::SeqQ),
    ("obf", Cue::SeqQ),
    ("lan demets", Cue::SeqQ),
    ("alpha spending", Cue::SeqQ),
    ("group sequential", Cue::SeqQ),
    ("critical values", Cue::SeqQ),
    ("pocock", Cue::Pocock),
    ("beats", Cue::BayesQ),
    ("beat", Cue::BayesQ),
    ("bayesian", Cue::BayesQ),
    ("bayes", Cue::BayesQ),
    ("posterior", Cue::BayesQ),
    ("probability to be best", Cue::BayesQ),
    ("chance to win", Cue::BayesQ),
    ("chance b", Cue::BayesQ),
    ("prob b", Cue::BayesQ),
    ("better than a", Cue::BayesQ),
    ("fisher", Cue::FisherQ),
    ("fisher s", Cue::FisherQ),
    ("fishers", Cue::FisherQ),
    ("fisher exact", Cue::FisherQ),
    ("exact test", Cue::FisherQ),
    ("wilson", Cue::Wilson),
    ("wald", Cue::Wald),
    ("normal approximation", Cue::Wald),
    ("agresti", Cue::Agresti),
    ("agresti coull", Cue::Agresti),
    ("clopper", Cue::Clopper),
    ("clopper pearson", Cue::Clopper),
    ("exact interval", Cue::Clopper),
    ("jeffreys", Cue::Jeffreys),
    ("difference", Cue::DiffWord),
    ("diff", Cue::DiffWord),
    ("the change", Cue::DiffWord),
    ("conversion", Cue::RateWord),
    ("conversions", Cue::RateWord),
    ("ctr", Cue::RateWord),
    ("rate", Cue::RateWord),
    ("revenue", Cue::MeanWord),
    ("aov", Cue::MeanWord),
    ("order value", Cue::MeanWord),
    ("minutes", Cue::MeanWord),
    ("min", Cue::MeanWord),
    ("seconds", Cue::MeanWord),
    ("latency", Cue::MeanWord),
    ("spend", Cue::MeanWord),
    ("basket", Cue::MeanWord),
    ("what is", Cue::DefWhat),
    ("what s", Cue::DefWhat),
    ("whats", Cue::DefWhat),
    ("wat is", Cue::DefWhat),
    ("wats", Cue::DefWhat),
    ("wht is", Cue::DefWhat),
    ("what are", Cue::DefWhat),
    ("what does", Cue::DefWhat),
    ("what do", Cue::DefWhat),
    ("what counts as", Cue::DefWhat),
    ("define", Cue::DefWhat),
    ("explain", Cue::DefWhat),
    ("tell me about", Cue::DefWhat),
    ("what is it", Cue::DefWord),
    ("meaning", Cue::DefWord),
    ("mean ?", Cue::DefWord),
    ("definition", Cue::DefWord),
    ("in plain english", Cue::DefWord),
    ("in simple words", Cue::DefWord),
    ("in simple terms", Cue::DefWord),
    ("like im 5", Cue::DefWord),
    ("like i m 5", Cue::DefWord),
    ("eli5", Cue::DefWord),
    ("exactly", Cue::DefWord),
    ("= ?", Cue::DefWord),
    ("stand for", Cue::DefWord),
    ("vs", Cue::Versus),
    ("vs .", Cue::Versus),
    ("versus", Cue::Versus),
    ("compared to", Cue::Versus),
    ("compared with", Cue::Versus),
    ("difference between", Cue::Choose),
    ("whats the diff", Cue::Choose),
    ("what s the diff", Cue::Choose),
    ("same thing", Cue::Choose),
    ("which is better", Cue::Choose),
    ("which one", Cue::Choose),
    ("which should", Cue::Choose),
    ("when do i use which", Cue::Choose),
    ("or just", Cue::Choose),
    ("mix them up", Cue::Choose),
    ("which fits", Cue::Choose),
    ("or", Cue::Choose),
    ("how do i", Cue::HowTo),
    ("how do you", Cue::HowTo),
    ("how to", Cue::HowTo),
    ("how should i", Cue::HowTo),
    ("how should", Cue::HowTo),
    ("how do we run", Cue::HowTo),
    ("how do we write", Cue::HowTo),
    ("steps", Cue::HowTo),
    ("steps for", Cue::HowTo),
    ("best way", Cue::HowTo),
    ("recommended", Cue::HowTo),
    ("checklist", Cue::HowTo),
    ("can i", Cue::HowTo),
    ("when is it ok", Cue::HowTo),
    ("what now", Cue::HowTo),
    ("in practice", Cue::HowTo),
    ("handle", Cue::HowTo),
    ("deal with", Cue::HowTo),
    ("set up", Cue::HowTo),
    ("picking", Cue::HowTo),
    ("pick", Cue::HowTo),
    ("which covariate", Cue::HowTo),
    ("what should i plan", Cue::HowTo),
    ("should i plan", Cue::HowTo),
    ("plan for", Cue::HowTo),
    ("how do i keep", Cue::HowTo),
    ("our", Cue::Ours),
    ("we", Cue::Ours),
    ("here", Cue::Ours),
    ("us", Cue::Ours),
    ("policy", Cue::Ours),
    ("allowed", Cue::Ours),
    ("supposed", Cue::Ours),
    ("standard", Cue::Ours),
    ("default", Cue::Ours),
    ("our standard", Cue::Process),
    ("our default", Cue::Process),
    ("review", Cue::Process),
    ("scorecard", Cue::Process),
    ("sign off", Cue::Process),
    ("signs off", Cue::Process),
    ("post mortem", Cue::Process),
    ("ramp schedule", Cue::Process),
    ("launch decision", Cue::Process),
    ("block a launch", Cue::Process),
    ("policy", Cue::Process),
    ("allowed", Cue::Process),
    ("supposed to", Cue::Process),
    ("do we have to", Cue::Process),
    ("do we use", Cue::Process),
    ("should we use", Cue::Process),
    ("do we decide", Cue::Process),
    ("how do we decide", Cue::Process),
    ("some teams", Cue::Process),
    ("metric review", Cue::Process),
    ("why", Cue::Why),
    ("whats the point", Cue::Why),
    ("what s the point", Cue::Why),
    ("why bother", Cue::Why),
    ("how does", Cue::Mechanism),
    ("how do", Cue::Mechanism),
    ("how can", Cue::Mechanism),
    ("how is", Cue::Mechanism),
    ("what happens", Cue::Mechanism),
    ("affect", Cue::Mechanism),
    ("affects", Cue::Mechanism),
    ("lead to", Cue::Mechanism),
    ("relate", Cue::Mechanism),
    ("connect", Cue::Mechanism),
    ("tie to", Cue::Mechanism),
    ("build on", Cue::Mechanism),
    ("buy us", Cue::Mechanism),
    ("buy power", Cue::Mechanism),
    ("help", Cue::Mechanism),
    ("cause", Cue::Mechanism),
    ("breaks", Cue::Mechanism),
    ("bias", Cue::Mechanism),
    ("biased", Cue::Mechanism),
    ("fix", Cue::Mechanism),
    ("would", Cue::Mechanism),
    ("does that", Cue::Mechanism),
    ("does it", Cue::Mechanism),
    ("is it", Cue::Belief),
    ("right ?", Cue::Belief),
    ("does that mean", Cue::Belief),
    ("too good to be true", Cue::Belief),
    ("does it matter", Cue::Belief),
    ("basically", Cue::Belief),
    ("still", Cue::Belief),
    ("is that ok", Cue::Belief),
    ("if", Cue::If),
    ("when", Cue::If),
    ("how much", Cue::HowMuch),
    ("how many fewer", Cue::HowMuch),
    ("how much longer", Cue::HowMuch),
    ("how much bigger", Cue::HowMuch),
    ("how much smaller", Cue::HowMuch),
    ("and with", Cue::FollowUp),
    ("and at", Cue::FollowUp),
    ("and for", Cue::FollowUp),
    ("and if", Cue::FollowUp),
    ("and what", Cue::FollowUp),
    ("what if", Cue::FollowUp),
    ("what about", Cue::FollowUp),
    ("how about", Cue::FollowUp),
    ("instead", Cue::FollowUp),
    ("same but", Cue::FollowUp),
    ("same with", Cue::FollowUp),
    ("same thing with", Cue::FollowUp),
    ("now with", Cue::FollowUp),
    ("with", Cue::FollowUp),
    ("threshold", Cue::Quantity),
    ("chance", Cue::Quantity),
    ("critical", Cue::Quantity),
    ("critical z", Cue::Quantity),
    ("how bad", Cue::Quantity),
    ("what share", Cue::Quantity),
    ("z score", Cue::Quantity),
    ("theta", Cue::Quantity),
    ("more than chance", Cue::Quantity),
    ("what z", Cue::Quantity),
    ("false positive rate", Cue::Quantity),
    ("probability", Cue::Quantity),
    ("does", Cue::YesNo),
    ("is", Cue::YesNo),
    ("can", Cue::YesNo),
    ("are", Cue::YesNo),
    ("should", Cue::YesNo),
    ("would", Cue::YesNo),
    ("could", Cue::YesNo),
    ("ignore", Cue::OffTopic),
    ("instructions", Cue::OffTopic),
    ("system prompt", Cue::OffTopic),
    ("prompt", Cue::OffTopic),
    ("jailbreak", Cue::OffTopic),
    ("poem", Cue::OffTopic),
    ("weather", Cue::OffTopic),
    ("recipe", Cue::OffTopic),
    ("joke", Cue::OffTopic),
    ("capital of", Cue::OffTopic),
    ("football", Cue::OffTopic),
    ("stock price", Cue::OffTopic),
    ("bitcoin", Cue::OffTopic),
    ("password", Cue::OffTopic),
];

/// Domain vocabulary: any of these words marks a question as about experimentation.
const DOMAIN: &[&str] = &[
    "test",
    "tests",
    "testing",
    "experiment",
    "experiments",
    "experimentation",
    "ab",
    "a/b",
    "variant",
    "variants",
    "control",
    "treatment",
    "metric",
    "metrics",
    "p",
    "power",
    "alpha",
    "sample",
    "significance",
    "significant",
    "sig",
    "confidence",
    "interval",
    "ci",
    "cis",
    "lift",
    "mde",
    "effect",
    "effects",
    "conversion",
    "conversions",
    "ctr",
    "rate",
    "baseline",
    "hypothesis",
    "null",
    "bayesian",
    "prior",
    "posterior",
    "credible",
    "bootstrap",
    "variance",
    "sd",
    "standard",
    "error",
    "bonferroni",
    "holm",
    "fdr",
    "fwer",
    "srm",
    "cuped",
    "cupac",
    "sequential",
    "peeking",
    "peek",
    "msprt",
    "sprt",
    "bandit",
    "bandits",
    "thompson",
    "arm",
    "arms",
    "randomization",
    "randomize",
    "randomized",
    "randomizing",
    "bucket",
    "guardrail",
    "guardrails",
    "oec",
    "novelty",
    "holdout",
    "ramp",
    "launch",
    "ship",
    "t",
    "z",
    "welch",
    "student",
    "chi",
    "fisher",
    "mann",
    "whitney",
    "wilcoxon",
    "regression",
    "winsorize",
    "winsorization",
    "winsorizing",
    "outliers",
    "revenue",
    "users",
    "traffic",
    "type",
    "false",
    "positive",
    "positives",
    "negative",
    "negatives",
    "delta",
    "ratio",
    "segments",
    "segment",
    "stratification",
    "stratify",
    "stratified",
    "triggering",
    "triggered",
    "sutva",
    "interference",
    "network",
    "switchback",
    "cluster",
    "diff",
    "did",
    "synthetic",
    "heterogeneous",
    "uplift",
    "causal",
    "ate",
    "itt",
    "surrogate",
    "proxy",
    "q",
    "harking",
    "hacking",
    "scorecard",
    "review",
    "playbook",
    "post",
    "mortem",
    "a/a",
    "aa",
    "simpson",
    "simpsons",
    "twyman",
    "twymans",
    "degrees",
    "freedom",
    "clt",
    "theorem",
    "law",
    "numbers",
    "spending",
    "boundaries",
    "pocock",
    "brien",
    "obrien",
    "fleming",
    "demets",
    "lan",
    "interleaving",
    "equivalence",
    "inferiority",
    "noninferiority",
    "tost",
    "winner",
    "winners",
    "curse",
    "stats",
    "statistics",
    "statistical",
    "statistically",
    "mean",
    "median",
    "percentile",
    "latency",
    "retention",
    "engagement",
    "funnel",
    "checkout",
    "dashboard",
    "analysis",
    "analyze",
    "analyse",
    "results",
    "result",
    "data",
    "estimate",
    "estimator",
    "correlation",
    "covariate",
    "ancova",
    "platform",
    "flag",
    "rollout",
    "exposure",
    "logging",
];

/// Phrases by their first word.
type PhraseIndex = HashMap<&'static str, Vec<(Vec<&'static str>, Cue)>>;

static PHRASE_INDEX: LazyLock<PhraseIndex> = LazyLock::new(|| {
    let mut m: HashMap<&'static str, Vec<(Vec<&'static str>, Cue)>> = HashMap::new();
    for &(p, cue) in PHRASES {
        let words: Vec<&'static str> = p.split(' ').collect();
        m.entry(words[0]).or_default().push((words, cue));
    }
    // Longest phrases first, so a caller scanning hits sees "sample ratio mismatch"
    // before "sample ratio".
    for v in m.values_mut() {
        v.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
    }
    m
});

/// Words the typo corrector may correct towards: the table's own words of five or more
/// letters, plus the domain vocabulary.
static VOCAB: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    let mut v: HashSet<&'static str> = HashSet::new();
    for &(p, _) in PHRASES {
        for w in p.split(' ') {
            v.insert(w);
        }
    }
    v.extend(DOMAIN.iter().copied());
    v.extend(EXTRA_VOCAB.iter().copied());
    v
});

/// Common words the corrector must leave alone (and correct towards), so that "means" is not
/// "corrected" into something else.
const EXTRA_VOCAB: &[&str] = &[
    "theorem",
    "central",
    "limit",
    "meaning",
    "sample",
    "results",
    "should",
    "would",
    "could",
    "there",
    "their",
    "which",
    "about",
    "after",
    "before",
    "between",
    "people",
    "percent",
    "percentage",
    "points",
    "point",
    "million",
    "thousand",
];

static DOMAIN_SET: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| DOMAIN.iter().copied().collect());

/// One matched phrase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// What it signals.
    pub cue: Cue,
    /// First token index.
    pub start: usize,
    /// One past the last token index.
    pub end: usize,
}

/// Every cue phrase found in a question.
#[derive(Debug, Clone, Default)]
pub struct Cues {
    /// Hits in order of their first token.
    pub hits: Vec<Hit>,
    /// Number of words in the question.
    pub words: usize,
    /// Number of domain words.
    pub domain_words: usize,
    /// Whether the question ends with a question mark.
    pub question_mark: bool,
    /// Number of number tokens.
    pub numbers: usize,
}

impl Cues {
    /// Matches the phrase table against `tokens`.
    pub fn find(tokens: &[Token]) -> Cues {
        // The matching view: words (typo-corrected), numbers by their digits, and the
        // punctuation that phrases use; hyphens, underscores and apostrophes are skipped.
        let mut view: Vec<(usize, String)> = Vec::with_capacity(tokens.len());
        let mut words = 0;
        let mut domain_words = 0;
        for (i, t) in tokens.iter().enumerate() {
            match &t.kind {
                Kind::Word(w) => {
                    words += 1;
                    let w = correct(w);
                    if DOMAIN_SET.contains(w.as_str()) {
                        domain_words += 1;
                    }
                    view.push((i, w));
                }
                Kind::Num(n) => {
                    let s = if n.value.fract() == 0.0 && n.value.abs() < 1e15 {
                        format!("{}", n.value as i64)
                    } else {
                        format!("{}", n.value)
                    };
                    view.push((i, s));
                }
                Kind::Punct('-' | '_' | '\'' | '’' | '‘') => {}
                Kind::Punct(c) => view.push((i, c.to_string())),
            }
        }
        let mut hits = Vec::new();
        for j in 0..view.len() {
            let Some(cands) = PHRASE_INDEX.get(view[j].1.as_str()) else {
                continue;
            };
            for (phrase, cue) in cands {
                if j + phrase.len() > view.len() {
                    continue;
                }
                if phrase.iter().enumerate().all(|(k, w)| view[j + k].1 == *w) {
                    hits.push(Hit {
                        cue: *cue,
                        start: view[j].0,
                        end: view[j + phrase.len() - 1].0 + 1,
                    });
                }
            }
        }
        let question_mark = tokens.iter().rev().take(3).any(|t| t.is_punct('?'));
        let numbers = tokens.iter().filter(|t| t.num().is_some()).count();
        Cues {
            hits,
            words,
            domain_words,
            question_mark,
            numbers,
        }
    }

    /// Whether any hit has `cue`.
    pub fn has(&self, cue: Cue) -> bool {
        self.hits.iter().any(|h| h.cue == cue)
    }

    /// How many hits have `cue`.
    pub fn count(&self, cue: Cue) -> usize {
        self.hits.iter().filter(|h| h.cue == cue).count()
    }

    /// The first hit with `cue`.
    pub fn first(&self, cue: Cue) -> Option<&Hit> {
        self.hits.iter().find(|h| h.cue == cue)
    }

    /// Whether a hit with `cue` starts within the first `n` tokens.
    pub fn starts_with(&self, cue: Cue, n: usize) -> bool {
        self.hits.iter().any(|h| h.cue == cue && h.start < n)
    }
}

/// Corrects `w` to a vocabulary word one edit away (insertion, deletion, substitution or
/// transposition) when `w` itself is unknown and at least five letters long.
fn correct(w: &str) -> String {
    if w.chars().count() < 5 || VOCAB.contains(w) {
        return w.to_string();
    }
    let mut best: Option<&str> = None;
    for v in VOCAB.iter() {
        if v.len().abs_diff(w.len()) <= 1 && v.len() >= 5 && within_one_edit(w, v) {
            // Ties go to the lexicographically smallest word, so the result does not depend
            // on the hash set's iteration order.
            if best.is_none_or(|b| *v < b) {
                best = Some(v);
            }
        }
    }
    best.map_or_else(|| w.to_string(), str::to_string)
}

fn within_one_edit(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a == b {
        return true;
    }
    let (n, m) = (a.len(), b.len());
    if n == m {
        let diffs: Vec<usize> = (0..n).filter(|&i| a[i] != b[i]).collect();
        return diffs.len() == 1
            || (diffs.len() == 2
                && diffs[1] == diffs[0] + 1
                && a[diffs[0]] == b[diffs[1]]
                && a[diffs[1]] == b[diffs[0]]);
    }
    let (s, l) = if n < m { (&a, &b) } else { (&b, &a) };
    if l.len() - s.len() != 1 {
        return false;
    }
    let mut i = 0;
    while i < s.len() && s[i] == l[i] {
        i += 1;
    }
    s[i..] == l[i + 1..]
}

/// Classifies the question. `kind` is the calculation the parser detected, if any.
pub fn classify(cues: &Cues, parsed: &Parsed, kind: Option<CalculationKind>) -> Intent {
    let numbers = parsed.bound_numbers;
    let has = |c: Cue| cues.has(c);
    // Explanations: "why", belief checks ("..., right?"), and conditionals about mechanisms
    // ("if we cut the sample, what happens", "if ..., how many fewer users").
    let explain = has(Cue::Why)
        || has(Cue::Belief)
        || has(Cue::If) && (has(Cue::Mechanism) || has(Cue::HowMuch));
    if let Some(k) = kind {
        let calc = if k.is_analysis() {
            Intent::Analysis
        } else {
            Intent::Calculation
        };
        // Numbers bound to parameters make a calculation unless the question asks for an
        // explanation of what the numbers do, or how to do something with a single number.
        let how_to = has(Cue::HowTo) && numbers < 2;
        if numbers > 0 && !explain && !how_to {
            return calc;
        }
        if numbers == 0 && parsed.structured_inputs > 0 && !explain {
            return calc;
        }
        // "what sample size do I need?" with no numbers is still a calculation: the answer
        // asks for the inputs. Explanations and how-tos that mention a sample size are not.
        let asks = [Cue::SampleSizeQ, Cue::PowerQ, Cue::MdeQ, Cue::DurationQ]
            .iter()
            .any(|c| has(*c));
        let talks = [
            Cue::Why,
            Cue::Belief,
            Cue::Mechanism,
            Cue::If,
            Cue::HowTo,
            Cue::Ours,
            Cue::Process,
            Cue::DefWord,
        ]
        .iter()
        .any(|c| has(*c));
        if asks && !talks && !cues.starts_with(Cue::DefWhat, 1) {
            return calc;
        }
    }
    // A question with numbers that asks for a quantity the parser has no kind for ("z score
    // of 2.3, two sided p value?", "what threshold per test?") is still a calculation.
    let asks_quantity = [
        Cue::DefWhat,
        Cue::TestQ,
        Cue::CiQ,
        Cue::AdjustQ,
        Cue::SeqQ,
        Cue::BayesQ,
        Cue::HowMuch,
        Cue::DurationQ,
        Cue::SampleSizeQ,
        Cue::PowerQ,
        Cue::Quantity,
        Cue::EffectSize,
    ]
    .iter()
    .any(|c| has(*c));
    if cues.numbers > 0
        && asks_quantity
        && !explain
        && !has(Cue::Mechanism)
        && !has(Cue::HowTo)
        && !has(Cue::DefWord)
    {
        return Intent::Calculation;
    }
    if cues.domain_words == 0 && numbers == 0 && !cues.hits.iter().any(|h| is_domain_cue(h.cue)) {
        return Intent::OutOfScope;
    }
    if cues.has(Cue::OffTopic) && cues.domain_words <= 1 {
        return Intent::OutOfScope;
    }

    let mut score = [0.0f64; 8];
    let idx = |i: Intent| Intent::ALL.iter().position(|x| *x == i).unwrap_or(0);
    let words = cues.words;
    let short = words <= 7;

    // Definition: "what is X", "X meaning", short noun phrases.
    if cues.starts_with(Cue::DefWhat, 2) {
        score[idx(Intent::Definition)] += 2.0;
        if short {
            score[idx(Intent::Definition)] += 1.0;
        }
    }
    if cues.has(Cue::DefWord) {
        score[idx(Intent::Definition)] += 1.5;
    }
    if words <= 3 && !cues.has(Cue::Versus) && !cues.has(Cue::Choose) {
        score[idx(Intent::Definition)] += 1.5;
    }

    // Comparison: "X vs Y", "X or Y?".
    if cues.has(Cue::Versus) {
        score[idx(Intent::Comparison)] += 3.0;
    }
    if cues.has(Cue::Choose) {
        score[idx(Intent::Comparison)] += if short { 2.0 } else { 1.0 };
    }

    // Methodology: "how do I", "steps", "best way".
    if cues.has(Cue::HowTo) {
        score[idx(Intent::Methodology)] += 2.0;
        if cues.starts_with(Cue::HowTo, 2) {
            score[idx(Intent::Methodology)] += 1.0;
        }
    }

    // Best practice: "our", "we", "here", "policy", process nouns.
    let ours = cues.count(Cue::Ours) as f64;
    score[idx(Intent::BestPractice)] += ours.min(2.0) * 0.8;
    if cues.has(Cue::Process) {
        score[idx(Intent::BestPractice)] += 3.0;
    }

    // Multi-hop: why, how does, what happens if, belief checks.
    if cues.has(Cue::Why) {
        score[idx(Intent::MultiHop)] += 3.0;
    }
    // Two mechanism phrases ("what does X say and how does it tie to Y") walk two relations.
    score[idx(Intent::MultiHop)] += 1.5 * (cues.count(Cue::Mechanism).min(2) as f64);
    if cues.starts_with(Cue::YesNo, 1) {
        score[idx(Intent::MultiHop)] += 1.0;
    }
    if cues.has(Cue::If) {
        score[idx(Intent::MultiHop)] += 1.0;
    }
    if cues.has(Cue::Belief) {
        score[idx(Intent::MultiHop)] += 1.5;
    }
    if cues.has(Cue::HowMuch) {
        score[idx(Intent::MultiHop)] += 1.0;
    }
    if words >= 14 {
        score[idx(Intent::MultiHop)] += 1.0;
    }
    if numbers > 0 {
        score[idx(Intent::MultiHop)] += 0.5;
    }

    let mut best = Intent::MultiHop;
    let mut best_score = 0.5;
    for i in Intent::ALL {
        let s = score[idx(i)];
        if s > best_score {
            best = i;
            best_score = s;
        }
    }
    best
}

fn is_domain_cue(c: Cue) -> bool {
    !matches!(
        c,
        Cue::DefWhat
            | Cue::DefWord
            | Cue::Versus
            | Cue::Choose
            | Cue::HowTo
            | Cue::Ours
            | Cue::Why
            | Cue::Mechanism
            | Cue::If
            | Cue::Belief
            | Cue::HowMuch
            | Cue::FollowUp
            | Cue::OffTopic
            | Cue::Quantity
            | Cue::YesNo
            | Cue::Each
            | Cue::Total
            | Cue::Times
            | Cue::Peek
            | Cue::Users
            | Cue::Decrease
            | Cue::Mde
            | Cue::Relative
            | Cue::Absolute
            | Cue::NBefore
            | Cue::Rho
            | Cue::Level
            | Cue::PerGroup
            | Cue::Process
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_edit_typos_are_corrected_towards_the_vocabulary() {
        assert_eq!(correct("sampel"), "sample");
        assert_eq!(correct("signficance"), "significance");
        assert_eq!(correct("bonferoni"), "bonferroni");
        assert_eq!(correct("banana"), "banana");
    }
}
