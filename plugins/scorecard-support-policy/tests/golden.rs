//! Golden tests: every `samples/<name>.json` (a canonical conversation) is
//! scored with default params and compared with `samples/<name>.expected.json`
//! (see `ratchet_sdk::testing`). Set `RATCHET_UPDATE_GOLDEN=1` to rewrite the
//! expected files (then review the diff).

use std::path::Path;

use ratchet_sdk::{Conversation, Scorecard};
use scorecard_support_policy::SupportPolicy;

#[test]
fn samples_match_expected_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    ratchet_sdk::testing::golden_samples(&dir, 3, |input, params| {
        let text = std::str::from_utf8(input).map_err(|e| e.to_string())?;
        let conversation = Conversation::from_json(text).map_err(|e| e.to_string())?;
        SupportPolicy::score(&conversation, params)
    });
}
