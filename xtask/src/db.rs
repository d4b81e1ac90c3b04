//! `cargo xtask db up|down|status`: the SurrealDB server for the graph store's `ws://` mode (the
//! workspace's `graphrag-server` binary), started in the background on loopback.
//!
//! `up` starts it detached with SurrealKV storage under the state directory (default
//! `artifacts/db-server/`: `data/`, `server.log`, `server.pid`), waits for `/health`, and prints
//! how to point `graphrag` at it; a second `up` finds it running and does nothing. `down` stops
//! it (SIGTERM, then SIGKILL after 10 s). The server binds 127.0.0.1 only. The root password is
//! `LIFT_STORE_PASSWORD`, or `root` when that is unset, which is acceptable only because nothing
//! off this machine can reach the port.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::pipeline::{Launcher, default_bin_dir};
use crate::project_root;

/// The server's binary name in the target directory.
const SERVER_BINARY: &str = "graphrag-server";
/// The environment variable with the root password (shared with `graphrag`'s store config).
const PASSWORD_ENV: &str = "LIFT_STORE_PASSWORD";
const DEFAULT_PORT: u16 = 8000;
const HEALTH_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

const USAGE: &str = "\
usage: cargo xtask db <up|down|status> [options]

  up       build, then start graphrag-server on 127.0.0.1 in the background (SurrealKV storage)
  down     stop it
  status   say whether it runs

options:
  --port N        loopback port (default 8000)
  --dir DIR       state directory: data/, server.log, server.pid (default artifacts/db-server)
  --bin-dir DIR   use the graphrag-server already built in DIR instead of building
  --memory        in-memory storage instead of SurrealKV (up only; nothing survives `down`)

The root user is `root`; its password is LIFT_STORE_PASSWORD, or `root` when unset.";

#[derive(Debug, Clone, PartialEq)]
struct Options {
    port: u16,
    dir: PathBuf,
    bin_dir: Option<PathBuf>,
    memory: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Up,
    Down,
    Status,
}

fn parse(args: &[String]) -> Result<(Action, Options)> {
    let Some((action, rest)) = args.split_first() else {
        bail!("{USAGE}");
    };
    let action = match action.as_str() {
        "up" => Action::Up,
        "down" => Action::Down,
        "status" => Action::Status,
        "-h" | "--help" => bail!("{USAGE}"),
        other => bail!("unknown db command {other:?}\n\n{USAGE}"),
    };
    let mut options = Options {
        port: DEFAULT_PORT,
        dir: project_root().join("artifacts/db-server"),
        bin_dir: None,
        memory: false,
    };
    let mut rest = rest.iter();
    while let Some(flag) = rest.next() {
        let mut value = |name: &str| {
            rest.next()
                .cloned()
                .with_context(|| format!("{name} needs a value"))
        };
        match flag.as_str() {
            "--port" => {
                let text = value("--port")?;
                options.port = text
                    .parse()
                    .ok()
                    .filter(|p| *p != 0)
                    .with_context(|| format!("--port must be 1-65535, got {text:?}"))?;
            }
            "--dir" => options.dir = PathBuf::from(value("--dir")?),
            "--bin-dir" => options.bin_dir = Some(PathBuf::from(value("--bin-dir")?)),
            "--memory" if action == Action::Up => options.memory = true,
            other => bail!("unknown option {other:?} for `db`\n\n{USAGE}"),
        }
    }
    Ok((action, options))
}

/// Runs `cargo xtask db …`.
pub fn run(args: &[String]) -> Result<()> {
    let (action, options) = parse(args)?;
    match action {
        Action::Up => up(&options),
        Action::Down => down(&options),
        Action::Status => {
            match running(&options)? {
                Some(Running { pid, port }) => println!(
                    "db: up (pid {pid}) at ws://127.0.0.1:{port}, health {}",
                    if healthy(port) { "ok" } else { "not answering" }
                ),
                None => println!("db: down"),
            }
            Ok(())
        }
    }
}

fn pid_file(options: &Options) -> PathBuf {
    options.dir.join("server.pid")
}

/// A running server: its pid and the port it was started on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Running {
    pid: u32,
    port: u16,
}

/// The server in the pid file (`PID PORT`) when that process is alive and is our server; a
/// stale file is removed.
fn running(options: &Options) -> Result<Option<Running>> {
    let path = pid_file(options);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let mut fields = text.split_whitespace();
    let parsed = match (fields.next(), fields.next(), fields.next()) {
        (Some(pid), Some(port), None) => pid.parse().ok().zip(port.parse().ok()),
        _ => None,
    };
    let Some((pid, port)) = parsed else {
        bail!(
            "{} should hold `PID PORT`, got {text:?}; check for a server by hand, then delete it",
            path.display()
        );
    };
    if is_our_server(pid) {
        Ok(Some(Running { pid, port }))
    } else {
        std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
        Ok(None)
    }
}

/// Whether `pid` is alive and runs the server binary (so a recycled pid is never signalled).
fn is_our_server(pid: u32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // A zombie (state Z, after `) `) has exited; it only waits for its parent.
    let zombie = stat
        .rsplit_once(") ")
        .is_some_and(|(_, rest)| rest.starts_with('Z'));
    let program = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    !zombie
        && Path::new(std::str::from_utf8(program).unwrap_or_default())
            .file_name()
            .is_some_and(|name| name == SERVER_BINARY)
}

fn up(options: &Options) -> Result<()> {
    if let Some(Running { pid, port }) = running(options)? {
        if port != options.port {
            bail!(
                "the server of {} already runs on port {port} (pid {pid}); `cargo xtask db down` first to move it",
                options.dir.display()
            );
        }
        println!("db: already up (pid {pid}) at ws://127.0.0.1:{port}; nothing to do");
        return Ok(());
    }
    if healthy(options.port) {
        bail!(
            "something else already answers on 127.0.0.1:{}; stop it or pass --port",
            options.port
        );
    }
    let bin_dir = match &options.bin_dir {
        Some(dir) => dir.clone(),
        None => {
            Launcher::build_workspace()?;
            default_bin_dir()
        }
    };
    let binary = bin_dir.join(SERVER_BINARY);
    if !binary.is_file() {
        bail!(
            "{} is not built; run `cargo build --workspace --bins`",
            binary.display()
        );
    }
    std::fs::create_dir_all(&options.dir)
        .with_context(|| format!("creating {}", options.dir.display()))?;
    let storage = if options.memory {
        "memory".to_string()
    } else {
        let data = options.dir.join("data");
        let data = if data.is_absolute() {
            data
        } else {
            std::env::current_dir()?.join(data)
        };
        format!("surrealkv://{}", data.display())
    };
    let log_path = options.dir.join("server.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let password = std::env::var(PASSWORD_ENV)
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "root".to_string());
    let mut child = Command::new(&binary)
        .args(["start", "--bind", &format!("127.0.0.1:{}", options.port)])
        .args(["--user", "root", "--log", "info", "--no-banner"])
        .arg(&storage)
        // The password goes through the environment the server reads, not the command line
        // that `ps` shows.
        .env("SURREAL_PASS", &password)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: a Ctrl-C in this terminal later does not reach it.
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let started = Instant::now();
    while !healthy(options.port) {
        if let Some(status) = child.try_wait()? {
            bail!(
                "graphrag-server exited with {status} before it was healthy; its log:\n{}",
                log_tail(&log_path)
            );
        }
        if started.elapsed() > HEALTH_TIMEOUT {
            let _ = child.kill();
            bail!(
                "graphrag-server did not answer /health within {} s; its log:\n{}",
                HEALTH_TIMEOUT.as_secs(),
                log_tail(&log_path)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    write_atomically(
        &pid_file(options),
        &format!("{} {}\n", child.id(), options.port),
    )?;
    println!(
        "db: up (pid {}) at ws://127.0.0.1:{} in {:.1} s, storage {storage}, log {}",
        child.id(),
        options.port,
        started.elapsed().as_secs_f64(),
        log_path.display()
    );
    println!(
        "db: use it with `[store] location = \"ws://127.0.0.1:{}\"` and `username = \"root\"` \
         (configs/graphrag-server.toml), password from {PASSWORD_ENV}",
        options.port
    );
    Ok(())
}

fn down(options: &Options) -> Result<()> {
    let Some(Running { pid, .. }) = running(options)? else {
        println!("db: not running; nothing to do");
        return Ok(());
    };
    signal(pid, "TERM")?;
    let started = Instant::now();
    while is_our_server(pid) {
        if started.elapsed() > STOP_TIMEOUT {
            signal(pid, "KILL")?;
            std::thread::sleep(Duration::from_millis(200));
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let path = pid_file(options);
    std::fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    println!(
        "db: stopped pid {pid} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn signal(pid: u32, name: &str) -> Result<()> {
    let status = Command::new("kill")
        .args([format!("-{name}"), pid.to_string()])
        .status()
        .context("running kill")?;
    if !status.success() && is_our_server(pid) {
        bail!("kill -{name} {pid} failed with {status}");
    }
    Ok(())
}

/// `GET /health` answers 200 on the loopback port.
fn healthy(port: u16) -> bool {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(2)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let temp = path.with_extension("pid.tmp");
    std::fs::write(&temp, text).with_context(|| format!("writing {}", temp.display()))?;
    std::fs::rename(&temp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_each_action_and_rejects_bad_flags() {
        let (action, options) = parse(&args("up --port 8123 --dir /tmp/x --memory")).unwrap();
        assert_eq!(action, Action::Up);
        assert_eq!(options.port, 8123);
        assert_eq!(options.dir, PathBuf::from("/tmp/x"));
        assert!(options.memory);
        assert_eq!(parse(&args("down")).unwrap().0, Action::Down);
        assert_eq!(parse(&args("status")).unwrap().0, Action::Status);
        for bad in [
            "",
            "start",
            "up --port 0",
            "up --port x",
            "up --port",
            "down --memory",
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_stale_pid_file_reads_as_down_and_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            port: DEFAULT_PORT,
            dir: dir.path().to_path_buf(),
            bin_dir: None,
            memory: false,
        };
        // Our own pid is alive but is not the server.
        std::fs::write(pid_file(&options), format!("{} 8000\n", std::process::id())).unwrap();
        assert_eq!(running(&options).unwrap(), None);
        assert!(!pid_file(&options).exists());
        for bad in ["not a pid", "12", "12 x", "12 8000 extra"] {
            std::fs::write(pid_file(&options), bad).unwrap();
            assert!(running(&options).is_err(), "{bad:?}");
        }
    }
}
