//! The answering pipeline (skeleton, being written).
