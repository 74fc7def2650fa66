//! `ratchet demo`: the whole loop on embedded defaults, one phase at a time, with
//! the exact commands a team would run (each phase runs this very binary as a
//! subprocess, so what the demo shows is what the commands do).
//!
//! 1. a day of production traffic for the example agent at support-v1
//!    (`examples/traffic/generate.py`, seeded);
//! 2. `detect` flags the failures, `rank` puts the costliest failure mode on top;
//! 3. `regenerate` turns every failure event into a checked scenario;
//! 4. `promote` builds the suite from them, merging duplicates;
//! 5. `gate`: v1 is blocked, v2 (the fix) passes, v3 (fixes one thing, re-breaks
//!    the cancellation) is blocked by a scenario the loop created; `status` and a
//!    `tiers` dry run show the suite the loop built.
//!
//! Everything is left in the workspace directory for the user to open.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{anyhow, Context};
use clap::Args;
use serde_json::Value;

use super::{exit, CliError, CliResult, OutputFormat};
use ratchet::config::Project;

#[derive(Args)]
pub struct DemoArgs {
    /// Workspace directory (emptied first): traffic, events, candidates, suite, reports.
    #[arg(long, default_value = ".ratchet/demo")]
    workspace: PathBuf,
    /// Conversations in the day of production traffic.
    #[arg(long, default_value_t = 400)]
    count: u32,
    /// Seed of the traffic generator.
    #[arg(long, default_value_t = 20261124)]
    seed: u64,
    /// Scenarios replayed at once by the gate.
    #[arg(long, short, default_value_t = 2)]
    jobs: usize,
    /// `json`: also print the summary's figures as one JSON document on stdout (the
    /// phases still show on stderr).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

/// The day the traffic happens, and "now" for everything after it (fixed, so the
/// demo's files are the same on every run).
const DAY: &str = "2026-11-24";
const NOW: &str = "2026-11-25T08:00:00Z";

struct Demo {
    exe: PathBuf,
    root: PathBuf,
    /// Where the user started the demo: paths are shown relative to it.
    cwd: PathBuf,
    ws: PathBuf,
    color: bool,
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Demo {
    fn rel(&self, p: &Path) -> String {
        p.strip_prefix(&self.root).unwrap_or(p).display().to_string()
    }

    fn phase(&self, n: u32, title: &str) {
        let line = format!("── {n}/5 {title} ");
        let pad = "─".repeat(78usize.saturating_sub(line.chars().count()));
        if self.color {
            eprintln!("\n\x1b[1m{line}{pad}\x1b[0m");
        } else {
            eprintln!("\n{line}{pad}");
        }
    }

    /// Run a command from the project root, show it, check its exit code.
    fn run(&self, program: &Path, args: &[String], expect: &[i32]) -> anyhow::Result<Ran> {
        let shown = if program == self.exe { "ratchet".to_string() } else { program.display().to_string() };
        eprintln!("$ {shown} {}", args.iter().map(|a| if a.contains(' ') { format!("'{a}'") } else { a.clone() }).collect::<Vec<_>>().join(" "));
        let o = Command::new(program)
            .args(args)
            .current_dir(&self.root)
            .env_remove("GITHUB_STEP_SUMMARY")
            .output()
            .with_context(|| format!("cannot run {}", program.display()))?;
        let ran = Ran {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        };
        if !expect.contains(&ran.code) {
            return Err(anyhow!("`{shown} {}` exited {} (expected {:?}):\n{}{}", args.join(" "), ran.code, expect, ran.stdout, ran.stderr));
        }
        Ok(ran)
    }

    fn ratchet(&self, args: &[&str], expect: &[i32]) -> anyhow::Result<Ran> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        self.run(&self.exe, &args, expect)
    }

    fn path(&self, p: &str) -> String {
        self.rel(&self.ws.join(p))
    }

    /// A workspace path as the user reaches it from where they started the demo.
    fn shown(&self, p: &str) -> String {
        let full = self.ws.join(p);
        let cwd = self.cwd.canonicalize().unwrap_or(self.cwd.clone());
        let ws = self.ws.canonicalize().unwrap_or(self.ws.clone());
        let full = ws.join(full.strip_prefix(&self.ws).unwrap_or(&full));
        full.strip_prefix(&cwd).unwrap_or(&full).display().to_string()
    }
}

fn indent(text: &str, limit: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = lines.iter().take(limit).map(|l| format!("    {l}")).collect();
    if lines.len() > limit {
        out.push(format!("    … ({} more lines)", lines.len() - limit));
    }
    out.join("\n")
}

/// What a gate run showed.
struct GateOutcome {
    code: i32,
    passed: u64,
    total: u64,
    /// (scenario id, criterion id, reason) of the first failing scenario created by the loop.
    first_failure: Option<(String, String, String)>,
}

/// The failure to show: in the costliest failure mode when it failed there, and its
/// tool criterion (what the agent did) before its wording criteria.
fn gate_outcome(code: i32, report: &Value, costliest: &str) -> GateOutcome {
    let s = &report["summary"];
    let mut failing: Vec<&Value> = report["scenarios"].as_array().map(|l| l.iter().filter(|r| r["verdict"] != "pass").collect()).unwrap_or_default();
    failing.sort_by_key(|r| r["failure_mode"] != costliest);
    let first_failure = failing.into_iter().find_map(|r| {
        let criteria = r["attempts"].get(0)?["criteria"].as_array()?;
        let mut bad: Vec<&Value> = criteria.iter().filter(|c| c["passed"] == false).collect();
        bad.sort_by_key(|c| !c["kind"].as_str().unwrap_or("").contains("tool"));
        let c = bad.first()?;
        Some((r["id"].as_str()?.to_string(), c["id"].as_str()?.to_string(), c["reason"].as_str().unwrap_or("").to_string()))
    });
    GateOutcome { code, passed: s["passed"].as_u64().unwrap_or(0), total: s["total"].as_u64().unwrap_or(0), first_failure }
}

pub fn demo(a: DemoArgs, config: Option<&Path>) -> CliResult {
    let cwd = std::env::current_dir().map_err(CliError::usage)?;
    let project = Project::discover(&cwd, config).map_err(CliError::usage)?;
    let project_root = std::fs::canonicalize(&project.root).map_err(CliError::usage)?;
    let exe = std::env::current_exe().map_err(|e| CliError { code: exit::INTERNAL, error: e.into() })?;
    let ws = if a.workspace.is_absolute() { a.workspace.clone() } else { cwd.join(&a.workspace) };
    // From a ratchet checkout, the loop runs on its examples and ratchet.toml; anywhere
    // else on the example project compiled into this binary, written into the
    // workspace, with the plugins shipped with ratchet (`builtin:`).
    let checkout = project_root.join("examples/traffic/generate.py").is_file();
    let cwd_real = std::fs::canonicalize(&cwd).unwrap_or(cwd.clone());
    let ws_real = ws.canonicalize().unwrap_or(ws.clone());
    if ws_real == project_root || project_root.starts_with(&ws_real) || cwd_real.starts_with(&ws_real) {
        return Err(CliError::usage(anyhow!(
            "--workspace {} would hold the project or the working directory (it is emptied first); pick a new directory",
            ws.display()
        )));
    }
    if ws.exists() {
        std::fs::remove_dir_all(&ws).map_err(|e| CliError::usage(anyhow!("{}: cannot empty the workspace: {e}", ws.display())))?;
    }
    for d in ["production", "candidates", "scenarios", "reports"] {
        std::fs::create_dir_all(ws.join(d)).map_err(|e| CliError::usage(anyhow!("{}: {e}", ws.display())))?;
    }
    let (root, project) = if checkout {
        (project_root, project)
    } else {
        super::examples::write(&ws, super::examples::DEMO_PROJECT)
            .map_err(|e| CliError::usage(anyhow!("{}: cannot write the example project: {e}", ws.display())))?;
        let root = std::fs::canonicalize(&ws).map_err(CliError::usage)?;
        let project = Project::discover(&root, Some(&root.join("ratchet.toml"))).map_err(|e| CliError { code: exit::INTERNAL, error: e.into() })?;
        (root, project)
    };
    for entry in project.config.plugins.values() {
        if let Err(e) = ratchet::project::read_component(&root, &entry.path) {
            let hint = if checkout {
                "build the plugins first with scripts/build-plugins (or run scripts/demo)"
            } else {
                "ratchet's shipped plugins are needed (see docs/install.md)"
            };
            return Err(CliError::usage(anyhow!("{e}: {hint}")));
        }
    }
    let color = std::io::IsTerminal::is_terminal(&std::io::stderr()) && std::env::var_os("NO_COLOR").is_none();
    let d = Demo { exe, root, cwd: cwd.clone(), ws: ws.clone(), color };
    let started = Instant::now();
    let result = run_phases(&d, &a).map_err(|e| CliError { code: exit::GATE_FAILED, error: e });
    eprintln!("\n(workspace: {}; {:.1} s)", d.shown(""), started.elapsed().as_secs_f64());
    result
}

fn run_phases(d: &Demo, a: &DemoArgs) -> anyhow::Result<i32> {
    // 1. Production traffic.
    d.phase(1, "a day of production traffic: the example agent at support-v1");
    let day = d.path("production/day.jsonl");
    let python = PathBuf::from("python3");
    let args: Vec<String> = [
        "examples/traffic/generate.py",
        "--prompt-version",
        "support-v1",
        "--count",
        &a.count.to_string(),
        "--seed",
        &a.seed.to_string(),
        "--date",
        DAY,
        "--out",
        &day,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let r = d.run(&python, &args, &[0])?;
    eprintln!("{}", indent(r.stderr.trim(), 4));

    // 2. Detect and rank.
    d.phase(2, "detect flags the failures, rank puts the costliest on top");
    let events = d.path("events.jsonl");
    let r = d.ratchet(&["detect", &day, "--out", &events], &[0])?;
    eprintln!("{}", indent(r.stderr.trim(), 4));
    let flagged = std::fs::read_to_string(d.root.join(&events))?.lines().filter(|l| !l.trim().is_empty()).count();
    let r = d.ratchet(&["rank", &events, "--now", NOW, "--top", "5"], &[0])?;
    eprintln!("{}", indent(r.stdout.trim_end(), 8));
    let rank: Value = serde_json::from_str(&d.ratchet(&["rank", &events, "--now", NOW, "--format", "json"], &[0])?.stdout)?;
    let costliest = rank["modes"][0]["failure_mode"].as_str().unwrap_or("?").to_string();

    // 3. Regenerate.
    d.phase(3, "regenerate: every failure event → a scenario that reproduces it");
    let candidates = d.path("candidates");
    let r = d.ratchet(&["regenerate", &events, "--out-dir", &candidates, "--now", NOW, "--format", "json"], &[0, 1])?;
    let regenerated: Value = serde_json::from_str(&r.stdout)?;
    let list = regenerated.as_array().cloned().unwrap_or_default();
    let written: Vec<&Value> = list.iter().filter(|x| x["file"].is_string()).collect();
    let rejected: Vec<&Value> = list.iter().filter(|x| x["rejected"].is_string()).collect();
    eprintln!(
        "    {} scenario file(s) written, each failing against the recorded behaviour; {} event(s) rejected (nothing a criterion could check, e.g. a complaint only)",
        written.len(),
        rejected.len()
    );
    if let Some(example) = written.iter().find(|x| x["failure_mode"] == costliest.as_str()) {
        eprintln!("    e.g. {}", example["file"].as_str().unwrap_or(""));
    }

    // 4. Promote.
    d.phase(4, "promote: build the suite, merging the same failure seen again");
    let suite = d.path("scenarios");
    let mut files: Vec<String> = std::fs::read_dir(d.root.join(&candidates))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .map(|p| d.rel(&p))
        .collect();
    files.sort();
    let mut args = vec!["promote".to_string()];
    args.extend(files.iter().cloned());
    args.extend(["--suite", &suite, "--now", NOW, "--format", "json"].iter().map(|s| s.to_string()));
    let shown: Vec<String> = vec!["promote".into(), format!("{candidates}/*.toml"), "--suite".into(), suite.clone()];
    eprintln!("$ ratchet {}", shown.join(" "));
    let o = Command::new(&d.exe).args(&args).current_dir(&d.root).output()?;
    if !o.status.success() {
        return Err(anyhow!("promote failed:\n{}", String::from_utf8_lossy(&o.stderr)));
    }
    let promoted: Value = serde_json::from_slice(&o.stdout)?;
    let outcomes = promoted["outcomes"].as_array().cloned().unwrap_or_default();
    let count = |action: &str| outcomes.iter().filter(|o| o["decision"]["action"] == action).count();
    let (added, merged) = (count("added"), count("merged"));
    eprintln!("    {added} scenario(s) added, {merged} merged into an existing one (hit counted)");
    let mut by_hits: Vec<(u64, String)> = Vec::new();
    let loaded = ratchet::suite::load(&d.root.join(&suite)).map_err(|errors| {
        let list: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
        anyhow!("the suite promote built does not load:\n{}", list.join("\n"))
    })?;
    for l in loaded {
        let s = l.scenario;
        by_hits.push((s.provenance.hits as u64, format!("{}/{} ({})", suite, l.file.display(), s.failure_mode)));
    }
    by_hits.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    for (hits, name) in by_hits.iter().take(3) {
        eprintln!("    {hits:>3} hits  {name}");
    }

    // 5. Gate three agent versions.
    d.phase(5, "gate: every agent change against every failure seen so far");
    let mut outcomes_by_version = Vec::new();
    for (version, expect_pass) in [("support-v1", false), ("support-v2", true), ("support-v3", false)] {
        let agent = format!("examples/agents/{version}.toml");
        let report = d.path(&format!("reports/{version}.json"));
        let args = [
            "gate",
            "--agent",
            &agent,
            "--suite",
            &suite,
            "-q",
            "-j",
            &a.jobs.to_string(),
            "--now",
            NOW,
            "--json",
            &report,
            "--junit",
            &d.path(&format!("reports/{version}.junit.xml")),
            "--markdown",
            &d.path(&format!("reports/{version}.md")),
            "--html",
            &d.path(&format!("reports/{version}.html")),
        ];
        let r = d.ratchet(&args, &[0, 1])?;
        let report: Value = serde_json::from_str(&std::fs::read_to_string(d.root.join(&report))?)?;
        let g = gate_outcome(r.code, &report, &costliest);
        let verdict = if g.code == 0 { "PASSED: deploy may proceed".to_string() } else { "BLOCKED: exit 1, deploy blocked".to_string() };
        eprintln!("    {version}: {} of {} scenario(s) passed — {verdict}", g.passed, g.total);
        if let Some((id, crit, reason)) = &g.first_failure {
            eprintln!("      e.g. {id}: criterion {crit}: {reason}");
        }
        outcomes_by_version.push((version, expect_pass, g));
    }

    // The suite at a glance, with its tiers planned from the ledger the gates wrote.
    let r = d.ratchet(&["status", "--suite", &suite, "--now", NOW], &[0])?;
    eprintln!("{}", indent(r.stdout.lines().take(2).collect::<Vec<_>>().join("\n").as_str(), 2));
    let r = d.ratchet(&["tiers", "--suite", &suite, "--now", NOW], &[0])?;
    eprintln!("{}", indent(r.stderr.lines().next().unwrap_or(""), 1));

    // Summary.
    let story_holds = outcomes_by_version.iter().all(|(_, expect_pass, g)| (g.code == 0) == *expect_pass);
    let mut summary = String::new();
    summary.push_str("# ratchet demo: the production failure loop\n\n");
    summary.push_str(&format!("- production traffic: {} conversations of support-v1 ({DAY})\n", a.count));
    summary.push_str(&format!("- failures detected: {flagged}; costliest failure mode: {costliest}\n"));
    summary.push_str(&format!("- scenarios regenerated: {} ({} events rejected)\n", written.len(), rejected.len()));
    summary.push_str(&format!("- suite: {added} scenario(s) created, {merged} duplicate(s) merged\n"));
    for (version, _, g) in &outcomes_by_version {
        let word = if g.code == 0 { "passed" } else { "blocked" };
        let why = g.first_failure.as_ref().map(|(id, c, _)| format!(" (e.g. `{id}`, criterion `{c}`)")).unwrap_or_default();
        summary.push_str(&format!("- gate {version}: {word}, {}/{} passed{why}\n", g.passed, g.total));
    }
    summary.push_str(&format!("\nOpen `{}` for the v1 gate report.\n", d.path("reports/support-v1.html")));
    ratchet::fsutil::write_atomic(&d.ws.join("SUMMARY.md"), summary.as_bytes())?;

    let title = if story_holds { "the loop works" } else { "UNEXPECTED: see above" };
    if d.color {
        eprintln!("\n\x1b[1m── summary: {title} ─────────────────────────────────────────────\x1b[0m");
    } else {
        eprintln!("\n── summary: {title} ─────────────────────────────────────────────");
    }
    eprint!("{}", summary.lines().filter(|l| l.starts_with("- ")).map(|l| format!("  {l}\n")).collect::<String>());
    eprintln!("  reports: {} (HTML, JUnit, Markdown, JSON); summary: {}", d.shown("reports/"), d.shown("SUMMARY.md"));
    if a.format == OutputFormat::Json {
        let gates: Vec<Value> = outcomes_by_version
            .iter()
            .map(|(version, expect_pass, g)| {
                serde_json::json!({
                    "agent": version,
                    "exit_code": g.code,
                    "verdict": if g.code == 0 { "passed" } else { "blocked" },
                    "expected": if *expect_pass { "passed" } else { "blocked" },
                    "passed": g.passed,
                    "total": g.total,
                    "first_failure": g.first_failure.as_ref().map(|(id, c, why)| serde_json::json!({"scenario": id, "criterion": c, "reason": why})),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "traffic": {"conversations": a.count, "day": DAY, "seed": a.seed},
            "failures_detected": flagged,
            "costliest_failure_mode": costliest,
            "scenarios_regenerated": written.len(),
            "events_rejected": rejected.len(),
            "suite": {"added": added, "merged": merged},
            "gates": gates,
            "story_holds": story_holds,
            "workspace": d.shown(""),
            "summary": d.shown("SUMMARY.md"),
        });
        outln!("{}", serde_json::to_string_pretty(&doc).expect("json"));
    }
    if !story_holds {
        return Err(anyhow!("the demo's expected outcome (v1 blocked, v2 passed, v3 blocked) did not happen"));
    }
    Ok(exit::OK)
}
