//! Calculations asked for directly (`POST /calculate/{kind}`), not in words: a JSON object of
//! parameter names to numbers, lists or choices becomes the same [`CalculationRequest`] the
//! question parser builds, so both paths run the same code and give the same numbers.

use std::collections::BTreeMap;

use crate::understand::{CalculationKind, CalculationRequest, Origin, Param, ParamName, Value};

/// Why a JSON request is not a calculation.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    /// The kind is not one the calculator knows.
    #[error("unknown calculation {kind:?}; known: {known}")]
    UnknownKind {
        /// What was asked.
        kind: String,
        /// The kinds there are.
        known: String,
    },
    /// The inputs do not have the right shape.
    #[error("invalid inputs for {kind}: {reason}")]
    Invalid {
        /// The calculation.
        kind: String,
        /// What is wrong.
        reason: String,
    },
}

/// Every kind's name, comma-separated.
pub fn known_kinds() -> String {
    CalculationKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Builds a request of `kind` from a JSON object such as
/// `{"baseline": 0.1, "mde": 0.05, "mde_scale": "relative", "power": 0.8}`.
pub fn request_from_json(
    kind: &str,
    inputs: serde_json::Value,
) -> Result<CalculationRequest, RequestError> {
    let calc_kind = CalculationKind::parse(kind).ok_or_else(|| RequestError::UnknownKind {
        kind: kind.to_owned(),
        known: known_kinds(),
    })?;
    let invalid = |reason: String| RequestError::Invalid {
        kind: kind.to_owned(),
        reason,
    };
    let serde_json::Value::Object(map) = inputs else {
        return Err(invalid(
            "the body must be a JSON object of parameter names to values".into(),
        ));
    };
    let mut params = BTreeMap::new();
    for (key, value) in map {
        let name: ParamName = serde_json::from_value(serde_json::Value::String(key.clone()))
            .map_err(|_| invalid(format!("unknown parameter {key:?}")))?;
        let value = match value {
            serde_json::Value::Number(n) => Value::Number(
                n.as_f64()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| invalid(format!("{key} is not a finite number")))?,
            ),
            serde_json::Value::Array(items) => Value::List(
                items
                    .iter()
                    .map(|v| v.as_f64().filter(|x| x.is_finite()))
                    .collect::<Option<Vec<f64>>>()
                    .ok_or_else(|| invalid(format!("{key} must be a list of numbers")))?,
            ),
            serde_json::Value::String(s) => Value::Choice(s),
            other => {
                return Err(invalid(format!(
                    "{key} must be a number, a list of numbers or a string, got {other}"
                )));
            }
        };
        params.insert(
            name,
            Param {
                value,
                origin: Origin::Given {
                    start: 0,
                    end: 0,
                    text: key,
                },
            },
        );
    }
    Ok(CalculationRequest {
        kind: calc_kind,
        params,
        assumptions: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_become_requests_and_bad_shapes_are_named() {
        let r = request_from_json(
            "sample_size",
            serde_json::json!({"baseline": 0.1, "mde": 0.05, "p_values": [0.01, 0.2], "mde_scale": "relative"}),
        )
        .expect("valid");
        assert_eq!(r.kind, CalculationKind::SampleSize);
        assert_eq!(r.number(ParamName::Baseline), Some(0.1));
        assert_eq!(r.list(ParamName::PValues), Some(&[0.01, 0.2][..]));
        assert_eq!(r.choice(ParamName::MdeScale), Some("relative"));

        let err = request_from_json("nope", serde_json::json!({})).expect_err("kind");
        assert!(matches!(err, RequestError::UnknownKind { .. }));
        let err = request_from_json("power", serde_json::json!({"basline": 0.1})).expect_err("key");
        assert!(err.to_string().contains("basline"), "{err}");
        let err = request_from_json("power", serde_json::json!([1])).expect_err("shape");
        assert!(err.to_string().contains("JSON object"), "{err}");
        let err = request_from_json("adjust", serde_json::json!({"p_values": [0.1, "x"]}))
            .expect_err("list");
        assert!(err.to_string().contains("list of numbers"), "{err}");
    }
}
