//! Hostile test guest: a tool simulator whose `call` misbehaves as its params
//! say (`{"mode": ...}`): `loop` spins forever, `bomb` allocates until the
//! memory limit, `trap` panics, `huge` answers with a result past the output
//! limit, `not-an-object` answers a world that is a string, `ok` answers
//! `{"ok": true}` and leaves the world as it was. The host must contain every
//! one: a named, typed failure (the scenario's verdict `error`), never a hang.

use ratchet_sdk::{json, Observed, PluginInfo, Simulated, Simulator, ToolRequest, Value};

/// The guest's simulator.
pub struct Hostile;

impl Simulator for Hostile {
    fn info() -> PluginInfo {
        PluginInfo::new("guest-hostile-simulator", env!("CARGO_PKG_VERSION"), "misbehaves on purpose")
    }

    fn seed(_observed: &[Observed], _params: &Value) -> Result<Value, String> {
        Ok(json!({}))
    }

    fn call(world: &Value, _request: &ToolRequest, params: &Value) -> Result<Option<Simulated>, String> {
        match params["mode"].as_str().unwrap_or("ok") {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "trap" => panic!("deliberate panic from guest-hostile-simulator"),
            "huge" => Ok(Some(Simulated::ok(json!("x".repeat(1 << 20)), world.clone()))),
            "not-an-object" => Ok(Some(Simulated::ok(json!({"ok": true}), json!("the world is a string")))),
            "refuse" => Err("this simulator refuses".into()),
            _ => Ok(Some(Simulated::ok(json!({"ok": true}), world.clone()))),
        }
    }
}

ratchet_sdk::export_simulator!(Hostile);
