//! Graceful shutdown: stop accepting on SIGTERM or Ctrl-C (or when a test says so), let in-flight
//! requests finish, and give up on them after the grace period.

use std::future::Future;
use std::time::Duration;

use trigger::Trigger;

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what `docker stop` and systemd send).
pub async fn signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C; stop the server with SIGTERM");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM; stop the server with Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C: finishing in-flight requests"),
        () = terminate => tracing::info!("SIGTERM: finishing in-flight requests"),
    }
}

/// Serves `router` on `listener` until `stop` resolves, then waits up to `grace` for in-flight
/// requests (streams included) to finish. Returns whether they all finished in time.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    stop: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<bool> {
    let trigger = Trigger::default();
    let stopped = trigger.clone();
    let server = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        stop.await;
        stopped.fire();
    });
    let mut server = std::pin::pin!(server.into_future());
    tokio::select! {
        result = &mut server => return result.map(|()| true),
        () = trigger.wait() => {}
    }
    // The stop signal has fired: axum now refuses new connections and drains the open ones.
    match tokio::time::timeout(grace, server).await {
        Ok(result) => result.map(|()| true),
        Err(_elapsed) => {
            tracing::warn!(
                grace_secs = grace.as_secs(),
                "in-flight requests did not finish within the grace period; dropping them"
            );
            Ok(false)
        }
    }
}

/// A one-shot flag that many tasks can wait on.
mod trigger {
    use std::sync::Arc;

    use tokio::sync::watch;

    /// Fires once; every clone's `wait` then resolves.
    #[derive(Clone)]
    pub struct Trigger(Arc<watch::Sender<bool>>);

    impl Default for Trigger {
        fn default() -> Self {
            Self(Arc::new(watch::channel(false).0))
        }
    }

    impl Trigger {
        pub fn fire(&self) {
            self.0.send_replace(true);
        }

        pub async fn wait(&self) {
            let mut rx = self.0.subscribe();
            // An error means the sender is gone, which cannot happen while `self` holds it.
            let _ = rx.wait_for(|fired| *fired).await;
        }
    }
}
