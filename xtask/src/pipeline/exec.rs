//! Starting the stage binaries: built once with one cargo invocation, then run from the target
//! directory with the asset environment set, their output streaming through.
//!
//! Every distinct `cargo run -p X` selection resolves features differently and so builds its own
//! copy of llama.cpp and SurrealDB (minutes and a gigabyte each); building every workspace binary
//! with one fixed selection and running the files avoids that.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

use crate::{asset_env, cargo_command, project_root};

/// Every binary the pipeline and `evaluate` start.
pub const STAGE_BINARIES: &[&str] = &[
    "collector",
    "graphrag",
    "synth",
    "dataset",
    "trainer",
    "ask",
    "evaluator",
];

/// How binaries are started.
#[derive(Debug, Clone)]
pub enum Launcher {
    /// Run `<dir>/<bin>` directly.
    Dir(PathBuf),
}

impl Launcher {
    /// The binaries of `cargo build --workspace --bins`, built now.
    pub fn build_workspace() -> Result<Self> {
        println!("pipeline: cargo build --workspace --bins");
        // The same environment `cargo xtask test` builds with: tch's build script needs
        // LIBTORCH, and build scripts that watch these variables would rebuild (llama.cpp among
        // them) whenever they differ from the last build's.
        let cache = assets::AssetCache::from_env()?;
        let mut command = cargo_command();
        command
            .current_dir(project_root())
            .args(["build", "--workspace", "--bins"]);
        for (key, value) in asset_env(&cache)? {
            command.env(key, value);
        }
        let status = command.status().context("running cargo build")?;
        if !status.success() {
            bail!("cargo build --workspace --bins failed with {status}; fix the build and rerun");
        }
        Ok(Self::Dir(default_bin_dir()))
    }

    /// Binaries already built in `dir`; fails naming the missing ones.
    pub fn existing(dir: &Path) -> Result<Self> {
        let missing: Vec<&str> = STAGE_BINARIES
            .iter()
            .copied()
            .filter(|b| !dir.join(b).is_file())
            .collect();
        if !missing.is_empty() {
            bail!(
                "{} missing from {}; build them with `cargo build --workspace --bins` (or run the tests with `cargo test --workspace`)",
                missing.join(", "),
                dir.display()
            );
        }
        Ok(Self::Dir(dir.to_path_buf()))
    }

    /// Runs `bin` with `args` from the project root, the asset environment set,
    /// stderr inherited and stdout both printed and returned.
    pub fn run(&self, bin: &str, args: &[String]) -> Result<String> {
        let mut command = self.command(bin)?;
        command.args(args).stdout(Stdio::piped());
        let mut child = command.spawn().with_context(|| format!("starting {bin}"))?;
        let stdout = child.stdout.take().context("the child has a stdout")?;
        let mut captured = String::new();
        for line in BufReader::new(stdout).lines() {
            let line = line.with_context(|| format!("reading the output of {bin}"))?;
            println!("{line}");
            captured.push_str(&line);
            captured.push('\n');
        }
        let status = child.wait().with_context(|| format!("waiting for {bin}"))?;
        if !status.success() {
            bail!("{bin} failed with {status}");
        }
        Ok(captured)
    }
}

impl Launcher {
    /// Runs `bin` quietly; on failure the error carries the last lines it printed.
    pub fn check(&self, bin: &str, args: &[String]) -> Result<()> {
        let mut command = self.command(bin)?;
        let output = command
            .args(args)
            .output()
            .with_context(|| format!("starting {bin}"))?;
        if output.status.success() {
            return Ok(());
        }
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let tail: Vec<&str> = text.lines().rev().take(5).collect();
        bail!(
            "{bin} exited with {}: {}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        )
    }

    /// The command for `bin`, from the project root with the asset environment set.
    fn command(&self, bin: &str) -> Result<Command> {
        let cache = assets::AssetCache::from_env()?;
        let Self::Dir(dir) = self;
        let mut command = Command::new(dir.join(bin));
        command.current_dir(project_root());
        for (key, value) in asset_env(&cache)? {
            command.env(key, value);
        }
        Ok(command)
    }
}

/// `$CARGO_TARGET_DIR/debug`, else `<root>/target/debug`.
pub fn default_bin_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| {
            if p.is_absolute() {
                p
            } else {
                project_root().join(p)
            }
        })
        .unwrap_or_else(|| project_root().join("target"));
    target.join("debug")
}
