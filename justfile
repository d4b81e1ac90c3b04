# Short names for `cargo xtask` commands. `just` is optional: every recipe is one cargo command.

default:
    @just --list

# Install Debian packages and offline assets (idempotent)
setup:
    cargo xtask setup

# Setup if needed, then every test of the workspace
test:
    cargo xtask test

# What CI runs: fmt-check, then test
ci:
    cargo xtask ci

fmt-check:
    cargo xtask fmt-check

# Check data/knowledge and print its counts
validate-knowledge:
    cargo xtask validate-knowledge

# The calculator, e.g. `just stats sample-size --baseline 0.1 --mde 0.02`
stats *ARGS:
    cargo run --quiet --release -p stats -- {{ARGS}}

# Every pipeline stage in order, skipping what is up to date, e.g. `just pipeline --profile tiny`
pipeline *ARGS:
    cargo xtask pipeline {{ARGS}}

# Cross Validated questions and answers (StackExchange API; STACKEXCHANGE_KEY raises the quota)
collect-cv *ARGS:
    cargo xtask pipeline exec collector cross-validated {{ARGS}}

# arXiv metadata and abstracts (one request every 3 seconds)
collect-arxiv *ARGS:
    cargo xtask pipeline exec collector arxiv {{ARGS}}

# LLM Q&A from 10 arXiv papers into artifacts/qa-test/: the dry-run cost first, then the run,
# capped at $0.50
generate-qa-test:
    cargo xtask pipeline exec collector --config configs/pipeline/qa-test/collector.toml --out artifacts/qa-test arxiv
    cargo xtask pipeline exec synth --output-root artifacts/qa-test --dry-run
    cargo xtask pipeline exec synth --output-root artifacts/qa-test --max-cost-usd 0.50

# Q&A from every generator over the collected sources (prints the cost estimate first; the
# config's llm.max_cost_usd caps it), e.g. `just generate-qa --max-cost-usd 5`
generate-qa *ARGS:
    cargo xtask pipeline exec synth {{ARGS}}

# Combine, clean, dedupe, split and format everything collected and generated
combine-datasets *ARGS:
    cargo xtask pipeline exec dataset {{ARGS}}

# QLoRA of SmolLM2-135M on this CPU (40 steps) on the dataset stage's splits
train *ARGS:
    cargo xtask pipeline exec trainer --config configs/train-smollm2-cpu.toml --train-data artifacts/dataset/train.parquet --val-data artifacts/dataset/val.parquet {{ARGS}}

# The full-profile training run on a CUDA GPU (build the trainer with `--features cuda`)
train-full *ARGS:
    cargo xtask pipeline exec trainer --config configs/pipeline/full/train.toml {{ARGS}}

# Serve the HTTP API (newest fine-tuned adapter when a run exists), e.g. `just run --port 8080`
run *ARGS:
    cargo xtask serve {{ARGS}}

# Validate every config file under configs/ and say which API keys are set (never their values)
test-config:
    cargo xtask test-config
