//! `ratchet detect --listen ADDR`: an OTLP/HTTP receiver, so an OpenTelemetry SDK
//! or Collector exports straight to ratchet.
//!
//! ## Write-ahead, then acknowledge
//! Every accepted export request (`POST /v1/traces` or `/v1/logs`, protobuf or
//! JSON, optionally gzip) becomes one OTLP JSON line appended to the *spool*
//! file and flushed to disk (`fdatasync`) **before** the `200` goes out: what
//! was acknowledged survives a `kill -9` or a power cut. A request that could
//! not be written gets a `503` (the exporter retries it); a malformed one a
//! `400` naming what is wrong (the exporter drops it, as OTLP says).
//!
//! ## One pipeline, replayable
//! Detection reads the spool as the OTLP JSON Lines stream `detect --framing
//! otlp` reads from a file ([`Follow`] waits for more at its end), so the
//! spool is itself an input `ratchet detect SPOOL` accepts. A restart reads the
//! spool again from its start and the checkpoint skips the conversations
//! already done: framing is a pure function of the lines read, so nothing is
//! scored twice and nothing acknowledged is lost. Only lines known to be on disk
//! are read, so the checkpoint never counts a conversation a crash could take
//! back.
//!
//! ## Time
//! Conversations complete by the data's own time (see [`super::otlp`]). With
//! live traffic the last conversation before a quiet spell would wait for the
//! next request to move that time on; so while traffic is recent the listener
//! appends a clock line (`{"ratchetClock":{"timeUnixNano":"…"}}`, wall-clock
//! time) every second. The clock lines are in the spool like the data, so a
//! replay completes conversations at the same places.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prost::Message;
use serde_json::Value;

use super::input::{ReadError, Record};
use super::otlp_proto::{self, Signal};

/// The largest request body accepted (after gzip), bytes; larger ones get `413`.
pub const MAX_BODY: u64 = 64 << 20;

/// How often a clock line is appended while traffic is recent.
pub const TICK: Duration = Duration::from_secs(1);

/// Why the listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenError {
    /// The spool file could not be opened, read or repaired.
    #[error("spool {path}: {source}")]
    Spool {
        /// The spool file.
        path: PathBuf,
        /// What the file system said.
        source: std::io::Error,
    },
    /// The address could not be bound (in use, not an address, no permission).
    #[error("--listen {addr}: {message}")]
    Bind {
        /// What was asked for.
        addr: String,
        /// What binding said.
        message: String,
    },
}

/// The write-ahead file: whole lines appended and synced, and how far it is known
/// to be on disk.
pub struct Spool {
    path: PathBuf,
    file: Mutex<File>,
    /// Bytes known to be on disk (always at a line boundary), and the time of the
    /// last data line.
    durable: Mutex<(u64, Option<Instant>)>,
    grown: Condvar,
}

impl Spool {
    /// Open (or create) the spool at `path`. A last line without its newline is
    /// the torn tail of a write a crash cut short — never acknowledged, since
    /// the `200` follows the sync — and is cut off; returns its length too.
    pub fn open(path: &Path) -> Result<(Spool, u64), ListenError> {
        let err = |source| ListenError::Spool { path: path.to_path_buf(), source };
        let mut file = std::fs::OpenOptions::new().read(true).append(true).create(true).open(path).map_err(err)?;
        let len = file.metadata().map_err(err)?.len();
        let keep = last_line_end(&mut file, len).map_err(err)?;
        if keep < len {
            file.set_len(keep).map_err(err)?;
            file.sync_all().map_err(err)?;
        }
        Ok((Spool { path: path.to_path_buf(), file: Mutex::new(file), durable: Mutex::new((keep, None)), grown: Condvar::new() }, len - keep))
    }

    /// Append `line` (no newline inside) and sync it to disk; data lines also
    /// count as traffic for the clock.
    pub fn append(&self, line: &[u8], data: bool) -> std::io::Result<()> {
        debug_assert!(!line.contains(&b'\n'));
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let mut buf = Vec::with_capacity(line.len() + 1);
        buf.extend_from_slice(line);
        buf.push(b'\n');
        // Appends happen under the file lock, so the durable length is the file's length.
        let before = self.durable.lock().unwrap_or_else(|p| p.into_inner()).0;
        if let Err(e) = f.write_all(&buf).and_then(|_| f.sync_data()) {
            // Leave no partial line behind for the next append to glue onto.
            let _ = f.set_len(before);
            return Err(e);
        }
        let mut d = self.durable.lock().unwrap_or_else(|p| p.into_inner());
        d.0 = before + buf.len() as u64;
        if data {
            d.1 = Some(Instant::now());
        }
        self.grown.notify_all();
        Ok(())
    }

    /// How long since the last data line (`None`: none since start).
    fn quiet_for(&self) -> Option<Duration> {
        self.durable.lock().unwrap_or_else(|p| p.into_inner()).1.map(|t| t.elapsed())
    }
}

/// Where the last complete line of the first `len` bytes ends.
fn last_line_end(f: &mut File, len: u64) -> std::io::Result<u64> {
    let mut end = len;
    let mut buf = vec![0u8; 64 << 10];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let n = (end - start) as usize;
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut buf[..n])?;
        if let Some(i) = buf[..n].iter().rposition(|b| *b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// The spool read as lines, from its start, waiting at its end for more until
/// `stop` is set; only bytes known to be on disk are read.
pub struct Follow {
    spool: Arc<Spool>,
    file: File,
    pos: u64,
    pending: Vec<u8>,
    line_no: u64,
    origin: String,
    stop: Arc<AtomicBool>,
}

impl Follow {
    /// Follow `spool` until `stop` is set.
    pub fn new(spool: Arc<Spool>, stop: Arc<AtomicBool>) -> std::io::Result<Follow> {
        let file = File::open(&spool.path)?;
        let origin = spool.path.display().to_string();
        Ok(Follow { spool, file, pos: 0, pending: Vec::new(), line_no: 0, origin, stop })
    }
}

impl Iterator for Follow {
    type Item = Result<Record, ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(i) = self.pending.iter().position(|b| *b == b'\n') {
                let mut line: Vec<u8> = self.pending.drain(..=i).collect();
                line.pop();
                self.line_no += 1;
                return Some(Ok(Record { origin: format!("{}:{}", self.origin, self.line_no), bytes: line, line: true }));
            }
            let durable = {
                let mut d = self.spool.durable.lock().unwrap_or_else(|p| p.into_inner());
                while d.0 <= self.pos && !self.stop.load(Ordering::SeqCst) {
                    d = self.spool.grown.wait_timeout(d, Duration::from_millis(200)).unwrap_or_else(|p| p.into_inner()).0;
                }
                d.0
            };
            if durable <= self.pos {
                return None; // stopped, and everything on disk was read
            }
            let want = (durable - self.pos).min(8 << 20) as usize;
            let start = self.pending.len();
            self.pending.resize(start + want, 0);
            let read = self.file.seek(SeekFrom::Start(self.pos)).and_then(|_| self.file.read_exact(&mut self.pending[start..]));
            if let Err(e) = read {
                self.pending.truncate(start);
                return Some(Err(ReadError { origin: self.origin.clone(), message: format!("reading the spool: {e}") }));
            }
            self.pos += want as u64;
        }
    }
}

/// A running receiver: its address, and how to stop it.
pub struct Listener {
    /// The address bound (with the port the system chose for `:0`).
    pub addr: std::net::SocketAddr,
    server: Arc<tiny_http::Server>,
    workers: Vec<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
}

impl Listener {
    /// Bind `addr` and serve OTLP/HTTP into `spool` on `threads` threads, with a
    /// clock line every [`TICK`] while the last data is younger than `clock_for`.
    pub fn start(addr: &str, spool: Arc<Spool>, threads: usize, clock_for: Duration) -> Result<Listener, ListenError> {
        let server = tiny_http::Server::http(addr).map_err(|e| ListenError::Bind { addr: addr.to_string(), message: e.to_string() })?;
        let bound = server.server_addr().to_ip().ok_or_else(|| ListenError::Bind { addr: addr.to_string(), message: "not an IP address".into() })?;
        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::new();
        for _ in 0..threads.max(1) {
            let (server, spool) = (server.clone(), spool.clone());
            workers.push(std::thread::spawn(move || {
                // `recv` fails once the server is unblocked: stop serving.
                while let Ok(req) = server.recv() {
                    handle(req, &spool);
                }
            }));
        }
        let (clock_spool, clock_stop) = (spool, stop.clone());
        workers.push(std::thread::spawn(move || {
            let mut last = Instant::now();
            while !clock_stop.load(Ordering::SeqCst) {
                // Short sleeps, so a stop is not kept waiting for a whole tick.
                std::thread::sleep(Duration::from_millis(50));
                if last.elapsed() < TICK {
                    continue;
                }
                last = Instant::now();
                if clock_spool.quiet_for().is_some_and(|q| q <= clock_for) {
                    let _ = clock_spool.append(&clock_line(now_ns()), false);
                }
            }
        }));
        Ok(Listener { addr: bound, server, workers, stop })
    }

    /// Stop accepting, let the requests in flight finish (each one written and
    /// answered, or not written at all), and stop the clock.
    pub fn stop(self) {
        self.stop.store(true, Ordering::SeqCst);
        // One unblock per thread waiting in `recv`.
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        for w in self.workers {
            let _ = w.join();
        }
    }
}

/// The clock line for time `ns` (nanoseconds since the epoch).
pub fn clock_line(ns: u64) -> Vec<u8> {
    format!("{{\"ratchetClock\":{{\"timeUnixNano\":\"{ns}\"}}}}").into_bytes()
}

fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// `google.rpc.Status`, the body of an OTLP/HTTP error answer.
#[derive(Clone, PartialEq, Message)]
struct RpcStatus {
    #[prost(int32, tag = "1")]
    code: i32,
    #[prost(string, tag = "2")]
    message: String,
}

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Json,
    Protobuf,
}

/// An answer: status code and message (errors only).
struct Answer {
    status: u16,
    message: String,
}

fn handle(mut req: tiny_http::Request, spool: &Spool) {
    let header = |name: &'static str| req.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str().to_ascii_lowercase());
    let content_type = header("Content-Type").unwrap_or_default();
    let content_encoding = header("Content-Encoding");
    let encoding = if content_type.starts_with("application/json") { Encoding::Json } else { Encoding::Protobuf };
    let answer = accept(&mut req, spool, &content_type, content_encoding);
    let (body, ctype) = match (answer.status, encoding) {
        // An empty Export*ServiceResponse: no partial success to report.
        (200, Encoding::Json) => (b"{}".to_vec(), "application/json"),
        (200, Encoding::Protobuf) => (Vec::new(), "application/x-protobuf"),
        // OTLP/HTTP: a google.rpc.Status in the request's encoding (code 3: INVALID_ARGUMENT, 14: UNAVAILABLE).
        (s, e) => {
            let code = if s == 503 { 14 } else { 3 };
            match e {
                Encoding::Json => (serde_json::to_vec(&serde_json::json!({ "code": code, "message": answer.message })).unwrap_or_default(), "application/json"),
                Encoding::Protobuf => (RpcStatus { code, message: answer.message.clone() }.encode_to_vec(), "application/x-protobuf"),
            }
        }
    };
    let mut response = tiny_http::Response::from_data(body).with_status_code(answer.status);
    if let Ok(h) = tiny_http::Header::from_bytes(&b"Content-Type"[..], ctype.as_bytes()) {
        response.add_header(h);
    }
    if answer.status == 503 {
        if let Ok(h) = tiny_http::Header::from_bytes(&b"Retry-After"[..], &b"1"[..]) {
            response.add_header(h);
        }
    }
    let _ = req.respond(response);
}

fn accept(req: &mut tiny_http::Request, spool: &Spool, content_type: &str, content_encoding: Option<String>) -> Answer {
    let answer = |status: u16, message: String| Answer { status, message };
    if *req.method() != tiny_http::Method::Post {
        return answer(405, format!("{} {}: OTLP/HTTP takes POST", req.method(), req.url()));
    }
    let path = req.url().split('?').next().unwrap_or("");
    let signal = match path {
        "/v1/traces" => Signal::Traces,
        "/v1/logs" => Signal::Logs,
        other => return answer(404, format!("{other}: this receiver takes traces (/v1/traces) and logs (/v1/logs)")),
    };
    let json = content_type.starts_with("application/json");
    if !json && !content_type.starts_with("application/x-protobuf") {
        return answer(415, format!("Content-Type `{content_type}`: expected application/x-protobuf or application/json"));
    }
    let mut raw = Vec::new();
    let reader = Read::take(req.as_reader(), MAX_BODY + 1);
    let read = match content_encoding.as_deref() {
        None | Some("identity") | Some("") => { reader }.read_to_end(&mut raw),
        Some("gzip") => Read::take(flate2::read::GzDecoder::new(reader), MAX_BODY + 1).read_to_end(&mut raw),
        Some(other) => return answer(415, format!("Content-Encoding `{other}`: expected gzip or none")),
    };
    if let Err(e) = read {
        return answer(400, format!("reading the body: {e}"));
    }
    if raw.len() as u64 > MAX_BODY {
        return answer(413, format!("the body is over {} MiB: send smaller batches", MAX_BODY >> 20));
    }
    let doc = if json {
        match serde_json::from_slice::<Value>(&raw) {
            Ok(v) => v,
            Err(e) => return answer(400, format!("invalid JSON: {e}")),
        }
    } else {
        match otlp_proto::to_json(signal, &raw) {
            Ok(v) => v,
            Err(e) => return answer(400, format!("not an OTLP {} export request: {e}", if signal == Signal::Traces { "trace" } else { "logs" })),
        }
    };
    let (camel, snake) = if signal == Signal::Traces { ("resourceSpans", "resource_spans") } else { ("resourceLogs", "resource_logs") };
    let list = doc.as_object().and_then(|o| o.get(camel).or_else(|| o.get(snake)));
    match list {
        Some(Value::Array(a)) if a.is_empty() => return answer(200, String::new()),
        Some(Value::Array(_)) => {}
        None if doc.is_object() => return answer(200, String::new()), // an empty request: nothing to keep
        _ => return answer(400, format!("expected an object with a `{camel}` array")),
    }
    let line = match serde_json::to_vec(&doc) {
        Ok(l) => l,
        Err(e) => return answer(400, format!("{e}")),
    };
    match spool.append(&line, true) {
        Ok(()) => answer(200, String::new()),
        Err(e) => answer(503, format!("could not write the spool: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_tail_is_cut_and_whole_lines_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("spool.jsonl");
        std::fs::write(&p, b"{\"a\":1}\n{\"b\":2}\n{\"c\":").unwrap();
        let (spool, cut) = Spool::open(&p).unwrap();
        assert_eq!(cut, 5);
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"a\":1}\n{\"b\":2}\n");
        spool.append(b"{\"d\":4}", true).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"a\":1}\n{\"b\":2}\n{\"d\":4}\n");
        // Nothing complete at all.
        std::fs::write(&p, b"{\"c\":").unwrap();
        assert_eq!(Spool::open(&p).unwrap().1, 5);
        assert_eq!(std::fs::read(&p).unwrap(), b"");
    }

    #[test]
    fn follow_reads_what_is_on_disk_then_waits_then_stops() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("spool.jsonl");
        let (spool, _) = Spool::open(&p).unwrap();
        let spool = Arc::new(spool);
        spool.append(b"one", true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let mut f = Follow::new(spool.clone(), stop.clone()).unwrap();
        assert_eq!(f.next().unwrap().unwrap().bytes, b"one");
        let writer = {
            let spool = spool.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(300));
                spool.append(b"two", true).unwrap();
            })
        };
        let r = f.next().unwrap().unwrap();
        assert_eq!((r.bytes.as_slice(), r.origin.ends_with(":2")), (&b"two"[..], true));
        writer.join().unwrap();
        stop.store(true, Ordering::SeqCst);
        assert!(f.next().is_none());
    }
}
