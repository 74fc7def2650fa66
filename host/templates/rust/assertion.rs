//! # %%NAME%%
//!
//! A ratchet assertion (a scenario criterion of `kind = "plugin"`): passes when the
//! agent says `phrase` (any case) in one of its first `within_turns` turns (`0`, the
//! default: any turn).
//!
//! ```toml
//! [[criteria]]
//! id = "states-refund-policy"
//! kind = "plugin"
//! plugin = "%%NAME%%"            # its [plugins.%%NAME%%] entry in ratchet.toml
//! params = { phrase = "refund policy", within_turns = 2 }
//! ```

use ratchet_sdk::text::contains_any_ci;
use ratchet_sdk::{Assertion, Conversation, Params, PluginInfo, Value, Verdict};

/// The plugin (all state is in the arguments).
pub struct %%TYPE%%;

impl Assertion for %%TYPE%% {
    fn info() -> PluginInfo {
        PluginInfo::new("%%NAME%%", env!("CARGO_PKG_VERSION"), "The agent must say a phrase, within its first N turns")
    }

    fn check(transcript: &Conversation, params: &Value) -> Result<Verdict, String> {
        let p = Params::new(params)?;
        p.deny_unknown(&["phrase", "within_turns"])?;
        let phrase = p.str("phrase", "")?;
        if phrase.is_empty() {
            return Err("param `phrase` is required (a non-empty string)".into());
        }
        let within = p.u64("within_turns", 0)?;

        let mut last = None;
        for (n, t) in transcript.agent_turns().enumerate() {
            if within > 0 && n as u64 >= within {
                break;
            }
            if contains_any_ci(&t.text, &[phrase.as_str()]) {
                return Ok(Verdict::pass(format!("turn {}: the agent said \"{phrase}\"", t.index)));
            }
            last = Some(t.index);
        }
        let scope = if within > 0 { format!(" in its first {within} turn(s)") } else { String::new() };
        Ok(Verdict::fail(format!("the agent never said \"{phrase}\"{scope}"), last))
    }
}

ratchet_sdk::export_assertion!(%%TYPE%%);
