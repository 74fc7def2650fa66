//! Bindings and export glue for the WIT package series `ratchet:plugin@0.1.x`,
//! generated from the newest 0.1 WIT (`wit/since_v0.1.3`: 0.1.1 added the `model`
//! import, 0.1.2 the `simulator` world, 0.1.3 the `labels` import). A component
//! built with this SDK exports `...@0.1.3` and imports `model` only if it calls
//! [`crate::judge`]; scorecards, assertions and adapters import `labels` (the
//! glue reads a conversation's labels into [`crate::Conversation::labels`], and
//! attaches the ones an adapter sets there). Hosts that speak 0.1.3 load it, and
//! plugins built against 0.1.0 keep loading on them.
//!
//! Plugin authors do not use this module directly: they implement
//! [`crate::Scorecard`], [`crate::Assertion`], [`crate::Adapter`] or
//! [`crate::Agent`] and call the matching `export_*!` macro, which expands to
//! the glue here. It is public only because those macros expand in the
//! plugin's crate. A future
//! `ratchet:plugin@0.2.0` gets a sibling module `v0_2` with its own bindings
//! and conversions, leaving this one untouched.
//!
//! Layout: the shared `types` and `host` interfaces are generated once (module
//! [`shared`]); the four worlds reuse them through wit-bindgen's `with`, so
//! the WIT <-> SDK conversions in `convert` are written once. Each world's
//! `export!` macro is public and carries that world's full component-type
//! section, so a plugin that calls `export_scorecard!` exports *only* the
//! `scorer` interface, and one that calls `export_agent!` only `responder`
//! (the host detects the plugin kind from its exports).

#![allow(missing_docs, clippy::all)]

mod convert;
mod glue;

#[doc(hidden)]
pub use glue::model_complete;
#[doc(hidden)]
pub use glue::{host_log, install_panic_hook};
pub use glue::{AdapterGlue, AgentGlue, AssertionGlue, ScorecardGlue, SimulatorGlue};

/// The `types`, `host`, `model` and `labels` interfaces, generated once for every world.
#[doc(hidden)]
pub mod shared {
    wit_bindgen::generate!({
        inline: "
            package ratchet-sdk:shared;
            world shared {
                import ratchet:plugin/types@0.1.3;
                import ratchet:plugin/host@0.1.3;
                import ratchet:plugin/model@0.1.3;
                import ratchet:plugin/labels@0.1.3;
            }
        ",
        path: "wit/since_v0.1.3",
        world: "ratchet-sdk:shared/shared",
        generate_all,
    });
}

/// World `scorecard`: imports `host`, exports `scorer`.
#[doc(hidden)]
pub mod scorecard {
    wit_bindgen::generate!({
        path: "wit/since_v0.1.3",
        world: "ratchet:plugin/scorecard@0.1.3",
        with: {
            "ratchet:plugin/types@0.1.3": crate::v0_1::shared::ratchet::plugin::types,
            "ratchet:plugin/host@0.1.3": crate::v0_1::shared::ratchet::plugin::host,
            "ratchet:plugin/model@0.1.3": crate::v0_1::shared::ratchet::plugin::model,
            "ratchet:plugin/labels@0.1.3": crate::v0_1::shared::ratchet::plugin::labels,
        },
        pub_export_macro: true,
        export_macro_name: "__export_scorecard",
        default_bindings_module: "$crate::v0_1::scorecard",
    });
}

/// World `assertion`: imports `host`, exports `asserter`.
#[doc(hidden)]
pub mod assertion {
    wit_bindgen::generate!({
        path: "wit/since_v0.1.3",
        world: "ratchet:plugin/assertion@0.1.3",
        with: {
            "ratchet:plugin/types@0.1.3": crate::v0_1::shared::ratchet::plugin::types,
            "ratchet:plugin/host@0.1.3": crate::v0_1::shared::ratchet::plugin::host,
            "ratchet:plugin/model@0.1.3": crate::v0_1::shared::ratchet::plugin::model,
            "ratchet:plugin/labels@0.1.3": crate::v0_1::shared::ratchet::plugin::labels,
        },
        pub_export_macro: true,
        export_macro_name: "__export_assertion",
        default_bindings_module: "$crate::v0_1::assertion",
    });
}

/// World `adapter`: imports `host`, exports `converter`.
#[doc(hidden)]
pub mod adapter {
    wit_bindgen::generate!({
        path: "wit/since_v0.1.3",
        world: "ratchet:plugin/adapter@0.1.3",
        with: {
            "ratchet:plugin/types@0.1.3": crate::v0_1::shared::ratchet::plugin::types,
            "ratchet:plugin/host@0.1.3": crate::v0_1::shared::ratchet::plugin::host,
            "ratchet:plugin/labels@0.1.3": crate::v0_1::shared::ratchet::plugin::labels,
        },
        pub_export_macro: true,
        export_macro_name: "__export_adapter",
        default_bindings_module: "$crate::v0_1::adapter",
    });
}

/// World `agent`: imports `host`, exports `responder`.
#[doc(hidden)]
pub mod agent {
    wit_bindgen::generate!({
        path: "wit/since_v0.1.3",
        world: "ratchet:plugin/agent@0.1.3",
        with: {
            "ratchet:plugin/types@0.1.3": crate::v0_1::shared::ratchet::plugin::types,
            "ratchet:plugin/host@0.1.3": crate::v0_1::shared::ratchet::plugin::host,
        },
        pub_export_macro: true,
        export_macro_name: "__export_agent",
        default_bindings_module: "$crate::v0_1::agent",
    });
}

/// World `simulator` (since 0.1.2): imports `host`, exports `simulation`.
#[doc(hidden)]
pub mod simulator {
    wit_bindgen::generate!({
        path: "wit/since_v0.1.3",
        world: "ratchet:plugin/simulator@0.1.3",
        with: {
            "ratchet:plugin/types@0.1.3": crate::v0_1::shared::ratchet::plugin::types,
            "ratchet:plugin/host@0.1.3": crate::v0_1::shared::ratchet::plugin::host,
        },
        pub_export_macro: true,
        export_macro_name: "__export_simulator",
        default_bindings_module: "$crate::v0_1::simulator",
    });
}

/// Short paths to the generated WIT types, for the conversions and glue.
pub(crate) mod wit {
    pub use super::adapter::exports::ratchet::plugin::converter;
    pub use super::agent::exports::ratchet::plugin::responder;
    pub use super::assertion::exports::ratchet::plugin::asserter;
    pub use super::scorecard::exports::ratchet::plugin::scorer;
    pub use super::shared::ratchet::plugin::host;
    pub use super::shared::ratchet::plugin::labels;
    pub use super::shared::ratchet::plugin::model;
    pub use super::shared::ratchet::plugin::types;
    pub use super::simulator::exports::ratchet::plugin::simulation;
}
