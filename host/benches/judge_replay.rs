//! What an LLM-judged criterion costs ratchet itself: the rubric assertion
//! (`plugins/assertion-llm-rubric`) answered live over loopback HTTP and recorded,
//! vs replayed from its recording (what `ratchet gate` does), vs a plain assertion
//! with no model (`assertion-no-false-confirmation`, the limit), and the host's
//! replay alone (canonical body, sha256 key, read + parse + re-hash the recording).
//! The loopback "model" answers at once: a hosted model adds 0.5–5 s per question,
//! which replay removes entirely. Prints figures; asserts nothing.
//!
//! Run: `scripts/build-plugins && cargo bench -p ratchet --bench judge_replay`
//! Results are recorded in docs/benchmarks.md.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use common::{fmt, median, ratio, twenty_turns};
use ratchet::config::{EngineSettings, Limits, ModelConfig};
use ratchet::llm::{ChatRequest, Message, Mode, ModelBroker};
use ratchet::plugin::Runtime;
use serde_json::{json, Value};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let read = |name: &str| {
        let p = root.join(format!("target/plugins/{name}.wasm"));
        std::fs::read(&p).unwrap_or_else(|e| {
            eprintln!("{}: {e}\nrun scripts/build-plugins first", p.display());
            std::process::exit(2)
        })
    };
    let judge_bytes = read("assertion-llm-rubric");
    let plain_bytes = read("assertion-no-false-confirmation");
    let conv = twenty_turns();
    let params = json!({"question": "Did the agent tell the customer the cancellation policy?"});
    println!("{}-turn conversation; loopback model answering at once\n", conv.turns.len());

    // The "model": a loopback HTTP server with one fixed chat completion.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let content = json!({"answer": "no", "reason": "No policy was stated.", "turn": null}).to_string();
        let body = json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
                          "model": "bench-judge", "usage": {"prompt_tokens": 900, "completion_tokens": 20}})
        .to_string();
        for stream in listener.incoming().flatten() {
            let mut r = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut b = vec![0; len];
            let _ = r.read_exact(&mut b);
            let mut s = stream;
            let _ = write!(s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    std::env::set_var("OPENAI_BASE_URL", &base_url);
    std::env::remove_var("OPENAI_API_KEY");

    let recordings = tempfile::tempdir().unwrap();
    let cfg = ModelConfig { model: "bench-judge".into(), recordings: recordings.path().to_path_buf(), ..ModelConfig::default() };
    let runtime = Runtime::new(&EngineSettings::default(), false).unwrap();
    let broker = |mode| Arc::new(ModelBroker::new(&cfg, Path::new("/"), mode));
    let live = runtime.load("llm-rubric", &judge_bytes, Limits::default()).unwrap().grant_model(broker(Mode::Refresh));
    let replay_broker = broker(Mode::Replay);
    let replay = runtime.load("llm-rubric", &judge_bytes, Limits::default()).unwrap().grant_model(replay_broker.clone());
    let plain = runtime.load("no-false-confirmation", &plain_bytes, Limits::default()).unwrap();

    let live_t = median(300, || {
        live.check(&conv, &params).unwrap();
    });
    let replay_t = median(3000, || {
        replay.check(&conv, &params).unwrap();
    });
    let plain_t = median(3000, || {
        plain.check(&conv, &json!({})).unwrap();
    });
    assert_eq!(live.check(&conv, &params).unwrap().output, replay.check(&conv, &params).unwrap().output);
    let fuel = replay.check(&conv, &params).unwrap().stats.fuel_consumed;

    // The host's share of a replay: the same request straight to the broker.
    let file = std::fs::read_dir(recordings.path()).unwrap().next().unwrap().unwrap().path();
    let rec: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let req = &rec["request"];
    let request = ChatRequest {
        model: String::new(),
        messages: serde_json::from_value::<Vec<Message>>(req["messages"].clone()).unwrap(),
        temperature: req["temperature"].as_f64().unwrap(),
        max_tokens: req["max_tokens"].as_u64().map(|m| m as u32),
        json_schema: Some(req["response_format"]["json_schema"]["schema"].to_string()),
    };
    let host_t = median(5000, || {
        replay_broker.complete("bench", &request).unwrap();
    });
    println!("recording: {} bytes; judged call fuel {}", std::fs::metadata(&file).unwrap().len(), fuel);
    let row = |what: &str, d, note: String| println!("{what:<62} {:>10}  {note}", fmt(d));
    row("rubric assertion, live (loopback HTTP + record)", live_t, format!("{:.1}x replay", ratio(live_t, replay_t)));
    row("rubric assertion, replayed (what the gate does)", replay_t, format!("{:.1}x plain assertion", ratio(replay_t, plain_t)));
    row("  host replay alone (key + read + parse + re-hash)", host_t, format!("{:.0}% of the replayed call", 100.0 * ratio(host_t, replay_t)));
    row("plain assertion, no model (no-false-confirmation)", plain_t, String::new());
}
