//! The adversarial campaign of issue 17, kept as tests.
//!
//! * A table: every command that reads a file, given each class of malformed input
//!   (truncated, not UTF-8, a huge line, deep nesting, NaN, a duplicate key, trailing
//!   data, a wrong type, a directory, a symlink out of the project). Each case
//!   asserts the documented exit code (docs/exit-codes.md), a message naming the
//!   file with its line or the field, that nothing outside the project was touched
//!   and that nothing was half-written (no file changed, no temporary file left).
//! * kill -9 loops: `promote`, `tiers --apply` and `detect --checkpoint` killed at
//!   random moments; afterwards the suite (or the output) is the old or the new state
//!   and parses, and the next run leaves no temporary file behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::repo;

fn bin() -> PathBuf {
    std::env::var_os("RATCHET_TEST_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ratchet")))
}

fn ratchet(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin()).current_dir(dir).args(args).env("NO_COLOR", "1").output().expect("run ratchet");
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

const NOW: &str = "2026-11-29T00:00:00Z";

/// Every regular file under `dir` (relative path → bytes); symlinks are listed by
/// their target path, not followed.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let t = e.file_type().unwrap();
            let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
            if t.is_dir() {
                // A directory is its path with a trailing separator (`rel.join("/")` would
                // replace the path by `/`, collapsing every directory into one entry).
                let mut key = rel.into_os_string();
                key.push("/");
                out.insert(PathBuf::from(key), Vec::new());
                stack.push(e.path());
            } else if t.is_symlink() {
                out.insert(rel, std::fs::read_link(e.path()).unwrap().into_os_string().into_encoded_bytes());
            } else {
                out.insert(rel, std::fs::read(e.path()).unwrap());
            }
        }
    }
    out
}

/// Whether `name` looks like a temporary file (ratchet's or tempfile's).
fn temporary(name: &str) -> bool {
    name.ends_with(".tmp") || (name.starts_with(".tmp") && name.len() == 10) || name == ".ratchet-commit.json"
}

// --- the table ---------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    Toml,
    Json,
    Jsonl,
}

/// What the command does with a malformed file.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Outcome {
    /// Exit 2, the message names the file (and line or field); nothing written.
    Refused,
    /// `detect`: exit 0, the record is in the reject file with its `file:line`.
    Rejected,
    /// The ledger: exit 0, the line is skipped with a warning naming `file:line`.
    Skipped,
}

/// A command that reads a file, and how to break that file.
struct Kind {
    name: &'static str,
    /// The file, relative to the project.
    file: &'static str,
    format: Format,
    /// A valid document.
    base: fn() -> String,
    /// The command.
    args: &'static [&'static str],
    /// Exit codes of the command on the valid document.
    base_codes: &'static [i32],
    outcome: Outcome,
    /// A string inside the document after which a byte that is not UTF-8 is put.
    marker: &'static str,
    /// (from, to, field named in the message) for a value of the wrong type.
    wrong_type: (&'static str, &'static str, &'static str),
    /// (from, to, field) for a NaN: a TOML float, or a bare `NaN` in JSON (no field).
    nan: (&'static str, &'static str, Option<&'static str>),
    /// (from, to) that repeats a key.
    duplicate: (&'static str, &'static str),
}

fn scenario() -> String {
    "id = \"x\"\ntitle = \"a title\"\nfailure_mode = \"m\"\ntier = \"fast\"\n\n[impact]\nrevenue_at_risk = 1.0\n\n[[turns]]\ntext = \"hello there\"\n\n[[criteria]]\nid = \"c\"\nkind = \"must-escalate\"\n".into()
}

fn candidate() -> String {
    scenario()
        .replace("id = \"x\"", "id = \"cand\"")
        .replace("failure_mode = \"m\"", "failure_mode = \"other\"")
        .replace("hello there", "something else entirely")
}

fn agent() -> String {
    format!(
        "[agent]\nname = \"support\"\ndriver = \"exec\"\ncommand = [\"python3\", \"{}\"]\nturn_timeout_ms = 5000\n",
        repo().join("examples/agents/support_agent.py").display()
    )
}

fn config() -> String {
    "[rank]\nrevenue_at_risk = 1.0\n\n[tiers]\nfast_size = 10\n".into()
}

fn conversation() -> String {
    "{\n  \"id\": \"conv-1\",\n  \"channel\": \"chat\",\n  \"turns\": [\n    {\"role\": \"customer\", \"text\": \"hello there\"},\n    {\"role\": \"agent\", \"text\": \"hi\"}\n  ],\n  \"impact\": {\"revenue_at_risk\": 1.0}\n}\n".into()
}

fn conversation_line(id: &str) -> String {
    format!("{{\"id\":\"{id}\",\"channel\":\"chat\",\"turns\":[{{\"role\":\"customer\",\"text\":\"hello there\"}},{{\"role\":\"agent\",\"text\":\"hi\"}}],\"outcome\":{{\"complaint\":true}},\"impact\":{{\"revenue_at_risk\":1.0}}}}")
}

fn events() -> String {
    format!("{{\"event_id\":\"e1\",\"reasons\":[{{\"kind\":\"complaint\"}}],\"failure_mode\":\"m\",\"conversation\":{}}}\n", conversation_line("conv-1"))
}

fn report() -> String {
    std::fs::read_to_string(repo().join("host/tests/golden/html/support-v1.json")).unwrap()
}

fn checkpoint() -> String {
    "{\n  \"records\": 0,\n  \"output_bytes\": 0,\n  \"reject_bytes\": 0,\n  \"stats\": {\"records\": 0, \"seen\": 0, \"other_partitions\": 0, \"flagged\": 0, \"reasons\": {}, \"rejected\": 0, \"errors\": 0}\n}\n".into()
}

fn undo_log() -> String {
    format!("{{\n  \"at\": \"{NOW}\",\n  \"moves\": [\n    {{\"file\": \"x.toml\", \"id\": \"x\", \"from\": \"slow\", \"to\": \"fast\", \"why\": \"a reason\"}}\n  ]\n}}\n")
}

fn detect_input() -> String {
    format!("{}\n{}\n{}\n", conversation_line("a"), conversation_line("b"), conversation_line("c"))
}

fn ledger() -> String {
    format!(
        "{{\"at\":\"{NOW}\",\"agent\":\"a\",\"scenario\":\"x\",\"verdict\":\"fail\",\"duration_ms\":10}}\n{{\"at\":\"{NOW}\",\"agent\":\"a\",\"scenario\":\"x\",\"verdict\":\"pass\",\"duration_ms\":12}}\n"
    )
}

const GATE: &[&str] = &["gate", "--suite", "suite", "--agent", "agent.toml", "--no-ledger", "-q"];

fn kinds() -> Vec<Kind> {
    vec![
        Kind {
            name: "validate a scenario",
            file: "x.toml",
            format: Format::Toml,
            base: scenario,
            args: &["validate", "x.toml"],
            base_codes: &[0],
            outcome: Outcome::Refused,
            marker: "hello",
            wrong_type: ("title = \"a title\"", "title = 5", "title"),
            nan: ("revenue_at_risk = 1.0", "revenue_at_risk = nan", Some("impact.revenue_at_risk")),
            duplicate: ("title = \"a title\"\n", "title = \"a title\"\ntitle = \"again\"\n"),
        },
        Kind {
            name: "promote a candidate",
            file: "cand.toml",
            format: Format::Toml,
            base: candidate,
            args: &["promote", "--suite", "suite", "cand.toml", "--now", NOW],
            base_codes: &[0],
            outcome: Outcome::Refused,
            marker: "something",
            wrong_type: ("tier = \"fast\"", "tier = [1]", "tier"),
            nan: ("revenue_at_risk = 1.0", "revenue_at_risk = -nan", Some("impact.revenue_at_risk")),
            duplicate: ("tier = \"fast\"\n", "tier = \"fast\"\ntier = \"slow\"\n"),
        },
        Kind {
            name: "gate a suite file",
            file: "suite/x.toml",
            format: Format::Toml,
            base: scenario,
            args: GATE,
            base_codes: &[0, 1],
            outcome: Outcome::Refused,
            marker: "hello",
            wrong_type: ("[[turns]]\ntext = \"hello there\"", "[[turns]]\ntext = true", "turns[0].text"),
            nan: ("revenue_at_risk = 1.0", "revenue_at_risk = inf", Some("impact.revenue_at_risk")),
            duplicate: ("id = \"x\"\n", "id = \"x\"\nid = \"y\"\n"),
        },
        Kind {
            name: "gate an agent file",
            file: "agent.toml",
            format: Format::Toml,
            base: agent,
            args: GATE,
            base_codes: &[0, 1],
            outcome: Outcome::Refused,
            marker: "support",
            wrong_type: ("driver = \"exec\"", "driver = 5", "agent.driver"),
            nan: ("turn_timeout_ms = 5000", "turn_timeout_ms = nan", Some("agent.turn_timeout_ms")),
            duplicate: ("driver = \"exec\"\n", "driver = \"exec\"\ndriver = \"wasm\"\n"),
        },
        Kind {
            name: "ratchet.toml",
            file: "ratchet.toml",
            format: Format::Toml,
            base: config,
            args: &["status", "--suite", "suite", "--now", NOW],
            base_codes: &[0],
            outcome: Outcome::Refused,
            marker: "[tiers]",
            wrong_type: ("fast_size = 10", "fast_size = \"ten\"", "tiers.fast_size"),
            nan: ("revenue_at_risk = 1.0", "revenue_at_risk = nan", Some("rank.revenue_at_risk")),
            duplicate: ("fast_size = 10\n", "fast_size = 10\nfast_size = 11\n"),
        },
        Kind {
            name: "validate a conversation",
            file: "c.json",
            format: Format::Json,
            base: conversation,
            args: &["validate", "c.json"],
            base_codes: &[0],
            outcome: Outcome::Refused,
            marker: "hello",
            wrong_type: ("\"channel\": \"chat\"", "\"channel\": 7", "channel"),
            nan: ("\"revenue_at_risk\": 1.0", "\"revenue_at_risk\": NaN", None),
            duplicate: ("\"channel\": \"chat\",\n", "\"channel\": \"chat\",\n  \"channel\": \"voice\",\n"),
        },
        Kind {
            name: "regenerate failure events",
            file: "ev.jsonl",
            format: Format::Jsonl,
            base: events,
            args: &["regenerate", "ev.jsonl", "--out-dir", "cands", "--now", NOW],
            base_codes: &[0, 1],
            outcome: Outcome::Refused,
            marker: "hello",
            wrong_type: ("\"reasons\":[{\"kind\":\"complaint\"}]", "\"reasons\":{\"kind\":1}", "reasons"),
            nan: ("\"revenue_at_risk\":1.0", "\"revenue_at_risk\":NaN", None),
            duplicate: ("{\"event_id\":\"e1\",", "{\"event_id\":\"e1\",\"event_id\":\"e2\","),
        },
        Kind {
            name: "report html",
            file: "r.json",
            format: Format::Json,
            base: report,
            args: &["report", "html", "r.json", "-o", "r.html"],
            base_codes: &[0],
            outcome: Outcome::Refused,
            marker: "support-agent",
            wrong_type: ("\"repeat\": 1,", "\"repeat\": \"once\",", "repeat"),
            nan: ("\"repeat\": 1,", "\"repeat\": NaN,", None),
            duplicate: ("\"repeat\": 1,\n", "\"repeat\": 1,\n  \"repeat\": 2,\n"),
        },
        Kind {
            name: "report merge",
            file: "r.json",
            format: Format::Json,
            base: report,
            args: &["report", "merge", "r.json", "--json", "merged.json"],
            base_codes: &[0, 1],
            outcome: Outcome::Refused,
            marker: "support-agent",
            wrong_type: ("\"shards\": [],", "\"shards\": [\"1/2\"],", "shards[0]"),
            nan: ("\"repeat\": 1,", "\"repeat\": NaN,", None),
            duplicate: ("\"selection\": \"tier all\",\n", "\"selection\": \"tier all\",\n  \"selection\": \"tier fast\",\n"),
        },
        Kind {
            name: "detect checkpoint",
            file: "ev.ckpt",
            format: Format::Json,
            base: checkpoint,
            args: &["detect", "in.jsonl", "--out", "ev.jsonl", "--checkpoint", "ev.ckpt"],
            base_codes: &[0],
            outcome: Outcome::Refused,
            marker: "\"records\"",
            wrong_type: ("\"output_bytes\": 0", "\"output_bytes\": -3", "output_bytes"),
            nan: ("\"reject_bytes\": 0", "\"reject_bytes\": NaN", None),
            duplicate: ("\"records\": 0,\n", "\"records\": 0,\n  \"records\": 5,\n"),
        },
        Kind {
            name: "tiers undo log",
            file: "suite/.ratchet-tiers-last.json",
            format: Format::Json,
            base: undo_log,
            args: &["tiers", "--suite", "suite", "--undo", "--now", NOW],
            base_codes: &[0],
            outcome: Outcome::Refused,
            marker: "a reason",
            wrong_type: ("\"at\": \"", "\"at\": 5, \"x\": \"", "at"),
            nan: ("\"moves\": [", "\"moves\": [NaN, ", None),
            duplicate: ("\"at\": ", "\"at\": \"x\", \"at\": "),
        },
        Kind {
            name: "detect input",
            file: "in.jsonl",
            format: Format::Jsonl,
            base: detect_input,
            args: &["detect", "in.jsonl", "--out", "ev.jsonl"],
            base_codes: &[0],
            outcome: Outcome::Rejected,
            marker: "hello",
            wrong_type: ("\"channel\":\"chat\"", "\"channel\":[]", "channel"),
            nan: ("\"revenue_at_risk\":1.0", "\"revenue_at_risk\":NaN", None),
            duplicate: ("{\"id\":\"a\",", "{\"id\":\"a\",\"id\":\"b\","),
        },
        Kind {
            name: "the ledger",
            file: "suite/ledger.jsonl",
            format: Format::Jsonl,
            base: ledger,
            args: &["tiers", "--suite", "suite", "--now", NOW],
            base_codes: &[0],
            outcome: Outcome::Skipped,
            marker: "\"agent\":\"a",
            wrong_type: ("\"duration_ms\":10", "\"duration_ms\":\"slow\"", "duration_ms"),
            nan: ("\"duration_ms\":10", "\"duration_ms\":NaN", None),
            duplicate: ("\"verdict\":\"fail\"", "\"verdict\":\"fail\",\"verdict\":\"pass\""),
        },
    ]
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Class {
    Truncated,
    NotUtf8,
    HugeLine,
    DeepNesting,
    NaN,
    DuplicateKey,
    TrailingData,
    WrongType,
    Directory,
    SymlinkOut,
}

const CLASSES: [Class; 10] = [
    Class::Truncated,
    Class::NotUtf8,
    Class::HugeLine,
    Class::DeepNesting,
    Class::NaN,
    Class::DuplicateKey,
    Class::TrailingData,
    Class::WrongType,
    Class::Directory,
    Class::SymlinkOut,
];

fn replace_once(base: &str, (from, to): (&str, &str), kind: &str) -> String {
    assert!(base.contains(from), "{kind}: `{from}` is not in the base document");
    base.replacen(from, to, 1)
}

/// Cut just after the first character of the marker: inside a token, so what is
/// left can never happen to be a complete document.
fn truncated(base: &str, marker: &str) -> Vec<u8> {
    let at = base.find(marker).expect("marker in the base") + marker.chars().next().map_or(0, char::len_utf8);
    base[..at].as_bytes().to_vec()
}

/// The malformed bytes of `class` (None for the classes that are not contents),
/// and the line the message must name, when it is known.
fn malformed(k: &Kind, class: Class) -> (Option<Vec<u8>>, Option<usize>) {
    let base = (k.base)();
    let appended_line = base.lines().count() + 1;
    match class {
        Class::Truncated | Class::SymlinkOut => (Some(truncated(&base, k.marker)), None),
        Class::NotUtf8 => {
            let at = base.find(k.marker).unwrap_or_else(|| panic!("{}: marker `{}` not in the base", k.name, k.marker)) + k.marker.len();
            let line = base[..at].matches('\n').count() + 1;
            let mut b = base.as_bytes().to_vec();
            b.insert(at, 0xff);
            (Some(b), Some(line))
        }
        Class::HugeLine => (Some(format!("{base}{}\n", "x".repeat(4 << 20)).into_bytes()), Some(appended_line)),
        Class::DeepNesting => {
            let deep = "[".repeat(100_000);
            let line = match k.format {
                Format::Toml => format!("deep = {deep}\n"),
                Format::Json | Format::Jsonl => format!("{deep}\n"),
            };
            (Some(format!("{base}{line}").into_bytes()), Some(appended_line))
        }
        Class::NaN => (Some(replace_once(&base, (k.nan.0, k.nan.1), k.name).into_bytes()), None),
        Class::DuplicateKey => (Some(replace_once(&base, k.duplicate, k.name).into_bytes()), None),
        Class::TrailingData => {
            let tail = match k.format {
                Format::Toml => "]]] trailing\n",
                Format::Json | Format::Jsonl => "{} trailing\n",
            };
            (Some(format!("{base}{tail}").into_bytes()), Some(appended_line))
        }
        Class::WrongType => (Some(replace_once(&base, (k.wrong_type.0, k.wrong_type.1), k.name).into_bytes()), None),
        Class::Directory => (None, None),
    }
}

/// A project every command of the table can run in: a valid suite, agent, config
/// and detect input, plus `tmp/outside` (which must never change).
fn table_project(tmp: &Path) -> PathBuf {
    let p = tmp.join("project");
    std::fs::create_dir_all(p.join("suite")).unwrap();
    std::fs::create_dir_all(tmp.join("outside")).unwrap();
    std::fs::write(tmp.join("outside/keep.txt"), "outside the project").unwrap();
    std::fs::write(p.join("ratchet.toml"), config()).unwrap();
    std::fs::write(p.join("suite/x.toml"), scenario()).unwrap();
    std::fs::write(p.join("agent.toml"), agent()).unwrap();
    std::fs::write(p.join("in.jsonl"), detect_input()).unwrap();
    p
}

/// `{file}:{digits}` somewhere in `msg`: the file and a line.
fn names_a_line(msg: &str, file: &str) -> bool {
    msg.match_indices(&format!("{file}:")).any(|(i, m)| msg[i + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
}

fn run_case(k: &Kind, class: Class) -> Result<(), String> {
    let tmp = tempfile::tempdir().unwrap();
    let p = table_project(tmp.path());
    let path = p.join(k.file);
    let (bytes, line) = malformed(k, class);
    match class {
        Class::Directory => {
            let _ = std::fs::remove_file(&path);
            std::fs::create_dir_all(&path).unwrap();
            std::fs::write(path.join("inner.toml"), "x").unwrap();
        }
        Class::SymlinkOut => {
            let target = tmp.path().join("outside").join(format!("target-{}", path.file_name().unwrap().to_string_lossy()));
            std::fs::write(&target, bytes.unwrap()).unwrap();
            let _ = std::fs::remove_file(&path);
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, &path).unwrap();
        }
        _ => std::fs::write(&path, bytes.unwrap()).unwrap(),
    }
    let before = tree(tmp.path());
    let (code, out, err) = ratchet(&p, k.args);
    let after = tree(tmp.path());
    let ctx = format!("{} / {class:?}: exit {code}\nstderr: {}\nstdout: {}", k.name, cut(&err), cut(&out));
    let fail = |what: &str| Err(format!("{what}\n{ctx}"));
    // Nothing outside the project, and no temporary file anywhere.
    let outside = |t: &BTreeMap<PathBuf, Vec<u8>>| t.iter().filter(|(f, _)| f.starts_with("outside")).map(|(f, b)| (f.clone(), b.clone())).collect::<Vec<_>>();
    if outside(&before) != outside(&after) {
        return fail("a file outside the project changed");
    }
    if let Some((f, _)) = after.iter().find(|(f, _)| f.file_name().is_some_and(|n| temporary(&n.to_string_lossy()))) {
        return fail(&format!("a temporary file was left: {}", f.display()));
    }
    let shown = k.file;
    let outcome = if class == Class::Directory && k.outcome != Outcome::Rejected { Outcome::Refused } else { k.outcome };
    match outcome {
        Outcome::Refused => {
            if code != 2 {
                return fail("expected exit 2");
            }
            let changed: Vec<&PathBuf> = after
                .keys()
                .filter(|f| before.get(*f) != after.get(*f) && !f.ends_with(".ratchet.lock"))
                .chain(before.keys().filter(|f| !after.contains_key(*f)))
                .collect();
            if !changed.is_empty() {
                return fail(&format!("a refused command changed {changed:?}"));
            }
            if !err.contains(shown) {
                return fail(&format!("the message does not name {shown}"));
            }
            if class == Class::Directory {
                return Ok(());
            }
            if class == Class::SymlinkOut && err.contains("symlink") {
                return Ok(());
            }
            if let Some(line) = line {
                if !err.contains(&format!("{shown}:{line}")) {
                    return fail(&format!("the message does not name {shown}:{line}"));
                }
            } else if !names_a_line(&err, shown) && !err.contains("field `") {
                return fail("the message names neither a line nor a field");
            }
            let field = match class {
                Class::WrongType => Some(k.wrong_type.2),
                Class::NaN => k.nan.2,
                _ => None,
            };
            if let Some(field) = field {
                if !err.contains(&format!("`{field}`")) {
                    return fail(&format!("the message does not name the field `{field}`"));
                }
            }
        }
        Outcome::Rejected => {
            if class == Class::Directory {
                // A directory of inputs is read file by file (here: one that is not JSON).
                return if code == 0 { Ok(()) } else { fail("a directory of inputs is read, exit 0") };
            }
            // Rejected, the rest written, and a distinct exit code (4) so a pipeline notices.
            if code != 4 {
                return fail("detect exits 4 on malformed records");
            }
            let rejects = std::fs::read_to_string(p.join("ev.jsonl.rejects.jsonl")).unwrap_or_default();
            let want = line.map(|l| format!("{shown}:{l}")).unwrap_or_else(|| format!("{shown}:"));
            if !rejects.contains(&want) {
                return fail(&format!("the reject file does not name {want}: {}", cut(&rejects)));
            }
        }
        Outcome::Skipped => {
            if class == Class::SymlinkOut {
                // Read through (a ledger may live anywhere); nothing is written by a plan.
            }
            if code != 0 {
                return fail("a malformed ledger line is skipped, exit 0");
            }
            if !names_a_line(&err, shown) || !err.contains("skipped") {
                return fail("the warning names no ledger line");
            }
        }
    }
    Ok(())
}

fn cut(s: &str) -> String {
    let mut s = s.to_string();
    if s.len() > 1500 {
        let mut n = 1500;
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        s.truncate(n);
        s.push_str("…");
    }
    s
}

#[test]
fn every_command_that_reads_a_file_refuses_every_class_of_malformed_input() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut failures = Vec::new();
    for k in kinds() {
        // The table is right about the valid document.
        let tmp = tempfile::tempdir().unwrap();
        let p = table_project(tmp.path());
        std::fs::write(p.join(k.file), (k.base)()).unwrap();
        let (code, _, err) = ratchet(&p, k.args);
        assert!(k.base_codes.contains(&code), "{}: the valid document gives exit {code}: {err}", k.name);
        for class in CLASSES {
            if let Err(e) = run_case(&k, class) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

#[cfg(unix)]
#[test]
fn a_suite_file_that_is_a_device_or_a_symlink_loop_is_refused_not_read_forever() {
    let tmp = tempfile::tempdir().unwrap();
    let p = table_project(tmp.path());
    std::os::unix::fs::symlink("/dev/zero", p.join("suite/zero.toml")).unwrap();
    let (code, _, err) = ratchet(&p, &["status", "--suite", "suite"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("suite/zero.toml") && err.contains("not a regular file"), "{err}");
    std::fs::remove_file(p.join("suite/zero.toml")).unwrap();
    // Three folders that link back into the suite: each followed once, not 3^40 times.
    std::os::unix::fs::symlink(".", p.join("suite/same")).unwrap();
    std::fs::create_dir(p.join("suite/m")).unwrap();
    std::os::unix::fs::symlink("..", p.join("suite/m/up")).unwrap();
    std::os::unix::fs::symlink(".", p.join("suite/m/here")).unwrap();
    let started = std::time::Instant::now();
    let (code, _, err) = ratchet(&p, &["status", "--suite", "suite"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
    assert_eq!(code, 0, "{err}");
    // A document named on the command line that never ends is cut off, not read into memory forever.
    let (code, _, err) = ratchet(&p, &["validate", "--kind", "scenario", "/dev/zero"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/dev/zero") && err.contains("MiB"), "{err}");
}

// --- kill -9 at random moments -------------------------------------------------

/// A small deterministic random source (xorshift), seeded from the clock; the seed
/// is printed so a failure can be replayed with `RATCHET_KILL_SEED`.
struct Rng(u64);

impl Rng {
    fn new(what: &str) -> Rng {
        let seed = std::env::var("RATCHET_KILL_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
        eprintln!("{what}: RATCHET_KILL_SEED={seed}");
        Rng(seed)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

/// Run the command in `dir` and SIGKILL it after `delay` if it is still running.
/// Returns whether it was killed, or else how long it took.
fn run_and_kill(dir: &Path, args: &[&str], delay: std::time::Duration) -> Result<(), std::time::Duration> {
    let started = std::time::Instant::now();
    let mut child = Command::new(bin()).current_dir(dir).args(args).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
    while started.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            return Err(started.elapsed());
        }
        std::thread::sleep(std::time::Duration::from_micros(200));
    }
    let running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    if running {
        Ok(())
    } else {
        Err(started.elapsed())
    }
}

/// Random kill delays within a run's duration, which is learnt as runs finish (a
/// run that ended before its kill shortens the range): under load, the first timing
/// may be far longer than the runs that follow.
struct Delays {
    rng: Rng,
    run: std::time::Duration,
}

impl Delays {
    /// Anywhere in the run, or (`late`) in its last 30 %, where batches are committed.
    fn next(&mut self, late: bool) -> std::time::Duration {
        let t = self.run.as_micros().max(1) as u64;
        std::time::Duration::from_micros(if late { t * 7 / 10 + self.rng.below(t * 3 / 10) } else { self.rng.below(t) })
    }
    fn finished_in(&mut self, took: std::time::Duration) {
        self.run = self.run.min(took);
    }
}

/// The kill loops measure time: they run one at a time, and not beside the table.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// How long the command takes when nobody kills it.
fn timed(dir: &Path, args: &[&str]) -> std::time::Duration {
    let started = std::time::Instant::now();
    let (code, _, err) = ratchet(dir, args);
    assert!(matches!(code, 0 | 1 | 4), "{args:?}: {err}");
    started.elapsed()
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to.join(e.file_name()));
        } else {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// The suite's state: every file but the lock, the fingerprint cache and temporary
/// files (which no reader reads; the next writer removes them, checked apart).
fn state(suite: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut t = tree(suite);
    t.retain(|f, _| {
        let name = f.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        suite.join(f).is_file() && name != ".ratchet.lock" && name != ".ratchet-index.json" && !temporary(&name)
    });
    t
}

fn temporaries(dir: &Path) -> Vec<PathBuf> {
    tree(dir).into_keys().filter(|f| f.file_name().is_some_and(|n| temporary(&n.to_string_lossy()))).collect()
}

/// A scenario that shares nothing with the others (`i` picks its words).
fn distinct_scenario(id: &str, i: usize, extra: &str) -> String {
    const WORDS: [&str; 12] =
        ["invoice", "parcel", "password", "upgrade", "voucher", "warranty", "address", "booking", "refund", "delivery", "account", "coupon"];
    let (a, b, c) = (WORDS[i % 12], WORDS[(i / 12 + 5) % 12], WORDS[(i * 7 + 3) % 12]);
    format!(
        "id = \"{id}\"\ntitle = \"{a} {b} {c} {i}\"\nfailure_mode = \"mode-{i}\"\n{extra}\n[[turns]]\ntext = \"my {a} and the {b} of {c} number {i}\"\n\n[[criteria]]\nid = \"c{i}\"\nkind = \"must-say\"\npattern = \"{c} {i}\"\n"
    )
}

/// Kill `args` ~20 times at random moments of its run over a fresh copy of
/// `base/suite`; after each kill, a reader sees the old or the new state (which
/// parses), and the next run of the command leaves no temporary file.
fn kill_loop(what: &str, base: &Path, args: &[&str]) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let work = base.parent().unwrap().join("work");
    copy_dir(base, &work);
    let old = state(&work.join("suite"));
    let mut delays = Delays { rng: Rng::new(what), run: timed(&work, args) };
    let new = state(&work.join("suite"));
    assert_ne!(old, new, "{what}: the command changes the suite");
    let (mut killed, mut runs) = (0, 0);
    while killed < 20 {
        runs += 1;
        assert!(runs <= 80, "{what}: only {killed} of {runs} runs were killed before they ended");
        copy_dir(base, &work);
        // Every other kill aims at the end of the run, where the batch is committed.
        let delay = delays.next(runs % 2 == 0);
        match run_and_kill(&work, args, delay) {
            Ok(()) => killed += 1,
            Err(took) => delays.finished_in(took),
        }
        let (code, _, err) = ratchet(&work, &["status", "--suite", "suite", "--now", NOW]);
        assert_eq!(code, 0, "{what} run {runs} (killed after {delay:?}): the suite must parse: {err}");
        let now = state(&work.join("suite"));
        assert!(now == old || now == new, "{what} run {runs} (killed after {delay:?}): neither the old nor the new suite:\n{:?}", diff(&old, &new, &now));
        let (code, _, err) = ratchet(&work, args);
        assert!(matches!(code, 0 | 1), "{what} run {runs}: the next run: {err}");
        assert_eq!(temporaries(&work), Vec::<PathBuf>::new(), "{what} run {runs}: temporary files survived the next run");
    }
}

fn diff(old: &BTreeMap<PathBuf, Vec<u8>>, new: &BTreeMap<PathBuf, Vec<u8>>, now: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<String> {
    now.keys()
        .chain(old.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter_map(|f| {
            let (o, n, x) = (old.get(f), new.get(f), now.get(f));
            (x != o || x != n).then(|| {
                format!(
                    "{}: {}",
                    f.display(),
                    if x == o {
                        "old"
                    } else if x == n {
                        "new"
                    } else {
                        "NEITHER"
                    }
                )
            })
        })
        .collect()
}

#[test]
fn promote_killed_at_random_moments_leaves_the_old_or_the_new_suite() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    std::fs::create_dir_all(base.join("suite")).unwrap();
    std::fs::write(base.join("ratchet.toml"), "").unwrap();
    for i in 0..30 {
        std::fs::write(base.join(format!("suite/s{i:02}.toml")), distinct_scenario(&format!("s{i:02}"), i, "")).unwrap();
    }
    let mut args = vec!["promote".to_string(), "--suite".into(), "suite".into(), "--now".into(), NOW.into()];
    // New failures (added) and production hits of known ones (merged): one batch.
    for i in 30..42 {
        std::fs::write(base.join(format!("c{i}.toml")), distinct_scenario(&format!("c{i}"), i, "")).unwrap();
        args.push(format!("c{i}.toml"));
    }
    for i in [3, 7, 11] {
        std::fs::write(base.join(format!("hit{i}.toml")), distinct_scenario(&format!("hit{i}"), i, "")).unwrap();
        args.push(format!("hit{i}.toml"));
    }
    kill_loop("promote", &base, &args.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn tiers_apply_killed_at_random_moments_leaves_the_old_or_the_new_suite() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().join("base");
    std::fs::create_dir_all(base.join("suite/m")).unwrap();
    std::fs::write(base.join("ratchet.toml"), "").unwrap();
    let idle = "tier = \"fast\"\n\n[provenance]\nfirst_seen = \"2020-01-01T00:00:00Z\"\nlast_seen = \"2020-01-02T00:00:00Z\"\n";
    for i in 0..60 {
        let text =
            distinct_scenario(&format!("s{i:02}"), i, "").replacen("\n[[turns]]", &format!("\n{}\n[[turns]]", idle.replacen("tier = \"fast\"\n\n", "", 1)), 1);
        let text = format!("tier = \"fast\"\n{text}");
        std::fs::write(base.join(format!("suite/{}s{i:02}.toml", if i % 2 == 0 { "m/" } else { "" })), text).unwrap();
    }
    kill_loop("tiers --apply", &base, &["tiers", "--suite", "suite", "--apply", "--now", NOW]);
}

#[test]
fn detect_with_a_checkpoint_killed_at_random_moments_resumes_to_the_same_output() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("project");
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("ratchet.toml"), "").unwrap();
    let mut input = String::new();
    for i in 0..3000 {
        if i % 11 == 5 {
            input.push_str("{\"id\": \"torn\", \n");
        } else {
            input.push_str(
                &conversation_line(&format!("c{i:05}")).replace("\"complaint\":true", if i % 3 == 0 { "\"complaint\":true" } else { "\"complaint\":false" }),
            );
            input.push('\n');
        }
    }
    std::fs::write(p.join("in.jsonl"), input).unwrap();
    let (code, _, err) = ratchet(&p, &["detect", "in.jsonl", "--out", "want.jsonl", "--rejects", "want.rejects.jsonl"]);
    assert_eq!(code, 4, "{err}"); // torn lines are rejects: exit 4
    let (want, want_rejects) = (std::fs::read(p.join("want.jsonl")).unwrap(), std::fs::read(p.join("want.rejects.jsonl")).unwrap());
    let args = ["detect", "in.jsonl", "--out", "ev.jsonl", "--checkpoint", "ev.ckpt", "--batch", "50"];
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut delays = Delays { rng: Rng::new("detect --checkpoint"), run: timed(&p, &args) };
    let (mut killed, mut runs) = (0, 0);
    for round in 0..20 {
        for f in ["ev.jsonl", "ev.jsonl.rejects.jsonl", "ev.ckpt"] {
            let _ = std::fs::remove_file(p.join(f));
        }
        // Killed up to three times in a row, each restart resuming the last.
        for restart in 0..3 {
            runs += 1;
            // A resumed run has less left to do: aim within the part left.
            let delay = delays.next(false) / (restart + 1);
            match run_and_kill(&p, &args, delay) {
                Ok(()) => killed += 1,
                Err(took) if restart == 0 => delays.finished_in(took),
                Err(_) => {}
            }
            if let Ok(text) = std::fs::read_to_string(p.join("ev.ckpt")) {
                let cp: serde_json::Value =
                    serde_json::from_str(&text).unwrap_or_else(|e| panic!("round {round}: the checkpoint does not parse ({e}): {text}"));
                let (n, r) = (cp["output_bytes"].as_u64().unwrap() as usize, cp["reject_bytes"].as_u64().unwrap() as usize);
                let out = std::fs::read(p.join("ev.jsonl")).unwrap();
                let rej = std::fs::read(p.join("ev.jsonl.rejects.jsonl")).unwrap_or_default();
                assert!(out.len() >= n && out[..n] == want[..n], "round {round}: the checkpointed output is a prefix of the full output");
                assert!(rej.len() >= r && rej[..r] == want_rejects[..r], "round {round}: the checkpointed rejects are a prefix");
            }
        }
        let (code, _, err) = ratchet(&p, &args);
        assert_eq!(code, 4, "round {round}: {err}"); // torn lines are rejects: exit 4
        assert!(std::fs::read(p.join("ev.jsonl")).unwrap() == want, "round {round}: the resumed output differs from one clean run");
        assert!(std::fs::read(p.join("ev.jsonl.rejects.jsonl")).unwrap() == want_rejects, "round {round}: the resumed rejects differ");
        assert_eq!(temporaries(&p), Vec::<PathBuf>::new(), "round {round}: temporary files survived the next run");
    }
    assert!(killed >= 20, "only {killed} of {runs} runs were killed before they ended");
}
