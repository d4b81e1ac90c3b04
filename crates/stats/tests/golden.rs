//! Golden-vector tests: every JSON file in `tests/golden/` holds cases computed by R,
//! statsmodels or scipy (see `generate.py`), and each must be reproduced to a relative error of
//! 1e-6 (absolute 1e-12 below 1e-6). The test prints the worst error per family so the
//! margin is visible in CI logs, and fails listing every case outside tolerance.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};

#[path = "support/golden_eval.rs"]
mod golden_eval;

const REL_TOL: f64 = 1e-6;
const ABS_TOL: f64 = 1e-12;

/// The error of `got` against `want`, on the scale the tolerance uses: relative for values of
/// at least 1e-6, and absolute divided by ABS_TOL * REL_TOL below that, so a single
/// threshold of REL_TOL applies to both.
fn scaled_error(got: f64, want: f64) -> f64 {
    if want.is_nan() {
        return if got.is_nan() { 0.0 } else { f64::INFINITY };
    }
    if want.is_infinite() {
        return if got == want { 0.0 } else { f64::INFINITY };
    }
    if want.abs() < 1e-6 {
        (got - want).abs() / ABS_TOL * REL_TOL
    } else {
        ((got - want) / want).abs()
    }
}

/// Compares expected against computed values field by field; returns the worst scaled error
/// and a description of any mismatch in kind or shape.
fn compare(want: &Value, got: &Value, path: &str, worst: &mut f64, problems: &mut Vec<String>) {
    match (want, got) {
        (Value::Number(w), Value::Number(g)) => {
            let (w, g) = (
                w.as_f64().unwrap_or(f64::NAN),
                g.as_f64().unwrap_or(f64::NAN),
            );
            let e = scaled_error(g, w);
            if e > *worst {
                *worst = e;
            }
            if e > REL_TOL {
                problems.push(format!("{path}: want {w:e}, got {g:e} (error {e:.3e})"));
            }
        }
        (Value::Bool(w), Value::Bool(g)) if w == g => {}
        (Value::String(w), Value::String(g)) if w == g => {}
        (Value::Null, Value::Null) => {}
        (Value::Array(w), Value::Array(g)) if w.len() == g.len() => {
            for (i, (w, g)) in w.iter().zip(g).enumerate() {
                compare(w, g, &format!("{path}[{i}]"), worst, problems);
            }
        }
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                match g.get(k) {
                    Some(gv) => compare(wv, gv, &format!("{path}.{k}"), worst, problems),
                    None => problems.push(format!("{path}.{k}: missing from the result")),
                }
            }
        }
        _ => problems.push(format!("{path}: want {want}, got {got}")),
    }
}

#[test]
fn golden_vectors_match_references() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/golden exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no golden files in {}", dir.display());
    let mut report: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut total = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable golden file");
        let doc: Value = serde_json::from_str(&text).expect("golden file is JSON");
        let family = doc["family"].as_str().unwrap_or("?").to_string();
        let cases = doc["cases"].as_array().cloned().unwrap_or_default();
        for (i, case) in cases.iter().enumerate() {
            // Report per family and kind, so each method's margin is visible.
            let key = match case["design"]["family"].as_object() {
                Some(d) => format!(
                    "{family}/{}",
                    d.get("method")
                        .or(d.get("test"))
                        .and_then(|v| v.as_str())
                        .unwrap_or("?")
                ),
                None => format!("{family}/{}", case["kind"].as_str().unwrap_or("?")),
            };
            let entry = report.entry(key).or_insert((0, 0.0));
            entry.0 += 1;
            let worst = &mut entry.1;
            total += 1;
            let label = format!("{family}#{i} ({} / {})", case["kind"], case["oracle"]);
            match golden_eval::eval(case) {
                Ok(got) => {
                    let mut problems = Vec::new();
                    compare(&case["expect"], &got, "", worst, &mut problems);
                    for p in problems {
                        failures.push(format!("{label}{p}  input: {}", compact(case)));
                    }
                }
                Err(e) => failures.push(format!("{label}: error {e}  input: {}", compact(case))),
            }
        }
    }
    println!("golden vectors: {total} cases");
    for (family, (n, worst)) in &report {
        println!("  {family:<32} {n:>4} cases, worst relative error {worst:.2e}");
    }
    assert!(
        total >= 400,
        "expected at least 400 golden cases, found {total}"
    );
    assert!(
        failures.is_empty(),
        "{} golden cases out of tolerance:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn compact(case: &Value) -> String {
    let mut c = case.clone();
    if let Some(o) = c.as_object_mut() {
        o.remove("expect");
    }
    let s = c.to_string();
    if s.len() > 400 {
        format!("{}...", &s[..400])
    } else {
        s
    }
}

#[test]
fn scaled_error_uses_absolute_tolerance_for_tiny_values() {
    assert!(scaled_error(1e-13, 2e-13) <= REL_TOL);
    assert!(scaled_error(1.0 + 2e-6, 1.0) > REL_TOL);
    let mut worst = 0.0;
    let mut problems = Vec::new();
    compare(
        &json!({"a": [1.0, 2.0]}),
        &json!({"a": [1.0, 2.1]}),
        "",
        &mut worst,
        &mut problems,
    );
    assert_eq!(problems.len(), 1);
}
