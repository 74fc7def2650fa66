//! A verdict never depends on what the plugin scored before, nor on how the stream is
//! ordered or split (issue 20's guarantee, end to end). Three scorecards keep state on
//! purpose and put it in every verdict: guest-state-leak (a Rust `static`),
//! guest-state-leak-py (a module-level list), guest-state-leak-js (a module-level
//! array), each answering `call #N; previous: ID` and failing (params `{"fail": true}`), so
//! every conversation is written as an event. `ratchet detect` over the same
//! conversations in file order, shuffled, split across `--partition k/3` and across
//! `--processes 2` must write every conversation's event byte for byte the same, and
//! that event must say `call #1; previous: none`: a fresh instance per conversation.
//! Any faster way of running plugins (reusing instances) must keep this green.

use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::*;

const N: usize = 12;

/// `ratchet detect` in `dir` on the conversations `order` (extra-NNNN ids) with
/// `args`: each written event's line, by conversation id.
fn events(dir: &Path, order: &[usize], args: &[&str], tag: &str) -> BTreeMap<String, String> {
    let input = dir.join(format!("{tag}.jsonl"));
    let lines: Vec<String> = order.iter().map(|&i| sample_extra(i).to_string()).collect();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let out = dir.join(format!("{tag}.events.jsonl"));
    let o = Command::new(env!("CARGO_BIN_EXE_ratchet"))
        .current_dir(dir)
        .env("RATCHET_CACHE_DIR", test_cache_dir())
        .env_remove("RATCHET_CONFIG")
        .args(["detect", input.to_str().unwrap(), "-o", out.to_str().unwrap()])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{tag}: {}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (v["conversation"]["id"].as_str().unwrap().to_string(), l.to_string())
        })
        .collect()
}

/// Python and JavaScript plugins do run on restored live instances (so the test below
/// exercises them), and keep doing so call after call; Rust ones get fresh instances.
#[test]
fn large_plugins_run_on_restored_instances() {
    for (guest, reused) in [("guest-state-leak", false), ("guest-state-leak-py", true), ("guest-state-leak-js", true), ("scorecard-support-policy-py", true)] {
        let p = load(guest, tight());
        for id in ["a", "b", "c"] {
            let mut c = conversation("minimal-chat.json");
            c.id = id.into();
            let params = if guest.contains("state-leak") { serde_json::json!({"fail": true}) } else { serde_json::json!({}) };
            let out = p.score(&c, &params).unwrap().output;
            if guest.contains("state-leak") {
                assert_eq!(out.criteria[0].reason, "call #1; previous: none", "{guest}");
            }
        }
        assert_eq!(p.reuses_instances(), reused, "{guest}");
    }
}

/// A call on a restored live instance costs what a fresh instance's call costs, fuel
/// (instantiation included) and peak memory, and answers the same bytes, on every
/// shipped Python and JavaScript scorecard and assertion's samples.
#[test]
fn restored_and_fresh_calls_agree_on_answers_fuel_and_memory() {
    for (name, kind) in [
        ("scorecard-support-policy-py", "score"),
        ("scorecard-support-policy-js", "score"),
        ("assertion-no-false-confirmation-js", "check"),
        ("guest-state-leak-py", "score"),
    ] {
        let live = load(name, tight());
        let fresh = load(name, tight()).without_reuse();
        for sample in ["tuesday-cancellation.json", "minimal-chat.json", "tuesday-cancellation.json"] {
            let c = conversation(sample);
            let (a, b) = match kind {
                "score" => {
                    let (a, b) = (live.score(&c, &serde_json::json!({})).unwrap(), fresh.score(&c, &serde_json::json!({})).unwrap());
                    ((serde_json::to_string(&a.output).unwrap(), a.stats), (serde_json::to_string(&b.output).unwrap(), b.stats))
                }
                _ => {
                    let (a, b) = (live.check(&c, &serde_json::json!({})).unwrap(), fresh.check(&c, &serde_json::json!({})).unwrap());
                    ((serde_json::to_string(&a.output).unwrap(), a.stats), (serde_json::to_string(&b.output).unwrap(), b.stats))
                }
            };
            assert_eq!(a.0, b.0, "{name} {sample}: answers");
            assert_eq!(a.1.fuel_consumed, b.1.fuel_consumed, "{name} {sample}: fuel");
            assert_eq!(a.1.peak_memory_bytes, b.1.peak_memory_bytes, "{name} {sample}: peak memory");
        }
        assert!(live.reuses_instances(), "{name}");
    }
}

#[test]
fn stateful_plugins_give_every_conversation_the_same_verdict_in_every_order_and_split() {
    for guest in ["guest-state-leak", "guest-state-leak-py", "guest-state-leak-js"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::copy(component(guest), dir.join("leak.wasm")).unwrap();
        let toml =
            "[plugins.leak]\npath = \"leak.wasm\"\n\n[[detect.scorecards]]\nname = \"leak\"\nplugin = \"leak\"\nthreshold = 0.7\nparams = { fail = true }\n";
        std::fs::write(dir.join("ratchet.toml"), toml).unwrap();

        let in_order: Vec<usize> = (0..N).collect();
        // A fixed shuffle (5 is coprime with 12: every conversation once).
        let shuffled: Vec<usize> = (0..N).map(|i| (i * 5 + 3) % N).collect();
        let reference = events(dir, &in_order, &[], "in-order");
        assert_eq!(reference.len(), N, "{guest}: every conversation is flagged");
        for (id, line) in &reference {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["scorecards"][0]["result"]["criteria"][0]["reason"], "call #1; previous: none", "{guest}: `{id}` saw another conversation's state");
        }

        assert_eq!(events(dir, &shuffled, &[], "shuffled"), reference, "{guest}: shuffled");
        let mut split = BTreeMap::new();
        for k in 1..=3 {
            let part = events(dir, &shuffled, &["--partition", &format!("{k}/3")], &format!("part-{k}"));
            assert!(part.keys().all(|id| !split.contains_key(id)), "{guest}: partitions overlap");
            split.extend(part);
        }
        assert_eq!(split, reference, "{guest}: split across three partitions");
        assert_eq!(events(dir, &shuffled, &["--processes", "2"], "processes"), reference, "{guest}: --processes 2");
    }
}

/// The test above is not vacuous: on one live instance (what reusing instances would
/// do, built here by hand) each of the three guests does carry its state into the next
/// call.
#[test]
fn the_stateful_guests_do_leak_on_a_reused_instance() {
    for guest in ["guest-state-leak", "guest-state-leak-py", "guest-state-leak-js"] {
        let (mut store, instance, score) = instance_by_hand(&std::fs::read(component(guest)).unwrap());
        let mut reasons = Vec::new();
        for id in ["first", "second"] {
            let mut c = conversation("minimal-chat.json");
            c.id = id.into();
            let r = score.call_score(&mut store, &instance, &c, r#"{"fail":true}"#).unwrap().unwrap();
            reasons.push(r.criteria[0].reason.clone());
        }
        assert_eq!(reasons, ["call #1; previous: none", "call #2; previous: first"], "{guest}");
    }
}

/// `plugin::reset::instrument` on the shipped Python and JS scorecards and the Rust
/// state-leak guest: the rewritten component loads and runs as before (same output),
/// and its `restore` exports put every written global back (a second `restore` finds
/// nothing changed).
#[test]
fn instrumented_components_save_and_restore_their_globals() {
    use ratchet::plugin::reset;
    let rt = runtime();
    for guest in ["guest-state-leak", "scorecard-support-policy-py", "scorecard-support-policy-js"] {
        let original = std::fs::read(component(guest)).unwrap();
        let r = reset::instrument(&original).unwrap_or_else(|e| panic!("{guest}: {e}"));
        assert!(!r.instances.is_empty(), "{guest}: no instance writes globals?");
        assert_eq!(reset::instrument(&original).unwrap().bytes, r.bytes, "{guest}: the rewrite is deterministic");
        let (mut store, instance, score) = instance_by_hand(&r.bytes);
        for e in &r.instances {
            let save = instance.get_typed_func::<(), ()>(&mut store, &e.save).unwrap();
            save.call(&mut store, ()).unwrap();
        }
        let c = conversation("tuesday-cancellation.json");
        let first = score.call_score(&mut store, &instance, &c, "{}").unwrap();
        let mut changed = Vec::new();
        for e in &r.instances {
            let restore = instance.get_typed_func::<(), (u32,)>(&mut store, &e.restore).unwrap();
            changed.push((e.restore.clone(), restore.call(&mut store, ()).unwrap().0));
        }
        eprintln!("{guest}: {} instrumented instances; changed by one call: {changed:?}", r.instances.len());
        for e in &r.instances {
            let restore = instance.get_typed_func::<(), (u32,)>(&mut store, &e.restore).unwrap();
            assert_eq!(restore.call(&mut store, ()).unwrap().0, 0, "{guest}: {} after a restore", e.restore);
        }
        // The original, fresh, gives the same answer as the rewritten one did.
        let plugin = rt.load(guest, &original, tight()).unwrap();
        let expected = plugin.score(&c, &serde_json::json!({})).unwrap().output;
        let got = first.unwrap();
        assert_eq!(got.score, expected.score, "{guest}");
        assert_eq!(got.criteria.len(), expected.criteria.len(), "{guest}");
    }
}

/// The whole restore, by hand (the runtime does not use it yet): one live instance of
/// each stateful guest, its globals saved and its memory copied after instantiation;
/// after every call the globals and the written pages are put back. Every call then
/// reports `call #1; previous: none` and the same bytes as a fresh instance.
#[test]
fn a_restored_instance_answers_as_a_fresh_one() {
    use ratchet::plugin::reset::{self, MemoryProbe, MemorySnapshot};
    let rt = runtime();
    let pagemap = std::fs::File::open("/proc/self/pagemap").ok();
    for guest in ["guest-state-leak", "guest-state-leak-py", "guest-state-leak-js"] {
        let original = std::fs::read(component(guest)).unwrap();
        let r = reset::instrument(&original).unwrap_or_else(|e| panic!("{guest}: {e}"));
        let (mut store, instance, score) = instance_by_hand(&r.bytes);
        let probe = instance.get_typed_func::<(), (MemoryProbe,)>(&mut store, reset::MEMORY).unwrap();
        for e in &r.instances {
            instance.get_typed_func::<(), ()>(&mut store, &e.save).unwrap().call(&mut store, ()).unwrap();
        }
        let at = probe.call(&mut store, ()).unwrap().0;
        // SAFETY: the instance is live and idle.
        let mut snapshot = unsafe { MemorySnapshot::take(at) };

        let fresh = rt.load(guest, &original, tight()).unwrap();
        let mut stats = Vec::new();
        for id in ["a", "b", "c", "d"] {
            let mut c = conversation("minimal-chat.json");
            c.id = id.into();
            let got = score.call_score(&mut store, &instance, &c, r#"{"fail":true}"#).unwrap().unwrap();
            assert_eq!(got.criteria[0].reason, "call #1; previous: none", "{guest}: conversation {id}");
            let want = fresh.score(&c, &serde_json::json!({"fail": true})).unwrap().output;
            assert_eq!(got.criteria[0].reason, want.criteria[0].reason, "{guest}");
            let started = std::time::Instant::now();
            let mut globals = 0;
            for e in &r.instances {
                globals += instance.get_typed_func::<(), (u32,)>(&mut store, &e.restore).unwrap().call(&mut store, ()).unwrap().0;
            }
            let now = probe.call(&mut store, ()).unwrap().0;
            // SAFETY: as above.
            let pages = unsafe { snapshot.restore(now, pagemap.as_ref()) }.unwrap();
            stats.push((globals, pages.compared, pages.restored, started.elapsed()));
        }
        eprintln!("{guest}: memory {} KiB; per call (globals changed, pages compared, pages restored, time): {stats:?}", at.len / 1024);
    }
}

/// One instance of the component `bytes` on a store of its own, linked and set up by
/// hand (no fuel or time limit in the way), and its `score`: what reusing instances
/// would start from, without the runtime's restore.
fn instance_by_hand(bytes: &[u8]) -> (wasmtime::Store<ratchet::plugin::StoreState>, wasmtime::component::Instance, ratchet::plugin::v0_1::GuestFunc) {
    use ratchet::plugin::{v0_1, StoreState};
    use wasmtime::component::{Component, Linker};
    let engine = runtime().engine();
    let component = Component::new(engine, bytes).unwrap();
    let mut linker: Linker<StoreState> = Linker::new(engine);
    v0_1::add_host_to_linker(&mut linker).unwrap();
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).unwrap();
    let score = v0_1::GuestFunc::score(&component).unwrap();
    let mut store = wasmtime::Store::new(engine, StoreState::new(&tight(), true, None, None).unwrap());
    store.set_fuel(u64::MAX / 2).unwrap();
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = linker.instantiate(&mut store, &component).unwrap();
    (store, instance, score)
}
