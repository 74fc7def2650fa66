//! Golden-file tests for plugins (native only, not part of the wasm plugin).
//!
//! Every plugin's golden test is the same loop: run the plugin on each input
//! in `samples/`, write its output as canonical pretty JSON, compare it with
//! the checked-in `.expected.json` file (or rewrite that file when
//! `RATCHET_UPDATE_GOLDEN` is set), and check that the inputs under
//! `samples/invalid/` fail with the checked-in message. That loop lives here
//! so plugin authors get it for free and every plugin checks the same things
//! the same way:
//!
//! ```no_run
//! # use ratchet_sdk::{Adapter, Converted, Value};
//! # struct MyAdapter;
//! # impl Adapter for MyAdapter {
//! #     fn info() -> ratchet_sdk::PluginInfo { unimplemented!() }
//! #     fn convert(_: &[u8], _: &Value) -> Result<Vec<Converted>, String> { unimplemented!() }
//! # }
//! // tests/golden.rs
//! #[test]
//! fn samples_match_expected_output() {
//!     let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
//!     ratchet_sdk::testing::golden_samples(&dir, 2, MyAdapter::convert);
//! }
//! ```
//!
//! The layout of `dir`:
//!
//! | file | meaning |
//! |---|---|
//! | `<stem>.json`, `<stem>.jsonl` | an input; its raw bytes are passed to `run` |
//! | `<stem>.options.json` | optional: the JSON value passed to `run` as options (else `{}`, what the host sends) |
//! | `<stem>.expected.json` | the expected output: [`to_canonical_pretty`] of `run`'s `Ok` value |
//! | `invalid/<stem>.json(l)` | optional: an input `run` must reject (`invalid/<stem>.options.json` works too) |
//! | `invalid/<stem>.error.txt` | the exact `Err` message (one trailing newline allowed) |
//!
//! Inputs are visited in sorted order, every input is run twice (the output
//! must be the same bytes: plugins are deterministic), and all failures are
//! reported together. With `RATCHET_UPDATE_GOLDEN` set (e.g.
//! `RATCHET_UPDATE_GOLDEN=1 cargo test`) the `.expected.json` and
//! `.error.txt` files are rewritten from the current output instead of
//! compared; review the diff before committing.

use std::fmt::Debug;
use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::json::to_canonical_pretty;

/// Environment variable that switches golden tests to rewriting the expected
/// files.
pub const UPDATE_ENV: &str = "RATCHET_UPDATE_GOLDEN";

/// What [`check_golden_samples`] checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GoldenSummary {
    /// Inputs in the samples directory (each compared with its `.expected.json`).
    pub samples: usize,
    /// Inputs under `invalid/` (each compared with its `.error.txt`).
    pub invalid: usize,
}

/// Whether `RATCHET_UPDATE_GOLDEN` is set (rewrite expected files instead of
/// comparing).
pub fn update_requested() -> bool {
    std::env::var_os(UPDATE_ENV).is_some()
}

/// Runs the golden test over `dir` (see the [module docs](self)) and panics
/// with every failure if any sample does not match, or if `dir` has fewer
/// than `min` inputs. Honours `RATCHET_UPDATE_GOLDEN`.
///
/// `run` gets an input's bytes and its options (`<stem>.options.json`, or
/// `{}`); typically it is the plugin's `convert`, or a closure that parses
/// the input and calls `score` / `check`.
#[track_caller]
pub fn golden_samples<T: Serialize>(dir: &Path, min: usize, run: impl Fn(&[u8], &Value) -> Result<T, String>) -> GoldenSummary {
    match check_golden_samples(dir, min, update_requested(), run) {
        Ok(summary) => summary,
        Err(report) => panic!("{report}"),
    }
}

/// The non-panicking core of [`golden_samples`]: checks (or, with `update`,
/// rewrites) the golden files in `dir` and returns what was checked, or a
/// report of every failure.
pub fn check_golden_samples<T: Serialize>(
    dir: &Path,
    min: usize,
    update: bool,
    run: impl Fn(&[u8], &Value) -> Result<T, String>,
) -> Result<GoldenSummary, String> {
    let mut failures = Vec::new();

    let samples = inputs(dir)?;
    for (path, stem) in &samples {
        if let Err(e) = check_sample(dir, path, stem, update, &run) {
            failures.push(e);
        }
    }
    if samples.len() < min {
        failures.push(format!("{}: expected at least {min} samples, found {}", dir.display(), samples.len()));
    }

    let invalid_dir = dir.join("invalid");
    let mut invalid = 0;
    if invalid_dir.is_dir() {
        let invalid_samples = inputs(&invalid_dir)?;
        invalid = invalid_samples.len();
        for (path, stem) in &invalid_samples {
            if let Err(e) = check_invalid(&invalid_dir, path, stem, update, &run) {
                failures.push(e);
            }
        }
        if invalid == 0 {
            failures.push(format!("{}: directory exists but holds no invalid samples", invalid_dir.display()));
        }
    }

    if failures.is_empty() {
        Ok(GoldenSummary { samples: samples.len(), invalid })
    } else {
        let mut report = format!("golden test failed ({} problem(s)) in {}:", failures.len(), dir.display());
        for f in &failures {
            report.push_str("\n\n");
            report.push_str(f);
        }
        if !update {
            report.push_str(&format!("\n\n(if the new output is intended, rerun with {UPDATE_ENV}=1 and review the diff)"));
        }
        Err(report)
    }
}

/// Runs a [`crate::Simulator`] on one sample document, in the format
/// `ratchet plugin run` takes for simulators: `{"world": {...}, "request":
/// {"tool", "version", "arguments"}}` answers one call (the output is the
/// [`crate::Simulated`], or `null` when the tool is not modelled), and
/// `{"observed": [...]}` seeds a world (the output is the world). Use it as the
/// `run` of [`golden_samples`] so native golden outputs match the component's.
pub fn run_simulator<S: crate::Simulator>(input: &[u8], params: &Value) -> Result<Value, String> {
    let doc: Value = serde_json::from_slice(input).map_err(|e| format!("sample is not JSON: {e}"))?;
    let params = if params.is_null() { Value::Object(Default::default()) } else { params.clone() };
    match (doc.get("world"), doc.get("request"), doc.get("observed")) {
        (Some(world), Some(request), None) => {
            let request: crate::ToolRequest = serde_json::from_value(request.clone()).map_err(|e| format!("request: {e}"))?;
            Ok(serde_json::to_value(S::call(world, &request, &params)?).expect("JSON"))
        }
        (None, None, Some(observed)) => {
            let observed: Vec<crate::Observed> = serde_json::from_value(observed.clone()).map_err(|e| format!("observed: {e}"))?;
            S::seed(&observed, &params)
        }
        _ => Err("a simulator sample is {\"world\", \"request\"} or {\"observed\"}".into()),
    }
}

/// Asserts that `value` survives a trip through its canonical JSON text (what
/// the host reads back), e.g. an adapter's `Vec<Converted>`; call it from the
/// `run` closure of [`golden_samples`].
#[track_caller]
pub fn assert_round_trips<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let text = to_canonical_pretty(value);
    let back: T = serde_json::from_str(&text).unwrap_or_else(|e| panic!("canonical JSON does not parse back: {e}\n{text}"));
    assert_eq!(&back, value, "value does not round-trip through its canonical JSON");
}

/// `(path, stem)` of every `*.json` / `*.jsonl` file in `dir`, sorted by path,
/// skipping `.expected.json` and `.options.json` files.
fn inputs(dir: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let entries = fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    Ok(paths
        .into_iter()
        .filter_map(|path| {
            let name = path.file_name()?.to_str()?;
            if name.ends_with(".expected.json") || name.ends_with(".options.json") {
                return None;
            }
            let stem = name.strip_suffix(".jsonl").or_else(|| name.strip_suffix(".json"))?.to_string();
            Some((path, stem))
        })
        .collect())
}

/// `<stem>.options.json` in `dir`, or `{}` when there is none (what the host sends
/// an adapter with no options configured).
fn options(dir: &Path, stem: &str) -> Result<Value, String> {
    let path = dir.join(format!("{stem}.options.json"));
    if !path.exists() {
        return Ok(Value::Object(Default::default()));
    }
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: invalid JSON: {e}", path.display()))
}

fn check_sample<T: Serialize>(dir: &Path, path: &Path, stem: &str, update: bool, run: &impl Fn(&[u8], &Value) -> Result<T, String>) -> Result<(), String> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let input = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let options = options(dir, stem)?;
    let actual = to_canonical_pretty(&run(&input, &options).map_err(|e| format!("{name}: run failed: {e}"))?);
    let again = to_canonical_pretty(&run(&input, &options).map_err(|e| format!("{name}: second run failed: {e}"))?);
    if again != actual {
        return Err(format!("{name}: not deterministic (two runs gave different output)\n{}", diff(&actual, &again)));
    }
    let expected_path = dir.join(format!("{stem}.expected.json"));
    if update {
        return fs::write(&expected_path, &actual).map_err(|e| format!("{}: {e}", expected_path.display()));
    }
    let expected = fs::read_to_string(&expected_path).map_err(|e| format!("{name}: {}: {e}", expected_path.display()))?;
    if actual != expected {
        return Err(format!("{name}: output differs from {} (- expected, + actual)\n{}", expected_path.display(), diff(&expected, &actual)));
    }
    Ok(())
}

fn check_invalid<T: Serialize>(dir: &Path, path: &Path, stem: &str, update: bool, run: &impl Fn(&[u8], &Value) -> Result<T, String>) -> Result<(), String> {
    let name = format!("invalid/{}", path.file_name().unwrap_or_default().to_string_lossy());
    let input = fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let options = options(dir, stem)?;
    let err = match run(&input, &options) {
        Ok(out) => return Err(format!("{name}: should fail but succeeded with\n{}", to_canonical_pretty(&out))),
        Err(e) => e,
    };
    match run(&input, &options) {
        Err(again) if again == err => {}
        _ => return Err(format!("{name}: not deterministic (two runs gave different results)")),
    }
    let expected_path = dir.join(format!("{stem}.error.txt"));
    if update {
        return fs::write(&expected_path, format!("{err}\n")).map_err(|e| format!("{}: {e}", expected_path.display()));
    }
    let expected = fs::read_to_string(&expected_path).map_err(|e| format!("{name}: {}: {e}", expected_path.display()))?;
    let expected = expected.strip_suffix('\n').unwrap_or(&expected);
    if err != expected {
        return Err(format!("{name}: error differs from {}\n  expected: {expected}\n  actual:   {err}", expected_path.display()));
    }
    Ok(())
}

/// A compact line diff of `old` vs `new`: the single hunk between their common
/// leading and trailing lines, with a little context, capped in length.
fn diff(old: &str, new: &str) -> String {
    const CONTEXT: usize = 3;
    const MAX_LINES: usize = 40;
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..].iter().rev().zip(b[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    let mut out = Vec::new();
    let start = prefix.saturating_sub(CONTEXT);
    out.push(format!("@@ line {} @@", start + 1));
    for line in &a[start..prefix] {
        out.push(format!("  {line}"));
    }
    for line in &a[prefix..a.len() - suffix] {
        out.push(format!("- {line}"));
    }
    for line in &b[prefix..b.len() - suffix] {
        out.push(format!("+ {line}"));
    }
    for line in b[b.len() - suffix..].iter().take(CONTEXT) {
        out.push(format!("  {line}"));
    }
    if a.len() == b.len() && prefix == a.len() {
        // Same lines: the difference is in line endings / the final newline.
        out.push(format!("  (lines equal; trailing newline: expected {}, actual {})", old.ends_with('\n'), new.ends_with('\n')));
    }
    if out.len() > MAX_LINES {
        let more = out.len() - MAX_LINES;
        out.truncate(MAX_LINES);
        out.push(format!("  ... {more} more diff line(s)"));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::cell::Cell;

    /// A fresh, empty scratch directory for one test.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("ratchet-sdk-golden-{}-{name}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(dir.join("invalid")).unwrap();
            Scratch(dir)
        }
        fn write(&self, rel: &str, text: &str) {
            fs::write(self.0.join(rel), text).unwrap();
        }
        fn read(&self, rel: &str) -> String {
            fs::read_to_string(self.0.join(rel)).unwrap()
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// The "plugin": echoes its input and options; inputs with `"bad"` fail.
    fn echo(input: &[u8], options: &Value) -> Result<Value, String> {
        let v: Value = serde_json::from_slice(input).map_err(|e| e.to_string())?;
        if let Some(msg) = v.get("bad") {
            return Err(format!("bad input: {msg}"));
        }
        Ok(json!({"input": v, "options": options}))
    }

    /// A valid sample directory: one `.json` with options, one `.jsonl`
    /// without, one invalid input.
    fn sample_dir(name: &str) -> Scratch {
        let s = Scratch::new(name);
        s.write("a.json", r#"{"z": 1, "a": 2}"#);
        s.write("a.options.json", r#"{"mode": "x"}"#);
        s.write("a.expected.json", &to_canonical_pretty(&json!({"input": {"a": 2, "z": 1}, "options": {"mode": "x"}})));
        s.write("b.jsonl", "[3]");
        s.write("b.expected.json", &to_canonical_pretty(&json!({"input": [3], "options": {}})));
        s.write("notes.txt", "ignored");
        s.write("invalid/c.json", r#"{"bad": "nope"}"#);
        s.write("invalid/c.error.txt", "bad input: \"nope\"\n");
        s
    }

    #[test]
    fn matching_samples_pass() {
        let s = sample_dir("pass");
        assert_eq!(check_golden_samples(&s.0, 2, false, echo), Ok(GoldenSummary { samples: 2, invalid: 1 }));
    }

    #[test]
    fn no_invalid_dir_is_fine() {
        let s = sample_dir("no-invalid");
        fs::remove_dir_all(s.0.join("invalid")).unwrap();
        assert_eq!(check_golden_samples(&s.0, 2, false, echo), Ok(GoldenSummary { samples: 2, invalid: 0 }));
    }

    #[test]
    fn output_mismatch_fails_with_a_diff() {
        let s = sample_dir("mismatch");
        s.write("b.expected.json", &to_canonical_pretty(&json!({"input": [4], "options": {}})));
        let err = check_golden_samples(&s.0, 2, false, echo).unwrap_err();
        assert!(err.contains("b.jsonl: output differs from"), "{err}");
        assert!(err.contains("-     4") && err.contains("+     3"), "{err}");
        assert!(!err.contains("a.json:"), "only the mismatching sample is reported: {err}");
        assert!(err.contains(UPDATE_ENV), "{err}");
    }

    #[test]
    fn mismatch_panics_through_the_wrapper() {
        if update_requested() {
            return; // the wrapper would rewrite instead of compare
        }
        let s = sample_dir("panics");
        s.write("a.expected.json", "{}\n");
        let dir = s.0.clone();
        let result = std::panic::catch_unwind(move || golden_samples(&dir, 2, echo));
        let msg = result.unwrap_err();
        let msg = msg.downcast_ref::<String>().expect("panic message is a String");
        assert!(msg.contains("a.json: output differs from"), "{msg}");
    }

    #[test]
    fn missing_expected_file_fails() {
        let s = sample_dir("missing");
        fs::remove_file(s.0.join("a.expected.json")).unwrap();
        let err = check_golden_samples(&s.0, 2, false, echo).unwrap_err();
        assert!(err.contains("a.json: ") && err.contains("a.expected.json"), "{err}");
    }

    #[test]
    fn run_error_on_valid_sample_fails() {
        let s = sample_dir("run-error");
        s.write("b.jsonl", r#"{"bad": 1}"#);
        let err = check_golden_samples(&s.0, 2, false, echo).unwrap_err();
        assert!(err.contains("b.jsonl: run failed: bad input: 1"), "{err}");
    }

    #[test]
    fn invalid_sample_with_other_error_fails() {
        let s = sample_dir("invalid-msg");
        s.write("invalid/c.error.txt", "something else\n");
        let err = check_golden_samples(&s.0, 2, false, echo).unwrap_err();
        assert!(err.contains("invalid/c.json: error differs from"), "{err}");
        assert!(err.contains("actual:   bad input: \"nope\""), "{err}");
    }

    #[test]
    fn invalid_sample_that_succeeds_fails() {
        let s = sample_dir("invalid-ok");
        s.write("invalid/c.json", "{}");
        let err = check_golden_samples(&s.0, 2, false, echo).unwrap_err();
        assert!(err.contains("invalid/c.json: should fail but succeeded"), "{err}");
    }

    #[test]
    fn empty_invalid_dir_fails() {
        let s = sample_dir("invalid-empty");
        fs::remove_file(s.0.join("invalid/c.json")).unwrap();
        let err = check_golden_samples(&s.0, 2, false, echo).unwrap_err();
        assert!(err.contains("holds no invalid samples"), "{err}");
    }

    #[test]
    fn too_few_samples_fails() {
        let s = sample_dir("min");
        let err = check_golden_samples(&s.0, 3, false, echo).unwrap_err();
        assert!(err.contains("expected at least 3 samples, found 2"), "{err}");
    }

    #[test]
    fn nondeterministic_output_fails() {
        let s = sample_dir("nondeterministic");
        let calls = Cell::new(0);
        let err = check_golden_samples(&s.0, 2, false, |input: &[u8], options: &Value| {
            calls.set(calls.get() + 1);
            echo(input, options).map(|v| json!({"v": v, "call": calls.get()}))
        })
        .unwrap_err();
        assert!(err.contains("a.json: not deterministic"), "{err}");
    }

    #[test]
    fn update_rewrites_expected_files_then_they_match() {
        let s = sample_dir("update");
        s.write("a.expected.json", "stale\n");
        fs::remove_file(s.0.join("b.expected.json")).unwrap();
        s.write("invalid/c.error.txt", "stale\n");
        assert_eq!(check_golden_samples(&s.0, 2, true, echo), Ok(GoldenSummary { samples: 2, invalid: 1 }));
        assert_eq!(s.read("a.expected.json"), to_canonical_pretty(&json!({"input": {"a": 2, "z": 1}, "options": {"mode": "x"}})));
        assert_eq!(s.read("invalid/c.error.txt"), "bad input: \"nope\"\n");
        assert!(check_golden_samples(&s.0, 2, false, echo).is_ok());
    }

    #[test]
    fn diff_shows_the_changed_hunk() {
        let d = diff("a\nb\nc\nd\n", "a\nb\nX\nd\n");
        assert_eq!(d, "@@ line 1 @@\n  a\n  b\n- c\n+ X\n  d");
        let d = diff("a\n", "a");
        assert!(d.contains("trailing newline: expected true, actual false"), "{d}");
    }
}
