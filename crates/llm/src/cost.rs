//! Prices, the hard USD budget, and the running cost summary.
//!
//! A call reserves the most it could cost (estimated prompt tokens plus `max_tokens` of output)
//! before anything is sent, and settles to the real cost when the usage comes back. Reserving
//! rather than checking the spent total is what keeps concurrent calls from jointly overrunning
//! the cap.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};

use crate::{Error, Message, Usage};

/// The price of one model, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ModelPrice {
    /// Input (prompt) tokens.
    pub input_per_mtok: f64,
    /// Output (completion) tokens.
    pub output_per_mtok: f64,
}

impl ModelPrice {
    /// The cost of `prompt` input and `completion` output tokens.
    pub fn cost(&self, prompt: u64, completion: u64) -> f64 {
        (prompt as f64 * self.input_per_mtok + completion as f64 * self.output_per_mtok) / 1e6
    }
}

/// The price table of `configs/llm.toml`, with the date it was copied from the providers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pricing {
    /// When the prices were checked (YYYY-MM-DD).
    pub as_of: String,
    /// Prices by model name. A name also matches model ids that extend it with a `-` suffix
    /// (`claude-sonnet-4-5` prices `claude-sonnet-4-5-20250929`).
    pub models: BTreeMap<String, ModelPrice>,
}

impl Pricing {
    /// The price of `model`: an exact entry, else the longest entry that `model` extends.
    pub fn price(&self, model: &str) -> Option<ModelPrice> {
        if let Some(price) = self.models.get(model) {
            return Some(*price);
        }
        self.models
            .iter()
            .filter(|(name, _)| {
                model
                    .strip_prefix(name.as_str())
                    .is_some_and(|rest| rest.starts_with('-'))
            })
            .max_by_key(|(name, _)| name.len())
            .map(|(_, price)| *price)
    }
}

/// An upper estimate of a prompt's tokens: one token per three bytes, plus a per-message overhead
/// for the chat template. BPE tokenizers average about four bytes per token on English, so this
/// overestimates, which is the safe side for a hard cap.
pub fn estimate_prompt_tokens(messages: &[Message]) -> u32 {
    let bytes: usize = messages.iter().map(|m| m.content.len()).sum();
    let estimate = bytes.div_ceil(3) + 8 * messages.len() + 8;
    u32::try_from(estimate).unwrap_or(u32::MAX)
}

/// What one model has cost so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelCost {
    /// Completed calls.
    pub calls: u64,
    /// Prompt tokens.
    pub prompt_tokens: u64,
    /// Completion tokens.
    pub completion_tokens: u64,
    /// USD (0 for a model without a price).
    pub cost_usd: f64,
}

/// A snapshot of the ledger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostSummary {
    /// The hard cap, if any.
    pub limit_usd: Option<f64>,
    /// Spent so far.
    pub spent_usd: f64,
    /// Held by calls in flight.
    pub reserved_usd: f64,
    /// Per model.
    pub by_model: BTreeMap<String, ModelCost>,
    /// The date of the price table.
    pub prices_as_of: String,
}

#[derive(Debug, Default)]
struct Ledger {
    spent_usd: f64,
    reserved_usd: f64,
    by_model: BTreeMap<String, ModelCost>,
}

/// A shared budget: the price table, an optional hard cap in USD, and the ledger of every call.
/// Share one `Arc<Budget>` between all HTTP backends of a job.
#[derive(Debug)]
pub struct Budget {
    pricing: Pricing,
    limit_usd: Option<f64>,
    ledger: Mutex<Ledger>,
}

impl Budget {
    /// A budget with a hard cap of `limit_usd`.
    pub fn with_limit(pricing: Pricing, limit_usd: f64) -> Arc<Self> {
        Arc::new(Self {
            pricing,
            limit_usd: Some(limit_usd),
            ledger: Mutex::default(),
        })
    }

    /// A ledger without a cap: costs are recorded, nothing is refused.
    pub fn unlimited(pricing: Pricing) -> Arc<Self> {
        Arc::new(Self {
            pricing,
            limit_usd: None,
            ledger: Mutex::default(),
        })
    }

    /// The price table.
    pub fn pricing(&self) -> &Pricing {
        &self.pricing
    }

    /// The running totals.
    pub fn summary(&self) -> CostSummary {
        let ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        CostSummary {
            limit_usd: self.limit_usd,
            spent_usd: ledger.spent_usd,
            reserved_usd: ledger.reserved_usd,
            by_model: ledger.by_model.clone(),
            prices_as_of: self.pricing.as_of.clone(),
        }
    }

    /// Reserves the most a call could cost, or refuses it before it is sent.
    pub(crate) fn reserve(
        self: &Arc<Self>,
        model: &str,
        prompt_tokens_estimate: u32,
        max_tokens: u32,
    ) -> Result<Reservation, Error> {
        let price = self.pricing.price(model);
        let amount = match (price, self.limit_usd) {
            (Some(price), _) => price.cost(prompt_tokens_estimate.into(), max_tokens.into()),
            (None, Some(_)) => {
                return Err(Error::NoPrice {
                    model: model.to_owned(),
                });
            }
            (None, None) => 0.0,
        };
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(limit_usd) = self.limit_usd {
            let remaining_usd = limit_usd - ledger.spent_usd - ledger.reserved_usd;
            if amount > remaining_usd {
                return Err(Error::BudgetExceeded {
                    limit_usd,
                    spent_usd: ledger.spent_usd,
                    reserved_usd: ledger.reserved_usd,
                    remaining_usd: remaining_usd.max(0.0),
                    estimate_usd: amount,
                });
            }
        }
        ledger.reserved_usd += amount;
        Ok(Reservation {
            budget: Arc::clone(self),
            model: model.to_owned(),
            price,
            amount,
            settled: false,
        })
    }

    fn settle(&self, reservation: &Reservation, charge: Option<(Usage, f64)>) {
        let mut ledger = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        ledger.reserved_usd = (ledger.reserved_usd - reservation.amount).max(0.0);
        if let Some((usage, cost)) = charge {
            ledger.spent_usd += cost;
            let entry = ledger
                .by_model
                .entry(reservation.model.clone())
                .or_default();
            entry.calls += 1;
            entry.prompt_tokens += u64::from(usage.prompt_tokens);
            entry.completion_tokens += u64::from(usage.completion_tokens);
            entry.cost_usd += cost;
        }
    }
}

/// Money held for one call in flight. Settle it with [`Reservation::commit`] or
/// [`Reservation::release`]; dropping it unsettled (a stream dropped half-way) charges the whole
/// reservation, because the provider bills what it generated and we do not know how much.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<Budget>,
    model: String,
    price: Option<ModelPrice>,
    amount: f64,
    settled: bool,
}

impl Reservation {
    /// Records the real usage and returns the call's cost, if the model has a price.
    pub(crate) fn commit(mut self, usage: Usage) -> Option<f64> {
        let cost = self
            .price
            .map(|p| p.cost(usage.prompt_tokens.into(), usage.completion_tokens.into()));
        self.budget
            .settle(&self, Some((usage, cost.unwrap_or(0.0))));
        self.settled = true;
        cost
    }

    /// Returns the money: the call failed and was not billed.
    pub(crate) fn release(mut self) {
        self.budget.settle(&self, None);
        self.settled = true;
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        if !self.settled {
            self.budget
                .settle(self, Some((Usage::default(), self.amount)));
        }
    }
}

#[cfg(test)]
// Tests assert by unwrapping: a panic with the error is the failure report.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pricing() -> Pricing {
        let mut models = BTreeMap::new();
        models.insert(
            "claude-x".to_owned(),
            ModelPrice {
                input_per_mtok: 3.0,
                output_per_mtok: 15.0,
            },
        );
        models.insert(
            "claude-x-large".to_owned(),
            ModelPrice {
                input_per_mtok: 10.0,
                output_per_mtok: 50.0,
            },
        );
        Pricing {
            as_of: "2025-01-01".into(),
            models,
        }
    }

    #[test]
    fn price_lookup_prefers_exact_then_longest_dated_prefix() {
        let p = pricing();
        assert_eq!(p.price("claude-x").map(|p| p.input_per_mtok), Some(3.0));
        assert_eq!(
            p.price("claude-x-20250101").map(|p| p.input_per_mtok),
            Some(3.0)
        );
        assert_eq!(
            p.price("claude-x-large-20250101").map(|p| p.input_per_mtok),
            Some(10.0)
        );
        assert_eq!(p.price("claude-xl"), None);
    }

    #[test]
    fn reservations_bound_concurrent_calls_and_settle_to_real_cost() {
        let budget = Budget::with_limit(pricing(), 0.02);
        // 1000 prompt + 1000 output tokens at 3/15 per Mtok: 0.018.
        let first = budget.reserve("claude-x", 1000, 1000).unwrap();
        let refused = budget.reserve("claude-x", 1000, 1000).unwrap_err();
        assert!(matches!(refused, Error::BudgetExceeded { .. }), "{refused}");
        let cost = first.commit(Usage {
            prompt_tokens: 500,
            completion_tokens: 100,
            cached_prompt_tokens: 0,
        });
        assert!((cost.unwrap() - 0.003).abs() < 1e-12);
        let summary = budget.summary();
        assert!((summary.spent_usd - 0.003).abs() < 1e-12);
        assert_eq!(summary.reserved_usd, 0.0);
        assert_eq!(summary.by_model["claude-x"].completion_tokens, 100);
        // After settling, the unused part of the reservation is free again (0.017 left).
        budget.reserve("claude-x", 500, 1000).unwrap().release();
        assert!(budget.reserve("claude-x", 1000, 1000).is_err());
        assert!(matches!(
            budget.reserve("unknown-model", 1, 1),
            Err(Error::NoPrice { .. })
        ));
    }

    #[test]
    fn dropping_an_unsettled_reservation_charges_it() {
        let budget = Budget::unlimited(pricing());
        drop(budget.reserve("claude-x", 1000, 1000).unwrap());
        assert!((budget.summary().spent_usd - 0.018).abs() < 1e-12);
    }
}
