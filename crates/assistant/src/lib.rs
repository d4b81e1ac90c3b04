//! The answering pipeline (skeleton, being written).

pub mod calculate;
pub mod understand;
