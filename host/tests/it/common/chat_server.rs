//! A real HTTP/1.1 server on loopback (std `TcpListener`, a thread per
//! connection) that speaks the OpenAI chat completions protocol with scripted
//! answers: what the `openai` driver and the model import are tested against.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

/// A scripted answer.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Reply {
    pub fn json(v: Value) -> Reply {
        Reply { status: 200, headers: vec![], body: v.to_string(), delay: Duration::ZERO }
    }
    pub fn status(status: u16, body: &str) -> Reply {
        Reply { status, headers: vec![], body: body.into(), delay: Duration::ZERO }
    }
    pub fn after(mut self, d: Duration) -> Reply {
        self.delay = d;
        self
    }
    pub fn header(mut self, k: &str, v: &str) -> Reply {
        self.headers.push((k.into(), v.into()));
        self
    }
}

/// A request the server received.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

pub type Script = dyn Fn(&Value, usize) -> Reply + Send + Sync;

/// The fake endpoint: records requests and the most requests in flight at once.
pub struct Server {
    pub base_url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub max_in_flight: Arc<AtomicUsize>,
}

impl Server {
    pub fn start(script: impl Fn(&Value, usize) -> Reply + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}/v1", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let count = Arc::new(AtomicUsize::new(0));
        let script: Arc<Script> = Arc::new(script);
        let (s, m) = (seen.clone(), max_in_flight.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (seen, max, in_flight, count, script) = (s.clone(), m.clone(), in_flight.clone(), count.clone(), script.clone());
                std::thread::spawn(move || {
                    let _ = serve(stream, &seen, &count, &in_flight, &max, script.as_ref());
                });
            }
        });
        Server { base_url, seen, max_in_flight }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// One request per connection (`Connection: close`): read it, answer from the script.
/// A request counts as in flight from the moment it is fully read until its answer is
/// about to be written: the client is waiting for it all that time.
fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>, count: &AtomicUsize, in_flight: &AtomicUsize, max: &AtomicUsize, script: &Script) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let (mut length, mut authorization) = (0usize, None);
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':').unwrap_or((h, ""));
        match k.to_ascii_lowercase().as_str() {
            "content-length" => length = v.trim().parse().unwrap_or(0),
            "authorization" => authorization = Some(v.trim().to_string()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let n = count.fetch_add(1, Ordering::SeqCst);
    seen.lock().unwrap().push(Seen { path, authorization, body: body.clone() });
    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    max.fetch_max(now, Ordering::SeqCst);
    let reply = script(&body, n);
    std::thread::sleep(reply.delay);
    in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut out = stream;
    let mut head = format!("HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n", reply.status, reply.body.len());
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    out.write_all(head.as_bytes())?;
    out.write_all(reply.body.as_bytes())?;
    out.flush()
}

pub fn usage() -> Value {
    json!({"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120})
}

pub fn answer(text: &str) -> Reply {
    Reply::json(
        json!({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}], "usage": usage()}),
    )
}

pub fn call(id: &str, name: &str, arguments: &str) -> Reply {
    Reply::json(json!({"id": "x", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assistant", "content": null,
        "tool_calls": [{"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}]}, "finish_reason": "tool_calls"}], "usage": usage()}))
}

/// A base URL nothing listens on: any network use fails loudly.
pub fn dead_url() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}/v1", l.local_addr().unwrap())
}

/// Run `ratchet` in `dir` with the model endpoint at `base_url` and no API key.
pub fn ratchet_with_model(dir: &Path, base_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ratchet"))
        .args(args)
        .current_dir(dir)
        .env("RATCHET_CACHE_DIR", super::test_cache_dir())
        .env("OPENAI_BASE_URL", base_url)
        .env_remove("OPENAI_API_KEY")
        .env_remove("RATCHET_CONFIG")
        .output()
        .expect("running ratchet")
}

/// The recording files under `dir/recordings`, sorted.
pub fn recordings(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("recordings")).map(|d| d.map(|e| e.unwrap().path()).collect()).unwrap_or_default();
    v.sort();
    v
}
