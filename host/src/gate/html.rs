//! The HTML gate report: one self-contained page a person opens after a gate run.
//!
//! What it shows: the verdict of the gate and the counts, a bar chart of failures by
//! failure-mode cluster, and every scenario — failing ones first and expanded, each
//! with its criteria (failing rows highlighted with their reason), replay notes and
//! errors, the replayed transcript with the failing turn highlighted and anchored, and
//! the agent state it ran with (memory snapshot, prompt version, model, tool registry,
//! KB hash, routing).
//!
//! Design rules, all tested:
//! * **No external resources.** CSS, JS and the SVG chart are inline; a
//!   Content-Security-Policy allows nothing else (no fetches, fonts or images), and
//!   pins the inline style and script by their sha256.
//! * **Every piece of data is escaped.** Transcripts are untrusted production text; a
//!   `<script>` in a customer turn renders as text. Data never goes inside the script.
//! * **Deterministic.** The same report renders to the same bytes: no timestamps, no
//!   random ids (anchors are derived from scenario ids).
//! * **Readable without JS.** `<details>` elements collapse natively; the script only
//!   adds filtering by verdict, tier and failure mode, driven by the URL fragment too
//!   (`report.html#verdict=fail&tier=fast&mode=missed-escalation`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::criteria::CriterionOutcome;
use super::report::{headline, GateReport};
use super::{Attempt, ScenarioResult, ScenarioVerdict};
use crate::schema::{AgentState, Conversation, Role, Tier, Turn};

/// Escape `s` for HTML text and for quoted attribute values.
///
/// Exists because everything shown in the report (transcripts, reasons, ids) comes from
/// production data or scenario files and must never be interpreted as markup.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The HTML element id of a scenario: `s-` and the scenario id, with every character
/// outside `[A-Za-z0-9.-]` written as `_<hex>_` (injective, so ids never collide).
///
/// Public so tests and tools can link into a report (`report.html#s-my-scenario`).
pub fn scenario_anchor(id: &str) -> String {
    let mut out = String::from("s-");
    for c in id.chars() {
        if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
            out.push(c);
        } else {
            let _ = write!(out, "_{:x}_", c as u32);
        }
    }
    out
}

/// The HTML element id of turn `turn` of attempt `attempt` (1-based) of a scenario:
/// `<scenario anchor>-a<attempt>-t<turn>`; the failing turn of a criterion links here.
pub fn turn_anchor(scenario_id: &str, attempt: usize, turn: usize) -> String {
    format!("{}-a{attempt}-t{turn}", scenario_anchor(scenario_id))
}

/// Render `report` as one self-contained HTML page (see the module documentation).
pub fn render(report: &GateReport) -> String {
    let s = &report.summary;
    let passed = s.gate_passes();
    let mut out = String::with_capacity(64 * 1024);
    let csp = format!("default-src 'none'; style-src '{}'; script-src '{}'", csp_hash(STYLE), csp_hash(SCRIPT));
    let verdict_title = if passed { "passed" } else { "FAILED" };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{}\">\n\
         <title>ratchet gate {verdict_title}: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&csp),
        escape(&report.agent),
    );

    // Header: the verdict, what ran, the counts.
    let (cls, mark, text) = if passed { ("passed", "✓", "ratchet gate passed") } else { ("blocked", "✗", "ratchet gate failed: deploy blocked") };
    let _ = writeln!(out, "<header class=\"gate {cls}\">\n<h1><span class=\"mark\">{mark}</span> {text}</h1>");
    let mut meta = vec![format!("agent <code>{}</code>", escape(&report.agent)), escape(&report.selection)];
    if !report.shards.is_empty() {
        let list: Vec<String> = report.shards.iter().map(|sh| format!("{}/{}", sh.index, sh.count)).collect();
        meta.push(format!("shard{} {}", if list.len() > 1 { "s" } else { "" }, list.join(", ")));
    }
    if report.repeat > 1 {
        meta.push(format!("repeat {} (pass only if every replay passes)", report.repeat));
    }
    meta.push(format!("{} total replay time", duration(report.scenarios.iter().map(|r| r.duration_ms()).sum())));
    let _ = writeln!(out, "<p class=\"meta\">{}</p>", meta.join(" · "));
    let _ = writeln!(out, "<ul class=\"counts\">\n<li><b>{}</b> scenario{}</li>", s.total, plural(s.total));
    for (v, n) in [(ScenarioVerdict::Pass, s.passed), (ScenarioVerdict::Fail, s.failed), (ScenarioVerdict::Flaky, s.flaky), (ScenarioVerdict::Error, s.error), (ScenarioVerdict::NotRun, s.not_run)] {
        let word = match v {
            ScenarioVerdict::Pass => "passed",
            ScenarioVerdict::Fail => "failed",
            ScenarioVerdict::NotRun => "not run",
            v => v.label(),
        };
        let _ = writeln!(out, "<li class=\"v-{}{}\"><b>{n}</b> {word}</li>", v.label(), if n == 0 { " zero" } else { "" });
    }
    out.push_str("</ul>\n</header>\n<main>\n");

    // The chart.
    out.push_str("<section id=\"chart\">\n<h2>Failures by failure mode</h2>\n");
    out.push_str(&chart(report));
    out.push_str("</section>\n");

    // Filters (shown by the script; the page reads fine without them).
    out.push_str("<section id=\"scenarios\">\n<h2>Scenarios</h2>\n");
    filters(&mut out, report);
    out.push_str("<p id=\"none\" class=\"muted\" hidden>No scenario matches these filters.</p>\n");

    // Scenarios: not passing first (fail, error, flaky, not run), then passing; by id within.
    let mut order: Vec<&ScenarioResult> = report.scenarios.iter().collect();
    order.sort_by_key(|r| rank(r.verdict));
    for r in order {
        scenario(&mut out, r);
    }
    out.push_str("</section>\n</main>\n");
    let _ = writeln!(
        out,
        "<footer>ratchet gate report (result schema_version {}). Render again from the JSON result file: <code>ratchet report html RESULT.json</code>.</footer>",
        report.schema_version.get()
    );
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

/// Display order of verdicts: what needs a look first.
fn rank(v: ScenarioVerdict) -> u8 {
    match v {
        ScenarioVerdict::Fail => 0,
        ScenarioVerdict::Error => 1,
        ScenarioVerdict::Flaky => 2,
        ScenarioVerdict::NotRun => 3,
        ScenarioVerdict::Pass => 4,
    }
}

fn tier_label(t: Tier) -> &'static str {
    match t {
        Tier::Fast => "fast",
        Tier::Slow => "slow",
        Tier::Archive => "archive",
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn duration(ms: u64) -> String {
    if ms < 1000 {
        format!("{ms} ms")
    } else {
        format!("{}.{} s", ms / 1000, (ms % 1000) / 100)
    }
}

/// `sha256-<base64>` of an inline element's text, for the Content-Security-Policy.
fn csp_hash(text: &str) -> String {
    format!("sha256-{}", base64(&Sha256::digest(text.as_bytes())))
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Compact JSON of a value, for tool arguments, results and memory values.
fn json(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Horizontal stacked bars: non-passing scenarios (fail, error, flaky) per failure mode.
fn chart(report: &GateReport) -> String {
    let mut clusters: BTreeMap<&str, [usize; 3]> = BTreeMap::new();
    for r in &report.scenarios {
        let slot = match r.verdict {
            ScenarioVerdict::Fail => 0,
            ScenarioVerdict::Error => 1,
            ScenarioVerdict::Flaky => 2,
            _ => continue,
        };
        clusters.entry(r.failure_mode.as_str()).or_default()[slot] += 1;
    }
    if clusters.is_empty() {
        let note = if report.summary.not_run > 0 { " (but some scenarios did not run: see below)" } else { "" };
        return format!("<p class=\"muted\">No scenario failed, errored or was flaky{note}.</p>\n");
    }
    let mut rows: Vec<(&str, [usize; 3])> = clusters.into_iter().collect();
    rows.sort_by(|a, b| b.1.iter().sum::<usize>().cmp(&a.1.iter().sum::<usize>()).then(a.0.cmp(b.0)));
    const MAX_ROWS: usize = 20;
    const MAX_LABEL: usize = 44;
    let more = rows.len().saturating_sub(MAX_ROWS);
    rows.truncate(MAX_ROWS);
    let label = |m: &str| -> String {
        if m.chars().count() > MAX_LABEL {
            m.chars().take(MAX_LABEL - 1).collect::<String>() + "…"
        } else {
            m.to_string()
        }
    };
    let longest = rows.iter().map(|(m, _)| label(m).chars().count()).max().unwrap_or(0);
    let label_w = (longest * 7 + 16).clamp(100, 340);
    let (bar_w, row_h) = (320usize, 26usize);
    let max = rows.iter().map(|(_, c)| c.iter().sum::<usize>()).max().unwrap_or(1).max(1);
    let width = label_w + bar_w + 48;
    let height = rows.len() * row_h + 30;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-labelledby=\"chart-title\">\n<title id=\"chart-title\">Non-passing scenarios by failure mode</title>"
    );
    let names = ["fail", "error", "flaky"];
    for (i, (mode, counts)) in rows.iter().enumerate() {
        let y = i * row_h;
        let total: usize = counts.iter().sum();
        let parts: Vec<String> = counts.iter().zip(names).filter(|(n, _)| **n > 0).map(|(n, v)| format!("{n} {v}")).collect();
        let _ = writeln!(
            out,
            "<g class=\"bar\" data-mode=\"{}\"><title>{}: {}</title>\n<text class=\"label\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            escape(mode),
            escape(mode),
            parts.join(", "),
            label_w - 8,
            y + 17,
            escape(&label(mode))
        );
        let mut cum = 0;
        let mut x0 = label_w;
        for (n, v) in counts.iter().zip(names) {
            if *n == 0 {
                continue;
            }
            cum += n;
            let x1 = label_w + (cum * bar_w + max / 2) / max;
            let _ = writeln!(out, "<rect class=\"seg v-{v}\" x=\"{x0}\" y=\"{}\" width=\"{}\" height=\"{}\"/>", y + 4, (x1 - x0).max(1), row_h - 8);
            x0 = x1;
        }
        let _ = writeln!(out, "<text class=\"count\" x=\"{}\" y=\"{}\">{total}</text>\n</g>", x0 + 6, y + 17);
    }
    let ly = rows.len() * row_h + 8;
    let mut lx = label_w;
    for v in names {
        let _ = writeln!(
            out,
            "<rect class=\"seg v-{v}\" x=\"{lx}\" y=\"{ly}\" width=\"12\" height=\"12\"/><text class=\"legend\" x=\"{}\" y=\"{}\">{v}</text>",
            lx + 16,
            ly + 11
        );
        lx += 70;
    }
    out.push_str("</svg>\n");
    if more > 0 {
        let _ = writeln!(out, "<p class=\"muted\">…and {more} more failure mode{} (use the failure-mode filter below).</p>", plural(more));
    }
    out
}

/// The filter controls; hidden until the script shows them.
fn filters(out: &mut String, report: &GateReport) {
    let count = |f: &dyn Fn(&ScenarioResult) -> bool| report.scenarios.iter().filter(|r| f(r)).count();
    out.push_str("<div id=\"filters\" role=\"search\" hidden>\n<label>verdict <select id=\"f-verdict\">\n<option value=\"all\">all</option>\n");
    let _ = writeln!(out, "<option value=\"failing\">not passing ({})</option>", count(&|r| r.verdict != ScenarioVerdict::Pass));
    for v in [ScenarioVerdict::Fail, ScenarioVerdict::Error, ScenarioVerdict::Flaky, ScenarioVerdict::NotRun, ScenarioVerdict::Pass] {
        let n = count(&|r| r.verdict == v);
        if n > 0 {
            let _ = writeln!(out, "<option value=\"{0}\">{0} ({n})</option>", v.label());
        }
    }
    out.push_str("</select></label>\n<label>tier <select id=\"f-tier\">\n<option value=\"all\">all</option>\n");
    for t in [Tier::Fast, Tier::Slow, Tier::Archive] {
        let n = count(&|r| r.tier == t);
        if n > 0 {
            let _ = writeln!(out, "<option value=\"{0}\">{0} ({n})</option>", tier_label(t));
        }
    }
    out.push_str("</select></label>\n<label>failure mode <select id=\"f-mode\">\n<option value=\"all\">all</option>\n");
    let modes: BTreeSet<&str> = report.scenarios.iter().map(|r| r.failure_mode.as_str()).collect();
    for m in modes {
        let n = count(&|r| r.failure_mode == m);
        let _ = writeln!(out, "<option value=\"{0}\">{0} ({n})</option>", escape(m));
    }
    out.push_str("</select></label>\n<output id=\"shown\"></output>\n</div>\n");
}

/// One scenario: a `<details>` element, open unless it passed.
fn scenario(out: &mut String, r: &ScenarioResult) {
    let v = r.verdict.label();
    let _ = writeln!(
        out,
        "<details class=\"scenario v-{v}\" id=\"{}\" data-verdict=\"{v}\" data-tier=\"{}\" data-mode=\"{}\"{}>",
        scenario_anchor(&r.id),
        tier_label(r.tier),
        escape(&r.failure_mode),
        if r.verdict == ScenarioVerdict::Pass { "" } else { " open" }
    );
    let _ = write!(
        out,
        "<summary><span class=\"badge v-{v}\">{}</span> <code class=\"sid\">{}</code> <span class=\"title\">{}</span> <span class=\"chips\"><span class=\"chip mode\">{}</span> <span class=\"chip\">{}</span>",
        v.to_uppercase(),
        escape(&r.id),
        escape(&r.title),
        escape(&r.failure_mode),
        tier_label(r.tier)
    );
    for t in &r.tags {
        let _ = write!(out, " <span class=\"chip tag\">{}</span>", escape(t));
    }
    let _ = writeln!(out, "</span> <span class=\"dur\">{}</span></summary>", duration(r.duration_ms()));
    out.push_str("<div class=\"body\">\n");
    if r.verdict != ScenarioVerdict::Pass && r.verdict != ScenarioVerdict::NotRun {
        let _ = writeln!(out, "<p class=\"headline\">{}</p>", escape(&headline(r)));
    }
    let _ = writeln!(out, "<p class=\"muted\">scenario file <code>{}</code></p>", escape(&r.file));
    if r.verdict == ScenarioVerdict::NotRun {
        out.push_str("<p class=\"muted\">Not run: the time budget ran out before this scenario started. It blocks the gate like a failure.</p>\n");
    }
    let many = r.attempts.len() > 1;
    let first_bad = r.attempts.iter().position(|a| a.verdict != ScenarioVerdict::Pass);
    for (i, a) in r.attempts.iter().enumerate() {
        let n = i + 1;
        if many {
            let _ = writeln!(
                out,
                "<details class=\"attempt v-{0}\"{1}><summary>attempt {n} of {2}: <span class=\"badge v-{0}\">{3}</span> <span class=\"dur\">{4}</span></summary>",
                a.verdict.label(),
                if Some(i) == first_bad { " open" } else { "" },
                r.attempts.len(),
                a.verdict.label().to_uppercase(),
                duration(a.duration_ms)
            );
        }
        attempt(out, r, a, n);
        if many {
            out.push_str("</details>\n");
        }
    }
    out.push_str("</div>\n</details>\n");
}

/// One attempt: error, criteria, replay notes, transcript and agent state.
fn attempt(out: &mut String, r: &ScenarioResult, a: &Attempt, n: usize) {
    if let Some(e) = &a.error {
        let _ = writeln!(out, "<div class=\"error\"><b>error</b><pre>{}</pre></div>", escape(e));
    }
    let link = |turn: u32| format!("<a href=\"#{}\">{turn}</a>", turn_anchor(&r.id, n, turn as usize));
    if !a.criteria.is_empty() {
        out.push_str("<table class=\"criteria\">\n<thead><tr><th></th><th>criterion</th><th>kind</th><th>turn</th><th>reason</th></tr></thead>\n<tbody>\n");
        for c in &a.criteria {
            let turn = match (c.turn, &a.transcript) {
                (Some(t), Some(_)) => link(t),
                (Some(t), None) => t.to_string(),
                (None, _) => String::new(),
            };
            let _ = writeln!(
                out,
                "<tr class=\"{}\"><td class=\"ok\">{}</td><td><code>{}</code></td><td class=\"kind\">{}</td><td class=\"num\">{turn}</td><td class=\"reason\">{}</td></tr>",
                if c.passed { "crit pass" } else { "crit bad" },
                if c.passed { "✓" } else { "✗" },
                escape(&c.id),
                escape(&c.kind),
                escape(&c.reason)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    } else if a.error.is_none() {
        out.push_str("<p class=\"muted\">No criteria were evaluated.</p>\n");
    }
    if !a.notes.is_empty() {
        out.push_str("<h4>Replay notes</h4>\n<ul class=\"notes\">\n");
        for note in &a.notes {
            let kind = serde_json::to_value(note.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let turn = if a.transcript.is_some() { link(note.turn) } else { note.turn.to_string() };
            let version = note.version.as_deref().map(|v| format!(" version <code>{}</code>", escape(v))).unwrap_or_default();
            let _ = writeln!(
                out,
                "<li><b>{}</b> at turn {turn}: <code>{}</code>{version} arguments <code>{}</code></li>",
                escape(&kind),
                escape(&note.tool),
                escape(&json(&note.arguments))
            );
        }
        out.push_str("</ul>\n");
    }
    match &a.transcript {
        Some(t) => {
            out.push_str("<div class=\"cols\">\n");
            transcript(out, r, a, n, t);
            state(out, &t.state);
            out.push_str("</div>\n");
        }
        None if a.verdict != ScenarioVerdict::Pass => {
            out.push_str("<p class=\"muted\">No transcript: the replay did not start, so there is no agent state to show either.</p>\n");
        }
        None => {}
    }
}

/// The replayed transcript; turns that failing criteria point at are highlighted.
fn transcript(out: &mut String, r: &ScenarioResult, a: &Attempt, n: usize, t: &Conversation) {
    let mut failing: BTreeMap<usize, Vec<&CriterionOutcome>> = BTreeMap::new();
    for c in a.criteria.iter().filter(|c| !c.passed) {
        if let Some(turn) = c.turn {
            failing.entry(turn as usize).or_default().push(c);
        }
    }
    let noted: BTreeSet<usize> = a.notes.iter().map(|x| x.turn as usize).collect();
    let mut about = vec![format!("{} turn{}", t.turns.len(), plural(t.turns.len()))];
    about.push(format!("{:?}", t.channel).to_lowercase());
    if t.outcome.escalated {
        about.push("escalated to a human".into());
    }
    if let Some(e) = &t.outcome.ended_reason {
        about.push(format!("ended: {}", escape(e)));
    }
    let _ = writeln!(out, "<div class=\"transcript-box\">\n<h4>Transcript <span class=\"muted\">({})</span></h4>\n<ol class=\"transcript\">", about.join(", "));
    for (i, turn) in t.turns.iter().enumerate() {
        let role = match turn.role {
            Role::Customer => "customer",
            Role::Agent => "agent",
            Role::Tool => "tool",
            Role::System => "system",
        };
        let mut class = format!("turn r-{role}");
        if failing.contains_key(&i) {
            class.push_str(" focus");
        }
        if noted.contains(&i) {
            class.push_str(" noted");
        }
        let _ = write!(
            out,
            "<li class=\"{class}\" id=\"{}\"><span class=\"n\">{i}</span><span class=\"role\">{role}</span><div class=\"content\">",
            turn_anchor(&r.id, n, i)
        );
        turn_content(out, turn);
        if let Some(cs) = failing.get(&i) {
            for c in cs {
                let _ = write!(out, "<p class=\"why\">✗ <code>{}</code> {}</p>", escape(&c.id), escape(&c.reason));
            }
        }
        out.push_str("</div></li>\n");
    }
    out.push_str("</ol>\n</div>\n");
}

fn turn_content(out: &mut String, turn: &Turn) {
    if !turn.text.is_empty() {
        let _ = write!(out, "<p class=\"text\">{}</p>", escape(&turn.text));
    }
    for c in &turn.tool_calls {
        let _ = write!(out, "<p class=\"call\">→ <code class=\"tool\">{}</code>(<code>{}</code>)</p>", escape(&c.name), escape(&json(&c.arguments)));
    }
    if let Some(res) = &turn.tool_result {
        let _ = write!(
            out,
            "<p class=\"result{}\">← <code class=\"tool\">{}</code>{} <code>{}</code></p>",
            if res.is_error { " is-error" } else { "" },
            escape(&res.name),
            if res.is_error { " <b>error</b>" } else { "" },
            escape(&json(&res.content))
        );
    }
}

/// The agent state the scenario ran with.
fn state(out: &mut String, s: &AgentState) {
    let opt = |v: &Option<String>| match v {
        Some(v) => format!("<code>{}</code>", escape(v)),
        None => "<span class=\"muted\">not recorded</span>".into(),
    };
    out.push_str("<div class=\"state\">\n<h4>Agent state</h4>\n<dl>\n");
    let _ = writeln!(out, "<dt>prompt version</dt><dd>{}</dd>", opt(&s.prompt_version));
    let _ = writeln!(out, "<dt>model</dt><dd>{}</dd>", opt(&s.model));
    let _ = writeln!(out, "<dt>KB version hash</dt><dd>{}</dd>", opt(&s.kb_version_hash));
    let rt = &s.routing;
    let mut routing = Vec::new();
    for (k, v) in [("time of day", &rt.time_of_day), ("locale", &rt.locale), ("queue", &rt.queue)] {
        if let Some(v) = v {
            routing.push(format!("{k} <code>{}</code>", escape(v)));
        }
    }
    for (k, v) in &rt.extra {
        routing.push(format!("{} <code>{}</code>", escape(k), escape(v)));
    }
    let routing = if routing.is_empty() { "<span class=\"muted\">not recorded</span>".to_string() } else { routing.join(" · ") };
    let _ = writeln!(out, "<dt>routing</dt><dd>{routing}</dd>\n</dl>");
    out.push_str("<table class=\"kv\"><caption>memory snapshot</caption>\n");
    if s.memory_snapshot.is_empty() {
        out.push_str("<tr><td class=\"muted\">empty</td></tr>\n");
    }
    for e in &s.memory_snapshot {
        let _ = writeln!(out, "<tr><th><code>{}</code></th><td><code>{}</code></td></tr>", escape(&e.key), escape(&json(&e.value)));
    }
    out.push_str("</table>\n<table class=\"kv\"><caption>tool registry</caption>\n");
    if s.tool_registry.is_empty() {
        out.push_str("<tr><td class=\"muted\">empty</td></tr>\n");
    }
    for t in &s.tool_registry {
        let _ = writeln!(out, "<tr><th><code>{}</code></th><td><code>{}</code></td></tr>", escape(&t.id), escape(&t.version));
    }
    out.push_str("</table>\n</div>\n");
}

/// The page's style sheet (hashed into the Content-Security-Policy).
const STYLE: &str = r##"
:root{--bg:#fff;--fg:#1b1f24;--muted:#5c6670;--line:#d8dde3;--panel:#f5f7f9;--code:#eef1f4;
--pass:#1a7f37;--fail:#cf222e;--error:#8250df;--flaky:#bf8700;--not-run:#6e7781;--focus:#fff1c2;--focus-line:#d4a72c;--bad:#ffebe9}
@media (prefers-color-scheme: dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--panel:#161b22;--code:#1f2630;
--pass:#3fb950;--fail:#f85149;--error:#a371f7;--flaky:#d29922;--not-run:#8b949e;--focus:#3b2e00;--focus-line:#d29922;--bad:#3c1618}}
[hidden]{display:none !important}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif}
header,main,footer{max-width:1240px;margin:0 auto;padding:12px 20px}
h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:18px 0 8px}h4{font-size:14px;margin:12px 0 6px}
code,pre{font:12.5px/1.4 ui-monospace,"SFMono-Regular",Menlo,Consolas,monospace}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:4px 0}
.muted{color:var(--muted)}
header.gate{border-bottom:3px solid var(--line)}
header.passed{border-color:var(--pass)}header.blocked{border-color:var(--fail)}
.passed .mark{color:var(--pass)}.blocked .mark{color:var(--fail)}
.meta{color:var(--muted);margin:4px 0}
.counts{list-style:none;display:flex;flex-wrap:wrap;gap:8px;padding:0;margin:8px 0}
.counts li{padding:3px 10px;border-radius:12px;background:var(--panel);border:1px solid var(--line)}
.counts li.zero{opacity:.55}
.counts li.v-pass b{color:var(--pass)}.counts li.v-fail b{color:var(--fail)}.counts li.v-error b{color:var(--error)}
.counts li.v-flaky b{color:var(--flaky)}.counts li.v-not-run b{color:var(--not-run)}
svg.chart{max-width:100%;height:auto}
svg .label,svg .count,svg .legend{fill:var(--fg);font:12px ui-monospace,Menlo,Consolas,monospace}
.seg.v-fail{fill:var(--fail)}.seg.v-error{fill:var(--error)}.seg.v-flaky{fill:var(--flaky)}
.js .bar{cursor:pointer}.bar.active .label{font-weight:bold;text-decoration:underline}
#filters{display:flex;flex-wrap:wrap;gap:14px;align-items:center;padding:8px 10px;margin-bottom:10px;background:var(--panel);border:1px solid var(--line);border-radius:6px}
#filters select{margin-left:4px}#shown{color:var(--muted)}
details.scenario{border:1px solid var(--line);border-left:5px solid var(--not-run);border-radius:6px;margin:8px 0;background:var(--bg)}
details.scenario.v-pass{border-left-color:var(--pass)}details.scenario.v-fail{border-left-color:var(--fail)}
details.scenario.v-error{border-left-color:var(--error)}details.scenario.v-flaky{border-left-color:var(--flaky)}
details.scenario>summary{cursor:pointer;padding:8px 10px;background:var(--panel);border-radius:6px}
details.scenario[open]>summary{border-bottom:1px solid var(--line);border-radius:6px 6px 0 0}
.body{padding:4px 14px 12px}
.badge{display:inline-block;min-width:54px;text-align:center;font-weight:bold;font-size:11px;padding:1px 6px;border-radius:4px;color:#fff;background:var(--not-run)}
.badge.v-pass{background:var(--pass)}.badge.v-fail{background:var(--fail)}.badge.v-error{background:var(--error)}.badge.v-flaky{background:var(--flaky)}
.sid{font-weight:bold}.title{margin:0 4px}
.chip{display:inline-block;font-size:11px;padding:0 6px;border-radius:9px;border:1px solid var(--line);color:var(--muted)}
.chip.mode{color:var(--fg)}.dur{float:right;color:var(--muted);font-size:12px}
.headline{font-weight:600;margin:8px 0}
.error{border:1px solid var(--error);border-radius:4px;padding:4px 8px;margin:8px 0}
table{border-collapse:collapse;margin:8px 0}
th,td{text-align:left;vertical-align:top;padding:3px 8px;border-bottom:1px solid var(--line)}
caption{text-align:left;font-weight:600;padding:4px 0}
table.criteria{width:100%}td.num{text-align:right}td.ok{font-weight:bold}td.kind{white-space:nowrap}
tr.crit.pass td.ok{color:var(--pass)}
tr.crit.bad{background:var(--bad)}tr.crit.bad td.ok{color:var(--fail)}
.cols{display:grid;grid-template-columns:minmax(0,2fr) minmax(260px,1fr);gap:18px}
@media (max-width:900px){.cols{grid-template-columns:1fr}}
ol.transcript{list-style:none;padding:0;margin:0}
.turn{display:grid;grid-template-columns:34px 72px minmax(0,1fr);gap:6px;padding:4px 6px;border-left:3px solid transparent;border-bottom:1px solid var(--line)}
.turn .n{color:var(--muted);text-align:right;font-family:ui-monospace,Menlo,Consolas,monospace}
.turn .role{font-weight:600}.r-customer .role{color:#0969da}.r-tool .role,.r-system .role{color:var(--muted)}
.turn p{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
.turn.noted{border-left-color:var(--flaky)}
.turn.focus{background:var(--focus);border-left-color:var(--focus-line)}
.turn:target{outline:2px solid var(--focus-line)}
.why{color:var(--fail);margin-top:4px !important}.why code{font-weight:bold}
.result.is-error{color:var(--fail)}
.state dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;margin:0}
.state dt{color:var(--muted)}.state dd{margin:0;overflow-wrap:anywhere}
table.kv{width:100%}table.kv th{font-weight:normal}
footer{color:var(--muted);font-size:12px;border-top:1px solid var(--line);margin-top:20px}
"##;

/// The page's script (hashed into the Content-Security-Policy). It only filters; it
/// reads everything it needs from `data-*` attributes, never from embedded data.
const SCRIPT: &str = r##"
(function () {
  "use strict";
  var d = document;
  d.documentElement.classList.add("js");
  var box = d.getElementById("filters");
  if (!box) return;
  box.hidden = false;
  var keys = ["verdict", "tier", "mode"];
  var sel = {};
  keys.forEach(function (k) { sel[k] = d.getElementById("f-" + k); });
  var items = Array.prototype.slice.call(d.querySelectorAll("details.scenario"));
  var bars = Array.prototype.slice.call(d.querySelectorAll("svg .bar"));
  function matches(el) {
    var v = sel.verdict.value, ev = el.getAttribute("data-verdict");
    if (v === "failing" ? ev === "pass" : (v !== "all" && ev !== v)) return false;
    if (sel.tier.value !== "all" && el.getAttribute("data-tier") !== sel.tier.value) return false;
    if (sel.mode.value !== "all" && el.getAttribute("data-mode") !== sel.mode.value) return false;
    return true;
  }
  function apply() {
    var n = 0;
    items.forEach(function (el) { var ok = matches(el); el.hidden = !ok; if (ok) n++; });
    d.getElementById("shown").textContent = n + " of " + items.length + " shown";
    d.getElementById("none").hidden = n !== 0;
    bars.forEach(function (b) { b.classList.toggle("active", b.getAttribute("data-mode") === sel.mode.value); });
  }
  function fromHash() {
    var h = location.hash.replace(/^#/, "");
    if (h.indexOf("=") < 0) return false;
    keys.forEach(function (k) { sel[k].value = "all"; });
    h.split("&").forEach(function (kv) {
      var i = kv.indexOf("=");
      if (i < 0) return;
      var k = decodeURIComponent(kv.slice(0, i)), v = decodeURIComponent(kv.slice(i + 1)), s = sel[k];
      if (!s) return;
      for (var j = 0; j < s.options.length; j++) if (s.options[j].value === v) s.value = v;
    });
    return true;
  }
  function toHash() {
    var parts = [];
    keys.forEach(function (k) { if (sel[k].value !== "all") parts.push(k + "=" + encodeURIComponent(sel[k].value)); });
    try { history.replaceState(null, "", parts.length ? "#" + parts.join("&") : location.pathname + location.search); } catch (e) {}
  }
  function reveal() {
    var h = location.hash.replace(/^#/, "");
    if (!h || h.indexOf("=") >= 0) return;
    var el = d.getElementById(decodeURIComponent(h));
    for (var p = el; p; p = p.parentElement) if (p.tagName === "DETAILS") { p.open = true; p.hidden = false; }
    if (el) el.scrollIntoView();
  }
  keys.forEach(function (k) { sel[k].addEventListener("change", function () { toHash(); apply(); }); });
  bars.forEach(function (b) {
    b.addEventListener("click", function () {
      var m = b.getAttribute("data-mode");
      sel.mode.value = sel.mode.value === m ? "all" : m;
      toHash(); apply();
    });
  });
  window.addEventListener("hashchange", function () { if (fromHash()) apply(); else reveal(); });
  fromHash();
  apply();
  reveal();
})();
"##;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(escape(r#"<script>alert("x")</script> & 'y'"#), "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
    }

    #[test]
    fn anchors_are_injective_and_attribute_safe() {
        assert_eq!(scenario_anchor("cancel-never-started"), "s-cancel-never-started");
        assert_ne!(scenario_anchor("a b"), scenario_anchor("a_20_b"));
        assert_ne!(scenario_anchor("a_b"), scenario_anchor("a-b"));
        let hostile = scenario_anchor("\"><script>");
        assert!(hostile.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c)), "{hostile}");
        assert_eq!(turn_anchor("x", 1, 3), "s-x-a1-t3");
    }

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }
}
