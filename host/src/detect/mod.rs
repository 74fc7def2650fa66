//! `ratchet detect`: every live conversation through the configured scorecards and
//! the built-in triggers; a failure event (the snapshot on failure) for each one that
//! scores below a threshold, escalated unexpectedly, carries a compliance flag or was
//! complained about.
//!
//! Streaming and restartable: records are read one at a time and processed in
//! batches (scored in parallel, written in input order); after each batch the output
//! is flushed and a checkpoint records how many records were consumed and how many
//! output bytes are valid, so a restart truncates any torn tail and resumes exactly
//! there — no event is emitted twice.
//!
//! One run can also be split across processes, one per partition ([`workers`]), whose
//! outputs are merged back into what a single process would have written ([`merge`]).

pub mod input;
pub mod listen;
pub mod merge;
pub mod otlp;
pub mod otlp_proto;
pub mod sidecar;
pub mod workers;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::config::{ConversationConfig, DetectConfig, ScorecardEntry};
use crate::plugin::Plugin;
use crate::schema::{self, canonical_json, Conversation, FailureEvent, FlagReason, Role, ScorecardRun};

/// `k/n`: this worker's partition of the stream (1-based), by conversation-id hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// 1-based index.
    pub index: u32,
    /// Number of partitions.
    pub count: u32,
}

impl std::str::FromStr for Partition {
    type Err = String;
    fn from_str(s: &str) -> Result<Partition, String> {
        let sh: crate::suite::Shard = s.parse()?;
        Ok(Partition { index: sh.index, count: sh.count })
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Partition {
    /// Whether conversation `id` belongs to this partition: sha256 of the id, first 8
    /// bytes as a number, modulo the count. Stable across machines and versions.
    pub fn owns(&self, id: &str) -> bool {
        let h = Sha256::digest(id.as_bytes());
        let n = u64::from_be_bytes(h[..8].try_into().expect("8 bytes"));
        (n % u64::from(self.count)) as u32 + 1 == self.index
    }
}

/// Why a [`Detector`] could not be built from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum DetectorError {
    /// `detect.expected_escalation_pattern` is not a regular expression.
    #[error("detect.expected_escalation_pattern: {0}")]
    EscalationPattern(#[from] regex::Error),
}

/// Why one input record gave no conversation: the reason written to the reject
/// file (its text is the reject's `error`, so it names the record).
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A canonical record that is not UTF-8.
    #[error("not UTF-8: {0}")]
    NotUtf8(#[from] std::str::Utf8Error),
    /// A canonical record that is not a valid conversation (the message names the
    /// field, and the line within a multi-line file).
    #[error("{0}")]
    Invalid(String),
    /// A JSON Lines record for an adapter that is not exactly one JSON document.
    #[error("{origin}: invalid JSON: {source}")]
    NotOneDocument {
        /// `file:line`.
        origin: String,
        /// What the JSON parser said.
        source: serde_json::Error,
    },
    /// The adapter refused the record, trapped or broke its limits.
    #[error("{origin}: {source}")]
    Adapter {
        /// `file:line` (or the file).
        origin: String,
        /// The plugin failure.
        source: crate::plugin::PluginError,
    },
}

/// What a finished run's counts mean for its exit; the CLI maps each to an exit
/// code ([`Stats::verdict`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunVerdict {
    /// Nothing rejected, no scorecard error.
    Clean,
    /// Rejects or scorecard errors, within the allowed rate.
    RejectsAllowed,
    /// Rejects or scorecard errors above the allowed rate: everything else was
    /// written, but the run must not look clean.
    RejectsAboveLimit,
    /// A scorecard failed on every conversation: nothing was judged, the plugin (or
    /// its limits, or the host) is broken, not the traffic.
    ScorecardsBroken,
}

/// Scorecards and rules, ready to examine conversations.
pub struct Detector {
    scorecards: Vec<(ScorecardEntry, Arc<Plugin>)>,
    /// Each scorecard's parameters as canonical JSON, written once for every call.
    params_json: Vec<String>,
    adapter: Option<(Arc<Plugin>, Value)>,
    config: DetectConfig,
    expected_escalation: Regex,
    rules: ConversationConfig,
    digest: String,
    /// `--state`: merged into each conversation after conversion.
    side_car: Option<sidecar::StateSideCar>,
}

impl Detector {
    /// `scorecards` pairs each `[[detect.scorecards]]` entry with its loaded plugin;
    /// `adapter` converts records that are not canonical conversations.
    pub fn new(config: DetectConfig, scorecards: Vec<(ScorecardEntry, Arc<Plugin>)>, adapter: Option<(Arc<Plugin>, Value)>) -> Result<Detector, DetectorError> {
        let expected_escalation = Regex::new(&config.expected_escalation_pattern)?;
        // The event id depends on the conversation and on what judged it.
        let mut h = Sha256::new();
        for (e, p) in &scorecards {
            h.update(format!("{}\n{}\n{}\n{}\n", e.name, p.id().digest, e.threshold, canonical_json(&e.params)));
        }
        let digest = hex::encode(&h.finalize()[..8]);
        let params_json = scorecards.iter().map(|(e, _)| canonical_json(&e.params)).collect();
        Ok(Detector { scorecards, params_json, adapter, config, expected_escalation, rules: ConversationConfig::default(), digest, side_car: None })
    }

    /// Read conversations by `[conversation]`: a call to one of its escalation tools
    /// that took effect counts as escalating, like the platform's `outcome.escalated`.
    pub fn with_rules(mut self, rules: ConversationConfig) -> Detector {
        self.rules = rules;
        self
    }

    /// Merge `side_car` (`--state`) into every conversation read, after conversion:
    /// with canonical input and with any adapter alike.
    pub fn with_state(mut self, side_car: Option<sidecar::StateSideCar>) -> Detector {
        self.side_car = side_car;
        self
    }

    /// Turn one input record into canonical conversations (directly, or through the adapter).
    pub fn conversations(&self, record: &input::Record) -> Result<Vec<Conversation>, RecordError> {
        self.converted(record).map(|v| v.into_iter().map(|r| r.conversation).collect())
    }

    /// [`Detector::conversations`], each with what the counts note about it.
    pub fn converted(&self, record: &input::Record) -> Result<Vec<Read>, RecordError> {
        self.converted_raw(record)?
            .into_iter()
            .map(|(mut conversation, without_content)| {
                let side_car_state = self.side_car.as_ref().is_some_and(|side| side.apply(&mut conversation));
                impact_from_labels(&self.config.impact_from_labels, &mut conversation)
                    .map_err(|e| RecordError::Invalid(format!("{}: conversation `{}`: {e}", record.origin, conversation.id)))?;
                Ok(Read { conversation, without_content, side_car_state })
            })
            .collect()
    }

    fn converted_raw(&self, record: &input::Record) -> Result<Vec<(Conversation, bool)>, RecordError> {
        match &self.adapter {
            None => {
                let text = std::str::from_utf8(&record.bytes)?;
                schema::parse_json::<Conversation>(text, &record.origin).map(|c| vec![(c, false)]).map_err(|e| {
                    RecordError::Invalid(match e {
                        // A JSONL record is one line: its own "line 1" is noise next to `file:line`.
                        schema::SchemaError::Invalid(mut loc) if loc.line == Some(1) && record.origin.contains(':') => {
                            loc.line = None;
                            let col = loc.column.take().map(|c| format!(" (column {c})")).unwrap_or_default();
                            format!("{loc}{col}")
                        }
                        other => other.to_string(),
                    })
                })
            }
            Some((adapter, options)) => {
                // One JSON document per JSONL line: anything after it is an error, never
                // silently dropped by an adapter that would read only the first.
                if record.line {
                    if let Err(source) = check_one_document(&record.bytes) {
                        return Err(RecordError::NotOneDocument { origin: record.origin.clone(), source });
                    }
                }
                let call = adapter.convert(&record.bytes, options).map_err(|source| RecordError::Adapter { origin: record.origin.clone(), source })?;
                Ok(call.output.into_iter().map(|c| (c.conversation, c.missing.iter().any(|m| m == "turns.content"))).collect())
            }
        }
    }

    /// Run every scorecard and rule; `Ok(None)` when nothing flags the conversation,
    /// `Err` when a scorecard plugin failed (the conversation is counted as an error).
    pub fn examine(&self, conversation: Conversation) -> Result<Option<FailureEvent>, ScorecardFailed> {
        let mut runs = Vec::with_capacity(self.scorecards.len());
        let mut reasons = Vec::new();
        let mut worst: Option<(f64, Option<String>)> = None;
        for ((entry, plugin), params) in self.scorecards.iter().zip(&self.params_json) {
            let result = plugin
                .score_with(&conversation, params)
                .map_err(|source| ScorecardFailed { conversation: conversation.id.clone(), scorecard: entry.name.clone(), source })?
                .output;
            if result.score < entry.threshold {
                reasons.push(FlagReason::BelowThreshold { scorecard: entry.name.clone(), score: result.score, threshold: entry.threshold });
                let badness = entry.weight * (entry.threshold - result.score);
                if worst.as_ref().is_none_or(|(b, _)| badness > *b) {
                    worst = Some((badness, result.failure_mode.clone()));
                }
            }
            runs.push(ScorecardRun { name: entry.name.clone(), plugin_digest: plugin.id().digest.clone(), threshold: entry.threshold, result });
        }
        let o = &conversation.outcome;
        let escalated = if self.rules.escalation_tools.is_empty() { o.escalated } else { self.rules.escalation(&conversation).is_some() };
        if self.config.flag_unexpected_escalation && escalated {
            let asked = conversation.turns.iter().any(|t| t.role == Role::Customer && self.expected_escalation.is_match(&t.text));
            if !asked {
                reasons.push(FlagReason::UnexpectedEscalation);
            }
        }
        if self.config.flag_compliance {
            let mut flags: Vec<&String> =
                o.compliance_flags.iter().chain(runs.iter().flat_map(|r| r.result.flags.iter()).filter(|f| f.starts_with("compliance:"))).collect();
            flags.sort();
            flags.dedup();
            reasons.extend(flags.into_iter().map(|f| FlagReason::ComplianceFlag { flag: f.clone() }));
        }
        if self.config.flag_complaint && o.complaint {
            reasons.push(FlagReason::Complaint);
        }
        if reasons.is_empty() {
            return Ok(None);
        }
        // The failure mode: from the scorecard furthest below its threshold; else, when
        // the conversation was flagged by a trigger (complaint, compliance flag...),
        // from the scorecard that saw something wrong (a failing check, scored lowest)
        // — what went wrong says more than how it was noticed; else the trigger.
        let noticed = || {
            runs.iter()
                .zip(&self.scorecards)
                .filter(|(r, _)| r.result.failure_mode.is_some())
                .min_by(|(a, ea), (b, eb)| (ea.0.weight * (a.result.score - 1.0)).total_cmp(&(eb.0.weight * (b.result.score - 1.0))))
                .and_then(|(r, _)| r.result.failure_mode.clone())
        };
        let failure_mode = worst.and_then(|(_, m)| m).or_else(noticed).or_else(|| {
            reasons.first().map(|r| match r {
                FlagReason::UnexpectedEscalation => "unexpected-escalation".to_string(),
                FlagReason::ComplianceFlag { flag } => flag.clone(),
                FlagReason::Complaint => "customer-complaint".to_string(),
                FlagReason::BelowThreshold { scorecard, .. } => format!("low-score:{scorecard}"),
            })
        });
        let h = Sha256::digest(format!("{}\n{}", conversation.id, self.digest).as_bytes());
        Ok(Some(FailureEvent {
            schema_version: Default::default(),
            event_id: format!("fe-{}", hex::encode(&h[..8])),
            detected_at: conversation.started_at.clone(),
            reasons,
            failure_mode,
            scorecards: runs,
            conversation,
        }))
    }
}

/// A scorecard plugin failed on a conversation: the conversation is counted as an
/// error and written to the rejects, not judged.
#[derive(Debug, thiserror::Error)]
#[error("conversation `{conversation}`: scorecard `{scorecard}`: {source}")]
pub struct ScorecardFailed {
    /// The conversation's id.
    pub conversation: String,
    /// The scorecard's name in `[[detect.scorecards]]`.
    pub scorecard: String,
    /// The plugin failure (trap, limits, refused input).
    pub source: crate::plugin::PluginError,
}

/// A label `[detect.impact_from_labels]` reads an impact amount from, holding
/// something that is not a non-negative number.
#[derive(Debug, thiserror::Error)]
#[error("label `{label}` = {text:?}: impact.{field} ([detect.impact_from_labels]) needs a non-negative number")]
pub struct ImpactLabelError {
    /// The label's name.
    pub label: String,
    /// Its value.
    pub text: String,
    /// The impact field it was to set (`revenue_at_risk`...).
    pub field: &'static str,
}

/// Set the impact fields `[detect.impact_from_labels]` names from the
/// conversation's labels; the error names the label and what is wrong with it.
pub fn impact_from_labels(map: &crate::config::ImpactFromLabels, c: &mut Conversation) -> Result<(), ImpactLabelError> {
    let amounts = [
        (&map.revenue_at_risk, &mut c.impact.revenue_at_risk, "revenue_at_risk"),
        (&map.refund_amount, &mut c.impact.refund_amount, "refund_amount"),
        (&map.compliance_exposure, &mut c.impact.compliance_exposure, "compliance_exposure"),
        (&map.escalation_cost, &mut c.impact.escalation_cost, "escalation_cost"),
    ];
    for (label, field, name) in amounts {
        let Some(value) = label.as_ref().and_then(|l| c.labels.get(l).map(|v| (l, v))) else { continue };
        let (label, text) = value;
        match text.trim().parse::<f64>() {
            Ok(x) if x.is_finite() && x >= 0.0 => *field = x,
            _ => return Err(ImpactLabelError { label: label.clone(), text: text.clone(), field: name }),
        }
    }
    if let Some(v) = map.currency.as_ref().and_then(|l| c.labels.get(l)) {
        c.impact.currency = Some(v.trim().to_string());
    }
    Ok(())
}

/// Counts for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Records read (lines or files), including skipped ones.
    pub records: u64,
    /// Conversations examined in this partition.
    pub seen: u64,
    /// Conversations belonging to other partitions.
    pub other_partitions: u64,
    /// Failure events written.
    pub flagged: u64,
    /// Flag reasons, by kind.
    pub reasons: BTreeMap<String, u64>,
    /// Records that could not be read or parsed (written to the reject file).
    pub rejected: u64,
    /// Conversations a scorecard failed on (also written to the reject file).
    pub errors: u64,
    /// Conversations whose source recorded model calls without their messages
    /// (adapter-reported `turns.content`: content capture was off): examined
    /// on what is left (tool calls), and counted here so it is never silent.
    #[serde(default)]
    pub without_content: u64,
    /// Conversations examined with a `--state` side-car state merged in.
    #[serde(default)]
    pub with_side_car_state: u64,
}

impl Stats {
    /// The one-line summary.
    pub fn line(&self) -> String {
        let reasons: Vec<String> = self.reasons.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let part = if self.other_partitions > 0 { format!(", {} in other partitions", self.other_partitions) } else { String::new() };
        let mut content = if self.without_content > 0 { format!(", without message content {}", self.without_content) } else { String::new() };
        if self.with_side_car_state > 0 {
            content.push_str(&format!(", side-car state {}", self.with_side_car_state));
        }
        format!(
            "detect: seen {}, flagged {}{}, rejected {}, errors {}{part}{content}",
            self.seen,
            self.flagged,
            if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join(", ")) },
            self.rejected,
            self.errors
        )
    }

    /// What the counts mean for the run's exit, with `max_reject_rate` the share of
    /// rejects and scorecard errors allowed (`--max-reject-rate`; 0 allows none).
    pub fn verdict(&self, max_reject_rate: f64) -> RunVerdict {
        if self.seen > 0 && self.errors == self.seen {
            RunVerdict::ScorecardsBroken
        } else if self.rejected + self.errors == 0 {
            RunVerdict::Clean
        } else if self.reject_rate() > max_reject_rate {
            RunVerdict::RejectsAboveLimit
        } else {
            RunVerdict::RejectsAllowed
        }
    }

    /// The share of units that failed: (rejected + errors) / (rejected + seen),
    /// 0 when nothing was read.
    pub fn reject_rate(&self) -> f64 {
        let units = self.rejected + self.seen;
        if units == 0 {
            0.0
        } else {
            (self.rejected + self.errors) as f64 / units as f64
        }
    }
}

/// Where a run stands: written after every batch, read on restart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Records fully processed.
    pub records: u64,
    /// Bytes of the output file that hold complete events.
    pub output_bytes: u64,
    /// Bytes of the reject file that hold complete lines.
    pub reject_bytes: u64,
    /// Counts so far.
    pub stats: Stats,
}

/// A rejected record or failed conversation, one JSON line in the reject file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reject {
    /// `file:line`.
    pub origin: String,
    /// Why.
    pub error: String,
    /// The raw record (lossy UTF-8), cut at 64 KiB.
    pub record: String,
}

/// Options of one detect run.
pub struct RunOptions {
    /// Only this partition.
    pub partition: Option<Partition>,
    /// Threads scoring conversations.
    pub jobs: usize,
    /// Records per batch (between checkpoints).
    pub batch: usize,
}

/// Process `records`, writing events to `out` and rejects to `rejects`. `resume`
/// skips the records a checkpoint says were done; `on_batch` is called after each
/// flushed batch (to write the checkpoint).
pub fn run(
    detector: &Detector,
    records: impl Iterator<Item = Result<input::Record, input::ReadError>>,
    out: &mut dyn Write,
    rejects: &mut dyn Write,
    opts: &RunOptions,
    resume: Checkpoint,
    on_batch: &mut dyn FnMut(&Checkpoint) -> std::io::Result<()>,
) -> std::io::Result<Stats> {
    run_to(detector, records, Sinks { events: out, rejects, positions: None }, opts, resume, on_batch)
}

/// Where a run writes: events, rejects and, for a partition of a run split across
/// processes, the input position of every line written (see [`merge`]).
pub struct Sinks<'a> {
    /// Failure events (JSONL).
    pub events: &'a mut dyn Write,
    /// Rejected records and failed conversations (JSONL).
    pub rejects: &'a mut dyn Write,
    /// One [`merge::write_entry`] per line written to `events` or `rejects`, in write order.
    pub positions: Option<&'a mut dyn Write>,
}

/// [`run`], writing to `sinks` (with the positions log when one is given).
pub fn run_to(
    detector: &Detector,
    records: impl Iterator<Item = Result<input::Record, input::ReadError>>,
    sinks: Sinks<'_>,
    opts: &RunOptions,
    resume: Checkpoint,
    on_batch: &mut dyn FnMut(&Checkpoint) -> std::io::Result<()>,
) -> std::io::Result<Stats> {
    let Sinks { events: out, rejects, mut positions } = sinks;
    let mut cp = resume;
    let skip = cp.records;
    let mut records = records.skip(skip as usize).peekable();
    let jobs = opts.jobs.max(1);
    while records.peek().is_some() {
        let batch: Vec<_> = records.by_ref().take(opts.batch.max(1)).collect();
        // Records are numbered over the whole input (skipped ones included), so every
        // partition of a split run numbers them alike.
        let first = cp.stats.records;
        cp.stats.records += batch.len() as u64;
        // Parse and score in parallel (both cost), then account and write serially, in
        // input order, whatever the number of jobs.
        let outcomes = parallel_map(batch, jobs, |r| process(detector, r, opts.partition));
        let mut reject_lines: Vec<(merge::LineKind, merge::Position, Reject)> = Vec::new();
        for (i, record_outcomes) in outcomes.into_iter().enumerate() {
            for (j, outcome) in record_outcomes.into_iter().enumerate() {
                let at = merge::Position { record: first + i as u64, conversation: j as u32 };
                match outcome {
                    Outcome::Rejected(r) => {
                        cp.stats.rejected += 1;
                        reject_lines.push((merge::LineKind::Rejected, at, r));
                    }
                    Outcome::OtherPartition => cp.stats.other_partitions += 1,
                    Outcome::Examined(origin, seen, result) => {
                        cp.stats.seen += 1;
                        cp.stats.without_content += u64::from(seen.without_content);
                        cp.stats.with_side_car_state += u64::from(seen.side_car_state);
                        match result {
                            Ok(Some(event)) => {
                                cp.stats.flagged += 1;
                                for reason in &event.reasons {
                                    *cp.stats.reasons.entry(reason_kind(reason).to_string()).or_default() += 1;
                                }
                                let mut line = serde_json::to_vec(&event).expect("event serialises");
                                line.push(b'\n');
                                out.write_all(&line)?;
                                cp.output_bytes += line.len() as u64;
                                if let Some(p) = positions.as_mut() {
                                    merge::write_entry(&mut **p, merge::LineKind::Event, at)?;
                                }
                            }
                            Ok(None) => {}
                            Err(e) => {
                                cp.stats.errors += 1;
                                reject_lines.push((merge::LineKind::Error, at, Reject { origin, error: e.to_string(), record: String::new() }));
                            }
                        }
                    }
                }
            }
        }
        for (kind, at, rj) in &reject_lines {
            let mut line = serde_json::to_vec(rj).expect("reject serialises");
            line.push(b'\n');
            rejects.write_all(&line)?;
            cp.reject_bytes += line.len() as u64;
            if let Some(p) = positions.as_mut() {
                merge::write_entry(&mut **p, *kind, *at)?;
            }
        }
        out.flush()?;
        rejects.flush()?;
        if let Some(p) = positions.as_mut() {
            p.flush()?;
        }
        // Everything read so far, before a resume included: records are never re-read.
        cp.records = cp.stats.records;
        on_batch(&cp)?;
    }
    Ok(cp.stats)
}

/// One conversation read from an input record, with what the counts note about it.
pub struct Read {
    /// The canonical conversation (with the `--state` side-car merged in).
    pub conversation: Conversation,
    /// The adapter reported its message content missing (`turns.content`: the
    /// source recorded model calls without their messages, e.g. an
    /// instrumentation's content capture was off).
    pub without_content: bool,
    /// The `--state` side-car had a state for it.
    pub side_car_state: bool,
}

/// What the counts note about an examined conversation.
struct Seen {
    without_content: bool,
    side_car_state: bool,
}

/// What became of one input record's conversations.
enum Outcome {
    Rejected(Reject),
    OtherPartition,
    Examined(String, Seen, Result<Option<FailureEvent>, ScorecardFailed>),
}

fn reason_kind(r: &FlagReason) -> &'static str {
    match r {
        FlagReason::BelowThreshold { .. } => "below-threshold",
        FlagReason::UnexpectedEscalation => "unexpected-escalation",
        FlagReason::ComplianceFlag { .. } => "compliance-flag",
        FlagReason::Complaint => "complaint",
    }
}

fn process(detector: &Detector, record: Result<input::Record, input::ReadError>, partition: Option<Partition>) -> Vec<Outcome> {
    let rec = match record {
        Err(e) => return vec![Outcome::Rejected(Reject { origin: e.origin, error: e.message, record: String::new() })],
        Ok(r) => r,
    };
    match detector.converted(&rec) {
        Err(e) => vec![Outcome::Rejected(Reject { origin: rec.origin.clone(), error: e.to_string(), record: lossy(&rec.bytes) })],
        Ok(convs) => convs
            .into_iter()
            .map(|read| {
                if partition.is_some_and(|p| !p.owns(&read.conversation.id)) {
                    Outcome::OtherPartition
                } else {
                    let seen = Seen { without_content: read.without_content, side_car_state: read.side_car_state };
                    Outcome::Examined(rec.origin.clone(), seen, detector.examine(read.conversation))
                }
            })
            .collect(),
    }
}

/// Exactly one JSON document (whitespace around it allowed): trailing data
/// after it, such as a second document on the same line, is an error.
pub fn check_one_document(bytes: &[u8]) -> Result<(), serde_json::Error> {
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map(|_| ())
}

/// Map `items` on `jobs` threads in contiguous chunks, keeping the input order.
fn parallel_map<T: Send, R: Send>(items: Vec<T>, jobs: usize, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    if jobs <= 1 || items.len() < 2 {
        return items.into_iter().map(f).collect();
    }
    let chunk = items.len().div_ceil(jobs);
    let mut parts: Vec<Vec<T>> = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let tail = rest.split_off(chunk.min(rest.len()));
        parts.push(std::mem::replace(&mut rest, tail));
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = parts.into_iter().map(|part| s.spawn(move || part.into_iter().map(f).collect::<Vec<_>>())).collect();
        handles.into_iter().flat_map(|h| h.join().expect("processing a record does not panic")).collect()
    })
}

fn lossy(b: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(&b[..b.len().min(64 << 10)]).into_owned();
    if b.len() > 64 << 10 {
        s.push_str("…[cut]");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(seen: u64, rejected: u64, errors: u64) -> Stats {
        Stats { records: seen + rejected, seen, rejected, errors, ..Stats::default() }
    }

    #[test]
    fn the_exit_follows_the_counts_and_the_allowed_rate() {
        assert_eq!(stats(10, 0, 0).verdict(0.0), RunVerdict::Clean);
        assert_eq!(stats(0, 0, 0).verdict(0.0), RunVerdict::Clean, "nothing read is not an error of the traffic");
        assert_eq!(stats(99, 1, 0).verdict(0.0), RunVerdict::RejectsAboveLimit, "any reject by default");
        assert_eq!(stats(99, 1, 0).verdict(0.01), RunVerdict::RejectsAllowed, "1 of 100 within 1 %");
        assert_eq!(stats(98, 2, 0).verdict(0.01), RunVerdict::RejectsAboveLimit);
        assert_eq!(stats(10, 0, 1).verdict(0.0), RunVerdict::RejectsAboveLimit, "a scorecard error counts like a reject");
        assert_eq!(stats(10, 3, 10).verdict(1.0), RunVerdict::ScorecardsBroken, "whatever the allowed rate");
    }

    #[test]
    fn record_errors_say_what_the_reject_file_said() {
        let e = check_one_document(b"{} {}").unwrap_err();
        let r = RecordError::NotOneDocument { origin: "a.jsonl:3".into(), source: e };
        assert!(r.to_string().starts_with("a.jsonl:3: invalid JSON: trailing characters"), "{r}");
        let bad = DetectConfig { expected_escalation_pattern: "(((".into(), ..DetectConfig::default() };
        let e = Detector::new(bad, vec![], None).err().expect("a bad pattern");
        assert!(e.to_string().starts_with("detect.expected_escalation_pattern: regex parse error"), "{e}");
    }
}
