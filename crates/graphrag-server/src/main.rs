//! `graphrag-server`: the SurrealDB server for the graph store's server mode (`ws://`), so that
//! a team can share one store and scale it past one machine.
//!
//! It is the real `surreal` server (the `surrealdb-server` library with the community composer),
//! with the in-memory and SurrealKV storage engines and nothing else. It takes the `surreal` CLI:
//! `graphrag-server start --bind 127.0.0.1:8000 --user root --pass root surrealkv://PATH`.
//! `cargo xtask db up` and `db down` start and stop it on loopback.
//!
//! It must not carry any of the project's logic: the store's schema and queries belong to
//! `graphrag`, which talks to this server through the same `engine::any` path as the embedded
//! engine.

// The server's router types nest deeply; the compiler's default limit is too low for them.
#![recursion_limit = "256"]

use std::process::ExitCode;

use surrealdb_server::core::CommunityComposer;

fn main() -> ExitCode {
    surrealdb_server::init(CommunityComposer())
}
