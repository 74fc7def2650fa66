//! The recorded agent: plays back what the production agent did in one
//! conversation. `ratchet regenerate` replays a new scenario against it to check
//! the scenario reproduces the failure (its criteria must fail on the recorded
//! behaviour, or the scenario would guard nothing).
//!
//! For each scripted customer line the recorded agent makes the tool calls the
//! original agent made after that line (in order, same arguments) and then says
//! what it said. Agent text within one customer turn is delivered as one reply
//! after that turn's tool calls (the protocol ends a turn with a reply); a greeting
//! before the first customer line is part of the first reply. A hand-off (a system
//! turn starting with "escalated", or `outcome.escalated` on the last turn) becomes
//! an escalation.

use std::collections::VecDeque;

use serde_json::Value;

use super::{AgentError, AgentEvent, Driver, Session};
use crate::schema::{Conversation, Role, Scenario};

/// Plays back one recorded conversation.
pub struct RecordedDriver {
    segments: Vec<VecDeque<AgentEvent>>,
    id: String,
}

impl RecordedDriver {
    /// A driver answering like the agent of `recorded` did.
    pub fn new(recorded: &Conversation) -> RecordedDriver {
        RecordedDriver { segments: segments(recorded), id: recorded.id.clone() }
    }
}

/// What the agent did after each customer line.
fn segments(c: &Conversation) -> Vec<VecDeque<AgentEvent>> {
    struct Seg {
        events: VecDeque<AgentEvent>,
        text: Vec<String>,
        escalate: bool,
    }
    let new = || Seg { events: VecDeque::new(), text: Vec::new(), escalate: false };
    let mut greeting: Vec<String> = Vec::new();
    let mut segs: Vec<Seg> = Vec::new();
    for t in &c.turns {
        match t.role {
            Role::Customer => segs.push(new()),
            Role::Agent => {
                let Some(seg) = segs.last_mut() else {
                    if !t.text.trim().is_empty() {
                        greeting.push(t.text.clone());
                    }
                    continue;
                };
                for call in &t.tool_calls {
                    seg.events.push_back(AgentEvent::ToolCall {
                        call_id: call.id.clone(),
                        name: call.name.clone(),
                        version: None,
                        arguments: call.arguments.clone(),
                    });
                }
                if !t.text.trim().is_empty() {
                    seg.text.push(t.text.clone());
                }
            }
            Role::System if t.text.trim_start().to_ascii_lowercase().starts_with("escalated") => {
                if let Some(seg) = segs.last_mut() {
                    seg.escalate = true;
                }
            }
            _ => {}
        }
    }
    if c.outcome.escalated && !segs.iter().any(|s| s.escalate) {
        if let Some(last) = segs.last_mut() {
            last.escalate = true;
        }
    }
    if let Some(first) = segs.first_mut() {
        if !greeting.is_empty() {
            greeting.append(&mut first.text);
            first.text = greeting;
        }
    }
    segs.into_iter()
        .map(|mut s| {
            let text = s.text.join("\n");
            s.events.push_back(if s.escalate {
                AgentEvent::Escalate(if text.is_empty() { "recorded hand-off to a human".into() } else { text })
            } else {
                AgentEvent::Message(text)
            });
            s.events
        })
        .collect()
}

struct RecordedSession<'a> {
    segments: &'a [VecDeque<AgentEvent>],
    next: usize,
    pending: VecDeque<AgentEvent>,
}

impl RecordedSession<'_> {
    fn step(&mut self) -> Result<AgentEvent, AgentError> {
        self.pending
            .pop_front()
            .ok_or_else(|| AgentError::Protocol { message: "the recorded conversation has nothing more to say".into(), stderr: String::new() })
    }
}

impl Session for RecordedSession<'_> {
    fn customer_message(&mut self, _text: &str) -> Result<AgentEvent, AgentError> {
        // More scripted lines than the recording answered (a hand-edited scenario):
        // the recorded agent stays silent.
        self.pending = self.segments.get(self.next).cloned().unwrap_or_else(|| VecDeque::from([AgentEvent::Message(String::new())]));
        self.next += 1;
        self.step()
    }
    fn tool_result(&mut self, _call_id: &str, _content: &Value, _is_error: bool) -> Result<AgentEvent, AgentError> {
        self.step()
    }
    fn end(&mut self) -> Result<(), AgentError> {
        Ok(())
    }
}

impl Driver for RecordedDriver {
    fn start<'a>(&'a mut self, _scenario: &'a Scenario) -> Result<Box<dyn Session + 'a>, AgentError> {
        Ok(Box::new(RecordedSession { segments: &self.segments, next: 0, pending: VecDeque::new() }))
    }
    fn describe(&self) -> String {
        format!("recorded behaviour of conversation {}", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_follow_customer_lines() {
        let c: Conversation = serde_json::from_value(serde_json::json!({
            "id": "c1", "channel": "chat",
            "turns": [
                {"role": "agent", "text": "Hi!"},
                {"role": "customer", "text": "cancel please"},
                {"role": "agent", "text": "", "tool_calls": [{"id": "t1", "name": "lookup_account", "arguments": {"email": "[EMAIL_1]"}}]},
                {"role": "tool", "text": "", "tool_result": {"call_id": "t1", "name": "lookup_account", "content": {"ok": true}}},
                {"role": "agent", "text": "Done."},
                {"role": "customer", "text": "I want a human"},
                {"role": "system", "text": "escalated to a human: asked"}
            ],
            "outcome": {"escalated": true}
        }))
        .unwrap();
        let s = segments(&c);
        assert_eq!(s.len(), 2);
        assert!(matches!(&s[0][0], AgentEvent::ToolCall { name, .. } if name == "lookup_account"));
        assert_eq!(s[0][1], AgentEvent::Message("Hi!\nDone.".into()));
        assert!(matches!(&s[1][0], AgentEvent::Escalate(_)));
    }
}
