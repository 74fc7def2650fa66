//! Golden tests: every `samples/<name>.json` / `samples/<name>.jsonl` (voice
//! end-of-call reports) is converted — with `samples/<name>.options.json`
//! as options when it exists, else none — and the list of converted
//! conversations compared with `samples/<name>.expected.json`. Every
//! `samples/invalid/<name>.json(l)` must fail with exactly the message in
//! `samples/invalid/<name>.error.txt`. Set `RATCHET_UPDATE_GOLDEN=1` to
//! rewrite the expected files (then review the diff).

use std::path::{Path, PathBuf};

use adapter_voice_end_of_call::VoiceEndOfCall;
use ratchet_sdk::json::to_canonical_pretty;
use ratchet_sdk::{Adapter, Value};

/// Sample inputs in `dir`: `(path, stem)` for `*.json` / `*.jsonl`, skipping
/// expected and options files.
fn inputs(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    entries.sort();
    entries
        .into_iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?.to_string();
            if name.ends_with(".expected.json") || name.ends_with(".options.json") {
                return None;
            }
            let stem = name.strip_suffix(".jsonl").or_else(|| name.strip_suffix(".json"))?.to_string();
            Some((path, stem))
        })
        .collect()
}

fn update() -> bool {
    std::env::var_os("RATCHET_UPDATE_GOLDEN").is_some()
}

#[test]
fn samples_match_expected_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
    let mut seen = 0;
    for (path, stem) in inputs(&dir) {
        seen += 1;
        let input = std::fs::read(&path).unwrap();
        let options_path = dir.join(format!("{stem}.options.json"));
        let options: Value = match std::fs::read_to_string(&options_path) {
            Ok(text) => serde_json::from_str(&text).unwrap(),
            Err(_) => Value::Null,
        };
        let converted = VoiceEndOfCall::convert(&input, &options).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let actual = to_canonical_pretty(&converted);
        let expected_path = dir.join(format!("{stem}.expected.json"));
        if update() {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected =
            std::fs::read_to_string(&expected_path).unwrap_or_else(|e| panic!("{}: {e} (run with RATCHET_UPDATE_GOLDEN=1)", expected_path.display()));
        assert_eq!(actual, expected, "{stem}: output differs from {}", expected_path.display());
        // The output is canonical conversation JSON the SDK (and the host) reads back.
        let back: Vec<ratchet_sdk::Converted> = serde_json::from_str(&expected).unwrap();
        assert_eq!(back, converted, "{stem}: expected file does not round-trip");
        // Same bytes every time.
        assert_eq!(to_canonical_pretty(&VoiceEndOfCall::convert(&input, &options).unwrap()), actual, "{stem}: not deterministic");
    }
    assert!(seen >= 2, "expected at least 2 samples, found {seen}");
}

#[test]
fn invalid_samples_fail_with_expected_errors() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples").join("invalid");
    let mut seen = 0;
    for (path, stem) in inputs(&dir) {
        seen += 1;
        let input = std::fs::read(&path).unwrap();
        let err = VoiceEndOfCall::convert(&input, &Value::Null).expect_err(&format!("{stem}: should fail"));
        let expected_path = dir.join(format!("{stem}.error.txt"));
        if update() {
            std::fs::write(&expected_path, format!("{err}\n")).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        assert_eq!(err, expected.trim_end_matches('\n'), "{stem}");
    }
    assert!(seen >= 1, "expected at least 1 invalid sample");
}
