//! The failure event: the snapshot on failure that `ratchet detect` emits and
//! `ratchet regenerate` turns into a scenario.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Conversation, SchemaVersion, ScorecardResult};

/// A conversation flagged as a failure, with everything needed to replay it.
///
/// The conversation carries the agent state snapshot (memory, KB hash, tool
/// registry, prompt version, model, routing), so replay is mechanical.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FailureEvent {
    /// Version of this schema.
    #[serde(default)]
    pub schema_version: SchemaVersion,
    /// Stable id: derived from the conversation id and the detection config, so
    /// re-running detection does not create a second event.
    pub event_id: String,
    /// RFC 3339 time the failure was detected (the conversation's own time in replays).
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "super::conversation::rfc3339_opt")]
    pub detected_at: Option<String>,
    /// Why the conversation was flagged; at least one.
    pub reasons: Vec<FlagReason>,
    /// The failure-mode cluster (from the worst scorecard, or a built-in trigger).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_mode: Option<String>,
    /// Every scorecard that ran, flagged or not.
    #[serde(default)]
    pub scorecards: Vec<ScorecardRun>,
    /// The conversation with its agent state snapshot.
    pub conversation: Conversation,
}

impl FailureEvent {
    /// When the failure happened, in Unix seconds: `detected_at`, else the
    /// conversation's `started_at`; `None` for exports that record neither (rank and
    /// regenerate then take such events in input order, and say so).
    pub fn time(&self) -> Option<i64> {
        self.detected_at.as_deref().or(self.conversation.started_at.as_deref()).and_then(crate::time::parse_rfc3339)
    }
}

/// Why a conversation was flagged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FlagReason {
    /// A scorecard scored below its threshold.
    BelowThreshold {
        /// The scorecard's configured name.
        scorecard: String,
        /// Its score.
        score: f64,
        /// Its threshold.
        threshold: f64,
    },
    /// The conversation escalated to a human when it was not expected to.
    UnexpectedEscalation,
    /// The platform or a scorecard raised a compliance flag.
    ComplianceFlag {
        /// The flag.
        flag: String,
    },
    /// The customer complained.
    Complaint,
}

/// One scorecard's run over the conversation, with the plugin identity used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScorecardRun {
    /// The scorecard's configured name.
    pub name: String,
    /// `sha256:` digest of the plugin component that produced the result.
    pub plugin_digest: String,
    /// The threshold it was compared with.
    pub threshold: f64,
    /// What it returned.
    pub result: ScorecardResult,
}
