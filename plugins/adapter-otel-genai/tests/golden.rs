//! Golden tests: every `samples/<name>.json` / `samples/<name>.jsonl` (an
//! OTLP JSON trace export) is converted — with `samples/<name>.options.json`
//! as options when it exists, else none — and the list of converted
//! conversations compared with `samples/<name>.expected.json`. Every
//! `samples/invalid/<name>.json(l)` must fail with exactly the message in
//! `samples/invalid/<name>.error.txt` (see `ratchet_sdk::testing`). Set
//! `RATCHET_UPDATE_GOLDEN=1` to rewrite the expected files (then review the
//! diff).

use std::path::Path;

use adapter_otel_genai::OtelGenAi;
use ratchet_sdk::testing::{assert_round_trips, golden_samples};
use ratchet_sdk::Adapter;

#[test]
fn samples_match_expected_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let checked = golden_samples(&dir, 2, |input, options| {
        let converted = OtelGenAi::convert(input, options)?;
        // The output is canonical conversation JSON the SDK (and the host) reads back.
        assert_round_trips(&converted);
        Ok(converted)
    });
    assert!(checked.invalid >= 1, "expected at least 1 invalid sample");
}
