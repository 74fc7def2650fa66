//! `ratchet completions SHELL` and `ratchet man`: the command line described for
//! the shell and for `man`, generated from the same clap definitions the parser
//! uses, so they can never drift from the real flags.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::{Args, CommandFactory};

use super::{exit, CliError, CliResult, Cli};

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Args)]
pub struct ManArgs {
    /// Write ratchet.1 and one page per command (ratchet-gate.1, ratchet-plugin-run.1...)
    /// into this directory; without it, print ratchet.1 on stdout.
    #[arg(long)]
    out_dir: Option<PathBuf>,
}

/// Print the completion script for `a.shell` on stdout (e.g. `ratchet completions bash >
/// ~/.local/share/bash-completion/completions/ratchet`).
pub fn completions(a: CompletionsArgs) -> CliResult {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "ratchet", &mut buf);
    write_stdout(&buf)
}

/// Render the man pages.
pub fn man(a: ManArgs) -> CliResult {
    let cmd = Cli::command();
    let Some(dir) = a.out_dir else {
        let mut buf = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut buf).map_err(|e| CliError { code: exit::INTERNAL, error: e.into() })?;
        return write_stdout(&buf);
    };
    std::fs::create_dir_all(&dir).map_err(|e| CliError::usage(anyhow!("{}: {e}", dir.display())))?;
    let mut written = 0;
    let mut pages = vec![("ratchet".to_string(), cmd.clone())];
    collect(&cmd, "ratchet", &mut pages);
    for (name, page) in pages {
        let mut buf = Vec::new();
        clap_mangen::Man::new(page.display_name(name.clone()).bin_name(name.replacen("-", " ", 2))).title(name.clone()).render(&mut buf).map_err(|e| CliError { code: exit::INTERNAL, error: e.into() })?;
        let path = dir.join(format!("{name}.1"));
        ratchet::fsutil::write_atomic(&path, &buf).map_err(|e| CliError::usage(anyhow!("{}: cannot write: {e}", path.display())))?;
        written += 1;
    }
    eprintln!("wrote {written} man page(s) to {}", dir.display());
    Ok(exit::OK)
}

/// Every subcommand, depth first, named as `man` finds it (`ratchet-plugin-run`).
fn collect(cmd: &clap::Command, prefix: &str, out: &mut Vec<(String, clap::Command)>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        let name = format!("{prefix}-{}", sub.get_name());
        out.push((name.clone(), sub.clone()));
        collect(sub, &name, out);
    }
}

fn write_stdout(bytes: &[u8]) -> CliResult {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(bytes).and_then(|()| out.flush()) {
        super::stdout_closed(e);
    }
    Ok(exit::OK)
}
