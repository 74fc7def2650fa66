//! Golden tests: every `samples/<name>.json` is a simulator input as `ratchet
//! plugin run` takes it (`{"world", "request"}` or `{"observed"}`); the output must
//! equal `samples/<name>.expected.json`. host/tests/it/conformance.rs runs the same
//! samples through the built component. `RATCHET_UPDATE_GOLDEN=1` rewrites them.

use std::path::Path;

use simulator_subscriptions::Subscriptions;

#[test]
fn samples_match_expected_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    ratchet_sdk::testing::golden_samples(&dir, 4, ratchet_sdk::testing::run_simulator::<Subscriptions>);
}
