//! The scorecard against the ground truth: `examples/shop/testdata/traffic.jsonl`
//! is one run of every task of the example shop under both agent versions
//! (`examples/shop/generate.py --runs 1`), and `labels.jsonl` says which failures
//! really happened in each conversation, from what the backend did. The
//! scorecard must flag exactly those, most severe first, and pass every
//! conversation of the correct agent.

use std::collections::BTreeMap;
use std::path::Path;

use ratchet_sdk::{json, Conversation, Scorecard, Value};
use scorecard_shop::Shop;

#[test]
fn flags_exactly_the_failures_that_happened() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop/testdata");
    let labels: BTreeMap<String, Value> = std::fs::read_to_string(dir.join("labels.jsonl"))
        .expect("labels")
        .lines()
        .map(|l| {
            let v: Value = ratchet_sdk::serde_json::from_str(l).expect("a label");
            (v["id"].as_str().expect("an id").to_string(), v)
        })
        .collect();
    let mut checked = 0;
    let mut flagged = 0;
    for line in std::fs::read_to_string(dir.join("traffic.jsonl")).expect("traffic").lines() {
        let c = Conversation::from_json(line).expect("a canonical conversation");
        let label = &labels[&c.id];
        let r = Shop::score(&c, &json!({})).expect("score");
        assert_eq!(json!(r.flags), label["failures"], "{} ({}, {})", c.id, label["task"], label["version"]);
        assert_eq!(json!(r.failure_mode), label["failure"], "{}", c.id);
        assert_eq!(r.all_passed(), label["failure"].is_null());
        if !r.all_passed() {
            assert!(!r.suggested_criteria.is_empty(), "{}: a finding without a criterion", c.id);
            flagged += 1;
        }
        checked += 1;
    }
    assert_eq!((checked, flagged), (50, 22), "25 tasks x 2 versions; 22 buggy runs fail");
}
