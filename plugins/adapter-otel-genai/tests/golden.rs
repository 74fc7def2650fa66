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

/// Dumps the conversion of every captured mode (debug aid).
#[test]
#[ignore]
fn dump_captured() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/captured");
    for mode in ["v2-default", "v2-events", "v2-latest-span", "v2-latest-event", "v2-latest-both", "v2-latest-off"] {
        let input = std::fs::read(dir.join(format!("{mode}.jsonl"))).unwrap();
        let out = OtelGenAi::convert(&input, &serde_json::json!({})).unwrap();
        std::fs::write(format!("/tmp/dump-{mode}.json"), serde_json::to_string_pretty(&out).unwrap()).unwrap();
    }
}
