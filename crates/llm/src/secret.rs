//! API keys that cannot leak by accident: no `Debug`, `Display` or `Serialize` shows them, and
//! every message that comes back from a server is scrubbed of them before it enters an error.

use std::fmt;

/// An API key. Its `Debug` prints `ApiKey(<redacted>)`; the value is reachable only inside this
/// crate, where it goes into a request header and nowhere else.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// Reads a key from an environment variable (`ANTHROPIC_API_KEY`, say).
    pub fn from_env(var: &str) -> Result<Self, crate::Error> {
        match std::env::var(var) {
            Ok(key) if !key.trim().is_empty() => Ok(Self(key.trim().to_owned())),
            _ => Err(crate::Error::MissingApiKey {
                var: var.to_owned(),
            }),
        }
    }

    /// The key itself, for a request header.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Replaces every occurrence of the key in `text`. Servers sometimes echo a request's headers
/// back in an error body; this keeps such an echo out of our errors and logs.
pub(crate) fn redact(text: &str, key: Option<&ApiKey>) -> String {
    match key {
        Some(key) if !key.0.is_empty() => text.replace(&key.0, "<redacted>"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
// Tests assert by unwrapping: a panic with the error is the failure report.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_redact_hide_the_key() {
        let key = ApiKey::new("sk-secret-123");
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        assert_eq!(
            redact("bad key sk-secret-123 given", Some(&key)),
            "bad key <redacted> given"
        );
        assert_eq!(redact("nothing", None), "nothing");
    }
}
