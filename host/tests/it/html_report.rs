//! The HTML gate report: golden pages (`UPDATE_GOLDEN=1 cargo test -p ratchet --test
//! html_report` rewrites them; review the diff), escaping of untrusted text, determinism,
//! `ratchet report html` errors, and a real gate run opened in Debian's headless
//! chromium: the DOM after the scripts ran shows the failing scenario, its failing
//! criterion and the highlighted turn; the URL-fragment filters hide what they should;
//! a screenshot lands in `target/ci-artifacts/gate-report.png` (CI uploads it).

use crate::common::{self, repo};

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use ratchet::gate::html::{scenario_anchor, turn_anchor};
use ratchet::gate::report::GateReport;
use ratchet::schema;
use serde_json::Value;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/html")
}

fn ratchet_in(cwd: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ratchet"))
        .args(args)
        .current_dir(cwd)
        .env("RATCHET_CACHE_DIR", test_cache_dir())
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap()
}

/// Compare `actual` with the file at `expected`, or write it when UPDATE_GOLDEN is set.
fn check(expected: &Path, actual: &str) {
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(expected, actual).unwrap();
        return;
    }
    let want = std::fs::read_to_string(expected).unwrap_or_else(|_| panic!("missing {} (run with UPDATE_GOLDEN=1)", expected.display()));
    if want != actual {
        let line = want.lines().zip(actual.lines()).position(|(a, b)| a != b).map(|i| i + 1).unwrap_or(0);
        panic!("golden mismatch for {} (first difference at line {line}); UPDATE_GOLDEN=1 rewrites it", expected.display());
    }
}

fn golden_inputs() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json") && !p.to_string_lossy().contains(".expected."))
        .collect();
    v.sort();
    assert!(!v.is_empty());
    v
}

fn load(path: &Path) -> GateReport {
    schema::load_json(path).unwrap()
}

#[test]
fn golden_reports_render_to_the_expected_pages() {
    for input in golden_inputs() {
        let report = load(&input);
        let html = report.html();
        // Deterministic: same report, same bytes.
        assert_eq!(html, load(&input).html());
        check(&input.with_extension("expected.html"), &html);
    }
}

/// Strings from the report that must never reach the page as markup.
const HOSTILE: [&str; 5] =
    [r#"<script>alert("pwned")</script>"#, "<img src=x onerror=alert(1)>", "</td><script>x()</script>", r#"x" onmouseover="alert(1)"#, "<b>tag</b>"];

#[test]
fn untrusted_text_renders_as_text() {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(golden_dir().join("flaky-error-hostile.json")).unwrap()).unwrap();
    // Put hostile text in every other place data reaches the page, too.
    let s = v["scenarios"].as_array_mut().unwrap().iter_mut().find(|s| s["verdict"] == "flaky").unwrap();
    s["failure_mode"] = HOSTILE[3].into();
    s["tags"] = serde_json::json!([HOSTILE[4]]);
    s["file"] = HOSTILE[0].into();
    let a = &mut s["attempts"][1];
    a["criteria"][0]["reason"] = HOSTILE[0].into();
    a["criteria"][0]["id"] = HOSTILE[1].into();
    a["transcript"]["turns"][1]["tool_calls"][0]["name"] = HOSTILE[2].into();
    a["transcript"]["turns"][1]["tool_calls"][0]["arguments"] = serde_json::json!({ "q": HOSTILE[0] });
    a["transcript"]["turns"][2]["tool_result"]["content"] = HOSTILE[1].into();
    a["transcript"]["state"]["tool_registry"][0]["id"] = HOSTILE[4].into();
    a["transcript"]["state"]["model"] = HOSTILE[3].into();
    a["transcript"]["state"]["kb_version_hash"] = HOSTILE[2].into();
    v["selection"] = HOSTILE[0].into();
    let report: GateReport = serde_json::from_value(v).unwrap();
    let html = report.html();
    for h in HOSTILE {
        assert!(!html.contains(h), "unescaped `{h}` in the page");
    }
    // The page's own script is the only one; nothing but it and the style is active content.
    assert_eq!(html.matches("<script").count(), 1, "one <script> element: the page's own");
    // Every tag in the page (before its own script) is ours: no event handlers, no
    // `src`, links only to anchors in the page, no elements that load anything.
    let markup = &html[..html.find("<script>").unwrap()];
    let tags = regex::Regex::new(r"<[a-zA-Z][^>]*>").unwrap();
    // Attributes, each with its whole double-quoted value (values never contain `"`).
    let attr = regex::Regex::new(r#"\s([^\s="/>]+)(?:="([^"]*)")?"#).unwrap();
    for t in tags.find_iter(markup).map(|m| m.as_str()) {
        for a in attr.captures_iter(t) {
            let (name, value) = (&a[1], a.get(2).map(|v| v.as_str()).unwrap_or(""));
            let risky = name.starts_with("on") || ["src", "srcset", "action", "formaction", "style", "background"].contains(&name);
            assert!(!risky && (name != "href" || value.starts_with('#')), "attribute `{}` in tag {t}", &a[0]);
        }
        for bad in ["<img", "<link", "<iframe", "<object", "<embed", "<base"] {
            assert!(!t.starts_with(bad), "{t}");
        }
    }
    // The hostile text is there, as text.
    assert!(html.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt;"));
    assert!(html.contains("data-mode=\"x&quot; onmouseover=&quot;alert(1)\""));
    // No external resources at all; the CSP forbids any that slipped in.
    for needle in ["https://", "url(", "@import"] {
        assert!(!html.contains(needle), "external-resource marker `{needle}` in the page");
    }
    assert_eq!(html.matches("http://").count(), 1, "only the SVG namespace URI");
    assert!(html.contains("http://www.w3.org/2000/svg"));
    assert!(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src &#39;none&#39;; style-src &#39;sha256-"));
}

#[test]
fn report_html_renders_result_files_and_names_bad_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("gate.json");
    std::fs::copy(golden_dir().join("support-v1.json"), &input).unwrap();
    // Default output: beside the input; exit 0 even though the gate failed (it renders, it does not gate).
    let o = ratchet_in(tmp.path(), &["report", "html", "gate.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(tmp.path().join("gate.html")).unwrap();
    assert_eq!(page, load(&input).html());
    assert!(String::from_utf8_lossy(&o.stderr).contains("wrote gate.html (5 scenario(s), gate failed)"));
    // -o - writes to stdout, -o PATH where asked.
    let o = ratchet_in(tmp.path(), &["report", "html", "gate.json", "-o", "-"]);
    assert_eq!(String::from_utf8(o.stdout).unwrap(), page);
    let o = ratchet_in(tmp.path(), &["report", "html", "gate.json", "-o", "out/r.html"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(std::fs::read_to_string(tmp.path().join("out/r.html")).unwrap(), page);

    // Bad inputs: exit 2, the message names the file (and line, field where known).
    let cases: [(&str, &str, &[&str]); 5] = [
        ("missing.json", "", &["missing.json: cannot read"]),
        ("garbage.json", "{ not json", &["garbage.json:1:", "key must be a string"]),
        ("future.json", r#"{"schema_version": 99, "agent": "a"}"#, &["future.json:1:", "unknown schema_version 99", "reads schema_version 1"]),
        ("conversation.json", r#"{"id": "c1", "channel": "chat", "turns": []}"#, &["conversation.json:1:", "missing field `agent`"]),
        ("same.html", "{}", &["same.html", "would overwrite the input"]),
    ];
    for (name, text, want) in cases {
        if !text.is_empty() {
            std::fs::write(tmp.path().join(name), text).unwrap();
        }
        let o = ratchet_in(tmp.path(), &["report", "html", name]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        for w in want {
            assert!(err.contains(w), "{name}: expected `{w}` in: {err}");
        }
        assert!(!tmp.path().join(name).with_extension("html").exists() || name == "same.html", "{name}: nothing written");
    }
}

/// Where CI collects the screenshot and the page (`target/ci-artifacts/`, or `$RATCHET_CI_ARTIFACTS`).
fn artifact_dir() -> PathBuf {
    let dir = match std::env::var_os("RATCHET_CI_ARTIFACTS") {
        Some(d) => PathBuf::from(d),
        None => repo().join("target/ci-artifacts"),
    };
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Debian's chromium (or `$CHROMIUM`); fails the test, never skips it, when missing.
fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("CHROMIUM") {
        return PathBuf::from(p);
    }
    let found = std::env::var_os("PATH").and_then(|paths| std::env::split_paths(&paths).map(|d| d.join("chromium")).find(|p| p.is_file()));
    found.unwrap_or_else(|| panic!("chromium is not installed: run scripts/setup (it installs Debian's `chromium`), or set $CHROMIUM to a Chromium binary"))
}

fn file_url(p: &Path, fragment: &str) -> String {
    let mut url = String::from("file://");
    for b in p.to_str().unwrap().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            url.push(b as char);
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url + fragment
}

/// Run headless chromium with `args` (own profile directory, 60 s deadline); returns stdout.
fn headless(args: &[String]) -> String {
    let profile = tempfile::tempdir().unwrap();
    let mut child = Command::new(chromium())
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-extensions"])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start chromium ({e}): run scripts/setup"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut out = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        out.read_to_string(&mut s).unwrap();
        s
    });
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 60 s: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "chromium {args:?} failed ({status}):\n{err}");
    reader.join().unwrap()
}

/// The opening tag of the element with `id`, as the browser serialises it.
fn tag_with_id<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no element with id {id} in the DOM"));
    let start = dom[..at].rfind('<').unwrap();
    let end = at + dom[at..].find('>').unwrap();
    &dom[start..=end]
}

#[test]
fn a_real_gate_report_in_headless_chromium() {
    let started = Instant::now();
    let browser = chromium(); // fail first, with the fix, when it is missing
    let tmp = tempfile::tempdir().unwrap();
    let (json, html, ledger) = (tmp.path().join("gate.json"), tmp.path().join("gate.html"), tmp.path().join("ledger.jsonl"));
    let o = ratchet_in(
        &repo(),
        &[
            "gate",
            "--agent",
            "examples/agents/support-v1.toml",
            "--json",
            json.to_str().unwrap(),
            "--html",
            html.to_str().unwrap(),
            "--ledger",
            ledger.to_str().unwrap(),
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "the v1 agent is blocked: {}", String::from_utf8_lossy(&o.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    #[cfg(unix)]
    {
        // Written atomically, yet with the permissions `std::fs::write` gives (umask applied), not 0600.
        use std::os::unix::fs::PermissionsExt;
        let plain = tmp.path().join("plain");
        std::fs::write(&plain, "x").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&html), mode(&plain));
    }
    // `gate --html` and `report html` of its JSON are the same page; so is `report merge --html`.
    assert_eq!(page, load(&json).html());
    let merged = tmp.path().join("merged.html");
    ratchet_in(tmp.path(), &["report", "merge", json.to_str().unwrap(), "--html", merged.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&merged).unwrap(), page);

    let artifacts = artifact_dir();
    let saved = artifacts.join("gate-report.html");
    std::fs::write(&saved, &page).unwrap();

    // The DOM after the scripts ran.
    let id = "cancel-never-started-subscription";
    let dom = headless(&["--dump-dom".into(), file_url(&saved, "")]);
    let scenario = tag_with_id(&dom, &scenario_anchor(id));
    assert!(scenario.contains("data-verdict=\"fail\"") && scenario.contains(" open"), "failing scenario expanded: {scenario}");
    assert!(!scenario.contains("hidden"), "{scenario}");
    let turn = tag_with_id(&dom, &turn_anchor(id, 1, 3));
    assert!(turn.contains("class=\"turn r-agent focus\""), "the failing turn is highlighted: {turn}");
    let after_turn = &dom[dom.find(turn).unwrap()..];
    let turn_li = &after_turn[..after_turn.find("</li>").unwrap()];
    assert!(turn_li.contains("cancel_subscription") && turn_li.contains("✗ <code>no-cancel-without-active-subscription</code>"), "{turn_li}");
    let row = format!("<tr class=\"crit bad\"><td class=\"ok\">✗</td><td><code>no-cancel-without-active-subscription</code></td><td class=\"kind\">must-not-call-tool</td><td class=\"num\"><a href=\"#{}\">3</a></td>", turn_anchor(id, 1, 3));
    assert!(dom.contains(&row), "failing criterion row with a link to the turn");
    // The script ran: filters visible, counter filled, nothing hidden by default.
    assert!(dom.contains("<html lang=\"en\" class=\"js\">"), "script did not run");
    assert!(tag_with_id(&dom, "filters").contains("role=\"search\">"), "filters shown: {}", tag_with_id(&dom, "filters"));
    assert!(dom.contains("<output id=\"shown\">5 of 5 shown</output>"));

    // Filtering from the URL fragment: passing scenarios hidden, then one failure mode only.
    let dom = headless(&["--dump-dom".into(), file_url(&saved, "#verdict=fail")]);
    assert!(dom.contains("<output id=\"shown\">4 of 5 shown</output>"));
    assert!(tag_with_id(&dom, &scenario_anchor("happy-path-cancel-active")).contains("hidden=\"\""));
    assert!(!tag_with_id(&dom, &scenario_anchor(id)).contains("hidden"));
    let dom = headless(&["--dump-dom".into(), file_url(&saved, "#verdict=failing&mode=missed-escalation")]);
    assert!(dom.contains("<output id=\"shown\">1 of 5 shown</output>"));
    assert!(tag_with_id(&dom, &scenario_anchor(id)).contains("hidden=\"\""));
    assert!(!tag_with_id(&dom, &scenario_anchor("escalate-when-asked-for-human")).contains("hidden"));

    // The screenshot CI keeps.
    let png = artifacts.join("gate-report.png");
    let _ = std::fs::remove_file(&png);
    headless(&[format!("--screenshot={}", png.display()), "--window-size=1280,2000".into(), file_url(&saved, "")]);
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: no screenshot: {e}", png.display()));
    assert!(bytes.len() > 10_000 && bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG screenshot");
    let (w, h) = (u32::from_be_bytes(bytes[16..20].try_into().unwrap()), u32::from_be_bytes(bytes[20..24].try_into().unwrap()));
    assert_eq!((w, h), (1280, 2000));
    println!(
        "HTML gate report: {} ; screenshot: {} ({} bytes) ; browser {} ; {:.1} s",
        saved.display(),
        png.display(),
        bytes.len(),
        browser.display(),
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn hostile_text_stays_text_in_the_browser() {
    let page = load(&golden_dir().join("flaky-error-hostile.json")).html();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("hostile.html");
    std::fs::write(&path, &page).unwrap();
    let dom = headless(&["--dump-dom".into(), file_url(&path, "")]);
    assert!(dom.contains("class=\"js\""), "the page's own script ran");
    assert!(!dom.contains("<img") && !dom.contains("pwned</script>"), "injected markup became elements");
    assert!(dom.contains("&lt;script&gt;alert(\"pwned\")&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"), "shown as text");
    assert_eq!(dom.matches("<script").count(), 1);
}
