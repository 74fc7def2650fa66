//! Promote: a regenerated scenario joins the suite — or, when the suite already
//! holds the same failure, is merged into that scenario and counted as a hit.
//!
//! * **Behavioural dedup** ([`behaviour`]): a candidate is merged into an existing
//!   scenario only when each would have caught the other — the existing scenario's
//!   criteria fail on the candidate's recorded run with everything the candidate's
//!   own criteria fail with, and the other way round — so a merge never loses a
//!   guard. Similarity ([`similarity`]: text, failure mode, criteria, tools) only
//!   ranks which scenarios to check first (archived ones included; a match there
//!   is resurrected to the fast tier). Anything else is added as
//!   `<suite>/<failure-mode>/<id>.toml`; textually close scenarios that are not the
//!   same failure are reported as related.
//! * **Idempotent and order-independent**: a candidate whose production
//!   conversation the suite already holds changes nothing ("already guarded by X").
//!   A cluster's file is its earliest member (by production time, then id), its
//!   provenance and history are kept sorted, and a batch is processed in that
//!   order: the same candidates give the same suite bytes whatever the order or
//!   batching they are promoted in.
//! * **Safety**: one promote at a time per suite (an OS file lock on
//!   `<suite>/.ratchet.lock`, released even if the process dies); all files of a
//!   batch are staged as temporary files and renamed into place only when every
//!   one is ready, and a failure while renaming restores the files already
//!   replaced: a failed promote leaves the suite exactly as it was.
//! * **Speed**: fingerprints are cached in `<suite>/.ratchet-index.json`, keyed by
//!   file size and modification time, so a promote parses only what changed.
//!   Merges edit the matched file in place (`toml_edit`): its comments and layout
//!   are kept.

pub mod behaviour;
pub mod similarity;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use toml_edit::{value, Array, DocumentMut, Item, Table};

use crate::config::{ConversationConfig, PromoteConfig};
use crate::schema::id::slug;
use crate::schema::Scenario;
use crate::suite::store::{commit, lock, push_history, Pending, StoreError};
use behaviour::SameFailure;
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
pub struct IndexEntry {
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
    entries: Vec<IndexEntry>,
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
pub fn load_index(dir: &Path) -> Result<(Vec<IndexEntry>, IndexStats), PromoteError> {
    let mut cached: BTreeMap<PathBuf, IndexEntry> = BTreeMap::new();
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
                    entries.push(IndexEntry { file: rel, size, mtime_ns, fingerprint: Fingerprint::of(&s) });
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
pub fn save_index(dir: &Path, entries: &[IndexEntry]) {
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
        /// Which criteria caught which run.
        why: SameFailure,
        /// The candidate is the cluster's earliest member: the cluster's file is now
        /// the candidate's (this file was replaced).
        #[serde(skip_serializing_if = "Option::is_none")]
        replaced: Option<PathBuf>,
    },
    /// Added as a new scenario file.
    Added {
        /// The new file, relative to the suite.
        file: PathBuf,
    },
    /// Its production conversation is already in this scenario's provenance: nothing to do.
    AlreadyPresent {
        /// The scenario holding it.
        into: PathBuf,
        /// That scenario's id.
        id: String,
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
    /// Textually close scenarios (at least `near_miss`) that are not the same
    /// failure, best first (at most 5): related, for a person to look at.
    pub near_misses: Vec<Match>,
    /// Scenarios the exact similarity was computed for (the rest were bounded out).
    pub compared: usize,
    /// Scenarios not compared behaviourally because a `[promote] situation_labels`
    /// label says the two are different situations.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub apart: Vec<SituationApart>,
}

/// A scenario kept apart from the candidate by a situation label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SituationApart {
    /// The scenario, relative to the suite.
    pub file: PathBuf,
    /// The label.
    pub label: String,
    /// Its value on that scenario.
    pub existing: String,
    /// Its value on the candidate.
    pub candidate: String,
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
    /// `[conversation]`: how criteria read the runs they are checked against.
    pub rules: ConversationConfig,
}

/// How many of the closest scenarios are checked behaviourally per candidate.
const MAX_CHECKED: usize = 25;

/// Where a scenario sorts among the members of its cluster: production time
/// (unknown last), then id. The earliest member's file is the cluster's.
fn member_order(s: &Scenario) -> (i64, String) {
    let t = s.provenance.first_seen.as_deref().and_then(crate::time::parse_rfc3339).unwrap_or(i64::MAX);
    (t, s.id.clone())
}

/// Rank the suite against one fingerprint: (every scenario at or above the near-miss
/// threshold, best first; how many were compared exactly).
pub fn search(fp: &Fingerprint, entries: &[IndexEntry], cfg: &PromoteConfig, prefilter: bool) -> (Vec<Match>, usize) {
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
/// Outcomes come back in the order of `candidates`.
pub fn promote(dir: &Path, candidates: &[(PathBuf, Scenario, String)], opts: &Options) -> Result<(Vec<Outcome>, IndexStats), PromoteError> {
    let _lock = lock(dir, opts.lock_timeout)?;
    let (mut entries, stats) = load_index(dir)?;
    let mut pending: BTreeMap<PathBuf, Pending> = BTreeMap::new();
    let mut order: Vec<usize> = (0..candidates.len()).collect();
    order.sort_by_key(|&i| member_order(&candidates[i].1));
    let mut outcomes: Vec<Option<Outcome>> = vec![None; candidates.len()];
    for i in order {
        let (cand_path, cand, cand_text) = &candidates[i];
        let fp = Fingerprint::of(cand);
        // Already guarded: its production conversation is in a provenance, or the
        // suite holds this very scenario (same id, same script, fixtures and criteria).
        let mut held = entries.iter().find(|e| cand.provenance.source_conversations.iter().any(|c| e.fingerprint.sources.contains(c)));
        if held.is_none() {
            if let Some(e) = entries.iter().find(|e| e.fingerprint.id == cand.id) {
                let (_, existing) = current(dir, &pending, &e.file)?;
                fn content(
                    s: &Scenario,
                ) -> (&Vec<crate::schema::ScriptedTurn>, &Vec<crate::schema::Fixture>, &Vec<crate::schema::Criterion>, &Option<crate::schema::World>)
                {
                    (&s.turns, &s.fixtures, &s.criteria, &s.world)
                }
                if content(&existing) == content(cand) {
                    held = Some(e);
                }
            }
        }
        if let Some(e) = held {
            let decision = Decision::AlreadyPresent { into: e.file.clone(), id: e.fingerprint.id.clone() };
            outcomes[i] = Some(Outcome { candidate: cand_path.clone(), id: cand.id.clone(), decision, near_misses: vec![], compared: 0, apart: vec![] });
            continue;
        }
        let (mut found, compared) = search(&fp, &entries, &opts.config, opts.prefilter);
        if opts.only_archived {
            found.retain(|m| entries.iter().any(|e| e.file == m.file && e.fingerprint.tier == crate::schema::Tier::Archive));
        }
        let mut same = None;
        let mut apart = Vec::new();
        for m in found.iter().take(MAX_CHECKED) {
            let (text, existing) = current(dir, &pending, &m.file)?;
            if let Some(differs) = behaviour::other_situation(&existing, cand, &opts.config.situation_labels) {
                apart.push(SituationApart { file: m.file.clone(), label: differs.0, existing: differs.1, candidate: differs.2 });
                continue;
            }
            if let Some(why) = behaviour::same_failure(&existing, cand, &opts.rules) {
                same = Some((m.clone(), text, existing, why));
                break;
            }
        }
        let near_misses: Vec<Match> = found.iter().filter(|m| same.as_ref().is_none_or(|(s, ..)| s.file != m.file)).take(5).cloned().collect();
        let decision = match same {
            Some((m, text, existing, why)) => {
                let path = dir.join(&m.file);
                // The cluster's file is its earliest member's.
                let candidate_first = member_order(cand) < member_order(&existing);
                let (base_text, base, absorbed) = if candidate_first { (cand_text.as_str(), cand, &existing) } else { (text.as_str(), &existing, cand) };
                let (new_text, hits, resurrected) =
                    merge_cluster(base_text, base, absorbed, existing.tier, &opts.now).map_err(|message| edit_error(&path, message))?;
                let merged = Scenario::parse(&new_text, &path.display().to_string()).map_err(|e| edit_error(&path, e.to_string()))?;
                let original = match pending.remove(&m.file) {
                    Some(p) => p.original,
                    None => Some(text.into_bytes()),
                };
                let idx = entries.iter().position(|e| e.file == m.file).expect("match comes from entries");
                let replaced = if candidate_first {
                    let rel = PathBuf::from(slug(&cand.failure_mode)).join(format!("{}.toml", cand.id));
                    pending.insert(m.file.clone(), Pending { text: String::new(), original, remove: true });
                    pending.insert(rel.clone(), Pending::write(new_text, None));
                    entries[idx] = IndexEntry { file: rel, size: 0, mtime_ns: 0, fingerprint: Fingerprint::of(&merged) };
                    Some(m.file.clone())
                } else {
                    pending.insert(m.file.clone(), Pending::write(new_text, original));
                    entries[idx].fingerprint = Fingerprint::of(&merged);
                    None
                };
                Decision::Merged { into: m, hits, resurrected, why, replaced }
            }
            None if opts.only_archived => Decision::NoArchivedMatch,
            None => {
                if let Some(e) = entries.iter().find(|e| e.fingerprint.id == cand.id) {
                    return Err(PromoteError::IdTaken { candidate: cand_path.clone(), id: cand.id.clone(), existing: e.file.clone() });
                }
                let rel = PathBuf::from(slug(&cand.failure_mode)).join(format!("{}.toml", cand.id));
                let target = dir.join(&rel);
                if target.exists() && !pending.get(&rel).is_some_and(|p| p.remove) {
                    return Err(PromoteError::IdTaken { candidate: cand_path.clone(), id: cand.id.clone(), existing: rel });
                }
                let mut text = cand_text.clone();
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                pending.insert(rel.clone(), Pending::write(text, None));
                entries.push(IndexEntry { file: rel.clone(), size: 0, mtime_ns: 0, fingerprint: fp });
                Decision::Added { file: rel }
            }
        };
        outcomes[i] = Some(Outcome { candidate: cand_path.clone(), id: cand.id.clone(), decision, near_misses, compared, apart });
    }
    let outcomes: Vec<Outcome> = outcomes.into_iter().map(|o| o.expect("every candidate decided")).collect();
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

/// A pair of separate scenarios that read alike (same failure mode, similarity at
/// least `merge_threshold`) but were not merged: their criteria do not catch each
/// other's runs, so they are different failures in similar words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Related {
    /// One scenario's id.
    pub a: String,
    /// The other's id.
    pub b: String,
    /// How alike they read.
    pub similarity: Similarity,
}

/// The related pairs of a suite's index, most similar first (what `ratchet status`
/// lists). Only scenarios of one failure mode are compared.
pub fn related(entries: &[IndexEntry], cfg: &PromoteConfig) -> Vec<Related> {
    let mut by_mode: BTreeMap<&str, Vec<&IndexEntry>> = BTreeMap::new();
    for e in entries {
        by_mode.entry(e.fingerprint.failure_mode.as_str()).or_default().push(e);
    }
    let mut out = Vec::new();
    for list in by_mode.values() {
        for (i, x) in list.iter().enumerate() {
            for y in &list[i + 1..] {
                if upper_bound(&x.fingerprint, &y.fingerprint, &cfg.weights) < cfg.merge_threshold {
                    continue;
                }
                let s = similarity(&x.fingerprint, &y.fingerprint, &cfg.weights);
                if s.total >= cfg.merge_threshold {
                    let (a, b) = if x.fingerprint.id <= y.fingerprint.id { (x, y) } else { (y, x) };
                    out.push(Related { a: a.fingerprint.id.clone(), b: b.fingerprint.id.clone(), similarity: s });
                }
            }
        }
    }
    out.sort_by(|p, q| q.similarity.total.total_cmp(&p.similarity.total).then_with(|| (&p.a, &p.b).cmp(&(&q.a, &q.b))));
    out
}

/// A suite file's current text (this batch's pending edit, else the disk) and the
/// scenario it holds.
fn current(dir: &Path, pending: &BTreeMap<PathBuf, Pending>, rel: &Path) -> Result<(String, Scenario), PromoteError> {
    let path = dir.join(rel);
    let text = match pending.get(rel) {
        Some(p) if !p.remove => p.text.clone(),
        _ => std::fs::read_to_string(&path).map_err(io(&path))?,
    };
    let s = Scenario::parse(&text, &path.display().to_string()).map_err(|e| edit_error(&path, e.to_string()))?;
    Ok((text, s))
}

/// The conversation a scenario was made from: its recording's id, else its first source.
fn own_conversation(s: &Scenario) -> String {
    s.recording
        .as_ref()
        .and_then(|r| r.conversation().ok())
        .map(|c| c.id)
        .or_else(|| s.provenance.source_conversations.first().cloned())
        .unwrap_or_else(|| s.id.clone())
}

/// The history entry that says `member` joined a cluster: the same text whichever
/// member's file the cluster keeps, so the result does not depend on the order.
fn merged_entry(member: &Scenario, now: &str) -> crate::schema::HistoryEntry {
    let at = member.history.iter().find(|h| h.action == "created").map(|h| h.at.clone()).unwrap_or_else(|| now.to_string());
    let event = member.provenance.source_event.as_deref().map(|e| format!(" (event {e})")).unwrap_or_default();
    crate::schema::HistoryEntry {
        at,
        action: "merged".into(),
        detail: format!(
            "production conversation {}{event}: the same failure (its criteria and this scenario's fail on each other's runs)",
            own_conversation(member)
        ),
    }
}

/// Write one cluster as `base`'s file with `absorbed` merged in: sources (sorted),
/// hits, first/last seen, the existing scenario's tier (an archived one comes back
/// to the fast tier), and the history of both, `absorbed`'s creation turned into a
/// `merged` entry, sorted. Returns (text, hits, resurrected).
fn merge_cluster(base_text: &str, base: &Scenario, absorbed: &Scenario, tier: crate::schema::Tier, now: &str) -> Result<(String, u32, bool), String> {
    let mut doc: DocumentMut = base_text.parse().map_err(|e| format!("not valid TOML: {e}"))?;
    let root = doc.as_table_mut();
    if !root.contains_key("provenance") {
        root.insert("provenance", Item::Table(Table::new()));
    }
    let prov = root.get_mut("provenance").and_then(Item::as_table_like_mut).ok_or("`provenance` is not a table")?;
    let mut sources: Vec<String> = base.provenance.source_conversations.iter().chain(&absorbed.provenance.source_conversations).cloned().collect();
    sources.sort();
    sources.dedup();
    let hits = if sources.is_empty() { base.provenance.hits.saturating_add(absorbed.provenance.hits) } else { sources.len() as u32 };
    prov.insert("hits", value(i64::from(hits)));
    let mut list = Array::new();
    for s in &sources {
        list.push(s.as_str());
    }
    prov.insert("source_conversations", value(list));
    let times = |get: fn(&Scenario) -> Option<&str>| -> Vec<(i64, String)> {
        [base, absorbed].iter().filter_map(|s| get(s)).filter_map(|t| crate::time::parse_rfc3339(t).map(|x| (x, t.to_string()))).collect()
    };
    if let Some((_, t)) = times(|s| s.provenance.first_seen.as_deref()).into_iter().min() {
        prov.insert("first_seen", value(t));
    }
    if let Some((_, t)) = times(|s| s.provenance.last_seen.as_deref()).into_iter().max() {
        prov.insert("last_seen", value(t));
    }
    let archived = tier == crate::schema::Tier::Archive;
    root.insert("tier", value(if archived { "fast" } else { tier_name(tier) }));

    let mut history: Vec<crate::schema::HistoryEntry> = base.history.clone();
    history.extend(absorbed.history.iter().filter(|h| h.action != "created").cloned());
    history.push(merged_entry(absorbed, now));
    if archived {
        history.push(crate::schema::HistoryEntry {
            at: now.to_string(),
            action: "resurrected".into(),
            detail: format!("archived scenario matched a new production failure ({}): moved back to the fast tier", own_conversation(absorbed)),
        });
    }
    history.sort_by(|a, b| (&a.at, &a.action, &a.detail).cmp(&(&b.at, &b.action, &b.detail)));
    history.dedup();
    root.remove("history");
    for h in &history {
        push_history(root, &h.at, &h.action, &h.detail).map_err(|e| e.to_string())?;
    }
    Ok((doc.to_string(), hits, archived))
}

fn tier_name(t: crate::schema::Tier) -> &'static str {
    match t {
        crate::schema::Tier::Fast => "fast",
        crate::schema::Tier::Slow => "slow",
        crate::schema::Tier::Archive => "archive",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Tier;

    fn member(id: &str, conv: &str, seen: &str, tier: &str) -> Scenario {
        let text = format!(
            "id = \"{id}\"\ntitle = \"t\"\nfailure_mode = \"m\"\ntier = \"{tier}\"\n\n[provenance]\nsource_conversations = [\"{conv}\"]\nsource_event = \"e-{conv}\"\nfirst_seen = \"{seen}\"\nlast_seen = \"{seen}\"\n\n[[turns]]\ntext = \"x\"\n\n[[criteria]]\nid = \"e\"\nkind = \"must-escalate\"\n\n[[history]]\nat = \"2026-01-01T00:00:00Z\"\naction = \"created\"\ndetail = \"regenerated\"\n"
        );
        Scenario::parse(&text, "t").unwrap()
    }

    #[test]
    fn a_cluster_is_the_same_whichever_member_arrives_first() {
        let a = member("a", "c1", "2026-01-01T00:00:00Z", "archive");
        let b = member("b", "c2", "2026-02-01T00:00:00Z", "fast");
        let text = |s: &Scenario| crate::regenerate::render::to_toml(s, &Default::default());
        // `a` is earlier: its file is the cluster's, whether `b` joins it or it joins `b`.
        let (ab, hits, resurrected) = merge_cluster(&text(&a), &a, &b, Tier::Archive, "2026-03-01T00:00:00Z").unwrap();
        assert_eq!((hits, resurrected), (2, true));
        let s = Scenario::parse(&ab, "ab").unwrap();
        assert_eq!(s.provenance.source_conversations, vec!["c1", "c2"]);
        assert_eq!((s.provenance.first_seen.as_deref(), s.provenance.last_seen.as_deref()), (Some("2026-01-01T00:00:00Z"), Some("2026-02-01T00:00:00Z")));
        assert_eq!(s.tier, Tier::Fast);
        assert_eq!(s.history.iter().map(|h| h.action.as_str()).collect::<Vec<_>>(), vec!["created", "merged", "resurrected"]);
        assert!(s.history[1].detail.starts_with("production conversation c2 (event e-c2)"), "{:?}", s.history[1]);
        let (again, ..) = merge_cluster(&text(&a), &a, &b, Tier::Fast, "2026-03-01T00:00:00Z").unwrap();
        let (other_way, ..) = merge_cluster(&text(&a), &a, &b, Tier::Fast, "2026-04-01T00:00:00Z").unwrap();
        assert_eq!(again, other_way, "nothing depends on when the merge ran");
    }
}
