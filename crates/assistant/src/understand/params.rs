//! Calculator parameters from text: structured patterns first (counts "120 of 2,400", splits
//! "90/10", rate changes "3.2% -> 3.5%", p-value lists, SRM count runs), then every remaining
//! number is bound to a parameter keyword by a small assignment over keyword-number
//! distances (see the module doc of [`super`] for why).

use std::collections::BTreeMap;

use super::intent::{Cue, Cues, Hit};
use super::lexer::{Kind, Number, Token, Unit};
use super::{CalculationKind, CalculationRequest, MissingParam, Origin, Param, ParamName, Value};

/// What a bound number is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Baseline,
    Treatment,
    Power,
    Alpha,
    Mde,
    Sd,
    Mean,
    N,
    NTotal,
    DailyTraffic,
    WeeklyTraffic,
    Exposure,
    Variants,
    Rho,
    Looks,
    Level,
    EffectSize,
}

/// Which side of its number a keyword may stand on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Before,
    After,
    Both,
}

fn role_of(cue: Cue, peek: bool) -> Option<(Role, Side)> {
    Some(match cue {
        Cue::Baseline => (Role::Baseline, Side::Both),
        Cue::Power => (Role::Power, Side::Both),
        Cue::Alpha => (Role::Alpha, Side::Both),
        Cue::Mde => (Role::Mde, Side::Both),
        Cue::Sd => (Role::Sd, Side::Both),
        Cue::Mean => (Role::Mean, Side::Before),
        Cue::PerGroup => (Role::N, Side::After),
        Cue::NBefore => (Role::N, Side::Before),
        Cue::Users => (Role::N, Side::After),
        Cue::PerDay => (Role::DailyTraffic, Side::After),
        Cue::TrafficBefore => (Role::DailyTraffic, Side::Before),
        Cue::PerWeek => (Role::WeeklyTraffic, Side::After),
        Cue::OfTraffic => (Role::Exposure, Side::After),
        Cue::ExposureBefore => (Role::Exposure, Side::Before),
        Cue::VariantsAfter => (Role::Variants, Side::After),
        Cue::Rho => (Role::Rho, Side::Both),
        Cue::LooksAfter => (Role::Looks, Side::After),
        Cue::Times if peek => (Role::Looks, Side::After),
        Cue::Level => (Role::Level, Side::Both),
        Cue::EffectSize => (Role::EffectSize, Side::Before),
        Cue::Total => (Role::NTotal, Side::After),
        _ => return None,
    })
}

/// Reads `n` as a value for `role`, in calculator units, or `None` when it cannot be one.
fn accept(role: Role, n: &Number) -> Option<f64> {
    let v = n.value;
    let frac = |n: &Number| -> Option<f64> {
        match n.unit {
            Unit::Percent | Unit::Points => Some(n.hundredth()),
            Unit::Plain if !n.currency && n.value > 0.0 && n.value < 1.0 => Some(n.value),
            Unit::Plain => None,
        }
    };
    match role {
        Role::Baseline | Role::Treatment => frac(n).filter(|p| *p > 0.0 && *p < 1.0),
        Role::Power => {
            let p = match n.unit {
                Unit::Plain if n.is_count() && (50.0..100.0).contains(&v) => v / 100.0,
                _ => frac(n)?,
            };
            (0.5..1.0).contains(&p).then_some(p)
        }
        Role::Alpha => {
            let p = frac(n)?;
            (p > 0.0 && p <= 0.2).then_some(p)
        }
        Role::Level => {
            let p = match n.unit {
                Unit::Plain if n.is_count() && (50.0..100.0).contains(&v) => v / 100.0,
                _ => frac(n)?,
            };
            (0.5..1.0).contains(&p).then_some(p)
        }
        Role::Exposure => {
            let p = frac(n).or((n.unit == Unit::Plain && v == 1.0).then_some(1.0))?;
            (p > 0.0 && p <= 1.0).then_some(p)
        }
        Role::Mde => (v != 0.0).then_some(v),
        Role::Sd => (v > 0.0 && n.unit == Unit::Plain).then_some(v),
        Role::Mean => (n.unit == Unit::Plain).then_some(v),
        Role::N | Role::NTotal => (n.is_count() && v >= 2.0).then_some(v),
        Role::DailyTraffic | Role::WeeklyTraffic => (n.is_count() && v >= 1.0).then_some(v),
        Role::Variants => (n.is_count() && (2.0..=26.0).contains(&v)).then_some(v),
        Role::Looks => (n.is_count() && (1.0..=50.0).contains(&v)).then_some(v),
        Role::Rho => (n.unit == Unit::Plain && v.abs() < 1.0 && v != 0.0).then_some(v),
        Role::EffectSize => (n.unit == Unit::Plain && v > 0.0 && v < 10.0).then_some(v),
    }
}

/// Words that cost little to skip between a keyword and its number.
const FILLERS: &[&str] = &[
    "of",
    "is",
    "at",
    "a",
    "an",
    "the",
    "to",
    "about",
    "around",
    "approx",
    "approximately",
    "roughly",
    "with",
    "be",
    "was",
    "are",
    "least",
    "at least",
    "maybe",
    "like",
    "say",
    "want",
    "wanted",
    "we",
    "i",
    "our",
    "my",
    "its",
    "it",
    "s",
    "relative",
    "absolute",
    "rel",
    "abs",
    "lift",
    "target",
    "targeting",
    "desired",
    "expected",
    "minimum",
    "min",
    "max",
    "for",
    "hoping",
    "hope",
    "need",
    "needs",
    "get",
    "only",
    "just",
    "currently",
    "current",
    "per",
    "user",
    "ish",
    "detect",
    "by",
    "set",
    "assume",
    "assuming",
    "roughly",
    "typical",
    "approx",
];

/// The structures and numbers found, before a calculation kind is chosen.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// Parameters read from the text, by name.
    pub given: BTreeMap<ParamName, Param>,
    /// Sentences saying how an ambiguous reading was resolved.
    pub assumptions: Vec<String>,
    /// Remarks for the user.
    pub notes: Vec<String>,
    /// How many numbers were bound to a parameter (by keyword or by a pattern).
    pub bound_numbers: usize,
    /// How many structured inputs (count pairs, lists, splits) were found.
    pub structured_inputs: usize,
    /// Observed (successes, trials) pairs in order.
    pub pairs: Vec<(f64, f64, Origin)>,
    /// Means, standard deviations and group sizes in order of appearance (t tests).
    means: Vec<(f64, Origin)>,
    sds: Vec<(f64, Origin)>,
    ns: Vec<(f64, Origin)>,
    /// Whether a currency sign appeared.
    currency: bool,
    /// Whether the mean-metric vocabulary appeared.
    mean_words: bool,
}

fn origin(text: &str, tokens: &[Token], a: usize, b: usize) -> Origin {
    let start = tokens[a].start;
    let end = tokens[b - 1].end;
    Origin::Given {
        start,
        end,
        text: text.get(start..end).unwrap_or_default().to_string(),
    }
}

fn span_union(text: &str, tokens: &[Token], a: usize, b: usize, c: usize, d: usize) -> Origin {
    origin(text, tokens, a.min(c), b.max(d))
}

fn num(p: f64) -> Value {
    Value::Number(p)
}

fn choice(s: &str) -> Value {
    Value::Choice(s.to_string())
}

/// Parses every parameter the text gives.
pub fn parse(text: &str, tokens: &[Token], cues: &Cues) -> Parsed {
    let mut p = Parsed {
        currency: tokens.iter().any(|t| t.num().is_some_and(|n| n.currency)),
        mean_words: cues.has(Cue::MeanWord) || cues.has(Cue::Sd),
        ..Parsed::default()
    };
    let mut used = vec![false; tokens.len()];
    let is_word = |i: usize, ws: &[&str]| {
        tokens
            .get(i)
            .and_then(Token::word)
            .is_some_and(|w| ws.contains(&w))
    };

    // 1. Ratios with "/" or ":" ("90/10", "33/33/33", "1:1") and counts written "3/50".
    let mut i = 0;
    while i < tokens.len() {
        let Some(first) = tokens[i].num() else {
            i += 1;
            continue;
        };
        let mut parts = vec![(i, first.clone())];
        let mut sep = None;
        let mut j = i + 1;
        while j + 1 < tokens.len() {
            let s = match tokens[j].kind {
                Kind::Punct(c @ ('/' | ':')) => c,
                _ => break,
            };
            if sep.is_some_and(|x| x != s) {
                break;
            }
            let Some(n) = tokens[j + 1].num() else { break };
            sep = Some(s);
            parts.push((j + 1, n.clone()));
            j += 2;
        }
        if parts.len() < 2 {
            i += 1;
            continue;
        }
        let colon_ok = sep != Some(':')
            || parts.iter().all(|(_, n)| n.is_count())
                && parts
                    .windows(2)
                    .all(|w| tokens[w[0].0].end + 1 == tokens[w[1].0].start);
        let plain = colon_ok
            && parts
                .iter()
                .all(|(_, n)| n.unit != Unit::Points && !n.currency && n.value > 0.0);
        let vals: Vec<f64> = parts.iter().map(|(_, n)| n.value).collect();
        let sum: f64 = vals.iter().sum();
        let last = parts[parts.len() - 1].0;
        let split_words = cues.has(Cue::Split) || cues.has(Cue::SrmQ);
        let looks_like_split =
            sep == Some(':') || (98.0..=101.0).contains(&sum) || (0.98..=1.01).contains(&sum);
        let as_pair = parts.len() == 2
            && sep == Some('/')
            && vals[0] <= vals[1]
            && parts.iter().all(|(_, n)| n.is_count())
            && !(looks_like_split && split_words);
        if plain && as_pair {
            p.pairs
                .push((vals[0], vals[1], origin(text, tokens, i, last + 1)));
            used[i] = true;
            used[last] = true;
        } else if plain && looks_like_split {
            let o = origin(text, tokens, i, last + 1);
            p.given.insert(
                ParamName::Weights,
                Param {
                    value: Value::List(vals.clone()),
                    origin: o.clone(),
                },
            );
            if vals.len() == 2 {
                p.given.insert(
                    ParamName::Ratio,
                    Param {
                        value: num(vals[1] / vals[0]),
                        origin: o.clone(),
                    },
                );
                if vals[0] != vals[1] {
                    p.assumptions.push(format!(
                        "The split {} is read as control first: {} control to {} treatment",
                        text.get(tokens[i].start..tokens[last].end)
                            .unwrap_or_default(),
                        fmt_plain(vals[0]),
                        fmt_plain(vals[1])
                    ));
                }
            } else {
                p.given.insert(
                    ParamName::Variants,
                    Param {
                        value: num(vals.len() as f64),
                        origin: o,
                    },
                );
            }
            for (k, _) in &parts {
                used[*k] = true;
            }
        }
        p.structured_inputs += usize::from(plain && (as_pair || looks_like_split));
        i = last + 1;
    }

    // 2. "X of N", "X out of N", "X conversions out of N".
    for i in 0..tokens.len() {
        if used[i] {
            continue;
        }
        let Some(x) = tokens[i].num().filter(|n| n.is_count()) else {
            continue;
        };
        let mut j = i + 1;
        if tokens
            .get(j)
            .is_some_and(|t| matches!(t.word(), Some(w) if is_success_noun(w)))
        {
            j += 1;
        }
        if is_word(j, &["out"]) && is_word(j + 1, &["of"]) {
            j += 2;
        } else if is_word(j, &["of", "from"]) {
            j += 1;
        } else {
            continue;
        }
        if let Some(n) = tokens.get(j).and_then(Token::num).filter(|n| n.is_count())
            && !used[j]
            && x.value <= n.value
            && n.value > 0.0
        {
            p.pairs
                .push((x.value, n.value, origin(text, tokens, i, j + 1)));
            used[i] = true;
            used[j] = true;
            p.structured_inputs += 1;
        }
    }

    // 3. "2400 users, 120 conversions": a unit count and a success count, in either order.
    let mut counted: Vec<(bool, f64, usize, usize)> = Vec::new();
    for i in 0..tokens.len() {
        if used[i] {
            continue;
        }
        let Some(n) = tokens[i].num().filter(|n| n.is_count()) else {
            continue;
        };
        // Allow one adjective between the number and its noun ("2400 unique users").
        for k in [i + 1, i + 2] {
            let Some(w) = tokens.get(k).and_then(Token::word) else {
                break;
            };
            if is_success_noun(w) {
                counted.push((true, n.value, i, k + 1));
                break;
            }
            if is_unit_noun(w) {
                // "10k users a day" is traffic, not a group.
                let daily = is_word(k + 1, &["a", "per", "each", "every"])
                    && is_word(k + 2, &["day", "week"])
                    || tokens.get(k + 1).is_some_and(|t| t.is_punct('/'));
                if !daily {
                    counted.push((false, n.value, i, k + 1));
                }
                break;
            }
        }
    }
    if counted.iter().any(|c| c.0) {
        let mut k = 0;
        while k + 1 < counted.len() {
            let (a, b) = (counted[k], counted[k + 1]);
            if a.0 != b.0 {
                let (x, n) = if a.0 { (a.1, b.1) } else { (b.1, a.1) };
                if x <= n {
                    p.pairs
                        .push((x, n, span_union(text, tokens, a.2, a.3, b.2, b.3)));
                    used[a.2] = true;
                    used[b.2] = true;
                    p.structured_inputs += 1;
                    k += 2;
                    continue;
                }
            }
            k += 1;
        }
    }
    // Reorder pairs when the text names the treatment first ("treatment 150/2380 vs control
    // 120/2400").
    if p.pairs.len() == 2 {
        let first_t = cues.first(Cue::TreatmentWord).map(|h| h.start);
        let first_c = cues.first(Cue::Control).map(|h| h.start);
        if let (Some(t), Some(c)) = (first_t, first_c)
            && t < c
        {
            p.pairs.swap(0, 1);
        }
    }

    // 4. A rate change: "from 10% to 10.5%", "3.2% -> 3.5%", "went 3.2% to 3.5%".
    for i in 0..tokens.len() {
        if used[i] {
            continue;
        }
        let Some(a) = tokens[i].num().filter(|n| n.unit == Unit::Percent) else {
            continue;
        };
        let (arrow_len, ok) = if tokens.get(i + 1).is_some_and(|t| t.is_punct('-'))
            && tokens.get(i + 2).is_some_and(|t| t.is_punct('>'))
        {
            (2, true)
        } else if tokens
            .get(i + 1)
            .is_some_and(|t| t.is_punct('→') || t.is_punct('>'))
            || is_word(i + 1, &["to", "vs", "versus"])
        {
            (1, true)
        } else {
            (0, false)
        };
        if !ok {
            continue;
        }
        let j = i + 1 + arrow_len;
        let Some(b) = tokens
            .get(j)
            .and_then(Token::num)
            .filter(|n| n.unit == Unit::Percent)
        else {
            continue;
        };
        // The keyword before decides what changes: a rate, unless it is power, alpha, a ramp
        // or an effect ("power from 80% to 90%" is not a conversion rate).
        let before = cues
            .hits
            .iter()
            .filter(|h| {
                h.end <= i
                    && h.end + 3 >= i
                    && !tokens[h.end..i]
                        .iter()
                        .any(|t| t.is_punct(',') || t.is_punct(';'))
            })
            .map(|h| h.cue)
            .collect::<Vec<_>>();
        if before.iter().any(|c| {
            matches!(
                c,
                Cue::Power | Cue::Alpha | Cue::ExposureBefore | Cue::Mde | Cue::Level | Cue::Split
            )
        }) || is_word(i.wrapping_sub(1), &["ramped", "ramp"])
        {
            continue;
        }
        let (pa, pb) = (a.hundredth(), b.hundredth());
        if !(pa > 0.0 && pa < 1.0 && pb > 0.0 && pb < 1.0) {
            continue;
        }
        p.given.insert(
            ParamName::Baseline,
            Param {
                value: num(pa),
                origin: origin(text, tokens, i, i + 1),
            },
        );
        p.given.insert(
            ParamName::Treatment,
            Param {
                value: num(pb),
                origin: origin(text, tokens, j, j + 1),
            },
        );
        used[i] = true;
        used[j] = true;
        p.bound_numbers += 2;
        break;
    }

    // 5. A run of p-values: two or more numbers in (0, 1] separated only by commas, spaces
    // or "and", in a question that talks about p-values or corrections.
    let pvalue_talk = cues.has(Cue::PValueWord)
        || cues.has(Cue::AdjustQ)
        || [
            Cue::Holm,
            Cue::Hochberg,
            Cue::Bh,
            Cue::By,
            Cue::Bonferroni,
            Cue::Sidak,
        ]
        .iter()
        .any(|c| cues.has(*c))
        || cues.has(Cue::TestQ);
    if pvalue_talk {
        let runs = runs(
            tokens,
            &used,
            |n| {
                n.unit == Unit::Plain
                    && !n.currency
                    && n.value > 0.0
                    && n.value <= 1.0
                    && (n.has_point || n.value == 1.0)
            },
            &["and", "&"],
        );
        if let Some(run) = runs
            .into_iter()
            .filter(|r| r.len() >= 2)
            .max_by_key(Vec::len)
        {
            let vals: Vec<f64> = run
                .iter()
                .filter_map(|&k| tokens[k].num().map(|n| n.value))
                .collect();
            let (a, b) = (run[0], run[run.len() - 1]);
            p.given.insert(
                ParamName::PValues,
                Param {
                    value: Value::List(vals),
                    origin: origin(text, tokens, a, b + 1),
                },
            );
            for k in run {
                used[k] = true;
            }
            p.structured_inputs += 1;
        }
    }

    // 6. SRM: a run of unit counts in a question about sample-ratio mismatch.
    if cues.has(Cue::SrmQ) {
        let runs = runs(
            tokens,
            &used,
            |n| n.is_count() && n.value >= 10.0,
            &[
                "vs",
                "versus",
                "and",
                "v",
                "control",
                "treatment",
                "variant",
                "a",
                "b",
                "c",
                "d",
                "got",
                "in",
                "users",
                "with",
            ],
        );
        if let Some(run) = runs
            .into_iter()
            .filter(|r| r.len() >= 2)
            .max_by_key(Vec::len)
        {
            let vals: Vec<f64> = run
                .iter()
                .filter_map(|&k| tokens[k].num().map(|n| n.value))
                .collect();
            let (a, b) = (run[0], run[run.len() - 1]);
            p.given.insert(
                ParamName::Counts,
                Param {
                    value: Value::List(vals),
                    origin: origin(text, tokens, a, b + 1),
                },
            );
            for k in run {
                used[k] = true;
            }
            p.structured_inputs += 1;
        }
    }

    // 7. "a/b/c test": the number of letters is the number of variants.
    for i in 0..tokens.len() {
        if tokens[i].word() != Some("a") || !tokens.get(i + 1).is_some_and(|t| t.is_punct('/')) {
            continue;
        }
        let mut k = i;
        let mut letters = 1;
        while tokens.get(k + 1).is_some_and(|t| t.is_punct('/'))
            && tokens
                .get(k + 2)
                .and_then(Token::word)
                .is_some_and(|w| w.len() == 1 && w != "n")
        {
            letters += 1;
            k += 2;
        }
        if letters >= 3 && !p.given.contains_key(&ParamName::Variants) {
            p.given.insert(
                ParamName::Variants,
                Param {
                    value: num(f64::from(letters)),
                    origin: origin(text, tokens, i, k + 1),
                },
            );
        }
    }

    // "95% CI": a confidence level written just before the interval word.
    for h in cues.hits.iter().filter(|h| h.cue == Cue::CiQ) {
        let i = h.start.wrapping_sub(1);
        if let Some(n) = tokens.get(i).and_then(Token::num)
            && !used[i]
            && let Some(l) = accept(Role::Level, n)
            && !p.given.contains_key(&ParamName::Level)
        {
            p.given.insert(
                ParamName::Level,
                Param {
                    value: num(l),
                    origin: origin(text, tokens, i, h.end),
                },
            );
            p.bound_numbers += 1;
            used[i] = true;
        }
    }

    // 8. Bind the remaining numbers to keywords.
    let peek = cues.has(Cue::Peek);
    let bound = bind(tokens, cues, &used, peek);
    // Lists (means, sds, group sizes) are recorded in reading order; a scalar given twice
    // keeps the reading whose keyword sits closest ("set power to 0.1 ... power 80%" keeps
    // 80%, since 0.1 is no power and the nearer keyword wins).
    let mut order: Vec<usize> = (0..bound.len()).collect();
    order.sort_by(|&a, &b| {
        let key = |x: &(usize, Role, f64, Hit, f64)| {
            let list = matches!(x.1, Role::Sd | Role::Mean | Role::N);
            (list, if list { x.0 as f64 } else { x.4 }, x.0)
        };
        let (ka, kb) = (key(&bound[a]), key(&bound[b]));
        ka.0.cmp(&kb.0)
            .then(ka.1.total_cmp(&kb.1))
            .then(ka.2.cmp(&kb.2))
    });
    for &(tok, role, value, hit, _) in order.iter().map(|&k| &bound[k]) {
        let (tok, role, value, hit) = (&tok, &role, &value, &hit);
        let o = span_union(text, tokens, *tok, *tok + 1, hit.start, hit.end);
        p.bound_numbers += 1;
        record(&mut p, text, tokens, cues, *tok, *role, *value, o);
        used[*tok] = true;
    }
    propagate(&mut p, text, tokens, &used, &bound);
    for (tok, ..) in &bound {
        used[*tok] = true;
    }
    fallbacks(&mut p, text, tokens, cues, &mut used);

    // 9. "at 5%" with no alpha keyword: a small level after "at" is a significance level,
    // a large one a confidence level.
    for i in 0..tokens.len() {
        if used[i] || !is_word(i.wrapping_sub(1), &["at"]) {
            continue;
        }
        let Some(n) = tokens[i].num() else { continue };
        if n.unit == Unit::Percent || n.has_point {
            if let Some(a) = accept(Role::Alpha, n)
                && !p.given.contains_key(&ParamName::Alpha)
            {
                p.given.insert(
                    ParamName::Alpha,
                    Param {
                        value: num(a),
                        origin: origin(text, tokens, i - 1, i + 1),
                    },
                );
                p.bound_numbers += 1;
            } else if let Some(l) = accept(Role::Level, n)
                && l >= 0.8
                && !p.given.contains_key(&ParamName::Level)
                && !p.given.contains_key(&ParamName::Power)
            {
                p.given.insert(
                    ParamName::Level,
                    Param {
                        value: num(l),
                        origin: origin(text, tokens, i - 1, i + 1),
                    },
                );
                p.bound_numbers += 1;
            }
        }
    }

    // Pairs become named parameters.
    if p.pairs.len() >= 2 {
        let (cx, cn, co) = p.pairs[0].clone();
        let (tx, tn, to) = p.pairs[1].clone();
        for (name, v, o) in [
            (ParamName::ControlX, cx, co.clone()),
            (ParamName::ControlN, cn, co),
            (ParamName::TreatmentX, tx, to.clone()),
            (ParamName::TreatmentN, tn, to),
        ] {
            p.given.insert(
                name,
                Param {
                    value: num(v),
                    origin: o,
                },
            );
        }
        if p.pairs.len() > 2 {
            p.notes.push(format!(
                "{} count pairs were found; only the first two are compared",
                p.pairs.len()
            ));
        }
    } else if let Some((x, n, o)) = p.pairs.first().cloned() {
        p.given.insert(
            ParamName::Successes,
            Param {
                value: num(x),
                origin: o.clone(),
            },
        );
        p.given.insert(
            ParamName::Trials,
            Param {
                value: num(n),
                origin: o,
            },
        );
    }
    // Means, sds and ns become the two groups of a t test when two means were given.
    if p.means.len() >= 2 && !p.sds.is_empty() && !p.ns.is_empty() {
        let pick = |v: &[(f64, Origin)], k: usize| v.get(k).or_else(|| v.first()).cloned();
        let groups = [
            (ParamName::ControlMean, pick(&p.means, 0)),
            (ParamName::TreatmentMean, pick(&p.means, 1)),
            (ParamName::ControlSd, pick(&p.sds, 0)),
            (ParamName::TreatmentSd, pick(&p.sds, 1)),
            (ParamName::ControlN, pick(&p.ns, 0)),
            (ParamName::TreatmentN, pick(&p.ns, 1)),
        ];
        if p.sds.len() == 1 {
            p.assumptions
                .push("The one standard deviation given is used for both groups".into());
        }
        if p.ns.len() == 1 {
            p.assumptions
                .push("The one group size given is used for both groups".into());
        }
        for (name, v) in groups {
            if let Some((v, o)) = v {
                p.given.insert(
                    name,
                    Param {
                        value: num(v),
                        origin: o,
                    },
                );
            }
        }
    }

    choices(&mut p, text, tokens, cues);
    p
}

fn is_success_noun(w: &str) -> bool {
    matches!(
        w,
        "conversions"
            | "converted"
            | "convert"
            | "conversion"
            | "signups"
            | "purchases"
            | "orders"
            | "clicks"
            | "successes"
            | "buyers"
            | "checkouts"
            | "sales"
            | "converters"
            | "conv"
            | "convs"
            | "purchasers"
            | "subscribers"
            | "signup"
            | "success"
    )
}

fn is_unit_noun(w: &str) -> bool {
    matches!(
        w,
        "users"
            | "visitors"
            | "sessions"
            | "people"
            | "participants"
            | "customers"
            | "trials"
            | "visits"
            | "impressions"
            | "samples"
            | "units"
            | "shoppers"
            | "players"
            | "members"
            | "accounts"
            | "devices"
            | "views"
            | "pageviews"
    )
}

/// Maximal runs of numbers accepted by `ok`, separated only by commas, semicolons, slashes
/// or the given words.
fn runs(
    tokens: &[Token],
    used: &[bool],
    ok: impl Fn(&Number) -> bool,
    words: &[&str],
) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut cur: Vec<usize> = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        match &t.kind {
            Kind::Num(n) if !used[i] && ok(n) => cur.push(i),
            Kind::Punct(',' | ';' | '/' | '|') if !cur.is_empty() => {}
            Kind::Word(w) if !cur.is_empty() && words.contains(&w.as_str()) => {}
            _ => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Assigns numbers to keywords. Each keyword-number pair within reach gets a cost (the
/// tokens between them); pairs are taken cheapest first, and among equally cheap pairs the
/// one whose number has the fewest alternatives, so "10% baseline 80% power" and "baseline
/// 10% power 80%" both come out right.
fn bind(
    tokens: &[Token],
    cues: &Cues,
    used: &[bool],
    peek: bool,
) -> Vec<(usize, Role, f64, Hit, f64)> {
    // Role hits, without those contained in a longer role hit ("users" inside "users a day").
    let role_hits: Vec<(Hit, Role, Side)> = cues
        .hits
        .iter()
        .filter_map(|h| role_of(h.cue, peek).map(|(r, s)| (*h, r, s)))
        .collect();
    let role_hits: Vec<(Hit, Role, Side)> = role_hits
        .iter()
        .filter(|(h, _, _)| {
            !role_hits.iter().any(|(o, _, _)| {
                o.start <= h.start && o.end >= h.end && (o.end - o.start) > (h.end - h.start)
            })
        })
        .copied()
        .collect();
    struct Edge {
        num: usize,
        hit: usize,
        role: Role,
        value: f64,
        cost: f64,
        before: bool,
    }
    let mut edges: Vec<Edge> = Vec::new();
    for (hi, (h, role, side)) in role_hits.iter().enumerate() {
        if matches!(side, Side::Before | Side::Both)
            && let Some((k, cost)) = scan(tokens, h.end, true)
        {
            push_edge(&mut edges, tokens, used, k, hi, *role, cost, true);
        }
        if matches!(side, Side::After | Side::Both)
            && h.start > 0
            && let Some((k, cost)) = scan(tokens, h.start - 1, false)
        {
            push_edge(&mut edges, tokens, used, k, hi, *role, cost, false);
        }
    }
    #[allow(clippy::too_many_arguments)] // A local helper with the edge's fields spelled out.
    fn push_edge(
        edges: &mut Vec<Edge>,
        tokens: &[Token],
        used: &[bool],
        k: usize,
        hit: usize,
        role: Role,
        cost: f64,
        before: bool,
    ) {
        if used[k] {
            return;
        }
        if let Some(value) = tokens[k].num().and_then(|n| accept(role, n)) {
            edges.push(Edge {
                num: k,
                hit,
                role,
                value,
                cost,
                before,
            });
        }
    }
    let mut out = Vec::new();
    let mut num_taken = vec![false; tokens.len()];
    let mut hit_taken = vec![false; role_hits.len()];
    loop {
        let live: Vec<&Edge> = edges
            .iter()
            .filter(|e| !num_taken[e.num] && !hit_taken[e.hit])
            .collect();
        let Some(min) = live.iter().map(|e| e.cost).min_by(f64::total_cmp) else {
            break;
        };
        let alternatives = |e: &Edge| {
            live.iter()
                .filter(|o| o.num == e.num && o.cost <= min + 0.5)
                .count()
                + live
                    .iter()
                    .filter(|o| o.hit == e.hit && o.cost <= min + 0.5)
                    .count()
        };
        let best = live
            .iter()
            .filter(|e| e.cost <= min)
            .min_by_key(|e| (alternatives(e), !e.before, e.num));
        let Some(e) = best else { break };
        num_taken[e.num] = true;
        hit_taken[e.hit] = true;
        out.push((e.num, e.role, e.value, role_hits[e.hit].0, e.cost));
    }
    out.sort_by_key(|x| x.0);
    out
}

/// Walks from token `from` (forward, or backward) to the first number, summing the cost of
/// what lies between; gives up at sentence punctuation or when the cost passes 2.5.
fn scan(tokens: &[Token], from: usize, forward: bool) -> Option<(usize, f64)> {
    let mut cost = 0.0;
    let mut k = from;
    loop {
        if k >= tokens.len() {
            return None;
        }
        match &tokens[k].kind {
            Kind::Num(_) => return Some((k, cost)),
            Kind::Word(w) if FILLERS.contains(&w.as_str()) => cost += 0.3,
            Kind::Word(_) => cost += 1.0,
            Kind::Punct('.' | '?' | '!' | ';' | '\n') => return None,
            Kind::Punct(',') => cost += 0.8,
            Kind::Punct(
                '(' | ')' | ':' | '=' | '~' | '-' | '\'' | '"' | '*' | '≈' | '>' | '<' | '≥' | '≤',
            ) => cost += 0.2,
            Kind::Punct(_) => cost += 0.6,
        }
        if cost > 2.5 {
            return None;
        }
        if forward {
            k += 1;
        } else if k == 0 {
            return None;
        } else {
            k -= 1;
        }
    }
}

#[allow(clippy::too_many_arguments)] // Each argument is a distinct piece of the evidence.
fn record(
    p: &mut Parsed,
    text: &str,
    tokens: &[Token],
    cues: &Cues,
    tok: usize,
    role: Role,
    value: f64,
    o: Origin,
) {
    let set = |p: &mut Parsed, name: ParamName, v: Value, o: Origin| {
        p.given.entry(name).or_insert(Param {
            value: v,
            origin: o,
        });
    };
    let Some(n) = tokens[tok].num().cloned() else {
        return;
    };
    match role {
        Role::Baseline => set(p, ParamName::Baseline, num(value), o),
        Role::Treatment => set(p, ParamName::Treatment, num(value), o),
        Role::Power => set(p, ParamName::Power, num(value), o),
        Role::Alpha => set(p, ParamName::Alpha, num(value), o),
        Role::Level => set(p, ParamName::Level, num(value), o),
        Role::Exposure => set(p, ParamName::Exposure, num(value), o),
        Role::Variants => set(p, ParamName::Variants, num(value), o),
        Role::Looks => set(p, ParamName::Looks, num(value), o),
        Role::Rho => set(p, ParamName::Rho, num(value), o),
        Role::EffectSize => set(p, ParamName::EffectSize, num(value), o),
        Role::DailyTraffic => set(p, ParamName::DailyTraffic, num(value), o),
        Role::WeeklyTraffic => {
            if !p.given.contains_key(&ParamName::DailyTraffic) {
                p.assumptions.push(format!(
                    "{} per week is read as {} per day (a week is 7 days)",
                    fmt_plain(value),
                    fmt_plain(value / 7.0)
                ));
                set(p, ParamName::DailyTraffic, num(value / 7.0), o);
            }
        }
        Role::NTotal => {}
        Role::Sd => {
            p.sds.push((value, o.clone()));
            set(p, ParamName::Sd, num(value), o);
        }
        Role::Mean => {
            p.means.push((value, o.clone()));
            set(p, ParamName::Mean, num(value), o);
        }
        Role::N => {
            p.ns.push((value, o.clone()));
            set(p, ParamName::N, num(value), o);
        }
        Role::Mde => {
            if p.given.contains_key(&ParamName::Mde) {
                return;
            }
            // How the effect is meant: explicit words beat the unit, the unit beats the default.
            let near = |c: Cue| {
                cues.hits
                    .iter()
                    .find(|h| h.cue == c && (h.start <= tok + 3 && h.end + 3 >= tok))
            };
            let (scale, scale_origin, v) = match (n.unit, near(Cue::Relative), near(Cue::Absolute))
            {
                (Unit::Points, _, _) => ("absolute", o.clone(), n.hundredth()),
                (_, Some(h), _) => (
                    "relative",
                    origin(text, tokens, h.start, h.end),
                    n.fraction(),
                ),
                (_, None, Some(h)) => (
                    "absolute",
                    origin(text, tokens, h.start, h.end),
                    n.fraction(),
                ),
                (Unit::Percent, None, None) => {
                    p.assumptions.push(format!(
                        "The effect {} is read as a relative lift (percent of the baseline); say \"{} percentage points\" for an absolute difference",
                        text.get(tokens[tok].start..tokens[tok].end).unwrap_or_default(),
                        fmt_plain(n.value.abs())
                    ));
                    ("relative", Origin::Assumed, n.hundredth())
                }
                (Unit::Plain, None, None) => {
                    if !n.currency && value.abs() < 1.0 {
                        p.assumptions.push(format!(
                            "The effect {} is read as an absolute difference",
                            text.get(tokens[tok].start..tokens[tok].end)
                                .unwrap_or_default()
                        ));
                    }
                    ("absolute", Origin::Assumed, value)
                }
            };
            let v = v.abs();
            set(p, ParamName::Mde, num(v), o);
            p.given.insert(
                ParamName::MdeScale,
                Param {
                    value: choice(scale),
                    origin: scale_origin,
                },
            );
            if n.value < 0.0
                || cues.has(Cue::Decrease)
                    && matches!(
                        tokens.get(tok + 1).and_then(Token::word),
                        Some("drop" | "decrease")
                    )
            {
                p.notes.push(
                    "the effect is taken as a magnitude; the sample size is the same for a drop"
                        .into(),
                );
            }
        }
    }
}

/// "mean 10.2 vs 10.0": an unbound number after "vs" takes the role of the first bound
/// number of the previous segment.
fn propagate(
    p: &mut Parsed,
    text: &str,
    tokens: &[Token],
    used: &[bool],
    bound: &[(usize, Role, f64, Hit, f64)],
) {
    for i in 0..tokens.len() {
        if used[i] {
            continue;
        }
        let Some(n) = tokens[i].num() else { continue };
        // Look back over a few label words to a "vs".
        let mut k = i;
        let mut found = None;
        for _ in 0..4 {
            if k == 0 {
                break;
            }
            k -= 1;
            match &tokens[k].kind {
                Kind::Word(w) if matches!(w.as_str(), "vs" | "versus" | "v") => {
                    found = Some(k);
                    break;
                }
                Kind::Word(w)
                    if matches!(
                        w.as_str(),
                        "treatment" | "variant" | "b" | "test" | "control" | "a" | "in" | "for"
                    ) => {}
                Kind::Punct(':' | '(' | ',') => {}
                _ => break,
            }
        }
        let Some(vs) = found else { continue };
        // The previous segment starts after the "vs" before this one, or at the start.
        let seg_start = (0..vs)
            .rev()
            .find(|&j| matches!(tokens[j].word(), Some("vs" | "versus" | "v")))
            .map_or(0, |j| j + 1);
        let Some(&(_, role, _, _, _)) = bound.iter().find(|b| b.0 >= seg_start && b.0 < vs) else {
            continue;
        };
        let o = origin(text, tokens, i, i + 1);
        match role {
            Role::Mean => {
                if let Some(v) = accept(Role::Mean, n) {
                    p.means.push((v, o));
                    p.bound_numbers += 1;
                }
            }
            Role::Baseline => {
                if let Some(v) = accept(Role::Treatment, n) {
                    p.given.entry(ParamName::Treatment).or_insert(Param {
                        value: num(v),
                        origin: o,
                    });
                    p.bound_numbers += 1;
                }
            }
            _ => {}
        }
    }
}

/// Readings for numbers no keyword claimed: an effect written "+8% relative" or "2pp", a
/// target rate written "gets it to 4.4%", and a correlation in a CUPED question.
fn fallbacks(p: &mut Parsed, text: &str, tokens: &[Token], cues: &Cues, used: &mut [bool]) {
    let word = |i: usize| tokens.get(i).and_then(Token::word);
    for i in 0..tokens.len() {
        if used[i] {
            continue;
        }
        let Some(n) = tokens[i].num().cloned() else {
            continue;
        };
        let scale_word = match word(i + 1) {
            Some("relative" | "rel" | "relatively") => Some("relative"),
            Some("absolute" | "abs") => Some("absolute"),
            _ => None,
        };
        let effect = !p.given.contains_key(&ParamName::Mde)
            && !p.given.contains_key(&ParamName::Treatment)
            && (n.unit == Unit::Points || (scale_word.is_some() && n.unit == Unit::Percent));
        if effect {
            let (scale, o) = match (n.unit, scale_word) {
                (Unit::Points, _) => ("absolute", origin(text, tokens, i, i + 1)),
                (_, Some(sw)) => (sw, origin(text, tokens, i, i + 2)),
                _ => continue,
            };
            let v = n.hundredth().abs();
            p.given.insert(
                ParamName::Mde,
                Param {
                    value: num(v),
                    origin: o.clone(),
                },
            );
            p.given.insert(
                ParamName::MdeScale,
                Param {
                    value: choice(scale),
                    origin: o,
                },
            );
            used[i] = true;
            p.bound_numbers += 1;
            continue;
        }
        // "gets it to 4.4%": a target rate after a verb of change, once a baseline is known.
        let target = n.unit == Unit::Percent
            && word(i.wrapping_sub(1)) == Some("to")
            && matches!(
                word(i.wrapping_sub(2)),
                Some(
                    "it" | "get"
                        | "gets"
                        | "reach"
                        | "raise"
                        | "increase"
                        | "move"
                        | "push"
                        | "improve"
                        | "bring"
                        | "lift"
                )
            )
            && p.given.contains_key(&ParamName::Baseline)
            && !p.given.contains_key(&ParamName::Treatment)
            && !p.given.contains_key(&ParamName::Mde);
        if target && let Some(v) = accept(Role::Treatment, &n) {
            p.given.insert(
                ParamName::Treatment,
                Param {
                    value: num(v),
                    origin: origin(text, tokens, i - 1, i + 1),
                },
            );
            used[i] = true;
            p.bound_numbers += 1;
            continue;
        }
        // A bare correlation in a CUPED question ("pre and post revenue is 0.8").
        if (cues.has(Cue::CupedQ) || cues.has(Cue::Rho))
            && !p.given.contains_key(&ParamName::Rho)
            && n.unit == Unit::Plain
            && n.has_point
            && n.value.abs() < 1.0
            && n.value != 0.0
        {
            p.given.insert(
                ParamName::Rho,
                Param {
                    value: num(n.value),
                    origin: origin(text, tokens, i, i + 1),
                },
            );
            used[i] = true;
            p.bound_numbers += 1;
        }
    }
}

/// Choices: sides, correction method, interval method, spending function, t-test variant.
fn choices(p: &mut Parsed, text: &str, tokens: &[Token], cues: &Cues) {
    let given = |h: &Hit| origin(text, tokens, h.start, h.end);
    let has_p_values = p.given.contains_key(&ParamName::PValues);
    let mut put = |name: ParamName, v: &str, h: &Hit| {
        p.given.entry(name).or_insert(Param {
            value: choice(v),
            origin: given(h),
        });
    };
    if let Some(h) = cues.first(Cue::OneSided) {
        put(ParamName::Sides, "one-sided", h);
        let less = cues.hits.iter().any(|x| x.cue == Cue::Decrease);
        put(
            ParamName::Alternative,
            if less { "less" } else { "greater" },
            h,
        );
    } else if let Some(h) = cues.first(Cue::TwoSided) {
        put(ParamName::Sides, "two-sided", h);
        put(ParamName::Alternative, "two-sided", h);
    }
    // Corrections: the most specific name wins (Benjamini-Hochberg over Hochberg).
    let corrections = [
        (Cue::By, "benjamini-yekutieli"),
        (Cue::Bh, "benjamini-hochberg"),
        (Cue::Hochberg, "hochberg"),
        (Cue::Holm, "holm"),
        (Cue::Sidak, "sidak"),
        (Cue::Bonferroni, "bonferroni"),
    ];
    for (c, name) in corrections {
        if c == Cue::By && !has_p_values {
            // "by" is also an ordinary word; only a p-value question reads it as BY.
            continue;
        }
        if let Some(h) = cues.first(c) {
            if c == Cue::Hochberg && cues.has(Cue::Bh) {
                continue;
            }
            put(ParamName::Correction, name, h);
            break;
        }
    }
    for (c, name) in [
        (Cue::Wilson, "wilson"),
        (Cue::Clopper, "clopper-pearson"),
        (Cue::Agresti, "agresti-coull"),
        (Cue::Jeffreys, "jeffreys"),
        (Cue::Wald, "wald"),
    ] {
        if let Some(h) = cues.first(c) {
            put(ParamName::CiMethod, name, h);
            break;
        }
    }
    if let Some(h) = cues.first(Cue::Pocock) {
        put(ParamName::Spending, "pocock", h);
    } else if let Some(h) = cues.hits.iter().find(|h| {
        h.cue == Cue::SeqQ && {
            let t = text
                .get(tokens[h.start].start..tokens[h.end - 1].end)
                .unwrap_or_default()
                .to_lowercase();
            t.contains("brien") || t.contains("obf")
        }
    }) {
        put(ParamName::Spending, "o-brien-fleming", h);
    }
    if let Some(h) = cues.first(Cue::Welch) {
        put(ParamName::TTestVariant, "welch", h);
    } else if let Some(h) = cues.first(Cue::Student) {
        put(ParamName::TTestVariant, "student", h);
    }
}

/// Chooses the calculation a question asks for from its cues and inputs.
pub fn detect_kind(cues: &Cues, p: &Parsed) -> Option<CalculationKind> {
    use CalculationKind as K;
    let has = |c: Cue| cues.has(c);
    let g = |n: ParamName| p.given.contains_key(&n);
    if g(ParamName::PValues) {
        return Some(K::Adjust);
    }
    if g(ParamName::Counts) {
        return Some(K::Srm);
    }
    if (has(Cue::SeqQ) || has(Cue::Pocock)) && (g(ParamName::Looks) || has(Cue::LooksAfter)) {
        return Some(K::SequentialBoundaries);
    }
    if p.pairs.len() >= 2 {
        return Some(if has(Cue::BayesQ) {
            K::Bayes
        } else if has(Cue::FisherQ) {
            K::FisherTest
        } else if has(Cue::CiQ) && !has(Cue::TestQ) {
            K::DiffCi
        } else {
            K::ProportionTest
        });
    }
    if p.pairs.len() == 1 && !has(Cue::BayesQ) {
        return Some(K::ProportionCi);
    }
    if g(ParamName::ControlMean) && g(ParamName::TreatmentMean) {
        return Some(K::TTest);
    }
    if has(Cue::CiQ) && g(ParamName::Mean) && g(ParamName::Sd) && g(ParamName::N) {
        return Some(K::MeanCi);
    }
    if g(ParamName::Rho) && (has(Cue::CupedQ) || has(Cue::SampleSizeQ) || g(ParamName::N)) {
        return Some(K::Cuped);
    }
    let design = g(ParamName::Baseline)
        || g(ParamName::Mde)
        || g(ParamName::Treatment)
        || g(ParamName::Sd)
        || g(ParamName::EffectSize);
    if has(Cue::DurationQ) && (g(ParamName::DailyTraffic) || design) {
        return Some(K::Duration);
    }
    if g(ParamName::DailyTraffic) && design {
        return Some(K::Duration);
    }
    if has(Cue::MdeQ) && (g(ParamName::N) || !g(ParamName::Mde)) && !has(Cue::SampleSizeQ) {
        return Some(K::Mde);
    }
    if has(Cue::Mde)
        && g(ParamName::N)
        && !g(ParamName::EffectSize)
        && !g(ParamName::Mde)
        && !g(ParamName::Treatment)
        && !has(Cue::SampleSizeQ)
        && !has(Cue::PowerQ)
    {
        return Some(K::Mde);
    }
    if has(Cue::PowerQ) && !has(Cue::SampleSizeQ) {
        return Some(K::Power);
    }
    if has(Cue::SampleSizeQ) {
        return Some(K::SampleSize);
    }
    if design && (g(ParamName::Mde) || g(ParamName::Treatment) || g(ParamName::EffectSize)) {
        return Some(if g(ParamName::N) && !g(ParamName::Power) {
            K::Power
        } else {
            K::SampleSize
        });
    }
    None
}

/// Whether the text names a calculation itself ("sample size", "p value", "boundaries"),
/// rather than only giving inputs; a follow-up keeps the previous kind unless it does.
pub fn names_a_kind(cues: &Cues) -> bool {
    [
        Cue::SampleSizeQ,
        Cue::PowerQ,
        Cue::MdeQ,
        Cue::DurationQ,
        Cue::SrmQ,
        Cue::CupedQ,
        Cue::SeqQ,
        Cue::BayesQ,
        Cue::FisherQ,
        Cue::CiQ,
        Cue::AdjustQ,
        Cue::TestQ,
    ]
    .iter()
    .any(|c| cues.has(*c))
}

/// Whether the question continues the previous calculation: it gives some input and either
/// names no calculation of its own or opens like a follow-up ("and with...", "what if...").
pub fn is_follow_up(cues: &Cues, p: &Parsed, kind: Option<CalculationKind>) -> bool {
    let gives = !p.given.is_empty();
    let opener = cues.starts_with(Cue::FollowUp, 2) || cues.has(Cue::FollowUp) && cues.words <= 8;
    gives && p.pairs.is_empty() && (kind.is_none() || opener)
}

/// The inputs each kind uses.
fn relevant(kind: CalculationKind) -> &'static [ParamName] {
    use CalculationKind as K;
    use ParamName as P;
    match kind {
        K::SampleSize | K::Power | K::Mde => &[
            P::Metric,
            P::Baseline,
            P::Treatment,
            P::Mde,
            P::MdeScale,
            P::Mean,
            P::Sd,
            P::EffectSize,
            P::Alpha,
            P::Power,
            P::Sides,
            P::N,
            P::Ratio,
        ],
        K::Duration => &[
            P::Metric,
            P::Baseline,
            P::Treatment,
            P::Mde,
            P::MdeScale,
            P::Mean,
            P::Sd,
            P::EffectSize,
            P::Alpha,
            P::Power,
            P::Sides,
            P::DailyTraffic,
            P::Exposure,
            P::Variants,
        ],
        K::ProportionTest | K::FisherTest => &[
            P::ControlX,
            P::ControlN,
            P::TreatmentX,
            P::TreatmentN,
            P::Alternative,
            P::Alpha,
        ],
        K::TTest => &[
            P::ControlMean,
            P::ControlSd,
            P::ControlN,
            P::TreatmentMean,
            P::TreatmentSd,
            P::TreatmentN,
            P::Alternative,
            P::TTestVariant,
            P::Alpha,
        ],
        K::ProportionCi => &[P::Successes, P::Trials, P::Level, P::CiMethod],
        K::DiffCi => &[
            P::ControlX,
            P::ControlN,
            P::TreatmentX,
            P::TreatmentN,
            P::Level,
            P::CiMethod,
        ],
        K::MeanCi => &[P::Mean, P::Sd, P::N, P::Level],
        K::Adjust => &[P::PValues, P::Correction, P::Alpha],
        K::Srm => &[P::Counts, P::Weights, P::Threshold],
        K::Cuped => &[P::Rho, P::N],
        K::SequentialBoundaries => &[P::Looks, P::Alpha, P::Sides, P::Spending],
        K::Bayes => &[
            P::ControlX,
            P::ControlN,
            P::TreatmentX,
            P::TreatmentN,
            P::Level,
        ],
    }
}

fn ask(name: ParamName) -> String {
    use ParamName as P;
    match name {
        P::Baseline => "What is the baseline (control) conversion rate, for example 10%?".into(),
        P::Mde => "What effect do you want to detect: an absolute difference in percentage points (for example 1pp) or a relative lift (for example +5% relative)?".into(),
        P::Sd => "What is the standard deviation of the metric?".into(),
        P::Mean => "What is the current mean of the metric (needed to turn a relative lift into metric units)?".into(),
        P::N => "How many units per group does (or will) the test have?".into(),
        P::DailyTraffic => "How many eligible users per day can enter the experiment?".into(),
        P::PValues => "Which p-values should be adjusted (list them, for example 0.01, 0.04, 0.03)?".into(),
        P::Counts => "How many units were observed in each variant (for example 50,000 vs 48,800)?".into(),
        P::Rho => "What is the correlation between the metric and its pre-period covariate?".into(),
        P::Looks => "How many equally spaced looks (interim analyses, including the final one) are planned?".into(),
        P::ControlX | P::ControlN => "What were the control group's conversions and users (for example 120 of 2,400)?".into(),
        P::TreatmentX | P::TreatmentN => "What were the treatment group's conversions and users (for example 150 of 2,380)?".into(),
        P::Successes | P::Trials => "How many successes out of how many trials (for example 45 of 500)?".into(),
        P::ControlMean | P::ControlSd => "What are the control group's mean, standard deviation and size?".into(),
        P::TreatmentMean | P::TreatmentSd => "What are the treatment group's mean, standard deviation and size?".into(),
        other => format!("What value should {} take?", other.as_str()),
    }
}

/// Builds the request for `kind` from what was parsed, on top of `previous` for a follow-up,
/// filling stated defaults and listing what is missing.
pub fn build_request(
    kind: CalculationKind,
    p: &Parsed,
    previous: Option<&CalculationRequest>,
) -> (CalculationRequest, Vec<MissingParam>) {
    use CalculationKind as K;
    use ParamName as P;
    let keep = relevant(kind);
    let mut params: BTreeMap<ParamName, Param> = BTreeMap::new();
    if let Some(prev) = previous {
        for (k, v) in &prev.params {
            if v.is_given() && keep.contains(k) {
                params.insert(
                    *k,
                    Param {
                        value: v.value.clone(),
                        origin: Origin::Previous,
                    },
                );
            } else if *k == P::MdeScale && keep.contains(k) {
                // How a carried effect was read travels with it, assumed or not.
                params.insert(*k, v.clone());
            }
        }
        // A new effect replaces the old one in whichever form it was given.
        if p.given.contains_key(&P::Treatment) {
            params.remove(&P::Mde);
            params.remove(&P::MdeScale);
        }
        if p.given.contains_key(&P::Mde) {
            params.remove(&P::Treatment);
        }
    }
    for (k, v) in &p.given {
        if keep.contains(k) {
            params.insert(*k, v.clone());
        }
    }
    let mut assumptions: Vec<String> = p
        .assumptions
        .iter()
        .filter(|a| {
            // Keep only the readings that concern this kind's inputs.
            let effect = a.starts_with("The effect");
            !effect || params.contains_key(&P::Mde)
        })
        .cloned()
        .collect();
    if let Some(prev) = previous {
        let carried_reading = params
            .get(&P::MdeScale)
            .is_some_and(|x| x.origin == Origin::Assumed);
        for a in &prev.assumptions {
            if carried_reading && a.starts_with("The effect") && !assumptions.contains(a) {
                assumptions.push(a.clone());
            }
        }
    }
    let mut missing: Vec<MissingParam> = Vec::new();
    let need =
        |params: &BTreeMap<ParamName, Param>, name: ParamName, missing: &mut Vec<MissingParam>| {
            if !params.contains_key(&name) && !missing.iter().any(|m| m.question == ask(name)) {
                missing.push(MissingParam {
                    name,
                    question: ask(name),
                });
            }
        };
    let assume = |params: &mut BTreeMap<ParamName, Param>,
                  name: ParamName,
                  v: Value,
                  why: &str,
                  assumptions: &mut Vec<String>| {
        if let std::collections::btree_map::Entry::Vacant(e) = params.entry(name) {
            e.insert(Param {
                value: v,
                origin: Origin::Assumed,
            });
            assumptions.push(why.to_string());
        }
    };
    match kind {
        K::SampleSize | K::Power | K::Mde | K::Duration => {
            let mean_metric = !params.contains_key(&P::Baseline)
                && (params.contains_key(&P::Sd)
                    || params.contains_key(&P::EffectSize)
                    || params.contains_key(&P::Mean)
                    || p.currency
                    || p.mean_words && !params.contains_key(&P::Treatment));
            let metric = if mean_metric { "mean" } else { "proportion" };
            params.insert(
                P::Metric,
                Param {
                    value: choice(metric),
                    origin: Origin::Assumed,
                },
            );
            if kind == K::Power && params.remove(&P::Power).is_some() {
                {
                    assumptions.push(
                        "The power given is ignored: power is what this calculation reports".into(),
                    );
                }
            }
            if kind == K::Mde {
                params.remove(&P::Mde);
                params.remove(&P::MdeScale);
                params.remove(&P::Treatment);
            }
            if kind != K::Power && kind != K::Mde {
                params.remove(&P::N);
            }
            if metric == "proportion" {
                need(&params, P::Baseline, &mut missing);
                params.remove(&P::Sd);
                params.remove(&P::Mean);
                params.remove(&P::EffectSize);
                if kind != K::Mde && !params.contains_key(&P::Treatment) {
                    need(&params, P::Mde, &mut missing);
                }
            } else {
                params.remove(&P::Baseline);
                params.remove(&P::Treatment);
                if kind != K::Mde && !params.contains_key(&P::EffectSize) {
                    need(&params, P::Mde, &mut missing);
                    need(&params, P::Sd, &mut missing);
                    if params.get(&P::MdeScale).and_then(Param::choice) == Some("relative") {
                        need(&params, P::Mean, &mut missing);
                    }
                }
                if kind == K::Mde && !params.contains_key(&P::Sd) {
                    assumptions.push("No standard deviation was given, so the MDE is reported as Cohen's d (in standard deviations)".into());
                }
            }
            if kind == K::Power || kind == K::Mde {
                need(&params, P::N, &mut missing);
            }
            assume(
                &mut params,
                P::Alpha,
                num(0.05),
                "Significance level alpha = 0.05",
                &mut assumptions,
            );
            if kind != K::Power {
                assume(
                    &mut params,
                    P::Power,
                    num(0.8),
                    "Target power 80%",
                    &mut assumptions,
                );
            }
            assume(
                &mut params,
                P::Sides,
                choice("two-sided"),
                "Two-sided test",
                &mut assumptions,
            );
            if kind == K::Duration {
                need(&params, P::DailyTraffic, &mut missing);
                assume(
                    &mut params,
                    P::Exposure,
                    num(1.0),
                    "All eligible traffic enters the experiment",
                    &mut assumptions,
                );
                assume(
                    &mut params,
                    P::Variants,
                    num(2.0),
                    "Two variants (control and one treatment), split equally",
                    &mut assumptions,
                );
                params.remove(&P::Ratio);
            } else {
                assume(
                    &mut params,
                    P::Ratio,
                    num(1.0),
                    "Equal allocation (50/50 split)",
                    &mut assumptions,
                );
            }
            if metric == "proportion" {
                assumptions.push("Pooled two-proportion z test (normal approximation)".into());
            } else {
                assumptions.push("Two-sample t test on means (noncentral t power)".into());
            }
        }
        K::ProportionTest | K::FisherTest => {
            for n in [P::ControlX, P::ControlN, P::TreatmentX, P::TreatmentN] {
                need(&params, n, &mut missing);
            }
            assume(
                &mut params,
                P::Alternative,
                choice("two-sided"),
                "Two-sided test",
                &mut assumptions,
            );
            assume(
                &mut params,
                P::Alpha,
                num(0.05),
                "Significance level alpha = 0.05",
                &mut assumptions,
            );
            if kind == K::ProportionTest {
                assumptions
                    .push("Pooled two-proportion z test; the first group named is control".into());
            } else {
                assumptions.push(
                    "Fisher's exact test on the 2x2 table; the first group named is control".into(),
                );
            }
        }
        K::TTest => {
            for n in [
                P::ControlMean,
                P::ControlSd,
                P::ControlN,
                P::TreatmentMean,
                P::TreatmentSd,
                P::TreatmentN,
            ] {
                need(&params, n, &mut missing);
            }
            assume(
                &mut params,
                P::Alternative,
                choice("two-sided"),
                "Two-sided test",
                &mut assumptions,
            );
            assume(
                &mut params,
                P::TTestVariant,
                choice("welch"),
                "Welch's t test (no equal-variance assumption)",
                &mut assumptions,
            );
            assume(
                &mut params,
                P::Alpha,
                num(0.05),
                "Significance level alpha = 0.05",
                &mut assumptions,
            );
        }
        K::ProportionCi => {
            need(&params, P::Successes, &mut missing);
            assume(
                &mut params,
                P::Level,
                num(0.95),
                "95% confidence level",
                &mut assumptions,
            );
            assume(
                &mut params,
                P::CiMethod,
                choice("wilson"),
                "Wilson score interval",
                &mut assumptions,
            );
        }
        K::DiffCi => {
            for n in [P::ControlX, P::ControlN, P::TreatmentX, P::TreatmentN] {
                need(&params, n, &mut missing);
            }
            assume(
                &mut params,
                P::Level,
                num(0.95),
                "95% confidence level",
                &mut assumptions,
            );
            if !matches!(
                params.get(&P::CiMethod).and_then(Param::choice),
                Some("wald")
            ) {
                params.insert(
                    P::CiMethod,
                    Param {
                        value: choice("newcombe"),
                        origin: Origin::Assumed,
                    },
                );
                assumptions.push("Newcombe hybrid score interval for the difference".into());
            }
        }
        K::MeanCi => {
            for n in [P::Mean, P::Sd, P::N] {
                need(&params, n, &mut missing);
            }
            assume(
                &mut params,
                P::Level,
                num(0.95),
                "95% confidence level",
                &mut assumptions,
            );
            assumptions.push("t interval from the mean, standard deviation and n".into());
        }
        K::Adjust => {
            need(&params, P::PValues, &mut missing);
            assume(
                &mut params,
                P::Correction,
                choice("holm"),
                "Holm step-down correction (controls the family-wise error rate)",
                &mut assumptions,
            );
            assume(
                &mut params,
                P::Alpha,
                num(0.05),
                "Family-wise (or false discovery) level 0.05",
                &mut assumptions,
            );
        }
        K::Srm => {
            need(&params, P::Counts, &mut missing);
            let k = params
                .get(&P::Counts)
                .and_then(Param::list)
                .map_or(2, <[f64]>::len);
            if params
                .get(&P::Weights)
                .and_then(Param::list)
                .is_some_and(|w| w.len() != k)
            {
                params.remove(&P::Weights);
                assumptions.push(
                    "The split given does not match the number of groups and is ignored".into(),
                );
            }
            assume(
                &mut params,
                P::Weights,
                Value::List(vec![1.0; k]),
                "Equal planned split across the groups",
                &mut assumptions,
            );
            assume(
                &mut params,
                P::Threshold,
                num(0.001),
                "SRM is flagged at p < 0.001",
                &mut assumptions,
            );
        }
        K::Cuped => {
            need(&params, P::Rho, &mut missing);
            assumptions
                .push("CUPED variance factor 1 - rho^2 at the same alpha, power and effect".into());
        }
        K::SequentialBoundaries => {
            need(&params, P::Looks, &mut missing);
            assume(
                &mut params,
                P::Alpha,
                num(0.05),
                "Overall alpha = 0.05",
                &mut assumptions,
            );
            assume(
                &mut params,
                P::Sides,
                choice("two-sided"),
                "Two-sided test",
                &mut assumptions,
            );
            assume(
                &mut params,
                P::Spending,
                choice("o-brien-fleming"),
                "O'Brien-Fleming-type Lan-DeMets spending",
                &mut assumptions,
            );
            assumptions.push("Looks are equally spaced in information".into());
        }
        K::Bayes => {
            for n in [P::ControlX, P::ControlN, P::TreatmentX, P::TreatmentN] {
                need(&params, n, &mut missing);
            }
            assume(
                &mut params,
                P::Level,
                num(0.95),
                "95% credible intervals",
                &mut assumptions,
            );
            assumptions.push("Uniform Beta(1, 1) priors on both rates; exact integration".into());
        }
    }
    (
        CalculationRequest {
            kind,
            params,
            assumptions,
        },
        missing,
    )
}

/// Formats a number without trailing zeros, for sentences about the reading.
fn fmt_plain(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}
