//! Golden tests: every `samples/<name>.json` / `samples/<name>.jsonl` (an
//! OpenAI chat export) is converted with default options and the list of
//! converted conversations compared with `samples/<name>.expected.json`
//! (see `ratchet_sdk::testing`). Set `RATCHET_UPDATE_GOLDEN=1` to rewrite the
//! expected files (then review the diff).

use std::path::Path;

use adapter_openai_chat::OpenAiChat;
use ratchet_sdk::testing::{assert_round_trips, golden_samples};
use ratchet_sdk::Adapter;

#[test]
fn samples_match_expected_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    golden_samples(&dir, 2, |input, options| {
        let converted = OpenAiChat::convert(input, options)?;
        // The output is canonical conversation JSON the SDK (and the host) reads back.
        assert_round_trips(&converted);
        Ok(converted)
    });
}
