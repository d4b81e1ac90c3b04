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
