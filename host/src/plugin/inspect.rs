//! What a component is — which world, which WIT version, what it imports and
//! exports — read from its type, without running it.

use serde::Serialize;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::Component;
use wasmtime::Engine;

use super::error::Failure;
use super::v0_1;

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
}

impl WorldKind {
    /// The world's name in the WIT package.
    pub fn name(self) -> &'static str {
        match self {
            WorldKind::Scorecard => "scorecard",
            WorldKind::Assertion => "assertion",
            WorldKind::Adapter => "adapter",
            WorldKind::Agent => "agent",
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
    let export_names: Vec<String> = ty.exports(engine).map(|(n, _)| n.to_string()).collect();
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
            v0_1::SCORER_EXPORT => WorldKind::Scorecard,
            v0_1::ASSERTER_EXPORT => WorldKind::Assertion,
            v0_1::CONVERTER_EXPORT => WorldKind::Adapter,
            v0_1::RESPONDER_EXPORT => WorldKind::Agent,
            _ => continue,
        };
        found.push((kind, version.unwrap_or("").to_string()));
    }
    match found.as_slice() {
        [] => Err(Failure::WrongWorld(format!(
            "exports none of ratchet's interfaces ({}, {}, {}, {}); it exports: [{}]",
            v0_1::SCORER_EXPORT,
            v0_1::ASSERTER_EXPORT,
            v0_1::CONVERTER_EXPORT,
            v0_1::RESPONDER_EXPORT,
            exports.join(", ")
        ))),
        [(kind, version)] => {
            if version.starts_with("0.1.") {
                Ok(World { kind: *kind, version: version.clone() })
            } else {
                Err(Failure::UnsupportedVersion(format!(
                    "the component targets ratchet:plugin@{version}; this ratchet supports 0.1.x (see docs/wit-versioning.md)"
                )))
            }
        }
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
