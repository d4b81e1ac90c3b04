//! The HTTP server over the assistant (skeleton, being written).
