//! Promote: a regenerated scenario joins the suite — or, when the suite already
//! holds the same failure, is merged into that scenario and counted as a hit.
//!
//! * **Fuzzy dedup** ([`similarity`]): every candidate is compared with every
//!   scenario of the suite, archived ones included. At or above
//!   `[promote] merge_threshold` it is merged (hits +1, its production conversation
//!   appended to the provenance, an archived match resurrected to the fast tier);
//!   below, it is added as `<suite>/<failure-mode>/<id>.toml`. Matches between
//!   `near_miss` and the threshold are reported for a person to decide.
//! * **Safety**: one promote at a time per suite (an OS file lock on
//!   `<suite>/.ratchet.lock`, released even if the process dies); all files of a
//!   batch are staged as temporary files and renamed into place only when every
//!   one is ready, and a failure while renaming restores the files already
//!   replaced: a failed promote leaves the suite exactly as it was.
//! * **Speed**: fingerprints are cached in `<suite>/.ratchet-index.json`, keyed by
//!   file size and modification time, so a promote parses only what changed.
//!   Merges edit the matched file in place (`toml_edit`): its comments and layout
//!   are kept.

pub mod similarity;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml_edit::{value, Array, DocumentMut, Item, Table};

use crate::config::PromoteConfig;
use crate::suite::store::{commit, lock, push_history, Pending, StoreError};
use crate::schema::id::slug;
use crate::schema::Scenario;
use similarity::{similarity, upper_bound, Fingerprint, Similarity};

/// The fingerprint cache inside the suite directory.
pub const INDEX_FILE: &str = ".ratchet-index.json";
const INDEX_VERSION: u32 = 1;

/// Why a promote did not happen (the suite is unchanged in every case).
#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    /// The suite could not be locked, read or written (locked by another process,
    /// a path leaving the suite, an I/O error, a file the edit cannot update).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The suite holds files that are not valid scenarios.
    #[error("{} invalid scenario file(s) in the suite, nothing was promoted:\n{}", .0.len(), .0.join("\n"))]
    InvalidSuite(Vec<String>),
    /// The candidate's id is taken by a different scenario it does not match.
    #[error("{candidate}: scenario id `{id}` is already used by {existing}, which it does not match; give it another id")]
    IdTaken {
        /// Candidate file.
        candidate: PathBuf,
        /// The id.
        id: String,
        /// The existing file.
        existing: PathBuf,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PromoteError + '_ {
    move |source| PromoteError::Store(StoreError::Io { path: path.to_path_buf(), source })
}

fn edit_error(file: &Path, message: String) -> PromoteError {
    PromoteError::Store(StoreError::Edit { file: file.to_path_buf(), message })
}



/// One scenario of the suite, as the index knows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// File, relative to the suite directory.
    pub file: PathBuf,
    /// Size when fingerprinted.
    pub size: u64,
    /// Modification time (ns since the epoch) when fingerprinted.
    pub mtime_ns: u128,
    /// The fingerprint.
    pub fingerprint: Fingerprint,
}

#[derive(Serialize, Deserialize)]
struct IndexFile {
    version: u32,
    entries: Vec<Entry>,
}

/// How the suite index was obtained (for `--format json` and the benchmarks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct IndexStats {
    /// Fingerprints reused from the cache.
    pub reused: usize,
    /// Scenario files parsed.
    pub parsed: usize,
}

fn stat(path: &Path) -> Result<(u64, u128), PromoteError> {
    let m = std::fs::metadata(path).map_err(io(path))?;
    let mtime = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map(|d| d.as_nanos()).unwrap_or(0);
    Ok((m.len(), mtime))
}

/// Fingerprint every scenario of the suite, reusing cached fingerprints of files
/// that did not change.
pub fn load_index(dir: &Path) -> Result<(Vec<Entry>, IndexStats), PromoteError> {
    let mut cached: BTreeMap<PathBuf, Entry> = BTreeMap::new();
    if let Ok(text) = std::fs::read_to_string(dir.join(INDEX_FILE)) {
        if let Ok(index) = serde_json::from_str::<IndexFile>(&text) {
            if index.version == INDEX_VERSION {
                cached = index.entries.into_iter().map(|e| (e.file.clone(), e)).collect();
            }
        }
    }
    let mut files = Vec::new();
    if dir.is_dir() {
        let (paths, errors) = crate::suite::scenario_files(dir);
        if !errors.is_empty() {
            return Err(PromoteError::InvalidSuite(errors.iter().map(|e| e.to_string()).collect()));
        }
        files = paths.into_iter().map(|p| p.strip_prefix(dir).map(Path::to_path_buf).unwrap_or(p)).collect();
    }
    let mut stats = IndexStats::default();
    let mut entries = Vec::with_capacity(files.len());
    let mut errors = Vec::new();
    for rel in files {
        let path = dir.join(&rel);
        let (size, mtime_ns) = stat(&path)?;
        match cached.remove(&rel) {
            Some(e) if e.size == size && e.mtime_ns == mtime_ns => {
                stats.reused += 1;
                entries.push(e);
            }
            _ => match Scenario::load(&path) {
                Ok(s) => {
                    stats.parsed += 1;
                    entries.push(Entry { file: rel, size, mtime_ns, fingerprint: Fingerprint::of(&s) });
                }
                Err(e) => errors.push(e.to_string()),
            },
        }
    }
    if !errors.is_empty() {
        return Err(PromoteError::InvalidSuite(errors));
    }
    Ok((entries, stats))
}

/// Write the fingerprint cache (best effort: it is only a cache).
pub fn save_index(dir: &Path, entries: &[Entry]) {
    let index = IndexFile { version: INDEX_VERSION, entries: entries.to_vec() };
    if let Ok(text) = serde_json::to_string(&index) {
        let _ = crate::fsutil::write_confined(dir, Path::new(INDEX_FILE), text.as_bytes());
    }
}

/// A scored match.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    /// The matched scenario's file, relative to the suite.
    pub file: PathBuf,
    /// Its id.
    pub id: String,
    /// How similar.
    pub similarity: Similarity,
}

/// What happened to one candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum Decision {
    /// Merged into an existing scenario: one more production hit.
    Merged {
        /// The scenario it matched.
        into: Match,
        /// Hits after the merge.
        hits: u32,
        /// The match was archived and is back in the fast tier.
        resurrected: bool,
    },
    /// Added as a new scenario file.
    Added {
        /// The new file, relative to the suite.
        file: PathBuf,
    },
    /// Its production conversation(s) were already merged into this scenario: nothing to do.
    AlreadyPresent {
        /// The scenario holding them.
        into: Match,
    },
    /// Resurrect-only mode (`detect --match-suite`): it matched no archived scenario.
    NoArchivedMatch,
}

/// The outcome for one candidate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The candidate file.
    pub candidate: PathBuf,
    /// The candidate's id.
    pub id: String,
    /// What was done.
    pub decision: Decision,
    /// Matches between `near_miss` and `merge_threshold`, best first (at most 5).
    pub near_misses: Vec<Match>,
    /// Scenarios the exact similarity was computed for (the rest were bounded out).
    pub compared: usize,
}

/// How to promote.
#[derive(Debug, Clone)]
pub struct Options {
    /// `[promote]` from `ratchet.toml`.
    pub config: PromoteConfig,
    /// RFC 3339 time written into histories.
    pub now: String,
    /// Skip scenarios whose similarity bound is below the near-miss threshold
    /// (exact; off only to measure the naive way).
    pub prefilter: bool,
    /// Decide and report, write nothing.
    pub dry_run: bool,
    /// How long to wait for another promote to finish.
    pub lock_timeout: Duration,
    /// Only merge into archived scenarios (resurrecting them); add nothing
    /// (`detect --match-suite`).
    pub only_archived: bool,
}

/// Rank the suite against one fingerprint: (every scenario at or above the near-miss
/// threshold, best first; how many were compared exactly).
pub fn search(fp: &Fingerprint, entries: &[Entry], cfg: &PromoteConfig, prefilter: bool) -> (Vec<Match>, usize) {
    let mut found = Vec::new();
    let mut compared = 0;
    for e in entries {
        if prefilter && upper_bound(fp, &e.fingerprint, &cfg.weights) < cfg.near_miss {
            continue;
        }
        compared += 1;
        let s = similarity(fp, &e.fingerprint, &cfg.weights);
        if s.total >= cfg.near_miss {
            found.push(Match { file: e.file.clone(), id: e.fingerprint.id.clone(), similarity: s });
        }
    }
    found.sort_by(|a, b| b.similarity.total.total_cmp(&a.similarity.total).then_with(|| a.file.cmp(&b.file)));
    (found, compared)
}


/// Promote `candidates` (file, parsed scenario, file text) into the suite at `dir`,
/// as one all-or-nothing batch. Candidates are also matched against each other, so
/// two events of the same failure in one batch make one scenario with two hits.
pub fn promote(dir: &Path, candidates: &[(PathBuf, Scenario, String)], opts: &Options) -> Result<(Vec<Outcome>, IndexStats), PromoteError> {
    let _lock = lock(dir, opts.lock_timeout)?;
    let (mut entries, stats) = load_index(dir)?;
    let mut pending: BTreeMap<PathBuf, Pending> = BTreeMap::new();
    let mut outcomes = Vec::new();
    for (cand_path, cand, cand_text) in candidates {
        let fp = Fingerprint::of(cand);
        let (mut found, compared) = search(&fp, &entries, &opts.config, opts.prefilter);
        if opts.only_archived {
            found.retain(|m| entries.iter().any(|e| e.file == m.file && e.fingerprint.tier == crate::schema::Tier::Archive));
        }
        let best = found.first().filter(|m| m.similarity.total >= opts.config.merge_threshold).cloned();
        let near_misses: Vec<Match> = found.iter().filter(|m| m.similarity.total < opts.config.merge_threshold).take(5).cloned().collect();
        let decision = match best {
            Some(m) => {
                let idx = entries.iter().position(|e| e.file == m.file).expect("match comes from entries");
                let known = &entries[idx].fingerprint.sources;
                let new_sources: Vec<String> = cand.provenance.source_conversations.iter().filter(|s| !known.contains(s)).cloned().collect();
                if !cand.provenance.source_conversations.is_empty() && new_sources.is_empty() {
                    Decision::AlreadyPresent { into: m }
                } else {
                    let path = dir.join(&m.file);
                    let current = match pending.get(&m.file) {
                        Some(p) => p.text.clone(),
                        None => std::fs::read_to_string(&path).map_err(io(&path))?,
                    };
                    let (text, hits, resurrected) = merge_into(&current, cand, &new_sources, &m.similarity, &opts.now)
                        .map_err(|message| edit_error(&path, message))?;
                    let merged =
                        Scenario::parse(&text, &path.display().to_string()).map_err(|e| edit_error(&path, e.to_string()))?;
                    let original = match pending.remove(&m.file) {
                        Some(p) => p.original,
                        None => Some(current.into_bytes()),
                    };
                    pending.insert(m.file.clone(), Pending { text, original });
                    entries[idx].fingerprint = Fingerprint::of(&merged);
                    Decision::Merged { into: m, hits, resurrected }
                }
            }
            None if opts.only_archived => Decision::NoArchivedMatch,
            None => {
                if let Some(e) = entries.iter().find(|e| e.fingerprint.id == cand.id) {
                    return Err(PromoteError::IdTaken { candidate: cand_path.clone(), id: cand.id.clone(), existing: e.file.clone() });
                }
                let rel = PathBuf::from(slug(&cand.failure_mode)).join(format!("{}.toml", cand.id));
                let target = dir.join(&rel);
                if target.exists() {
                    return Err(PromoteError::IdTaken { candidate: cand_path.clone(), id: cand.id.clone(), existing: rel });
                }
                let mut text = cand_text.clone();
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                pending.insert(rel.clone(), Pending { text, original: None });
                entries.push(Entry { file: rel.clone(), size: 0, mtime_ns: 0, fingerprint: fp });
                Decision::Added { file: rel }
            }
        };
        outcomes.push(Outcome { candidate: cand_path.clone(), id: cand.id.clone(), decision, near_misses, compared });
    }
    if opts.dry_run {
        // The index is a cache, not part of the suite: keep it warm even on dry runs.
        if stats.parsed > 0 {
            save_index(dir, &entries.iter().filter(|e| e.size > 0 && !pending.contains_key(&e.file)).cloned().collect::<Vec<_>>());
        }
        return Ok((outcomes, stats));
    }
    commit(dir, &pending)?;
    for (rel, _) in pending.iter() {
        if let (Ok((size, mtime)), Some(e)) = (stat(&dir.join(rel)), entries.iter_mut().find(|e| &e.file == rel)) {
            e.size = size;
            e.mtime_ns = mtime;
        }
    }
    entries.sort_by(|a, b| a.file.cmp(&b.file));
    save_index(dir, &entries);
    Ok((outcomes, stats))
}


/// Merge a candidate into a scenario file's text: hits, source conversations,
/// first/last seen, resurrection, a history entry. Returns (text, hits, resurrected).
fn merge_into(text: &str, cand: &Scenario, new_sources: &[String], sim: &Similarity, now: &str) -> Result<(String, u32, bool), String> {
    let mut doc: DocumentMut = text.parse().map_err(|e| format!("not valid TOML: {e}"))?;
    let root = doc.as_table_mut();
    if !root.contains_key("provenance") {
        root.insert("provenance", Item::Table(Table::new()));
    }
    let prov = root.get_mut("provenance").and_then(Item::as_table_like_mut).ok_or("`provenance` is not a table")?;
    let hits = prov.get("hits").and_then(Item::as_integer).unwrap_or(1);
    let new_hits = hits + i64::from(cand.provenance.hits.max(1));
    prov.insert("hits", value(new_hits));
    let mut sources = prov.get("source_conversations").and_then(Item::as_array).cloned().unwrap_or_else(Array::new);
    for s in new_sources {
        sources.push(s.as_str());
    }
    prov.insert("source_conversations", value(sources));
    let seen = |key: &str, pick_later: bool, prov: &mut dyn toml_edit::TableLike| {
        let theirs = match key {
            "first_seen" => cand.provenance.first_seen.as_deref(),
            _ => cand.provenance.last_seen.as_deref(),
        };
        let Some(theirs) = theirs else { return };
        let ours = prov.get(key).and_then(Item::as_str).map(str::to_string);
        let replace = match ours.as_deref().and_then(crate::time::parse_rfc3339) {
            None => true,
            Some(o) => crate::time::parse_rfc3339(theirs).is_some_and(|t| if pick_later { t > o } else { t < o }),
        };
        if replace {
            prov.insert(key, value(theirs));
        }
    };
    seen("first_seen", false, prov);
    seen("last_seen", true, prov);

    let archived = root.get("tier").and_then(Item::as_str) == Some("archive");
    if archived {
        root.insert("tier", value("fast"));
    }
    let source = cand.provenance.source_conversations.join(", ");
    let event = cand.provenance.source_event.as_deref().map(|e| format!(" (event {e})")).unwrap_or_default();
    let mut entries: Vec<(String, String)> =
        vec![("merged".into(), format!("production conversation {source}{event} matched with similarity {sim}; hits {hits} → {new_hits}"))];
    if archived {
        entries.push(("resurrected".into(), format!("archived scenario matched a new production failure ({source}): moved back to the fast tier")));
    }
    for (action, detail) in entries {
        push_history(root, now, &action, &detail)?;
    }
    Ok((doc.to_string(), u32::try_from(new_hits).unwrap_or(u32::MAX), archived))
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Tier;

    #[test]
    fn merge_keeps_comments_and_counts() {
        let text = "# hand-written\nschema_version = 1\nid = \"a\"\ntitle = \"t\"\nfailure_mode = \"m\"\ntier = \"archive\"\n\n[provenance]\nsource_conversations = [\"c1\"]\nhits = 3 # three so far\nlast_seen = \"2026-01-01T00:00:00Z\"\n\n[[turns]]\ntext = \"x\"\n\n[[criteria]]\nid = \"e\"\nkind = \"must-escalate\"\n";
        let mut cand = Scenario::parse(text, "t").unwrap();
        cand.provenance.source_conversations = vec!["c9".into()];
        cand.provenance.hits = 1;
        cand.provenance.last_seen = Some("2026-02-01T00:00:00Z".into());
        let sim = Similarity { total: 0.95, text: 0.9, failure_mode: 1.0, criteria: 1.0, tools: 1.0 };
        let (out, hits, resurrected) = merge_into(text, &cand, &["c9".into()], &sim, "2026-02-02T00:00:00Z").unwrap();
        assert_eq!((hits, resurrected), (4, true));
        assert!(out.starts_with("# hand-written\n"));
        let s = Scenario::parse(&out, "out").unwrap();
        assert_eq!(s.provenance.hits, 4);
        assert_eq!(s.provenance.source_conversations, vec!["c1", "c9"]);
        assert_eq!(s.provenance.last_seen.as_deref(), Some("2026-02-01T00:00:00Z"));
        assert_eq!(s.tier, Tier::Fast);
        assert_eq!(s.history.iter().map(|h| h.action.as_str()).collect::<Vec<_>>(), vec!["merged", "resurrected"]);
    }
}
