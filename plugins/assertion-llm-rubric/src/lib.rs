//! # assertion-llm-rubric
//!
//! A ratchet assertion (scenario criterion of kind `plugin`) decided by a language
//! model: the judge reads the replayed transcript and answers one yes/no `question`
//! whose "yes" means the agent behaved correctly ("Before cancelling, did the agent
//! state the cancellation policy?"). Use it for what a regex or a tool check cannot
//! see: tone, whether an explanation was actually given, whether a promise was made.
//!
//! The model is reached through the host's `ratchet:plugin/model` import, so the
//! plugin needs `grant_model = true` in its `[plugins.NAME]` entry. Every answer is
//! recorded under the sha256 of the exact request; `ratchet gate` replays the
//! recording, so the verdict is the same on every run and in CI with no network.
//! A changed transcript is a new question: record it deliberately
//! (`ratchet gate --record-missing`), review the answer, commit it.
//!
//! Params:
//!
//! | param | required | meaning |
//! |---|---|---|
//! | `question` | yes | a yes/no question; "yes" = pass |
//! | `guidance` | no | grading notes for the judge (what counts, what does not) |
//! | `model` | no | a model id instead of the `[model]` default |
//!
//! The verdict's reason is the judge's own sentence, prefixed `judge:`; its turn is
//! the turn the judge named, when that turn exists.

use ratchet_sdk::judge::{self, Request};
use ratchet_sdk::{Assertion, Conversation, Params, PluginInfo, Value, Verdict};

/// The plugin (a unit struct: all state is in the arguments).
pub struct LlmRubric;

/// The judge's instructions (part of every request, so part of every recording key).
pub const SYSTEM_PROMPT: &str = "You are a meticulous quality reviewer of a customer-support AI agent. \
You are given the transcript of one conversation (turn indices in brackets; AGENT lines are the agent's replies and tool calls, \
TOOL lines are tool results) and one yes/no question about the agent's behaviour. Judge only from the transcript, strictly: \
if the transcript does not show the behaviour, the answer is \"no\". Answer with JSON: \
{\"answer\": \"yes\" or \"no\", \"reason\": one sentence citing what the agent said or did, \"turn\": the index of the deciding turn or null}.";

/// What the judge is asked, read from params.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The yes/no question ("yes" passes).
    pub question: String,
    /// Optional grading notes.
    pub guidance: Option<String>,
    /// Optional model id.
    pub model: Option<String>,
}

impl Config {
    /// Reads `params`; `question` is required.
    pub fn from_params(params: &Value) -> Result<Config, String> {
        let p = Params::new(params)?;
        p.deny_unknown(&["question", "guidance", "model"])?;
        let question = p.str("question", "")?;
        if question.trim().is_empty() {
            return Err("param `question` is required: a yes/no question whose \"yes\" means the agent behaved correctly".into());
        }
        let opt = |k: &str| -> Result<Option<String>, String> { Ok(Some(p.str(k, "")?).filter(|s| !s.trim().is_empty())) };
        Ok(Config { question: question.trim().to_string(), guidance: opt("guidance")?, model: opt("model")? })
    }

    /// The request for `transcript`.
    pub fn request(&self, transcript: &Conversation) -> Request {
        let mut user = format!("QUESTION: {}\n", self.question);
        if let Some(g) = &self.guidance {
            user.push_str(&format!("GRADING NOTES: {g}\n"));
        }
        user.push_str("\nTRANSCRIPT:\n");
        user.push_str(&judge::render_transcript(transcript));
        let mut r = Request::new().system(SYSTEM_PROMPT).user(user).max_tokens(300).schema(judge::yes_no_schema());
        if let Some(m) = &self.model {
            r = r.model(m.clone());
        }
        r
    }
}

impl Assertion for LlmRubric {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "llm-rubric",
            env!("CARGO_PKG_VERSION"),
            "An LLM judge answers a yes/no rubric question about the transcript (recorded; deterministic in replay)",
        )
    }

    fn check(transcript: &Conversation, params: &Value) -> Result<Verdict, String> {
        let config = Config::from_params(params)?;
        let (answer, _) = judge::complete_json(&config.request(transcript))?;
        let j = judge::parse_yes_no(&answer, transcript.turns.len())?;
        let reason = j.reason_line();
        Ok(if j.yes { Verdict::pass(reason) } else { Verdict::fail(reason, j.turn) })
    }
}

ratchet_sdk::export_assertion!(LlmRubric);
