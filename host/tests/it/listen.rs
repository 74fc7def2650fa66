//! `ratchet detect --listen` (issue 19, item 3): OTLP/HTTP in, the same events as
//! `detect` on the same exports read from a file, nothing acknowledged lost and
//! nothing scored twice across a `kill -9`. (The OpenTelemetry SDK's own protobuf
//! exporter is driven against it by plugins/adapter-otel-genai/capture/test_listen.py.)

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::common::{repo, test_cache_dir};
use crate::otel_ingest::{conversation_lines, project, CAPTURED};

/// A running `detect --listen`: its address and what it printed so far.
struct Live {
    child: Child,
    url: String,
    stderr: Arc<Mutex<String>>,
}

impl Live {
    fn start(dir: &Path, extra: &[&str]) -> Live {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ratchet"))
            .args(["detect", "--listen", "127.0.0.1:0", "--adapter", "otel-genai", "--out", "ev.jsonl", "--checkpoint", "cp.json", "--idle-gap", "2s"])
            .args(extra)
            .current_dir(dir)
            .env("RATCHET_CACHE_DIR", test_cache_dir())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let pipe = child.stderr.take().unwrap();
            let stderr = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_string());
                    }
                    stderr.lock().unwrap().push_str(&(line + "\n"));
                }
            });
        }
        let url = rx.recv_timeout(Duration::from_secs(120)).unwrap_or_else(|_| panic!("no `listening on` line: {}", stderr.lock().unwrap()));
        Live { child, url, stderr }
    }

    fn post(&self, path: &str, content_type: &str, gzip: bool, body: &[u8]) -> (u16, String) {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut req = agent.post(format!("{}{path}", self.url)).header("Content-Type", content_type);
        let body = if gzip {
            req = req.header("Content-Encoding", "gzip");
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(body).unwrap();
            e.finish().unwrap()
        } else {
            body.to_vec()
        };
        let mut resp = req.send(&body[..]).unwrap();
        let status = resp.status().as_u16();
        (status, resp.body_mut().read_to_string().unwrap_or_default())
    }

    fn post_json(&self, line: &str) {
        let (status, body) = self.post("/v1/traces", "application/json", false, line.as_bytes());
        assert_eq!(status, 200, "{body}");
    }

    /// SIGTERM: answer what is in flight, save, print the summary, exit.
    fn stop(mut self) -> (Option<i32>, String) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let status = self.child.wait().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        let err = self.stderr.lock().unwrap().clone();
        (status.code(), err)
    }

    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// Conversations the checkpoint counts as examined.
fn seen(dir: &Path) -> u64 {
    std::fs::read_to_string(dir.join("cp.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .and_then(|v| v["stats"]["seen"].as_u64())
        .unwrap_or(0)
}

fn wait_seen(dir: &Path, n: u64, live: &Live) {
    let t = Instant::now();
    while seen(dir) < n {
        assert!(t.elapsed() < Duration::from_secs(60), "waited for {n} conversations, have {}: {}", seen(dir), live.stderr.lock().unwrap());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn offline(dir: &Path, input: &Path) -> Vec<u8> {
    let o = Command::new(env!("CARGO_BIN_EXE_ratchet"))
        .args(["detect", "--adapter", "otel-genai", "--idle-gap", "2s", input.to_str().unwrap()])
        .current_dir(dir)
        .env("RATCHET_CACHE_DIR", test_cache_dir())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    o.stdout
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64
}

fn ids(events: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(events).lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["conversation"]["id"].as_str().unwrap().to_string()).collect()
}

#[test]
fn what_the_instrumentation_exported_gives_the_events_detect_gives_on_the_file() {
    // Each captured mode's export requests, posted as they were written (JSON, one
    // request per line; every other one gzip): the events are the file's, byte for byte.
    for mode in ["v2-events", "v2-latest-both"] {
        let tmp = tempfile::tempdir().unwrap();
        project(tmp.path());
        let file: PathBuf = repo().join(CAPTURED).join(format!("{mode}.jsonl"));
        let live = Live::start(tmp.path(), &[]);
        for (i, line) in std::fs::read_to_string(&file).unwrap().lines().enumerate() {
            let path = if line.contains("\"resourceLogs\"") { "/v1/logs" } else { "/v1/traces" };
            let (status, body) = live.post(path, "application/json", i % 2 == 1, line.as_bytes());
            assert_eq!(status, 200, "{mode} line {}: {body}", i + 1);
        }
        wait_seen(tmp.path(), 3, &live);
        let (code, err) = live.stop();
        assert_eq!(code, Some(0), "{err}");
        assert!(err.contains("detect: seen 3,"), "{err}");
        let events = std::fs::read(tmp.path().join("ev.jsonl")).unwrap();
        assert_eq!(events, offline(tmp.path(), &file), "{mode}: --listen and detect on the file differ");
        // The spool is an input detect reads, with the same result.
        assert_eq!(events, offline(tmp.path(), &tmp.path().join("ev.jsonl.otlp.jsonl")));
    }
}

#[test]
fn bad_requests_get_a_clear_answer_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    project(tmp.path());
    let live = Live::start(tmp.path(), &["--spool", "in.jsonl"]);
    let cases: &[(&str, &str, &[u8], u16, &str)] = &[
        ("/v1/traces", "application/json", b"{not json", 400, "invalid JSON"),
        ("/v1/traces", "application/json", b"{\"resourceSpans\": 3}", 400, "`resourceSpans` array"),
        ("/v1/traces", "application/json", b"[1, 2]", 400, "`resourceSpans` array"),
        ("/v1/metrics", "application/json", b"{}", 404, "/v1/metrics"),
        ("/v1/traces", "text/plain", b"hello", 415, "Content-Type"),
        ("/v1/traces", "application/x-protobuf", b"\xff\xff\xff\xff", 400, "not an OTLP trace export request"),
    ];
    for (path, ctype, body, status, says) in cases {
        let (got, text) = live.post(path, ctype, false, body);
        assert_eq!(got, *status, "{path} {ctype}: {text}");
        assert!(text.contains(says), "{path} {ctype}: {text}");
    }
    // A body that says gzip and is not, and an encoding the receiver does not speak.
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    for (encoding, status, says) in [("gzip", 400, "reading the body"), ("br", 415, "Content-Encoding `br`")] {
        let mut resp = agent
            .post(format!("{}/v1/traces", live.url))
            .header("Content-Type", "application/json")
            .header("Content-Encoding", encoding)
            .send(&b"{\"resourceSpans\": []}"[..])
            .unwrap();
        let text = resp.body_mut().read_to_string().unwrap_or_default();
        assert_eq!(resp.status().as_u16(), status, "{encoding}: {text}");
        assert!(text.contains(says), "{encoding}: {text}");
    }
    // An empty export is acknowledged and keeps nothing.
    assert_eq!(live.post("/v1/traces", "application/json", false, b"{\"resourceSpans\": []}").0, 200);
    assert_eq!(live.post("/v1/logs", "application/x-protobuf", false, b"").0, 200);
    let (code, err) = live.stop();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(std::fs::read(tmp.path().join("in.jsonl")).unwrap(), b"", "nothing refused or empty was written");
    // Usage errors, before anything listens.
    for (args, says) in [
        (&["detect", "--listen", "127.0.0.1:0", "--adapter", "otel-genai", "--out", "e.jsonl"][..], "needs --out and --checkpoint"),
        (&["detect", "--listen", "127.0.0.1:0", "--out", "e.jsonl", "--checkpoint", "c.json"][..], "needs --adapter otel-genai"),
        (&["detect", "--listen", "127.0.0.1:0", "--adapter", "otel-genai", "--out", "e.jsonl", "--checkpoint", "c.json", "x.jsonl"][..], "give no input files"),
        (&["detect", "--listen", "256.0.0.1:1", "--adapter", "otel-genai", "--out", "e.jsonl", "--checkpoint", "c.json"][..], "--listen 256.0.0.1:1"),
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_ratchet")).args(args).current_dir(tmp.path()).env("RATCHET_CACHE_DIR", test_cache_dir()).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}

#[test]
fn a_kill_9_loses_nothing_acknowledged_and_scores_nothing_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    project(dir);
    // Each phase's conversations carry the time they are sent at, as live spans do.
    let mut lines: Vec<[String; 2]> = Vec::new();
    let make = |range: std::ops::Range<usize>, lines: &mut Vec<[String; 2]>| {
        let t0 = now_ns();
        // A customer asking for a person and never handed off: the support-policy
        // scorecard flags every one, so each conversation is an event to compare.
        let ask = |l: String| l.replace("says hello", "wants to talk to a manager");
        lines.extend(range.map(|c| conversation_lines(c, 2, t0 + c as u64 * 10_000_000).map(ask)));
    };

    // 1. Ten conversations sent and scored; then a kill -9.
    let live = Live::start(dir, &[]);
    make(0..10, &mut lines);
    for l in &lines[..10] {
        live.post_json(&l[0]);
        live.post_json(&l[1]);
    }
    wait_seen(dir, 10, &live);
    live.kill9();

    // 2. Eight more acknowledged, then a kill -9 before they are scored (the idle
    //    gap has not passed); and a torn write at the spool's end.
    let live = Live::start(dir, &[]);
    make(10..18, &mut lines);
    for l in &lines[10..18] {
        live.post_json(&l[0]);
        live.post_json(&l[1]);
    }
    live.kill9();
    assert!(seen(dir) < 18, "the second batch must still be open when killed (seen {})", seen(dir));
    std::fs::OpenOptions::new().append(true).open(dir.join("ev.jsonl.otlp.jsonl")).unwrap().write_all(b"{\"resourceSpans\": [{\"scope").unwrap();

    // 3. Restart: the torn tail is cut, the acknowledged eight are scored; six more,
    //    and two batches sent twice (an exporter retrying a batch whose answer it lost).
    let live = Live::start(dir, &[]);
    make(18..24, &mut lines);
    for l in &lines[18..] {
        live.post_json(&l[0]);
        live.post_json(&l[1]);
    }
    // A retry of a batch whose conversation is still open, and of one scored in
    // the first run (it must not come back as a conversation of its own).
    live.post_json(&lines[20][1]);
    live.post_json(&lines[0][1]);
    wait_seen(dir, 24, &live);
    let (code, err) = live.stop();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("cut 26 byte(s) of a last line without its newline"), "{err}");

    let events = std::fs::read(dir.join("ev.jsonl")).unwrap();
    let got = ids(&events);
    assert_eq!(got.len(), 24, "every conversation is flagged (the customer asks for a manager)");
    let mut unique = got.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), got.len(), "a conversation scored twice: {got:?}");
    let cp: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("cp.json")).unwrap()).unwrap();
    assert_eq!(cp["stats"]["seen"], 24, "every acknowledged conversation examined once: {cp}");
    // What three runs and two kills wrote is what one run over the spool writes.
    assert_eq!(events, offline(dir, &dir.join("ev.jsonl.otlp.jsonl")));
    // And each conversation is whole: the retried spans were dropped, not doubled.
    let fresh = tempfile::tempdir().unwrap();
    let file = fresh.path().join("sent.jsonl");
    std::fs::write(&file, lines.iter().flat_map(|l| l.iter()).map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    project(fresh.path());
    let mut want: Vec<Value> = String::from_utf8_lossy(&offline(fresh.path(), &file))
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["conversation"]["turns"].clone())
        .collect();
    let mut have: Vec<Value> =
        String::from_utf8_lossy(&events).lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["conversation"]["turns"].clone()).collect();
    want.sort_by_key(|v| v.to_string());
    have.sort_by_key(|v| v.to_string());
    assert_eq!(have, want, "the conversations received live are the ones sent");
}
