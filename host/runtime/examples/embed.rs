//! Embed ratchet's plugin runtime in your own Rust program: load a scorecard
//! component, score one conversation, print the result and what the call cost.
//! One concept: the runtime alone, no ratchet.toml, no CLI.
//!
//! ```sh
//! cargo run -p ratchet-runtime --example embed -- \
//!     target/plugins/scorecard-support-policy.wasm host/tests/golden/conversation/tuesday-cancellation.json
//! ```

use std::path::Path;

use ratchet_runtime::limits::{EngineSettings, Limits};
use ratchet_runtime::plugin::Runtime;
use ratchet_runtime::schema::{self, Conversation};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [component, conversation] = args.as_slice() else {
        eprintln!("usage: embed COMPONENT.wasm CONVERSATION.json");
        std::process::exit(2);
    };
    // One engine per process (pooling allocator, fuel metering, epoch interruption
    // and canonical NaNs: see `plugin::engine`). `false`: no precompile cache on disk,
    // so the component is compiled here; a long-running service passes `true`.
    let runtime = Runtime::new(&EngineSettings::default(), false)?;
    // The default limits: 10^10 fuel, 256 MiB, 10 s. A fresh instance per call.
    let plugin = runtime.load_file("scorecard", Path::new(component), Limits::default())?;
    let conversation: Conversation = schema::load_json(Path::new(conversation))?;
    let call = plugin.score(&conversation, &serde_json::json!({}))?;
    println!("{}", serde_json::to_string_pretty(&call.output)?);
    eprintln!(
        "{} ({}): fuel {}, peak memory {} KiB, {} µs",
        plugin.id().name,
        plugin.world().kind.name(),
        call.stats.fuel_consumed,
        call.stats.peak_memory_bytes >> 10,
        call.stats.wall_time.as_micros()
    );
    Ok(())
}
