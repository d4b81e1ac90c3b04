//! The arXiv query API client: paged searches, a real Atom parser (quick-xml with namespaces),
//! the error feed as a typed error, and arXiv's etiquette (one request every 3 seconds on a
//! single connection).

use std::sync::Mutex;
use std::time::Duration;

use artifacts::{ArxivPaper, Timestamp};
use backon::Retryable;
use quick_xml::NsReader;
use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use reqwest::Url;

use crate::CollectorError;
use crate::config::{ArxivConfig, HttpConfig};
use crate::http::{body_excerpt, build_client, retry_after, retry_policy, send_error};
use crate::limiter::Limiter;
use crate::stackexchange::RequestStats;

const ATOM: &[u8] = b"http://www.w3.org/2005/Atom";
const OPENSEARCH: &[u8] = b"http://a9.com/-/spec/opensearch/1.1/";
const ARXIV: &[u8] = b"http://arxiv.org/schemas/atom";

/// One page of search results.
#[derive(Debug, Clone, PartialEq)]
pub struct Feed {
    /// `opensearch:totalResults`.
    pub total_results: u64,
    /// `opensearch:startIndex`.
    pub start_index: u64,
    /// `opensearch:itemsPerPage`.
    pub items_per_page: u64,
    /// The entries, as artifact rows.
    pub papers: Vec<ArxivPaper>,
}

/// Why a feed could not be used.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedError {
    /// The XML is malformed or truncated, or an entry lacks a required element.
    Malformed(String),
    /// arXiv's error feed: one entry titled `Error`; the message is its summary.
    ApiError(String),
}

/// An arXiv API client.
pub struct ArxivClient {
    http: reqwest::Client,
    base_url: String,
    sort_by: String,
    limiter: Limiter,
    retry: backon::ExponentialBuilder,
    stats: Mutex<RequestStats>,
}

impl ArxivClient {
    /// A client for `config`; requests are spaced `min_interval_secs` apart.
    pub fn new(config: &ArxivConfig, http: &HttpConfig) -> Result<Self, CollectorError> {
        Ok(Self {
            http: build_client(http, true)?,
            base_url: config.base_url.clone(),
            sort_by: config.sort_by.clone(),
            limiter: Limiter::every(Duration::from_secs_f64(config.min_interval_secs.max(3.0))),
            retry: retry_policy(http),
            stats: Mutex::new(RequestStats::default()),
        })
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> RequestStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The URL of one page of `search_query`.
    pub fn query_url(&self, search_query: &str, start: u64, max_results: u64) -> String {
        let params = [
            ("search_query", search_query.to_owned()),
            ("start", start.to_string()),
            ("max_results", max_results.to_string()),
            ("sortBy", self.sort_by.clone()),
            ("sortOrder", "descending".to_owned()),
        ];
        Url::parse_with_params(&self.base_url, &params)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| self.base_url.clone())
    }

    /// Fetches and parses one page of results.
    pub async fn query(
        &self,
        search_query: &str,
        start: u64,
        max_results: u64,
        fetched_at: Timestamp,
    ) -> Result<Feed, CollectorError> {
        let url = self.query_url(search_query, start, max_results);
        (|| async { self.attempt(&url, fetched_at).await })
            .retry(self.retry)
            .sleep(tokio::time::sleep)
            .when(CollectorError::is_retryable)
            .notify(|_, _| {
                if let Ok(mut stats) = self.stats.lock() {
                    stats.retries += 1;
                }
            })
            .adjust(|error, delay| match (error, delay) {
                (
                    CollectorError::Server {
                        retry_after: Some(wait),
                        ..
                    },
                    Some(delay),
                ) => Some(delay.max(*wait)),
                (_, delay) => delay,
            })
            .await
    }

    async fn attempt(&self, url: &str, fetched_at: Timestamp) -> Result<Feed, CollectorError> {
        self.limiter.until_ready().await;
        if let Ok(mut stats) = self.stats.lock() {
            stats.requests += 1;
            stats
                .sent
                .push(("query".to_owned(), tokio::time::Instant::now()));
        }
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(|e| send_error(url, e))?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let body = response.bytes().await.map_err(|e| send_error(url, e))?;
        let text = String::from_utf8_lossy(&body);
        // arXiv sends its error feed with HTTP 400 as well as 200: parse before judging status.
        match parse_feed(&text, fetched_at) {
            Err(FeedError::ApiError(message)) => Err(CollectorError::ArxivFeedError {
                url: url.to_owned(),
                message,
            }),
            _ if status.is_server_error() => Err(CollectorError::Server {
                url: url.to_owned(),
                status: status.as_u16(),
                retry_after: wait,
            }),
            _ if !status.is_success() => Err(CollectorError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
                body: body_excerpt(&body),
            }),
            Ok(feed) => Ok(feed),
            Err(FeedError::Malformed(message)) => Err(CollectorError::Atom {
                url: url.to_owned(),
                message,
            }),
        }
    }
}

#[derive(Default)]
struct EntryBuilder {
    id: Option<String>,
    title: Option<String>,
    summary: Option<String>,
    published: Option<String>,
    updated: Option<String>,
    authors: Vec<String>,
    categories: Vec<String>,
    primary_category: Option<String>,
    comment: Option<String>,
    journal_ref: Option<String>,
    doi: Option<String>,
    abs_url: Option<String>,
    pdf_url: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ns {
    Atom,
    OpenSearch,
    Arxiv,
    Other,
}

fn namespace(resolved: &ResolveResult<'_>) -> Ns {
    match resolved {
        ResolveResult::Bound(ns) if ns.as_ref() == ATOM => Ns::Atom,
        ResolveResult::Bound(ns) if ns.as_ref() == OPENSEARCH => Ns::OpenSearch,
        ResolveResult::Bound(ns) if ns.as_ref() == ARXIV => Ns::Arxiv,
        _ => Ns::Other,
    }
}

/// Parses an arXiv Atom feed into artifact rows.
pub fn parse_feed(xml: &str, fetched_at: Timestamp) -> Result<Feed, FeedError> {
    let mut reader = NsReader::from_str(xml);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<(Ns, String)> = Vec::new();
    let mut text = String::new();
    let mut entry: Option<EntryBuilder> = None;
    let mut entries: Vec<EntryBuilder> = Vec::new();
    let (mut total, mut start, mut per_page) = (None, None, None);
    let mut saw_feed = false;
    let malformed = |reader: &NsReader<&[u8]>, e: &dyn std::fmt::Display| {
        FeedError::Malformed(format!("{e} at byte {}", reader.buffer_position()))
    };
    loop {
        let (ns, event) = match reader.read_resolved_event() {
            Ok((resolved, event)) => (namespace(&resolved), event),
            Err(e) => return Err(malformed(&reader, &e)),
        };
        match event {
            Event::Start(e) => {
                let name = local_name(&e);
                if stack.is_empty() {
                    if !(ns == Ns::Atom && name == "feed") {
                        return Err(FeedError::Malformed(format!(
                            "the root element is <{name}>, expected an Atom <feed>"
                        )));
                    }
                    saw_feed = true;
                }
                if ns == Ns::Atom && name == "entry" {
                    entry = Some(EntryBuilder::default());
                }
                if let Some(entry) = entry.as_mut() {
                    entry_attributes(entry, ns, &name, &e);
                }
                stack.push((ns, name));
                text.clear();
            }
            Event::Empty(e) => {
                let name = local_name(&e);
                if let Some(entry) = entry.as_mut() {
                    entry_attributes(entry, ns, &name, &e);
                }
            }
            Event::Text(t) => {
                let decoded = t.decode().map_err(|e| malformed(&reader, &e))?;
                text.push_str(&decoded);
            }
            Event::CData(t) => {
                let decoded = t.decode().map_err(|e| malformed(&reader, &e))?;
                text.push_str(&decoded);
            }
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    text.push(c);
                } else {
                    let name = r.decode().map_err(|e| malformed(&reader, &e))?;
                    match quick_xml::escape::resolve_xml_entity(&name) {
                        Some(value) => text.push_str(value),
                        None => {
                            return Err(FeedError::Malformed(format!(
                                "unknown entity &{name}; at byte {}",
                                reader.buffer_position()
                            )));
                        }
                    }
                }
            }
            Event::End(_) => {
                let Some((ns, name)) = stack.pop() else {
                    return Err(FeedError::Malformed("unbalanced end tag".into()));
                };
                let value = std::mem::take(&mut text);
                let parent = stack.last().map(|(ns, name)| (*ns, name.as_str()));
                match (ns, name.as_str(), parent) {
                    (Ns::OpenSearch, "totalResults", _) => total = value.trim().parse().ok(),
                    (Ns::OpenSearch, "startIndex", _) => start = value.trim().parse().ok(),
                    (Ns::OpenSearch, "itemsPerPage", _) => per_page = value.trim().parse().ok(),
                    (Ns::Atom, "entry", _) => {
                        if let Some(done) = entry.take() {
                            entries.push(done);
                        }
                    }
                    (_, _, _) if entry.is_some() => {
                        if let Some(entry) = entry.as_mut() {
                            entry_text(entry, ns, &name, parent, value);
                        }
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_feed {
        return Err(FeedError::Malformed("no <feed> element".into()));
    }
    if let Some((_, open)) = stack.last() {
        return Err(FeedError::Malformed(format!(
            "the feed ends inside <{open}> (truncated)"
        )));
    }
    // arXiv reports errors as a feed with a single entry titled `Error`.
    if let Some(error) = entries.iter().find(|e| {
        e.title.as_deref().map(str::trim) == Some("Error")
            && e.id.as_deref().is_some_and(|id| id.contains("/api/errors"))
    }) {
        return Err(FeedError::ApiError(normalize(
            error.summary.as_deref().unwrap_or("unknown error"),
        )));
    }
    let papers = entries
        .into_iter()
        .map(|e| finish_entry(e, fetched_at))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Feed {
        total_results: total.ok_or_else(|| {
            FeedError::Malformed("the feed has no opensearch:totalResults".into())
        })?,
        start_index: start.unwrap_or(0),
        items_per_page: per_page.unwrap_or(papers.len() as u64),
        papers,
    })
}

fn local_name(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

fn attribute(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

fn entry_attributes(entry: &mut EntryBuilder, ns: Ns, name: &str, e: &BytesStart<'_>) {
    match (ns, name) {
        (Ns::Atom, "link") => {
            let href = attribute(e, "href");
            if attribute(e, "title").as_deref() == Some("pdf") {
                entry.pdf_url = href;
            } else if attribute(e, "rel").as_deref() == Some("alternate") {
                entry.abs_url = href;
            }
        }
        (Ns::Atom, "category") => {
            if let Some(term) = attribute(e, "term")
                && !entry.categories.contains(&term)
            {
                entry.categories.push(term);
            }
        }
        (Ns::Arxiv, "primary_category") => entry.primary_category = attribute(e, "term"),
        _ => {}
    }
}

fn entry_text(
    entry: &mut EntryBuilder,
    ns: Ns,
    name: &str,
    parent: Option<(Ns, &str)>,
    value: String,
) {
    match (ns, name, parent) {
        (Ns::Atom, "name", Some((Ns::Atom, "author"))) => entry.authors.push(normalize(&value)),
        (Ns::Atom, "id", Some((Ns::Atom, "entry"))) => entry.id = Some(value.trim().to_owned()),
        (Ns::Atom, "title", Some((Ns::Atom, "entry"))) => entry.title = Some(value),
        (Ns::Atom, "summary", Some((Ns::Atom, "entry"))) => entry.summary = Some(value),
        (Ns::Atom, "published", _) => entry.published = Some(value),
        (Ns::Atom, "updated", Some((Ns::Atom, "entry"))) => entry.updated = Some(value),
        (Ns::Arxiv, "comment", _) => entry.comment = Some(normalize(&value)),
        (Ns::Arxiv, "journal_ref", _) => entry.journal_ref = Some(normalize(&value)),
        (Ns::Arxiv, "doi", _) => entry.doi = Some(value.trim().to_owned()),
        _ => {}
    }
}

fn finish_entry(e: EntryBuilder, fetched_at: Timestamp) -> Result<ArxivPaper, FeedError> {
    let id_url =
        e.id.ok_or_else(|| FeedError::Malformed("an entry has no <id>".into()))?;
    let (arxiv_id, version) = split_id(&id_url).ok_or_else(|| {
        FeedError::Malformed(format!("entry id {id_url:?} is not an arXiv abs URL"))
    })?;
    let required = |value: Option<String>, what: &str| {
        value.ok_or_else(|| FeedError::Malformed(format!("entry {arxiv_id} has no <{what}>")))
    };
    let timestamp = |value: String, what: &str| -> Result<Timestamp, FeedError> {
        value
            .trim()
            .parse::<jiff::Timestamp>()
            .map(Timestamp::from)
            .map_err(|err| {
                FeedError::Malformed(format!(
                    "entry {arxiv_id} has a bad <{what}> {value:?}: {err}"
                ))
            })
    };
    let title = normalize(&required(e.title, "title")?);
    let abstract_text = normalize(&required(e.summary, "summary")?);
    let published_at = timestamp(required(e.published, "published")?, "published")?;
    let updated_at = timestamp(required(e.updated, "updated")?, "updated")?;
    let primary_category = e
        .primary_category
        .or_else(|| e.categories.first().cloned())
        .unwrap_or_default();
    Ok(ArxivPaper {
        abs_url: e.abs_url.unwrap_or_else(|| id_url.clone()),
        arxiv_id,
        version,
        title,
        abstract_text,
        authors: e.authors,
        categories: e.categories,
        primary_category,
        published_at,
        updated_at,
        doi: e.doi.filter(|d| !d.is_empty()),
        journal_ref: e.journal_ref.filter(|d| !d.is_empty()),
        comment: e.comment.filter(|d| !d.is_empty()),
        pdf_url: e.pdf_url,
        fetched_at,
    })
}

/// `http://arxiv.org/abs/2101.00001v2` → (`2101.00001`, 2); old-style ids keep their archive
/// (`math/0501001`). An id without a version reads as version 1.
pub fn split_id(id_url: &str) -> Option<(String, i32)> {
    let id = id_url.split("/abs/").nth(1)?.trim().trim_end_matches('/');
    if id.is_empty() {
        return None;
    }
    if let Some(v) = id.rfind('v') {
        let (base, version) = (&id[..v], &id[v + 1..]);
        if !base.is_empty() && !version.is_empty() && version.bytes().all(|b| b.is_ascii_digit()) {
            return Some((base.to_owned(), version.parse().ok()?));
        }
    }
    Some((id.to_owned(), 1))
}

/// Collapses the line breaks and indentation arXiv puts inside titles and abstracts.
fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_into_id_and_version() {
        assert_eq!(
            split_id("http://arxiv.org/abs/2101.00001v2"),
            Some(("2101.00001".into(), 2))
        );
        assert_eq!(
            split_id("http://arxiv.org/abs/math/0501001v1"),
            Some(("math/0501001".into(), 1))
        );
        assert_eq!(
            split_id("http://arxiv.org/abs/1512.04922"),
            Some(("1512.04922".into(), 1))
        );
        assert_eq!(split_id("http://arxiv.org/api/errors#x"), None);
    }
}
