//! The precompile cache is hit on second load and survives corruption; project
//! paths cannot escape the project root.

use crate::common;

use std::path::Path;

use common::*;
use ratchet::config::{Allocator, Config, EngineSettings, Limits, Project};
use ratchet::plugin::{CacheOutcome, Runtime};
use ratchet::project::{read_in_root, PathError};

fn fresh_runtime(cache: &Path) -> Runtime {
    let settings = EngineSettings { cache_dir: Some(cache.to_path_buf()), allocator: Allocator::OnDemand, ..EngineSettings::default() };
    Runtime::new(&settings, true).unwrap()
}

#[test]
fn second_load_hits_the_cache_and_corruption_is_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(component("scorecard-support-policy")).unwrap();
    let conv = conversation("tuesday-cancellation.json");

    let first = fresh_runtime(dir.path()).load("s", &bytes, Limits::default()).unwrap();
    assert_eq!(first.load_stats().cache, CacheOutcome::Miss);
    let expected = first.score(&conv, &serde_json::json!({})).unwrap().output;

    // A new process (new runtime) loads the artifact instead of compiling.
    let second = fresh_runtime(dir.path()).load("s", &bytes, Limits::default()).unwrap();
    assert_eq!(second.load_stats().cache, CacheOutcome::Hit);
    assert_eq!(second.score(&conv, &serde_json::json!({})).unwrap().output, expected);

    // Flip a byte in the artifact: detected, discarded, recompiled — never executed.
    let artifact = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).find(|p| p.extension().is_some_and(|e| e == "cwasm")).unwrap();
    let mut data = std::fs::read(&artifact).unwrap();
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    std::fs::write(&artifact, &data).unwrap();
    let third = fresh_runtime(dir.path()).load("s", &bytes, Limits::default()).unwrap();
    assert_eq!(third.load_stats().cache, CacheOutcome::Miss);
    assert_eq!(third.score(&conv, &serde_json::json!({})).unwrap().output, expected);

    // Truncated (a torn write from another tool): same.
    std::fs::write(&artifact, &data[..10]).unwrap();
    let fourth = fresh_runtime(dir.path()).load("s", &bytes, Limits::default()).unwrap();
    assert_eq!(fourth.load_stats().cache, CacheOutcome::Miss);
}

#[test]
fn another_engine_setting_does_not_reuse_the_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(component("scorecard-support-policy")).unwrap();
    let on_demand = fresh_runtime(dir.path()).load("s", &bytes, Limits::default()).unwrap();
    assert_eq!(on_demand.load_stats().cache, CacheOutcome::Miss);
    let settings =
        EngineSettings { cache_dir: Some(dir.path().to_path_buf()), allocator: Allocator::Pooling, max_memory_mib: 512, ..EngineSettings::default() };
    let pooling = Runtime::new(&settings, true).unwrap().load("s", &bytes, Limits::default()).unwrap();
    // Different allocator settings may or may not change the compatibility hash; the
    // artifact must load either way (hit) or be recompiled (miss) — never fail.
    assert!(matches!(pooling.load_stats().cache, CacheOutcome::Hit | CacheOutcome::Miss));
}

#[test]
fn paths_are_confined_to_the_project_root() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.wasm"), b"x").unwrap();
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("plugins")).unwrap();
    std::fs::write(root.path().join("plugins/ok.wasm"), b"ok").unwrap();

    assert_eq!(read_in_root(root.path(), Path::new("plugins/ok.wasm")).unwrap(), b"ok");
    let rel_escape = Path::new("..").join(outside.path().file_name().unwrap()).join("secret.wasm");
    assert!(matches!(read_in_root(root.path(), &rel_escape), Err(PathError::Escape { .. })));
    assert!(matches!(read_in_root(root.path(), &outside.path().join("secret.wasm")), Err(PathError::Escape { .. })));
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(outside.path().join("secret.wasm"), root.path().join("plugins/link.wasm")).unwrap();
        let err = read_in_root(root.path(), Path::new("plugins/link.wasm")).unwrap_err();
        assert!(matches!(err, PathError::Escape { .. }), "{err}");
        assert!(err.to_string().contains("leaves the project root"), "{err}");
    }
    assert!(matches!(read_in_root(root.path(), Path::new("plugins/missing.wasm")), Err(PathError::Io { .. })));
}

#[test]
fn config_limits_are_validated_with_the_field_named() {
    let err = Config::parse("[sandbox]\nmemory_mib = 9000\n", "ratchet.toml").unwrap_err().to_string();
    assert!(err.contains("sandbox.memory_mib") && err.contains("out of range"), "{err}");
    let err = Config::parse("[plugins.x]\npath = \"a.wasm\"\nfuel = 0\n", "ratchet.toml").unwrap_err().to_string();
    assert!(err.contains("plugins.x.fuel"), "{err}");
    let err = Config::parse("[sandbox]\nfule = 3\n", "ratchet.toml").unwrap_err().to_string();
    assert!(err.starts_with("ratchet.toml:2:1") && err.contains("unknown field `fule`"), "{err}");
    let ok =
        Config::parse("[engine]\nallocator = \"on-demand\"\n[sandbox]\nfuel = 5\n[plugins.p]\npath = \"p.wasm\"\nmemory_mib = 16\n", "ratchet.toml").unwrap();
    assert_eq!(ok.plugins["p"].limits(&ok.sandbox).memory_mib, 16);
    assert_eq!(ok.plugins["p"].limits(&ok.sandbox).fuel, 5);
}

#[test]
fn project_discovery_finds_ratchet_toml_upwards() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("ratchet.toml"), "[sandbox]\nfuel = 77\n").unwrap();
    std::fs::create_dir_all(root.path().join("a/b")).unwrap();
    let p = Project::discover(&root.path().join("a/b"), None).unwrap();
    assert_eq!(p.root, root.path());
    assert_eq!(p.config.sandbox.fuel, 77);
    let none = tempfile::tempdir().unwrap();
    let p = Project::discover(none.path(), None).unwrap();
    assert!(p.config_path.is_none());
    assert_eq!(p.config, Config::default());
}

#[test]
fn directory_grants_are_refused_for_guests_that_cannot_read_files() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("data")).unwrap();
    // guest-wasi-clock-random imports WASI clocks and random, but not the filesystem.
    let p = load("guest-wasi-clock-random", Limits::default());
    let err = p.grant_dir(root.path(), Path::new("data")).unwrap_err();
    assert!(matches!(err.failure, ratchet::plugin::Failure::Grant(_)) && err.to_string().contains("does not import wasi:filesystem"), "{err}");
    // A pure guest: same refusal, before any path is touched.
    let p = load("guest-trap", Limits::default());
    assert!(p.grant_dir(root.path(), Path::new("../etc")).is_err());
}

#[test]
fn another_components_artifact_copied_over_a_cache_entry_is_recompiled_and_replaced() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().unwrap();
    let scorecard = std::fs::read(component("scorecard-support-policy")).unwrap();
    let assertion = std::fs::read(component("assertion-no-false-confirmation")).unwrap();
    let entry = |bytes: &[u8]| {
        let key = hex::encode(Sha256::digest(bytes));
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).find(|p| p.file_name().unwrap().to_string_lossy().starts_with(&key)).unwrap()
    };
    let conv = conversation("tuesday-cancellation.json");
    let s = fresh_runtime(dir.path()).load("s", &scorecard, Limits::default()).unwrap();
    let expected = s.score(&conv, &serde_json::json!({})).unwrap().output;
    fresh_runtime(dir.path()).load("a", &assertion, Limits::default()).unwrap();
    let (s_entry, a_entry) = (entry(&scorecard), entry(&assertion));
    // The assertion's valid artifact under the scorecard's key.
    std::fs::copy(&a_entry, &s_entry).unwrap();
    let reloaded = fresh_runtime(dir.path()).load("s", &scorecard, Limits::default()).unwrap();
    assert_eq!(reloaded.load_stats().cache, CacheOutcome::Miss, "the swapped entry is not loaded");
    assert_eq!(reloaded.world().kind, ratchet::plugin::WorldKind::Scorecard);
    assert_eq!(reloaded.score(&conv, &serde_json::json!({})).unwrap().output, expected);
    // ... and it was replaced by the scorecard's own artifact.
    assert_ne!(std::fs::read(&s_entry).unwrap(), std::fs::read(&a_entry).unwrap());
    assert_eq!(fresh_runtime(dir.path()).load("s", &scorecard, Limits::default()).unwrap().load_stats().cache, CacheOutcome::Hit);
}
