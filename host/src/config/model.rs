//! `[model]`: the endpoint behind LLM-judged plugins, and where answers are recorded.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[model]`: the OpenAI-compatible endpoint behind the `ratchet:plugin/model`
/// import (plugins with `grant_model = true`), and the recordings that make
/// judged verdicts replay identically. The URL and key come from environment
/// variables named here, never from a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Environment variable holding the base URL (unset: `https://api.openai.com/v1`).
    pub base_url_env: String,
    /// Environment variable holding the API key (not needed for a server on localhost).
    pub api_key_env: String,
    /// The judge model used when a plugin's request names none.
    pub model: String,
    /// Directory of recorded answers, relative to the project root (commit it).
    pub recordings: PathBuf,
    /// Per-request timeout, ms.
    pub request_timeout_ms: u64,
    /// Retries on 408/429/5xx and connection errors.
    pub retries: u32,
    /// First backoff when the server sends no `Retry-After`, ms.
    pub retry_backoff_ms: u64,
    /// Most requests in flight across all workers.
    pub max_concurrency: u32,
    /// Most model calls one plugin call may make.
    pub max_calls_per_plugin_call: u32,
    /// USD per million prompt tokens, for the cost line.
    pub price_per_million_input_tokens: Option<f64>,
    /// USD per million completion tokens, for the cost line.
    pub price_per_million_output_tokens: Option<f64>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            base_url_env: "OPENAI_BASE_URL".into(),
            api_key_env: "OPENAI_API_KEY".into(),
            model: "gpt-4o-mini".into(),
            recordings: PathBuf::from("recordings/model"),
            request_timeout_ms: 60_000,
            retries: 4,
            retry_backoff_ms: 500,
            max_concurrency: 4,
            max_calls_per_plugin_call: 16,
            price_per_million_input_tokens: None,
            price_per_million_output_tokens: None,
        }
    }
}

impl ModelConfig {
    /// Check variable names, the recordings directory, counts and prices; the error names the field.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let m = self;
        for (field, v) in [("base_url_env", &m.base_url_env), ("api_key_env", &m.api_key_env)] {
            if v.is_empty() || v.contains('=') || v.contains(char::is_whitespace) {
                return Err((format!("model.{field}"), format!("`{v}` must name an environment variable, e.g. \"OPENAI_API_KEY\"")));
            }
        }
        if m.recordings.is_absolute() || m.recordings.components().any(|c| matches!(c, std::path::Component::ParentDir)) || m.recordings.as_os_str().is_empty()
        {
            return Err((
                "model.recordings".into(),
                format!("`{}` must be a directory inside the project (a relative path without `..`)", m.recordings.display()),
            ));
        }
        if m.model.trim().is_empty() {
            return Err(("model.model".into(), "must name the judge model, e.g. \"gpt-4o-mini\"".into()));
        }
        for (field, v) in [
            ("request_timeout_ms", m.request_timeout_ms),
            ("max_concurrency", u64::from(m.max_concurrency)),
            ("max_calls_per_plugin_call", u64::from(m.max_calls_per_plugin_call)),
        ] {
            if v == 0 {
                return Err((format!("model.{field}"), "must be positive".into()));
            }
        }
        for (field, price) in
            [("price_per_million_input_tokens", m.price_per_million_input_tokens), ("price_per_million_output_tokens", m.price_per_million_output_tokens)]
        {
            if price.is_some_and(|p| !p.is_finite() || p < 0.0) {
                return Err((format!("model.{field}"), "must be a non-negative number (USD per million tokens)".into()));
            }
        }
        Ok(())
    }
}
