//! Golden tests: every `samples/<name>.json` is a simulator input as `ratchet
//! plugin run` takes it (`{"world", "request"}` or `{"observed"}`); the output must
//! equal `samples/<name>.expected.json`; `samples/invalid/` must be rejected with
//! the message in `<name>.error.txt`. `RATCHET_UPDATE_GOLDEN=1` rewrites them.

use std::path::Path;

use simulator_orders::Orders;

#[test]
fn samples_match_expected_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    ratchet_sdk::testing::golden_samples(&dir, 12, ratchet_sdk::testing::run_simulator::<Orders>);
}
