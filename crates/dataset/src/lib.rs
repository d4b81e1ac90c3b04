//! Pipeline stage 3 (skeleton, being written): combine, clean, deduplicate, split, format.
