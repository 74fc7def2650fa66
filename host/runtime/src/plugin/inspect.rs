//! What a component is — which world, which WIT version, what it imports and
//! exports — read from its type, without running it.

use serde::Serialize;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::Component;
use wasmtime::Engine;

use super::error::Failure;
use super::sandbox::StoreState;
use super::v0_1;

/// Export names that identify each world (unversioned: every series uses them).
pub const SCORER_EXPORT: &str = "ratchet:plugin/scorer";
/// See [`SCORER_EXPORT`].
pub const ASSERTER_EXPORT: &str = "ratchet:plugin/asserter";
/// See [`SCORER_EXPORT`].
pub const CONVERTER_EXPORT: &str = "ratchet:plugin/converter";
/// See [`SCORER_EXPORT`].
pub const RESPONDER_EXPORT: &str = "ratchet:plugin/responder";
/// See [`SCORER_EXPORT`] (since 0.1.2).
pub const SIMULATION_EXPORT: &str = "ratchet:plugin/simulation";
/// The interface name of the model import, for `plugin inspect` and grants.
pub const MODEL_IMPORT: &str = "ratchet:plugin/model";
/// The interface name of the labels import (since 0.1.3), for `plugin inspect`.
pub const LABELS_IMPORT: &str = "ratchet:plugin/labels";

/// A series of compatible WIT versions (`0.1.x`), each served by one host module.
/// Within a series additions are backwards compatible and wasmtime links older
/// components to the newest definitions; a new series (`0.2.x`) gets its own
/// bindings module and a variant here, and old plugins keep loading through theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Series {
    /// `ratchet:plugin@0.1.x`: [`super::v0_1`].
    #[serde(rename = "0.1")]
    V0_1,
}

impl Series {
    /// Every series this host serves, oldest first.
    pub const ALL: [Series; 1] = [Series::V0_1];

    /// The series of a package version (`0.1.1` → 0.1), or `None` when this host
    /// does not serve it.
    pub fn of(version: &str) -> Option<Series> {
        match version.split('.').take(2).collect::<Vec<_>>().as_slice() {
            ["0", "1"] => Some(Series::V0_1),
            _ => None,
        }
    }

    /// The served versions, for messages (`0.1.x`).
    pub fn supported() -> String {
        Series::ALL.iter().map(|s| s.label()).collect::<Vec<_>>().join(", ")
    }

    fn label(self) -> &'static str {
        match self {
            Series::V0_1 => "0.1.x",
        }
    }

    /// Add this series' host interfaces (`host`, `model`) to a linker.
    pub fn add_host_to_linker(self, linker: &mut wasmtime::component::Linker<StoreState>) -> wasmtime::Result<()> {
        match self {
            Series::V0_1 => v0_1::add_host_to_linker(linker),
        }
    }
}

/// The plugin kinds, one WIT world each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WorldKind {
    /// Scores conversations (`detect`).
    Scorecard,
    /// Decides a scenario criterion (`gate`).
    Assertion,
    /// Converts vendor exports into canonical conversations.
    Adapter,
    /// An agent under test (the gate's `wasm` driver).
    Agent,
    /// Answers tool calls from a world state (the gate's replay; since 0.1.2).
    Simulator,
}

impl WorldKind {
    /// The world's name in the WIT package.
    pub fn name(self) -> &'static str {
        match self {
            WorldKind::Scorecard => "scorecard",
            WorldKind::Assertion => "assertion",
            WorldKind::Adapter => "adapter",
            WorldKind::Agent => "agent",
            WorldKind::Simulator => "simulator",
        }
    }
}

/// A world at a version of the `ratchet:plugin` package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct World {
    /// Which world.
    pub kind: WorldKind,
    /// The package version the component was built against, e.g. `0.1.0`.
    pub version: String,
    /// The series (host module) that serves it.
    #[serde(skip)]
    pub series: Series,
}

/// The outside of a component.
#[derive(Debug, Clone, Serialize)]
pub struct Inspection {
    /// The world, or why none could be determined.
    #[serde(serialize_with = "ser_world")]
    pub world: Result<World, Failure>,
    /// Imported instance/function names.
    pub imports: Vec<String>,
    /// Exported names, with the functions inside exported instances.
    pub exports: Vec<String>,
}

impl Inspection {
    /// Whether the component imports any WASI interface.
    pub fn uses_wasi(&self) -> bool {
        self.imports.iter().any(|i| i.starts_with("wasi:"))
    }
}

/// Read a component's world, imports and exports.
pub fn inspect(engine: &Engine, component: &Component) -> Inspection {
    let ty = component.component_type();
    let imports: Vec<String> = ty.imports(engine).map(|(name, _)| name.to_string()).collect();
    let mut exports = Vec::new();
    for (name, item) in ty.exports(engine) {
        if name.starts_with("ratchet-reset-") {
            continue; // added by `reset::instrument`, not the plugin's own
        }
        match item.ty {
            ComponentItem::ComponentInstance(inst) => {
                // Functions only: exported type names are noise here.
                let funcs: Vec<String> =
                    inst.exports(engine).filter(|(_, i)| matches!(i.ty, ComponentItem::ComponentFunc(_))).map(|(n, _)| n.to_string()).collect();
                exports.push(format!("{name} {{ {} }}", funcs.join(", ")));
            }
            _ => exports.push(name.to_string()),
        }
    }
    let export_names: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).filter(|n| !n.starts_with("ratchet-reset-")).collect();
    Inspection { world: world_of(&export_names), imports, exports }
}

/// Split `ns:pkg/iface@1.2.3` into (`ns:pkg/iface`, `1.2.3`).
fn split_version(name: &str) -> (&str, Option<&str>) {
    match name.split_once('@') {
        Some((n, v)) => (n, Some(v)),
        None => (name, None),
    }
}

fn world_of(exports: &[String]) -> Result<World, Failure> {
    let mut found = Vec::new();
    for e in exports {
        let (name, version) = split_version(e);
        let kind = match name {
            SCORER_EXPORT => WorldKind::Scorecard,
            ASSERTER_EXPORT => WorldKind::Assertion,
            CONVERTER_EXPORT => WorldKind::Adapter,
            RESPONDER_EXPORT => WorldKind::Agent,
            SIMULATION_EXPORT => WorldKind::Simulator,
            _ => continue,
        };
        found.push((kind, version.unwrap_or("").to_string()));
    }
    match found.as_slice() {
        [] => Err(Failure::WrongWorld(format!(
            "exports none of ratchet's interfaces ({}, {}, {}, {}, {}); it exports: [{}]",
            SCORER_EXPORT,
            ASSERTER_EXPORT,
            CONVERTER_EXPORT,
            RESPONDER_EXPORT,
            SIMULATION_EXPORT,
            exports.join(", ")
        ))),
        [(kind, version)] => match Series::of(version) {
            Some(series) => Ok(World { kind: *kind, version: version.clone(), series }),
            None => Err(Failure::UnsupportedVersion(format!(
                "the component targets ratchet:plugin@{version}; this ratchet supports {} (see docs/wit-versioning.md)",
                Series::supported()
            ))),
        },
        many => Err(Failure::WrongWorld(format!(
            "exports several ratchet interfaces ({}): a plugin implements exactly one world",
            many.iter().map(|(k, v)| format!("{}@{v}", k.name())).collect::<Vec<_>>().join(", ")
        ))),
    }
}

fn ser_world<S: serde::Serializer>(w: &Result<World, Failure>, s: S) -> Result<S::Ok, S::Error> {
    match w {
        Ok(w) => w.serialize(s),
        Err(e) => s.serialize_str(&format!("error: {e}")),
    }
}
