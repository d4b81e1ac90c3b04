//! Project automation, run as `cargo xtask <command>` (the alias lives in `.cargo/config.toml`).
//!
//! Orchestration lives here rather than in shell scripts so that it is typed, tested and the same
//! on every machine. Commands:
//! - `setup`: install the Debian packages and the offline assets of `configs/assets.toml`.
//! - `test`: `setup` if anything is missing, then every test of the workspace.
//! - `ci`: what `.ci/run` runs: `fmt-check`, then `test`.
//! - `fmt-check`: `cargo fmt --check` over the workspace.
//! - `env`: print the environment variables that point builds and binaries at the assets.
//!
//! The tidy tests (repository rules) are `#[test]`s of this crate, so `cargo test` runs them.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};

mod setup;
#[cfg(test)]
mod tidy;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup       install Debian packages and offline assets (idempotent)
  test        setup if needed, then run every test of the workspace
  ci          fmt-check, then test (what .ci/run runs)
  fmt-check   check formatting of the whole workspace
  env         print the environment variables pointing at the installed assets";

fn main() -> ExitCode {
    match run(std::env::args().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Vec<String>) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        println!("{USAGE}");
        return Ok(());
    };
    match command.as_str() {
        "setup" => {
            no_extra_args(command, rest)?;
            setup::run(&setup::Options::from_env()?).map(|_| ())
        }
        "test" => test(rest),
        "ci" => {
            no_extra_args(command, rest)?;
            fmt_check()?;
            test(&[])
        }
        "fmt-check" => {
            no_extra_args(command, rest)?;
            fmt_check()
        }
        "env" => {
            no_extra_args(command, rest)?;
            let cache = assets::AssetCache::from_env()?;
            for (key, value) in asset_env(&cache)? {
                println!("export {key}={value:?}");
            }
            Ok(())
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command {other:?}\n\n{USAGE}"),
    }
}

fn no_extra_args(command: &str, rest: &[String]) -> Result<()> {
    if rest.is_empty() { Ok(()) } else { bail!("`{command}` takes no arguments, got {rest:?}") }
}

/// The workspace root, from this crate's manifest directory.
pub(crate) fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

fn fmt_check() -> Result<()> {
    println!("fmt-check: cargo fmt --all --check");
    let status = Command::new(cargo())
        .current_dir(project_root())
        .args(["fmt", "--all", "--", "--check"])
        .status()
        .context("running cargo fmt")?;
    if !status.success() {
        bail!("code is not formatted; run `cargo fmt --all` and commit the result");
    }
    Ok(())
}

/// `cargo test` over the workspace, with the asset environment set. Extra arguments go to cargo.
fn test(extra: &[String]) -> Result<()> {
    let report = setup::run(&setup::Options::from_env()?)?;
    let cache = report.cache;
    let mut command = Command::new(cargo());
    command.current_dir(project_root()).args(["test", "--workspace", "--no-fail-fast"]).args(extra);
    for (key, value) in asset_env(&cache)? {
        command.env(key, value);
    }
    println!("test: cargo test --workspace --no-fail-fast {}", extra.join(" "));
    let status = command.status().context("running cargo test")?;
    if !status.success() {
        bail!("tests failed");
    }
    Ok(())
}

/// Environment variables that point builds and binaries at the installed assets: the cache, the
/// ONNX Runtime library for `ort`, and libtorch for `tch` (build and run time).
fn asset_env(cache: &assets::AssetCache) -> Result<Vec<(String, String)>> {
    let libtorch = cache.libtorch()?;
    let mut library_path: Vec<String> =
        libtorch.library_dirs.iter().map(|d| d.display().to_string()).collect();
    if let Ok(existing) = std::env::var("LD_LIBRARY_PATH") {
        if !existing.is_empty() {
            library_path.push(existing);
        }
    }
    Ok(vec![
        (assets::CACHE_DIR_ENV.to_owned(), cache.root().display().to_string()),
        ("ORT_DYLIB_PATH".to_owned(), cache.onnxruntime_library()?.display().to_string()),
        ("LIBTORCH".to_owned(), libtorch.libtorch.display().to_string()),
        ("LIBTORCH_CXX11_ABI".to_owned(), "1".to_owned()),
        ("LD_LIBRARY_PATH".to_owned(), library_path.join(":")),
    ])
}

pub(crate) fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}
