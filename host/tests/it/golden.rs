//! Golden tests for the canonical formats: example files in, expected parse /
//! serialise / error output out. `UPDATE_GOLDEN=1 cargo test -p ratchet --test it golden`
//! rewrites the expected files (review the diff before committing).

use std::path::{Path, PathBuf};

use ratchet::schema::{self, Conversation, FailureEvent, Scenario};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn inputs(dir: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(golden_dir().join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_string_lossy().contains(".expected."))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "no golden inputs in {dir}");
    v
}

/// Compare `actual` with the file at `expected`, or write it when UPDATE_GOLDEN is set.
fn check(expected: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(expected, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(expected).unwrap_or_else(|_| panic!("missing {} (run with UPDATE_GOLDEN=1)", expected.display()));
    assert_eq!(want, actual, "golden mismatch for {}", expected.display());
}

fn expected_path(input: &Path, ext: &str) -> PathBuf {
    let stem = input.file_stem().unwrap().to_string_lossy();
    input.with_file_name(format!("{stem}.expected.{ext}"))
}

fn relative(p: &Path) -> String {
    p.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap().display().to_string()
}

#[test]
fn conversations_parse_and_serialise_canonically() {
    for input in inputs("conversation") {
        let c: Conversation = schema::load_json(&input).unwrap();
        let out = serde_json::to_string_pretty(&c).unwrap() + "\n";
        check(&expected_path(&input, "json"), &out);
        // Serialising is a fixed point: parse(serialise(x)) == x.
        let again: Conversation = schema::parse_json(&out, "roundtrip").unwrap();
        assert_eq!(c, again);
    }
}

#[test]
fn failure_events_parse_and_serialise_canonically() {
    for input in inputs("failure-event") {
        let e: FailureEvent = schema::load_json(&input).unwrap();
        let out = serde_json::to_string_pretty(&e).unwrap() + "\n";
        check(&expected_path(&input, "json"), &out);
        let again: FailureEvent = schema::parse_json(&out, "roundtrip").unwrap();
        assert_eq!(e, again);
    }
}

#[test]
fn scenarios_parse_and_round_trip_through_toml() {
    for input in inputs("scenario") {
        let s = Scenario::load(&input).unwrap();
        let out = serde_json::to_string_pretty(&s).unwrap() + "\n";
        check(&expected_path(&input, "json"), &out);
        let toml_text = toml::to_string(&s).unwrap();
        let again = Scenario::parse(&toml_text, "roundtrip").unwrap();
        assert_eq!(s, again, "TOML round trip changed the scenario:\n{toml_text}");
    }
}

#[test]
fn bad_inputs_give_located_errors() {
    for input in inputs("errors") {
        let name = input.file_name().unwrap().to_string_lossy().to_string();
        let origin = relative(&input);
        let text = std::fs::read_to_string(&input).unwrap();
        let err = if name.ends_with(".scenario.toml") {
            Scenario::parse(&text, &origin).map(|_| ()).unwrap_err()
        } else if name.ends_with(".conversation.json") {
            schema::parse_json::<Conversation>(&text, &origin).map(|_| ()).unwrap_err()
        } else {
            panic!("unknown error fixture kind: {name}")
        };
        let msg = err.to_string() + "\n";
        assert!(msg.starts_with(&origin), "error does not name the file: {msg}");
        check(&expected_path(&input, "txt"), &msg);
    }
}

#[test]
fn published_json_schemas_are_up_to_date() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schema/v1");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
    }
    for name in schema::SCHEMA_NAMES {
        let s = schema::json_schema(name).unwrap();
        check(&dir.join(format!("{name}.json")), &(serde_json::to_string_pretty(&s).unwrap() + "\n"));
    }
    assert!(schema::json_schema("nope").is_none());
}

#[test]
fn canonical_json_sorts_keys_and_drops_whitespace() {
    let a: serde_json::Value = serde_json::from_str(r#"{ "b": 1, "a": { "d": [1, 2], "c": null } }"#).unwrap();
    let b: serde_json::Value = serde_json::from_str(r#"{"a":{"c":null,"d":[1,2]},"b":1}"#).unwrap();
    assert_eq!(schema::canonical_json(&a), r#"{"a":{"c":null,"d":[1,2]},"b":1}"#);
    assert_eq!(schema::canonical_json(&a), schema::canonical_json(&b));
}
