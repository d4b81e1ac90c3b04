//! The `collector` binary: the shipped local folder on a machine with no network, the dry run,
//! offline behaviour, and a real SIGKILL in the middle of a run followed by a resume.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use artifacts::{
    CrossValidatedPost, LocalDocument, Timestamp, inspect_artifact, read_artifact, write_artifact,
};
use common::{FakeStackExchange, SeResponder};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer};

fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn collector() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_collector"));
    command
        .current_dir(project_root())
        .env_remove("STACKEXCHANGE_KEY");
    command
}

#[test]
fn local_on_the_shipped_playbook_writes_a_valid_artifact() {
    let out = tempfile::tempdir().unwrap();
    let output = collector()
        .args(["local", "--quiet", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let path = out.path().join("raw/local_docs.parquet");
    let header = inspect_artifact(&path).unwrap();
    assert_eq!(header.name, "raw.local_docs");
    let docs: Vec<LocalDocument> = read_artifact(&path).unwrap();
    let shipped = std::fs::read_dir(project_root().join("data/knowledge/playbook"))
        .unwrap()
        .count();
    assert_eq!(docs.len(), shipped);
    let cuped = docs.iter().find(|d| d.path == "cuped-usage.md").unwrap();
    assert_eq!(
        (
            cuped.title.as_str(),
            cuped.format.as_str(),
            cuped.root.as_str()
        ),
        ("Using CUPED", "markdown", "data/knowledge/playbook")
    );
    assert!(cuped.text.contains("CUPED"));
    let manifest = artifacts::Manifest::load(out.path()).unwrap();
    assert_eq!(
        manifest.entry("raw/local_docs.parquet").unwrap().rows,
        shipped as u64
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("local_docs: fetched"), "{stdout}");
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let out = tempfile::tempdir().unwrap();
    let output = collector()
        .args(["--dry-run", "--out"])
        .arg(out.path())
        .env("STACKEXCHANGE_KEY", "dry-secret")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("tagged=ab-test"), "{stdout}");
    assert!(stdout.contains("quota estimate"), "{stdout}");
    assert!(
        stdout.contains("of 10000 a day"),
        "a key raises the quota: {stdout}"
    );
    assert!(
        stdout.contains("export.arxiv.org/api/query?search_query="),
        "{stdout}"
    );
    assert!(!stdout.contains("dry-secret"), "the key is never printed");
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

fn offline_config(dir: &Path) -> PathBuf {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = dir.join("offline.toml");
    std::fs::write(
        &path,
        format!(
            "[cross_validated]\nbase_url = \"http://127.0.0.1:{port}/2.3\"\n[arxiv]\nbase_url = \"http://127.0.0.1:{port}/api/query\"\n[local]\nfolders = [\"{}\"]\n",
            project_root().join("data/knowledge/playbook").display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn offline_prints_one_line_exits_non_zero_and_keeps_artifacts() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(dir.path());
    let out = dir.path().join("art");
    let artifact = out.join("raw/cross_validated.parquet");
    std::fs::create_dir_all(artifact.parent().unwrap()).unwrap();
    write_artifact::<CrossValidatedPost>(&artifact, &[]).unwrap();
    let before = std::fs::read(&artifact).unwrap();

    let output = collector()
        .args(["cross-validated", "--quiet", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains("network unreachable"), "{stderr}");
    assert_eq!(std::fs::read(&artifact).unwrap(), before);

    // `all` treats the optional remote sources as skippable: local is still written, exit 0.
    let output = collector()
        .args(["all", "--quiet", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out.join("raw/local_docs.parquet").exists());
    assert_eq!(std::fs::read(&artifact).unwrap(), before);
}

fn se_config_file(dir: &Path, uri: &str) -> PathBuf {
    let path = dir.join("se.toml");
    std::fs::write(
        &path,
        format!(
            "[http]\ntimeout_secs = 0\nconnect_timeout_secs = 0\n[cross_validated]\nbase_url = \"{uri}/2.3\"\ntags = [\"ab-test\", \"p-value\"]\npage_size = 2\nmin_score = 1\nrequests_per_second = 20\n"
        ),
    )
    .unwrap();
    path
}

fn without_fetch_time(rows: Vec<CrossValidatedPost>) -> Vec<CrossValidatedPost> {
    rows.into_iter()
        .map(|p| CrossValidatedPost {
            fetched_at: Timestamp(0),
            ..p
        })
        .collect()
}

fn pages_done(checkpoint: &Path) -> u64 {
    let Ok(text) = std::fs::read_to_string(checkpoint) else {
        return 0;
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
        return 0;
    };
    value["tags"]
        .as_object()
        .map(|tags| tags.values().filter_map(|t| t["pages_done"].as_u64()).sum())
        .unwrap_or(0)
}

/// A real SIGKILL in the middle of a run: the resumed run ends with exactly the rows of an
/// uninterrupted run, and the artifact never exists half-written in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_run_then_resume_matches_an_uninterrupted_run() {
    let fake = FakeStackExchange::standard();
    let server = MockServer::start().await;
    // Slow answers so the run lasts long enough to be killed in the middle.
    Mock::given(method("GET"))
        .and(path_regex(r"^/2\.3/questions"))
        .respond_with(DelayedResponder(
            SeResponder(fake.clone()),
            Duration::from_millis(150),
        ))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let config = se_config_file(dir.path(), &server.uri());

    let reference = dir.path().join("reference");
    let status = collector()
        .args(["cross-validated", "--quiet", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&reference)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let expected =
        without_fetch_time(read_artifact(reference.join("raw/cross_validated.parquet")).unwrap());

    let out = dir.path().join("killed");
    let checkpoint = out.join("raw/.collector/cross_validated/checkpoint.json");
    let mut child = collector()
        .args(["cross-validated", "--quiet", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while pages_done(&checkpoint) < 2 {
        assert!(Instant::now() < deadline, "the run never reached page 2");
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no flush.
    child.wait().unwrap();
    let done = pages_done(&checkpoint);
    assert!((2..5).contains(&done), "killed after {done} of 5 pages");
    assert!(
        !out.join("raw/cross_validated.parquet").exists(),
        "no artifact before the end"
    );

    let status = collector()
        .args(["cross-validated", "--quiet", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let resumed =
        without_fetch_time(read_artifact(out.join("raw/cross_validated.parquet")).unwrap());
    assert!(
        resumed == expected,
        "resumed rows differ from the uninterrupted run"
    );
}

struct DelayedResponder(SeResponder, Duration);

impl wiremock::Respond for DelayedResponder {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        self.0.respond(request).set_delay(self.1)
    }
}
