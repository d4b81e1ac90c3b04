//! `collector --dry-run`: the requests a run would send and the quota it would use, computed
//! from the config alone (nothing is sent, nothing is written).

use std::fmt;
use std::time::Duration;

use crate::CollectorError;
use crate::arxiv::ArxivClient;
use crate::config::CollectorConfig;
use crate::stackexchange::{QuestionFilter, StackExchangeClient};

/// Requests planned for one source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcePlan {
    /// The source.
    pub source: &'static str,
    /// One line per planned request or group of requests.
    pub requests: Vec<String>,
    /// Upper bound on the requests sent.
    pub max_requests: u64,
    /// Minimum wall time the spacing imposes.
    pub min_duration: Duration,
}

/// The whole plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Per source.
    pub sources: Vec<SourcePlan>,
    /// StackExchange's daily quota for this run (300 without a key, 10000 with one).
    pub stackexchange_daily_quota: u64,
}

/// Plans the Cross Validated requests. `has_key` only changes the quota shown; the key itself is
/// never printed.
pub fn plan_cross_validated(
    config: &CollectorConfig,
    has_key: bool,
) -> Result<(SourcePlan, u64), CollectorError> {
    let cv = &config.cross_validated;
    let client = StackExchangeClient::new(cv, &config.http, None)?;
    let pages = u64::from(
        cv.max_questions_per_tag
            .div_ceil(cv.page_size.max(1))
            .max(1),
    );
    let mut requests = Vec::new();
    for tag in &cv.tags {
        let filter = QuestionFilter {
            from: cv.from_unix(),
            to: cv.to_unix(),
            min_score: Some(cv.min_score),
        };
        requests.push(format!(
            "GET {}  (pages 1..={pages} while has_more)",
            client.questions_url(tag, 1, filter)
        ));
    }
    let questions = u64::from(cv.max_questions_per_tag) * cv.tags.len() as u64;
    let answer_calls = questions.div_ceil(100);
    requests.push(format!(
        "GET {}/questions/{{up to 100 ids}}/answers?site={}&filter=withbody&pagesize=100  (about {answer_calls} calls, more when a batch has over 100 answers)",
        cv.base_url.trim_end_matches('/'),
        cv.site
    ));
    let max_requests = pages * cv.tags.len() as u64 + answer_calls;
    let interval = Duration::from_secs(1) / cv.requests_per_second.max(1);
    let quota = if has_key { 10_000 } else { 300 };
    Ok((
        SourcePlan {
            source: "cross_validated",
            requests,
            max_requests,
            min_duration: interval * u32::try_from(max_requests).unwrap_or(u32::MAX),
        },
        quota,
    ))
}

/// Plans the arXiv requests.
pub fn plan_arxiv(config: &CollectorConfig) -> Result<SourcePlan, CollectorError> {
    let ax = &config.arxiv;
    let client = ArxivClient::new(ax, &config.http)?;
    let mut requests = Vec::new();
    let mut max_requests = 0;
    for query in &ax.queries {
        let pages = u64::from(query.max_results.div_ceil(ax.page_size.max(1)));
        max_requests += pages;
        requests.push(format!(
            "GET {}  ({pages} pages of {} at most)",
            client.query_url(
                &query.search_query,
                0,
                u64::from(ax.page_size.min(query.max_results))
            ),
            ax.page_size
        ));
    }
    let spacing = Duration::from_secs_f64(ax.min_interval_secs);
    Ok(SourcePlan {
        source: "arxiv",
        requests,
        max_requests,
        min_duration: spacing * u32::try_from(max_requests.saturating_sub(1)).unwrap_or(u32::MAX),
    })
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for source in &self.sources {
            writeln!(f, "{}:", source.source)?;
            for request in &source.requests {
                writeln!(f, "  {request}")?;
            }
            write!(
                f,
                "  at most {} requests, at least {} s of spacing",
                source.max_requests,
                source.min_duration.as_secs()
            )?;
            if source.source == "cross_validated" {
                let share = source.max_requests as f64 / self.stackexchange_daily_quota as f64;
                write!(
                    f,
                    "; quota estimate {} of {} a day ({:.0}%)",
                    source.max_requests,
                    self.stackexchange_daily_quota,
                    share * 100.0
                )?;
                if source.max_requests > self.stackexchange_daily_quota {
                    write!(
                        f,
                        ", over the daily quota: the run will stop at the reserve and resume the next day"
                    )?;
                }
            }
            writeln!(f)?;
        }
        Ok(())
    }
}
