//! The model broker: what the `ratchet:plugin/model` host import calls.
//!
//! Every answer is keyed by the sha256 of the canonical request body
//! ([`super::recording`]). In [`Mode::Replay`] only recorded answers are served
//! and a missing one is an error naming the key and how to record it, so judged
//! verdicts are identical on every run and CI needs no network. In
//! [`Mode::RecordMissing`] a missing answer is fetched from the endpoint and
//! recorded; [`Mode::Refresh`] fetches and re-records every request (the
//! deliberate `--record`). The endpoint (URL and key from the environment) is set
//! up on the first live call only, so replay never needs either.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::endpoint::{cost_usd, is_loopback, url_host, CallError, ChatEndpoint, EndpointSettings, ModelUsage};
use super::recording::{key_of, path_for, ChatRequest, RecordedResponse, Recording, Tokens, RECORDING_FORMAT};
use crate::config::ModelConfig;

pub use ratchet_runtime::model::{Answer, ModelAccess, ModelCall, ModelError};

/// Default base URL when the base-URL variable is unset.
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// Where answers come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Recorded answers only; a missing recording is an error (gate, `plugin run --replay`).
    Replay,
    /// Recorded answers, and live calls (recorded) for requests never seen.
    RecordMissing,
    /// A live call for every request, re-recorded (`--record`).
    Refresh,
}

/// Counts over a whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BrokerStats {
    /// Answers served from recordings.
    pub replayed: u64,
    /// Answers fetched live and recorded.
    pub recorded: u64,
    /// Calls that got no answer.
    pub failed: u64,
    /// HTTP usage of the live calls (none in replay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<ModelUsage>,
}

impl BrokerStats {
    /// Add another shard's counts.
    pub fn merge(&mut self, other: &BrokerStats) {
        self.replayed += other.replayed;
        self.recorded += other.recorded;
        self.failed += other.failed;
        if let Some(u) = &other.live {
            self.live.get_or_insert_with(ModelUsage::default).merge(u);
        }
    }

    /// One line for the terminal.
    pub fn line(&self) -> String {
        let mut s = format!("model calls: {} replayed, {} recorded, {} failed", self.replayed, self.recorded, self.failed);
        if let Some(u) = &self.live {
            s.push_str("; ");
            s.push_str(&u.line());
        }
        s
    }
}

/// Serves model calls for every granted plugin of a run (share it with `Arc`).
pub struct ModelBroker {
    cfg: ModelConfig,
    /// The project root: recordings are written inside it (`cfg.recordings`), never through a symlink.
    root: PathBuf,
    recordings: PathBuf,
    mode: Mode,
    endpoint: OnceLock<Result<Arc<ChatEndpoint>, String>>,
    counts: Mutex<BrokerStats>,
}

impl std::fmt::Debug for ModelBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelBroker").field("recordings", &self.recordings).field("mode", &self.mode).finish_non_exhaustive()
    }
}

impl ModelBroker {
    /// A broker for `[model]` settings, recording under `root`/`cfg.recordings`.
    pub fn new(cfg: &ModelConfig, root: &std::path::Path, mode: Mode) -> ModelBroker {
        ModelBroker {
            root: root.to_path_buf(),
            recordings: root.join(&cfg.recordings),
            cfg: cfg.clone(),
            mode,
            endpoint: OnceLock::new(),
            counts: Mutex::new(BrokerStats::default()),
        }
    }

    /// The mode this run uses.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The recordings directory.
    pub fn recordings(&self) -> &std::path::Path {
        &self.recordings
    }

    /// Most calls one plugin call may make.
    pub fn max_calls_per_plugin_call(&self) -> u32 {
        self.cfg.max_calls_per_plugin_call
    }

    /// Counts and live usage so far.
    pub fn stats(&self) -> BrokerStats {
        let mut s = self.counts.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(Ok(e)) = self.endpoint.get() {
            s.live = Some(e.usage());
        }
        s
    }

    fn count(&self, f: impl FnOnce(&mut BrokerStats)) {
        f(&mut self.counts.lock().unwrap_or_else(|e| e.into_inner()));
    }

    /// Answer `request` for `plugin` (recorded, live, or an error; see [`Mode`]).
    pub fn complete(&self, plugin: &str, request: &ChatRequest) -> Result<(Answer, ModelCall), ModelError> {
        let out = self.complete_inner(plugin, request);
        match &out {
            Ok((_, c)) if c.replayed => self.count(|s| s.replayed += 1),
            Ok(_) => self.count(|s| s.recorded += 1),
            Err(_) => self.count(|s| s.failed += 1),
        }
        out
    }

    fn complete_inner(&self, plugin: &str, request: &ChatRequest) -> Result<(Answer, ModelCall), ModelError> {
        let body = request.body(&self.cfg.model).map_err(ModelError::Invalid)?;
        let key = key_of(&body);
        if self.mode != Mode::Refresh {
            match Recording::load(&self.recordings, &key) {
                Ok(Some(r)) => {
                    let call = ModelCall {
                        key: key.clone(),
                        model: r.response.model.clone(),
                        replayed: true,
                        latency_ms: r.latency_ms,
                        prompt_tokens: r.usage.prompt_tokens,
                        completion_tokens: r.usage.completion_tokens,
                        cost_usd: None,
                    };
                    return Ok((Answer { content: r.response.content, model: r.response.model, key }, call));
                }
                Ok(None) if self.mode == Mode::Replay => {
                    return Err(ModelError::NotRecorded(format!(
                        "plugin `{plugin}` asked a question with no recorded answer ({key}; expected {}). Replays never call the model: \
                         record it with `ratchet gate --record-missing` (or `ratchet plugin run {plugin} --input ...`) against a configured endpoint, \
                         review the new file and commit it",
                        path_for(&self.recordings, &key).display()
                    )))
                }
                Ok(None) => {}
                Err(e) => return Err(ModelError::Invalid(e.to_string())),
            }
        }
        let endpoint = self.endpoint()?;
        let budget = Duration::from_millis(self.cfg.request_timeout_ms.saturating_mul(u64::from(self.cfg.retries) + 1))
            + Duration::from_millis(30_000u64.saturating_mul(u64::from(self.cfg.retries)));
        let started = Instant::now();
        let v = endpoint.complete(&body, started + budget, &format!("model call budget of {} ms", budget.as_millis())).map_err(|e| match e {
            CallError::Deadline => ModelError::Unavailable(format!("POST {}: no answer within {} ms", endpoint.endpoint(), budget.as_millis())),
            CallError::Failed(m) | CallError::Malformed(m) => ModelError::Unavailable(m),
        })?;
        let latency_ms = started.elapsed().as_millis() as u64;
        let (content, model, usage) = read_completion(&v, endpoint.endpoint(), &body)?;
        let rec = Recording {
            format: RECORDING_FORMAT.into(),
            key: key.clone(),
            request: body,
            response: RecordedResponse { content: content.clone(), model: model.clone() },
            usage,
            latency_ms,
        };
        rec.save(&self.root, &self.cfg.recordings)
            .map_err(|e| ModelError::Unavailable(format!("cannot write the recording {}: {e}", path_for(&self.recordings, &key).display())))?;
        let call = ModelCall {
            key: key.clone(),
            model: model.clone(),
            replayed: false,
            latency_ms,
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            cost_usd: cost_usd(usage.prompt_tokens, usage.completion_tokens, self.cfg.price_per_million_input_tokens, self.cfg.price_per_million_output_tokens),
        };
        Ok((Answer { content, model, key }, call))
    }

    /// The endpoint, set up from the environment on first use.
    fn endpoint(&self) -> Result<Arc<ChatEndpoint>, ModelError> {
        let cfg = &self.cfg;
        self.endpoint
            .get_or_init(|| {
                let base_url = match std::env::var(&cfg.base_url_env) {
                    Ok(u) if !u.trim().is_empty() => u.trim().trim_end_matches('/').to_string(),
                    _ => DEFAULT_BASE_URL.to_string(),
                };
                if url_host(&base_url).is_none_or(|h| h.is_empty()) {
                    return Err(format!("${} = `{base_url}` is not an http(s) URL, e.g. http://localhost:11434/v1", cfg.base_url_env));
                }
                let api_key = match std::env::var(&cfg.api_key_env) {
                    Ok(k) if !k.trim().is_empty() => Some(k.trim().to_string()),
                    _ if is_loopback(&base_url) => None,
                    _ => {
                        return Err(format!(
                            "the environment variable `{}` is not set: export the API key for {base_url} (read from the environment, never from a file), \
                             set `{}` to a local server, or replay recorded answers only",
                            cfg.api_key_env, cfg.base_url_env
                        ))
                    }
                };
                Ok(Arc::new(ChatEndpoint::new(EndpointSettings {
                    base_url,
                    api_key,
                    model: cfg.model.clone(),
                    max_concurrency: cfg.max_concurrency as usize,
                    retries: cfg.retries,
                    retry_backoff_ms: cfg.retry_backoff_ms,
                    request_timeout_ms: cfg.request_timeout_ms,
                    price_in: cfg.price_per_million_input_tokens,
                    price_out: cfg.price_per_million_output_tokens,
                })))
            })
            .clone()
            .map_err(ModelError::Unavailable)
    }
}

/// The answer text, model id and token counts of a chat completions response.
fn read_completion(v: &Value, endpoint: &str, body: &Value) -> Result<(String, String, Tokens), ModelError> {
    let bad = |m: String| ModelError::Unavailable(format!("POST {endpoint}: {m}"));
    let Some(message) = v.pointer("/choices/0/message").filter(|m| m.is_object()) else {
        return Err(bad(format!("the response has no `choices[0].message`: {}", super::endpoint::excerpt(&v.to_string()))));
    };
    let content = match message.get("content") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            let why = message.get("refusal").and_then(Value::as_str).map(|r| format!("the model refused: {r}")).unwrap_or_else(|| {
                format!("the answer has no text (finish_reason: {})", v.pointer("/choices/0/finish_reason").and_then(Value::as_str).unwrap_or("none"))
            });
            return Err(bad(why));
        }
    };
    let model = v.get("model").and_then(Value::as_str).or_else(|| body.get("model").and_then(Value::as_str)).unwrap_or_default().to_string();
    let n = |k: &str| v.pointer(&format!("/usage/{k}")).and_then(Value::as_u64).unwrap_or(0);
    Ok((content, model, Tokens { prompt_tokens: n("prompt_tokens"), completion_tokens: n("completion_tokens") }))
}

/// The runtime asks ratchet's broker through the [`ModelAccess`] trait: recorded
/// answers, replayed offline.
impl ModelAccess for ModelBroker {
    fn complete(&self, plugin: &str, request: &ChatRequest) -> Result<(Answer, ModelCall), ModelError> {
        ModelBroker::complete(self, plugin, request)
    }
    fn max_calls_per_plugin_call(&self) -> u32 {
        ModelBroker::max_calls_per_plugin_call(self)
    }
}
