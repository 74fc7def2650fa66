//! Hostile files never escape: what an adversarial campaign found, kept as tests.
//! Each runs the real `ratchet` binary in a scratch project and asserts the exit
//! code, a message naming the file and field, and that nothing outside the project
//! (or outside the directory ratchet manages) was touched.

use std::path::{Path, PathBuf};
use std::process::Command;

fn ratchet(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_ratchet")).current_dir(dir).args(args).env("NO_COLOR", "1").output().expect("run ratchet");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn scenario_with_id(id: &str) -> String {
    format!("id = {id:?}\ntitle = \"hostile\"\nfailure_mode = \"m\"\n\n[[turns]]\ntext = \"hi\"\n\n[[criteria]]\nid = \"c\"\nkind = \"must-escalate\"\n")
}

/// A project in `tmp/project` with a ratchet.toml whose bytes must never change.
fn project(tmp: &Path) -> PathBuf {
    let p = tmp.join("project");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("ratchet.toml"), "# mine: never overwritten\n").unwrap();
    p
}

#[test]
fn a_scenario_id_that_is_a_path_is_refused_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    let outside = tmp.path().join("owned");
    for id in ["../../ratchet", "../ratchet", outside.to_str().unwrap(), "a/b", ".hidden", "x\\..\\y"] {
        std::fs::write(p.join("evil.toml"), scenario_with_id(id)).unwrap();
        let (code, _, err) = ratchet(&p, &["validate", "evil.toml"]);
        assert_eq!(code, 2, "validate {id:?}: {err}");
        assert!(err.contains("evil.toml:1") && err.contains("field `id`"), "validate names file, line and field: {err}");
        let (code, _, err) = ratchet(&p, &["promote", "--suite", "suite", "evil.toml"]);
        assert_eq!(code, 2, "promote {id:?}: {err}");
        assert!(err.contains("field `id`"), "{err}");
        // A suite holding the file is refused by the gate before anything runs.
        std::fs::create_dir_all(p.join("bad-suite")).unwrap();
        std::fs::copy(p.join("evil.toml"), p.join("bad-suite/evil.toml")).unwrap();
        let agent = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/agents/support-v1.toml");
        let (code, _, err) = ratchet(&p, &["gate", "--suite", "bad-suite", "--agent", agent, "--tickets", "tix"]);
        assert_eq!(code, 2, "gate {id:?}: {err}");
        assert!(err.contains("evil.toml:1") && err.contains("field `id`"), "gate names the file and field: {err}");
        assert!(!p.join("tix").exists(), "no ticket written");
    }
    assert_eq!(std::fs::read_to_string(p.join("ratchet.toml")).unwrap(), "# mine: never overwritten\n");
    assert!(!outside.with_extension("toml").exists() && !outside.exists());
    assert!(!tmp.path().join("ratchet.toml").exists());
}

#[test]
fn a_promoted_file_never_lands_outside_the_suite_through_a_symlink() {
    let tmp = tempfile::tempdir().unwrap();
    let p = project(tmp.path());
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::create_dir_all(p.join("suite")).unwrap();
    // The failure-mode folder the scenario would be added to is a symlink out.
    #[cfg(unix)]
    std::os::unix::fs::symlink(&elsewhere, p.join("suite/m")).unwrap();
    std::fs::write(p.join("good.toml"), scenario_with_id("good-one")).unwrap();
    let (code, _, err) = ratchet(&p, &["promote", "--suite", "suite", "good.toml"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("symlink"), "{err}");
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0, "nothing written through the symlink");
}
