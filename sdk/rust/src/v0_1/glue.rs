//! The generated `Guest` traits implemented once, generically, on top of the
//! SDK traits; plus the `host` imports (log, abort-reason) and the panic hook.

use std::marker::PhantomData;

use super::convert;
use super::wit::{asserter, converter, host, model, responder, scorer, simulation, types};
use crate::json::parse;
use crate::LogLevel;

/// Exports a [`crate::Scorecard`] as the WIT `scorer` interface.
/// Used by [`crate::export_scorecard!`].
pub struct ScorecardGlue<T>(PhantomData<T>);

/// Exports an [`crate::Assertion`] as the WIT `asserter` interface.
/// Used by [`crate::export_assertion!`].
pub struct AssertionGlue<T>(PhantomData<T>);

/// Exports an [`crate::Adapter`] as the WIT `converter` interface.
/// Used by [`crate::export_adapter!`].
pub struct AdapterGlue<T>(PhantomData<T>);

/// Exports an [`crate::Agent`] as the WIT `responder` interface.
/// Used by [`crate::export_agent!`].
pub struct AgentGlue<T>(PhantomData<T>);

/// Exports a [`crate::Simulator`] as the WIT `simulation` interface.
/// Used by [`crate::export_simulator!`].
pub struct SimulatorGlue<T>(PhantomData<T>);

fn request_from_wit(r: simulation::ToolRequest) -> Result<crate::ToolRequest, String> {
    Ok(crate::ToolRequest { arguments: parse("request.arguments", &r.arguments)?, tool: r.tool, version: r.version })
}

impl<T: crate::Simulator> simulation::Guest for SimulatorGlue<T> {
    fn info() -> types::PluginInfo {
        install_panic_hook();
        convert::plugin_info_to_wit(T::info())
    }

    fn seed(observed: Vec<simulation::Observed>, params: String) -> Result<String, String> {
        install_panic_hook();
        let params = parse("params", &params)?;
        let mut list = Vec::with_capacity(observed.len());
        for (i, o) in observed.into_iter().enumerate() {
            list.push(crate::Observed {
                request: request_from_wit(o.request).map_err(|e| format!("observed[{i}]: {e}"))?,
                result: parse("observed.result", &o.result)?,
                is_error: o.is_error,
            });
        }
        T::seed(&list, &params).map(|w| crate::json::to_canonical_string(&w))
    }

    fn call(world: String, request: simulation::ToolRequest, params: String) -> Result<Option<simulation::Answer>, String> {
        install_panic_hook();
        let world = parse("world", &world)?;
        let params = parse("params", &params)?;
        let request = request_from_wit(request)?;
        Ok(T::call(&world, &request, &params)?.map(|a| simulation::Answer {
            result: crate::json::to_canonical_string(&a.result),
            is_error: a.is_error,
            world: crate::json::to_canonical_string(&a.world),
        }))
    }
}

impl<T: crate::Scorecard> scorer::Guest for ScorecardGlue<T> {
    fn info() -> types::PluginInfo {
        install_panic_hook();
        convert::plugin_info_to_wit(T::info())
    }

    fn score(conversation: types::Conversation, params: String) -> Result<scorer::ScorecardResult, String> {
        install_panic_hook();
        let mut conversation = convert::conversation_from_wit(conversation);
        conversation.labels = host_labels();
        let params = parse("params", &params)?;
        T::score(&conversation, &params).map(convert::scorecard_result_to_wit)
    }
}

impl<T: crate::Assertion> asserter::Guest for AssertionGlue<T> {
    fn info() -> types::PluginInfo {
        install_panic_hook();
        convert::plugin_info_to_wit(T::info())
    }

    fn check(transcript: types::Conversation, params: String) -> Result<asserter::Verdict, String> {
        install_panic_hook();
        let mut transcript = convert::conversation_from_wit(transcript);
        transcript.labels = host_labels();
        let params = parse("params", &params)?;
        T::check(&transcript, &params).map(convert::verdict_to_wit)
    }
}

impl<T: crate::Adapter> converter::Guest for AdapterGlue<T> {
    fn info() -> types::PluginInfo {
        install_panic_hook();
        convert::plugin_info_to_wit(T::info())
    }

    fn convert(input: Vec<u8>, options: String) -> Result<Vec<converter::Converted>, String> {
        install_panic_hook();
        let options = parse("options", &options)?;
        let list = T::convert(&input, &options)?;
        // Labels travel beside the records (0.1.3 `labels.attach`), not in them.
        for c in &list {
            if !c.conversation.labels.is_empty() {
                let kv = c.conversation.labels.iter().map(|(k, v)| types::KeyValue { key: k.clone(), value: v.clone() }).collect::<Vec<_>>();
                super::wit::labels::attach(&c.conversation.id, &kv);
            }
        }
        Ok(list.into_iter().map(convert::converted_to_wit).collect())
    }
}

/// The labels of the conversation this call is about (0.1.3 `labels.get`).
fn host_labels() -> std::collections::BTreeMap<String, String> {
    super::wit::labels::get().into_iter().map(|kv| (kv.key, kv.value)).collect()
}

impl<T: crate::Agent> responder::Guest for AgentGlue<T> {
    fn info() -> types::PluginInfo {
        install_panic_hook();
        convert::plugin_info_to_wit(T::info())
    }

    fn next(state: types::AgentState, channel: types::Channel, transcript: Vec<types::Turn>, config: String) -> Result<responder::Action, String> {
        install_panic_hook();
        let state = convert::agent_state_from_wit(state);
        let transcript = convert::turns_from_wit(transcript);
        let config = parse("config", &config)?;
        T::next(&state, convert::channel_from_wit(channel), &transcript, &config).map(convert::action_to_wit)
    }
}

/// Asks the host's `model` import (WIT 0.1.1). Only meaningful inside a
/// component; [`crate::judge::complete`] picks this or the native test judge.
pub fn model_complete(request: &crate::judge::Request) -> Result<crate::judge::Response, crate::judge::JudgeError> {
    use crate::judge::{JudgeError, Role};
    let req = model::ChatRequest {
        model: request.model.clone(),
        messages: request
            .messages
            .iter()
            .map(|m| model::Message {
                role: match m.role {
                    Role::System => model::MessageRole::System,
                    Role::User => model::MessageRole::User,
                    Role::Assistant => model::MessageRole::Assistant,
                },
                content: m.content.clone(),
            })
            .collect(),
        temperature: request.temperature,
        max_tokens: request.max_tokens,
        json_schema: request.json_schema.as_ref().map(crate::json::canonical_string),
    };
    match model::complete(&req) {
        Ok(r) => Ok(crate::judge::Response { content: r.content, model: r.model, key: r.key }),
        Err(model::ModelError::Denied(m)) => Err(JudgeError::Denied(m)),
        Err(model::ModelError::NotRecorded(m)) => Err(JudgeError::NotRecorded(m)),
        Err(model::ModelError::Unavailable(m)) => Err(JudgeError::Unavailable(m)),
        Err(model::ModelError::Invalid(m)) => Err(JudgeError::Invalid(m)),
    }
}

/// Sends a log line to the host (`host.log`). Only meaningful inside a
/// component; [`crate::log`] picks this or stderr.
pub fn host_log(level: LogLevel, message: &str) {
    let level = match level {
        LogLevel::Debug => host::LogLevel::Debug,
        LogLevel::Info => host::LogLevel::Info,
        LogLevel::Warn => host::LogLevel::Warn,
        LogLevel::Error => host::LogLevel::Error,
    };
    host::log(level, message);
}

/// Installs (once) a panic hook that reports the panic message and location
/// to the host through `host.abort-reason` before the guest traps, so the host
/// can say *why* a plugin failed. Does nothing on native targets, where the
/// default hook already prints the message.
pub fn install_panic_hook() {
    #[cfg(target_arch = "wasm32")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                host::abort_reason(&crate::panic_message(info));
            }));
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, AgentState, Channel, CurrentTurn, PluginInfo, Turn, Value};

    /// Echoes the customer's latest line, or calls a tool when configured to.
    struct Echo;

    impl crate::Agent for Echo {
        fn info() -> PluginInfo {
            PluginInfo::new("echo", "1.0.0", "test agent")
        }
        fn next(state: &AgentState, channel: Channel, transcript: &[Turn], config: &Value) -> Result<Action, String> {
            let cur = CurrentTurn::of(transcript).ok_or("no customer turn")?;
            if config.get("tool").is_some() {
                return Ok(Action::call_tool("call-1", "lookup_account", crate::json!({"email": state.memory("customer.email")})));
            }
            Ok(Action::reply(format!("{channel:?}: {}", cur.customer.text)))
        }
    }

    fn wit_turns() -> Vec<types::Turn> {
        vec![types::Turn {
            index: 0,
            role: types::Role::Customer,
            text: "hello".into(),
            tool_calls: vec![],
            tool_result: None,
            offset_ms: None,
            latency_ms: None,
        }]
    }

    fn wit_state() -> types::AgentState {
        let mut s = AgentState::default();
        s.memory_snapshot.push(crate::MemoryEntry { key: "customer.email".into(), value: Value::from("[EMAIL_1]").into() });
        convert::agent_state_to_wit(s)
    }

    #[test]
    fn agent_glue_converts_inputs_and_outputs() {
        type G = AgentGlue<Echo>;
        assert_eq!(<G as responder::Guest>::info().name, "echo");
        let a = <G as responder::Guest>::next(wit_state(), types::Channel::Voice, wit_turns(), "{}".into()).unwrap();
        assert!(matches!(a, responder::Action::Reply(ref t) if t == "Voice: hello"), "{a:?}");
        let a = <G as responder::Guest>::next(wit_state(), types::Channel::Chat, wit_turns(), r#"{"tool": 1}"#.into()).unwrap();
        assert!(matches!(a, responder::Action::CallTool(ref c) if c.arguments == r#"{"email":"[EMAIL_1]"}"#), "{a:?}");
        let e = <G as responder::Guest>::next(wit_state(), types::Channel::Chat, vec![], "{}".into()).unwrap_err();
        assert_eq!(e, "no customer turn");
        let e = <G as responder::Guest>::next(wit_state(), types::Channel::Chat, wit_turns(), "{oops".into()).unwrap_err();
        assert!(e.starts_with("invalid JSON in config"), "{e}");
    }
}
