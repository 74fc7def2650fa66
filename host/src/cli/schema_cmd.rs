//! `ratchet schema` and `ratchet validate`.

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use serde_json::json;

use super::{exit, CliError, CliResult, OutputFormat};
use ratchet::schema::{self, Conversation, FailureEvent, Scenario};

#[derive(Args)]
pub struct SchemaArgs {
    /// Which format; omit to list them.
    name: Option<String>,
}

pub fn schema(a: SchemaArgs) -> CliResult {
    let Some(name) = a.name else {
        for n in schema::SCHEMA_NAMES {
            outln!("{n}");
        }
        return Ok(exit::OK);
    };
    match schema::json_schema(&name) {
        Some(s) => {
            outln!("{}", serde_json::to_string_pretty(&s).expect("schema serialises"));
            Ok(exit::OK)
        }
        None => Err(CliError::usage(anyhow::anyhow!("unknown schema `{name}`; known: {}", schema::SCHEMA_NAMES.join(", ")))),
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    Conversation,
    FailureEvent,
    Scenario,
    /// `ratchet.toml`.
    Config,
}

#[derive(Args)]
pub struct ValidateArgs {
    /// Files to check (`-`: standard input). `ratchet.toml` is the project config, other `.toml` files are scenarios;
    /// `.json` files are conversations unless they hold an `event_id` (failure events); `.jsonl` files are checked line
    /// by line. Standard input is one JSON document, JSON Lines, or (not JSON) a scenario.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Force the kind instead of guessing it.
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// `json`: one document on stdout listing every document checked and its error.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Conversation => "conversation",
            Kind::FailureEvent => "failure-event",
            Kind::Scenario => "scenario",
            Kind::Config => "config",
        }
    }
}

/// The documents a file holds, each with the name errors give it: JSON Lines one per
/// line, anything else one.
fn documents<'t>(path: &Path, shown: &str, text: &'t str) -> Vec<(String, &'t str)> {
    let stdin = path == Path::new("-");
    let is_jsonl = if stdin {
        // One pretty-printed document spans lines; JSON Lines hold one per line.
        let t = text.trim_start();
        t.starts_with('{') && serde_json::from_str::<serde_json::Value>(text).is_err()
    } else {
        path.extension().is_some_and(|e| e == "jsonl")
    };
    if is_jsonl {
        text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| (format!("{shown}:{}", i + 1), l)).collect()
    } else {
        vec![(shown.to_string(), text)]
    }
}

/// The kind of a document, from its file name, or from its text on stdin.
fn guess_kind(path: &Path, doc: &str) -> Kind {
    if path.file_name().is_some_and(|n| n == ratchet::config::CONFIG_FILE) {
        Kind::Config
    } else if path.extension().is_some_and(|e| e == "toml") || (path == Path::new("-") && !doc.trim_start().starts_with('{')) {
        Kind::Scenario
    } else if doc.contains("\"event_id\"") {
        Kind::FailureEvent
    } else {
        Kind::Conversation
    }
}

pub fn validate(a: ValidateArgs) -> CliResult {
    let mut report = Vec::new();
    let mut bad = 0;
    for path in &a.files {
        let shown = if path == Path::new("-") { schema::STDIN.to_string() } else { path.display().to_string() };
        let text = match schema::read_input(path) {
            Ok(t) => t,
            Err(e) => {
                if a.format == OutputFormat::Text {
                    eprintln!("{e}");
                }
                report.push(json!({"document": shown, "kind": null, "valid": false, "error": e.to_string()}));
                bad += 1;
                continue;
            }
        };
        for (origin, doc) in documents(path, &shown, &text) {
            let kind = a.kind.unwrap_or_else(|| guess_kind(path, doc));
            let r = match kind {
                Kind::Scenario => Scenario::parse(doc, &origin).map(|_| ()),
                Kind::Conversation => schema::parse_json::<Conversation>(doc, &origin).map(|_| ()),
                Kind::FailureEvent => schema::parse_json::<FailureEvent>(doc, &origin).map(|_| ()),
                Kind::Config => ratchet::config::Config::parse(doc, &origin).map(|_| ()),
            };
            let error = r.err().map(|e| e.to_string());
            if a.format == OutputFormat::Text {
                match &error {
                    None => outln!("ok  {origin}"),
                    Some(e) => eprintln!("{e}"),
                }
            }
            bad += usize::from(error.is_some());
            report.push(json!({"document": origin, "kind": kind.name(), "valid": error.is_none(), "error": error}));
        }
    }
    if a.format == OutputFormat::Json {
        let valid = report.len() - bad;
        outln!("{}", serde_json::to_string_pretty(&json!({"valid": valid, "invalid": bad, "documents": report})).expect("json"));
    }
    if bad > 0 {
        Err(CliError::usage(anyhow::anyhow!("{bad} invalid document(s)")))
    } else {
        Ok(exit::OK)
    }
}
