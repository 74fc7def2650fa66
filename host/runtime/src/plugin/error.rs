//! Plugin failures as values. Whatever a plugin does — loop, allocate without end,
//! trap, return garbage — the host gets one of these, naming the plugin and its digest.

use std::fmt;

/// Which plugin failed: its configured name and the sha256 of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginId {
    /// The configured name (or the file name).
    pub name: String,
    /// `sha256:<hex>` of the component bytes.
    pub digest: String,
}

impl fmt::Display for PluginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let short = self.digest.get(..19).unwrap_or(&self.digest);
        write!(f, "plugin `{}` ({short}…)", self.name)
    }
}

/// A plugin failure, with the plugin it came from.
#[derive(Debug, thiserror::Error)]
#[error("{plugin}: {failure}")]
pub struct PluginError {
    /// The plugin.
    pub plugin: PluginId,
    /// What went wrong.
    pub failure: Failure,
}

/// What went wrong in or around a plugin.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Failure {
    /// The component file could not be read (missing, unreadable, outside the project).
    #[error("cannot read component: {0}")]
    Read(String),
    /// The bytes are not a valid WebAssembly component for this engine.
    #[error("not a valid WebAssembly component: {0}")]
    Compile(String),
    /// The component implements none (or more than one) of ratchet's worlds, or another one than the caller needs.
    #[error("wrong world: {0}")]
    WrongWorld(String),
    /// The component targets a version of the WIT package this ratchet does not support.
    #[error("unsupported WIT version: {0}")]
    UnsupportedVersion(String),
    /// A directory granted to the plugin is unusable (outside the project, missing,
    /// or granted to a plugin that cannot read files).
    #[error("cannot grant directory: {0}")]
    Grant(String),
    /// The component imports something the sandbox does not provide.
    #[error("cannot link: {0}")]
    Link(String),
    /// The call burnt all its fuel (an endless loop, or a too-small `fuel` limit).
    #[error("ran out of fuel after {limit} units (endless loop? raise `fuel` if the work is legitimate)")]
    OutOfFuel {
        /// The fuel limit.
        limit: u64,
    },
    /// The guest tried to grow its memory past the limit.
    #[error("exceeded its memory limit of {limit_mib} MiB")]
    OutOfMemory {
        /// The limit.
        limit_mib: u32,
    },
    /// The wall-clock backstop fired.
    #[error("timed out after {timeout_ms} ms")]
    Timeout {
        /// The timeout.
        timeout_ms: u64,
    },
    /// The guest trapped (a Rust panic, `unreachable`, out-of-bounds access...).
    #[error("trapped: {}{}", .trap, .reason.as_ref().map(|r| format!(" (guest said: {r})")).unwrap_or_default())]
    Trap {
        /// The trap, as wasmtime describes it.
        trap: String,
        /// The guest's own explanation (its panic message), when its SDK reported one.
        reason: Option<String>,
    },
    /// The plugin returned an error value: it ran fine and refused the input.
    #[error("returned an error: {0}")]
    Guest(String),
    /// The plugin's result breaks the contract (score outside [0,1], bad JSON...).
    #[error("malformed output: {0}")]
    MalformedOutput(String),
    /// The plugin's result is larger than `max_output_bytes`.
    #[error("output of {bytes} bytes exceeds the limit of {limit} bytes")]
    OutputTooLarge {
        /// Size of the result as JSON.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// The host failed around the call (should not happen; reported, not panicked).
    #[error("host error: {0}")]
    Host(String),
}
