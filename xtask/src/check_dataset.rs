//! `cargo xtask check-dataset`: the dataset stage's Parquet files, loaded by the Python tools
//! that will train on them (pandas and Hugging Face `datasets`, with the `messages` shape TRL's
//! SFTTrainer expects), through `scripts/check_dataset.py`. `.ci/run` runs it after the tests.
//!
//! It makes a small real dataset with the workspace binaries already built (`synth` on the tiny
//! profile's graph and calculation generators, then `dataset`) in a temporary directory, installs
//! the pinned Python packages into a virtual environment in the asset cache (once; later runs
//! reuse it), and runs the script. The Rust tests never need Python. Where Python cannot install
//! the packages (no `venv` module, no package registry) the check says so and is skipped; a
//! dataset that the tools cannot read is an error.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::pipeline::{Launcher, default_bin_dir};
use crate::project_root;

/// The Python packages the check loads, pinned so that every run checks against the same tools.
const PACKAGES: &[&str] = &["pandas==3.1.1", "pyarrow==26.0.1", "datasets==5.2.0"];

/// Runs `cargo xtask check-dataset [--bin-dir DIR]`.
pub fn run(args: &[String]) -> Result<()> {
    let bin_dir = match args {
        [] => default_bin_dir(),
        [flag, dir] if flag == "--bin-dir" => PathBuf::from(dir),
        _ => bail!("usage: cargo xtask check-dataset [--bin-dir DIR]"),
    };
    let launcher = Launcher::existing(&bin_dir)?;
    let cache = assets::AssetCache::from_env()?;
    let python = match python_environment(&cache.root().join("python-check")) {
        Ok(python) => python,
        Err(e) => {
            println!("check-dataset: skipped: the Python packages could not be installed: {e:#}");
            return Ok(());
        }
    };

    let out = tempfile_dir()?;
    let result = make_and_check(&launcher, &python, &out);
    let _ = std::fs::remove_dir_all(&out);
    result
}

fn make_and_check(launcher: &Launcher, python: &Path, out: &Path) -> Result<()> {
    let root = project_root();
    let out_arg = out.display().to_string();
    let path = |p: &str| root.join(p).display().to_string();
    launcher.run(
        "synth",
        &[
            "--config".into(),
            path("configs/pipeline/tiny/synth.toml"),
            "--output-root".into(),
            out_arg.clone(),
            "--generators".into(),
            "graph,calculation".into(),
        ],
    )?;
    launcher.run(
        "dataset",
        &[
            "--config".into(),
            path("configs/dataset.toml"),
            "--output-root".into(),
            out_arg.clone(),
            "--force".into(),
        ],
    )?;
    let status = Command::new(python)
        .current_dir(&root)
        .arg(root.join("scripts/check_dataset.py"))
        .arg(out)
        .status()
        .context("running scripts/check_dataset.py")?;
    if !status.success() {
        bail!(
            "scripts/check_dataset.py failed with {status}: the Python tools cannot use the dataset as written"
        );
    }
    Ok(())
}

/// A virtual environment at `dir` with [`PACKAGES`] installed; returns its interpreter. An
/// environment whose recorded package list matches is reused as is.
fn python_environment(dir: &Path) -> Result<PathBuf> {
    let python = dir.join("bin/python");
    let stamp = dir.join("packages.txt");
    let wanted = PACKAGES.join("\n");
    if python.is_file() && std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.as_str())
    {
        return Ok(python);
    }
    println!(
        "check-dataset: installing {} into {}",
        PACKAGES.join(" "),
        dir.display()
    );
    let _ = std::fs::remove_dir_all(dir);
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(dir)
        .status()
        .context("running python3 -m venv")?;
    if !status.success() {
        bail!("python3 -m venv failed with {status} (Debian needs python3-venv)");
    }
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PACKAGES)
        .status()
        .context("running pip")?;
    if !status.success() {
        let _ = std::fs::remove_dir_all(dir);
        bail!("pip install failed with {status}");
    }
    std::fs::write(&stamp, &wanted).with_context(|| format!("writing {}", stamp.display()))?;
    Ok(python)
}

fn tempfile_dir() -> Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("lift-check-dataset-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
