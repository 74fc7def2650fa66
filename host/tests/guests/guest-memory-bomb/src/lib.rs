//! Hostile test guest: `score` keeps allocating 1 MiB blocks and writing to
//! every page until allocation fails (memory.grow refused by the host's
//! limit), which aborts the guest. The host must report the memory limit.

use ratchet_sdk::{Conversation, PluginInfo, Scorecard, ScorecardResult, Value};

/// The guest's scorecard.
pub struct MemoryBomb;

impl Scorecard for MemoryBomb {
    fn info() -> PluginInfo {
        PluginInfo::new("guest-memory-bomb", env!("CARGO_PKG_VERSION"), "allocates until it dies")
    }

    fn score(_conversation: &Conversation, _params: &Value) -> Result<ScorecardResult, String> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut block = vec![0u8; 1 << 20];
            // Touch every 4 KiB page so the memory is really used.
            for i in (0..block.len()).step_by(4096) {
                block[i] = (hoard.len() as u8).wrapping_add(1);
            }
            hoard.push(std::hint::black_box(block));
        }
    }
}

ratchet_sdk::export_scorecard!(MemoryBomb);
