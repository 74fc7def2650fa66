//! Detection throughput: conversations per second through `detect` with built-in rules
//! only, with the Rust scorecard plugin (1 and 2 threads; through the binary with 1
//! process, 2 partitions by hand and `--processes 2`), and with its Python port (1 and 2
//! threads), on 20-turn conversations; then peak memory while streaming a ~1 GB input.
//! Prints figures.
//!
//! Run: `scripts/build-plugins && cargo bench -p ratchet --bench detect_throughput`
//! (`RATCHET_BENCH_GB=0` skips the 1 GB pass; `RATCHET_BENCH_ROUNDS=N` sets the rounds of
//! the alternated per-core comparison, default 5; `RATCHET_BENCH_ONLY=ratio` stops after
//! it). Results are recorded in docs/benchmarks.md.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use ratchet::config::{DetectConfig, EngineSettings, Limits, ScorecardEntry};
use ratchet::detect::{self, input, Checkpoint, Detector, RunOptions};
use ratchet::plugin::Runtime;
use serde_json::{json, Value};

fn conversation(i: usize) -> Value {
    let mut turns = vec![];
    for k in 0..5 {
        turns.push(json!({"role": "customer", "text": format!("Hi, this is about my account, I think I was charged twice last month ({k}).")}));
        turns.push(json!({"role": "agent", "tool_calls": [{"id": format!("c{k}"), "name": "lookup_account", "arguments": {"email": "someone@example.com"}}]}));
        turns.push(json!({"role": "tool", "tool_result": {"call_id": format!("c{k}"), "name": "lookup_account", "content": {"account_id": "A-1", "subscription_status": if i % 10 == 0 {"none"} else {"active"}, "supervisor_flag": false}}}));
        turns.push(json!({"role": "agent", "text": "I can see your account. Per our cancellation policy I can cancel it for you now; is that what you want?"}));
    }
    json!({"id": format!("conv-{i:08}"), "channel": "chat", "started_at": "2026-11-24T09:31:04Z", "turns": turns,
        "outcome": {"escalated": i % 50 == 0, "complaint": i % 40 == 0},
        "state": {"memory_snapshot": [{"key": "account.subscription_status", "value": "active"}], "tool_registry": [{"id": "lookup_account", "version": "1.4.0"}], "prompt_version": "support-v1"}})
}

fn write_input(path: &Path, n: usize) -> u64 {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut bytes = 0;
    for i in 0..n {
        let line = conversation(i).to_string();
        bytes += line.len() as u64 + 1;
        writeln!(f, "{line}").unwrap();
    }
    bytes
}

fn run(detector: &Detector, path: &Path, jobs: usize) -> (f64, detect::Stats) {
    let records = input::Records::new(vec![path.to_path_buf()]);
    let mut sink = std::io::sink();
    let mut rejects = std::io::sink();
    let t = Instant::now();
    let stats =
        detect::run(detector, records, &mut sink, &mut rejects, &RunOptions { partition: None, jobs, batch: 512 }, Checkpoint::default(), &mut |_| Ok(()))
            .unwrap();
    (t.elapsed().as_secs_f64(), stats)
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|k| k.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let n = 20_000;
    let path = dir.path().join("live.jsonl");
    let bytes = write_input(&path, n);
    println!("{n} conversations of 20 turns, {:.1} MB\n", bytes as f64 / 1e6);

    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let scorecard = std::fs::read(root.join("target/plugins/scorecard-support-policy.wasm")).expect("run scripts/build-plugins first");
    let rt = Runtime::new(&EngineSettings::default(), false).unwrap();
    let plugin = Arc::new(rt.load("support-policy", &scorecard, Limits::default()).unwrap());
    let entry = ScorecardEntry { name: "support-policy".into(), plugin: "support-policy".into(), threshold: 0.7, weight: 1.0, params: json!({}) };

    let rules_only = Detector::new(DetectConfig::default(), vec![], None).unwrap();
    let with_plugin = Detector::new(DetectConfig::default(), vec![(entry, plugin)], None).unwrap();

    // The per-core target compares (b) with (a) on one job. One pass each is noisy on a
    // shared 2-core machine, so they are alternated for several rounds (both see the
    // same machine) and each round's ratio is printed, then the median.
    let rounds: usize = std::env::var("RATCHET_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5).max(1);
    let (mut a_secs, mut b_secs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut a_flagged, mut b_flagged) = (0, 0);
    println!("per core, (a) and (b) alternated, 1 job:");
    for round in 1..=rounds {
        let (a, a_stats) = run(&rules_only, &path, 1);
        let (b, b_stats) = run(&with_plugin, &path, 1);
        println!(
            "  round {round}: (a) {:>7.0}/s ({:.1} µs each)  (b) {:>7.0}/s ({:.1} µs each)  (b) is {:.2}x slower",
            n as f64 / a,
            a * 1e6 / n as f64,
            n as f64 / b,
            b * 1e6 / n as f64,
            b / a
        );
        a_secs.push(a);
        b_secs.push(b);
        ratios.push(b / a);
        (a_flagged, b_flagged) = (a_stats.flagged, b_stats.flagged);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (min, max) = (ratios.iter().copied().fold(f64::INFINITY, f64::min), ratios.iter().copied().fold(0.0, f64::max));
    println!("  median ratio {:.2}x (min {min:.2}x, max {max:.2}x; target <= 3x)\n", median(&mut ratios));
    if std::env::var("RATCHET_BENCH_ONLY").is_ok_and(|v| v == "ratio") {
        return;
    }

    // The 1-job rows are the medians of the rounds above; the others run once.
    println!("{:<44} {:>5} {:>10} {:>14} {:>9}", "configuration", "jobs", "time", "conversations/s", "flagged");
    let base = n as f64 / median(&mut a_secs);
    let row = |name: &str, jobs: usize, secs: f64, flagged: u64| {
        let rate = n as f64 / secs;
        println!("{name:<44} {jobs:>5} {secs:>9.2}s {rate:>14.0} {flagged:>9}   ({:.1}x slower than (a), 1 job)", base / rate);
    };
    row("(a) built-in rules only", 1, median(&mut a_secs), a_flagged);
    let (secs, stats) = run(&rules_only, &path, 2);
    row("(a) built-in rules only", 2, secs, stats.flagged);
    row("(b) + Rust scorecard plugin (Wasm)", 1, median(&mut b_secs), b_flagged);
    let (secs, stats) = run(&with_plugin, &path, 2);
    row("(b) + Rust scorecard plugin (Wasm)", 2, secs, stats.flagged);

    // (b) through the `ratchet` binary (process start, plugin cache load and the output
    // file included), uses the repo's ratchet.toml (the same scorecard): one process,
    // then two by hand (`--partition 1/2` and `2/2` at once, the outputs left apart),
    // then `--processes 2` (the same two partitions plus the merge into one file, which
    // must be byte-identical to the one-process output).
    //
    // Why processes: threads of one process share an address space, so the
    // copy-on-write page faults of fresh instances need TLB-shootdown IPIs between the
    // cores (expensive inside a VM); separate processes do not.
    {
        let exe = env!("CARGO_BIN_EXE_ratchet");
        let detect = |extra: &[&str], out: &Path| {
            std::process::Command::new(exe)
                .args(["detect", path.to_str().unwrap(), "-o", out.to_str().unwrap()])
                .args(extra)
                .current_dir(&root)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("ratchet binary")
        };
        let flagged_of = |o: &std::process::Output| -> u64 {
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let err = String::from_utf8_lossy(&o.stderr);
            err.split("flagged ").nth(1).and_then(|x| x.split_whitespace().next()).and_then(|x| x.parse::<u64>().ok()).unwrap_or(0)
        };

        let one = dir.path().join("one.jsonl");
        let started = Instant::now();
        let flagged = flagged_of(&detect(&[], &one).wait_with_output().unwrap());
        row("(b) ratchet detect, 1 process", 1, started.elapsed().as_secs_f64(), flagged);

        let started = Instant::now();
        let children: Vec<_> = (1..=2).map(|k| detect(&["--partition", &format!("{k}/2")], &dir.path().join(format!("part-{k}.jsonl")))).collect();
        let flagged: u64 = children.into_iter().map(|c| flagged_of(&c.wait_with_output().unwrap())).sum();
        row("(b) 2 processes, --partition 1/2 + 2/2", 2, started.elapsed().as_secs_f64(), flagged);

        let merged = dir.path().join("merged.jsonl");
        let started = Instant::now();
        let flagged = flagged_of(&detect(&["--processes", "2"], &merged).wait_with_output().unwrap());
        row("(b) ratchet detect --processes 2", 2, started.elapsed().as_secs_f64(), flagged);
        assert!(std::fs::read(&merged).unwrap() == std::fs::read(&one).unwrap(), "--processes 2 must write what one process writes");
    }

    // (c) The same scorecard as a Python component (componentize-py): a fresh CPython
    // instance per conversation. Fewer conversations: each costs milliseconds.
    let py = std::fs::read(root.join("target/plugins/scorecard-support-policy-py.wasm")).expect("run scripts/build-plugins first");
    let py_plugin = Arc::new(rt.load("support-policy-py", &py, Limits::default()).unwrap());
    let py_entry = ScorecardEntry { name: "support-policy-py".into(), plugin: "support-policy-py".into(), threshold: 0.7, weight: 1.0, params: json!({}) };
    let with_python = Detector::new(DetectConfig::default(), vec![(py_entry, py_plugin)], None).unwrap();
    let n_py = 2_000;
    let py_path = dir.path().join("live-2k.jsonl");
    write_input(&py_path, n_py);
    for jobs in [1, 2] {
        let (secs, stats) = run(&with_python, &py_path, jobs);
        let rate = n_py as f64 / secs;
        let name = "(c) + Python scorecard plugin (Wasm)";
        println!("{name:<44} {jobs:>5} {secs:>9.2}s {rate:>14.0} {:>9}   ({:.1}x slower than (a), 1 job; {n_py} conversations)", stats.flagged, base / rate);
    }

    let gb: f64 = std::env::var("RATCHET_BENCH_GB").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    if gb > 0.0 {
        let big = dir.path().join("big.jsonl");
        let per = bytes as f64 / n as f64;
        let total = (gb * 1e9 / per) as usize;
        let written = write_input(&big, total);
        let before = peak_rss_mib();
        let (secs, stats) = run(&rules_only, &big, 2);
        println!(
            "\nstreaming {:.2} GB ({} conversations, rules only, 2 jobs): {:.1}s, {:.0} conversations/s; peak RSS {:.1} MiB before, {:.1} MiB after",
            written as f64 / 1e9,
            stats.seen,
            secs,
            stats.seen as f64 / secs,
            before,
            peak_rss_mib()
        );
    }
}
