//! Golden tests: every `samples/<name>.json` (a canonical conversation, taken
//! from examples/shop/testdata) is scored with its `<name>.options.json` params
//! (else `{}`) and compared with `samples/<name>.expected.json`; `samples/invalid/`
//! must be rejected with the message in `<name>.error.txt` (see
//! `ratchet_sdk::testing`). `RATCHET_UPDATE_GOLDEN=1` rewrites the expected files.

use std::path::Path;

use ratchet_sdk::{Conversation, Scorecard};
use scorecard_shop::Shop;

#[test]
fn samples_match_expected_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    ratchet_sdk::testing::golden_samples(&dir, 12, |input, params| {
        let text = std::str::from_utf8(input).map_err(|e| e.to_string())?;
        let conversation = Conversation::from_json(text).map_err(|e| e.to_string())?;
        Shop::score(&conversation, params)
    });
}
