//! Build script: records the git commit the binary is built from, so `ratchet
//! --version` says exactly which source a bug report is about. Outside a git
//! checkout (a source archive, `cargo install` from a copy) it falls back to
//! `$RATCHET_GIT_COMMIT` when set, else to "unknown commit": never a build error.

use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    println!("cargo:rerun-if-env-changed=RATCHET_GIT_COMMIT");
    let commit = std::env::var("RATCHET_GIT_COMMIT").ok().filter(|s| !s.is_empty()).or_else(|| git(&["rev-parse", "--short=12", "HEAD"]));
    // Rebuild when HEAD moves: HEAD itself (a checkout) and the ref it points at (a commit).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            if let Some(common) = git(&["rev-parse", "--git-common-dir"]) {
                let common = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(common);
                for d in [&dir, &common] {
                    let f = d.join(&r);
                    if f.exists() {
                        println!("cargo:rerun-if-changed={}", f.display());
                    }
                }
                println!("cargo:rerun-if-changed={}", common.join("packed-refs").display());
            }
        }
    }
    let version = env!("CARGO_PKG_VERSION");
    let long = match commit {
        Some(c) => format!("{version} (commit {c})"),
        None => format!("{version} (unknown commit: built outside a git checkout)"),
    };
    println!("cargo:rustc-env=RATCHET_LONG_VERSION={long}");
}
