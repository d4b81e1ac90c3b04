//! Pipeline stage 5 (skeleton, being written): test sets, metrics, comparative runs, reports.
