//! The collector's configuration (`configs/collector.toml`): which sources to collect, their
//! queries and limits, and the politeness settings. Every field has a default, so a partial file
//! is valid; unknown keys are refused so a typo does not silently fall back to a default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::CollectorError;

/// The whole collector configuration.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollectorConfig {
    /// Settings shared by the HTTP clients.
    pub http: HttpConfig,
    /// Cross Validated through the StackExchange API.
    pub cross_validated: CrossValidatedConfig,
    /// arXiv's query API.
    pub arxiv: ArxivConfig,
    /// Local document folders.
    pub local: LocalConfig,
}

/// HTTP settings shared by both remote sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// The `User-Agent` header: say who you are, as both APIs ask.
    pub user_agent: String,
    /// Whole-request timeout in seconds; 0 disables it.
    pub timeout_secs: u64,
    /// Connect timeout in seconds; 0 disables it.
    pub connect_timeout_secs: u64,
    /// Retries after the first attempt, for timeouts, broken connections and 5xx answers.
    pub max_retries: u32,
    /// First retry delay in milliseconds; it doubles on each retry.
    pub retry_min_delay_ms: u64,
    /// Cap on one retry delay, in seconds.
    pub retry_max_delay_secs: u64,
}

/// Cross Validated (StackExchange API 2.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CrossValidatedConfig {
    /// Whether `collector all` collects this source.
    pub enabled: bool,
    /// Whether `collector all` may skip this source when the network is unreachable (one line is
    /// printed and the exit status stays 0).
    pub optional: bool,
    /// API base URL including the version, for example `https://api.stackexchange.com/2.3`.
    pub base_url: String,
    /// The API's site parameter (`stats` is Cross Validated).
    pub site: String,
    /// The site's public URL, used to build answer links.
    pub site_url: String,
    /// Tags, one query each; the union is deduplicated by question id.
    pub tags: Vec<String>,
    /// Questions below this score are skipped (sent as `min` with `sort=votes`).
    pub min_score: i64,
    /// Only questions created on or after this date (`YYYY-MM-DD`, UTC).
    pub from_date: Option<String>,
    /// Only questions created before this date (`YYYY-MM-DD`, UTC).
    pub to_date: Option<String>,
    /// At most this many questions per tag.
    pub max_questions_per_tag: u32,
    /// Page size of question queries (at most 100).
    pub page_size: u32,
    /// Client-side request rate limit (the API bans at 30 per second).
    pub requests_per_second: u32,
    /// Stop cleanly when `quota_remaining` falls to this many requests.
    pub quota_reserve: i64,
    /// The environment variable holding the optional API key.
    pub key_env: String,
}

/// arXiv's query API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArxivConfig {
    /// Whether `collector all` collects this source.
    pub enabled: bool,
    /// Whether `collector all` may skip this source when the network is unreachable.
    pub optional: bool,
    /// The query endpoint, for example `https://export.arxiv.org/api/query`.
    pub base_url: String,
    /// Minimum seconds between two requests (arXiv asks for at least 3).
    pub min_interval_secs: f64,
    /// Results per request (at most 2000).
    pub page_size: u32,
    /// `submittedDate`, `lastUpdatedDate` or `relevance`.
    pub sort_by: String,
    /// The search queries.
    pub queries: Vec<ArxivQuery>,
}

/// One arXiv search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArxivQuery {
    /// A short stable name, used in the checkpoint and the progress bar.
    pub name: String,
    /// The `search_query` parameter, for example `abs:"A/B test" AND cat:stat.ME`.
    pub search_query: String,
    /// At most this many results for this query (arXiv serves at most 30000).
    pub max_results: u32,
}

/// Local document folders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LocalConfig {
    /// Whether `collector all` collects this source.
    pub enabled: bool,
    /// Folders to read, relative to the project root unless absolute.
    pub folders: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            user_agent: format!(
                "lift-collector/{} (in-house experimentation assistant; polite research crawler)",
                env!("CARGO_PKG_VERSION")
            ),
            timeout_secs: 30,
            connect_timeout_secs: 10,
            max_retries: 4,
            retry_min_delay_ms: 1000,
            retry_max_delay_secs: 60,
        }
    }
}

impl Default for CrossValidatedConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            optional: true,
            base_url: "https://api.stackexchange.com/2.3".into(),
            site: "stats".into(),
            site_url: "https://stats.stackexchange.com".into(),
            tags: [
                "ab-test",
                "experiment-design",
                "sample-size",
                "statistical-power",
                "hypothesis-testing",
                "p-value",
                "confidence-interval",
                "multiple-comparisons",
                "statistical-significance",
                "t-test",
            ]
            .map(String::from)
            .to_vec(),
            min_score: 3,
            from_date: None,
            to_date: None,
            max_questions_per_tag: 200,
            page_size: 100,
            requests_per_second: 4,
            quota_reserve: 20,
            key_env: "STACKEXCHANGE_KEY".into(),
        }
    }
}

impl Default for ArxivConfig {
    fn default() -> Self {
        let query = |name: &str, search_query: &str| ArxivQuery {
            name: name.into(),
            search_query: search_query.into(),
            max_results: 200,
        };
        Self {
            enabled: true,
            optional: true,
            base_url: "https://export.arxiv.org/api/query".into(),
            min_interval_secs: 3.0,
            page_size: 100,
            sort_by: "submittedDate".into(),
            queries: vec![
                query(
                    "ab-testing",
                    r#"(abs:"A/B test" OR abs:"A/B testing") AND (cat:stat.ME OR cat:stat.AP OR cat:cs.LG OR cat:econ.EM)"#,
                ),
                query(
                    "online-controlled-experiments",
                    r#"abs:"online controlled experiments" OR abs:"online experiments""#,
                ),
                query(
                    "variance-reduction",
                    r#"abs:"variance reduction" AND (abs:experiment OR abs:CUPED) AND (cat:stat.ME OR cat:stat.AP OR cat:econ.EM)"#,
                ),
                query(
                    "sequential-testing",
                    r#"(abs:"sequential testing" OR abs:"always valid" OR abs:"anytime-valid") AND (cat:stat.ME OR cat:stat.AP OR cat:cs.LG)"#,
                ),
                query(
                    "multiple-testing",
                    r#"(abs:"multiple testing" OR abs:"false discovery rate") AND (cat:stat.ME OR cat:stat.AP)"#,
                ),
                query(
                    "interference",
                    r#"abs:interference AND (abs:experiment OR abs:"randomized") AND (cat:stat.ME OR cat:econ.EM OR cat:stat.AP)"#,
                ),
            ],
        }
    }
}

impl Default for LocalConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            folders: vec!["data/knowledge/playbook".into()],
        }
    }
}

impl CollectorConfig {
    /// Reads and validates a TOML config file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, CollectorError> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|e| CollectorError::io("read", path, e))?;
        Self::from_toml(&text, path)
    }

    /// Parses and validates TOML text; `path` only names the source in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, CollectorError> {
        let config: Self = toml::from_str(text).map_err(|e| CollectorError::Config {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    /// Checks the limits both APIs publish, so a config cannot make the collector impolite.
    pub fn validate(&self, path: &Path) -> Result<(), CollectorError> {
        let fail = |message: String| {
            Err(CollectorError::Config {
                path: path.to_path_buf(),
                message,
            })
        };
        let cv = &self.cross_validated;
        if !(1..=100).contains(&cv.page_size) {
            return fail(format!(
                "cross_validated.page_size is {}, expected 1 to 100",
                cv.page_size
            ));
        }
        if !(1..30).contains(&cv.requests_per_second) {
            return fail(format!(
                "cross_validated.requests_per_second is {}, expected 1 to 29 (the API bans at 30)",
                cv.requests_per_second
            ));
        }
        if cv.quota_reserve < 0 {
            return fail("cross_validated.quota_reserve must not be negative".into());
        }
        for (field, value) in [("from_date", &cv.from_date), ("to_date", &cv.to_date)] {
            if let Some(text) = value
                && parse_date(text).is_none()
            {
                return fail(format!(
                    "cross_validated.{field} is {text:?}, expected YYYY-MM-DD"
                ));
            }
        }
        let ax = &self.arxiv;
        if ax.min_interval_secs.is_nan() || ax.min_interval_secs < 3.0 {
            return fail(format!(
                "arxiv.min_interval_secs is {}, expected at least 3 (arXiv's published etiquette)",
                ax.min_interval_secs
            ));
        }
        if !(1..=2000).contains(&ax.page_size) {
            return fail(format!(
                "arxiv.page_size is {}, expected 1 to 2000",
                ax.page_size
            ));
        }
        if !["submittedDate", "lastUpdatedDate", "relevance"].contains(&ax.sort_by.as_str()) {
            return fail(format!(
                "arxiv.sort_by is {:?}, expected submittedDate, lastUpdatedDate or relevance",
                ax.sort_by
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for query in &ax.queries {
            if query.max_results > 30_000 {
                return fail(format!(
                    "arxiv query {:?} asks for {} results, arXiv serves at most 30000",
                    query.name, query.max_results
                ));
            }
            if !names.insert(query.name.as_str()) {
                return fail(format!("arxiv query name {:?} is used twice", query.name));
            }
        }
        Ok(())
    }
}

impl HttpConfig {
    /// The whole-request timeout, if any.
    pub fn timeout(&self) -> Option<Duration> {
        (self.timeout_secs > 0).then(|| Duration::from_secs(self.timeout_secs))
    }

    /// The connect timeout, if any.
    pub fn connect_timeout(&self) -> Option<Duration> {
        (self.connect_timeout_secs > 0).then(|| Duration::from_secs(self.connect_timeout_secs))
    }
}

impl CrossValidatedConfig {
    /// `from_date` as Unix seconds.
    pub fn from_unix(&self) -> Option<i64> {
        self.from_date.as_deref().and_then(parse_date)
    }

    /// `to_date` as Unix seconds.
    pub fn to_unix(&self) -> Option<i64> {
        self.to_date.as_deref().and_then(parse_date)
    }
}

/// Resolves a configured folder against the project root.
pub fn resolve_folder(base: &Path, folder: &str) -> PathBuf {
    let path = Path::new(folder);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

fn parse_date(text: &str) -> Option<i64> {
    let date: jiff::civil::Date = text.parse().ok()?;
    let zoned = date.to_zoned(jiff::tz::TimeZone::UTC).ok()?;
    Some(zoned.timestamp().as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_config_parses_and_keeps_the_documented_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/collector.toml");
        let config = CollectorConfig::load(&path).expect("shipped config is valid");
        assert_eq!(
            config.local.folders,
            vec!["data/knowledge/playbook".to_string()]
        );
        assert_eq!(
            config.cross_validated.tags,
            CrossValidatedConfig::default().tags
        );
        assert!(config.arxiv.min_interval_secs >= 3.0);
        assert!(config.cross_validated.requests_per_second < 30);
    }

    #[test]
    fn impolite_settings_are_refused() {
        let err = CollectorConfig::from_toml("[arxiv]\nmin_interval_secs = 1.0\n", Path::new("x"))
            .expect_err("1 s spacing is refused");
        assert!(err.to_string().contains("at least 3"), "{err}");
        let err = CollectorConfig::from_toml(
            "[cross_validated]\nrequests_per_second = 30\n",
            Path::new("x"),
        )
        .expect_err("30/s is refused");
        assert!(err.to_string().contains("bans at 30"), "{err}");
        let err = CollectorConfig::from_toml("[cross_validated]\ntagz = []\n", Path::new("x"))
            .expect_err("unknown key");
        assert!(err.to_string().contains("tagz"), "{err}");
    }

    #[test]
    fn dates_are_utc_midnight() {
        assert_eq!(parse_date("2018-05-02"), Some(1_525_219_200));
        assert_eq!(parse_date("2018-13-02"), None);
    }
}
