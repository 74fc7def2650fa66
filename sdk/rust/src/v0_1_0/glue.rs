//! The generated `Guest` traits implemented once, generically, on top of the
//! SDK traits; plus the `host` imports (log, abort-reason) and the panic hook.

use std::marker::PhantomData;

use super::convert;
use super::wit::{asserter, converter, host, scorer, types};
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

impl<T: crate::Scorecard> scorer::Guest for ScorecardGlue<T> {
    fn info() -> types::PluginInfo {
        install_panic_hook();
        convert::plugin_info_to_wit(T::info())
    }

    fn score(conversation: types::Conversation, params: String) -> Result<scorer::ScorecardResult, String> {
        install_panic_hook();
        let conversation = convert::conversation_from_wit(conversation)?;
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
        let transcript = convert::conversation_from_wit(transcript)?;
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
        T::convert(&input, &options).map(|list| list.into_iter().map(convert::converted_to_wit).collect())
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
