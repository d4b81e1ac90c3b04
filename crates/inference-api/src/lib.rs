//! The HTTP API of Lift: an axum server over the `assistant` crate. It answers questions as JSON
//! or server-sent events (`POST /query`), as an OpenAI-compatible model
//! (`POST /v1/chat/completions`), runs calculations (`POST /calculate/{kind}`), lets clients
//! browse the knowledge graph (`GET /concepts/{id}`, `GET /graph/neighborhood`), stores feedback
//! (`POST /feedback`), and reports `GET /health`, `GET /ready`, `GET /metrics` (Prometheus) and
//! its own OpenAPI document (`GET /openapi.json`, with an offline docs page at `/docs`).
//!
//! Input: an [`AppState`] holding an opened `assistant::Assistant` and a [`ServerConfig`]
//! (`configs/server.toml`). Output: a [`axum::Router`] from [`app`], which tests drive without a
//! socket and the `inference-api` binary serves.
//!
//! What this crate must not depend on: HTTP client crates (it serves, it does not call out; the
//! tests use the `llm` crate's client), any pipeline stage, or the asset cache in the library
//! (only the binary resolves model paths). It is the only crate that knows HTTP serving, and the
//! only place where errors become status codes: bad input gets 4xx with a message that says what
//! to fix, failures inside the pipeline get a generic 5xx and their details go to the log.
//!
//! Design choice: the concurrency slot of an answering request is held by the response *body*,
//! not by the handler. A streamed answer returns its headers at once and generates for seconds
//! afterwards; a limit released when the handler returns would bound nothing. Queued requests
//! beyond `limits.max_queue` get 429 at once rather than waiting without bound, so that a load
//! balancer can send them elsewhere.

pub mod auth;
pub mod config;
pub mod errors;
pub mod limits;
pub mod metrics;
pub mod routes;
pub mod shutdown;
pub mod state;
pub mod wire;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, Request, header};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

pub use config::ServerConfig;
pub use state::AppState;

/// The request-id header: taken from the client when present (a proxy's id), else generated,
/// and returned on every response.
pub const REQUEST_ID: &str = "x-request-id";

/// The whole API.
pub fn app(state: AppState) -> Router {
    let config = state.config().clone();
    let request_id = HeaderName::from_static(REQUEST_ID);

    // Answering routes: behind the concurrency limit, which holds a slot until the body ends.
    let answering = Router::new()
        .route("/query", post(routes::query::query))
        .route("/v1/chat/completions", post(routes::chat::chat_completions))
        .route_layer(from_fn_with_state(
            state.limiter().clone(),
            limits::limit_concurrency,
        ));
    let mut protected = Router::new()
        .merge(answering)
        .route("/calculate/{kind}", post(routes::calculate))
        .route("/concepts/{id}", get(routes::concept))
        .route("/graph/neighborhood", get(routes::neighborhood))
        .route("/feedback", post(routes::feedback))
        .route("/metrics", get(routes::metrics))
        .route_layer(from_fn_with_state(
            config.request_timeout(),
            limits::timeout,
        ));
    if let Some(token) = state.token() {
        protected = protected.route_layer(from_fn_with_state(token.clone(), auth::require_token));
    }

    let docs = SwaggerUi::new("/docs")
        .url("/openapi.json", routes::ApiDoc::openapi())
        .config(utoipa_swagger_ui::Config::default().validator_url("none"));
    let public = Router::new()
        .route("/health", get(routes::health))
        .route("/ready", get(routes::ready))
        .merge(docs);

    let registry = state.metrics().clone();
    Router::new()
        .merge(protected)
        .merge(public)
        .fallback(errors::not_found)
        .method_not_allowed_fallback(errors::method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(config.server.max_body_bytes))
        .layer(from_fn_with_state(registry, metrics::track))
        .layer(cors(&config.cors))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = request
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!(
                    "request",
                    request_id = %id,
                    method = %request.method(),
                    path = %request.uri().path(),
                )
            }),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// The CORS layer the config asks for; none at all when no origin is allowed.
fn cors(config: &config::CorsConfig) -> CorsLayer {
    if config.allowed_origins.is_empty() {
        return CorsLayer::new();
    }
    let origins = if config.allowed_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            config
                .allowed_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION, header::ACCEPT])
        .expose_headers([HeaderName::from_static(REQUEST_ID), header::RETRY_AFTER])
        .max_age(Duration::from_secs(config.max_age_secs))
}
