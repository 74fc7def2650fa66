//! Running one detect as N child processes, one per partition, and supervising them:
//! all must succeed; the first that fails (non-zero exit, killed by a signal) stops
//! the others, and its stderr is kept for the report.
//!
//! Why processes and not threads: fresh plugin instances start from a copy-on-write
//! memory image, and in a multi-threaded process every first write to such a page
//! needs a TLB-shootdown interrupt on the other cores; separate address spaces do not
//! (docs/benchmarks.md, detection throughput).
//!
//! Children die with the supervisor: [`run_all`] kills the remaining ones before it
//! returns an error, and on Linux each child asks the kernel to kill it should the
//! supervisor die first (`PR_SET_PDEATHSIG`).

use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use super::Partition;

/// One child process to run.
pub struct Worker {
    /// The partition it processes (for reports).
    pub partition: Partition,
    /// The command (program, arguments, working directory); stdin, stdout and stderr are set by [`run_all`].
    pub command: Command,
    /// Its stderr goes to this file (kept for the report when it fails).
    pub stderr: PathBuf,
}

/// How a child ended, when it did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// It exited with this non-zero code.
    Exit(i32),
    /// It was killed by this signal.
    Signal(i32),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Exit(c) => write!(f, "exit code {c}"),
            Failure::Signal(s) => write!(f, "killed by signal {s}{}", signal_name(*s).map(|n| format!(" ({n})")).unwrap_or_default()),
        }
    }
}

/// Why a split run did not complete.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// A child could not be started.
    #[error("partition {partition}: cannot start {program}: {source}")]
    Spawn {
        /// Its partition.
        partition: Partition,
        /// The program.
        program: String,
        /// The error.
        source: std::io::Error,
    },
    /// A child failed; the others were stopped.
    #[error("partition {partition} failed ({failure}){}", excerpt_suffix(stderr))]
    Failed {
        /// Its partition.
        partition: Partition,
        /// How it ended.
        failure: Failure,
        /// The end of its stderr.
        stderr: String,
    },
    /// This process was asked to stop (SIGINT, SIGTERM or SIGHUP, while an
    /// [`Interrupts`] guard was alive); the children were stopped.
    #[error("interrupted by signal {signal}{}", signal_name(*signal).map(|n| format!(" ({n})")).unwrap_or_default())]
    Interrupted {
        /// The signal.
        signal: i32,
    },
    /// Creating a child's stderr file or waiting for a child failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        source: std::io::Error,
    },
}

fn excerpt_suffix(stderr: &str) -> String {
    if stderr.trim().is_empty() {
        String::new()
    } else {
        format!("; its stderr ends with:\n{}", stderr.trim_end().lines().map(|l| format!("  | {l}")).collect::<Vec<_>>().join("\n"))
    }
}

/// The signal that asked this process to stop while an [`Interrupts`] guard was
/// alive (0: none). Written by the signal handler, taken by [`take_interrupt`].
static INTERRUPTED: AtomicI32 = AtomicI32::new(0);

/// The signals a split run turns into a clean stop.
#[cfg(unix)]
const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// While alive, SIGINT, SIGTERM and SIGHUP do not kill this process on the spot: they
/// are recorded, [`run_all`] stops the children and returns
/// [`WorkerError::Interrupted`], and the caller removes its working files and exits.
/// (Killed outright, the supervisor could not clean up.) Children start with the
/// default dispositions (exec resets handled signals), so a Ctrl-C, which reaches the
/// whole process group, still stops them directly. Dropping the guard restores the
/// default dispositions and re-raises a signal nobody took, so a Ctrl-C arriving after
/// the last check still ends the process. Unix only; elsewhere it does nothing.
pub struct Interrupts(());

/// Start catching the stop signals (see [`Interrupts`]).
pub fn catch_interrupts() -> Interrupts {
    #[cfg(unix)]
    {
        extern "C" fn record(signal: libc::c_int) {
            // Async-signal-safe: one atomic store.
            INTERRUPTED.store(signal, Ordering::SeqCst);
        }
        set_dispositions(record as extern "C" fn(libc::c_int) as libc::sighandler_t);
    }
    Interrupts(())
}

impl Drop for Interrupts {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            set_dispositions(libc::SIG_DFL);
            if let Some(signal) = take_interrupt() {
                // SAFETY: raising a signal with its default disposition ends the process.
                unsafe { libc::raise(signal) };
            }
        }
    }
}

#[cfg(unix)]
fn set_dispositions(handler: libc::sighandler_t) {
    for signal in STOP_SIGNALS {
        // SAFETY: the handler is SIG_DFL or one that only stores to an atomic; the
        // sigaction struct is zeroed and then filled in as sigaction(2) requires.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}

/// The stop signal recorded since the last call, if any (taking it: the caller acts on it).
pub fn take_interrupt() -> Option<i32> {
    match INTERRUPTED.swap(0, Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// How often the supervisor checks on its children.
const POLL: Duration = Duration::from_millis(10);
/// How much of a failed child's stderr is reported.
const EXCERPT_BYTES: u64 = 4096;
const EXCERPT_LINES: usize = 20;

/// Start every worker, wait for all of them, and return when all have succeeded —
/// or, as soon as one fails, kill the others and return its failure. With
/// `feed_stdin`, this process's stdin is copied to every child's stdin as it
/// arrives (each child reads the whole stream and keeps its own partition);
/// otherwise children get no stdin.
pub fn run_all(workers: Vec<Worker>, feed_stdin: bool) -> Result<(), WorkerError> {
    let mut running = Running { children: Vec::with_capacity(workers.len()) };
    let mut pipes: Vec<ChildStdin> = Vec::new();
    for mut w in workers {
        let err = std::fs::File::create(&w.stderr).map_err(|e| WorkerError::Io { what: format!("{}", w.stderr.display()), source: e })?;
        w.command.stdin(if feed_stdin { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::null()).stderr(err);
        die_with_parent(&mut w.command);
        let mut child = w.command.spawn().map_err(|e| WorkerError::Spawn {
            partition: w.partition,
            program: w.command.get_program().to_string_lossy().into_owned(),
            source: e,
        })?;
        if let Some(p) = child.stdin.take() {
            pipes.push(p);
        }
        running.children.push((w.partition, w.stderr, Some(child)));
    }
    if feed_stdin {
        // Detached: it ends at the end of stdin, or when no child is left to feed. It
        // is never joined, so a stdin that stays open cannot hold up an error exit.
        std::thread::spawn(move || broadcast(std::io::stdin().lock(), pipes));
    }
    loop {
        if let Some(signal) = take_interrupt() {
            // `running` is dropped on return: the children are killed.
            return Err(WorkerError::Interrupted { signal });
        }
        let mut all_done = true;
        for (partition, stderr, slot) in running.children.iter_mut() {
            let Some(child) = slot else { continue };
            let status = child.try_wait().map_err(|e| WorkerError::Io { what: format!("waiting for partition {partition}"), source: e })?;
            match status {
                None => all_done = false,
                Some(s) if s.success() => *slot = None,
                Some(s) => {
                    *slot = None;
                    let failure = failure(s);
                    let stderr = excerpt(stderr);
                    // `running` is dropped on return: the other children are killed.
                    return Err(WorkerError::Failed { partition: *partition, failure, stderr });
                }
            }
        }
        if all_done {
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
}

/// The children still running; dropping it kills and reaps them.
struct Running {
    children: Vec<(Partition, PathBuf, Option<Child>)>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for (_, _, slot) in self.children.iter_mut() {
            if let Some(mut c) = slot.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}

/// Copy `input` to every pipe until its end; a pipe whose reader is gone (its child
/// exited or failed: the supervisor reports that) is dropped, the others go on.
fn broadcast(mut input: impl Read, pipes: Vec<ChildStdin>) {
    let mut pipes: Vec<Option<ChildStdin>> = pipes.into_iter().map(Some).collect();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // An unreadable stdin ends the stream for every child alike.
            Err(_) => break,
        };
        for slot in pipes.iter_mut() {
            if let Some(p) = slot {
                if p.write_all(&buf[..n]).is_err() {
                    *slot = None;
                }
            }
        }
        if pipes.iter().all(Option::is_none) {
            break;
        }
    }
    // Dropping the pipes closes them: every child sees the end of its stdin.
}

fn failure(s: ExitStatus) -> Failure {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = s.signal() {
            return Failure::Signal(sig);
        }
    }
    Failure::Exit(s.code().unwrap_or(-1))
}

fn signal_name(sig: i32) -> Option<&'static str> {
    Some(match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        25 => "SIGXFSZ",
        _ => return None,
    })
}

/// The last lines of a child's stderr file.
fn excerpt(path: &PathBuf) -> String {
    let Ok(mut f) = std::fs::File::open(path) else { return String::new() };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(std::io::SeekFrom::Start(len.saturating_sub(EXCERPT_BYTES)));
    let mut b = Vec::new();
    let _ = f.read_to_end(&mut b);
    let text = String::from_utf8_lossy(&b);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(EXCERPT_LINES)..].join("\n")
}

/// Ask the kernel to kill the child if this process dies first (Linux; elsewhere a
/// no-op: the supervisor still kills its children on every error it returns).
fn die_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        // SAFETY: the closure runs in the forked child before exec and only makes
        // async-signal-safe system calls (prctl, getppid), touching no shared state.
        let parent = std::process::id() as libc::pid_t;
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent died between fork and prctl: do not outlive it.
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("the parent process exited"));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stop signal while the guard lives is recorded, not fatal; taking it clears it;
    /// dropping the guard gives the signals their default dispositions back.
    #[cfg(unix)]
    #[test]
    fn a_stop_signal_is_recorded_while_the_guard_lives() {
        let disposition = |signal| unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            libc::sigaction(signal, std::ptr::null(), &mut old);
            old.sa_sigaction
        };
        let _serial = signals();
        let guard = catch_interrupts();
        assert_ne!(disposition(libc::SIGHUP), libc::SIG_DFL);
        unsafe { libc::raise(libc::SIGHUP) };
        assert_eq!(take_interrupt(), Some(libc::SIGHUP));
        assert_eq!(take_interrupt(), None, "taken once");
        drop(guard);
        for signal in STOP_SIGNALS {
            assert_eq!(disposition(signal), libc::SIG_DFL);
        }
    }

    /// Held by every test that records or takes a stop signal (`run_all` takes one
    /// each time it polls), so none takes another's.
    static SIGNALS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn signals() -> std::sync::MutexGuard<'static, ()> {
        SIGNALS.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sh(k: u32, n: u32, script: &str, dir: &std::path::Path) -> Worker {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        Worker { partition: Partition { index: k, count: n }, command, stderr: dir.join(format!("stderr-{k}")) }
    }

    #[test]
    fn all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let _serial = signals();
        run_all(vec![sh(1, 2, "exit 0", dir.path()), sh(2, 2, "true", dir.path())], false).unwrap();
    }

    #[test]
    fn the_first_failure_is_reported_with_its_stderr_and_the_others_are_killed() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let slow = format!("sleep 5; touch {}", marker.display());
        let t = std::time::Instant::now();
        let _serial = signals();
        let err = run_all(vec![sh(1, 2, &slow, dir.path()), sh(2, 2, "echo 'error: disk full' >&2; exit 2", dir.path())], false).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(4), "did not wait for the slow child: {:?}", t.elapsed());
        match &err {
            WorkerError::Failed { partition, failure, stderr } => {
                assert_eq!(partition.index, 2);
                assert_eq!(*failure, Failure::Exit(2));
                assert_eq!(stderr, "error: disk full");
            }
            other => panic!("{other}"),
        }
        assert!(err.to_string().contains("partition 2/2 failed (exit code 2); its stderr ends with:\n  | error: disk full"), "{err}");
        std::thread::sleep(Duration::from_millis(200));
        assert!(!marker.exists());
    }

    #[test]
    fn a_child_killed_by_a_signal_is_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let _serial = signals();
        let err = run_all(vec![sh(1, 1, "kill -9 $$", dir.path())], false).unwrap_err();
        assert!(matches!(err, WorkerError::Failed { failure: Failure::Signal(9), .. }), "{err}");
        assert!(err.to_string().contains("killed by signal 9 (SIGKILL)"), "{err}");
    }

    #[test]
    fn broadcast_gives_every_pipe_the_whole_stream_and_survives_a_closed_one() {
        let dir = tempfile::tempdir().unwrap();
        let outs: Vec<PathBuf> = (0..3).map(|i| dir.path().join(format!("out-{i}"))).collect();
        let mut kids: Vec<Child> = outs
            .iter()
            .enumerate()
            .map(|(i, out)| {
                // Child 1 closes its stdin at once, as a child that died would.
                let script = if i == 1 { "exec 0<&-; exit 0" } else { "cat" };
                let out = std::fs::File::create(out).unwrap();
                Command::new("sh").args(["-c", script]).stdin(Stdio::piped()).stdout(out).spawn().unwrap()
            })
            .collect();
        let pipes = kids.iter_mut().map(|k| k.stdin.take().unwrap()).collect();
        let data: Vec<u8> = (0..300_000u32).flat_map(|i| i.to_le_bytes()).collect();
        broadcast(&data[..], pipes);
        for k in kids.iter_mut() {
            k.wait().unwrap();
        }
        assert!(std::fs::read(&outs[0]).unwrap() == data);
        assert!(std::fs::read(&outs[2]).unwrap() == data);
    }
}
