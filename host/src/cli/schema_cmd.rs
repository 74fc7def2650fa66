//! `ratchet schema` and `ratchet validate`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{exit, CliError, CliResult};
use ratchet::schema::{self, Conversation, FailureEvent, Scenario};

#[derive(Args)]
pub struct SchemaArgs {
    /// Which format; omit to list them.
    name: Option<String>,
}

pub fn schema(a: SchemaArgs) -> CliResult {
    let Some(name) = a.name else {
        for n in schema::SCHEMA_NAMES {
            println!("{n}");
        }
        return Ok(exit::OK);
    };
    match schema::json_schema(&name) {
        Some(s) => {
            println!("{}", serde_json::to_string_pretty(&s).expect("schema serialises"));
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
    /// Files to check. `ratchet.toml` is the project config, other `.toml` files are scenarios; `.json` files are conversations
    /// unless they hold an `event_id` (failure events); `.jsonl` files are checked line by line.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Force the kind instead of guessing it.
    #[arg(long, value_enum)]
    kind: Option<Kind>,
}

pub fn validate(a: ValidateArgs) -> CliResult {
    let mut bad = 0;
    for path in &a.files {
        let shown = path.display().to_string();
        let text = match schema::read_text(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{e}");
                bad += 1;
                continue;
            }
        };
        let is_jsonl = path.extension().is_some_and(|e| e == "jsonl");
        let docs: Vec<(String, &str)> = if is_jsonl {
            text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()).map(|(i, l)| (format!("{shown}:{}", i + 1), l)).collect()
        } else {
            vec![(shown.clone(), text.as_str())]
        };
        for (origin, doc) in docs {
            let kind = a.kind.unwrap_or_else(|| {
                if path.file_name().is_some_and(|n| n == ratchet::config::CONFIG_FILE) {
                    Kind::Config
                } else if path.extension().is_some_and(|e| e == "toml") {
                    Kind::Scenario
                } else if doc.contains("\"event_id\"") {
                    Kind::FailureEvent
                } else {
                    Kind::Conversation
                }
            });
            let r = match kind {
                Kind::Scenario => Scenario::parse(doc, &origin).map(|_| ()),
                Kind::Conversation => schema::parse_json::<Conversation>(doc, &origin).map(|_| ()),
                Kind::FailureEvent => schema::parse_json::<FailureEvent>(doc, &origin).map(|_| ()),
                Kind::Config => ratchet::config::Config::parse(doc, &origin).map(|_| ()),
            };
            match r {
                Ok(()) => println!("ok  {origin}"),
                Err(e) => {
                    eprintln!("{e}");
                    bad += 1;
                }
            }
        }
    }
    if bad > 0 {
        Err(CliError::usage(anyhow::anyhow!("{bad} invalid document(s)")))
    } else {
        Ok(exit::OK)
    }
}
