//! `ratchet plugin new`: all twelve templates (Rust, Python, JavaScript × scorecard,
//! assertion, adapter, simulator) are generated with their files and pass their own
//! sample test natively; one template per language and per world — and the simulator
//! in every language — is built into a component and run in the sandbox with `ratchet
//! plugin run`, giving the sample's expected bytes; bad requests are refused with a
//! clear message and exit code 2.
//!
//! The three languages' templates of a kind share their samples, so passing the
//! sample test means giving the same bytes as the other two languages.

use crate::common::{self, repo};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use common::*;
use serde_json::Value;

const LANGS: [&str; 3] = ["rust", "python", "js"];
const KINDS: [&str; 4] = ["scorecard", "assertion", "adapter", "simulator"];

fn ratchet(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ratchet")).args(args).current_dir(cwd).env("RATCHET_CACHE_DIR", test_cache_dir()).output().unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// `ratchet plugin new --lang L --kind K NAME --dir DIR --sdk <repo>/sdk`, asserted to succeed.
fn scaffold(parent: &Path, lang: &str, kind: &str, name: &str) -> PathBuf {
    let sdk = repo().join("sdk");
    let o = ratchet(parent, &["plugin", "new", "--lang", lang, "--kind", kind, name, "--dir", name, "--sdk", sdk.to_str().unwrap()]);
    assert!(o.status.success(), "plugin new {lang} {kind}: {}", text(&o));
    parent.join(name)
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().display().to_string());
            }
        }
    }
    out.sort();
    out
}

fn run_ok(mut cmd: Command, what: &str) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(o.status.success(), "{what} failed:\n{}", text(&o));
}

#[test]
fn all_twelve_templates_are_generated_and_pass_their_sample_tests_natively() {
    let tmp = tempfile::tempdir().unwrap();
    let t = Instant::now();
    for lang in LANGS {
        for kind in KINDS {
            let name = format!("{lang}-{kind}-x");
            let dir = scaffold(tmp.path(), lang, kind, &name);
            let files = files_under(&dir);
            let mut expected: Vec<&str> = match lang {
                "rust" => vec![".gitignore", "Cargo.toml", "README.md", "src/lib.rs", "tests/golden.rs"],
                "python" => vec![".gitignore", "README.md", "app.py", "plugin.py", "pyproject.toml", "test_plugin.py"],
                _ => vec![".gitignore", "README.md", "app.js", "package.json", "plugin.js", "plugin.test.js"],
            };
            let invalid = match kind {
                "scorecard" => vec!["samples/invalid/bad-params.error.txt", "samples/invalid/bad-params.json", "samples/invalid/bad-params.options.json"],
                "assertion" => vec!["samples/invalid/missing-phrase.error.txt", "samples/invalid/missing-phrase.json"],
                "adapter" => vec!["samples/invalid/unknown-sender.error.txt", "samples/invalid/unknown-sender.json"],
                // A simulator has two kinds of input: a call in a world, and observations to seed from.
                _ => vec!["samples/invalid/no-orders.error.txt", "samples/invalid/no-orders.json", "samples/seed.expected.json", "samples/seed.json"],
            };
            expected.extend(["samples/example.expected.json", "samples/example.json"]);
            expected.extend(invalid);
            expected.sort();
            assert_eq!(files, expected, "{lang} {kind}");
            for f in &files {
                let body = std::fs::read_to_string(dir.join(f)).unwrap();
                assert!(!body.contains("%%"), "{lang} {kind} {f}: an unfilled placeholder");
            }
            // Python and JavaScript sample tests take a fraction of a second: run them all.
            match lang {
                "python" => {
                    let mut c = Command::new("python3");
                    c.args(["-m", "unittest", "-q"]).current_dir(&dir).env_remove("PYTHONPATH");
                    run_ok(c, &format!("python3 -m unittest in {name}"));
                }
                "js" => {
                    let mut c = Command::new("node");
                    c.arg("--test").current_dir(&dir);
                    run_ok(c, &format!("node --test in {name}"));
                }
                _ => {
                    // One target dir for the three crates: dependencies build once.
                    std::fs::copy(repo().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
                    let mut c = Command::new("cargo");
                    c.args(["test", "--offline", "-q"]).current_dir(&dir).env("CARGO_TARGET_DIR", repo().join("target/scaffold-tests"));
                    run_ok(c, &format!("cargo test in {name}"));
                }
            }
        }
    }
    eprintln!("12 templates generated and their sample tests run in {:.1} s", t.elapsed().as_secs_f64());
}

#[test]
fn one_template_per_language_builds_into_a_component_that_gives_the_expected_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    // One per language and one per world, and the simulator (the newest world) in each language.
    for (lang, kind) in [("rust", "scorecard"), ("python", "assertion"), ("js", "adapter"), ("rust", "simulator"), ("python", "simulator"), ("js", "simulator")]
    {
        let name = format!("new-{lang}-{kind}");
        let dir = scaffold(tmp.path(), lang, kind, &name);
        if lang == "rust" {
            // Build offline against the versions this checkout already has.
            std::fs::copy(repo().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        }
        let t = Instant::now();
        let mut build = Command::new(repo().join("scripts/build-plugins"));
        build.args(["--path", "."]).current_dir(&dir).env("CARGO_NET_OFFLINE", "true");
        run_ok(build, &format!("scripts/build-plugins --path {name}"));
        let built = t.elapsed();
        let wasm = dir.join("build").join(format!("{name}.wasm"));
        assert!(wasm.is_file(), "{} was not written", wasm.display());

        let t = Instant::now();
        // --no-cache: componentize-py/-js output differs per build, so caching would only
        // add a new artifact (tens of MB) to the cache on every test run.
        let o = ratchet(&dir, &["plugin", "run", wasm.to_str().unwrap(), "--input", "samples/example.json", "--format", "json", "--repeat", "2", "--no-cache"]);
        assert!(o.status.success(), "plugin run {name}: {}", text(&o));
        let report: Value = serde_json::from_slice(&o.stdout).unwrap();
        let expected: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("samples/example.expected.json")).unwrap()).unwrap();
        assert_eq!(
            ratchet::schema::canonical_json(&report["output"]),
            ratchet::schema::canonical_json(&expected),
            "{name}: the component disagrees with the sample"
        );
        assert_eq!(report["plugin"]["world"]["kind"], kind, "{report}");
        eprintln!(
            "{name:<24} built in {:>5.1} s ({:>6.1} MiB); compile + 2 calls {:>5.1} s",
            built.as_secs_f64(),
            std::fs::metadata(&wasm).unwrap().len() as f64 / 1048576.0,
            t.elapsed().as_secs_f64()
        );
    }
}

#[test]
fn bad_requests_are_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let sdk = repo().join("sdk");
    let sdk = sdk.to_str().unwrap();
    let new = |args: &[&str]| {
        let mut all = vec!["plugin", "new"];
        all.extend_from_slice(args);
        ratchet(tmp.path(), &all)
    };

    let o = new(&["--lang", "go", "--kind", "scorecard", "x-plugin", "--sdk", sdk]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("invalid value 'go'") && text(&o).contains("rust, python, js"), "{}", text(&o));

    let o = new(&["--lang", "rust", "--kind", "agent", "x-plugin", "--sdk", sdk]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("scorecard, assertion, adapter"), "{}", text(&o));

    for bad in ["Bad", "a_b", "type", "x", "../up"] {
        let o = new(&["--lang", "python", "--kind", "scorecard", bad, "--sdk", sdk]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
        assert!(text(&o).contains(&format!("invalid plugin name `{bad}`")), "{}", text(&o));
    }

    // An existing, non-empty directory is never touched.
    std::fs::create_dir(tmp.path().join("taken")).unwrap();
    std::fs::write(tmp.path().join("taken/keep.txt"), "mine").unwrap();
    let o = new(&["--lang", "js", "--kind", "adapter", "taken", "--sdk", sdk]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("taken: already exists and is not an empty directory; refusing to overwrite it"), "{}", text(&o));
    assert_eq!(files_under(&tmp.path().join("taken")), vec!["keep.txt"]);
    // Nor is a file.
    std::fs::write(tmp.path().join("a-file"), "x").unwrap();
    let o = new(&["--lang", "js", "--kind", "adapter", "a-file", "--sdk", sdk]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(tmp.path().join("a-file")).unwrap(), "x");
    // An empty directory is fine, and --dir may differ from the name.
    std::fs::create_dir(tmp.path().join("empty")).unwrap();
    let o = new(&["--lang", "rust", "--kind", "assertion", "fine-name", "--dir", "empty", "--sdk", sdk]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(tmp.path().join("empty/Cargo.toml").is_file());
    assert!(std::fs::read_to_string(tmp.path().join("empty/Cargo.toml")).unwrap().contains("name = \"fine-name\""));
    // No staging directories are left behind.
    assert!(std::fs::read_dir(tmp.path()).unwrap().all(|e| !e.unwrap().file_name().to_string_lossy().contains("ratchet-new")));

    // An SDK directory that is not one.
    let o = new(&["--lang", "python", "--kind", "scorecard", "no-sdk", "--sdk", tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("cannot find the ratchet SDKs") && text(&o).contains("--sdk"), "{}", text(&o));
    assert!(!tmp.path().join("no-sdk").exists());

    // Without --sdk-path, even inside a checkout, a scaffold depends on the SDK packages by
    // name and version, never on the checkout (tests/outside builds such scaffolds).
    let inside = tempfile::tempdir_in(repo().join("target")).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    for lang in LANGS {
        let o = ratchet(inside.path(), &["plugin", "new", "--lang", lang, "--kind", "scorecard", &format!("pkg-{lang}")]);
        assert!(o.status.success(), "{}", text(&o));
        let d = inside.path().join(format!("pkg-{lang}"));
        match lang {
            "rust" => assert!(std::fs::read_to_string(d.join("Cargo.toml")).unwrap().contains(&format!("ratchet-sdk = \"{version}\"")), "{lang}"),
            "python" => assert!(std::fs::read_to_string(d.join("pyproject.toml")).unwrap().contains(&format!("\"ratchet-sdk=={version}\"")), "{lang}"),
            _ => {
                let pkg: Value = serde_json::from_str(&std::fs::read_to_string(d.join("package.json")).unwrap()).unwrap();
                assert_eq!(pkg["dependencies"]["@ratchet-dev/sdk"], version);
                assert!(std::fs::read_to_string(d.join("plugin.js")).unwrap().contains("from '@ratchet-dev/sdk'"));
            }
        }
        for f in files_under(&d) {
            let body = std::fs::read_to_string(d.join(&f)).unwrap();
            assert!(!body.contains("../sdk") && !body.contains("scripts/build-plugins"), "{lang} {f}: names the checkout");
        }
    }
}
