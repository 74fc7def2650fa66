//! Regular expressions written in ratchet files (`must-say`, `must-not-say`, the
//! escalation phrases): compiled once, checked where the file is read, so a bad
//! pattern is refused by `validate` and `promote`, never discovered by `gate`.

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use regex::Regex;

/// A pattern the regex compiler refused.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid regular expression: {0}")]
pub struct PatternError(#[from] pub regex::Error);

/// Compile `pattern`; the error is what scenario loading reports. Compiled
/// patterns are cached: a suite reuses a handful of patterns thousands of times,
/// and compiling one costs more than evaluating it.
pub fn compile(pattern: &str) -> Result<Regex, PatternError> {
    static CACHE: OnceLock<Mutex<BTreeMap<String, Regex>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(re) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(pattern) {
        return Ok(re.clone());
    }
    let re = Regex::new(pattern)?;
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    if map.len() < 10_000 {
        map.insert(pattern.to_string(), re.clone());
    }
    Ok(re)
}
