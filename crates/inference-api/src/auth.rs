//! Optional bearer-token authentication. Off on a loopback address unless `auth.required` is set;
//! always on for any other address, where starting without a token is refused: an assistant that
//! runs a model on every request must not be open to a whole network by accident.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::AuthConfig;
use crate::errors::ApiError;

/// A token that starting the server with this config and address cannot do without.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Auth is required but no token is set.
    #[error(
        "binding {addr} needs a bearer token{why}: set the environment variable {env} to a secret of at least 16 characters (or bind 127.0.0.1)"
    )]
    MissingToken {
        /// The address.
        addr: SocketAddr,
        /// Why auth is required.
        why: &'static str,
        /// The variable to set.
        env: String,
    },
    /// The token is too short to be a secret.
    #[error(
        "the token in {env} has {len} characters; use at least 16 (e.g. `openssl rand -hex 32`)"
    )]
    WeakToken {
        /// The variable.
        env: String,
        /// Its length.
        len: usize,
    },
}

/// The secret every protected request must present. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Token(Arc<str>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// A token from its text.
    pub fn new(secret: impl Into<Arc<str>>) -> Self {
        Self(secret.into())
    }

    /// Whether `presented` equals the token, in time that depends only on the lengths.
    pub fn matches(&self, presented: &str) -> bool {
        let a = self.0.as_bytes();
        let b = presented.as_bytes();
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// Decides whether auth is on: `Ok(None)` when it is off, `Ok(Some(token))` when on, and an
/// error when it must be on but no usable token is set. `env_value` is the variable's value.
pub fn resolve(
    config: &AuthConfig,
    addr: SocketAddr,
    env_value: Option<String>,
) -> Result<Option<Token>, AuthError> {
    let value = env_value.filter(|v| !v.trim().is_empty());
    let needed = config.required || !addr.ip().is_loopback();
    match value {
        Some(secret) => {
            let len = secret.chars().count();
            if len < 16 {
                return Err(AuthError::WeakToken {
                    env: config.token_env.clone(),
                    len,
                });
            }
            Ok(Some(Token::new(secret)))
        }
        None if needed => Err(AuthError::MissingToken {
            addr,
            why: if config.required {
                " (auth.required is set)"
            } else {
                " because it is not a loopback address"
            },
            env: config.token_env.clone(),
        }),
        None => Ok(None),
    }
}

/// Middleware: 401 unless the request carries `Authorization: Bearer <token>`.
pub async fn require_token(State(token): State<Token>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    match presented {
        Some(p) if token.matches(p) => next.run(request).await,
        _ => {
            let mut response = ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "send `Authorization: Bearer <token>` with the server's token",
            )
            .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("a socket address")
    }

    #[test]
    fn loopback_is_open_by_default_and_other_addresses_need_a_token() {
        let config = AuthConfig::default();
        assert!(
            resolve(&config, addr("127.0.0.1:8080"), None)
                .expect("ok")
                .is_none()
        );
        assert!(
            resolve(&config, addr("[::1]:8080"), None)
                .expect("ok")
                .is_none()
        );
        let error = resolve(&config, addr("0.0.0.0:8080"), None).expect_err("refused");
        assert!(error.to_string().contains("LIFT_API_TOKEN"), "{error}");
        let token = resolve(&config, addr("0.0.0.0:8080"), Some("x".repeat(32)))
            .expect("ok")
            .expect("on");
        assert!(token.matches(&"x".repeat(32)));
        assert!(!token.matches(&"x".repeat(31)));
        assert!(!token.matches(&format!("{}y", "x".repeat(31))));
        assert_eq!(format!("{token:?}"), "Token(<redacted>)");
    }

    #[test]
    fn required_auth_and_weak_tokens_are_refused() {
        let config = AuthConfig {
            required: true,
            ..AuthConfig::default()
        };
        assert!(matches!(
            resolve(&config, addr("127.0.0.1:1"), None),
            Err(AuthError::MissingToken { .. })
        ));
        assert!(matches!(
            resolve(&config, addr("127.0.0.1:1"), Some("short".into())),
            Err(AuthError::WeakToken { len: 5, .. })
        ));
        // A token that is set is used on loopback too.
        assert!(
            resolve(
                &AuthConfig::default(),
                addr("127.0.0.1:1"),
                Some("k".repeat(20))
            )
            .expect("ok")
            .is_some()
        );
    }
}
