//! Golden tests: every input in `samples/` gives its `.expected.json`, byte for byte,
//! and every input in `samples/invalid/` fails with its `.error.txt` (see
//! `ratchet_sdk::testing`). `RATCHET_UPDATE_GOLDEN=1 cargo test` rewrites the
//! expected files (review the diff). Natively: no Wasm needed.

use std::path::Path;

#[allow(unused_imports)]
use ratchet_sdk::{Adapter, Assertion, Conversation, Scorecard, Value};
use %%SNAKE%%::%%TYPE%%;

#[test]
fn samples_match_expected_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    ratchet_sdk::testing::golden_samples(&dir, 1, %%RUST_RUNNER%%);
}
