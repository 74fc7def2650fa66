//! Golden tests: every `samples/<name>.json` is `{"transcript": <conversation>,
//! "params": {...}}`; its verdict must equal `samples/<name>.expected.json`
//! (see `ratchet_sdk::testing`). Set `RATCHET_UPDATE_GOLDEN=1` to rewrite the
//! expected files (then review the diff).

use std::path::Path;

use assertion_no_false_confirmation::NoFalseConfirmation;
use ratchet_sdk::{Assertion, Conversation, Value};

#[test]
fn samples_match_expected_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    // The params come from the sample itself, not from an options file.
    ratchet_sdk::testing::golden_samples(&dir, 2, |input, _options| {
        let input: Value = serde_json::from_slice(input).map_err(|e| e.to_string())?;
        let transcript: Conversation = serde_json::from_value(input["transcript"].clone()).map_err(|e| format!("transcript: {e}"))?;
        NoFalseConfirmation::check(&transcript, &input["params"])
    });
}
