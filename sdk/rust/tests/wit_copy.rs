//! The SDK carries its own copy of the WIT it binds (`sdk/rust/wit/`), so the crate
//! packages and builds outside the ratchet checkout. The released WIT lives in the
//! repository's `wit/`: this test keeps the copy byte-identical to it (run
//! `scripts/sync-wit` after adding a version). Skipped when the crate is built on
//! its own, away from the checkout.

use std::path::Path;

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            for (name, bytes) in files(&p) {
                out.push((format!("{}/{name}", p.file_name().unwrap().to_string_lossy()), bytes));
            }
        } else {
            out.push((p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()));
        }
    }
    out.sort();
    out
}

#[test]
fn the_sdk_wit_is_the_released_wit() {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("wit");
    let released = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit");
    if !released.is_dir() {
        eprintln!("no ratchet checkout around the crate: nothing to compare");
        return;
    }
    let mut copy = files(&sdk);
    assert!(!copy.is_empty(), "sdk/rust/wit is empty");
    // The Python and JavaScript SDKs carry the newest version the Rust one binds.
    let newest = copy.iter().map(|(n, _)| n.split('/').next().unwrap().to_string()).max().unwrap();
    let ours: Vec<String> = copy.iter().map(|(n, _)| n.clone()).filter(|n| n.starts_with(&format!("{newest}/"))).collect();
    let mut others = Vec::new();
    for other in ["../python/ratchet_sdk/wit", "../js/wit"] {
        let theirs = files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(other));
        assert_eq!(theirs.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>(), ours, "sdk/{other}: run scripts/sync-wit");
        others.extend(theirs);
    }
    copy.extend(others);
    for (name, bytes) in copy {
        let original =
            std::fs::read(released.join(&name)).unwrap_or_else(|e| panic!("wit/{name}: {e}: the SDK binds a WIT version the repository does not have"));
        assert!(
            original == bytes,
            "sdk/rust/wit/{name} differs from wit/{name}: run scripts/sync-wit (released WIT is never edited; add a new since_vX.Y.Z instead)"
        );
    }
}
