//! The id grammar: a scenario id is also a file name (`<id>.toml` in the suite,
//! `<id>.md` as a ticket), so it is checked wherever a scenario is read, and a
//! hostile id (`../../ratchet`, `/etc/x`) is refused before any path is built.

/// Longest id accepted (file systems allow 255 bytes per name; room for `.toml`).
pub const MAX_ID_LEN: usize = 128;

/// Why an id is refused; the text completes "id ...", naming the id and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// The empty string.
    #[error("must not be empty")]
    Empty,
    /// Longer than [`MAX_ID_LEN`].
    #[error("is {0} characters long; at most {MAX_ID_LEN}")]
    TooLong(usize),
    /// A character that is not `A-Z a-z 0-9 . _ -` (a path separator, a space...).
    #[error("`{}` contains {character:?}: an id is also a file name, so only letters, digits, `.`, `_` and `-` are allowed", .id.escape_debug())]
    BadCharacter {
        /// The id.
        id: String,
        /// The first character not allowed.
        character: char,
    },
    /// Starts with `.`, `_` or `-` (a hidden file, an option).
    #[error("`{0}` must start with a letter or a digit")]
    BadStart(String),
    /// Holds `..`.
    #[error("`{0}` contains `..`")]
    DotDot(String),
}

/// Check a scenario id: 1 to [`MAX_ID_LEN`] characters from `A-Z a-z 0-9 . _ -`,
/// starting with a letter or digit, without `..`. The error says what is wrong.
pub fn check_id(id: &str) -> Result<(), IdError> {
    if id.is_empty() {
        return Err(IdError::Empty);
    }
    if id.len() > MAX_ID_LEN {
        return Err(IdError::TooLong(id.len()));
    }
    if let Some(c) = id.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err(IdError::BadCharacter { id: id.to_string(), character: c });
    }
    if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(IdError::BadStart(id.to_string()));
    }
    if id.contains("..") {
        return Err(IdError::DotDot(id.to_string()));
    }
    Ok(())
}

/// Lowercase letters, digits and single dashes: safe as a folder name and an id part
/// (failure modes become suite folders and id prefixes this way).
pub fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "unclassified".into()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in ["cancel-never-started-subscription", "a", "cancellation-without-active-subscription-0d914fc7541b", "v1.2_x"] {
            assert_eq!(check_id(ok), Ok(()), "{ok}");
        }
        for bad in ["", "../../ratchet", "/etc/passwd", "a/b", ".hidden", "-x", "a..b", "a b", "é", "a\\b", "x\0", &"a".repeat(129)] {
            assert!(check_id(bad).is_err(), "{bad:?}");
        }
        for s in ["compliance:refund", "  ", "Missed Escalation!", "../../x"] {
            assert_eq!(check_id(&slug(s)), Ok(()), "{s}");
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("compliance:refund-without-supervisor"), "compliance-refund-without-supervisor");
        assert_eq!(slug("  "), "unclassified");
        assert_eq!(slug("Missed Escalation!"), "missed-escalation");
    }
}
