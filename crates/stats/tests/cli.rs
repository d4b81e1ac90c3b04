//! Snapshot tests of the `stats` binary: for every subcommand, the text output and the JSON
//! output (numbers rounded to 10 significant digits, so last-ulp differences between
//! platforms' libm cannot break them), and the exit code and one-line message for bad input.

use std::process::Command;

use serde_json::Value;

fn stats(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stats"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the stats binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn round(v: &mut Value) {
    match v {
        Value::Number(n) => {
            if let Some(x) = n.as_f64().filter(|x| x.fract() != 0.0) {
                let r: f64 = format!("{x:.9e}").parse().unwrap_or(x);
                *v = serde_json::json!(r);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(round),
        Value::Object(o) => o.values_mut().for_each(round),
        _ => {}
    }
}

/// Runs one invocation in text and JSON mode and snapshots both.
fn check(name: &str, args: &[&str]) {
    let (code, text, err) = stats(args);
    assert_eq!(code, 0, "{name}: {err}");
    assert!(
        !text.contains("NaN") && !text.contains("undefined"),
        "{name} printed an undefined number:\n{text}"
    );
    insta::assert_snapshot!(format!("{name}_text"), text);
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let (code, out, err) = stats(&json_args);
    assert_eq!(code, 0, "{name} --json: {err}");
    let mut v: Value = serde_json::from_str(&out).expect("--json prints one JSON object");
    assert!(v.is_object(), "{name}: JSON output is an object");
    for key in ["alpha", "sides", "method", "allocation"] {
        assert!(
            v["assumptions"].get(key).is_some(),
            "{name}: assumptions lack `{key}`"
        );
    }
    round(&mut v);
    insta::assert_snapshot!(
        format!("{name}_json"),
        serde_json::to_string_pretty(&v).unwrap_or_default()
    );
}

#[test]
fn sample_size() {
    check(
        "sample_size_pooled",
        &["sample-size", "--baseline", "0.1", "--mde", "0.02"],
    );
    check(
        "sample_size_relative_unequal",
        &[
            "sample-size",
            "--baseline",
            "0.05",
            "--mde",
            "0.1",
            "--relative",
            "--ratio",
            "2",
            "--power",
            "0.9",
        ],
    );
    check(
        "sample_size_arcsine_one_sided",
        &[
            "sample-size",
            "--baseline",
            "0.2",
            "--treatment",
            "0.25",
            "--method",
            "arcsine",
            "--sides",
            "one-sided",
        ],
    );
    check(
        "sample_size_t",
        &[
            "sample-size",
            "--metric",
            "mean",
            "--mde",
            "2",
            "--sd",
            "10",
        ],
    );
    check(
        "sample_size_paired",
        &[
            "sample-size",
            "--metric",
            "mean",
            "--effect-size",
            "0.3",
            "--test",
            "one-sample-t",
        ],
    );
}

#[test]
fn power_and_mde() {
    check(
        "power_t",
        &[
            "power",
            "--metric",
            "mean",
            "--effect-size",
            "0.5",
            "--n",
            "64",
        ],
    );
    check(
        "power_prop",
        &[
            "power",
            "--baseline",
            "0.1",
            "--treatment",
            "0.12",
            "--n",
            "3000",
        ],
    );
    check(
        "power_solve_alpha",
        &[
            "power",
            "--baseline",
            "0.1",
            "--treatment",
            "0.12",
            "--n",
            "3000",
            "--power",
            "0.7",
        ],
    );
    check("mde_prop", &["mde", "--baseline", "0.05", "--n", "10000"]);
    check(
        "mde_mean",
        &[
            "mde", "--metric", "mean", "--sd", "12", "--n", "500", "--power", "0.9",
        ],
    );
}

#[test]
fn duration() {
    check(
        "duration",
        &[
            "duration",
            "--baseline",
            "0.1",
            "--mde",
            "0.01",
            "--daily-traffic",
            "5000",
            "--allocation",
            "0.5",
            "--variants",
            "3",
        ],
    );
}

#[test]
fn tests() {
    check(
        "test_proportions",
        &[
            "test",
            "proportions",
            "--x1",
            "100",
            "--n1",
            "1000",
            "--x2",
            "130",
            "--n2",
            "1000",
        ],
    );
    check(
        "test_welch",
        &[
            "test",
            "t",
            "--control-summary",
            "10,2,30",
            "--treatment-summary",
            "11,2.5,35",
        ],
    );
    check(
        "test_paired",
        &[
            "test",
            "t",
            "--paired",
            "--control",
            "1,2,3,4,5",
            "--treatment",
            "1.5,2.1,3.9,4.2,5.8",
        ],
    );
    check(
        "test_one_sample",
        &[
            "test",
            "one-sample",
            "--data",
            "5.1,4.9,5.6,5.8,6.0,5.2",
            "--mu0",
            "5",
        ],
    );
    check("test_chi2", &["test", "chi2", "--table", "10,20;30,25"]);
    check("test_gof", &["test", "gof", "--observed", "10,20,30,40"]);
    check("test_fisher", &["test", "fisher", "--table", "8,2;1,5"]);
    check(
        "test_mann_whitney",
        &[
            "test",
            "mann-whitney",
            "--control",
            "1,2,2,3,5,8",
            "--treatment",
            "3,4,4,6,9,9,10",
            "--method",
            "asymptotic",
        ],
    );
}

#[test]
fn intervals() {
    check(
        "ci_proportion",
        &[
            "ci",
            "proportion",
            "--x",
            "3",
            "--n",
            "100",
            "--method",
            "clopper-pearson",
        ],
    );
    check(
        "ci_diff",
        &[
            "ci", "diff", "--x1", "100", "--n1", "1000", "--x2", "120", "--n2", "1000",
        ],
    );
    check("ci_mean", &["ci", "mean", "--summary", "10,2,30"]);
    check(
        "ci_mean_diff",
        &[
            "ci",
            "mean-diff",
            "--control-summary",
            "10,2,30",
            "--treatment-summary",
            "11,2.5,35",
        ],
    );
    check(
        "ci_lift_fieller",
        &[
            "ci", "lift", "--m1", "0.1", "--se1", "0.003", "--m2", "0.11", "--se2", "0.0031",
            "--method", "fieller",
        ],
    );
    check(
        "ci_bootstrap",
        &[
            "ci",
            "bootstrap",
            "--data",
            "1,2,3,4,5,6,7,8,9,10,12,15",
            "--resamples",
            "2000",
            "--seed",
            "3",
        ],
    );
}

#[test]
fn adjust_srm_cuped() {
    check(
        "adjust_holm",
        &["adjust", "--p-values", "0.01,0.04,0.03,0.005"],
    );
    check(
        "adjust_bh",
        &[
            "adjust",
            "--p-values",
            "0.01,0.04,0.03,0.005",
            "--method",
            "benjamini-hochberg",
        ],
    );
    check("srm", &["srm", "--counts", "50400,49600"]);
    check(
        "srm_mismatch",
        &[
            "srm",
            "--counts",
            "20000,10400,9800",
            "--weights",
            "0.5,0.25,0.25",
        ],
    );
    check(
        "cuped",
        &[
            "cuped",
            "--control",
            "100,500,3000,1000,11000,5500",
            "--treatment",
            "100,520,3100,1010,11200,5600",
        ],
    );
    check("cuped_saving", &["cuped", "--n", "10000", "--rho", "0.6"]);
}

#[test]
fn sequential_bayes_analyze() {
    check(
        "sequential_boundaries",
        &["sequential", "boundaries", "--looks", "5"],
    );
    check(
        "sequential_pocock_one_sided",
        &[
            "sequential",
            "boundaries",
            "--fractions",
            "0.25,0.5,1",
            "--alpha",
            "0.025",
            "--sides",
            "one-sided",
            "--spending",
            "pocock",
        ],
    );
    check(
        "sequential_msprt",
        &[
            "sequential",
            "msprt",
            "--estimates",
            "0.01,0.02,0.018",
            "--variances",
            "0.0001,0.00005,0.00003",
            "--tuning-n",
            "5000",
            "--unit-variance",
            "1",
        ],
    );
    check(
        "bayes_exact",
        &[
            "bayes", "--xa", "100", "--na", "1000", "--xb", "120", "--nb", "1000",
        ],
    );
    check(
        "bayes_monte_carlo",
        &[
            "bayes", "--xa", "100", "--na", "1000", "--xb", "120", "--nb", "1000", "--draws",
            "20000", "--seed", "1",
        ],
    );
    check(
        "bayes_normal",
        &[
            "bayes",
            "--model",
            "normal",
            "--a",
            "10,3,500",
            "--b",
            "10.4,3.2,480",
        ],
    );
    check(
        "analyze_json",
        &["analyze", "--input", "tests/data/analyze.json"],
    );
    check(
        "analyze_csv",
        &["analyze", "--input", "tests/data/analyze.csv"],
    );
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let cases: &[&[&str]] = &[
        &["sample-size", "--baseline", "1.5", "--mde", "0.1"],
        &[
            "sample-size",
            "--baseline",
            "0.1",
            "--mde",
            "0.02",
            "--power",
            "0.01",
        ],
        &["sample-size", "--baseline", "0.1", "--mde", "0"],
        &[
            "sample-size",
            "--baseline",
            "0.5",
            "--mde",
            "1",
            "--relative",
        ],
        &["sample-size", "--baseline", "abc", "--mde", "0.1"],
        &["sample-size", "--baseline", "NaN", "--mde", "0.1"],
        &["sample-size", "--baseline", "0.1"],
        &["power", "--baseline", "0.1", "--mde", "0.02"],
        &[
            "power",
            "--metric",
            "mean",
            "--effect-size",
            "0.5",
            "--n",
            "-3",
        ],
        &["sample-size", "--metric", "mean", "--mde", "1", "--sd", "0"],
        &["test", "chi2", "--table", "0,0;3,4"],
        &[
            "test",
            "proportions",
            "--x1",
            "10",
            "--n1",
            "5",
            "--x2",
            "1",
            "--n2",
            "5",
        ],
        &["ci", "proportion", "--x", "3", "--n", "0"],
        &["adjust", "--p-values", "0.2,1.5"],
        &["srm", "--counts", "100"],
        &["bayes", "--xa", "10", "--na", "5", "--xb", "1", "--nb", "5"],
        &["sequential", "boundaries", "--fractions", "0.5,0.4"],
        &["analyze", "--input", "tests/data/missing.json"],
        &[
            "duration",
            "--baseline",
            "0.1",
            "--mde",
            "0.01",
            "--daily-traffic",
            "0",
        ],
        &["nonsense"],
    ];
    for args in cases {
        let (code, out, err) = stats(args);
        assert_eq!(code, 2, "{args:?} should exit 2, got {code}; stderr: {err}");
        assert!(out.is_empty(), "{args:?} printed to stdout: {out}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: message is not one line: {err}"
        );
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    }
}

#[test]
fn bad_input_messages_say_what_is_valid() {
    let (_, _, err) = stats(&["sample-size", "--baseline", "1.5", "--mde", "0.1"]);
    insta::assert_snapshot!("error_baseline", err);
    let (_, _, err) = stats(&[
        "sample-size",
        "--baseline",
        "0.5",
        "--mde",
        "1",
        "--relative",
    ]);
    insta::assert_snapshot!("error_relative_lift", err);
    let (_, _, err) = stats(&[
        "sample-size",
        "--baseline",
        "0.1",
        "--mde",
        "0.02",
        "--power",
        "0.01",
    ]);
    insta::assert_snapshot!("error_power_below_alpha", err);
}
