//! Conversation memory: what a follow-up needs from earlier turns (the last calculation's
//! parameters, the concepts discussed), bounded in count, turns and age.
//!
//! Memory is per process. A deployment with several API replicas pins a conversation to one
//! replica (sticky sessions) or accepts that a follow-up landing elsewhere starts afresh; the
//! answer then asks for the missing parameters instead of guessing them.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::ConversationConfig;
use crate::understand::CalculationRequest;

/// One remembered turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// The question.
    pub question: String,
    /// The concepts it was about, most relevant first.
    pub concepts: Vec<String>,
}

/// What is remembered of a conversation.
#[derive(Debug, Clone, Default)]
pub struct ConversationState {
    /// The parameters of the last calculation, for follow-ups.
    pub last_calculation: Option<CalculationRequest>,
    /// Recent turns, oldest first.
    pub turns: VecDeque<Turn>,
}

struct Entry {
    state: ConversationState,
    touched: Instant,
}

/// The conversations of one process.
pub struct Conversations {
    config: ConversationConfig,
    entries: Mutex<HashMap<String, Entry>>,
}

impl std::fmt::Debug for Conversations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conversations")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Conversations {
    /// Empty memory with these bounds.
    pub fn new(config: ConversationConfig) -> Self {
        Self {
            config,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn ttl(&self) -> Duration {
        Duration::from_secs(self.config.ttl_seconds)
    }

    /// The state of `id`, if it is known and not expired.
    pub fn get(&self, id: &str) -> Option<ConversationState> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let ttl = self.ttl();
        match entries.get(id) {
            Some(e) if e.touched.elapsed() <= ttl => Some(e.state.clone()),
            Some(_) => {
                entries.remove(id);
                None
            }
            None => None,
        }
    }

    /// Records a turn of `id`, replacing the remembered calculation when the turn made one.
    pub fn record(&self, id: &str, turn: Turn, calculation: Option<CalculationRequest>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if !entries.contains_key(id) && entries.len() >= self.config.max_conversations {
            // Expired entries go first; if none, the least recently used.
            let ttl = self.ttl();
            entries.retain(|_, e| e.touched.elapsed() <= ttl);
            if entries.len() >= self.config.max_conversations
                && let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, e)| e.touched)
                    .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        let entry = entries.entry(id.to_owned()).or_insert_with(|| Entry {
            state: ConversationState::default(),
            touched: Instant::now(),
        });
        entry.touched = Instant::now();
        if calculation.is_some() {
            entry.state.last_calculation = calculation;
        }
        entry.state.turns.push_back(turn);
        while entry.state.turns.len() > self.config.max_turns {
            entry.state.turns.pop_front();
        }
    }

    /// Conversations held.
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turn(q: &str) -> Turn {
        Turn {
            question: q.into(),
            concepts: vec![],
        }
    }

    #[test]
    fn least_recently_used_conversation_is_evicted_at_the_bound() {
        let memory = Conversations::new(ConversationConfig {
            max_conversations: 2,
            ttl_seconds: 3600,
            max_turns: 3,
        });
        memory.record("a", turn("1"), None);
        memory.record("b", turn("2"), None);
        memory.record("a", turn("3"), None);
        memory.record("c", turn("4"), None);
        assert!(memory.get("b").is_none(), "b was the least recently used");
        assert_eq!(memory.get("a").map(|s| s.turns.len()), Some(2));
        assert!(memory.get("c").is_some());
    }

    #[test]
    fn turns_are_bounded_and_expired_conversations_forgotten() {
        let memory = Conversations::new(ConversationConfig {
            max_conversations: 10,
            ttl_seconds: 0,
            max_turns: 2,
        });
        for q in ["1", "2", "3"] {
            memory.record("a", turn(q), None);
        }
        std::thread::sleep(Duration::from_millis(5));
        assert!(memory.get("a").is_none(), "a zero TTL expires at once");

        let memory = Conversations::new(ConversationConfig {
            max_conversations: 10,
            ttl_seconds: 60,
            max_turns: 2,
        });
        for q in ["1", "2", "3"] {
            memory.record("a", turn(q), None);
        }
        let questions: Vec<String> = memory
            .get("a")
            .map(|s| s.turns.into_iter().map(|t| t.question).collect())
            .unwrap_or_default();
        assert_eq!(questions, vec!["2", "3"]);
    }
}
