//! The route handlers. Answering routes (`query`, `chat`) sit behind the concurrency limit; the
//! browsing and calculator routes are cheap and run without it; `health`, `ready` and the docs are
//! public even when auth is on, so that load balancers and people can reach them.

pub mod chat;
pub mod query;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::OpenApi;

use crate::errors::{ApiError, ApiJson, ApiQuery, ErrorBody};
use crate::state::AppState;
use crate::wire::{
    CalculationResponse, Concept, FeedbackRequest, FeedbackResponse, Health, Neighborhood,
    NeighborhoodParams, Ready,
};

/// Liveness: the process answers.
#[utoipa::path(get, path = "/health", tag = "operations",
    responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// Readiness: the model and the store are loaded.
#[utoipa::path(get, path = "/ready", tag = "operations",
    responses((status = 200, body = Ready), (status = 503, description = "Still loading", body = Ready)))]
pub async fn ready(State(state): State<AppState>) -> Response {
    let limiter = state.limiter();
    let (status, body) = match state.assistant() {
        Ok(assistant) => (
            StatusCode::OK,
            Ready {
                status: "ready".into(),
                model: Some(assistant.model_id().to_owned()),
                running: limiter.running(),
                queued: limiter.queued(),
            },
        ),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Ready {
                status: "loading".into(),
                model: None,
                running: 0,
                queued: 0,
            },
        ),
    };
    (status, Json(body)).into_response()
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain")),
    security((), ("bearer" = [])))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        state.metrics().render(),
    )
        .into_response()
}

/// Run one calculation directly, with the JSON inputs of `stats --json`.
#[utoipa::path(post, path = "/calculate/{kind}", tag = "calculator",
    params(("kind" = String, Path, description = "The calculation, e.g. `sample-size-proportions`; an unknown kind's error lists the known ones")),
    request_body(content = Object, description = "The inputs, as `stats <kind> --json` takes them (docs/stats.md)"),
    responses(
        (status = 200, body = CalculationResponse),
        (status = 404, description = "Unknown kind", body = ErrorBody),
        (status = 422, description = "Invalid inputs", body = ErrorBody),
    ),
    security((), ("bearer" = [])))]
pub async fn calculate(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    ApiJson(inputs): ApiJson<serde_json::Value>,
) -> Result<Json<CalculationResponse>, ApiError> {
    let assistant = state.assistant()?;
    let calculation = assistant.calculate(&kind, inputs)?;
    let calculation = serde_json::to_value(&calculation).map_err(|e| ApiError::internal(&e))?;
    Ok(Json(CalculationResponse { calculation }))
}

/// A concept of the knowledge graph.
#[utoipa::path(get, path = "/concepts/{id}", tag = "graph",
    params(("id" = String, Path, description = "Concept id, e.g. `statistical_power`")),
    responses((status = 200, body = Concept), (status = 404, body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn concept(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Concept>, ApiError> {
    let assistant = state.assistant()?;
    match assistant.concept(&id) {
        Some(card) => Ok(Json(Concept::from(card))),
        None => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_concept",
            format!(
                "no concept with id {id:?}; find ids in the `entities` and `related_concepts` of an answer"
            ),
        )),
    }
}

/// The concepts within `depth` relations of a concept.
#[utoipa::path(get, path = "/graph/neighborhood", tag = "graph",
    params(NeighborhoodParams),
    responses((status = 200, body = Neighborhood), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security((), ("bearer" = [])))]
pub async fn neighborhood(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<NeighborhoodParams>,
) -> Result<Json<Neighborhood>, ApiError> {
    let depth = params.depth.unwrap_or(1);
    if !(1..=3).contains(&depth) {
        return Err(ApiError::invalid(format!(
            "depth must be 1, 2 or 3, got {depth}"
        )));
    }
    let assistant = state.assistant()?;
    let n = assistant.neighborhood(&params.concept, depth)?;
    Ok(Json(Neighborhood::from(n)))
}

/// Rate an answer; stored in SurrealDB with the query.
#[utoipa::path(post, path = "/feedback", tag = "answers",
    request_body = FeedbackRequest,
    responses(
        (status = 201, body = FeedbackResponse),
        (status = 404, description = "Unknown query_id", body = ErrorBody),
        (status = 422, description = "Rating outside 1..=5, wrong types", body = ErrorBody),
    ),
    security((), ("bearer" = [])))]
pub async fn feedback(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<FeedbackRequest>,
) -> Result<Response, ApiError> {
    if request
        .comment
        .as_deref()
        .is_some_and(|c| c.chars().count() > 4_000)
    {
        return Err(ApiError::invalid(
            "comment has more than 4000 characters; shorten it",
        ));
    }
    let assistant = state.assistant()?;
    assistant
        .record_feedback(assistant::Feedback {
            query_id: request.query_id.clone(),
            rating: request.rating,
            comment: request.comment,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(FeedbackResponse {
            status: "recorded".into(),
            query_id: request.query_id,
        }),
    )
        .into_response())
}

/// The OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Lift assistant API",
        description = "Answers to experimentation questions: exact calculations from the `stats` engine, definitions and relations from the knowledge graph, with citations, phrased by a small local model. Auth: `Authorization: Bearer <token>` when the server has a token (always when it binds a non-loopback address).",
    ),
    paths(
        query::query,
        chat::chat_completions,
        calculate,
        concept,
        neighborhood,
        feedback,
        health,
        ready,
        metrics,
    ),
    components(schemas(
        crate::wire::AnswerHead,
        crate::wire::TokenEvent,
        chat::ChatChunk,
    )),
    modifiers(&BearerScheme),
    tags(
        (name = "answers", description = "Questions and feedback"),
        (name = "openai", description = "OpenAI-compatible chat completions"),
        (name = "calculator", description = "The calculation engine"),
        (name = "graph", description = "Browse the knowledge graph"),
        (name = "operations", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}
