//! The typed knowledge base.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Where an item was written: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Location {
    /// The file, relative to the knowledge directory.
    pub file: PathBuf,
    /// 1-based line of the item's table header.
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The spelling used in the knowledge files.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err(format!(
                        "unknown {} {text:?}; expected one of {}",
                        stringify!($name),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// What kind of thing a concept is.
    Category {
        /// A hypothesis test.
        StatisticalTest = "statistical_test",
        /// Something measured in an experiment.
        Metric = "metric",
        /// A quantity computed from data.
        Estimator = "estimator",
        /// A probability distribution.
        Distribution = "distribution",
        /// An experiment design element.
        Design = "design",
        /// A method or principle.
        Methodology = "methodology",
        /// A way experiments go wrong.
        Pitfall = "pitfall",
        /// An organisational practice.
        Practice = "practice",
        /// A multiple-testing or other correction.
        Correction = "correction",
        /// A sequential-testing method.
        SequentialMethod = "sequential_method",
    }
}

string_enum! {
    /// The type of a relation, read `from KIND to`.
    RelationKind {
        /// `from` cannot be done without `to`.
        Requires = "REQUIRES",
        /// Understand `from` before `to`.
        PrerequisiteOf = "PREREQUISITE_OF",
        /// The two are alike.
        SimilarTo = "SIMILAR_TO",
        /// One can replace the other.
        AlternativeTo = "ALTERNATIVE_TO",
        /// `from` is a component of `to`.
        PartOf = "PART_OF",
        /// `from` is a special case of `to`.
        SpecialCaseOf = "SPECIAL_CASE_OF",
        /// Changing `from` changes `to` (see [`Sign`]).
        Affects = "AFFECTS",
        /// `from` fixes or mitigates `to`.
        Corrects = "CORRECTS",
        /// `from` reveals `to`.
        Detects = "DETECTS",
        /// `from` is used to do `to`.
        UsedFor = "USED_FOR",
        /// `from` is quantified by `to`.
        MeasuredBy = "MEASURED_BY",
    }
}

string_enum! {
    /// The direction of an AFFECTS relation.
    Sign {
        /// More `from` means more `to`.
        Increases = "increases",
        /// More `from` means less `to`.
        Decreases = "decreases",
        /// It depends.
        Mixed = "mixed",
    }
}

string_enum! {
    /// What a labelled question asks for.
    Intent {
        /// What is X?
        Definition = "definition",
        /// A number to compute.
        Calculation = "calculation",
        /// How to do something.
        Methodology = "methodology",
        /// What should we do (often company practice).
        BestPractice = "best_practice",
        /// X versus Y.
        Comparison = "comparison",
        /// An answer that walks several relations.
        MultiHop = "multi_hop",
    }
}

impl RelationKind {
    /// Whether `a KIND b` means the same as `b KIND a`.
    pub fn is_symmetric(self) -> bool {
        matches!(self, Self::SimilarTo | Self::AlternativeTo)
    }
}

/// A formula in plain text and LaTeX.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Formula {
    /// Plain text.
    pub text: String,
    /// LaTeX.
    pub latex: String,
}

/// A cited work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Title.
    pub title: String,
    /// Authors or publisher.
    pub authors: Option<String>,
    /// Year.
    pub year: Option<i64>,
    /// Chapter, section or page.
    pub locator: Option<String>,
    /// A stable public URL.
    pub url: Option<String>,
}

/// A worked example the calculator can recompute: `calculation` names the computation,
/// `params` its inputs and `expect` the values the concept's text states.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkedExample {
    /// The calculation's name, for example `sample_size_two_proportions`.
    pub calculation: String,
    /// Its inputs.
    pub params: BTreeMap<String, toml::Value>,
    /// The expected outputs.
    pub expect: BTreeMap<String, toml::Value>,
}

/// One concept of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Concept {
    /// Stable slug.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Abbreviations and variants.
    pub aliases: Vec<String>,
    /// Kind of concept.
    pub category: Category,
    /// 2–5 sentences.
    pub definition: String,
    /// When to use it.
    pub when_to_use: String,
    /// Mistakes practitioners make.
    pub common_mistakes: Vec<String>,
    /// An example with numbers.
    pub example: String,
    /// The formula, where one exists.
    pub formula: Option<Formula>,
    /// Where it is explained.
    pub sources: Vec<Source>,
    /// A calculator-checked worked example.
    pub check: Option<WorkedExample>,
    /// The area file it came from (`foundations`, `design`, …).
    pub area: String,
    /// Where it is written.
    pub location: Location,
}

/// A typed edge between two concepts.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// Source concept id.
    pub from: String,
    /// The relation type.
    pub kind: RelationKind,
    /// Target concept id.
    pub to: String,
    /// One sentence saying why.
    pub explanation: String,
    /// Strength in (0, 1]; 0.5 when not given.
    pub weight: f64,
    /// For AFFECTS, the direction.
    pub sign: Option<Sign>,
    /// Where it is written.
    pub location: Location,
}

/// A playbook document (Markdown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlaybookDoc {
    /// File name stem, used as its id.
    pub id: String,
    /// The `# ` title.
    pub title: String,
    /// The whole Markdown text.
    pub markdown: String,
    /// Concept ids referenced as `[[id]]`.
    pub concept_refs: Vec<String>,
    /// The file.
    pub location: Location,
}

/// A mention of a concept inside a question's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionSpan {
    /// The concept mentioned.
    pub concept: String,
    /// Byte offset of the start.
    pub start: usize,
    /// Byte offset past the end.
    pub end: usize,
}

/// A labelled question for measuring retrieval and entity extraction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Unique id.
    pub id: String,
    /// The question as a user would type it.
    pub text: String,
    /// What it asks for.
    pub intent: Intent,
    /// Concepts the text mentions.
    pub mentions: Vec<String>,
    /// Concepts a good answer needs.
    pub needs: Vec<String>,
    /// For multi-hop questions, the expected walk.
    pub path: Vec<String>,
    /// Where mentions occur.
    pub spans: Vec<QuestionSpan>,
    /// The question set file stem.
    pub set: String,
    /// Where it is written.
    pub location: Location,
}

/// The whole validated knowledge base.
#[derive(Debug, Clone, PartialEq)]
pub struct KnowledgeBase {
    /// Concepts, in file order.
    pub concepts: Vec<Concept>,
    /// Relations, in file order.
    pub relations: Vec<Relation>,
    /// Playbook documents, by file name.
    pub playbook: Vec<PlaybookDoc>,
    /// Labelled questions.
    pub questions: Vec<Question>,
}

impl KnowledgeBase {
    /// The concept with this id.
    pub fn concept(&self, id: &str) -> Option<&Concept> {
        self.concepts.iter().find(|c| c.id == id)
    }
}
