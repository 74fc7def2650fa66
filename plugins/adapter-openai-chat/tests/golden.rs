//! Golden tests: every `samples/<name>.json` / `samples/<name>.jsonl` (an
//! OpenAI chat export) is converted with default options and the list of
//! converted conversations compared with `samples/<name>.expected.json`.
//! Set `RATCHET_UPDATE_GOLDEN=1` to rewrite the expected files (then review
//! the diff).

use std::path::Path;

use adapter_openai_chat::OpenAiChat;
use ratchet_sdk::json::to_canonical_pretty;
use ratchet_sdk::{Adapter, Value};

#[test]
fn samples_match_expected_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let Some(stem) = name.strip_suffix(".jsonl").or_else(|| name.strip_suffix(".json")) else {
            continue;
        };
        if name.ends_with(".expected.json") {
            continue;
        }
        seen += 1;
        let input = std::fs::read(&path).unwrap();
        let converted = OpenAiChat::convert(&input, &Value::Null).unwrap_or_else(|e| panic!("{name}: {e}"));
        let actual = to_canonical_pretty(&converted);
        let expected_path = path.with_file_name(format!("{stem}.expected.json"));
        if std::env::var_os("RATCHET_UPDATE_GOLDEN").is_some() {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected =
            std::fs::read_to_string(&expected_path).unwrap_or_else(|e| panic!("{}: {e} (run with RATCHET_UPDATE_GOLDEN=1)", expected_path.display()));
        assert_eq!(actual, expected, "{name}: output differs from {}", expected_path.display());
        // The output is canonical conversation JSON the SDK (and the host) reads back.
        let back: Vec<ratchet_sdk::Converted> = serde_json::from_str(&expected).unwrap();
        assert_eq!(back, converted, "{name}: expected file does not round-trip");
    }
    assert!(seen >= 2, "expected at least 2 samples, found {seen}");
}
