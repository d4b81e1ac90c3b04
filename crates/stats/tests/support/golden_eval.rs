//! Maps one golden case (a JSON object with a `kind`) to the crate call it describes and
//! returns the computed values under the same keys as the case's `expect`.

use serde_json::{Map, Value, json};
use stats::power::Design;

type Out = Result<Value, String>;

fn f(case: &Value, key: &str) -> Result<f64, String> {
    case[key]
        .as_f64()
        .ok_or_else(|| format!("case has no number `{key}`"))
}

fn parse<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, String> {
    serde_json::from_value(v.clone()).map_err(|e| e.to_string())
}

/// Evaluates one case.
pub fn eval(case: &Value) -> Out {
    let kind = case["kind"].as_str().unwrap_or_default();
    let mut out = Map::new();
    match kind {
        "design" => {
            let d: Design = parse(&case["design"])?;
            let e = |x: stats::StatsError| x.to_string();
            match case["solve"].as_str().unwrap_or_default() {
                "power" => {
                    out.insert(
                        "power".into(),
                        json!(d.power(f(case, "effect")?, f(case, "n")?).map_err(e)?),
                    );
                }
                "n" => {
                    let s = d
                        .sample_size(f(case, "effect")?, f(case, "power")?)
                        .map_err(e)?;
                    out.insert("n".into(), json!(s.n_per_group_exact));
                }
                "mde" => {
                    let dec = case["decrease"].as_bool().unwrap_or(false);
                    out.insert(
                        "effect".into(),
                        json!(d.mde(f(case, "n")?, f(case, "power")?, dec).map_err(e)?),
                    );
                }
                "alpha" => {
                    let a = d
                        .solve_alpha(f(case, "effect")?, f(case, "n")?, f(case, "power")?)
                        .map_err(e)?;
                    out.insert("alpha".into(), json!(a));
                }
                other => return Err(format!("unknown solve `{other}`")),
            }
        }
        other => return Err(format!("unknown kind `{other}`")),
    }
    Ok(Value::Object(out))
}
