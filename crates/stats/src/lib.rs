//! `stats` is Lift's calculation engine: every number the assistant shows a user comes from
//! here. It covers power and sample size, hypothesis tests, confidence intervals,
//! multiple-testing corrections, sample-ratio mismatch, CUPED and ratio metrics, sequential
//! testing, Bayesian A/B comparisons and a one-call experiment analysis.
//!
//! The crate is pure computation: typed inputs, typed outputs, a typed [`StatsError`]. It
//! must not do I/O, read configuration, log, or depend on any other Lift crate; the `stats`
//! binary and the HTTP API are thin shells over it. Request and response types derive serde
//! so that the CLI's `--json` output and the HTTP API share one wire shape.
//!
//! Design choice: the special functions (normal, t, chi-square, F, beta, noncentral t) are
//! implemented here rather than taken from a general numerics crate. The references we are
//! checked against (R, scipy via Boost and Cephes) are accurate to near machine precision,
//! and a 1e-6 relative tolerance on p-values down to 1e-12 rules out the usual single-
//! precision-grade approximations. Owning the code lets the golden vectors in
//! `tests/golden/` pin every function to that tolerance, and keeps the dependency tree small.

// Validation is written as `!(x > 0.0)` on purpose: unlike `x <= 0.0` it is also true for
// NaN, which must be rejected rather than slip through.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

pub mod analyze;
pub mod bayes;
pub mod cuped;
pub mod dist;
pub mod duration;
pub mod error;
pub mod hypothesis;
pub mod intervals;
pub mod moments;
pub mod multiple;
pub mod power;
pub mod quadrature;
pub mod ratio;
pub mod sequential;
pub mod special;
pub mod srm;

pub use error::{Result, StatsError};
