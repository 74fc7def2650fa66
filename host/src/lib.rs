#![warn(missing_docs)]
//! ratchet: every production failure of an AI customer-service agent becomes a
//! deterministic regression scenario, and every agent change is gated on all of them.
//!
//! This library is the `ratchet` binary's engine room:
//! * [`schema`] — the canonical, versioned formats (conversation, failure event, scenario);
//! * [`config`] — `ratchet.toml`;
//! * [`project`] — confined access to the project's files;
//! * [`install`] — what is installed with ratchet: shipped plugins by name, digest-checked;
//! * [`plugin`] — the sandboxed WebAssembly plugin runtime;
//! * [`detect`], [`rank`], [`regenerate`], [`promote`], [`gate`], [`tiers`] — the phases of the loop.

pub mod agent;
pub mod config;
pub mod detect;
pub mod fsutil;
pub mod gate;
pub mod install;
pub mod llm;
pub mod plugin;
pub mod project;
pub mod promote;
pub mod rank;
pub mod regenerate;
pub mod scaffold;
pub mod schema;
pub mod suite;
pub mod tiers;
pub mod time;
