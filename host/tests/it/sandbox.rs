//! The sandbox holds: every hostile guest is contained with a clear, typed error,
//! the host never panics or hangs, and the same call gives the same bytes.

use crate::common;

use std::time::{Duration, Instant};

use common::*;
use ratchet::config::Limits;
use ratchet::plugin::{Failure, WorldKind};
use ratchet::schema::canonical_json;
use serde_json::json;

#[test]
fn infinite_loop_runs_out_of_fuel() {
    let p = load("guest-infinite-loop", tight());
    let started = Instant::now();
    let err = p.score(&conversation("minimal-chat.json"), &json!({})).unwrap_err();
    assert_eq!(err.failure, Failure::OutOfFuel { limit: 200_000_000 }, "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let msg = err.to_string();
    assert!(msg.contains("guest-infinite-loop") && msg.contains("sha256:"), "error must name the plugin and digest: {msg}");
}

#[test]
fn infinite_loop_with_endless_fuel_hits_the_wall_clock_backstop() {
    let limits = Limits { fuel: u64::MAX / 2, timeout_ms: 300, ..tight() };
    let p = load("guest-infinite-loop", limits);
    let started = Instant::now();
    let err = p.score(&conversation("minimal-chat.json"), &json!({})).unwrap_err();
    assert_eq!(err.failure, Failure::Timeout { timeout_ms: 300 }, "{err}");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(290) && took < Duration::from_secs(5), "took {took:?}");
}

#[test]
fn memory_bomb_hits_the_memory_limit() {
    let limits = Limits { fuel: 5_000_000_000, ..tight() };
    let p = load("guest-memory-bomb", limits);
    let err = p.score(&conversation("minimal-chat.json"), &json!({})).unwrap_err();
    assert_eq!(err.failure, Failure::OutOfMemory { limit_mib: 32 }, "{err}");
}

#[test]
fn panic_is_a_trap_carrying_the_guest_message() {
    let p = load("guest-trap", tight());
    let err = p.score(&conversation("minimal-chat.json"), &json!({})).unwrap_err();
    match &err.failure {
        Failure::Trap { reason: Some(reason), .. } => assert!(reason.contains("deliberate panic from guest-trap"), "{reason}"),
        other => panic!("expected a trap with the panic message, got {other:?}"),
    }
}

#[test]
fn huge_output_is_refused() {
    let limits = Limits { fuel: 5_000_000_000, memory_mib: 256, ..tight() };
    let p = load("guest-huge-output", limits);
    let err = p.score(&conversation("minimal-chat.json"), &json!({})).unwrap_err();
    assert!(matches!(err.failure, Failure::OutputTooLarge { limit, .. } if limit == 4 << 20), "{err}");
}

#[test]
fn out_of_range_score_is_malformed_output() {
    let p = load("guest-bad-score", tight());
    let err = p.score(&conversation("minimal-chat.json"), &json!({})).unwrap_err();
    match &err.failure {
        Failure::MalformedOutput(m) => assert!(m.contains("score") && m.contains("outside [0, 1]"), "{m}"),
        other => panic!("expected malformed output, got {other:?}"),
    }
}

#[test]
fn log_flood_is_bounded() {
    let limits = Limits { fuel: 5_000_000_000, max_log_lines: 50, ..tight() };
    let p = load("guest-log-flood", limits);
    let call = p.score(&conversation("minimal-chat.json"), &json!({})).unwrap();
    assert_eq!(call.logs.len(), 50);
    assert_eq!(call.logs_dropped, 1_000_000 - 50);
}

#[test]
fn wasi_guest_sees_a_fixed_clock_and_seeded_random() {
    let p = load("guest-wasi-clock-random", tight());
    assert!(p.uses_wasi());
    let conv = conversation("minimal-chat.json");
    let first = canonical_json(&serde_json::to_value(p.score(&conv, &json!({})).unwrap().output).unwrap());
    for _ in 0..20 {
        let again = canonical_json(&serde_json::to_value(p.score(&conv, &json!({})).unwrap().output).unwrap());
        assert_eq!(first, again, "a WASI guest must be deterministic");
    }
    // The fixed wall clock (2026-01-01T00:00:00Z) is what the guest read.
    assert!(first.contains("1767225600"), "{first}");
    // Another seed gives other random bytes, the same clock.
    let p2 = load("guest-wasi-clock-random", Limits { wasi_random_seed: 42, ..tight() });
    let other = canonical_json(&serde_json::to_value(p2.score(&conv, &json!({})).unwrap().output).unwrap());
    assert_ne!(first, other);
    assert!(other.contains("1767225600"));
}

#[test]
fn the_same_call_repeated_gives_identical_bytes() {
    let p = load("scorecard-support-policy", Limits::default());
    let conv = conversation("tuesday-cancellation.json");
    let first = p.score(&conv, &json!({})).unwrap();
    let first_bytes = canonical_json(&serde_json::to_value(&first.output).unwrap());
    for i in 0..100 {
        let c = p.score(&conv, &json!({})).unwrap();
        assert_eq!(canonical_json(&serde_json::to_value(&c.output).unwrap()), first_bytes, "call {i} differs");
        assert_eq!(c.stats.fuel_consumed, first.stats.fuel_consumed, "fuel differs on call {i}");
    }
}

#[test]
fn calling_the_wrong_world_is_a_typed_error() {
    let p = load("assertion-no-false-confirmation", tight());
    assert_eq!(p.world().kind, WorldKind::Assertion);
    let err = p.score(&conversation("minimal-chat.json"), &json!({})).unwrap_err();
    assert!(matches!(err.failure, Failure::WrongWorld(_)), "{err}");
}

#[test]
fn components_that_are_not_plugins_are_refused() {
    // A core module, not a component.
    let err = runtime().load("core", b"(module)", tight()).unwrap_err();
    assert!(matches!(err.failure, Failure::Compile(_)), "{err}");
    // A component that implements no ratchet world.
    let err = runtime().load("empty", b"(component)", tight()).unwrap_err();
    assert!(matches!(err.failure, Failure::WrongWorld(_)), "{err}");
    // Not Wasm at all.
    let err = runtime().load("text", b"hello", tight()).unwrap_err();
    assert!(matches!(err.failure, Failure::Compile(_)), "{err}");
}

/// The conversation a guest receives is the one the host sent, every field of it: the
/// host lowers it from borrowed data (`plugin::v0_1::borrowed`), and a guest echoing
/// it back as canonical JSON must give the host's canonical JSON, byte for byte.
#[test]
fn a_guest_receives_every_field_of_the_conversation() {
    let p = load("guest-state-leak", tight());
    let full: ratchet::schema::Conversation = serde_json::from_value(json!({
        "schema_version": 1, "id": "conv-ünïcode-1", "channel": "voice", "started_at": "2026-11-24T09:31:04Z",
        "turns": [
            {"role": "system", "text": "You are a support agent.", "offset_ms": 0},
            {"role": "customer", "text": "Je veux annuler — \"tout\" 💥\n", "offset_ms": 1200, "latency_ms": 5},
            {"role": "agent", "text": "", "tool_calls": [
                {"id": "c1", "name": "lookup_account", "arguments": {"email": "a@example.com", "n": [1, 2.5, null, true]}},
                {"id": "c2", "name": "noop", "arguments": {}}
            ], "latency_ms": 840},
            {"role": "tool", "tool_result": {"call_id": "c1", "name": "lookup_account", "content": {"status": "active", "nested": {"z": 1, "a": "x"}}, "is_error": false}},
            {"role": "tool", "tool_result": {"call_id": "c2", "name": "noop", "content": "timeout", "is_error": true}},
            {"role": "agent", "text": "Done."}
        ],
        "outcome": {"escalated": true, "complaint": true, "compliance_flags": ["pci:card-read-back", "compliance:refund"], "ended_reason": "customer-hung-up"},
        "impact": {"revenue_at_risk": 120.5, "refund_amount": 30.0, "compliance_exposure": 1000.0, "escalation_cost": 7.25, "currency": "EUR"},
        "state": {
            "memory_snapshot": [{"key": "account.subscription_status", "value": "active"}, {"key": "cart", "value": {"items": [1, 2]}}],
            "kb_version_hash": "sha256:abc", "tool_registry": [{"id": "lookup_account", "version": "1.4.0"}, {"id": "noop", "version": "0.1"}],
            "prompt_version": "support-v7", "model": "gpt-x",
            "routing": {"time_of_day": "evening", "locale": "fr-FR", "queue": "billing", "extra": {"tier": "gold", "b": "2"}}
        }
    }))
    .unwrap();
    for c in [full, conversation("minimal-chat.json"), conversation("tuesday-cancellation.json")] {
        let out = p.score(&c, &json!("echo")).unwrap().output;
        assert_eq!(out.criteria[0].reason, canonical_json(&serde_json::to_value(&c).unwrap()), "conversation `{}` arrived changed", c.id);
    }
}

#[test]
fn every_call_gets_a_fresh_instance() {
    let p = load("guest-state-leak", tight());
    for _ in 0..10 {
        let out = p.score(&conversation("minimal-chat.json"), &json!({})).unwrap().output;
        assert_eq!(out.criteria[0].reason, "call #1", "state leaked between calls");
    }
}
