//! `POST /query`: the assistant's answer as JSON, or as server-sent events (`head`, `token`…,
//! `done`; `error` if the pipeline fails after the stream started).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream::{self, BoxStream};

use crate::errors::{ApiError, ApiJson, ErrorBody};
use crate::limits::ResponseDeadline;
use crate::state::{AppState, reuse};
use crate::wire::{AnswerHead, QueryRequest, QueryResponse, TokenEvent};

/// Whether the client asked for SSE with its `Accept` header.
pub fn accepts_event_stream(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|t| t.trim().starts_with("text/event-stream"))
        })
}

/// Answer a question.
#[utoipa::path(
    post,
    path = "/query",
    tag = "answers",
    request_body = QueryRequest,
    responses(
        (status = 200, description = "The answer; with `stream: true` or `Accept: text/event-stream`, SSE events `head` (AnswerHead), `token` (TokenEvent)…, `done` (QueryResponse), or `error` (ErrorBody)", body = QueryResponse),
        (status = 400, description = "Malformed JSON or invalid UTF-8", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 413, description = "Body over the size limit", body = ErrorBody),
        (status = 422, description = "Empty or too long question, wrong field types, bad top_k", body = ErrorBody),
        (status = 429, description = "Queue full; retry after `retry-after` seconds", body = ErrorBody),
        (status = 503, description = "Loading, queue timeout, or the pipeline failed", body = ErrorBody),
        (status = 504, description = "No answer within the request timeout", body = ErrorBody),
    ),
    security((), ("bearer" = []))
)]
pub async fn query(
    State(state): State<AppState>,
    deadline: Option<Extension<ResponseDeadline>>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<QueryRequest>,
) -> Result<Response, ApiError> {
    let assistant = state.assistant()?.clone();
    let mut query = request.to_query();
    let streamed = request.stream || accepts_event_stream(&headers);
    query.generation_timeout = generation_budget(&state, deadline.map(|d| d.0), streamed);
    if streamed {
        let events = answer_events(&state, &assistant, query).await?;
        let deadline = state.config().stream_timeout();
        let sse = events.map(|event| Ok::<_, Infallible>(event.into_sse()));
        return Ok(Sse::new(with_deadline(sse.boxed(), deadline))
            .keep_alive(KeepAlive::default())
            .into_response());
    }
    let (answer, cached) = state.answer(&assistant, query).await?;
    Ok(axum::Json(QueryResponse::from_answer(&answer, cached)).into_response())
}

/// Time kept back from a request's budget for what follows generation: the number check, the
/// answer log write and the response.
const AFTER_GENERATION: Duration = Duration::from_secs(2);

/// The generation deadline that keeps an answer inside the server's own timeouts: the time left
/// until a JSON response must start, or the stream's whole budget. Under load the explanation is
/// then cut short (`timed_out`) instead of the request failing with 504.
pub fn generation_budget(
    state: &AppState,
    deadline: Option<ResponseDeadline>,
    streamed: bool,
) -> Option<Duration> {
    if streamed {
        Some(
            state
                .config()
                .stream_timeout()
                .saturating_sub(AFTER_GENERATION),
        )
    } else {
        deadline.map(|d| d.remaining(AFTER_GENERATION))
    }
}

/// One event of a streamed answer, in wire form.
#[derive(Debug, Clone)]
pub enum WireEvent {
    /// The structured part.
    Head(Box<AnswerHead>),
    /// Generated text.
    Token(String),
    /// The finished answer.
    Done(Box<QueryResponse>),
    /// The pipeline failed after the stream started.
    Error(ApiError),
}

impl WireEvent {
    fn into_sse(self) -> Event {
        let (name, data) = match self {
            Self::Head(head) => ("head", serde_json::to_string(&head)),
            Self::Token(text) => ("token", serde_json::to_string(&TokenEvent { text })),
            Self::Done(done) => ("done", serde_json::to_string(&done)),
            Self::Error(error) => ("error", serde_json::to_string(&error.body())),
        };
        Event::default()
            .event(name)
            .data(data.unwrap_or_else(|_| "{}".into()))
    }
}

/// The events of an answer: from the cache (head, the explanation as one token, done) or from
/// the assistant's stream. Errors before the first event (bad input) come back as `Err`, so that
/// they get a status code; later ones become an `Error` event.
pub async fn answer_events(
    state: &AppState,
    assistant: &Arc<assistant::Assistant>,
    query: assistant::Query,
) -> Result<BoxStream<'static, WireEvent>, ApiError> {
    let key = state.cache_key(assistant.model_id(), &query);
    if let Some(key) = &key
        && let Some(hit) = state.cached(key).await
    {
        let fresh = assistant
            .answer(assistant::Query {
                generate: false,
                ..query
            })
            .await?;
        let answer = reuse(&hit, &fresh);
        let mut events = vec![WireEvent::Head(Box::new(AnswerHead::from(&answer.head)))];
        if !answer.explanation.is_empty() {
            events.push(WireEvent::Token(answer.explanation.clone()));
        }
        events.push(WireEvent::Done(Box::new(QueryResponse::from_answer(
            &answer, true,
        ))));
        return Ok(stream::iter(events).boxed());
    }
    let inner = assistant.answer_stream(query).await?;
    let state = state.clone();
    let started = Instant::now();
    struct Progress {
        inner: assistant::AnswerStream,
        state: AppState,
        key: Option<String>,
        started: Instant,
        first_token: bool,
        over: bool,
    }
    let progress = Progress {
        inner,
        state,
        key,
        started,
        first_token: false,
        over: false,
    };
    let events = stream::unfold(progress, |mut p| async move {
        if p.over {
            return None;
        }
        let item = p.inner.next().await?;
        let event = match item {
            Ok(assistant::AnswerEvent::Head(head)) => {
                WireEvent::Head(Box::new(AnswerHead::from(&*head)))
            }
            Ok(assistant::AnswerEvent::Token { text }) => {
                if !p.first_token {
                    p.first_token = true;
                    p.state.metrics().observe(
                        "lift_time_to_first_token_seconds",
                        Vec::new(),
                        p.started.elapsed(),
                    );
                }
                WireEvent::Token(text)
            }
            Ok(assistant::AnswerEvent::Done(answer)) => {
                p.over = true;
                p.state.record_answer(&answer);
                if let Some(key) = p.key.take() {
                    p.state.remember(key, &answer).await;
                }
                WireEvent::Done(Box::new(QueryResponse::from_answer(&answer, false)))
            }
            Err(error) => {
                p.over = true;
                WireEvent::Error(ApiError::from(error))
            }
        };
        Some((event, p))
    });
    Ok(events.boxed())
}

/// Ends a stream with a timeout `error` event once `limit` has passed. Dropping the inner stream
/// cancels generation.
pub fn with_deadline(
    inner: BoxStream<'static, Result<Event, Infallible>>,
    limit: Duration,
) -> BoxStream<'static, Result<Event, Infallible>> {
    let deadline = tokio::time::Instant::now() + limit;
    stream::unfold(Some(inner), move |inner| async move {
        let mut inner = inner?;
        match tokio::time::timeout_at(deadline, inner.next()).await {
            Ok(Some(item)) => Some((item, Some(inner))),
            Ok(None) => None,
            Err(_elapsed) => {
                drop(inner);
                let error = ApiError::new(
                    axum::http::StatusCode::GATEWAY_TIMEOUT,
                    "timeout",
                    format!(
                        "the stream ran past {} s (server.stream_timeout_secs) and was stopped",
                        limit.as_secs()
                    ),
                );
                Some((Ok(WireEvent::Error(error).into_sse()), None))
            }
        }
    })
    .boxed()
}
