//! `cargo xtask db up|down|status` with the real `graphrag-server` binary: `up` leaves a healthy
//! server running after xtask exits, a second `up` does nothing, `status` sees it, `down` stops
//! it, and a second `down` does nothing. SurrealKV data lives under the state directory.
//!
//! The binary must already be built (`cargo test --workspace` builds every workspace binary
//! first); it sits next to this test's executable.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output};

fn db(action: &str, state: &Path, port: u16) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(["db", action, "--port", &port.to_string(), "--dir"])
        .arg(state)
        .arg("--bin-dir")
        .arg(common::bin_dir(&["graphrag-server"]))
        .env_remove("LIFT_STORE_PASSWORD")
        .output()
        .expect("xtask starts");
    assert!(
        output.status.success(),
        "db {action} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}

/// Stops the server even when an assertion fails half-way.
struct StopOnDrop<'a>(&'a Path, u16);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        let _ = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .args(["db", "down", "--port", &self.1.to_string(), "--dir"])
            .arg(self.0)
            .output();
    }
}

#[test]
fn db_up_status_down_round_trip() {
    let state = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();

    let _stop = StopOnDrop(state.path(), port);
    let up = stdout(&db("up", state.path(), port));
    assert!(up.contains("db: up (pid"), "{up}");
    assert!(healthy(port), "the server outlives the xtask process");
    assert!(state.path().join("server.pid").is_file());
    assert!(
        state.path().join("data").exists(),
        "SurrealKV data under the state dir"
    );

    let again = stdout(&db("up", state.path(), port));
    assert!(again.contains("already up"), "{again}");
    let status = stdout(&db("status", state.path(), port));
    assert!(
        status.contains("db: up") && status.contains("health ok"),
        "{status}"
    );

    let down = stdout(&db("down", state.path(), port));
    assert!(down.contains("db: stopped"), "{down}");
    assert!(!healthy(port));
    assert!(!state.path().join("server.pid").exists());
    let again = stdout(&db("down", state.path(), port));
    assert!(again.contains("not running"), "{again}");
    let status = stdout(&db("status", state.path(), port));
    assert!(status.contains("db: down"), "{status}");
}
