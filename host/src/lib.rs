#![warn(missing_docs)]
//! ratchet: every production failure of an AI customer-service agent becomes a
//! deterministic regression scenario, and every agent change is gated on all of them.
//!
//! This library is the `ratchet` binary's engine room, above the plugin runtime
//! crate (`ratchet-runtime`, re-exported here: [`schema`], [`plugin`], [`project`],
//! [`install`], [`fsutil`], [`time`]):
//! * [`config`] — `ratchet.toml`, one file per section;
//! * [`suite`] — the suite on disk (files, the store);
//! * [`built`] — what `plugin build` records beside a component, to say when it is stale;
//! * [`llm`] — the model broker: recorded, replayed answers for plugins that judge;
//! * [`loader`] — the plugins `ratchet.toml` names: loaded with their limits and grants;
//! * [`agent`] — drivers for the agent under test;
//! * [`detect`], [`rank`], [`regenerate`], [`promote`], [`gate`], [`tiers`] — the phases of the loop.
//!
//! Layers only point down (`scripts/check-layers`, docs/architecture.md).

pub use ratchet_runtime::{fsutil, install, plugin, project, schema, time};

pub mod agent;
pub mod built;
pub mod config;
pub mod detect;
pub mod gate;
pub mod llm;
pub mod loader;
pub mod promote;
pub mod rank;
pub mod regenerate;
pub mod scaffold;
pub mod suite;
pub mod tiers;
