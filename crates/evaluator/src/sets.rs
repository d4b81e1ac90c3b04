//! The evaluation sets under `data/eval/`: typed items, a JSONL loader that reports every problem
//! with file and line, and the cross-checks against the knowledge base (concept ids exist,
//! multi-hop paths follow real relations, no question copies a labelled knowledge question).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::calc::Calc;

/// What a curated question asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// What a concept is.
    Definition,
    /// A number the calculator computes.
    Calculation,
    /// How to design or analyse an experiment.
    Methodology,
    /// What a team should do in practice.
    BestPractice,
    /// A question that walks several relations (the multi-hop set).
    MultiHop,
}

impl Category {
    /// The snake-case name used in the sets and the results.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Definition => "definition",
            Category::Calculation => "calculation",
            Category::Methodology => "methodology",
            Category::BestPractice => "best_practice",
            Category::MultiHop => "multi_hop",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How hard a question is for a practitioner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Difficulty {
    /// One fact.
    Easy,
    /// Two or three facts, or one calculation.
    Medium,
    /// Reasoning over several facts or a non-default calculation.
    Hard,
}

/// How far a stated number may be from the expected value.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    /// Absolute tolerance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abs: Option<f64>,
    /// Relative tolerance (a share of |expected|).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rel: Option<f64>,
}

impl Tolerance {
    /// The allowed distance from `expected`: the larger of the two tolerances given.
    pub fn allowed(&self, expected: f64) -> f64 {
        let abs = self.abs.unwrap_or(0.0);
        let rel = self.rel.unwrap_or(0.0) * expected.abs();
        abs.max(rel)
    }
}

/// One number a correct answer must state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedNumber {
    /// The calculator output it is (`n_per_group`, `p_value`, …).
    pub name: String,
    /// The value.
    pub value: f64,
    /// How close a stated number must be.
    pub tolerance: Tolerance,
}

/// A fact a correct answer must state, with an optional explicit keyword rule: the point counts
/// as covered when every group has at least one of its alternatives in the answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyPoint {
    /// The fact, as a sentence.
    pub text: String,
    /// Groups of alternatives (all groups must match); empty for no keyword rule.
    pub keywords: Vec<Vec<String>>,
}

impl<'de> Deserialize<'de> for KeyPoint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A key point is written as a plain string, or as an object when it has keywords.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Text(String),
            Full {
                text: String,
                #[serde(default)]
                keywords: Vec<Vec<String>>,
            },
        }
        Ok(match Wire::deserialize(d)? {
            Wire::Text(text) => KeyPoint {
                text,
                keywords: Vec::new(),
            },
            Wire::Full { text, keywords } => KeyPoint { text, keywords },
        })
    }
}

/// A curated question (`curated.jsonl`) or a multi-hop question (`multihop.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    /// Unique id.
    pub id: String,
    /// Category.
    pub category: Category,
    /// The question as a user would ask it.
    pub question: String,
    /// A correct, complete answer.
    pub reference_answer: String,
    /// 2–5 facts a correct answer states.
    pub key_points: Vec<KeyPoint>,
    /// For calculations, the numbers a correct answer states.
    #[serde(default)]
    pub expected_numbers: Vec<ExpectedNumber>,
    /// For calculations, the calculator call that gives them.
    #[serde(default)]
    pub calc: Option<serde_json::Value>,
    /// Concept ids (from `data/knowledge/concepts`) a good answer draws on.
    pub expected_concepts: Vec<String>,
    /// For multi-hop questions, the walk through the graph (consecutive ids share a relation).
    #[serde(default)]
    pub path: Vec<String>,
    /// Difficulty.
    pub difficulty: Difficulty,
    /// Whether the question goes to human raters.
    #[serde(default)]
    pub critical: bool,
    /// The line it was read from.
    #[serde(skip)]
    pub line: usize,
}

impl Item {
    /// The parsed calculator call, when the item has one (the loader has checked it parses).
    pub fn parsed_calc(&self) -> Option<Calc> {
        self.calc.as_ref().and_then(|v| Calc::from_value(v).ok())
    }
}

/// A multiple-choice question (`multiple_choice.jsonl`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceItem {
    /// Unique id.
    pub id: String,
    /// The category of the underlying question.
    pub category: Category,
    /// The question.
    pub question: String,
    /// 3–5 options, shown as A, B, C, …
    pub options: Vec<String>,
    /// The correct option's letter.
    pub answer: char,
    /// Why it is correct.
    pub explanation: String,
    /// Concept ids involved.
    pub expected_concepts: Vec<String>,
    /// Difficulty.
    pub difficulty: Difficulty,
    /// The line it was read from.
    #[serde(skip)]
    pub line: usize,
}

impl ChoiceItem {
    /// The index of the correct option.
    pub fn answer_index(&self) -> usize {
        (self.answer as u8).wrapping_sub(b'A') as usize
    }

    /// The question with its lettered options, as a model is asked it.
    pub fn prompt(&self) -> String {
        let mut s = self.question.clone();
        for (i, o) in self.options.iter().enumerate() {
            s.push_str(&format!("\n{}) {o}", (b'A' + i as u8) as char));
        }
        s.push_str("\nAnswer with the letter of the correct option.");
        s
    }
}

/// A hand-labelled pair for calibrating the key-point threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrationPair {
    /// Unique id.
    pub id: String,
    /// One sentence of an answer.
    pub sentence: String,
    /// A key point.
    pub key_point: String,
    /// Whether the sentence states the key point (the human label).
    pub covered: bool,
    /// The line it was read from.
    #[serde(skip)]
    pub line: usize,
}

/// One problem in a set file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub path: PathBuf,
    /// The 1-based line (0 for the file as a whole).
    pub line: usize,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path.display(), self.line, self.message)
    }
}

/// Why a set could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    /// The file could not be read.
    #[error("cannot read evaluation set {path}: {source}; check the path (sets live in data/eval)")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Lines failed to parse or validate.
    #[error("{} problem(s) in evaluation sets, first: {}; fix these lines and run `evaluator check-sets`", problems.len(), problems.first().map(ToString::to_string).unwrap_or_default())]
    Invalid {
        /// Every problem, with file and line.
        problems: Vec<Problem>,
    },
}

/// Every set of `data/eval`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sets {
    /// `curated.jsonl`.
    pub curated: Vec<Item>,
    /// `multihop.jsonl`.
    pub multihop: Vec<Item>,
    /// `multiple_choice.jsonl`.
    pub multiple_choice: Vec<ChoiceItem>,
    /// `keypoint_calibration.jsonl`.
    pub calibration: Vec<CalibrationPair>,
}

/// The file names inside the sets directory.
pub const CURATED_FILE: &str = "curated.jsonl";
/// Multi-hop questions.
pub const MULTIHOP_FILE: &str = "multihop.jsonl";
/// Multiple-choice questions.
pub const CHOICE_FILE: &str = "multiple_choice.jsonl";
/// Key-point calibration pairs.
pub const CALIBRATION_FILE: &str = "keypoint_calibration.jsonl";

trait Located {
    fn set_line(&mut self, line: usize);
    fn id(&self) -> &str;
}
impl Located for Item {
    fn set_line(&mut self, line: usize) {
        self.line = line;
    }
    fn id(&self) -> &str {
        &self.id
    }
}
impl Located for ChoiceItem {
    fn set_line(&mut self, line: usize) {
        self.line = line;
    }
    fn id(&self) -> &str {
        &self.id
    }
}
impl Located for CalibrationPair {
    fn set_line(&mut self, line: usize) {
        self.line = line;
    }
    fn id(&self) -> &str {
        &self.id
    }
}

/// Parses one JSONL file, collecting every unparsable line and duplicate id as a problem.
fn read_jsonl<T: DeserializeOwned + Located>(
    path: &Path,
    problems: &mut Vec<Problem>,
) -> Result<Vec<T>, SetError> {
    let text = std::fs::read_to_string(path).map_err(|source| SetError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut items = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let number = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<T>(line) {
            Ok(mut item) => {
                item.set_line(number);
                if let Some(first) = seen.insert(item.id().to_owned(), number) {
                    problems.push(Problem {
                        path: path.to_path_buf(),
                        line: number,
                        message: format!(
                            "duplicate id {} (first on line {first}); give each item its own id",
                            item.id()
                        ),
                    });
                }
                items.push(item);
            }
            Err(e) => problems.push(Problem {
                path: path.to_path_buf(),
                line: number,
                message: format!("not a valid item: {e}"),
            }),
        }
    }
    Ok(items)
}

fn check_item(path: &Path, item: &Item, multihop: bool, problems: &mut Vec<Problem>) {
    let mut bad = |message: String| {
        problems.push(Problem {
            path: path.to_path_buf(),
            line: item.line,
            message: format!("{}: {message}", item.id),
        })
    };
    if item.id.trim().is_empty() {
        bad("empty id".into());
    }
    if item.question.trim().len() < 10 {
        bad("question shorter than 10 characters; write the question in full".into());
    }
    if item.reference_answer.trim().len() < 20 {
        bad("reference answer shorter than 20 characters; write a complete answer".into());
    }
    if !(2..=5).contains(&item.key_points.len()) {
        bad(format!(
            "{} key points; give between 2 and 5",
            item.key_points.len()
        ));
    }
    for kp in &item.key_points {
        if kp.text.trim().is_empty() {
            bad("an empty key point".into());
        }
        if kp
            .keywords
            .iter()
            .any(|g| g.is_empty() || g.iter().any(|k| k.trim().is_empty()))
        {
            bad(format!(
                "key point {:?} has an empty keyword group or keyword",
                kp.text
            ));
        }
    }
    if item.expected_concepts.is_empty() {
        bad("no expected concepts; name the concept ids a good answer uses".into());
    }
    for n in &item.expected_numbers {
        let ok = |t: Option<f64>| t.is_none_or(|t| t.is_finite() && t >= 0.0);
        if !n.value.is_finite()
            || !ok(n.tolerance.abs)
            || !ok(n.tolerance.rel)
            || n.tolerance.allowed(n.value) <= 0.0
        {
            bad(format!(
                "expected number {} needs a finite value and a positive abs or rel tolerance",
                n.name
            ));
        }
    }
    let is_calc = item.category == Category::Calculation;
    match (&item.calc, is_calc) {
        (Some(v), _) => {
            if let Err(e) = Calc::from_value(v) {
                bad(format!("calc does not parse: {e}"));
            }
            if item.expected_numbers.is_empty() {
                bad("has a calc but no expected numbers".into());
            }
        }
        (None, true) => {
            bad("a calculation needs `calc` and `expected_numbers`".into());
        }
        (None, false) => {
            if !item.expected_numbers.is_empty() {
                bad("expected numbers without a calc; add the calculator call".into());
            }
        }
    }
    if multihop {
        if item.category != Category::MultiHop {
            bad("the multi-hop set takes category multi_hop only".into());
        }
        if item.path.len() < 3 {
            bad("a multi-hop path needs at least 3 concept ids".into());
        }
    } else {
        if item.category == Category::MultiHop {
            bad("multi_hop questions go in multihop.jsonl".into());
        }
        if !item.path.is_empty() {
            bad("only multi-hop questions carry a path".into());
        }
    }
}

fn check_choice(path: &Path, item: &ChoiceItem, problems: &mut Vec<Problem>) {
    let mut bad = |message: String| {
        problems.push(Problem {
            path: path.to_path_buf(),
            line: item.line,
            message: format!("{}: {message}", item.id),
        })
    };
    if !(3..=5).contains(&item.options.len()) {
        bad(format!(
            "{} options; give between 3 and 5",
            item.options.len()
        ));
    }
    if item.answer_index() >= item.options.len() {
        bad(format!(
            "answer {} is not one of the {} options (letters from A)",
            item.answer,
            item.options.len()
        ));
    }
    let distinct: BTreeSet<String> = item
        .options
        .iter()
        .map(|o| o.trim().to_lowercase())
        .collect();
    if distinct.len() != item.options.len() {
        bad("two options are the same".into());
    }
    if item.expected_concepts.is_empty() {
        bad("no expected concepts".into());
    }
}

/// Loads and validates every set in `dir` (normally `data/eval`), reporting all problems at
/// once.
pub fn load(dir: impl AsRef<Path>) -> Result<Sets, SetError> {
    let dir = dir.as_ref();
    let mut problems = Vec::new();
    let curated_path = dir.join(CURATED_FILE);
    let multihop_path = dir.join(MULTIHOP_FILE);
    let choice_path = dir.join(CHOICE_FILE);
    let calibration_path = dir.join(CALIBRATION_FILE);
    let curated: Vec<Item> = read_jsonl(&curated_path, &mut problems)?;
    let multihop: Vec<Item> = read_jsonl(&multihop_path, &mut problems)?;
    let multiple_choice: Vec<ChoiceItem> = read_jsonl(&choice_path, &mut problems)?;
    let calibration: Vec<CalibrationPair> = read_jsonl(&calibration_path, &mut problems)?;
    for item in &curated {
        check_item(&curated_path, item, false, &mut problems);
    }
    for item in &multihop {
        check_item(&multihop_path, item, true, &mut problems);
    }
    for item in &multiple_choice {
        check_choice(&choice_path, item, &mut problems);
    }
    for pair in &calibration {
        if pair.sentence.trim().is_empty() || pair.key_point.trim().is_empty() {
            problems.push(Problem {
                path: calibration_path.clone(),
                line: pair.line,
                message: format!("{}: empty sentence or key point", pair.id),
            });
        }
    }
    // Ids must be unique across the sets too, because results rows are keyed by question id.
    let mut ids: BTreeMap<&str, (&Path, usize)> = BTreeMap::new();
    let all = curated
        .iter()
        .map(|i| (i.id.as_str(), curated_path.as_path(), i.line))
        .chain(
            multihop
                .iter()
                .map(|i| (i.id.as_str(), multihop_path.as_path(), i.line)),
        )
        .chain(
            multiple_choice
                .iter()
                .map(|i| (i.id.as_str(), choice_path.as_path(), i.line)),
        );
    for (id, path, line) in all {
        if let Some((p0, l0)) = ids.insert(id, (path, line))
            && p0 != path
        {
            problems.push(Problem {
                path: path.to_path_buf(),
                line,
                message: format!(
                    "id {id} is also used at {}:{l0}; ids must be unique across sets",
                    p0.display()
                ),
            });
        }
    }
    if problems.is_empty() {
        Ok(Sets {
            curated,
            multihop,
            multiple_choice,
            calibration,
        })
    } else {
        Err(SetError::Invalid { problems })
    }
}

/// Lower-cased words of a text, for near-duplicate checks.
fn words(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Jaccard similarity of the word-bigram sets of two texts.
pub fn bigram_jaccard(a: &str, b: &str) -> f64 {
    let grams = |t: &str| -> BTreeSet<(String, String)> {
        let w = words(t);
        w.windows(2).map(|p| (p[0].clone(), p[1].clone())).collect()
    };
    let (ga, gb) = (grams(a), grams(b));
    if ga.is_empty() || gb.is_empty() {
        // One-word texts have no bigrams: compare their words instead.
        return if words(a) == words(b) { 1.0 } else { 0.0 };
    }
    let inter = ga.intersection(&gb).count() as f64;
    let union = ga.union(&gb).count() as f64;
    inter / union
}

/// Above this bigram Jaccard similarity a question counts as a copy of a labelled knowledge
/// question.
pub const COPY_THRESHOLD: f64 = 0.6;

/// Checks the sets against the knowledge base: every concept id exists, every multi-hop path
/// step is a relation (either direction), and no question copies a labelled knowledge question.
pub fn check_against_knowledge(
    sets: &Sets,
    dir: &Path,
    kb: &knowledge::KnowledgeBase,
) -> Vec<Problem> {
    let concepts: BTreeSet<&str> = kb.concepts.iter().map(|c| c.id.as_str()).collect();
    let mut edges: BTreeSet<(&str, &str)> = BTreeSet::new();
    for r in &kb.relations {
        edges.insert((r.from.as_str(), r.to.as_str()));
        edges.insert((r.to.as_str(), r.from.as_str()));
    }
    let mut problems = Vec::new();
    let mut check_ids = |path: &Path, line: usize, id: &str, ids: &[String]| {
        for c in ids {
            if !concepts.contains(c.as_str()) {
                problems.push(Problem {
                    path: path.to_path_buf(),
                    line,
                    message: format!(
                        "{id}: unknown concept {c}; use an id from data/knowledge/concepts"
                    ),
                });
            }
        }
    };
    let curated_path = dir.join(CURATED_FILE);
    let multihop_path = dir.join(MULTIHOP_FILE);
    let choice_path = dir.join(CHOICE_FILE);
    for i in &sets.curated {
        check_ids(&curated_path, i.line, &i.id, &i.expected_concepts);
    }
    for i in &sets.multihop {
        check_ids(&multihop_path, i.line, &i.id, &i.expected_concepts);
        check_ids(&multihop_path, i.line, &i.id, &i.path);
    }
    for i in &sets.multiple_choice {
        check_ids(&choice_path, i.line, &i.id, &i.expected_concepts);
    }
    for i in &sets.multihop {
        for pair in i.path.windows(2) {
            if !edges.contains(&(pair[0].as_str(), pair[1].as_str())) {
                problems.push(Problem {
                    path: multihop_path.clone(),
                    line: i.line,
                    message: format!(
                        "{}: no relation joins {} and {}; follow a relation of data/knowledge",
                        i.id, pair[0], pair[1]
                    ),
                });
            }
        }
    }
    let questions = sets
        .curated
        .iter()
        .map(|i| (curated_path.as_path(), i.line, &i.id, &i.question))
        .chain(
            sets.multihop
                .iter()
                .map(|i| (multihop_path.as_path(), i.line, &i.id, &i.question)),
        )
        .chain(
            sets.multiple_choice
                .iter()
                .map(|i| (choice_path.as_path(), i.line, &i.id, &i.question)),
        );
    for (path, line, id, text) in questions {
        for q in &kb.questions {
            let sim = bigram_jaccard(text, &q.text);
            if sim > COPY_THRESHOLD {
                problems.push(Problem {
                    path: path.to_path_buf(),
                    line,
                    message: format!(
                        "{id}: copies labelled knowledge question {} (bigram Jaccard {sim:.2}); write a new question",
                        q.id
                    ),
                });
            }
        }
    }
    problems
}

/// Largest relative difference allowed between a stored expected number and the calculator's
/// value (the sets store values to at least six significant digits).
pub const STORED_REL: f64 = 1e-5;

/// Recomputes every calculation item with `stats` and reports each expected number that is not
/// an output of its call, or differs from it by more than [`STORED_REL`] (relative) or a tenth of
/// its own tolerance.
pub fn check_calculations(sets: &Sets, dir: &Path) -> Vec<Problem> {
    let path = dir.join(CURATED_FILE);
    let mut problems = Vec::new();
    for item in sets.curated.iter().chain(&sets.multihop) {
        let Some(calc) = item.parsed_calc() else {
            continue;
        };
        let mut bad = |message: String| {
            problems.push(Problem {
                path: path.clone(),
                line: item.line,
                message: format!("{}: {message}", item.id),
            })
        };
        let outputs = match calc.compute() {
            Ok(o) => o,
            Err(e) => {
                bad(format!("the calculator refuses the calc: {e}"));
                continue;
            }
        };
        for n in &item.expected_numbers {
            match outputs.get(&n.name) {
                None => bad(format!(
                    "expected number {} is not an output of {} (outputs: {})",
                    n.name,
                    calc.kind(),
                    outputs.keys().cloned().collect::<Vec<_>>().join(", ")
                )),
                Some(v) => {
                    let diff = (v - n.value).abs();
                    let limit = (STORED_REL * v.abs())
                        .max(1e-12)
                        .min(n.tolerance.allowed(*v) / 10.0);
                    if diff > limit.max(1e-12) {
                        bad(format!(
                            "expected {} = {} but the calculator gives {v}; store the calculator's value",
                            n.name, n.value
                        ));
                    }
                }
            }
        }
    }
    problems
}
