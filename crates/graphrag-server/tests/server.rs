//! The real server binary on loopback: it answers `/health`, serves the SDK over `ws://` only
//! after sign-in, and keeps SurrealKV data across a restart.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use surrealdb::Surreal;
use surrealdb::engine::any::{Any, connect};
use surrealdb::opt::auth::Root;

const USER: &str = "root";
const PASSWORD: &str = "test-password";

/// A server process that is killed when dropped, so a failing test leaves nothing behind.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(storage: &str) -> Self {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_graphrag-server"))
            .args(["start", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--user", USER, "--pass", PASSWORD, "--log", "warn"])
            .arg(storage)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the server binary starts");
        let mut server = Self { child, port };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("the child can be polled") {
                panic!("the server exited before it was healthy: {status}");
            }
            if health_status(self.port) == Some(200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the server did not answer /health with 200 within 120 s");
    }

    fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a loopback port is free")
        .port()
}

/// The HTTP status of `GET /health`, or `None` while nothing listens.
fn health_status(port: u16) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_whitespace().nth(1)?.parse().ok()
}

async fn signed_in(url: &str, password: &str) -> surrealdb::Result<Surreal<Any>> {
    let db = connect(url).await?;
    db.signin(Root {
        username: USER.to_string(),
        password: password.to_string(),
    })
    .await?;
    db.use_ns("lift").use_db("server_test").await?;
    Ok(db)
}

#[tokio::test]
async fn the_server_answers_health_and_refuses_a_wrong_password() {
    let server = Server::start("memory");
    assert_eq!(health_status(server.port), Some(200));
    let refused = signed_in(&server.url(), "not-the-password").await;
    assert!(refused.is_err(), "a wrong root password must be refused");
    let db = signed_in(&server.url(), PASSWORD)
        .await
        .expect("sign-in works");
    let mut response = db
        .query("RETURN $a + $b")
        .bind(("a", 40))
        .bind(("b", 2))
        .await
        .expect("the query runs");
    let sum: Option<i64> = response.take(0).expect("one value");
    assert_eq!(sum, Some(42));
}

#[tokio::test]
async fn surrealkv_data_survives_a_restart() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let storage = format!("surrealkv://{}", dir.path().join("store").display());
    assert!(!Path::new(&dir.path().join("store")).exists());
    {
        let server = Server::start(&storage);
        let db = signed_in(&server.url(), PASSWORD)
            .await
            .expect("sign-in works");
        db.query("CREATE note:one SET text = $text")
            .bind(("text", "kept across restarts"))
            .await
            .expect("the write runs")
            .check()
            .expect("the write succeeds");
    }
    let server = Server::start(&storage);
    let db = signed_in(&server.url(), PASSWORD)
        .await
        .expect("sign-in works");
    let mut response = db
        .query("SELECT VALUE text FROM note:one")
        .await
        .expect("the read runs");
    let texts: Vec<String> = response.take(0).expect("a list of strings");
    assert_eq!(texts, vec!["kept across restarts".to_string()]);
}
