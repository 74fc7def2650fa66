//! # scorecard-llm-rubric
//!
//! A ratchet scorecard graded by a language model: the judge reads the
//! conversation and answers every yes/no question of a `rubric` ("yes" = the agent
//! behaved correctly) in one call. The score is the share of "yes" answers; a
//! failing conversation gets the configured failure mode, and every "no" becomes a
//! suggested scenario criterion — the same question, asked by the
//! `assertion-llm-rubric` plugin — so `ratchet regenerate` turns an LLM-judged
//! production failure into an LLM-judged regression check.
//!
//! The model is reached through the host's `ratchet:plugin/model` import
//! (`grant_model = true` in the plugin's `[plugins.NAME]` entry). `ratchet detect`
//! asks the model for conversations it has not judged yet and records each answer
//! under the sha256 of the exact request, so the judgement in a failure event can
//! be replayed byte for byte.
//!
//! Params (the scorecard's `params` table in `[[detect.scorecards]]`):
//!
//! | param | default | meaning |
//! |---|---|---|
//! | `rubric` | (required) | `[{name, question}]`: 1-20 items, names in `a-z0-9-`, unique |
//! | `failure_mode` | `llm-rubric:<first failed name>` | the failure mode of a conversation that fails an item |
//! | `guidance` | none | grading notes for the judge |
//! | `model` | `[model]` default | a model id |
//! | `assertion_plugin` | `llm-rubric` | the plugin name suggested criteria use |

use ratchet_sdk::judge::{self, Request};
use ratchet_sdk::{json, Conversation, CriterionResult, Params, PluginInfo, Scorecard, ScorecardResult, SuggestedCriterion, Value};

/// The plugin (a unit struct: all state is in the arguments).
pub struct LlmRubricScorecard;

/// The judge's instructions (part of every request, so part of every recording key).
pub const SYSTEM_PROMPT: &str = "You are a meticulous quality reviewer of a customer-support AI agent. \
You are given the transcript of one conversation (turn indices in brackets; AGENT lines are the agent's replies and tool calls, \
TOOL lines are tool results) and a rubric of named yes/no questions about the agent's behaviour. Judge only from the transcript, strictly: \
if the transcript does not show the behaviour, the answer is \"no\"; a question that does not apply to this conversation is answered \"yes\". \
Answer every question once, as JSON: {\"answers\": [{\"name\": the question's name, \"answer\": \"yes\" or \"no\", \
\"reason\": one sentence citing what the agent said or did, \"turn\": the index of the deciding turn or null}]}.";

/// Most rubric items.
pub const MAX_ITEMS: usize = 20;

/// One rubric question.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Criterion name.
    pub name: String,
    /// The yes/no question ("yes" passes).
    pub question: String,
}

/// The rubric and options, read from params.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// The questions.
    pub rubric: Vec<Item>,
    /// Failure mode for failing conversations (None: derived from the first failed item).
    pub failure_mode: Option<String>,
    /// Grading notes.
    pub guidance: Option<String>,
    /// Model id.
    pub model: Option<String>,
    /// Plugin name for suggested criteria.
    pub assertion_plugin: String,
}

impl Config {
    /// Reads and checks `params`.
    pub fn from_params(params: &Value) -> Result<Config, String> {
        let p = Params::new(params)?;
        p.deny_unknown(&["rubric", "failure_mode", "guidance", "model", "assertion_plugin"])?;
        let Some(Value::Array(items)) = p.get("rubric") else {
            return Err("param `rubric` is required: an array of {name, question} (\"yes\" = the agent behaved correctly)".into());
        };
        if items.is_empty() || items.len() > MAX_ITEMS {
            return Err(format!("param `rubric` must have 1 to {MAX_ITEMS} items, it has {}", items.len()));
        }
        let mut rubric: Vec<Item> = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let field = |k: &str| it.get(k).and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
            let (Some(name), Some(question)) = (field("name"), field("question")) else {
                return Err(format!("rubric[{i}]: needs a non-empty `name` and `question`"));
            };
            if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
                return Err(format!("rubric[{i}]: name `{name}` must use only a-z, 0-9 and -"));
            }
            if rubric.iter().any(|r| r.name == name) {
                return Err(format!("rubric[{i}]: name `{name}` is used twice"));
            }
            if let Some(k) = it.as_object().and_then(|o| o.keys().find(|k| *k != "name" && *k != "question")) {
                return Err(format!("rubric[{i}]: unknown field `{k}` (expected name, question)"));
            }
            rubric.push(Item { name, question });
        }
        let opt = |k: &str| -> Result<Option<String>, String> { Ok(Some(p.str(k, "")?).filter(|s| !s.trim().is_empty())) };
        Ok(Config {
            rubric,
            failure_mode: opt("failure_mode")?,
            guidance: opt("guidance")?,
            model: opt("model")?,
            assertion_plugin: p.str("assertion_plugin", "llm-rubric")?,
        })
    }

    /// The one request that grades `conversation` on every item.
    pub fn request(&self, conversation: &Conversation) -> Request {
        let mut user = String::from("RUBRIC:\n");
        for it in &self.rubric {
            user.push_str(&format!("- {}: {}\n", it.name, it.question));
        }
        if let Some(g) = &self.guidance {
            user.push_str(&format!("GRADING NOTES: {g}\n"));
        }
        user.push_str("\nTRANSCRIPT:\n");
        user.push_str(&judge::render_transcript(conversation));
        let names: Vec<&str> = self.rubric.iter().map(|i| i.name.as_str()).collect();
        let schema = json!({
            "type": "object",
            "properties": {"answers": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "enum": names},
                    "answer": {"type": "string", "enum": ["yes", "no"]},
                    "reason": {"type": "string"},
                    "turn": {"type": ["integer", "null"]}
                },
                "required": ["name", "answer", "reason", "turn"],
                "additionalProperties": false
            }}},
            "required": ["answers"],
            "additionalProperties": false
        });
        let mut r = Request::new().system(SYSTEM_PROMPT).user(user).max_tokens(200 + 120 * self.rubric.len() as u32).schema(schema);
        if let Some(m) = &self.model {
            r = r.model(m.clone());
        }
        r
    }

    /// The scorecard result for the judge's `answer` (JSON) on `conversation`.
    pub fn grade(&self, conversation: &Conversation, answer: &Value) -> Result<ScorecardResult, String> {
        let Some(answers) = answer.get("answers").and_then(Value::as_array) else {
            return Err(format!("the judge's answer has no `answers` array: {answer}"));
        };
        let mut criteria = Vec::new();
        let mut suggestions = Vec::new();
        for it in &self.rubric {
            let mut mine = answers.iter().filter(|a| a.get("name").and_then(Value::as_str) == Some(it.name.as_str()));
            let (Some(a), None) = (mine.next(), mine.next()) else {
                return Err(format!("the judge must answer rubric item `{}` exactly once: {answer}", it.name));
            };
            let j = judge::parse_yes_no(a, conversation.turns.len()).map_err(|e| format!("rubric item `{}`: {e}", it.name))?;
            let reason = j.reason_line();
            if j.yes {
                criteria.push(CriterionResult::pass(&it.name, reason));
            } else {
                suggestions.push(SuggestedCriterion::new(
                    "plugin",
                    json!({"plugin": self.assertion_plugin, "params": {"question": it.question}}),
                    format!("LLM rubric `{}` failed in production ({reason})", it.name),
                ));
                criteria.push(CriterionResult::fail(&it.name, reason, j.turn));
            }
        }
        let mut result = ScorecardResult::from_criteria(criteria);
        if let Some(first) = result.first_failure() {
            result.failure_mode = Some(self.failure_mode.clone().unwrap_or_else(|| format!("llm-rubric:{}", first.name)));
        }
        result.suggested_criteria = suggestions;
        Ok(result)
    }
}

impl Scorecard for LlmRubricScorecard {
    fn info() -> PluginInfo {
        PluginInfo::new(
            "llm-rubric-scorecard",
            env!("CARGO_PKG_VERSION"),
            "An LLM judge grades the conversation on a rubric of yes/no questions (recorded; replayable)",
        )
    }

    fn score(conversation: &Conversation, params: &Value) -> Result<ScorecardResult, String> {
        let config = Config::from_params(params)?;
        let (answer, _) = judge::complete_json(&config.request(conversation))?;
        config.grade(conversation, &answer)
    }
}

ratchet_sdk::export_scorecard!(LlmRubricScorecard);
