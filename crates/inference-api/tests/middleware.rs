//! The server's middleware on small routers whose handlers sleep or stream for a known time, so
//! that queueing, timeouts, auth and graceful shutdown can be observed exactly. These are the
//! same layer functions `app` uses; the assistant-backed routes are tested in `api.rs`.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use common::http;
use futures::StreamExt;
use inference_api::auth::{Token, require_token};
use inference_api::errors::ErrorBody;
use inference_api::limits::{Limiter, limit_concurrency, timeout};
use inference_api::metrics::Metrics;
use tower::ServiceExt;

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(400)).await;
    "done"
}

/// A body that streams three pieces 150 ms apart, like an answer being generated.
async fn streaming() -> Body {
    let pieces = futures::stream::iter(0..3).then(|i| async move {
        tokio::time::sleep(Duration::from_millis(150)).await;
        Ok::<_, std::io::Error>(format!("piece {i}\n"))
    });
    Body::from_stream(pieces)
}

fn limited(
    max_concurrent: usize,
    max_queue: usize,
    queue_timeout: Duration,
) -> (Router, Arc<Limiter>) {
    let limiter = Arc::new(Limiter::new(
        max_concurrent,
        max_queue,
        queue_timeout,
        Arc::new(Metrics::new()),
    ));
    let router = Router::new()
        .route("/slow", get(slow))
        .route("/stream", get(streaming))
        .route_layer(from_fn_with_state(limiter.clone(), limit_concurrency));
    (router, limiter)
}

async fn error_code(response: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    let body: ErrorBody = serde_json::from_slice(&bytes).expect("an error body");
    body.error.code
}

fn get_request(path: &str) -> Request<Body> {
    Request::get(path).body(Body::empty()).expect("request")
}

/// Sends a request and reads its whole body, as a server does before the slot is freed.
async fn fetch(router: Router, path: &str) -> (StatusCode, String) {
    let response = router.oneshot(get_request(path)).await.expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn a_full_queue_answers_429_with_retry_after_and_the_queued_request_still_runs() {
    let (router, limiter) = limited(1, 1, Duration::from_secs(10));
    let started = Instant::now();
    let first = tokio::spawn(fetch(router.clone(), "/slow"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = tokio::spawn(fetch(router.clone(), "/slow"));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!((limiter.running(), limiter.queued()), (1, 1));
    let third = router
        .clone()
        .oneshot(get_request("/slow"))
        .await
        .expect("infallible");
    assert_eq!(third.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(third.headers()["retry-after"], "1");
    assert_eq!(error_code(third).await, "overloaded");
    assert_eq!(
        first.await.expect("task"),
        (StatusCode::OK, "done".to_owned())
    );
    assert_eq!(
        second.await.expect("task"),
        (StatusCode::OK, "done".to_owned())
    );
    // The queued request ran after the first: two sleeps in sequence.
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((limiter.running(), limiter.queued()), (0, 0));
}

#[tokio::test]
async fn a_streamed_body_holds_its_slot_until_it_ends() {
    let (router, limiter) = limited(1, 0, Duration::from_secs(10));
    let response = router
        .clone()
        .oneshot(get_request("/stream"))
        .await
        .expect("infallible");
    // The handler has returned, but the body is still streaming: the slot is taken.
    assert_eq!(limiter.running(), 1);
    let refused = router
        .clone()
        .oneshot(get_request("/stream"))
        .await
        .expect("infallible");
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    assert_eq!(body, "piece 0\npiece 1\npiece 2\n");
    assert_eq!(limiter.running(), 0);
    let again = router
        .oneshot(get_request("/stream"))
        .await
        .expect("infallible");
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_dropped_stream_frees_its_slot() {
    let (router, limiter) = limited(1, 0, Duration::from_secs(10));
    let response = router
        .clone()
        .oneshot(get_request("/stream"))
        .await
        .expect("infallible");
    assert_eq!(limiter.running(), 1);
    // The client disconnects: hyper drops the body.
    drop(response);
    assert_eq!(limiter.running(), 0);
}

#[tokio::test]
async fn waiting_longer_than_the_queue_timeout_answers_503() {
    let (router, _limiter) = limited(1, 4, Duration::from_millis(100));
    let first = tokio::spawn(fetch(router.clone(), "/slow"));
    tokio::time::sleep(Duration::from_millis(30)).await;
    let second = router
        .clone()
        .oneshot(get_request("/slow"))
        .await
        .expect("infallible");
    assert_eq!(second.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(error_code(second).await, "queue_timeout");
    assert_eq!(first.await.expect("task").0, StatusCode::OK);
}

#[tokio::test]
async fn a_handler_slower_than_the_timeout_answers_504_json() {
    let router = Router::new()
        .route("/slow", get(slow))
        .route_layer(from_fn_with_state(Duration::from_millis(100), timeout));
    let started = Instant::now();
    let response = router
        .oneshot(get_request("/slow"))
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(started.elapsed() < Duration::from_millis(350));
    assert_eq!(error_code(response).await, "timeout");
}

#[tokio::test]
async fn bearer_auth_refuses_missing_and_wrong_tokens() {
    let secret = "0123456789abcdef0123";
    let router = Router::new()
        .route("/slow", get(|| async { "ok" }))
        .route_layer(from_fn_with_state(Token::new(secret), require_token));
    let cases = [
        (None, StatusCode::UNAUTHORIZED),
        (
            Some("Bearer wrong-token-wrong-token".to_owned()),
            StatusCode::UNAUTHORIZED,
        ),
        (Some(format!("Basic {secret}")), StatusCode::UNAUTHORIZED),
        (Some(format!("Bearer {secret}")), StatusCode::OK),
    ];
    for (header, expected) in cases {
        let mut request = Request::get("/slow");
        if let Some(h) = &header {
            request = request.header("authorization", h);
        }
        let response = router
            .clone()
            .oneshot(request.body(Body::empty()).expect("request"))
            .await
            .expect("infallible");
        assert_eq!(response.status(), expected, "{header:?}");
        if expected == StatusCode::UNAUTHORIZED {
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
                .await
                .expect("body");
            assert!(!String::from_utf8_lossy(&bytes).contains(secret));
        }
    }
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_and_then_stops_accepting() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let router = Router::new().route("/slow", get(slow));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(inference_api::shutdown::serve(
        listener,
        router,
        async move {
            let _ = stop_rx.await;
        },
        Duration::from_secs(5),
    ));
    let in_flight = tokio::spawn(http::get(addr, "/slow"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop_tx.send(()).expect("server waiting");
    let response = in_flight.await.expect("task").expect("response");
    assert_eq!(response.status, 200);
    assert_eq!(response.text(), "done");
    let drained = server.await.expect("task").expect("served");
    assert!(
        drained,
        "the in-flight request finished within the grace period"
    );
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the listener is closed after shutdown"
    );
}

#[tokio::test]
async fn shutdown_gives_up_after_the_grace_period() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = Router::new().route(
        "/forever",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(30)).await;
            "late"
        }),
    );
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(inference_api::shutdown::serve(
        listener,
        router,
        async move {
            let _ = stop_rx.await;
        },
        Duration::from_millis(200),
    ));
    let _client = tokio::spawn(http::get(addr, "/forever"));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    stop_tx.send(()).expect("server waiting");
    let drained = server.await.expect("task").expect("served");
    assert!(!drained);
    assert!(started.elapsed() < Duration::from_secs(2));
}
