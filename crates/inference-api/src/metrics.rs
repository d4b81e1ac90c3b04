//! Prometheus metrics, kept per server instance and rendered in the text exposition format
//! (version 0.0.4) at `GET /metrics`.
//!
//! Design choice: a small registry owned by the app state rather than a process-global recorder,
//! so two apps in one process (tests start many) never mix their counts, and every series that
//! exists is known and documented here: request counts by route, method and status; request
//! latency by route; answer latency by pipeline stage; tokens; cache lookups; numbers the
//! grounding check flagged; rejected requests; requests running and queued.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use std::sync::Arc;

/// Histogram bucket bounds in seconds: from 1 ms (a cached answer, a calculation) to a minute (a
/// long generation on a small machine).
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if self.counts.is_empty() {
            self.counts = vec![0; BUCKETS.len()];
        }
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                self.counts[i] += 1;
            }
        }
        self.sum += seconds;
        self.count += 1;
    }
}

type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Default)]
struct Series {
    counters: BTreeMap<(&'static str, Labels), u64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
}

/// One metric family's help text and type.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
}

const FAMILIES: &[Family] = &[
    Family {
        name: "lift_http_requests_total",
        kind: "counter",
        help: "HTTP requests answered, by route template, method and status",
    },
    Family {
        name: "lift_http_request_duration_seconds",
        kind: "histogram",
        help: "Time until the response started, by route template",
    },
    Family {
        name: "lift_stage_duration_seconds",
        kind: "histogram",
        help: "Answer time by pipeline stage (understanding, retrieval, calculation, generation, total)",
    },
    Family {
        name: "lift_time_to_first_token_seconds",
        kind: "histogram",
        help: "Time from request to the first generated token of streamed answers",
    },
    Family {
        name: "lift_tokens_total",
        kind: "counter",
        help: "Language-model tokens, by kind (prompt, completion)",
    },
    Family {
        name: "lift_cache_requests_total",
        kind: "counter",
        help: "Response cache lookups, by result (hit, miss)",
    },
    Family {
        name: "lift_unsupported_numbers_total",
        kind: "counter",
        help: "Numbers in generated text found in neither the calculator output nor the context",
    },
    Family {
        name: "lift_generation_deadline_total",
        kind: "counter",
        help: "Answers whose explanation stopped at generation.timeout_seconds (a busy model)",
    },
    Family {
        name: "lift_answers_total",
        kind: "counter",
        help: "Answers produced, by intent",
    },
    Family {
        name: "lift_rejected_requests_total",
        kind: "counter",
        help: "Requests refused by the load limits, by reason (queue_full, queue_timeout)",
    },
];

/// The registry.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<Series>,
    in_flight: AtomicI64,
    queued: AtomicI64,
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Series> {
        // A panic while holding the lock leaves counts that are still valid numbers.
        self.series
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds to a counter.
    pub fn count(&self, name: &'static str, labels: Labels, by: u64) {
        *self.lock().counters.entry((name, labels)).or_default() += by;
    }

    /// Records one observation.
    pub fn observe(&self, name: &'static str, labels: Labels, value: Duration) {
        self.lock()
            .histograms
            .entry((name, labels))
            .or_default()
            .observe(value.as_secs_f64());
    }

    /// A counter's current value (for tests and `/ready`).
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.lock()
            .counters
            .iter()
            .filter(|((n, l), _)| {
                *n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.iter().any(|(lk, lv)| *lk == *k && lv.as_str() == *v))
            })
            .map(|(_, v)| *v)
            .sum()
    }

    /// A refused request.
    pub fn rejected(&self, reason: &'static str) {
        self.count(
            "lift_rejected_requests_total",
            vec![("reason", reason.into())],
            1,
        );
    }

    /// A cache lookup.
    pub fn cache(&self, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.count(
            "lift_cache_requests_total",
            vec![("result", result.into())],
            1,
        );
    }

    /// Changes the running-requests gauge.
    pub fn in_flight_add(&self, by: i64) {
        self.in_flight.fetch_add(by, Ordering::AcqRel);
    }

    /// Changes the queued-requests gauge.
    pub fn queued_add(&self, by: i64) {
        self.queued.fetch_add(by, Ordering::AcqRel);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let series = self.lock();
        let mut out = String::new();
        for family in FAMILIES {
            let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
            let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
            for ((name, labels), value) in &series.counters {
                if *name == family.name {
                    let _ = writeln!(out, "{name}{} {value}", render_labels(labels, None));
                }
            }
            for ((name, labels), h) in &series.histograms {
                if *name != family.name {
                    continue;
                }
                for (bound, count) in BUCKETS.iter().zip(&h.counts) {
                    let le = format!("{bound}");
                    let _ = writeln!(
                        out,
                        "{name}_bucket{} {count}",
                        render_labels(labels, Some(&le))
                    );
                }
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {}",
                    render_labels(labels, Some("+Inf")),
                    h.count
                );
                let _ = writeln!(out, "{name}_sum{} {}", render_labels(labels, None), h.sum);
                let _ = writeln!(
                    out,
                    "{name}_count{} {}",
                    render_labels(labels, None),
                    h.count
                );
            }
        }
        for (name, help, value) in [
            (
                "lift_requests_in_flight",
                "Answering requests running now",
                self.in_flight.load(Ordering::Acquire),
            ),
            (
                "lift_requests_queued",
                "Answering requests waiting for a slot now",
                self.queued.load(Ordering::Acquire),
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {value}");
        }
        out
    }
}

fn render_labels(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

/// Label values escape backslash, double quote and newline (the exposition format's rule).
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Middleware: counts every request by its route template (never the raw path, so that ids in
/// paths cannot grow the number of series without bound) and times it.
pub async fn track(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let method = request.method().as_str().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics.count(
        "lift_http_requests_total",
        vec![
            ("route", route.clone()),
            ("method", method),
            ("status", status),
        ],
        1,
    );
    metrics.observe(
        "lift_http_request_duration_seconds",
        vec![("route", route)],
        started.elapsed(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_is_valid_exposition_text() {
        let m = Metrics::new();
        m.count(
            "lift_http_requests_total",
            vec![("route", "/query".into()), ("status", "200".into())],
            2,
        );
        m.observe(
            "lift_stage_duration_seconds",
            vec![("stage", "retrieval".into())],
            Duration::from_millis(30),
        );
        m.count("lift_tokens_total", vec![("kind", "a\"b".into())], 1);
        let text = m.render();
        assert!(text.contains("lift_http_requests_total{route=\"/query\",status=\"200\"} 2\n"));
        assert!(
            text.contains(
                "lift_stage_duration_seconds_bucket{stage=\"retrieval\",le=\"0.025\"} 0\n"
            )
        );
        assert!(
            text.contains(
                "lift_stage_duration_seconds_bucket{stage=\"retrieval\",le=\"0.05\"} 1\n"
            )
        );
        assert!(text.contains("lift_stage_duration_seconds_count{stage=\"retrieval\"} 1\n"));
        assert!(text.contains("lift_tokens_total{kind=\"a\\\"b\"} 1\n"));
        assert_eq!(
            m.counter("lift_http_requests_total", &[("route", "/query")]),
            2
        );
        // Every sample line is `name{labels} number`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let value = line.rsplit(' ').next().expect("a value");
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
