//! `ratchet init`: a newcomer's first command. In an empty directory (or an existing
//! repository) it writes a project that works at once: `ratchet.toml` naming the
//! shipped plugins, a small suite in `scenarios/`, an agent config to fill in
//! (`agent.toml`, running the bundled example agent until it points at yours), a
//! `.gitignore` that keeps the run ledger (the docs say to commit it), and a GitHub
//! Actions workflow (sharded fast tier with `--no-ledger`, merged verdict, nightly
//! slow tier). `ratchet gate --agent agent.toml` then runs.
//!
//! Nothing is overwritten: a file that exists is a usage error naming it (exit 2),
//! except `.gitignore`, which gets ratchet's block appended once.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;
use serde_json::json;

use super::{exit, CliError, CliResult, OutputFormat};

#[derive(Args)]
pub struct InitArgs {
    /// The project directory (default: the working directory); created if missing.
    dir: Option<PathBuf>,
    /// Output: `text` (the files and next steps) or `json`.
    #[arg(long, value_enum, default_value = "text")]
    format: OutputFormat,
}

macro_rules! asset {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/", $path))
    };
}

/// The workflow file `init` writes (also checked against the GitHub workflow schema in the tests).
pub const WORKFLOW: &str = ".github/workflows/ratchet.yml";

/// Marks ratchet's block in a `.gitignore`, so a second `init` does not append it again.
const GITIGNORE_MARK: &str = "# ratchet (written by `ratchet init`)";

fn files() -> Vec<(&'static str, String)> {
    let version = env!("CARGO_PKG_VERSION");
    vec![
        ("ratchet.toml", asset!("assets/init/ratchet.toml").to_string()),
        ("agent.toml", asset!("assets/init/agent.toml").to_string()),
        ("agent/example_agent.py", super::examples::AGENT.to_string()),
        ("scenarios/cancel-never-started-subscription.toml", asset!("../scenarios/cancel-never-started-subscription.toml").to_string()),
        ("scenarios/escalate-when-asked-for-human.toml", asset!("../scenarios/escalate-when-asked-for-human.toml").to_string()),
        ("scenarios/happy-path-cancel-active.toml", asset!("../scenarios/happy-path-cancel-active.toml").to_string()),
        (WORKFLOW, asset!("assets/init/workflow.yml").replace("%%VERSION%%", version)),
    ]
}

pub fn init(a: InitArgs) -> CliResult {
    let cwd = std::env::current_dir().map_err(CliError::usage)?;
    let dir = match &a.dir {
        Some(d) if d.is_absolute() => d.clone(),
        Some(d) => cwd.join(d),
        None => cwd.clone(),
    };
    if dir.exists() && !dir.is_dir() {
        return Err(CliError::usage(anyhow!("{}: exists and is not a directory", dir.display())));
    }
    let files = files();
    let taken: Vec<String> = files.iter().filter(|(p, _)| std::fs::symlink_metadata(dir.join(p)).is_ok()).map(|(p, _)| p.to_string()).collect();
    if !taken.is_empty() {
        return Err(CliError::usage(anyhow!(
            "{}: already has {}: refusing to overwrite (ratchet init writes a new project; move them away or pick another directory)",
            dir.display(),
            taken.join(", ")
        )));
    }
    if let Some(p) = dir.ancestors().skip(1).find(|p| p.join("ratchet.toml").is_file()) {
        eprintln!("note: {} is inside the ratchet project at {}; the new ratchet.toml takes over below it", dir.display(), p.display());
    }
    let mut written = Vec::new();
    for (rel, text) in &files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| CliError::usage(anyhow!("{}: {e}", parent.display())))?;
        }
        ratchet::fsutil::write_atomic(&path, text.as_bytes()).map_err(|e| CliError::usage(anyhow!("{}: {e}", path.display())))?;
        written.push(rel.to_string());
    }
    let gitignore = dir.join(".gitignore");
    let block = asset!("assets/init/gitignore");
    let gitignore_action = match std::fs::read_to_string(&gitignore) {
        Ok(existing) if existing.contains(GITIGNORE_MARK) => "kept (already has ratchet's block)",
        Ok(existing) => {
            let sep = if existing.is_empty() || existing.ends_with('\n') { "" } else { "\n" };
            let text = format!("{existing}{sep}\n{block}");
            ratchet::fsutil::write_atomic(&gitignore, text.as_bytes()).map_err(|e| CliError::usage(anyhow!("{}: {e}", gitignore.display())))?;
            "appended"
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            ratchet::fsutil::write_atomic(&gitignore, block.as_bytes()).map_err(|e| CliError::usage(anyhow!("{}: {e}", gitignore.display())))?;
            "written"
        }
        Err(e) => return Err(CliError::usage(anyhow!("{}: {e}", gitignore.display()))),
    };
    let shown = a.dir.as_ref().map(|d| d.display().to_string());
    let mut next = Vec::new();
    if let Some(d) = &shown {
        next.push(format!("cd {d}"));
    }
    next.extend([
        "ratchet gate --agent agent.toml            # the suite against the bundled example agent: passes".to_string(),
        "$EDITOR agent.toml                         # point it at your agent (exec command, openai driver or a component)".to_string(),
        "ratchet detect exports/ --adapter openai-chat --out events.jsonl   # your production conversations → failure events".to_string(),
        "ratchet regenerate events.jsonl --out-dir .ratchet/candidates && ratchet promote .ratchet/candidates/*.toml".to_string(),
        "ratchet plugin new --lang python --kind scorecard my-policy         # your own scorecard".to_string(),
        format!("git add . && git commit -m 'ratchet'   # {WORKFLOW} gates every pull request"),
    ]);
    match a.format {
        OutputFormat::Json => {
            let v = json!({"dir": dir, "files": written, "gitignore": gitignore_action, "workflow": WORKFLOW, "next": next});
            outln!("{}", serde_json::to_string_pretty(&v).expect("json"));
        }
        OutputFormat::Text => {
            outln!("created a ratchet project in {}", shown.as_deref().unwrap_or("."));
            for f in &written {
                outln!("  {f}");
            }
            outln!("  .gitignore ({gitignore_action})");
            outln!("next:");
            for n in &next {
                outln!("  {n}");
            }
        }
    }
    Ok(exit::OK)
}
