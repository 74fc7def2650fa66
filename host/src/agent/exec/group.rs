//! An exec agent and everything it starts, as one unit: the agent runs in its own
//! process group, so the processes it forks (a helper, a server it left running)
//! can be killed with it. The group is killed when the session ends badly, when the
//! driver is dropped (the end of the gate), and when the gate itself is stopped by
//! SIGINT, SIGTERM or SIGHUP; the agent also dies with the gate on Linux (a kill -9
//! of the gate leaves nothing to stop it otherwise).
//!
//! The group is killed before the agent is reaped: while its leader is an unreaped
//! zombie, no other process can be given its process-group id, so the signal
//! cannot reach a stranger.

use std::process::{Child, Command};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Once;

/// Process groups of the live agents of this process (0: a free slot), read by the
/// stop-signal handler. An agent beyond the last slot is still killed at the end,
/// only not on a signal.
static LIVE_GROUPS: [AtomicI32; 128] = [const { AtomicI32::new(0) }; 128];

/// Set `command` up to start the agent in a process group of its own that dies with
/// this process (Linux: `PR_SET_PDEATHSIG`), and make sure a stop signal to this
/// process kills the agents' groups too.
pub fn configure(command: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        install_stop_handlers();
    }
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: the closure runs in the forked child before exec and only makes
        // async-signal-safe system calls (prctl, getppid), touching no shared state.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("the gate exited while starting the agent"));
                }
                Ok(())
            });
        }
    }
}

/// The process group of a started agent, until it is reaped.
#[derive(Debug)]
pub struct Group {
    pgid: i32,
    slot: Option<usize>,
    reaped: bool,
}

impl Group {
    /// The group of `child`, started with [`configure`] (its pid is its group id).
    pub fn of(child: &Child) -> Group {
        let pgid = child.id() as i32;
        let slot = LIVE_GROUPS.iter().position(|s| s.compare_exchange(0, pgid, Ordering::SeqCst, Ordering::SeqCst).is_ok());
        Group { pgid, slot, reaped: false }
    }

    /// Whether the agent (the group's leader) has exited, without reaping it.
    pub fn leader_exited(&self) -> bool {
        if self.reaped {
            return true;
        }
        #[cfg(unix)]
        {
            // SAFETY: a zeroed siginfo_t is valid; waitid fills it in. WNOWAIT leaves
            // the child waitable, so `Child::wait` still reaps it later.
            unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                let r = libc::waitid(libc::P_PID, self.pgid as libc::id_t, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT);
                r == 0 && info.si_pid() != 0
            }
        }
        #[cfg(not(unix))]
        false
    }

    /// Kill every process of the group, the agent and what it started; then reap the
    /// agent. Returns its exit status (None when it was already reaped).
    pub fn kill_and_reap(&mut self, child: &mut Child) -> Option<std::process::ExitStatus> {
        if self.reaped {
            return None;
        }
        #[cfg(unix)]
        // SAFETY: kill(2) with a negative pid signals the process group; the leader is
        // not reaped yet, so the group id is still ours.
        unsafe {
            libc::kill(-self.pgid, libc::SIGKILL);
        }
        let _ = child.kill();
        let status = child.wait().ok();
        self.reaped = true;
        if let Some(slot) = self.slot.take() {
            LIVE_GROUPS[slot].store(0, Ordering::SeqCst);
        }
        status
    }
}

/// The signals that stop a gate: each kills the live agents' groups, then ends the
/// process the way the signal would have.
#[cfg(unix)]
const STOP_SIGNALS: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

/// Install the stop-signal handler once per process, for each signal this process
/// does not ignore (`nohup` keeps ignoring SIGHUP).
#[cfg(unix)]
fn install_stop_handlers() {
    static ONCE: Once = Once::new();
    extern "C" fn stop(signal: libc::c_int) {
        // Async-signal-safe: atomic loads, kill(2), signal(2), raise(3).
        for slot in &LIVE_GROUPS {
            let g = slot.load(Ordering::SeqCst);
            if g > 0 {
                // SAFETY: see above.
                unsafe {
                    libc::kill(-g, libc::SIGKILL);
                }
            }
        }
        // SAFETY: back to the default disposition, then die of the signal.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }
    ONCE.call_once(|| {
        for signal in STOP_SIGNALS {
            // SAFETY: the sigaction structs are zeroed and filled in as sigaction(2)
            // requires; the handler only makes async-signal-safe calls.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut old) != 0 || old.sa_sigaction == libc::SIG_IGN {
                    continue;
                }
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = stop as extern "C" fn(libc::c_int) as libc::sighandler_t;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
}
