//! The `exec` driver: the agent is a subprocess speaking JSON lines
//! (docs/agent-protocol.md). Each worker owns one process and runs its sessions one
//! after another; a process that crashes, hangs or talks garbage is killed, the
//! scenario gets an `error` verdict, and the next session starts a fresh process.
//! The agent runs in a process group of its own, killed with it ([`group`]).
//! An agent whose `ready` says `concurrent_sessions: true` may instead serve every
//! worker's sessions on one process ([`shared`], `gate --concurrent-sessions`).

mod group;
mod shared;

pub use shared::{SharedDriver, SharedProcess};

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{json, Value};

use super::{AgentConfig, AgentError, AgentEvent, Driver, Session};
use crate::schema::Scenario;

/// The host → agent messages of the protocol (docs/agent-protocol.md), built in one
/// place for the drivers that speak it: exec, its shared process, and http.
pub(crate) mod to_agent {
    use serde_json::{json, Value};

    use crate::schema::Scenario;

    /// `session.start`: restore the scenario's agent state.
    pub fn session_start(session: &str, scenario: &Scenario) -> Value {
        json!({"type": "session.start", "session": session, "scenario": scenario.id, "channel": scenario.channel, "state": scenario.state})
    }

    /// `customer.message`: the next scripted customer line.
    pub fn customer_message(session: &str, text: &str) -> Value {
        json!({"type": "customer.message", "session": session, "text": text})
    }

    /// `tool.result`: the replayed answer to a tool call.
    pub fn tool_result(session: &str, call_id: &str, content: &Value, is_error: bool) -> Value {
        json!({"type": "tool.result", "session": session, "call_id": call_id, "content": content, "is_error": is_error})
    }

    /// `session.end`: no more customer lines.
    pub fn session_end(session: &str) -> Value {
        json!({"type": "session.end", "session": session})
    }
}

/// The protocol version this host speaks.
pub const PROTOCOL_VERSION: u32 = 1;
/// Longest line accepted from an agent.
const MAX_LINE: u64 = 4 << 20;
/// Bytes of the agent's stderr kept for error messages.
const STDERR_TAIL: usize = 4096;

/// Runs an agent subprocess per worker.
pub struct ExecDriver {
    cfg: AgentConfig,
    root: PathBuf,
    process: Option<AgentProcess>,
    sessions: u64,
    identity: String,
}

/// Why an exec agent's program cannot be started (found before any scenario runs).
#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    /// `command = []`.
    #[error("the command is empty")]
    EmptyCommand,
    /// A path (`./agent`, `bin/agent`, `/usr/bin/agent`) that is not an executable file.
    #[error("`{}`: no such executable file", .0.display())]
    NoSuchFile(PathBuf),
    /// A bare name found in no directory of `PATH`.
    #[error("`{0}`: not found on PATH")]
    NotOnPath(String),
}

/// The program an agent config starts, resolved as the driver will: a relative path
/// with a folder in it (`./agent`, `bin/agent`) from the project root, a bare name
/// on `PATH` (the agent's `env.PATH` when it sets one). An error says what is
/// missing, so `gate` can refuse the agent (exit 2) before running anything.
pub fn resolve_program(cfg: &AgentConfig, root: &std::path::Path) -> Result<PathBuf, ProgramError> {
    let first = cfg.command.first().ok_or(ProgramError::EmptyCommand)?;
    let program = std::path::Path::new(first);
    let runnable = |p: &std::path::Path| {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        }
        #[cfg(not(unix))]
        p.is_file()
    };
    if program.components().count() > 1 || program.is_absolute() {
        let path = if program.is_relative() { root.join(program) } else { program.to_path_buf() };
        return if runnable(&path) { Ok(path) } else { Err(ProgramError::NoSuchFile(path)) };
    }
    let search = cfg.env.get("PATH").map(std::ffi::OsString::from).or_else(|| std::env::var_os("PATH")).unwrap_or_default();
    std::env::split_paths(&search)
        .map(|d| d.join(program))
        .find(|p| runnable(p))
        .map(|_| program.to_path_buf())
        .ok_or_else(|| ProgramError::NotOnPath(first.clone()))
}

impl ExecDriver {
    /// A driver for `cfg`, starting commands in `root`.
    pub fn new(cfg: AgentConfig, root: PathBuf) -> Self {
        let identity = cfg.name.clone();
        ExecDriver { cfg, root, process: None, sessions: 0, identity }
    }

    fn ensure_process(&mut self) -> Result<&mut AgentProcess, AgentError> {
        if self.process.is_none() {
            let p = AgentProcess::spawn(&self.cfg, &self.root)?;
            self.identity = match (&p.agent, &p.version) {
                (Some(a), Some(v)) => format!("{a} {v}"),
                (Some(a), None) => a.clone(),
                _ => self.cfg.name.clone(),
            };
            self.process = Some(p);
        }
        Ok(self.process.as_mut().expect("just set"))
    }
}

impl Driver for ExecDriver {
    fn start<'a>(&'a mut self, scenario: &'a Scenario) -> Result<Box<dyn Session + 'a>, AgentError> {
        self.sessions += 1;
        let session = format!("s{}", self.sessions);
        let deadline = Instant::now() + Duration::from_millis(self.cfg.scenario_timeout_ms);
        let turn_timeout = Duration::from_millis(self.cfg.turn_timeout_ms);
        let scenario_timeout_ms = self.cfg.scenario_timeout_ms;
        let started = self.ensure_process().and_then(|p| p.send(&to_agent::session_start(&session, scenario)));
        if let Err(e) = started {
            self.process = None;
            return Err(e);
        }
        Ok(Box::new(ExecSession { driver: self, session, deadline, turn_timeout, scenario_timeout_ms, ended: false }))
    }

    fn describe(&self) -> String {
        self.identity.clone()
    }
}

struct ExecSession<'a> {
    driver: &'a mut ExecDriver,
    session: String,
    deadline: Instant,
    turn_timeout: Duration,
    scenario_timeout_ms: u64,
    ended: bool,
}

impl ExecSession<'_> {
    /// Run `f` on the process; on any error the process is killed and dropped, so
    /// the next session starts clean.
    fn with_process<T>(&mut self, f: impl FnOnce(&mut AgentProcess, &Timing) -> Result<T, AgentError>) -> Result<T, AgentError> {
        let timing = Timing { deadline: self.deadline, turn: self.turn_timeout, scenario_ms: self.scenario_timeout_ms };
        let result = match self.driver.process.as_mut() {
            Some(p) => f(p, &timing),
            None => Err(AgentError::Start("the agent process is gone".into())),
        };
        if result.is_err() {
            if let Some(mut p) = self.driver.process.take() {
                p.kill();
            }
        }
        result
    }

    fn send_and_wait(&mut self, msg: Value) -> Result<AgentEvent, AgentError> {
        let session = self.session.clone();
        self.with_process(|p, t| {
            p.send(&msg)?;
            p.next_event(&session, t)
        })
    }
}

struct Timing {
    deadline: Instant,
    turn: Duration,
    scenario_ms: u64,
}

impl Session for ExecSession<'_> {
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
        let session = self.session.clone();
        self.with_process(|p, t| {
            p.send(&to_agent::session_end(&session))?;
            match p.next_message(t)? {
                FromAgent::SessionEnded { session: s } if s == session => Ok(()),
                other => Err(p.protocol(format!("expected session.ended for {session}, got {}", other.kind()))),
            }
        })
    }
}

/// Messages an agent may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
enum FromAgent {
    #[serde(rename = "ready")]
    Ready {
        protocol: u32,
        #[serde(default)]
        agent: Option<String>,
        #[serde(default)]
        version: Option<String>,
        #[serde(default)]
        concurrent_sessions: bool,
    },
    #[serde(rename = "tool.call")]
    ToolCall {
        session: String,
        call_id: String,
        name: String,
        #[serde(default)]
        version: Option<String>,
        #[serde(default)]
        arguments: Value,
    },
    #[serde(rename = "agent.message")]
    Message { session: String, text: String },
    #[serde(rename = "escalate")]
    Escalate {
        session: String,
        #[serde(default)]
        reason: String,
    },
    #[serde(rename = "session.ended")]
    SessionEnded { session: String },
}

impl FromAgent {
    /// The session a message belongs to (`ready` belongs to none).
    fn session(&self) -> Option<&str> {
        match self {
            FromAgent::Ready { .. } => None,
            FromAgent::ToolCall { session, .. }
            | FromAgent::Message { session, .. }
            | FromAgent::Escalate { session, .. }
            | FromAgent::SessionEnded { session } => Some(session),
        }
    }

    /// The agent's answer to a customer line or tool result; when the message is
    /// not one, its kind.
    fn into_event(self) -> Result<AgentEvent, &'static str> {
        match self {
            FromAgent::ToolCall { call_id, name, version, arguments, .. } => Ok(AgentEvent::ToolCall { call_id, name, version, arguments }),
            FromAgent::Message { text, .. } => Ok(AgentEvent::Message(text)),
            FromAgent::Escalate { reason, .. } => Ok(AgentEvent::Escalate(reason)),
            other => Err(other.kind()),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            FromAgent::Ready { .. } => "ready",
            FromAgent::ToolCall { .. } => "tool.call",
            FromAgent::Message { .. } => "agent.message",
            FromAgent::Escalate { .. } => "escalate",
            FromAgent::SessionEnded { .. } => "session.ended",
        }
    }
}

/// A running agent process with reader threads for its stdout and stderr.
struct AgentProcess {
    child: Child,
    group: group::Group,
    /// `name (command)`, for messages.
    label: String,
    stdin: ChildStdin,
    lines: Receiver<Result<String, String>>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    agent: Option<String>,
    version: Option<String>,
    /// What its `ready` said: one process may serve several sessions at once.
    concurrent_sessions: bool,
}

impl AgentProcess {
    fn spawn(cfg: &AgentConfig, root: &std::path::Path) -> Result<AgentProcess, AgentError> {
        // A relative program path (`./agent`, `bin/agent`) means relative to the project
        // root, whatever the platform does with relative paths and `current_dir`.
        let program = std::path::Path::new(&cfg.command[0]);
        let program = if program.is_relative() && program.components().count() > 1 { root.join(program) } else { program.to_path_buf() };
        let mut cmd = Command::new(&program);
        cmd.args(&cfg.command[1..]).current_dir(root).envs(&cfg.env).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        group::configure(&mut cmd);
        let mut child = cmd.spawn().map_err(|e| AgentError::Start(format!("{}: {e}", cfg.command.join(" "))))?;
        let group = group::Group::of(&child);
        let label = format!("agent `{}` ({})", cfg.name, cfg.command.join(" "));
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let stderr_pipe = child.stderr.take().expect("piped");

        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            loop {
                let mut buf = Vec::new();
                match (&mut reader).take(MAX_LINE + 1).read_until(b'\n', &mut buf) {
                    Ok(0) => break,
                    Ok(_) if buf.len() as u64 > MAX_LINE => {
                        let _ = tx.send(Err(format!("a line longer than {MAX_LINE} bytes")));
                        break;
                    }
                    Ok(_) => match String::from_utf8(buf) {
                        Ok(line) => {
                            if tx.send(Ok(line.trim_end_matches(['\n', '\r']).to_string())).is_err() {
                                break;
                            }
                        }
                        // The protocol is UTF-8: a lossy decoding would hand the
                        // criteria text the agent never wrote.
                        Err(e) => {
                            let at = e.utf8_error().valid_up_to();
                            let _ = tx.send(Err(format!("a line that is not UTF-8 (invalid byte 0x{:02x} at byte {at} of the line)", e.as_bytes()[at])));
                            break;
                        }
                    },
                    Err(e) => {
                        let _ = tx.send(Err(format!("reading stdout: {e}")));
                        break;
                    }
                }
            }
        });
        let stderr = Arc::new(Mutex::new(VecDeque::with_capacity(STDERR_TAIL)));
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut pipe = stderr_pipe;
            let mut chunk = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let mut tail = sink.lock().unwrap_or_else(|e| e.into_inner());
                tail.extend(&chunk[..n]);
                let excess = tail.len().saturating_sub(STDERR_TAIL);
                tail.drain(..excess);
            }
        });

        let mut p = AgentProcess { child, group, label, stdin, lines: rx, stderr, agent: None, version: None, concurrent_sessions: false };
        let timing = Timing {
            deadline: Instant::now() + Duration::from_millis(cfg.turn_timeout_ms.max(1000)),
            turn: Duration::from_millis(cfg.turn_timeout_ms.max(1000)),
            scenario_ms: cfg.turn_timeout_ms,
        };
        let handshake = p.send(&json!({"type": "hello", "protocol": PROTOCOL_VERSION})).and_then(|()| p.next_message(&timing));
        match handshake {
            Ok(FromAgent::Ready { protocol, agent, version, concurrent_sessions }) if protocol == PROTOCOL_VERSION => {
                p.agent = agent;
                p.version = version;
                p.concurrent_sessions = concurrent_sessions;
                Ok(p)
            }
            Ok(FromAgent::Ready { protocol, .. }) => {
                let e = p.protocol(format!("the agent speaks protocol {protocol}; this ratchet speaks {PROTOCOL_VERSION}"));
                p.kill();
                Err(e)
            }
            Ok(other) => {
                let e = p.protocol(format!("expected `ready` after `hello`, got `{}`", other.kind()));
                p.kill();
                Err(e)
            }
            Err(e) => {
                p.kill();
                Err(e)
            }
        }
    }

    fn stderr_tail(&self) -> String {
        let tail = self.stderr.lock().unwrap_or_else(|e| e.into_inner());
        let bytes: Vec<u8> = tail.iter().copied().collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn protocol(&self, message: String) -> AgentError {
        AgentError::Protocol { message, stderr: self.stderr_tail() }
    }

    fn send(&mut self, msg: &Value) -> Result<(), AgentError> {
        let mut line = serde_json::to_string(msg).expect("json");
        line.push('\n');
        if self.stdin.write_all(line.as_bytes()).and_then(|()| self.stdin.flush()).is_err() {
            return Err(self.crashed());
        }
        Ok(())
    }

    /// The agent exited (or closed its stdout): kill what is left of its group, reap
    /// it, and say so with its exit status.
    fn crashed(&mut self) -> AgentError {
        // Give the process a moment to finish exiting so its own status is known.
        for _ in 0..50 {
            if self.group.leader_exited() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let exited = self.group.leader_exited();
        std::thread::sleep(Duration::from_millis(10)); // let the stderr reader drain
        let status = self.group.kill_and_reap(&mut self.child);
        let status = match status {
            Some(s) if exited => s.to_string(),
            _ => "stdout closed; killed".into(),
        };
        AgentError::Crashed { status, stderr: self.stderr_tail() }
    }

    fn next_message(&mut self, t: &Timing) -> Result<FromAgent, AgentError> {
        let now = Instant::now();
        let (wait, what, ms) = if t.deadline.saturating_duration_since(now) < t.turn {
            (t.deadline.saturating_duration_since(now), "scenario timeout", t.scenario_ms)
        } else {
            (t.turn, "turn timeout", t.turn.as_millis() as u64)
        };
        match self.recv(wait) {
            Ok(Ok(line)) => {
                if line.trim().is_empty() {
                    return self.next_message(t);
                }
                serde_json::from_str::<FromAgent>(&line).map_err(|e| {
                    let mut shown = line.clone();
                    crate::plugin::sandbox::truncate_utf8(&mut shown, 200);
                    self.protocol(format!("not a protocol message ({e}): {shown}"))
                })
            }
            Ok(Err(reason)) => Err(self.protocol(format!("{} wrote {reason}", self.label))),
            Err(RecvTimeoutError::Timeout) => Err(AgentError::Timeout { what, timeout_ms: ms, stderr: self.stderr_tail() }),
            Err(RecvTimeoutError::Disconnected) => Err(self.crashed()),
        }
    }

    /// The next line within `wait`, noticing meanwhile that the agent exited: a
    /// process it forked may hold its stdout open, and a timeout would then hide
    /// that the agent itself is gone.
    fn recv(&mut self, wait: Duration) -> Result<Result<String, String>, RecvTimeoutError> {
        const POLL: Duration = Duration::from_millis(50);
        let until = Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left.min(POLL)) {
                Err(RecvTimeoutError::Timeout) if !left.is_zero() => {
                    if self.group.leader_exited() {
                        // Its last lines may still be on their way from the reader.
                        return self.lines.recv_timeout(Duration::from_millis(20)).map_err(|_| RecvTimeoutError::Disconnected);
                    }
                }
                other => return other,
            }
        }
    }

    fn next_event(&mut self, session: &str, t: &Timing) -> Result<AgentEvent, AgentError> {
        let msg = self.next_message(t)?;
        if let Some(s) = msg.session().filter(|s| *s != session) {
            return Err(self.protocol(format!("message for session `{s}` while `{session}` is running")));
        }
        msg.into_event().map_err(|kind| self.protocol(format!("unexpected `{kind}` while waiting for the agent's answer")))
    }

    fn kill(&mut self) {
        self.group.kill_and_reap(&mut self.child);
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        // Never leave an agent, a process it started, or a zombie behind.
        self.group.kill_and_reap(&mut self.child);
    }
}
