//! The example project compiled into the binary: the example subscription-support
//! agent (`examples/agents`), its traffic generator (`examples/traffic`) and the
//! project `ratchet demo` runs in outside a checkout (`host/assets/demo`). Embedded,
//! not installed as files, so `ratchet demo` and `ratchet init` work from any
//! directory with the binary and the shipped plugins alone (a few tens of KiB).

macro_rules! file {
    ($dest:literal, $src:literal) => {
        ($dest, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $src)))
    };
}

/// The example agent (one Python file, stdlib only, speaking docs/agent-protocol.md).
pub const AGENT: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/agents/support_agent.py"));

/// The demo's project, by path inside it.
pub const DEMO_PROJECT: &[(&str, &str)] = &[
    file!("ratchet.toml", "assets/demo/ratchet.toml"),
    file!("examples/agents/support_agent.py", "../examples/agents/support_agent.py"),
    file!("examples/agents/support-v1.toml", "../examples/agents/support-v1.toml"),
    file!("examples/agents/support-v2.toml", "../examples/agents/support-v2.toml"),
    file!("examples/agents/support-v3.toml", "../examples/agents/support-v3.toml"),
    file!("examples/traffic/generate.py", "../examples/traffic/generate.py"),
];

/// Writes `files` under `dir` (creating directories).
pub fn write(dir: &std::path::Path, files: &[(&str, &str)]) -> std::io::Result<()> {
    for (rel, text) in files {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, text)?;
    }
    Ok(())
}
