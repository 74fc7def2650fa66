//! One OpenAI-compatible `/chat/completions` endpoint over HTTP, shared by
//! everything that talks to a model: the `openai` agent driver and the model host
//! import of LLM-judged plugins.
//!
//! HTTP failures never panic or hang: requests have a timeout (and never outlive
//! the caller's deadline), 408/429/5xx answers and connection errors are retried
//! with a deterministic exponential backoff that honours `Retry-After`, a shared
//! semaphore caps the requests in flight across all workers, and whatever still
//! fails becomes a [`CallError`] naming the endpoint and status, never the API key.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Longest `Retry-After` honoured (a server asking for more gets this much).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Longest computed backoff between two retries.
const MAX_BACKOFF_MS: u64 = 30_000;
/// Largest response body read.
const MAX_BODY: u64 = 16 << 20;
/// Characters of a response body quoted in errors.
const EXCERPT: usize = 300;

/// How to reach an endpoint and how hard to try.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointSettings {
    /// API base URL, without a trailing `/` (e.g. `http://localhost:11434/v1`).
    pub base_url: String,
    /// Bearer token, read from the environment by the caller; `None` for local servers.
    pub api_key: Option<String>,
    /// The model id, for the usage line.
    pub model: String,
    /// Most requests in flight across all workers.
    pub max_concurrency: usize,
    /// Retries per request.
    pub retries: u32,
    /// First backoff when the server gives no `Retry-After` (ms).
    pub retry_backoff_ms: u64,
    /// Per-request timeout (ms).
    pub request_timeout_ms: u64,
    /// USD per million prompt tokens.
    pub price_in: Option<f64>,
    /// USD per million completion tokens.
    pub price_out: Option<f64>,
}

/// Why a request got no usable answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallError {
    /// The caller's deadline passed (waiting for a slot, or during the request).
    #[error("the deadline passed")]
    Deadline,
    /// The endpoint answered with an error status, timed out, or could not be reached.
    #[error("{0}")]
    Failed(String),
    /// The answer is not JSON.
    #[error("{0}")]
    Malformed(String),
}

/// Token, request and cost accounting over a run (all workers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelUsage {
    /// The model id (several, comma-separated, after merging reports of different models).
    pub model: String,
    /// HTTP requests sent, retries included.
    pub requests: u64,
    /// Of which retries.
    pub retries: u64,
    /// Requests that got no successful answer (error status, timeout, connection error).
    pub failed_requests: u64,
    /// Prompt tokens, as the endpoint's `usage` reported them.
    pub prompt_tokens: u64,
    /// Completion tokens, as the endpoint's `usage` reported them.
    pub completion_tokens: u64,
    /// Sum of request latencies (ms).
    pub latency_ms_total: u64,
    /// Slowest request (ms).
    pub latency_ms_max: u64,
    /// Cost in USD, when both prices are set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost_usd: Option<f64>,
}

impl ModelUsage {
    /// Add `other` (another shard's usage) to this one.
    pub fn merge(&mut self, other: &ModelUsage) {
        if self.model.is_empty() {
            self.model = other.model.clone();
        } else if !other.model.is_empty() && !self.model.split(", ").any(|m| m == other.model) {
            self.model = format!("{}, {}", self.model, other.model);
        }
        self.requests += other.requests;
        self.retries += other.retries;
        self.failed_requests += other.failed_requests;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.latency_ms_total += other.latency_ms_total;
        self.latency_ms_max = self.latency_ms_max.max(other.latency_ms_max);
        self.cost_usd = match (self.cost_usd, other.cost_usd) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    /// One line for the terminal.
    pub fn line(&self) -> String {
        let mean = self.latency_ms_total.checked_div(self.requests).unwrap_or(0);
        let cost = match self.cost_usd {
            Some(c) => format!("cost ${c:.4}"),
            None => "cost n/a (set price_per_million_input_tokens and price_per_million_output_tokens)".into(),
        };
        format!(
            "model usage ({}): {} requests ({} retries, {} failed), {} prompt + {} completion tokens, latency mean {} ms / max {} ms, {}",
            self.model, self.requests, self.retries, self.failed_requests, self.prompt_tokens, self.completion_tokens, mean, self.latency_ms_max, cost
        )
    }
}

/// Cost in USD of `prompt` + `completion` tokens, when both prices are known.
pub fn cost_usd(prompt: u64, completion: u64, price_in: Option<f64>, price_out: Option<f64>) -> Option<f64> {
    match (price_in, price_out) {
        (Some(pi), Some(po)) => Some(prompt as f64 / 1e6 * pi + completion as f64 / 1e6 * po),
        _ => None,
    }
}

/// The host of an `http://` or `https://` URL (without port or brackets).
pub fn url_host(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split_once(']').map(|(h, _)| h);
    }
    Some(authority.split(':').next().unwrap_or(""))
}

/// Whether `url` points at this machine (local servers need no API key).
pub fn is_loopback(url: &str) -> bool {
    match url_host(url) {
        Some(h) => h.eq_ignore_ascii_case("localhost") || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// A counting semaphore: the cap on requests in flight.
struct Limiter {
    max: usize,
    in_flight: Mutex<usize>,
    freed: Condvar,
}

struct Permit<'a>(&'a Limiter);

impl Limiter {
    /// Wait for a slot until `deadline`; `None` when the deadline passed first.
    fn acquire(&self, deadline: Instant) -> Option<Permit<'_>> {
        let mut n = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        while *n >= self.max {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            n = self.freed.wait_timeout(n, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        *n += 1;
        Some(Permit(self))
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.in_flight.lock().unwrap_or_else(|e| e.into_inner()) -= 1;
        self.0.freed.notify_one();
    }
}

/// A chat completions endpoint: HTTP client, key, concurrency cap and usage
/// counters. Share it (`Arc`) between workers so the cap and counters are global.
pub struct ChatEndpoint {
    s: EndpointSettings,
    endpoint: String,
    http: ureq::Agent,
    limiter: Limiter,
    usage: Mutex<ModelUsage>,
}

impl ChatEndpoint {
    /// An endpoint for `s` (no request is sent yet).
    pub fn new(s: EndpointSettings) -> ChatEndpoint {
        // Local servers are reached directly, whatever HTTP(S)_PROXY says.
        let proxy = if is_loopback(&s.base_url) { None } else { ureq::Proxy::try_from_env() };
        let http: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(proxy)
            .user_agent(format!("ratchet/{}", env!("CARGO_PKG_VERSION")))
            .timeout_global(Some(Duration::from_millis(s.request_timeout_ms)))
            .build()
            .into();
        ChatEndpoint {
            endpoint: format!("{}/chat/completions", s.base_url),
            http,
            limiter: Limiter { max: s.max_concurrency.max(1), in_flight: Mutex::new(0), freed: Condvar::new() },
            usage: Mutex::new(ModelUsage { model: s.model.clone(), ..Default::default() }),
            s,
        }
    }

    /// An endpoint whose requests go to `url` as given (the http agent driver's
    /// service), with `s`'s key, cap, retries and timeouts.
    pub fn at(s: EndpointSettings, url: String) -> ChatEndpoint {
        let mut e = ChatEndpoint::new(s);
        e.endpoint = url;
        e
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The usage so far, with the cost when both prices are set.
    pub fn usage(&self) -> ModelUsage {
        let mut u = self.usage.lock().unwrap_or_else(|e| e.into_inner()).clone();
        u.cost_usd = cost_usd(u.prompt_tokens, u.completion_tokens, self.s.price_in, self.s.price_out);
        u
    }

    fn count(&self, f: impl FnOnce(&mut ModelUsage)) {
        f(&mut self.usage.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Error text never carries the key, even if a server echoes it back.
    fn redact(&self, mut text: String) -> String {
        if let Some(k) = &self.s.api_key {
            text = text.replace(k.as_str(), "[API KEY]");
        }
        text
    }

    /// POST a chat completions request, with retries, before `deadline`; the parsed
    /// JSON answer. `deadline_name` says what the deadline is, for the message when
    /// a retry would pass it (e.g. "scenario_timeout_ms of 180000 ms").
    pub fn complete(&self, body: &Value, deadline: Instant, deadline_name: &str) -> Result<Value, CallError> {
        let bytes = serde_json::to_vec(body).expect("a JSON value serialises");
        let endpoint = &self.endpoint;
        let mut attempt: u32 = 0;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let deadline_bound = left < Duration::from_millis(self.s.request_timeout_ms);
            let timeout = left.min(Duration::from_millis(self.s.request_timeout_ms));
            if timeout.is_zero() {
                return Err(CallError::Deadline);
            }
            let Some(permit) = self.limiter.acquire(deadline) else {
                return Err(CallError::Deadline);
            };
            let started = Instant::now();
            let outcome = self.send_once(&bytes, timeout);
            drop(permit);
            let ms = started.elapsed().as_millis() as u64;
            let ok = matches!(&outcome, Ok(r) if (200..300).contains(&r.status));
            self.count(|u| {
                u.requests += 1;
                u.latency_ms_total += ms;
                u.latency_ms_max = u.latency_ms_max.max(ms);
                if !ok {
                    u.failed_requests += 1;
                }
            });
            let attempts = attempt + 1;
            let tries = if attempts == 1 { "1 attempt".to_string() } else { format!("{attempts} attempts") };
            let (error, wait) = match outcome {
                Ok(r) if ok => return self.parse(&r.body),
                Ok(r) => {
                    let msg = format!("POST {endpoint}: HTTP {} after {tries}: {}", r.status, excerpt(&r.body));
                    let retryable = r.status == 408 || r.status == 429 || r.status >= 500;
                    (self.redact(msg), retryable.then(|| r.retry_after.unwrap_or_else(|| self.backoff(attempt))))
                }
                Err(Transport::Timeout) if deadline_bound => return Err(CallError::Deadline),
                Err(Transport::Timeout) => {
                    let msg = format!("POST {endpoint}: no response within {} ms (request_timeout_ms) after {tries}", self.s.request_timeout_ms);
                    return Err(CallError::Failed(msg));
                }
                Err(Transport::Retryable(e)) => (self.redact(format!("POST {endpoint}: {e} after {tries}")), Some(self.backoff(attempt))),
                Err(Transport::Fatal(e)) => return Err(CallError::Failed(self.redact(format!("POST {endpoint}: {e}")))),
            };
            match wait {
                Some(wait) if attempt < self.s.retries => {
                    if Instant::now() + wait >= deadline {
                        return Err(CallError::Failed(format!("{error} (no retry: the {deadline_name} would pass first)")));
                    }
                    self.count(|u| u.retries += 1);
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                _ => return Err(CallError::Failed(error)),
            }
        }
    }

    /// Deterministic exponential backoff: base · 2^attempt, capped; no jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        Duration::from_millis(self.s.retry_backoff_ms.saturating_mul(1u64 << attempt.min(20)).min(MAX_BACKOFF_MS))
    }

    fn send_once(&self, body: &[u8], timeout: Duration) -> Result<RawResponse, Transport> {
        let mut req = self.http.post(&self.endpoint).config().timeout_global(Some(timeout)).build().header("Content-Type", "application/json");
        if let Some(k) = &self.s.api_key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        let mut resp = req.send(body).map_err(Transport::from)?;
        let status = resp.status().as_u16();
        let header = |name: &str| resp.headers().get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<f64>().ok());
        let retry_after = header("retry-after-ms")
            .map(|ms| ms / 1000.0)
            .or_else(|| header("retry-after"))
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s).min(MAX_RETRY_AFTER));
        let body = resp.body_mut().with_config().limit(MAX_BODY).read_to_string().map_err(Transport::from)?;
        Ok(RawResponse { status, retry_after, body })
    }

    fn parse(&self, body: &str) -> Result<Value, CallError> {
        let v: Value = serde_json::from_str(body)
            .map_err(|e| CallError::Malformed(format!("POST {}: the response is not JSON ({e}): {}", self.endpoint, excerpt(body))))?;
        if let Some(u) = v.get("usage") {
            let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
            self.count(|c| {
                c.prompt_tokens += n("prompt_tokens");
                c.completion_tokens += n("completion_tokens");
            });
        }
        Ok(v)
    }
}

struct RawResponse {
    status: u16,
    retry_after: Option<Duration>,
    body: String,
}

enum Transport {
    Timeout,
    Retryable(String),
    Fatal(String),
}

impl From<ureq::Error> for Transport {
    fn from(e: ureq::Error) -> Self {
        match e {
            ureq::Error::Timeout(_) => Transport::Timeout,
            ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound | ureq::Error::Protocol(_) | ureq::Error::BodyStalled => {
                Transport::Retryable(format!("connection error: {e}"))
            }
            other => Transport::Fatal(other.to_string()),
        }
    }
}

/// A body shortened for an error message: control characters flattened, at most
/// a few hundred characters.
pub fn excerpt(body: &str) -> String {
    let flat: String = body.trim().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if flat.is_empty() {
        return "(empty body)".into();
    }
    let mut out: String = flat.chars().take(EXCERPT).collect();
    if flat.chars().count() > EXCERPT {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        for u in ["http://localhost:11434/v1", "http://127.0.0.1:8000/v1", "http://[::1]:8080/v1", "http://LOCALHOST/v1"] {
            assert!(is_loopback(u), "{u}");
        }
        for u in ["https://api.openai.com/v1", "http://10.0.0.2:8000/v1", "http://localhost.evil.com/v1", "ftp://localhost"] {
            assert!(!is_loopback(u), "{u}");
        }
    }

    #[test]
    fn usage_merges_and_prints() {
        let mut a = ModelUsage { model: "m".into(), requests: 2, prompt_tokens: 10, latency_ms_max: 5, cost_usd: Some(0.5), ..Default::default() };
        let b = ModelUsage { model: "n".into(), requests: 1, retries: 1, completion_tokens: 3, latency_ms_max: 9, cost_usd: Some(0.25), ..Default::default() };
        a.merge(&b);
        assert_eq!((a.requests, a.retries, a.prompt_tokens, a.completion_tokens, a.latency_ms_max), (3, 1, 10, 3, 9));
        assert_eq!(a.cost_usd, Some(0.75));
        assert_eq!(a.model, "m, n");
        assert!(a.line().contains("3 requests (1 retries, 0 failed)"), "{}", a.line());
    }
}
