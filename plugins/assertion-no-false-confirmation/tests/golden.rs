//! Golden tests: every `samples/<name>.json` is `{"transcript": <conversation>,
//! "params": {...}}`; its verdict must equal `samples/<name>.expected.json`.
//! Set `RATCHET_UPDATE_GOLDEN=1` to rewrite the expected files (then review
//! the diff).

use std::path::Path;

use assertion_no_false_confirmation::NoFalseConfirmation;
use ratchet_sdk::json::to_canonical_pretty;
use ratchet_sdk::{Assertion, Conversation, Value};

#[test]
fn samples_match_expected_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if !name.ends_with(".json") || name.ends_with(".expected.json") {
            continue;
        }
        seen += 1;
        let input: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let transcript: Conversation = serde_json::from_value(input["transcript"].clone()).unwrap_or_else(|e| panic!("{name}: transcript: {e}"));
        let verdict = NoFalseConfirmation::check(&transcript, &input["params"]).unwrap_or_else(|e| panic!("{name}: {e}"));
        let actual = to_canonical_pretty(&verdict);
        let expected_path = path.with_file_name(name.replace(".json", ".expected.json"));
        if std::env::var_os("RATCHET_UPDATE_GOLDEN").is_some() {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected =
            std::fs::read_to_string(&expected_path).unwrap_or_else(|e| panic!("{}: {e} (run with RATCHET_UPDATE_GOLDEN=1)", expected_path.display()));
        assert_eq!(actual, expected, "{name}: output differs from {}", expected_path.display());
    }
    assert!(seen >= 2, "expected at least 2 samples, found {seen}");
}
