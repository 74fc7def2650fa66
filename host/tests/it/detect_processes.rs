//! `ratchet detect --processes N` end to end: the same bytes and the same summary as one
//! process (unparseable records, scorecard failures, several conversations per record,
//! stdin, stdout), deterministic, and a failing partition leaves nothing behind.

use crate::common::{self, repo};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

fn ratchet(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ratchet"));
    c.current_dir(cwd).env("RATCHET_CACHE_DIR", test_cache_dir()).env_remove("RATCHET_CONFIG");
    c
}

fn run_in(cwd: &Path, args: &[&str]) -> Output {
    ratchet(cwd).args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A project whose scorecard (support-policy) runs out of fuel on long conversations:
/// those are scorecard errors; the samples pass. Returns the project directory.
fn project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    // The samples need < 160k fuel; the padded conversations 600-700k (scorecard errors).
    scorecard_project(tmp.path(), "scorecard-support-policy", "support-policy", "fuel = 400000\n");
    tmp
}

/// A JSONL stream of `extra` + 4 conversations: failing and passing samples, some too
/// long for the scorecard's fuel (errors), unparseable lines (rejected by every
/// partition) and blank lines.
fn stream(dir: &Path, extra: usize) -> PathBuf {
    let mut lines = sample_stream_head();
    for i in 0..extra {
        let mut c = sample_extra(i);
        if i % 7 == 3 {
            let pad = serde_json::json!([
                {"role": "customer", "text": "And one more thing about my account, please check it again, and again, and again."},
                {"role": "agent", "text": "Sure, let me look into that for you right away."}
            ]);
            for _ in 0..60 {
                c["turns"].as_array_mut().unwrap().extend(pad.as_array().unwrap().iter().cloned());
            }
        }
        lines.push(c.to_string());
        if i % 11 == 5 {
            lines.push(format!("not json {i}"));
        }
        if i % 13 == 0 {
            lines.push(String::new());
        }
    }
    let p = dir.join("live.jsonl");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

/// Entries of `dir` whose name starts with `.ratchet-detect-` (the partitions' working directories).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".ratchet-detect-") || n.starts_with(".tmp"))
        .collect()
}

#[test]
fn processes_write_the_same_bytes_and_summary_as_one_process() {
    let proj = project();
    let input = stream(proj.path(), 120);
    let run = |n: u32, tag: &str, format: &str| {
        let dir = proj.path().join(format!("{tag}-{n}"));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("events.jsonl");
        let o = run_in(proj.path(), &["detect", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--processes", &n.to_string(), "--format", format]);
        assert_eq!(o.status.code(), Some(0), "--processes {n}: {}", stderr(&o));
        assert_eq!(leftovers(&dir), Vec::<String>::new());
        let events = std::fs::read(&out).unwrap();
        let rejects = std::fs::read(dir.join("events.jsonl.rejects.jsonl")).unwrap();
        // The summary names the reject file: the same name but for the run's directory.
        (events, rejects, stderr(&o).replace(&format!("{tag}-{n}"), &format!("{tag}-N")))
    };
    let (events, rejects, summary) = run(1, "text", "text");
    // The stream exercises what the merge must get right.
    assert!(summary.contains("detect: seen 123, flagged 54"), "{summary}");
    assert!(summary.contains("rejected 12, errors 17"), "{summary}");
    assert_eq!(String::from_utf8_lossy(&rejects).lines().count(), 12 + 17);
    assert!(String::from_utf8_lossy(&rejects).contains("fuel"), "scorecard errors are recorded");
    for n in [2, 3] {
        let (e, r, s) = run(n, "text", "text");
        assert!(e == events, "--processes {n}: events differ from one process");
        assert!(r == rejects, "--processes {n}: rejects differ from one process");
        assert_eq!(s, summary, "--processes {n}");
    }
    // Repeated runs: the same bytes.
    let (e, r, _) = run(3, "again", "text");
    assert!(e == events && r == rejects);
    // The JSON summary (every count, `records` and no `other_partitions`) too.
    let (_, _, json1) = run(1, "json", "json");
    let (_, _, json2) = run(2, "json", "json");
    let last = |s: &str| -> Value { serde_json::from_str(s.lines().last().unwrap()).unwrap() };
    assert_eq!(last(&json1), last(&json2));
    assert_eq!(last(&json2)["other_partitions"], 0);
}

#[test]
fn several_conversations_of_one_record_keep_their_order_across_partitions() {
    // One OTLP export holding three conversations (the two of `interleaved` and the
    // Tuesday one): two are flagged, and they fall into different partitions for 2 and
    // for 3 processes — in the opposite partition order for 3.
    let tmp = tempfile::tempdir().unwrap();
    component("adapter-otel-genai");
    let samples = repo().join("plugins/adapter-otel-genai/samples");
    let tuesday: Value = serde_json::from_str(&std::fs::read_to_string(samples.join("tuesday-cancellation.json")).unwrap()).unwrap();
    let interleaved = std::fs::read_to_string(samples.join("interleaved.jsonl")).unwrap();
    let export = tmp.path().join("export.json");
    std::fs::write(&export, format!("{}\n{tuesday}\n", interleaved.trim_end())).unwrap();
    let options = std::fs::read_to_string(samples.join("interleaved.options.json")).unwrap();
    let run = |n: u32| {
        let rejects = tmp.path().join(format!("rejects-{n}.jsonl"));
        let o = run_in(
            &repo(),
            &[
                "detect",
                export.to_str().unwrap(),
                samples.join("invalid").to_str().unwrap(),
                "--adapter",
                "otel-genai",
                "--adapter-options",
                &options,
                "--rejects",
                rejects.to_str().unwrap(),
                "--processes",
                &n.to_string(),
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let summary = stderr(&o).replace(&format!("rejects-{n}"), "rejects-N");
        (o.stdout, std::fs::read(&rejects).unwrap(), summary)
    };
    let one = run(1);
    let ids: Vec<String> = String::from_utf8_lossy(&one.0)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["conversation"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["conv_5f0c2a91d3b84e7a", "conv_8a41e6d2f0b97c35"]);
    assert!(one.2.contains("seen 3, flagged 2") && one.2.contains("rejected 1"), "{}", one.2);
    assert_eq!(run(2), one);
    assert_eq!(run(3), one);
}

#[test]
fn stdin_and_stdout_work_split_too() {
    let proj = project();
    let input = stream(proj.path(), 40);
    let run = |n: u32| {
        let rejects = proj.path().join(format!("rejects-{n}.jsonl"));
        let mut child = ratchet(proj.path())
            .args(["detect", "--rejects", rejects.to_str().unwrap(), "--processes", &n.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let data = std::fs::read(&input).unwrap();
        let feeder = std::thread::spawn(move || stdin.write_all(&data));
        let o = child.wait_with_output().unwrap();
        feeder.join().unwrap().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let summary = stderr(&o).replace(&format!("rejects-{n}"), "rejects-N");
        (o.stdout, std::fs::read(&rejects).unwrap(), summary)
    };
    let one = run(1);
    assert!(one.2.contains("<stdin>:2"), "rejects name the stdin line: {}", one.2);
    assert!(String::from_utf8_lossy(&one.0).lines().count() > 10);
    assert!(run(2) == one, "--processes 2 on stdin differs from one process");
    assert_eq!(leftovers(proj.path()), Vec::<String>::new());
}

#[test]
fn refused_combinations_are_usage_errors() {
    let proj = project();
    let input = stream(proj.path(), 0);
    let out = proj.path().join("events.jsonl");
    let inp = input.to_str().unwrap();
    for (args, says) in [
        (vec!["--processes", "2", "--partition", "1/2"], "use either --processes or --partition"),
        (vec!["--processes", "2", "--checkpoint", "cp.json"], "--checkpoint does not work with --processes"),
        (vec!["--processes", "0"], "--processes"),
    ] {
        let o = run_in(proj.path(), &[&["detect", inp, "--out", out.to_str().unwrap()], &args[..]].concat());
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(says), "{args:?}: {}", stderr(&o));
        assert!(!out.exists());
    }
    // An output directory that does not exist: exit 2 as with one process, nothing written.
    for n in ["1", "2"] {
        let o = run_in(proj.path(), &["detect", inp, "--out", "/nonexistent-ratchet-dir/events.jsonl", "--processes", n]);
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("/nonexistent-ratchet-dir/events.jsonl"), "{}", stderr(&o));
    }
}

/// Pids of the running children of `parent`.
fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r.to_string()) else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(parent) && fields[0] != "Z" {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            found.push((pid, String::from_utf8_lossy(&cmdline).replace('\0', " ")));
        }
    }
    found
}

fn wait_with_timeout(child: &mut std::process::Child, limit: Duration) -> std::process::ExitStatus {
    let t = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if t.elapsed() > limit {
            let _ = child.kill();
            panic!("ratchet did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_partition_that_dies_stops_the_others_and_leaves_no_output() {
    let proj = project();
    let input = stream(proj.path(), 10);
    let outdir = proj.path().join("out");
    std::fs::create_dir(&outdir).unwrap();
    let out = outdir.join("events.jsonl");
    // Stdin stays open: the children wait for more input, so one can be killed mid-run.
    let mut parent = ratchet(proj.path())
        .args(["detect", "-", "--out", out.to_str().unwrap(), "--processes", "3"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = parent.stdin.take().unwrap();
    stdin.write_all(&std::fs::read(&input).unwrap()).unwrap();
    stdin.flush().unwrap();
    let t = Instant::now();
    let kids = loop {
        // Children that have started (not just forked): they carry their partition.
        let kids: Vec<_> = children_of(parent.id()).into_iter().filter(|(_, cmd)| cmd.contains("--partition=")).collect();
        if kids.len() == 3 {
            break kids;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "expected 3 children, found {kids:?}");
        std::thread::sleep(Duration::from_millis(20));
    };
    let (victim, _) = kids.iter().find(|(_, cmd)| cmd.contains("--partition=2/3")).expect("partition 2/3's child").clone();
    assert_eq!(unsafe { libc::kill(victim as libc::pid_t, libc::SIGKILL) }, 0);
    let status = wait_with_timeout(&mut parent, Duration::from_secs(60));
    let mut err = String::new();
    std::io::Read::read_to_string(parent.stderr.as_mut().unwrap(), &mut err).unwrap();
    drop(stdin);
    assert_eq!(status.code(), Some(70), "{err}");
    assert!(err.contains("partition 2/3 failed (killed by signal 9 (SIGKILL))"), "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!out.exists(), "no partial output");
    assert_eq!(std::fs::read_dir(&outdir).unwrap().count(), 0, "no temporary files left");
    // The other partitions were stopped, not left running.
    for (pid, cmd) in &kids {
        let alive = std::fs::read(format!("/proc/{pid}/cmdline")).map(|c| String::from_utf8_lossy(&c).replace('\0', " ") == *cmd).unwrap_or(false);
        assert!(!alive, "child {pid} ({cmd}) still running");
    }
}

#[test]
fn a_partition_that_fails_passes_its_exit_code_and_stderr_on() {
    use std::os::unix::process::CommandExt;
    // Built-in rules only (no ratchet.toml): no plugin runtime, whose memory images
    // would also be subject to the file size limit below.
    let tmp = tempfile::tempdir().unwrap();
    let input = stream(tmp.path(), 200);
    let outdir = tmp.path().join("out");
    std::fs::create_dir(&outdir).unwrap();
    let out = outdir.join("events.jsonl");
    let args = ["detect", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--processes", "2"];
    // Unlimited first: the events are well over the limit below, in each partition.
    let o = run_in(tmp.path(), &args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("flagged 102"), "{}", stderr(&o));
    let size = std::fs::metadata(&out).unwrap().len();
    assert!(size > 4 * 16 * 1024, "{size}");
    std::fs::remove_dir_all(&outdir).unwrap();
    std::fs::create_dir(&outdir).unwrap();
    // Files may not grow past 16 KiB (SIGXFSZ ignored: the write fails with EFBIG), so
    // each child fails writing its events: exit 2, an I/O error on the file.
    let mut cmd = ratchet(tmp.path());
    cmd.args(args);
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit { rlim_cur: 16 * 1024, rlim_max: 16 * 1024 };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("partition 1/2 failed (exit code 2)") || err.contains("partition 2/2 failed (exit code 2)"), "{err}");
    assert!(err.contains("events.jsonl: File too large"), "the child's stderr is quoted: {err}");
    assert_eq!(std::fs::read_dir(&outdir).unwrap().count(), 0, "no output, no temporary files");
}

#[test]
fn children_do_not_outlive_a_killed_parent() {
    // A scorecard that loops for minutes on every conversation: the children are busy
    // long after the parent is gone, unless the kernel kills them with it.
    let tmp = tempfile::tempdir().unwrap();
    looping_project(tmp.path());
    let input = stream(tmp.path(), 10);
    let out = tmp.path().join("events.jsonl");
    let mut parent = ratchet(tmp.path())
        .args(["detect", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--processes", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let kids = partitions_of(parent.id(), 2);
    // SIGKILL: the parent cannot clean up; the kernel kills its children (PR_SET_PDEATHSIG).
    parent.kill().unwrap();
    parent.wait().unwrap();
    assert_gone(&kids);
    assert!(!out.exists());
}

/// A project whose scorecard loops for minutes on every conversation (fuel and
/// timeout far out of reach): its partitions stay busy until something stops them.
fn looping_project(dir: &Path) {
    scorecard_project(dir, "guest-infinite-loop", "loop", "fuel = 1000000000000000\ntimeout_ms = 300000\n");
}

/// Wait (up to 60 s) until `parent` runs `n` partition children; their pids and command lines.
fn partitions_of(parent: u32, n: usize) -> Vec<(u32, String)> {
    let t = Instant::now();
    loop {
        let kids: Vec<_> = children_of(parent).into_iter().filter(|(_, cmd)| cmd.contains("--partition=")).collect();
        if kids.len() == n {
            return kids;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "expected {n} children, found {kids:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Wait (up to 10 s) until none of `kids` runs any more; kill them and fail otherwise.
fn assert_gone(kids: &[(u32, String)]) {
    let t = Instant::now();
    for (pid, cmd) in kids {
        loop {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().and_then(|s| s.rsplit_once(')').and_then(|(_, r)| r.trim().chars().next()));
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).map(|c| String::from_utf8_lossy(&c).replace('\0', " ")).unwrap_or_default();
            // Gone, a zombie awaiting its new parent, or the pid reused by something else.
            if state.is_none() || state == Some('Z') || cmdline != *cmd {
                break;
            }
            if t.elapsed() > Duration::from_secs(10) {
                for (p, _) in kids {
                    unsafe { libc::kill(*p as libc::pid_t, libc::SIGKILL) };
                }
                panic!("child {pid} ({cmd}) outlived its parent");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// SIGINT or SIGTERM to the parent alone (a `kill`, or a Ctrl-C the children did not
/// see): it stops its children, removes their working directory, writes nothing and
/// exits with 128 + the signal.
#[test]
fn an_interrupted_parent_stops_its_children_and_cleans_up() {
    let tmp = tempfile::tempdir().unwrap();
    looping_project(tmp.path());
    let input = stream(tmp.path(), 10);
    let out = tmp.path().join("events.jsonl");
    for (signal, name) in [(libc::SIGINT, "SIGINT"), (libc::SIGTERM, "SIGTERM")] {
        let parent = ratchet(tmp.path())
            .args(["detect", input.to_str().unwrap(), "--out", out.to_str().unwrap(), "--processes", "2"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let kids = partitions_of(parent.id(), 2);
        assert_eq!(leftovers(tmp.path()).len(), 1, "the partitions' working directory exists while they run");
        unsafe { libc::kill(parent.id() as libc::pid_t, signal) };
        let o = parent.wait_with_output().unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(128 + signal), "{err}");
        assert!(err.contains(&format!("interrupted by signal {signal} ({name})")) && err.contains("nothing was written"), "{err}");
        assert_gone(&kids);
        assert_eq!(leftovers(tmp.path()), Vec::<String>::new(), "the working directory is removed, no temporary file is left");
        assert!(!out.exists());
    }
}
