//! The StackExchange API 2.3 client for Cross Validated: questions by tag, answers in batches of
//! up to 100 ids, and the politeness rules the API sets (a client-side rate limit, the per-method
//! `backoff` field, the daily quota, retries on 5xx only).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use artifacts::{CrossValidatedAnswer, CrossValidatedPost, Timestamp};
use backon::Retryable;
use reqwest::Url;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::CollectorError;
use crate::config::{CrossValidatedConfig, HttpConfig};
use crate::html::{decode_entities, html_to_text};
use crate::http::{body_excerpt, build_client, retry_after, retry_policy, send_error};
use crate::limiter::Limiter;

/// The API's answer wrapper (the `filter=withbody` shape).
#[derive(Debug, Clone, Deserialize)]
pub struct Wrapper<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// Whether another page follows.
    #[serde(default)]
    pub has_more: bool,
    /// Daily quota.
    pub quota_max: Option<i64>,
    /// Requests left today.
    pub quota_remaining: Option<i64>,
    /// Seconds to wait before calling the same method again.
    pub backoff: Option<u64>,
}

/// A question as the API sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct WireQuestion {
    /// Question id.
    pub question_id: i64,
    /// Title, HTML-escaped.
    pub title: String,
    /// Body HTML.
    pub body: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Score.
    pub score: i64,
    /// Number of answers.
    #[serde(default)]
    pub answer_count: i64,
    /// Whether answered.
    #[serde(default)]
    pub is_answered: bool,
    /// Accepted answer id.
    pub accepted_answer_id: Option<i64>,
    /// Views.
    #[serde(default)]
    pub view_count: i64,
    /// Unix seconds.
    pub creation_date: i64,
    /// Public URL.
    pub link: String,
    /// The asker.
    pub owner: Option<WireOwner>,
}

/// An answer as the API sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct WireAnswer {
    /// Answer id.
    pub answer_id: i64,
    /// The question it answers.
    pub question_id: i64,
    /// Body HTML.
    pub body: String,
    /// Score.
    pub score: i64,
    /// Whether accepted.
    #[serde(default)]
    pub is_accepted: bool,
    /// Unix seconds.
    pub creation_date: i64,
    /// The answerer.
    pub owner: Option<WireOwner>,
}

/// A post's owner. Deleted users have a display name but no id.
#[derive(Debug, Clone, Deserialize)]
pub struct WireOwner {
    /// Display name, HTML-escaped.
    pub display_name: Option<String>,
    /// User id.
    pub user_id: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct WireError {
    error_id: i64,
    error_name: String,
    #[serde(default)]
    error_message: String,
}

/// Counters of one client, reported in the run summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestStats {
    /// Requests sent (every attempt counts).
    pub requests: u64,
    /// Retries made.
    pub retries: u64,
    /// Daily quota of the last response.
    pub quota_max: Option<i64>,
    /// `quota_remaining` of the last response.
    pub quota_remaining: Option<i64>,
    /// When each request went out, with its method, in tokio time (for the politeness tests).
    pub sent: Vec<(String, tokio::time::Instant)>,
}

/// The date window and score floor of a question query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QuestionFilter {
    /// `fromdate`, Unix seconds.
    pub from: Option<i64>,
    /// `todate`, Unix seconds.
    pub to: Option<i64>,
    /// `min` on the score (with `sort=votes`).
    pub min_score: Option<i64>,
}

/// Method names used for the per-method `backoff` rule.
const QUESTIONS: &str = "questions";
const ANSWERS: &str = "answers";

/// A StackExchange API client for one site.
pub struct StackExchangeClient {
    http: reqwest::Client,
    base_url: String,
    site: String,
    page_size: u32,
    quota_reserve: i64,
    key: Option<String>,
    limiter: Limiter,
    retry: backon::ExponentialBuilder,
    backoff_until: Mutex<HashMap<&'static str, tokio::time::Instant>>,
    stats: Mutex<RequestStats>,
}

impl std::fmt::Debug for StackExchangeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key is a credential: never printed.
        f.debug_struct("StackExchangeClient")
            .field("base_url", &self.base_url)
            .field("site", &self.site)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl StackExchangeClient {
    /// A client for `config`, with `key` (from the environment) sent on every request if given.
    pub fn new(
        config: &CrossValidatedConfig,
        http: &HttpConfig,
        key: Option<String>,
    ) -> Result<Self, CollectorError> {
        Ok(Self {
            http: build_client(http, false)?,
            base_url: config.base_url.trim_end_matches('/').to_owned(),
            site: config.site.clone(),
            page_size: config.page_size.clamp(1, 100),
            quota_reserve: config.quota_reserve,
            key: key.filter(|k| !k.trim().is_empty()),
            limiter: Limiter::per_second(config.requests_per_second),
            retry: retry_policy(http),
            backoff_until: Mutex::new(HashMap::new()),
            stats: Mutex::new(RequestStats::default()),
        })
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> RequestStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The URL of one page of questions for `tag` (without the key), as sent.
    pub fn questions_url(&self, tag: &str, page: u32, filter: QuestionFilter) -> String {
        let mut params = vec![
            ("site", self.site.clone()),
            ("tagged", tag.to_owned()),
            ("sort", "votes".into()),
            ("order", "desc".into()),
            ("pagesize", self.page_size.to_string()),
            ("page", page.to_string()),
            ("filter", "withbody".into()),
        ];
        if let Some(min) = filter.min_score {
            params.push(("min", min.to_string()));
        }
        if let Some(from) = filter.from {
            params.push(("fromdate", from.to_string()));
        }
        if let Some(to) = filter.to {
            params.push(("todate", to.to_string()));
        }
        url_with(&format!("{}/questions", self.base_url), &params)
    }

    fn answers_url(&self, ids: &[i64], page: u32) -> String {
        let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
        url_with(
            &format!("{}/questions/{}/answers", self.base_url, ids.join(";")),
            &[
                ("site", self.site.clone()),
                ("filter", "withbody".into()),
                ("sort", "votes".into()),
                ("order", "desc".into()),
                ("pagesize", "100".into()),
                ("page", page.to_string()),
            ],
        )
    }

    /// One page of questions tagged `tag`, highest score first.
    pub async fn questions(
        &self,
        tag: &str,
        page: u32,
        filter: QuestionFilter,
    ) -> Result<Wrapper<WireQuestion>, CollectorError> {
        let url = self.questions_url(tag, page, filter);
        self.get(QUESTIONS, &url).await
    }

    /// Every answer of the questions `ids` (at most 100 ids), following `has_more`.
    pub async fn answers(&self, ids: &[i64]) -> Result<Vec<WireAnswer>, CollectorError> {
        let mut answers = Vec::new();
        if ids.is_empty() {
            return Ok(answers);
        }
        let mut page = 1;
        loop {
            let url = self.answers_url(ids, page);
            let wrapper: Wrapper<WireAnswer> = self.get(ANSWERS, &url).await?;
            answers.extend(wrapper.items);
            if !wrapper.has_more {
                return Ok(answers);
            }
            page += 1;
        }
    }

    /// Sends a GET with retries on retryable errors, honouring backoff, quota and the limiter.
    async fn get<T: DeserializeOwned>(
        &self,
        method: &'static str,
        url: &str,
    ) -> Result<Wrapper<T>, CollectorError> {
        let attempts = std::sync::atomic::AtomicU32::new(0);
        let result = (|| async {
            attempts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.attempt::<T>(method, url).await
        })
        .retry(self.retry)
        .sleep(tokio::time::sleep)
        .when(CollectorError::is_retryable)
        .notify(|_, _| {
            if let Ok(mut stats) = self.stats.lock() {
                stats.retries += 1;
            }
        })
        .adjust(|error, delay| match (error, delay) {
            // A server that says how long to wait is obeyed, if that is longer than our schedule.
            (
                CollectorError::Server {
                    retry_after: Some(wait),
                    ..
                },
                Some(delay),
            ) => Some(delay.max(*wait)),
            (_, delay) => delay,
        })
        .await;
        result.map_err(|error| match error {
            CollectorError::Timeout { url, .. } => CollectorError::Timeout {
                url,
                attempts: attempts.load(std::sync::atomic::Ordering::Relaxed),
            },
            other => other,
        })
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        method: &'static str,
        url: &str,
    ) -> Result<Wrapper<T>, CollectorError> {
        if let Some(remaining) = self.stats().quota_remaining
            && remaining <= self.quota_reserve
        {
            return Err(CollectorError::QuotaReserve {
                remaining,
                reserve: self.quota_reserve,
            });
        }
        let wait_until = self
            .backoff_until
            .lock()
            .ok()
            .and_then(|b| b.get(method).copied());
        if let Some(deadline) = wait_until {
            tokio::time::sleep_until(deadline).await;
        }
        self.limiter.until_ready().await;

        let mut request_url = Url::parse(url).map_err(|e| CollectorError::Config {
            path: "<cross_validated.base_url>".into(),
            message: format!("{url} is not a valid URL: {e}"),
        })?;
        if let Some(key) = &self.key {
            request_url.query_pairs_mut().append_pair("key", key);
        }
        if let Ok(mut stats) = self.stats.lock() {
            stats.requests += 1;
            stats
                .sent
                .push((method.to_owned(), tokio::time::Instant::now()));
        }
        let response = self
            .http
            .get(request_url)
            .send()
            .await
            .map_err(|e| send_error(url, e))?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let body = response.bytes().await.map_err(|e| send_error(url, e))?;

        if status.is_success() {
            let wrapper: Wrapper<T> =
                serde_json::from_slice(&body).map_err(|source| CollectorError::Json {
                    url: url.to_owned(),
                    source,
                })?;
            if let Ok(mut stats) = self.stats.lock() {
                stats.quota_max = wrapper.quota_max.or(stats.quota_max);
                stats.quota_remaining = wrapper.quota_remaining.or(stats.quota_remaining);
            }
            if let Some(seconds) = wrapper.backoff.filter(|s| *s > 0) {
                let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
                if let Ok(mut backoff) = self.backoff_until.lock() {
                    backoff.insert(method, deadline);
                }
            }
            return Ok(wrapper);
        }
        let api_error = serde_json::from_slice::<WireError>(&body).ok();
        let code = status.as_u16();
        Err(match (code, api_error) {
            (502, Some(e)) if e.error_name == "throttle_violation" => {
                CollectorError::ThrottleViolation {
                    url: url.to_owned(),
                    message: e.error_message,
                }
            }
            (500..=599, _) => CollectorError::Server {
                url: url.to_owned(),
                status: code,
                retry_after: wait,
            },
            (_, Some(e)) => CollectorError::Api {
                api: "stackexchange",
                url: url.to_owned(),
                status: code,
                error_id: e.error_id,
                error_name: e.error_name,
                message: decode_entities(&e.error_message).into_owned(),
            },
            (_, None) => CollectorError::Status {
                url: url.to_owned(),
                status: code,
                body: body_excerpt(&body),
            },
        })
    }
}

fn url_with(base: &str, params: &[(&str, String)]) -> String {
    match Url::parse_with_params(base, params) {
        Ok(url) => url.to_string(),
        Err(_) => {
            let query: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{base}?{}", query.join("&"))
        }
    }
}

/// The CC BY-SA version that covers StackExchange content created at `unix_seconds`: 2.5 before
/// 2011-04-08, 3.0 before 2018-05-02, 4.0 since (StackExchange's published licensing dates).
pub fn license_for(unix_seconds: i64) -> &'static str {
    if unix_seconds < 1_302_220_800 {
        "CC BY-SA 2.5"
    } else if unix_seconds < 1_525_219_200 {
        "CC BY-SA 3.0"
    } else {
        "CC BY-SA 4.0"
    }
}

/// Builds the artifact row of a question and its answers (answers are ordered accepted first,
/// then by score, then by id, so the row does not depend on the API's page order).
pub fn to_post(
    question: WireQuestion,
    mut answers: Vec<WireAnswer>,
    site_url: &str,
    fetched_at: Timestamp,
) -> CrossValidatedPost {
    answers.sort_by(|a, b| {
        b.is_accepted
            .cmp(&a.is_accepted)
            .then(b.score.cmp(&a.score))
            .then(a.answer_id.cmp(&b.answer_id))
    });
    let site_url = site_url.trim_end_matches('/');
    let (author_name, author_id) = owner_fields(question.owner.as_ref());
    CrossValidatedPost {
        question_id: question.question_id,
        title: decode_entities(&question.title).into_owned(),
        body_text: html_to_text(&question.body),
        body_html: question.body,
        tags: question.tags,
        score: question.score,
        view_count: question.view_count,
        answer_count: question.answer_count,
        is_answered: question.is_answered,
        accepted_answer_id: question.accepted_answer_id,
        created_at: Timestamp::from_unix_seconds(question.creation_date),
        link: question.link,
        author_name,
        author_id,
        license: license_for(question.creation_date).to_owned(),
        answers: answers
            .into_iter()
            .map(|a| {
                let (author_name, author_id) = owner_fields(a.owner.as_ref());
                CrossValidatedAnswer {
                    answer_id: a.answer_id,
                    body_text: html_to_text(&a.body),
                    body_html: a.body,
                    score: a.score,
                    is_accepted: a.is_accepted,
                    created_at: Timestamp::from_unix_seconds(a.creation_date),
                    author_name,
                    author_id,
                    link: format!("{site_url}/a/{}", a.answer_id),
                }
            })
            .collect(),
        fetched_at,
    }
}

fn owner_fields(owner: Option<&WireOwner>) -> (Option<String>, Option<i64>) {
    match owner {
        Some(owner) => (
            owner
                .display_name
                .as_deref()
                .map(|n| decode_entities(n).into_owned()),
            owner.user_id,
        ),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn license_follows_the_creation_date() {
        assert_eq!(license_for(1_200_000_000), "CC BY-SA 2.5");
        assert_eq!(license_for(1_302_220_800), "CC BY-SA 3.0");
        assert_eq!(license_for(1_525_219_199), "CC BY-SA 3.0");
        assert_eq!(license_for(1_525_219_200), "CC BY-SA 4.0");
    }

    #[test]
    fn debug_never_shows_the_key() {
        let client = StackExchangeClient::new(
            &CrossValidatedConfig::default(),
            &HttpConfig::default(),
            Some("secret-key-123".into()),
        )
        .expect("client builds");
        let shown = format!("{client:?}");
        assert!(!shown.contains("secret-key-123"), "{shown}");
        assert!(
            !client
                .questions_url("ab-test", 1, QuestionFilter::default())
                .contains("secret")
        );
    }
}
