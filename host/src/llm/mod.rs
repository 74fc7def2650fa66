//! Talking to language models without giving up determinism.
//!
//! * [`endpoint`] — one OpenAI-compatible `/chat/completions` endpoint over HTTP
//!   (timeouts, retries with backoff, a concurrency cap, token/cost accounting),
//!   shared by the `openai` agent driver and the model import.
//! * [`recording`] — the canonical form of a judge request, its sha256 key, and the
//!   recording files that hold each answer.
//! * [`broker`] — what the `ratchet:plugin/model` host import calls: it records
//!   live answers and, in replay, serves only recorded ones, so an LLM-judged
//!   criterion gives the same verdict on every run and in CI with no network.

pub mod broker;
pub mod endpoint;
pub mod recording;

pub use broker::{Mode, ModelBroker, ModelCall, ModelError};
pub use endpoint::{ChatEndpoint, EndpointSettings, ModelUsage};
pub use recording::{ChatRequest, Message, MessageRole, Recording};
