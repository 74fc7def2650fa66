//! Property tests of the parsers: whatever the text, parsing a scenario (TOML), a
//! conversation or a failure event (JSON) never panics, and every error names the
//! document and a line or a field inside it. The inputs are the committed examples
//! with random edits (characters inserted, removed, cut, and syntax that breaks
//! structure), and arbitrary text.

use proptest::prelude::*;

use super::*;

const SCENARIO: &str = include_str!("../../../../scenarios/refund-without-supervisor-flag.toml");
const CONVERSATION: &str = include_str!("../../../tests/golden/conversation/tuesday-cancellation.json");
const EVENT: &str = include_str!("../../../tests/golden/failure-event/tuesday-cancellation.json");

/// An error of parsing `text` (named `origin`) must be located: the origin, and a
/// line inside the text or a field.
fn located(e: &SchemaError, origin: &str, text: &str) -> Result<(), TestCaseError> {
    match e {
        SchemaError::Invalid(l) => {
            prop_assert_eq!(&l.path, origin);
            prop_assert!(l.line.is_some() || l.field.is_some(), "neither a line nor a field: {}", e);
            if let Some(line) = l.line {
                prop_assert!(line >= 1 && line <= text.matches('\n').count() + 1, "line {} is not in the text: {}", line, e);
            }
            prop_assert!(e.to_string().starts_with(origin), "the message starts with the document: {}", e);
        }
        SchemaError::Io { .. } => prop_assert!(false, "parsing text is not I/O: {}", e),
    }
    Ok(())
}

/// Fragments that break structure when dropped into a document.
const BREAKERS: [&str; 14] = ["\"", "'", "[", "]", "{", "}", "=", ",", "\n", "[[", "nan", "\"\"\"", "\\u{0}", "1e999"];

/// `base` with 1 to 7 random edits, still UTF-8.
fn mutated(base: &'static str) -> impl Strategy<Value = String> {
    prop::collection::vec((0..base.len(), 0u8..4, any::<char>(), 0..BREAKERS.len()), 1..8).prop_map(move |edits| {
        let mut s = base.to_string();
        for (pos, op, c, b) in edits {
            let mut at = pos.min(s.len());
            while !s.is_char_boundary(at) {
                at -= 1;
            }
            match op {
                0 => s.insert(at, c),
                1 if at < s.len() => {
                    s.remove(at);
                }
                2 => s.truncate(at),
                _ => s.insert_str(at, BREAKERS[b]),
            }
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn an_edited_scenario_parses_or_says_where(text in mutated(SCENARIO)) {
        if let Err(e) = Scenario::parse(&text, "s.toml") {
            located(&e, "s.toml", &text)?;
        }
    }

    #[test]
    fn any_text_as_a_scenario_parses_or_says_where(text in "\\PC{0,300}") {
        if let Err(e) = Scenario::parse(&text, "s.toml") {
            located(&e, "s.toml", &text)?;
        }
    }

    #[test]
    fn an_edited_conversation_parses_or_says_where(text in mutated(CONVERSATION)) {
        if let Err(e) = parse_json::<Conversation>(&text, "c.json") {
            located(&e, "c.json", &text)?;
        }
    }

    #[test]
    fn an_edited_failure_event_parses_or_says_where(text in mutated(EVENT)) {
        if let Err(e) = parse_json::<FailureEvent>(&text, "e.json") {
            located(&e, "e.json", &text)?;
        }
    }

    #[test]
    fn any_text_as_json_parses_or_says_where(text in "\\PC{0,300}") {
        for result in [parse_json::<Conversation>(&text, "c.json").err(), parse_json::<FailureEvent>(&text, "c.json").err()].into_iter().flatten() {
            located(&result, "c.json", &text)?;
        }
    }

    /// Whatever a title or a customer line holds (quotes, newlines, control
    /// characters, any script), a scenario written out reads back the same.
    #[test]
    fn a_scenario_survives_writing_and_reading(title in any::<String>(), line in any::<String>(), id in "[a-z0-9][a-z0-9_-]{0,40}") {
        let mut s = Scenario::parse(SCENARIO, "s.toml").unwrap();
        s.id = id;
        s.title = title;
        s.turns[0].text = line;
        let text = toml::to_string(&s).unwrap();
        prop_assert_eq!(Scenario::parse(&text, "s.toml").unwrap(), s);
    }
}
