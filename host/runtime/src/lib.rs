#![warn(missing_docs)]
//! ratchet-runtime: the sandboxed WebAssembly plugin runtime of ratchet, usable on
//! its own. Load a ratchet plugin component (a scorecard, an assertion, an adapter,
//! an agent, a tool simulator — any language, any `ratchet:plugin@0.1.x`), call it
//! with fuel, memory and wall-clock limits on a fresh instance per call, and get
//! ratchet's canonical types back. A vendor can run ratchet components inside their
//! own service with this crate alone; `examples/embed.rs` scores a conversation.
//!
//! * [`schema`] — the canonical, versioned formats (conversation, failure event,
//!   scenario, plugin results), the id grammar and canonical JSON;
//! * [`plugin`] — the runtime: engine, precompile cache, sandbox, one host module
//!   per WIT series;
//! * [`limits`] — engine settings and per-call limits;
//! * [`model`] — what a plugin's model import asks, and the [`model::ModelAccess`]
//!   trait an embedder implements to answer it (ratchet's own records and replays);
//! * [`project`], [`fsutil`], [`time`] — confined reads and writes, RFC 3339;
//! * [`install`] — what is installed with ratchet: shipped plugins by name
//!   (`builtin:NAME`), digest-checked against the install's manifest.
//!
//! Layers only point down: `time`; `schema`, `fsutil`, `install`; `project`, `limits`, `model`;
//! `plugin` (`scripts/check-layers` checks this crate and the host).

pub mod fsutil;
pub mod install;
pub mod limits;
pub mod model;
pub mod plugin;
pub mod project;
pub mod schema;
pub mod time;
