//! The assistant's typed errors. The HTTP layer maps them to status codes; their messages are
//! written for users (no internals), and the source chain carries the details for logs.

/// Why a question could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum AssistantError {
    /// The question was empty or only whitespace.
    #[error("the question is empty; ask something about experimentation")]
    EmptyQuestion,
    /// The question was longer than the configured limit.
    #[error("the question has {chars} characters, more than the limit of {max}; shorten it")]
    QuestionTooLong {
        /// Its length.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// `top_k` outside its range.
    #[error("top_k must be between 1 and {max}, got {got}")]
    InvalidTopK {
        /// What was asked.
        got: usize,
        /// The largest allowed.
        max: usize,
    },
    /// An unknown retrieval mode.
    #[error("unknown retrieval mode {mode:?}; expected hybrid, graph, vector, bm25 or none")]
    UnknownMode {
        /// What was asked.
        mode: String,
    },
    /// An unknown calculation kind.
    #[error("unknown calculation {kind:?}; known: {known}")]
    UnknownCalculation {
        /// What was asked.
        kind: String,
        /// The kinds there are.
        known: String,
    },
    /// Calculation inputs that do not parse or are out of range.
    #[error("invalid inputs for {kind}: {reason}")]
    InvalidInputs {
        /// The calculation.
        kind: String,
        /// What is wrong.
        reason: String,
    },
    /// An unknown concept id.
    #[error("no concept with id {id:?}")]
    UnknownConcept {
        /// What was asked.
        id: String,
        /// The closest id, when there is one.
        suggestion: Option<String>,
    },
    /// An unknown `query_id` in feedback.
    #[error("no answer with query_id {query_id:?}")]
    UnknownQuery {
        /// What was given.
        query_id: String,
    },
    /// A rating outside 1..=5.
    #[error("rating must be between 1 and 5, got {rating}")]
    InvalidRating {
        /// What was given.
        rating: i64,
    },
    /// The store or the embedder failed.
    #[error("retrieval failed")]
    Retrieval(#[source] graphrag::Error),
    /// The language model failed.
    #[error("generation failed")]
    Generation(#[source] llm::Error),
    /// Opening the assistant failed (a path, the knowledge base, the model).
    #[error("{what}")]
    Open {
        /// What was being opened.
        what: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The configuration is invalid.
    #[error("invalid assistant config: {reason}")]
    Config {
        /// What is wrong.
        reason: String,
    },
}

impl From<graphrag::Error> for AssistantError {
    fn from(e: graphrag::Error) -> Self {
        Self::Retrieval(e)
    }
}
