//! `cargo xtask pipeline`: every stage of the training pipeline in order, each skipped when its
//! recorded outputs, settings and inputs are unchanged, with one summary table at the end.
//!
//! Stages: collect → index → synth → dataset → train → evaluate. The GraphRAG index runs right
//! after collection rather than last: it reads only the knowledge base and the raw artifacts,
//! and the evaluation answers through it, so building it first lets `evaluate` measure the index
//! this run produced. A profile (`configs/pipeline/<name>.toml`, see [`profile`]) names each
//! stage's config file; the stage binaries are built once (`cargo build --workspace --bins`) and
//! run from the target directory, so no stage triggers a build of its own.
//!
//! Failure leaves every earlier artifact as it was (stages write atomically and a stage is
//! recorded only after it succeeds), prints the summary with the failure and exits non-zero; the
//! next run skips the stages that finished and resumes at the failed one.

mod evaluate;
mod exec;
mod fresh;
mod profile;
mod stages;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};

pub use evaluate::Plan as EvaluatePlan;
pub use evaluate::run as run_evaluation;
pub use exec::{Launcher, default_bin_dir};
pub use profile::{PROFILE_DIR, Profile};
pub use stages::Stage;

use crate::project_root;
use fresh::PipelineManifest;

/// Usage of `cargo xtask pipeline`.
pub const USAGE: &str = "\
usage: cargo xtask pipeline [--profile quick|full|tiny|PATH.toml] [--from STAGE] [--to STAGE]
                            [--online] [--force] [--out DIR] [--bin-dir DIR | --no-build]
       cargo xtask pipeline exec <binary> [args...]   (build, then run one stage binary)

stages, in order: collect, index, synth, dataset, train, evaluate
  --profile   configs/pipeline/<name>.toml (default quick)
  --from/--to run only the stages in this range (inclusive)
  --online    collect from the network sources too (the full profile does by default)
  --force     rerun the selected stages even when they are up to date
  --out DIR   write artifacts and runs under DIR instead of the project root
  --bin-dir   run the stage binaries found in DIR instead of building them
  --no-build  run the binaries already in the target directory";

/// Parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Profile name or path.
    pub profile: String,
    /// First stage to run.
    pub from: Stage,
    /// Last stage to run.
    pub to: Stage,
    /// Network sources.
    pub online: bool,
    /// Rerun up-to-date stages.
    pub force: bool,
    /// Work root replacing the project root for outputs.
    pub out: Option<PathBuf>,
    /// Prebuilt binaries.
    pub bin_dir: Option<PathBuf>,
}

impl Options {
    /// Parses the arguments after `pipeline`.
    pub fn parse(args: &[String]) -> Result<Self> {
        let mut options = Self {
            profile: "quick".to_owned(),
            from: Stage::ALL[0],
            to: Stage::ALL[Stage::ALL.len() - 1],
            online: false,
            force: false,
            out: None,
            bin_dir: None,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |flag: &str| {
                args.next()
                    .cloned()
                    .with_context(|| format!("{flag} needs a value\n\n{USAGE}"))
            };
            match arg.as_str() {
                "--profile" => options.profile = value("--profile")?,
                "--from" => options.from = value("--from")?.parse()?,
                "--to" => options.to = value("--to")?.parse()?,
                "--online" => options.online = true,
                "--force" => options.force = true,
                "--out" => options.out = Some(PathBuf::from(value("--out")?)),
                "--bin-dir" => options.bin_dir = Some(PathBuf::from(value("--bin-dir")?)),
                "--no-build" => options.bin_dir = Some(default_bin_dir()),
                other => bail!("unknown pipeline flag {other:?}\n\n{USAGE}"),
            }
        }
        if options.from > options.to {
            bail!(
                "--from {} comes after --to {}; stages run in the order {}",
                options.from,
                options.to,
                Stage::ALL.map(|s| s.name()).join(", ")
            );
        }
        Ok(options)
    }
}

/// What happened to one stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It ran and succeeded.
    Ran,
    /// It was up to date.
    Skipped,
    /// It ran and failed.
    Failed,
    /// An earlier stage failed.
    NotReached,
    /// Outside `--from`/`--to`.
    NotSelected,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Self::Ran => "ran",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
            Self::NotReached => "not reached",
            Self::NotSelected => "not selected",
        }
    }
}

/// One row of the summary.
#[derive(Debug, Clone, PartialEq)]
pub struct StageReport {
    /// The stage.
    pub stage: Stage,
    /// What happened.
    pub status: Status,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Rows the stage read (when known).
    pub rows_in: Option<u64>,
    /// Rows the stage's outputs hold (when known).
    pub rows_out: Option<u64>,
    /// USD spent in this run.
    pub cost_usd: f64,
}

/// Everything a stage needs to know about this run.
pub struct RunContext {
    /// The project root (configs, data, cwd of every binary).
    pub root: PathBuf,
    /// Where outputs go: the project root, or `--out`.
    pub work: PathBuf,
    /// The artifacts root, absolute.
    pub artifacts: PathBuf,
    /// The runs directory, absolute.
    pub runs: PathBuf,
    /// The profile's name (file stem).
    pub profile_name: String,
    /// The profile.
    pub profile: Profile,
    /// Network sources on.
    pub online: bool,
    /// How binaries start.
    pub launcher: Launcher,
}

/// `cargo xtask pipeline …`: runs the selected stages and prints the summary; or, as
/// `pipeline exec <binary> [args…]`, builds the stage binaries the same way and runs one of them
/// by hand (the `justfile`'s stage recipes).
pub fn run(args: &[String]) -> Result<()> {
    if let Some((first, rest)) = args.split_first()
        && first == "exec"
    {
        return exec_one(rest);
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("{USAGE}");
        return Ok(());
    }
    let options = Options::parse(args)?;
    let root = project_root();
    let (profile, profile_path) = Profile::load(&root, &options.profile)?;
    let work = match &options.out {
        Some(out) => {
            let out = if out.is_absolute() {
                out.clone()
            } else {
                std::env::current_dir()
                    .context("reading the current directory")?
                    .join(out)
            };
            std::fs::create_dir_all(&out)
                .with_context(|| format!("creating the output directory {}", out.display()))?;
            out
        }
        None => root.clone(),
    };
    // Prebuilt binaries imply a machine that was set up to build them (libtorch is a build
    // input), so only a building run pays for verifying the asset cache; a binary that finds an
    // asset missing says to run setup.
    let launcher = match &options.bin_dir {
        Some(dir) => Launcher::existing(dir)?,
        None => {
            crate::setup::run(&crate::setup::Options::from_env()?)?;
            Launcher::build_workspace()?
        }
    };
    let ctx = RunContext {
        artifacts: work.join(&profile.artifacts),
        runs: work.join(&profile.runs),
        online: options.online || profile.online,
        profile_name: profile_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| options.profile.clone()),
        root,
        work,
        profile,
        launcher,
    };
    println!(
        "pipeline: profile {} ({}), outputs under {}{}",
        ctx.profile_name,
        ctx.profile.description,
        ctx.work.display(),
        if ctx.online { ", online" } else { ", offline" }
    );
    let reports = run_stages(&ctx, &options)?;
    println!("\n{}", summary_table(&reports));
    if let Some(failed) = reports.iter().find(|r| r.status == Status::Failed) {
        bail!(
            "stage {} failed (see its output above); fix it and rerun: finished stages are skipped",
            failed.stage
        );
    }
    Ok(())
}

fn exec_one(args: &[String]) -> Result<()> {
    let Some((bin, rest)) = args.split_first() else {
        bail!(
            "usage: cargo xtask pipeline exec <binary> [args...]; the binaries are {}",
            exec::STAGE_BINARIES.join(", ")
        );
    };
    if !exec::STAGE_BINARIES.contains(&bin.as_str()) {
        bail!(
            "{bin:?} is not a stage binary; choose one of {}",
            exec::STAGE_BINARIES.join(", ")
        );
    }
    crate::setup::run(&crate::setup::Options::from_env()?)?;
    Launcher::build_workspace()?.run(bin, rest).map(|_| ())
}

fn run_stages(ctx: &RunContext, options: &Options) -> Result<Vec<StageReport>> {
    std::fs::create_dir_all(&ctx.artifacts)
        .with_context(|| format!("creating {}", ctx.artifacts.display()))?;
    let mut manifest = PipelineManifest::load(&ctx.artifacts, &ctx.work)?;
    let mut reports = Vec::new();
    let mut failed = false;
    for stage in Stage::ALL {
        let selected = stage >= options.from && stage <= options.to;
        let mut report = StageReport {
            stage,
            status: Status::NotSelected,
            seconds: 0.0,
            rows_in: None,
            rows_out: None,
            cost_usd: 0.0,
        };
        if !selected {
            reports.push(report);
            continue;
        }
        if failed {
            report.status = Status::NotReached;
            reports.push(report);
            continue;
        }
        let started = Instant::now();
        match run_stage(ctx, &mut manifest, stage, options.force) {
            Ok((status, cost)) => {
                report.status = status;
                report.cost_usd = cost;
            }
            Err(e) => {
                eprintln!("{stage}: failed: {e:#}");
                report.status = Status::Failed;
                failed = true;
            }
        }
        report.seconds = started.elapsed().as_secs_f64();
        // Row counts come from what is on disk now, so a skipped stage shows the rows its
        // recorded outputs hold; a failed stage's files are not its outputs.
        if matches!(report.status, Status::Ran | Status::Skipped) {
            (report.rows_in, report.rows_out) = stages::rows(ctx, &manifest, stage);
        }
        reports.push(report);
    }
    Ok(reports)
}

fn run_stage(
    ctx: &RunContext,
    manifest: &mut PipelineManifest,
    stage: Stage,
    force: bool,
) -> Result<(Status, f64)> {
    let fingerprint = stages::fingerprint(ctx, manifest, stage)?;
    let freshness = manifest.freshness(&fingerprint)?;
    match (&freshness, force) {
        (artifacts::Freshness::UpToDate, false) => {
            println!("{stage}: up to date, skipped");
            return Ok((Status::Skipped, 0.0));
        }
        (artifacts::Freshness::UpToDate, true) => println!("\n{stage}: --force, running"),
        (artifacts::Freshness::Stale(reasons), _) => {
            println!("\n{stage}: running ({})", fresh::describe(reasons));
        }
    }
    let outcome = stages::execute(ctx, stage)?;
    manifest.record(&fingerprint, &outcome.outputs)?;
    Ok((Status::Ran, outcome.cost_usd))
}

/// The summary table, one row per stage.
pub fn summary_table(reports: &[StageReport]) -> String {
    let mut out = format!(
        "{:<10} {:<13} {:>10} {:>9} {:>9} {:>9}\n",
        "stage", "status", "duration", "rows in", "rows out", "cost USD"
    );
    let count = |n: Option<u64>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    for r in reports {
        let duration = match r.status {
            Status::Ran | Status::Failed | Status::Skipped => format_seconds(r.seconds),
            Status::NotReached | Status::NotSelected => "-".to_owned(),
        };
        out.push_str(&format!(
            "{:<10} {:<13} {:>10} {:>9} {:>9} {:>9.4}\n",
            r.stage.name(),
            r.status.label(),
            duration,
            count(r.rows_in),
            count(r.rows_out),
            r.cost_usd
        ));
    }
    let total: f64 = reports.iter().map(|r| r.seconds).sum();
    let cost: f64 = reports.iter().map(|r| r.cost_usd).sum();
    out.push_str(&format!(
        "{:<10} {:<13} {:>10} {:>9} {:>9} {:>9.4}",
        "total",
        "",
        format_seconds(total),
        "",
        "",
        cost
    ));
    out
}

fn format_seconds(seconds: f64) -> String {
    if seconds < 60.0 {
        format!("{seconds:.1} s")
    } else {
        let whole = seconds.round() as u64;
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// Relative paths stay relative to the project root (every binary's working directory);
/// absolute ones are passed as they are.
fn project_path(ctx: &RunContext, path: &Path) -> String {
    ctx.root.join(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn options_parse_ranges_and_refuse_a_reversed_or_unknown_one() {
        let o = Options::parse(&strings(&[
            "--profile",
            "tiny",
            "--from",
            "synth",
            "--force",
        ]))
        .expect("parses");
        assert_eq!(o.profile, "tiny");
        assert_eq!(o.from, Stage::Synth);
        assert_eq!(o.to, Stage::Evaluate);
        assert!(o.force && !o.online);
        let reversed = Options::parse(&strings(&["--from", "train", "--to", "synth"]))
            .expect_err("reversed range");
        assert!(reversed.to_string().contains("comes after"), "{reversed}");
        let unknown = Options::parse(&strings(&["--from", "deploy"])).expect_err("unknown stage");
        assert!(
            unknown.to_string().contains("collect, index, synth"),
            "{unknown}"
        );
    }

    #[test]
    fn the_summary_shows_every_stage_with_its_status_and_the_totals() {
        let reports = vec![
            StageReport {
                stage: Stage::Collect,
                status: Status::Skipped,
                seconds: 0.2,
                rows_in: None,
                rows_out: Some(8),
                cost_usd: 0.0,
            },
            StageReport {
                stage: Stage::Synth,
                status: Status::Failed,
                seconds: 75.0,
                rows_in: Some(8),
                rows_out: None,
                cost_usd: 0.125,
            },
            StageReport {
                stage: Stage::Dataset,
                status: Status::NotReached,
                seconds: 0.0,
                rows_in: None,
                rows_out: None,
                cost_usd: 0.0,
            },
        ];
        let table = summary_table(&reports);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 5, "{table}");
        assert!(lines[1].starts_with("collect") && lines[1].contains("skipped"));
        assert!(lines[2].contains("failed") && lines[2].contains("1m15s"));
        assert!(lines[2].contains("0.1250"));
        assert!(lines[3].contains("not reached"));
        assert!(lines[4].starts_with("total") && lines[4].contains("1m15s"));
    }
}
