//! One exec agent process for all of the gate's workers (`concurrent_sessions`):
//! for agents whose `ready` says they serve several sessions at once, such as one
//! that loads a large model or holds a connection pool. Every worker's sessions
//! are interleaved on the one process, told apart by `session`; a router thread
//! reads the agent's stdout and hands each message to the session it names.
//!
//! What stays as with a process per worker: the timeouts, the protocol checks, the
//! process group killed at the end. What differs: a session that times out is
//! retired (later messages for it are dropped) without killing the process the
//! other sessions share; a line that names no running session, or is not a
//! protocol message, or the process exiting, ends the process, so every session in
//! flight on it gets the same `error`, and the next session starts a fresh one.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{to_agent, AgentProcess, FromAgent};
use crate::agent::{AgentConfig, AgentError, AgentEvent, Driver, Session};
use crate::schema::Scenario;

/// Where the router delivers: each running session's inbox, the sessions retired
/// (their late messages are dropped), and why the process is gone once it is.
#[derive(Default)]
struct Table {
    routes: Mutex<HashMap<String, Sender<FromAgent>>>,
    retired: Mutex<HashSet<String>>,
    dead: Mutex<Option<AgentError>>,
}

impl Table {
    fn lock_routes(&self) -> std::sync::MutexGuard<'_, HashMap<String, Sender<FromAgent>>> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn dead(&self) -> Option<AgentError> {
        self.dead.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The process is unusable: say why (first reason wins) and close every inbox,
    /// so every waiting session wakes up to it.
    fn fail(&self, e: AgentError) {
        self.dead.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
        self.lock_routes().clear();
    }

    fn retire(&self, session: &str) {
        self.lock_routes().remove(session);
        self.retired.lock().unwrap_or_else(|e| e.into_inner()).insert(session.to_string());
    }
}

/// The one process and its router.
struct Mux {
    process: Mutex<AgentProcess>,
    table: Arc<Table>,
    identity: String,
    /// Dropped with the mux: lets the thread that started the process end.
    _keeper: Sender<()>,
}

impl Mux {
    fn spawn(cfg: &AgentConfig, root: &std::path::Path) -> Result<Mux, AgentError> {
        // Started from a thread of its own that lives as long as the mux: the agent
        // dies with the thread that started it (PR_SET_PDEATHSIG is per thread on
        // Linux), and a gate worker's thread ends when its share of the suite does,
        // while the other workers still use the process.
        let (keeper, stop) = mpsc::channel::<()>();
        let (started_tx, started) = mpsc::channel();
        let (cfg_owned, root_owned) = (cfg.clone(), root.to_path_buf());
        std::thread::spawn(move || {
            let _ = started_tx.send(AgentProcess::spawn(&cfg_owned, &root_owned));
            let _ = stop.recv();
        });
        let mut p = started.recv().map_err(|_| AgentError::Start("the thread starting the agent died".into()))??;
        if !p.concurrent_sessions {
            p.kill();
            return Err(AgentError::Start(format!(
                "{} declares `concurrent_sessions: false` in its `ready`: it serves one session at a time, so run the gate without --concurrent-sessions (a process per worker)",
                p.label
            )));
        }
        let identity = match (&p.agent, &p.version) {
            (Some(a), Some(v)) => format!("{a} {v}"),
            (Some(a), None) => a.clone(),
            _ => cfg.name.clone(),
        };
        let lines = std::mem::replace(&mut p.lines, mpsc::channel().1);
        let table = Arc::new(Table::default());
        let router = table.clone();
        let stderr = p.stderr.clone();
        let label = p.label.clone();
        std::thread::spawn(move || route(lines, &router, &stderr, &label));
        Ok(Mux { process: Mutex::new(p), table, identity, _keeper: keeper })
    }

    fn send(&self, msg: &Value) -> Result<(), AgentError> {
        let mut p = self.process.lock().unwrap_or_else(|e| e.into_inner());
        p.send(msg).inspect_err(|e| self.table.fail(e.clone()))
    }

    /// Why the process is gone, computing it (exit status, stderr) if the router has
    /// only seen its stdout close.
    fn gone(&self) -> AgentError {
        if let Some(e) = self.table.dead() {
            return e;
        }
        let e = self.process.lock().unwrap_or_else(|e| e.into_inner()).crashed();
        self.table.fail(e);
        self.table.dead().expect("just set")
    }
}

impl Drop for Mux {
    fn drop(&mut self) {
        self.process.get_mut().unwrap_or_else(|e| e.into_inner()).kill();
    }
}

/// The router: each line to the session it names, until the process ends or says
/// something that cannot be routed.
fn route(lines: Receiver<Result<String, String>>, table: &Table, stderr: &Mutex<std::collections::VecDeque<u8>>, label: &str) {
    let tail = || String::from_utf8_lossy(&stderr.lock().unwrap_or_else(|e| e.into_inner()).iter().copied().collect::<Vec<u8>>()).into_owned();
    let protocol = |message: String| AgentError::Protocol { message, stderr: tail() };
    loop {
        let line = match lines.recv() {
            Ok(Ok(line)) if line.trim().is_empty() => continue,
            Ok(Ok(line)) => line,
            Ok(Err(reason)) => return table.fail(protocol(format!("{label} wrote {reason}"))),
            // stdout closed: the sessions find out why from the process itself.
            Err(_) => return table.lock_routes().clear(),
        };
        let msg = match serde_json::from_str::<FromAgent>(&line) {
            Ok(m) => m,
            Err(e) => {
                let mut shown = line.clone();
                crate::plugin::sandbox::truncate_utf8(&mut shown, 200);
                return table.fail(protocol(format!("not a protocol message ({e}): {shown}")));
            }
        };
        let Some(session) = msg.session().map(str::to_string) else {
            return table.fail(protocol(format!("unexpected `{}` from an agent serving several sessions", msg.kind())));
        };
        let inbox = table.lock_routes().get(&session).cloned();
        match inbox {
            Some(tx) => {
                let _ = tx.send(msg);
            }
            // A late answer for a session that timed out: nobody waits for it.
            None if table.retired.lock().unwrap_or_else(|e| e.into_inner()).contains(&session) => {}
            None => return table.fail(protocol(format!("`{}` for session `{session}`, which is not running", msg.kind()))),
        }
    }
}

/// The process every worker's driver shares, started on first use and again after
/// it ended.
pub struct SharedProcess {
    cfg: AgentConfig,
    root: std::path::PathBuf,
    current: Mutex<Option<Arc<Mux>>>,
    sessions: AtomicU64,
}

impl SharedProcess {
    /// Nothing starts until the first session.
    pub fn new(cfg: AgentConfig, root: std::path::PathBuf) -> Arc<SharedProcess> {
        Arc::new(SharedProcess { cfg, root, current: Mutex::new(None), sessions: AtomicU64::new(0) })
    }

    fn mux(&self) -> Result<Arc<Mux>, AgentError> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = current.as_ref().filter(|m| m.table.dead().is_none()) {
            return Ok(m.clone());
        }
        let m = Arc::new(Mux::spawn(&self.cfg, &self.root)?);
        *current = Some(m.clone());
        Ok(m)
    }
}

/// One worker's driver onto the [`SharedProcess`].
pub struct SharedDriver {
    shared: Arc<SharedProcess>,
    identity: String,
}

impl SharedDriver {
    /// A driver whose sessions run on `shared`.
    pub fn new(shared: Arc<SharedProcess>) -> Self {
        let identity = shared.cfg.name.clone();
        SharedDriver { shared, identity }
    }
}

impl Driver for SharedDriver {
    fn start<'a>(&'a mut self, scenario: &'a Scenario) -> Result<Box<dyn Session + 'a>, AgentError> {
        let mux = self.shared.mux()?;
        self.identity = mux.identity.clone();
        let n = self.shared.sessions.fetch_add(1, Ordering::Relaxed) + 1;
        let session = format!("s{n}");
        let (tx, inbox) = mpsc::channel();
        mux.table.lock_routes().insert(session.clone(), tx);
        let cfg = &self.shared.cfg;
        let s = SharedSession {
            mux,
            session,
            inbox,
            deadline: Instant::now() + Duration::from_millis(cfg.scenario_timeout_ms),
            turn: Duration::from_millis(cfg.turn_timeout_ms),
            scenario_ms: cfg.scenario_timeout_ms,
            ended: false,
        };
        s.mux.send(&to_agent::session_start(&s.session, scenario))?;
        Ok(Box::new(s))
    }

    fn describe(&self) -> String {
        self.identity.clone()
    }
}

struct SharedSession {
    mux: Arc<Mux>,
    session: String,
    inbox: Receiver<FromAgent>,
    deadline: Instant,
    turn: Duration,
    scenario_ms: u64,
    ended: bool,
}

impl SharedSession {
    fn next(&mut self) -> Result<FromAgent, AgentError> {
        let now = Instant::now();
        let (wait, what, ms) = if self.deadline.saturating_duration_since(now) < self.turn {
            (self.deadline.saturating_duration_since(now), "scenario timeout", self.scenario_ms)
        } else {
            (self.turn, "turn timeout", self.turn.as_millis() as u64)
        };
        match self.inbox.recv_timeout(wait) {
            Ok(m) => Ok(m),
            Err(RecvTimeoutError::Timeout) => {
                self.ended = true;
                self.mux.table.retire(&self.session);
                let stderr = self.mux.process.lock().unwrap_or_else(|e| e.into_inner()).stderr_tail();
                Err(AgentError::Timeout { what, timeout_ms: ms, stderr })
            }
            Err(RecvTimeoutError::Disconnected) => {
                self.ended = true;
                Err(self.mux.gone())
            }
        }
    }

    fn protocol(&mut self, message: String) -> AgentError {
        self.ended = true;
        self.mux.table.retire(&self.session);
        self.mux.process.lock().unwrap_or_else(|e| e.into_inner()).protocol(message)
    }

    fn send_and_wait(&mut self, msg: Value) -> Result<AgentEvent, AgentError> {
        self.mux.send(&msg)?;
        self.next()?.into_event().map_err(|kind| self.protocol(format!("unexpected `{kind}` while waiting for the agent's answer")))
    }
}

impl Session for SharedSession {
    fn customer_message(&mut self, text: &str) -> Result<AgentEvent, AgentError> {
        self.send_and_wait(to_agent::customer_message(&self.session, text))
    }

    fn tool_result(&mut self, call_id: &str, content: &Value, is_error: bool) -> Result<AgentEvent, AgentError> {
        self.send_and_wait(to_agent::tool_result(&self.session, call_id, content, is_error))
    }

    fn end(&mut self) -> Result<(), AgentError> {
        if self.ended {
            return Ok(());
        }
        self.ended = true;
        self.mux.send(&to_agent::session_end(&self.session))?;
        let result = match self.next()? {
            FromAgent::SessionEnded { .. } => Ok(()),
            other => Err(self.protocol(format!("expected session.ended for {}, got {}", self.session, other.kind()))),
        };
        self.mux.table.retire(&self.session);
        result
    }
}

impl Drop for SharedSession {
    fn drop(&mut self) {
        // A session dropped mid-way (an error elsewhere): its late messages are noise.
        self.mux.table.retire(&self.session);
    }
}
