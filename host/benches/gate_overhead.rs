//! Host overhead of `ratchet gate` per scenario on a 5,000-scenario suite, with an
//! agent that answers at once (wasm and exec drivers), and slot utilisation with an
//! agent that takes a fixed time per turn. Prints figures; asserts nothing.
//!
//! Run: `scripts/build-plugins && cargo bench -p ratchet --bench gate_overhead`
//! Results are recorded in docs/benchmarks.md.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratchet::agent::exec::ExecDriver;
use ratchet::agent::wasm::WasmDriver;
use ratchet::agent::{AgentConfig, AgentError, AgentEvent, Driver, DriverKind, Session};
use ratchet::config::{EngineSettings, Limits};
use ratchet::gate::replay::MissingFixturePolicy;
use ratchet::gate::Harness;
use ratchet::gate::{run, GateOptions, ScenarioVerdict};
use ratchet::plugin::Runtime;
use ratchet::schema::{Check, Scenario};
use ratchet::suite::{self, Loaded};
use serde_json::{json, Value};

/// Wraps a driver and adds up the time spent waiting for the agent.
struct Timed {
    inner: Box<dyn Driver>,
    agent_ns: Arc<AtomicU64>,
}

struct TimedSession<'a> {
    inner: Box<dyn Session + 'a>,
    agent_ns: Arc<AtomicU64>,
}

impl Driver for Timed {
    fn start<'a>(&'a mut self, s: &'a Scenario) -> Result<Box<dyn Session + 'a>, AgentError> {
        let t = Instant::now();
        let inner = self.inner.start(s)?;
        self.agent_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(Box::new(TimedSession { inner, agent_ns: self.agent_ns.clone() }))
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

impl Session for TimedSession<'_> {
    fn customer_message(&mut self, text: &str) -> Result<AgentEvent, AgentError> {
        let t = Instant::now();
        let r = self.inner.customer_message(text);
        self.agent_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        r
    }
    fn tool_result(&mut self, id: &str, c: &Value, e: bool) -> Result<AgentEvent, AgentError> {
        let t = Instant::now();
        let r = self.inner.tool_result(id, c, e);
        self.agent_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        r
    }
    fn end(&mut self) -> Result<(), AgentError> {
        let t = Instant::now();
        let r = self.inner.end();
        self.agent_ns.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
        r
    }
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").canonicalize().unwrap()
}

/// `n` scenarios: the example suite's built-in-criteria scenarios, cloned with new ids.
fn suite(n: usize) -> Vec<Loaded> {
    let base: Vec<Loaded> = suite::load(&repo().join("scenarios"))
        .unwrap()
        .into_iter()
        .map(|mut l| {
            l.scenario.criteria.retain(|c| !matches!(c.check, Check::Plugin { .. }));
            l
        })
        .collect();
    (0..n)
        .map(|i| {
            let mut l = base[i % base.len()].clone();
            l.scenario.id = format!("{}-{i:05}", l.scenario.id);
            l
        })
        .collect()
}

struct Figures {
    wall: Duration,
    agent: Duration,
    busy: Duration,
}

fn measure(scenarios: &[Loaded], jobs: usize, make: &(dyn Fn() -> Box<dyn Driver> + Sync)) -> Figures {
    let agent_ns = Arc::new(AtomicU64::new(0));
    let timed = || -> Box<dyn Driver> { Box::new(Timed { inner: make(), agent_ns: agent_ns.clone() }) };
    let opts = GateOptions { jobs, repeat: 1, on_missing_fixture: MissingFixturePolicy::Error, budget: None, max_tool_calls: 16 };
    let t = Instant::now();
    let (results, _) = run(scenarios, &timed, &Harness::default(), &opts, &|_| {});
    let wall = t.elapsed();
    assert!(results.iter().all(|r| r.verdict != ScenarioVerdict::Error), "agent errors during the benchmark");
    let busy = Duration::from_millis(results.iter().map(|r| r.duration_ms()).sum());
    Figures { wall, agent: Duration::from_nanos(agent_ns.load(Ordering::Relaxed)), busy }
}

fn exec_config(args: &[&str]) -> AgentConfig {
    let mut command = vec!["python3".to_string(), "examples/agents/support_agent.py".to_string(), "--prompt-version".into(), "support-v2".into()];
    command.extend(args.iter().map(|s| s.to_string()));
    AgentConfig {
        name: "support-agent".into(),
        driver: DriverKind::Exec,
        command,
        env: Default::default(),
        component: None,
        config: json!({}),
        turn_timeout_ms: 10_000,
        scenario_timeout_ms: 60_000,
        max_tool_calls_per_turn: 16,
        ..AgentConfig::default()
    }
}

fn main() {
    let n = 5_000;
    let scenarios = suite(n);
    println!("suite: {n} scenarios ({} customer turns in all)\n", scenarios.iter().map(|l| l.scenario.turns.len()).sum::<usize>());

    // wasm driver: the same agent logic compiled to a component.
    let bytes = std::fs::read(repo().join("target/plugins/support-agent.wasm")).expect("run scripts/build-plugins first");
    let rt = Runtime::new(&EngineSettings::default(), false).unwrap();
    let agent = Arc::new(rt.load("support-agent", &bytes, Limits::default()).unwrap());
    let make_wasm = || -> Box<dyn Driver> { Box::new(WasmDriver::new(agent.clone(), json!({"prompt_version": "support-v2"}))) };
    // exec driver: the Python example agent, one process per worker.
    let root = repo();
    let cfg = exec_config(&[]);
    let make_exec = || -> Box<dyn Driver> { Box::new(ExecDriver::new(cfg.clone(), root.clone())) };

    println!("{:<34} {:>5} {:>10} {:>12} {:>14} {:>10}", "driver", "jobs", "wall", "agent time", "host/scenario", "host share");
    for (name, make) in
        [("wasm (support-agent component)", &make_wasm as &(dyn Fn() -> Box<dyn Driver> + Sync)), ("exec (python support_agent.py)", &make_exec)]
    {
        for jobs in [1, 2] {
            let f = measure(&scenarios, jobs, make);
            // Host time = worker time not spent waiting for the agent.
            let worker_time = f.wall.as_secs_f64() * jobs as f64;
            let host = (worker_time - f.agent.as_secs_f64()).max(0.0);
            println!(
                "{name:<34} {jobs:>5} {:>9.2}s {:>11.2}s {:>11.1} µs {:>9.1}%",
                f.wall.as_secs_f64(),
                f.agent.as_secs_f64(),
                host / n as f64 * 1e6,
                100.0 * host / worker_time
            );
        }
    }

    // Slot utilisation: an agent that takes a fixed time per reply.
    println!("\nfixed-time agent (python, --slow-ms 20 per reply), 120 scenarios:");
    let few = suite(120);
    let slow = exec_config(&["--slow-ms", "20"]);
    let make_slow = || -> Box<dyn Driver> { Box::new(ExecDriver::new(slow.clone(), root.clone())) };
    for jobs in [1, 2, 4, 8] {
        let f = measure(&few, jobs, &make_slow);
        let bound = f.busy.as_secs_f64() / jobs as f64;
        println!(
            "  --jobs {jobs}: makespan {:.2}s, bound (busy / jobs) {:.2}s, utilisation {:.1}%",
            f.wall.as_secs_f64(),
            bound,
            100.0 * bound / f.wall.as_secs_f64()
        );
    }
}
