//! The `collector` command: collects the configured sources into the artifacts root.
//!
//! Exit status: 0 when every requested source finished or stopped cleanly (quota reserve, page
//! limit), 2 when the network is unreachable for a source that is not optional here, 1 for any
//! other error. Errors print as one line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use collector::plan::{Plan, plan_arxiv, plan_cross_validated};
use collector::{CollectorConfig, CollectorError, RunOptions, SourceSummary};
use indicatif::{MultiProgress, ProgressDrawTarget};

#[derive(Parser, Debug)]
#[command(
    name = "collector",
    version,
    about = "Collect Cross Validated, arXiv and local documents into raw Parquet artifacts"
)]
struct Cli {
    /// The config file (default: configs/collector.toml under the project root).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// The artifacts root (default: artifacts/ under the project root).
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    /// The project root that relative paths in the config are resolved against (default: the
    /// nearest folder above the current one holding configs/collector.toml).
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// Print the planned requests and the quota estimate; send and write nothing.
    #[arg(long, global = true)]
    dry_run: bool,
    /// Stop cleanly after this many pages per remote source (the checkpoint keeps them).
    #[arg(long, global = true)]
    max_pages: Option<usize>,
    /// Discard checkpoints and fetch everything again (rows are still merged by id).
    #[arg(long, global = true)]
    fresh: bool,
    /// No progress bars.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    /// Every enabled source (the default).
    All,
    /// Cross Validated through the StackExchange API.
    CrossValidated,
    /// arXiv searches.
    Arxiv,
    /// Local document folders only (no network).
    Local,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("collector: {error:#}");
            let offline = error.chain().any(|cause| {
                cause
                    .downcast_ref::<CollectorError>()
                    .is_some_and(CollectorError::is_offline)
            });
            ExitCode::from(if offline { 2 } else { 1 })
        }
    }
}

fn project_root(explicit: Option<&Path>) -> Result<PathBuf> {
    if let Some(root) = explicit {
        return Ok(root.to_path_buf());
    }
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    Ok(cwd
        .ancestors()
        .find(|dir| dir.join("configs").join("collector.toml").is_file())
        .map(Path::to_path_buf)
        .unwrap_or(cwd))
}

fn run(cli: Cli) -> Result<ExitCode> {
    let root = project_root(cli.root.as_deref())?;
    let config_path = cli
        .config
        .clone()
        .unwrap_or_else(|| root.join("configs").join("collector.toml"));
    let config = if config_path.is_file() || cli.config.is_some() {
        CollectorConfig::load(&config_path)?
    } else {
        CollectorConfig::default()
    };
    let out = cli.out.clone().unwrap_or_else(|| root.join("artifacts"));
    let command = cli.command.unwrap_or(Command::All);
    let wants =
        |source: Command, enabled: bool| command == source || (command == Command::All && enabled);
    let want_cv = wants(Command::CrossValidated, config.cross_validated.enabled);
    let want_arxiv = wants(Command::Arxiv, config.arxiv.enabled);
    let want_local = wants(Command::Local, config.local.enabled);
    let key = std::env::var(&config.cross_validated.key_env)
        .ok()
        .filter(|k| !k.trim().is_empty());

    if cli.dry_run {
        let mut plan = Plan {
            sources: Vec::new(),
            stackexchange_daily_quota: 300,
        };
        if want_cv {
            let (source, quota) = plan_cross_validated(&config, key.is_some())?;
            plan.sources.push(source);
            plan.stackexchange_daily_quota = quota;
        }
        if want_arxiv {
            plan.sources.push(plan_arxiv(&config)?);
        }
        print!("{plan}");
        if want_local {
            for folder in &config.local.folders {
                println!(
                    "local_docs: read {}",
                    collector::config::resolve_folder(&root, folder).display()
                );
            }
        }
        println!(
            "StackExchange key: {}",
            if key.is_some() {
                "set (never printed)"
            } else {
                "not set (300 requests a day)"
            }
        );
        println!("dry run: nothing was sent or written");
        return Ok(ExitCode::SUCCESS);
    }

    let progress =
        (!cli.quiet).then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
    let options = RunOptions {
        root: out,
        max_pages: cli.max_pages,
        fresh: cli.fresh,
        fetched_at: None,
        progress,
    };
    let mut summaries: Vec<SourceSummary> = Vec::new();
    let mut offline_required = None;
    if want_local {
        summaries.push(collector::collect_local(&config, &root, &options)?);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let optional_here = |optional: bool| command == Command::All && optional;
    if want_cv {
        match runtime.block_on(collector::collect_cross_validated(
            &config,
            key.clone(),
            &options,
        )) {
            Ok(summary) => summaries.push(summary),
            Err(e) if e.is_offline() && optional_here(config.cross_validated.optional) => {
                eprintln!("collector: cross_validated skipped (optional): {e}");
            }
            Err(e) if e.is_offline() => offline_required = Some(e),
            Err(e) => return Err(e).context("cross_validated"),
        }
    }
    if want_arxiv && offline_required.is_none() {
        match runtime.block_on(collector::collect_arxiv(&config, &options)) {
            Ok(summary) => summaries.push(summary),
            Err(e) if e.is_offline() && optional_here(config.arxiv.optional) => {
                eprintln!("collector: arxiv skipped (optional): {e}");
            }
            Err(e) if e.is_offline() => offline_required = Some(e),
            Err(e) => return Err(e).context("arxiv"),
        }
    }
    for summary in &summaries {
        println!("{summary}");
    }
    if let Some(error) = offline_required {
        return Err(error.into());
    }
    Ok(ExitCode::SUCCESS)
}
