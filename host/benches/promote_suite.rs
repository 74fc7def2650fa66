//! Time to promote one scenario against suites of 1,000 / 10,000 / 50,000
//! scenarios: the naive way (exact strsim similarity against every scenario) vs the
//! exact upper-bound pre-filter, with the fingerprint index warm (the normal case)
//! and cold (first promote after a clone: every file parsed).
//!
//! `cargo bench -p ratchet --bench promote_suite` (RATCHET_BENCH_SIZES=1000,10000 to
//! pick sizes). Prints figures; asserts nothing.

use std::path::Path;
use std::time::{Duration, Instant};

use ratchet::config::PromoteConfig;
use ratchet::promote::{self, similarity::Fingerprint};
use ratchet::regenerate::render::{to_toml, Notes};
use ratchet::schema::{Check, Criterion, Fixture, Provenance, Scenario, ScriptedTurn};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

const WORDS: &[&str] = &[
    "cancel",
    "subscription",
    "premium",
    "refund",
    "charge",
    "charged",
    "email",
    "never",
    "signed",
    "account",
    "plan",
    "billing",
    "last",
    "month",
    "twice",
    "card",
    "wrong",
    "order",
    "delivery",
    "late",
    "password",
    "reset",
    "login",
    "locked",
    "upgrade",
    "downgrade",
    "invoice",
    "address",
    "change",
    "human",
    "manager",
    "trial",
    "ended",
    "renewal",
    "price",
    "increase",
    "discount",
    "coupon",
    "expired",
    "payment",
    "failed",
    "bank",
    "statement",
    "fee",
    "double",
];
const TOOLS: &[&str] = &["lookup_account", "cancel_subscription", "issue_refund", "escalate", "update_address", "reset_password", "apply_coupon"];

fn scenario(rng: &mut Rng, i: usize, modes: usize) -> Scenario {
    let mode = format!("failure-mode-{}", rng.next() % modes as u64);
    let turns =
        (0..1 + rng.next() % 3).map(|_| ScriptedTurn { text: (0..6 + rng.next() % 14).map(|_| rng.pick(WORDS)).collect::<Vec<_>>().join(" ") }).collect();
    let tool = rng.pick(TOOLS).to_string();
    let criteria = vec![
        Criterion {
            id: "a".into(),
            why: None,
            check: Check::MustNotCallTool { tool: tool.clone(), unless: None, arguments: None, ordered: false, count_failed_attempts: false },
        },
        Criterion { id: "b".into(), why: None, check: if rng.next() % 2 == 0 { Check::MustEscalate {} } else { Check::MustNotSay { pattern: "x".into() } } },
    ];
    let fixtures = vec![Fixture {
        tool,
        version: "1".into(),
        arguments: serde_json::json!({"n": i}),
        result: Some(serde_json::json!({"ok": true})),
        result_json: None,
        is_error: false,
    }];
    Scenario {
        schema_version: Default::default(),
        id: format!("s{i:06}"),
        title: "synthetic".into(),
        failure_mode: mode,
        tags: vec![],
        tier: Default::default(),
        channel: ratchet::schema::Channel::Chat,
        provenance: Provenance { source_conversations: vec![format!("c{i}")], hits: 1, ..Default::default() },
        impact: Default::default(),
        state: Default::default(),
        labels: Default::default(),
        turns,
        script: None,
        fixtures,
        world: None,
        criteria,
        history: vec![],
        recording: None,
    }
}

fn write_suite(dir: &Path, n: usize, modes: usize) -> Scenario {
    let mut rng = Rng(0x9e3779b97f4a7c15);
    for i in 0..n {
        let s = scenario(&mut rng, i, modes);
        let sub = dir.join(&s.failure_mode);
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("{}.toml", s.id)), to_toml(&s, &Notes::default())).unwrap();
    }
    let mut c = scenario(&mut rng, n + 1, modes);
    c.id = "candidate".into();
    c
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let t = Instant::now();
    let r = f();
    (r, t.elapsed())
}

fn main() {
    let sizes: Vec<usize> = std::env::var("RATCHET_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 50_000]);
    let cfg = PromoteConfig::default();
    println!("promote one scenario (dry run: decide, write nothing); suites with 20 failure-mode clusters, and with 1 (worst case for the pre-filter)");
    println!(
        "{:>7} {:>8} {:>12} {:>12} {:>10} {:>11} {:>14} {:>14} {:>10}",
        "suite", "clusters", "cold index", "warm naive", "warm fast", "index load", "search naive", "search fast", "compared"
    );
    for &n in &sizes {
        for modes in [20, 1] {
            let tmp = tempfile::tempdir().unwrap();
            let cand = write_suite(tmp.path(), n, modes);
            let text = to_toml(&cand, &Notes::default());
            let batch = vec![(tmp.path().join("candidate.toml"), cand.clone(), text)];
            let opts = |prefilter| promote::Options {
                config: cfg.clone(),
                now: "2026-11-29T00:00:00Z".into(),
                prefilter,
                dry_run: true,
                lock_timeout: Duration::from_secs(5),
                only_archived: false,
                rules: Default::default(),
            };
            let (_, cold) = time(|| promote::promote(tmp.path(), &batch, &opts(true)).unwrap());
            let (_, naive) = time(|| promote::promote(tmp.path(), &batch, &opts(false)).unwrap());
            let ((outcomes, _), fast) = time(|| promote::promote(tmp.path(), &batch, &opts(true)).unwrap());
            // The comparison alone, index in memory; and loading the warm index.
            let ((entries, _), load) = time(|| promote::load_index(tmp.path()).unwrap());
            let fp = Fingerprint::of(&cand);
            let reps = 5;
            let (_, s_naive) = time(|| (0..reps).map(|_| promote::search(&fp, &entries, &cfg, false).1).sum::<usize>());
            let (_, s_fast) = time(|| (0..reps).map(|_| promote::search(&fp, &entries, &cfg, true).1).sum::<usize>());
            println!(
                "{:>7} {:>8} {:>9.0} ms {:>9.1} ms {:>7.1} ms {:>8.1} ms {:>11.2} ms {:>11.2} ms {:>10}",
                n,
                modes,
                cold.as_secs_f64() * 1e3,
                naive.as_secs_f64() * 1e3,
                fast.as_secs_f64() * 1e3,
                load.as_secs_f64() * 1e3,
                s_naive.as_secs_f64() * 1e3 / reps as f64,
                s_fast.as_secs_f64() * 1e3 / reps as f64,
                outcomes[0].compared
            );
        }
    }
}
