//! The regression suite on disk: every scenario file under a directory, loaded and
//! validated up front (one bad file stops the run before anything runs), then
//! selected by tier, tag, failure mode and id, and split into shards. Changing it
//! (one writer at a time, all-or-nothing batches) is [`store`].

pub mod store;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::schema::{Scenario, SchemaError, Tier};

/// A scenario and the file it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The file, relative to the suite directory.
    pub file: PathBuf,
    /// The parsed scenario.
    pub scenario: Scenario,
}

/// Load every `*.toml` under `dir` (sorted by path). All errors are collected.
/// A batch a killed writer committed but did not finish is finished first (under
/// the suite lock, see [`store`]), so a reader never sees half a batch.
pub fn load(dir: &Path) -> Result<Vec<Loaded>, Vec<SchemaError>> {
    if store::needs_recovery(dir) {
        if let Err(e) = store::lock(dir, std::time::Duration::from_secs(60)) {
            return Err(vec![SchemaError::invalid(dir.join(store::JOURNAL_FILE).display().to_string(), None, None, None, e.to_string())]);
        }
    }
    let (files, mut errors) = scenario_files(dir);
    let mut out = Vec::new();
    let mut ids: BTreeMap<String, PathBuf> = BTreeMap::new();
    for path in files {
        match Scenario::load(&path) {
            Ok(s) => {
                let file = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
                if let Some(other) = ids.insert(s.id.clone(), file.clone()) {
                    errors.push(SchemaError::invalid(
                        path.display().to_string(),
                        None,
                        None,
                        Some("id".into()),
                        format!("duplicate scenario id `{}` (also in {})", s.id, other.display()),
                    ));
                }
                out.push(Loaded { file, scenario: s });
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Every scenario file (`*.toml`) under `dir`, sorted; names starting with a dot
/// (lock, index, staging files, hidden folders) are not part of the suite.
/// Unreadable directories are reported, the rest is still listed. Symlinked folders
/// are followed once each (a symlink loop is not a hang); a `*.toml` that is not a
/// regular file (a FIFO, a device, a dangling symlink) is reported, never read.
pub fn scenario_files(dir: &Path) -> (Vec<PathBuf>, Vec<SchemaError>) {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<SchemaError>, seen: &mut std::collections::BTreeSet<(u64, u64)>) {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(source) => {
                errors.push(SchemaError::Io { path: dir.to_path_buf(), source });
                return;
            }
        };
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let p = entry.path();
            let is_toml = p.extension().is_some_and(|e| e == "toml");
            match std::fs::metadata(&p) {
                Ok(m) if m.is_dir() => {
                    if dir_id(&m).is_none_or(|id| seen.insert(id)) {
                        walk(&p, files, errors, seen);
                    }
                }
                Ok(m) if is_toml && !m.is_file() => errors.push(SchemaError::Io {
                    path: p,
                    source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file (a FIFO, device or socket): a scenario is a TOML file"),
                }),
                Ok(_) if is_toml => files.push(p),
                Ok(_) => {}
                Err(source) if is_toml => errors.push(SchemaError::Io { path: p, source }),
                Err(_) => {}
            }
        }
    }
    let (mut files, mut errors) = (Vec::new(), Vec::new());
    let mut seen = std::collections::BTreeSet::new();
    if let Some(id) = std::fs::metadata(dir).ok().as_ref().and_then(dir_id) {
        seen.insert(id);
    }
    walk(dir, &mut files, &mut errors, &mut seen);
    files.sort();
    (files, errors)
}

/// What identifies a directory whatever the path it is reached by (Unix).
fn dir_id(m: &std::fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = m;
        None
    }
}

/// Which tiers to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TierSelection {
    /// The PR-blocking tier.
    Fast,
    /// The nightly tier.
    Slow,
    /// Fast and slow (not the archive).
    All,
    /// Only archived scenarios (for audits and resurrection checks).
    Archive,
}

/// Selection filters; empty lists select everything.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Filter {
    /// Tier selection (None = all but archive).
    pub tier: Option<TierSelection>,
    /// Any of these tags.
    pub tags: Vec<String>,
    /// Any of these failure modes.
    pub failure_modes: Vec<String>,
    /// Any of these ids.
    pub ids: Vec<String>,
}

impl Filter {
    /// Whether `s` is selected.
    pub fn selects(&self, s: &Scenario) -> bool {
        let tier_ok = match self.tier.unwrap_or(TierSelection::All) {
            TierSelection::Fast => s.tier == Tier::Fast,
            TierSelection::Slow => s.tier == Tier::Slow,
            TierSelection::All => s.tier != Tier::Archive,
            TierSelection::Archive => s.tier == Tier::Archive,
        };
        tier_ok
            && (self.tags.is_empty() || s.tags.iter().any(|t| self.tags.contains(t)))
            && (self.failure_modes.is_empty() || self.failure_modes.contains(&s.failure_mode))
            && (self.ids.is_empty() || self.ids.contains(&s.id))
    }
}

/// `i/n`: this shard's index (1-based) and the shard count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Shard {
    /// 1-based index.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let (i, n) = s.split_once('/').ok_or_else(|| format!("`{s}`: expected i/n, e.g. 2/4"))?;
        let index: u32 = i.trim().parse().map_err(|_| format!("`{s}`: `{i}` is not a number"))?;
        let count: u32 = n.trim().parse().map_err(|_| format!("`{s}`: `{n}` is not a number"))?;
        if count == 0 || index == 0 || index > count {
            return Err(format!("`{s}`: need 1 <= i <= n"));
        }
        Ok(Shard { index, count })
    }
}

/// Assign scenarios to shards, balanced by recorded duration: longest first, each to
/// the least-loaded shard (ties: lowest index). Deterministic for the same inputs;
/// unknown durations count as the median of the known ones (1 s if none).
/// Returns the ids in `shard`.
pub fn shard(ids: &[String], durations: &BTreeMap<String, u64>, shard: Shard) -> Vec<String> {
    let mut known: Vec<u64> = ids.iter().filter_map(|i| durations.get(i).copied()).collect();
    known.sort();
    let fallback = known.get(known.len() / 2).copied().unwrap_or(1000).max(1);
    let mut items: Vec<(u64, &String)> = ids.iter().map(|i| (durations.get(i).copied().unwrap_or(fallback).max(1), i)).collect();
    items.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
    let mut load = vec![0u64; shard.count as usize];
    let mut mine = Vec::new();
    for (d, id) in items {
        let (k, _) = load.iter().enumerate().min_by_key(|(k, l)| (**l, *k)).expect("count > 0");
        load[k] += d;
        if k as u32 + 1 == shard.index {
            mine.push(id.clone());
        }
    }
    mine.sort();
    mine
}
