//! OpenTelemetry GenAI ingestion end to end (issue 19, items 1, 2 and 5):
//! `ratchet detect --adapter otel-genai` on what the real
//! `opentelemetry-instrumentation-openai-v2` library wrote in each of its
//! modes (plugins/adapter-otel-genai/samples/captured, made by
//! plugins/adapter-otel-genai/capture/capture.py: data this test did not
//! design), a generated 100k-span JSON Lines stream in bounded memory, and
//! detect's framing and exit codes.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::common::{component, repo, test_cache_dir};

fn ratchet_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ratchet")).args(args).current_dir(cwd).env("RATCHET_CACHE_DIR", test_cache_dir()).output().unwrap()
}

/// A project with the otel-genai adapter and the support-policy scorecard at
/// threshold 1.0: every conversation below a perfect score is an event, so the
/// events carry (nearly) every conversation for the comparison.
pub(crate) fn project(dir: &Path) {
    std::fs::copy(component("adapter-otel-genai"), dir.join("otel.wasm")).unwrap();
    std::fs::copy(component("scorecard-support-policy"), dir.join("policy.wasm")).unwrap();
    std::fs::write(
        dir.join("ratchet.toml"),
        "[plugins.otel-genai]\npath = \"otel.wasm\"\n[plugins.policy]\npath = \"policy.wasm\"\n\
         [[detect.scorecards]]\nname = \"policy\"\nplugin = \"policy\"\nthreshold = 1.0\n",
    )
    .unwrap();
}

pub(crate) const CAPTURED: &str = "plugins/adapter-otel-genai/samples/captured";
/// Modes with message content, and without (library defaults; latest conventions with NO_CONTENT).
const CONTENT_MODES: &[&str] = &["v2-events", "v2-latest-span", "v2-latest-event", "v2-latest-both"];
const NO_CONTENT_MODES: &[&str] = &["v2-default", "v2-latest-off"];

/// The conversations of the events, without what differs between two runs of
/// the same program (times, latencies), sorted by id.
fn conversations(stdout: &[u8]) -> Value {
    let mut convs: Vec<Value> = String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| {
            let mut c = serde_json::from_str::<Value>(l).unwrap()["conversation"].take();
            c.as_object_mut().unwrap().remove("started_at");
            for t in c["turns"].as_array_mut().unwrap() {
                let t = t.as_object_mut().unwrap();
                t.remove("offset_ms");
                t.remove("latency_ms");
            }
            c
        })
        .collect();
    convs.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    Value::Array(convs)
}

fn detect_mode(dir: &Path, mode: &str) -> Output {
    let input = repo().join(CAPTURED).join(format!("{mode}.jsonl"));
    ratchet_in(dir, &["detect", "--adapter", "otel-genai", input.to_str().unwrap()])
}

#[test]
fn every_content_mode_of_the_real_instrumentation_gives_the_same_conversations() {
    let tmp = tempfile::tempdir().unwrap();
    project(tmp.path());
    let golden_path = repo().join(CAPTURED).join("conversations.expected.json");
    let mut first: Option<(String, Value)> = None;
    for mode in CONTENT_MODES {
        let o = detect_mode(tmp.path(), mode);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{mode}: {stderr}");
        assert!(stderr.contains("detect: seen 3,"), "{mode}: three conversations (grouped by gen_ai.conversation.id across traces and lines): {stderr}");
        assert!(!stderr.contains("without message content"), "{mode}: {stderr}");
        let convs = conversations(&o.stdout);
        match &first {
            None => {
                if std::env::var_os("RATCHET_UPDATE_GOLDEN").is_some() {
                    std::fs::write(&golden_path, serde_json::to_string_pretty(&convs).unwrap() + "\n").unwrap();
                }
                let golden: Value = serde_json::from_str(&std::fs::read_to_string(&golden_path).unwrap()).unwrap();
                assert_eq!(convs, golden, "{mode} differs from {} (RATCHET_UPDATE_GOLDEN=1 rewrites it)", golden_path.display());
                first = Some((mode.to_string(), convs));
            }
            Some((m0, c0)) => assert_eq!(&convs, c0, "{mode} and {m0} disagree"),
        }
    }
    // The golden: 3 conversations, no history duplicated across the model calls.
    let (_, convs) = first.unwrap();
    let roles: Vec<Vec<&str>> =
        convs.as_array().unwrap().iter().map(|c| c["turns"].as_array().unwrap().iter().map(|t| t["role"].as_str().unwrap()).collect()).collect();
    assert_eq!(roles[0], ["system", "customer", "agent", "tool", "agent", "tool", "agent", "customer", "agent"]);
    assert_eq!(roles[1], ["system", "customer", "agent", "tool", "agent", "tool", "agent"]);
}

#[test]
fn modes_without_content_are_counted_and_warned_never_silent() {
    let tmp = tempfile::tempdir().unwrap();
    project(tmp.path());
    for mode in NO_CONTENT_MODES {
        let o = detect_mode(tmp.path(), mode);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "{mode}: {stderr}");
        assert!(stderr.contains("without message content 3"), "{mode}: {stderr}");
        assert!(stderr.contains("warning: 3 conversation(s) came without message content"), "{mode}: {stderr}");
        // What is left: the tool calls of the execute_tool spans, by call id.
        let convs = conversations(&o.stdout);
        let calls: Vec<&str> = convs[0]["turns"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|t| t["tool_calls"].as_array().unwrap().iter())
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(calls, ["lookup_account", "cancel_subscription"], "{mode}");
    }
}

/// One conversation's spans: an `invoke_agent` root with the conversation id,
/// and `chat` children with the growing history, split over two lines.
pub(crate) fn conversation_lines(c: usize, spans: usize, t0: u64) -> [String; 2] {
    let trace = format!("{:032x}", c + 1);
    let mut chat = Vec::new();
    let mut history = vec![json!({"role": "user", "parts": [{"type": "text", "content": format!("customer {c} says hello")}]})];
    for k in 1..spans {
        let reply = json!({"role": "assistant", "parts": [{"type": "text", "content": format!("answer {k}")}]});
        let start = t0 + k as u64 * 1_000_000;
        chat.push(json!({"traceId": trace, "spanId": format!("{:016x}", k + 1), "parentSpanId": "0000000000000001", "name": "chat m",
            "startTimeUnixNano": start.to_string(), "endTimeUnixNano": (start + 500_000).to_string(),
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                // The last exchange only: a real call repeats the whole history, which
                // would make this file quadratic in the conversation's length.
                {"key": "gen_ai.input.messages", "value": {"stringValue": Value::Array(history[history.len().saturating_sub(2)..].to_vec()).to_string()}},
                {"key": "gen_ai.output.messages", "value": {"stringValue": Value::Array(vec![reply.clone()]).to_string()}}]}));
        history.push(reply);
        history.push(json!({"role": "user", "parts": [{"type": "text", "content": format!("more {k}")}]}));
    }
    let end = t0 + spans as u64 * 1_000_000;
    let root = json!({"traceId": trace, "spanId": "0000000000000001", "name": "invoke_agent",
        "startTimeUnixNano": t0.to_string(), "endTimeUnixNano": end.to_string(),
        "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "invoke_agent"}}, {"key": "gen_ai.conversation.id", "value": {"stringValue": format!("conv-{c}")}}]});
    let half = chat.len() / 2;
    let doc = |spans: Vec<Value>| {
        json!({"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"scope": {"name": "gen"}, "spans": spans}]}]}).to_string()
    };
    let mut second = chat.split_off(half);
    second.push(root);
    [doc(chat), doc(second)]
}

/// Writes `conversations` conversations of `spans` spans each, one conversation
/// after another (60 s apart, so each closes after the idle gap), each split
/// across two lines.
fn write_stream(path: &Path, conversations: usize, spans: usize) {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for c in 0..conversations {
        for l in conversation_lines(c, spans, 1_800_000_000_000_000_000 + c as u64 * 60_000_000_000) {
            writeln!(f, "{l}").unwrap();
        }
    }
}

/// Peak resident memory (KiB) of `ratchet ARGS` run in `dir`, from the kernel's
/// accounting of the finished child (python3's resource module reads it).
fn peak_rss_kib(dir: &Path, args: &[&str]) -> (u64, Output) {
    let script = "import resource, subprocess, sys\n\
                  p = subprocess.run(sys.argv[1:], capture_output=True)\n\
                  sys.stdout.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) + '\\n')\n\
                  sys.stderr.write(p.stderr.decode())\n\
                  sys.exit(p.returncode)";
    let o = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_ratchet"))
        .args(args)
        .current_dir(dir)
        .env("RATCHET_CACHE_DIR", test_cache_dir())
        .output()
        .unwrap();
    let kib = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap_or(u64::MAX);
    (kib, o)
}

#[test]
fn a_100k_span_json_lines_stream_is_read_in_bounded_memory() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(component("adapter-otel-genai"), tmp.path().join("otel.wasm")).unwrap();
    // No scorecard: this measures reading, framing and converting.
    std::fs::write(tmp.path().join("ratchet.toml"), "[plugins.otel-genai]\npath = \"otel.wasm\"\n").unwrap();
    let small = tmp.path().join("small.jsonl");
    let big = tmp.path().join("big.jsonl");
    write_stream(&small, 500, 20); // 10,000 spans
    write_stream(&big, 5_000, 20); // 100,000 spans
    let run = |p: &Path| {
        let (kib, o) = peak_rss_kib(tmp.path(), &["detect", "--adapter", "otel-genai", "--idle-gap", "30s", p.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(o.status.code(), Some(0), "{stderr}");
        (kib, stderr)
    };
    let (small_kib, small_err) = run(&small);
    let (big_kib, big_err) = run(&big);
    // One conversation per id, although each is split across two lines (and 2 x as many lines).
    assert!(small_err.contains("detect: seen 500,"), "{small_err}");
    assert!(big_err.contains("detect: seen 5000,"), "{big_err}");
    let big_bytes = std::fs::metadata(&big).unwrap().len();
    eprintln!("100k spans ({} MiB): peak RSS {} MiB; 10k spans: {} MiB", big_bytes >> 20, big_kib >> 10, small_kib >> 10);
    // Ten times the input, (nearly) the same memory: the stream is never held whole.
    assert!(big_kib < small_kib + 24 * 1024, "peak RSS grew from {small_kib} KiB (10k spans) to {big_kib} KiB (100k spans)");
    assert!(big_kib * 1024 < big_bytes, "peak RSS {big_kib} KiB is not below the file's {big_bytes} bytes");
}

#[test]
fn rejects_exit_4_after_writing_everything_unless_the_rate_allows_it() {
    let tmp = tempfile::tempdir().unwrap();
    project(tmp.path());
    let good = std::fs::read_to_string(repo().join(CAPTURED).join("v2-latest-span.jsonl")).unwrap();
    // A second document after the first on one line is a reject naming file:line.
    let input = tmp.path().join("mixed.jsonl");
    std::fs::write(&input, format!("{}{} {{}}\n", good, good.trim_end())).unwrap();
    let out = tmp.path().join("events.jsonl");
    let o = ratchet_in(tmp.path(), &["detect", "--adapter", "otel-genai", input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("mixed.jsonl:2: invalid JSON: trailing characters"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&out).unwrap().lines().count(), 3, "the good line's conversations are written: {stderr}");
    // 1 reject of 4 units read: a 0.5 allowance exits 0, 0.2 does not.
    let o = ratchet_in(tmp.path(), &["detect", "--adapter", "otel-genai", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--max-reject-rate", "0.5"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let o = ratchet_in(tmp.path(), &["detect", "--adapter", "otel-genai", input.to_str().unwrap(), "-o", out.to_str().unwrap(), "--max-reject-rate", "0.2"]);
    assert_eq!(o.status.code(), Some(4));
    let o = ratchet_in(tmp.path(), &["detect", "--adapter", "otel-genai", input.to_str().unwrap(), "--max-reject-rate", "2"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn an_unterminated_last_line_is_left_for_the_resumed_run() {
    let tmp = tempfile::tempdir().unwrap();
    project(tmp.path());
    let lines: Vec<String> = std::fs::read_to_string(repo().join(CAPTURED).join("v2-events.jsonl")).unwrap().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 2, "spans, then the log records with the content");
    let input = tmp.path().join("growing.jsonl");
    let (out, cp) = (tmp.path().join("events.jsonl"), tmp.path().join("cp.json"));
    let args = ["detect", "--adapter", "otel-genai", "growing.jsonl", "-o", "events.jsonl", "--checkpoint", "cp.json"];
    // The writer is half-way through the log records' line.
    std::fs::write(&input, format!("{}\n{}", lines[0], &lines[1][..lines[1].len() / 2])).unwrap();
    let o = ratchet_in(tmp.path(), &args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("growing.jsonl:2: the last line has no newline yet"), "{stderr}");
    assert!(stderr.contains("detect: seen 0,"), "open conversations wait for more of the stream: {stderr}");
    // The line is complete now: the resumed run reads it, the conversations have their content.
    std::fs::write(&input, format!("{}\n{}\n", lines[0], lines[1])).unwrap();
    let o = ratchet_in(tmp.path(), &args);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(cp.exists());
    let convs = conversations(std::fs::read(&out).unwrap().as_slice());
    assert_eq!(convs.as_array().unwrap().len(), 3, "{stderr}");
    assert_eq!(convs[0]["turns"].as_array().unwrap().len(), 9, "{stderr}");
}
