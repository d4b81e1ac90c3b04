//! Shared test fixtures: a fake StackExchange API and a fake arXiv API served by wiremock, with
//! realistic bodies (MathJax, entities, unicode, code, lists), and configs pointing at them.

#![allow(dead_code, clippy::unwrap_used)] // Each test binary uses part of this module.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use collector::CollectorConfig;
use collector::config::ArxivQuery;
use serde_json::{Value, json};
use wiremock::{Request, Respond, ResponseTemplate};

/// Realistic question and answer bodies, as StackExchange renders them.
pub const BODIES: [&str; 4] = [
    "<p>I ran an A/B test with $n = 1{,}000$ users per arm and observed $\\hat{p}_A = 0.12$ vs $\\hat{p}_B = 0.135$. Is the difference significant at $\\alpha = 0.05$?</p>\n\n<p>I computed</p>\n\n<p>$$z = \\frac{\\hat p_B - \\hat p_A}{\\sqrt{\\hat p (1-\\hat p)(2/n)}}$$</p>\n",
    "<p>Peeking at results &amp; stopping early inflates the type&nbsp;I error. Options:</p>\n\n<ol>\n<li>Fix the sample size in advance;</li>\n<li>use a <em>sequential</em> design (O&#39;Brien&ndash;Fleming);</li>\n<li>always-valid $p$-values.</li>\n</ol>\n",
    "<p>Here is how I simulate power in R:</p>\n\n<pre><code>power &lt;- mean(replicate(1e4, t.test(rnorm(50), rnorm(50, 0.5))$p.value &lt; 0.05))\n</code></pre>\n\n<p>Result: power ≈ 0.70 — see <a href=\"https://example.org\">Cohen (1988)</a>.</p>\n",
    "<blockquote>\n<p>Absence of evidence is not evidence of absence.</p>\n</blockquote>\n\n<p>A 95% CI of $[-0.3, 2.1]$ for the lift means the data are compatible with effects from $-0.3$ to $2.1$ – Müller&#x27;s rule of thumb.</p>\n",
];

/// One fake question.
#[derive(Debug, Clone)]
pub struct FakeQuestion {
    pub id: i64,
    pub score: i64,
    pub created: i64,
    pub answers: usize,
}

/// A fake StackExchange API: questions per tag (served in pages, highest score first, honouring
/// `fromdate`), answers by question id, a decreasing quota and an optional `backoff` on a page.
pub struct FakeStackExchange {
    pub tags: Mutex<BTreeMap<String, Vec<FakeQuestion>>>,
    pub quota_remaining: AtomicI64,
    pub backoff: Mutex<Option<(String, u32, u64)>>,
    pub question_calls: AtomicU64,
    pub answer_calls: AtomicU64,
    pub answer_ids_requested: Mutex<Vec<i64>>,
    pub fromdates: Mutex<Vec<Option<i64>>>,
}

impl FakeStackExchange {
    pub fn new(tags: BTreeMap<String, Vec<FakeQuestion>>) -> Arc<Self> {
        Arc::new(Self {
            tags: Mutex::new(tags),
            quota_remaining: AtomicI64::new(9_000),
            backoff: Mutex::new(None),
            question_calls: AtomicU64::new(0),
            answer_calls: AtomicU64::new(0),
            answer_ids_requested: Mutex::new(Vec::new()),
            fromdates: Mutex::new(Vec::new()),
        })
    }

    /// Tag `a` has 5 questions, `b` has 3 of which one is also in `a`: with page size 2 that is
    /// 3 + 2 question pages.
    pub fn standard() -> Arc<Self> {
        let q = |id, score, created, answers| FakeQuestion {
            id,
            score,
            created,
            answers,
        };
        let mut tags = BTreeMap::new();
        tags.insert(
            "ab-test".to_string(),
            vec![
                q(101, 50, 1_300_000_000, 2),
                q(102, 40, 1_400_000_000, 0),
                q(103, 30, 1_500_000_000, 3),
                q(104, 20, 1_600_000_000, 1),
                q(105, 10, 1_700_000_000, 1),
            ],
        );
        tags.insert(
            "p-value".to_string(),
            vec![
                q(103, 30, 1_500_000_000, 3),
                q(201, 25, 1_550_000_000, 1),
                q(202, 5, 1_650_000_000, 2),
            ],
        );
        Self::new(tags)
    }

    fn question_json(q: &FakeQuestion, tag: &str) -> Value {
        json!({
            "question_id": q.id,
            "title": format!("Is my A/B test&#39;s lift of 1.5% significant? (#{} &amp; more)", q.id),
            "body": BODIES[(q.id as usize) % BODIES.len()],
            "tags": [tag, "statistical-significance"],
            "score": q.score,
            "answer_count": q.answers,
            "is_answered": q.answers > 0,
            "accepted_answer_id": if q.answers > 0 { json!(q.id * 10) } else { Value::Null },
            "view_count": q.score * 100,
            "creation_date": q.created,
            "link": format!("https://stats.stackexchange.com/questions/{}/slug", q.id),
            "owner": {"display_name": "J&#246;rg M&#252;ller", "user_id": q.id + 7000, "link": "https://stats.stackexchange.com/users/1"},
        })
    }

    fn answer_json(question: i64, index: usize) -> Value {
        let id = question * 10 + index as i64;
        let mut owner =
            json!({"display_name": format!("answerer {index}"), "user_id": 9000 + index});
        if index == 2 {
            // A deleted user: a name but no id.
            owner = json!({"display_name": "user12345", "user_type": "does_not_exist"});
        }
        json!({
            "answer_id": id,
            "question_id": question,
            "body": BODIES[(id as usize + 1) % BODIES.len()],
            "score": 10 - index as i64,
            "is_accepted": index == 0,
            "creation_date": 1_600_000_000 + id,
            "owner": owner,
        })
    }

    fn wrap(&self, items: Vec<Value>, has_more: bool, backoff: Option<u64>) -> ResponseTemplate {
        let remaining = self.quota_remaining.fetch_sub(1, Ordering::SeqCst) - 1;
        let mut body = json!({
            "items": items,
            "has_more": has_more,
            "quota_max": 10000,
            "quota_remaining": remaining,
        });
        if let Some(seconds) = backoff {
            body["backoff"] = json!(seconds);
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

/// Responds to `/2.3/questions` and `/2.3/questions/{ids}/answers`.
pub struct SeResponder(pub Arc<FakeStackExchange>);

impl Respond for SeResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let fake = &self.0;
        let params: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
        let path = request.url.path();
        if let Some(ids) = path
            .strip_prefix("/2.3/questions/")
            .and_then(|p| p.strip_suffix("/answers"))
        {
            fake.answer_calls.fetch_add(1, Ordering::SeqCst);
            let ids: Vec<i64> = ids.split(';').map(|s| s.parse().unwrap()).collect();
            assert!(ids.len() <= 100, "answer batches hold at most 100 ids");
            fake.answer_ids_requested.lock().unwrap().extend(&ids);
            let tags = fake.tags.lock().unwrap();
            let mut items = Vec::new();
            for id in ids {
                if let Some(q) = tags.values().flatten().find(|q| q.id == id) {
                    items.extend((0..q.answers).map(|i| FakeStackExchange::answer_json(id, i)));
                }
            }
            return fake.wrap(items, false, None);
        }
        fake.question_calls.fetch_add(1, Ordering::SeqCst);
        let tag = params.get("tagged").cloned().unwrap_or_default();
        let page: u32 = params.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let size: usize = params
            .get("pagesize")
            .and_then(|p| p.parse().ok())
            .unwrap_or(30);
        let from: Option<i64> = params.get("fromdate").and_then(|p| p.parse().ok());
        let min: Option<i64> = params.get("min").and_then(|p| p.parse().ok());
        fake.fromdates.lock().unwrap().push(from);
        let tags = fake.tags.lock().unwrap();
        let mut list: Vec<FakeQuestion> = tags
            .get(&tag)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|q| from.is_none_or(|f| q.created >= f) && min.is_none_or(|m| q.score >= m))
            .collect();
        list.sort_by_key(|q| std::cmp::Reverse(q.score));
        let start = (page as usize - 1) * size;
        let items: Vec<Value> = list
            .iter()
            .skip(start)
            .take(size)
            .map(|q| FakeStackExchange::question_json(q, &tag))
            .collect();
        let has_more = start + size < list.len();
        let backoff = fake
            .backoff
            .lock()
            .unwrap()
            .as_ref()
            .filter(|(t, p, _)| *t == tag && *p == page)
            .map(|(_, _, s)| *s);
        fake.wrap(items, has_more, backoff)
    }
}

/// A config whose Cross Validated client talks to `server_uri`, with timeouts off (paused-time
/// tests) and a fast retry schedule.
pub fn se_config(server_uri: &str) -> CollectorConfig {
    let mut config = CollectorConfig::default();
    config.http.timeout_secs = 0;
    config.http.connect_timeout_secs = 0;
    config.http.max_retries = 3;
    config.http.retry_min_delay_ms = 200;
    config.cross_validated.base_url = format!("{server_uri}/2.3");
    config.cross_validated.tags = vec!["ab-test".into(), "p-value".into()];
    config.cross_validated.page_size = 2;
    config.cross_validated.min_score = 1;
    config.cross_validated.max_questions_per_tag = 100;
    config.cross_validated.requests_per_second = 20;
    config.cross_validated.quota_reserve = 5;
    config
}

/// An arXiv Atom entry.
pub fn arxiv_entry(id: &str, version: u32, title: &str) -> String {
    format!(
        r#"  <entry>
    <id>http://arxiv.org/abs/{id}v{version}</id>
    <updated>2023-0{version}-15T10:00:00Z</updated>
    <published>2023-01-10T18:30:00Z</published>
    <title>{title}:
      Variance Reduction &amp; CUPED in Online Experiments</title>
    <summary>  We study $\theta$-adjusted estimators for online controlled experiments.
  Using pre-experiment covariates reduces variance by up to 50%.
</summary>
    <author><name>Ana Müller</name></author>
    <author><name>Bo Chen</name><arxiv:affiliation>Example University</arxiv:affiliation></author>
    <arxiv:doi>10.1000/xyz.{id}</arxiv:doi>
    <link title="doi" href="http://dx.doi.org/10.1000/xyz" rel="related"/>
    <arxiv:comment>12 pages, 3 figures</arxiv:comment>
    <arxiv:journal_ref>J. Exp. Stat. 4 (2023) 1-12</arxiv:journal_ref>
    <link href="http://arxiv.org/abs/{id}v{version}" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/{id}v{version}" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="stat.ME" scheme="http://arxiv.org/schemas/atom"/>
    <category term="stat.ME" scheme="http://arxiv.org/schemas/atom"/>
    <category term="stat.AP" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
"#
    )
}

/// A whole feed around `entries`.
pub fn arxiv_feed(total: u64, start: u64, per_page: u64, entries: &[String]) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <link href="http://arxiv.org/api/query?search_query%3Dall" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: search_query=all</title>
  <id>http://arxiv.org/api/abc</id>
  <updated>2023-06-01T00:00:00-04:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{total}</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{start}</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{per_page}</opensearch:itemsPerPage>
{}</feed>
"#,
        entries.concat()
    )
    .replace("<feed xmlns=\"http://www.w3.org/2005/Atom\">", "<feed xmlns=\"http://www.w3.org/2005/Atom\" xmlns:arxiv=\"http://arxiv.org/schemas/atom\">")
}

/// A fake arXiv API: per query (by `search_query`), a list of (id, version) papers served in
/// pages by `start` and `max_results`.
pub struct ArxivResponder {
    pub queries: Mutex<BTreeMap<String, Vec<(String, u32)>>>,
    pub calls: AtomicU64,
}

impl Respond for ArxivResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let params: BTreeMap<String, String> = request.url.query_pairs().into_owned().collect();
        let query = params.get("search_query").cloned().unwrap_or_default();
        let start: usize = params
            .get("start")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let max: usize = params
            .get("max_results")
            .and_then(|s| s.parse().ok())
            .unwrap_or(10);
        let queries = self.queries.lock().unwrap();
        let papers = queries.get(&query).cloned().unwrap_or_default();
        let entries: Vec<String> = papers
            .iter()
            .skip(start)
            .take(max)
            .map(|(id, v)| arxiv_entry(id, *v, &format!("Paper {id}")))
            .collect();
        ResponseTemplate::new(200)
            .insert_header("content-type", "application/atom+xml")
            .set_body_string(arxiv_feed(
                papers.len() as u64,
                start as u64,
                max as u64,
                &entries,
            ))
    }
}

/// An arXiv config with two queries pointing at `server_uri`.
pub fn arxiv_config(server_uri: &str) -> CollectorConfig {
    let mut config = CollectorConfig::default();
    config.http.timeout_secs = 0;
    config.http.connect_timeout_secs = 0;
    config.http.retry_min_delay_ms = 200;
    config.arxiv.base_url = format!("{server_uri}/api/query");
    config.arxiv.page_size = 2;
    config.arxiv.queries = vec![
        ArxivQuery {
            name: "cuped".into(),
            search_query: "abs:CUPED".into(),
            max_results: 5,
        },
        ArxivQuery {
            name: "sequential".into(),
            search_query: "abs:sequential".into(),
            max_results: 10,
        },
    ];
    config
}

/// The standard arXiv fake: 5 + 3 papers, one shared.
pub fn standard_arxiv() -> ArxivResponder {
    let mut queries = BTreeMap::new();
    queries.insert(
        "abs:CUPED".to_string(),
        [
            "2301.00001",
            "2301.00002",
            "2301.00003",
            "2301.00004",
            "2301.00005",
        ]
        .iter()
        .map(|s| (s.to_string(), 1))
        .collect(),
    );
    queries.insert(
        "abs:sequential".to_string(),
        vec![
            ("2302.00010".to_string(), 2),
            ("2301.00003".to_string(), 1),
            ("math/0501001".to_string(), 1),
        ],
    );
    ArxivResponder {
        queries: Mutex::new(queries),
        calls: AtomicU64::new(0),
    }
}
