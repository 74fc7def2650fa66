//! Every shipped plugin, run as a Wasm component through the sandbox, gives exactly
//! the output its native golden test expects: the component and the natively tested
//! logic are the same thing.

use crate::common;

use std::path::Path;

use common::*;
use ratchet::config::Limits;
use ratchet::plugin::WorldKind;
use ratchet::schema::{self, canonical_json, Conversation};
use serde_json::{json, Value};

fn canonical(v: &Value) -> String {
    canonical_json(v)
}

#[test]
fn shipped_plugins_match_their_native_golden_outputs() {
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins");
    let mut checked = 0;
    let mut dirs: Vec<_> = std::fs::read_dir(&plugins).unwrap().map(|e| e.unwrap().path()).filter(|p| p.join("samples").is_dir()).collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let plugin = load(&name, Limits::default());
        let mut samples: Vec<_> = std::fs::read_dir(dir.join("samples")).unwrap().map(|e| e.unwrap().path()).collect();
        samples.sort();
        for input in samples {
            let file = input.file_name().unwrap().to_string_lossy().to_string();
            if input.is_dir() || file.contains(".expected.") || file.ends_with(".options.json") {
                continue;
            }
            let stem = file.rsplit_once('.').unwrap().0;
            let options: Value = std::fs::read_to_string(input.with_file_name(format!("{stem}.options.json")))
                .map(|t| serde_json::from_str(&t).unwrap())
                .unwrap_or_else(|_| json!({}));
            let expected: Value = serde_json::from_str(&std::fs::read_to_string(input.with_file_name(format!("{stem}.expected.json"))).unwrap()).unwrap();
            let raw = std::fs::read(&input).unwrap();
            let actual = match plugin.world().kind {
                WorldKind::Scorecard => {
                    let c: Conversation = schema::parse_json(std::str::from_utf8(&raw).unwrap(), &file).unwrap();
                    // Like the SDK's golden loop: `<stem>.options.json` holds the params.
                    serde_json::to_value(plugin.score(&c, &options).unwrap().output).unwrap()
                }
                WorldKind::Assertion => {
                    let v: Value = serde_json::from_slice(&raw).unwrap();
                    let c: Conversation = serde_json::from_value(v["transcript"].clone()).unwrap();
                    serde_json::to_value(plugin.check(&c, &v["params"]).unwrap().output).unwrap()
                }
                WorldKind::Adapter => serde_json::to_value(plugin.convert(&raw, &options).unwrap().output).unwrap(),
                WorldKind::Agent => panic!("{name}: agents live in examples/agents and are tested through the gate"),
                // The format `ratchet plugin run` and the SDK's `run_simulator` take.
                WorldKind::Simulator => {
                    let v: Value = serde_json::from_slice(&raw).unwrap();
                    match v.get("observed") {
                        Some(observed) => plugin.seed(&serde_json::from_value::<Vec<_>>(observed.clone()).unwrap(), &options).unwrap().output,
                        None => {
                            let request = serde_json::from_value(v["request"].clone()).unwrap();
                            let out = plugin.simulate(&schema::canonical_json(&v["world"]), &request, &options).unwrap().output;
                            serde_json::to_value(out).unwrap()
                        }
                    }
                }
            };
            assert_eq!(canonical(&actual), canonical(&expected), "{name}/{file}: the component disagrees with the native golden output");
            checked += 1;
        }
    }
    assert!(checked >= 13, "only {checked} samples checked");
}

#[test]
fn the_tuesday_conversation_is_flagged_with_the_right_failure_mode() {
    let p = load("scorecard-support-policy", Limits::default());
    let out = p.score(&conversation("tuesday-cancellation.json"), &json!({})).unwrap().output;
    assert!(out.score < 0.7, "score {}", out.score);
    assert_eq!(out.failure_mode.as_deref(), Some("cancellation-without-active-subscription"));
    let failing = out.criteria.iter().find(|c| c.name == "no-action-contradicting-account-state").unwrap();
    assert!(!failing.passed);
    assert_eq!(failing.turn, Some(3), "points at the cancel_subscription call");
    let suggestion = out.suggested_criteria.iter().find(|s| s.kind == "must-not-call-tool").expect("suggests a must-not-call-tool criterion");
    assert_eq!(suggestion.params["tool"], "cancel_subscription");
}

#[test]
fn adapter_output_is_canonical_and_reports_missing_fields() {
    let p = load("adapter-openai-chat", Limits::default());
    let input = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/adapter-openai-chat/samples/tuesday-cancellation.json")).unwrap();
    let out = p.convert(&input, &json!({})).unwrap().output;
    assert!(!out.is_empty());
    for c in &out {
        assert!(c.missing.iter().any(|m| m == "state.kb_version_hash"), "{:?}", c.missing);
        // What the adapter produced is a valid canonical conversation.
        let text = serde_json::to_string(&c.conversation).unwrap();
        schema::parse_json::<Conversation>(&text, "adapter output").unwrap();
    }
    // Garbage in: a clear error value, not a trap.
    let err = p.convert(b"{not json", &json!({})).unwrap_err();
    assert!(matches!(err.failure, ratchet::plugin::Failure::Guest(_)), "{err}");
}
