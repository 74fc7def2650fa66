//! Putting untrusted text into Markdown: scenario ids, titles, failure modes and
//! reasons come from scenario files, merged result files and the agent's own words,
//! and the Markdown summary and tickets are rendered by GitHub and trackers. Text
//! goes in inert: no raw HTML, no link or image, no table cell or code span it can
//! break out of.

/// `s` as plain text in a table cell or a line: HTML-significant characters become
/// entities, link brackets and backslashes are escaped, backticks cannot open a code
/// span (in which entities would show as typed), `|` cannot end the cell, and line
/// breaks become spaces.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' => out.push_str("&#96;"),
            '|' => out.push_str("\\|"),
            '\\' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `s` as an inline code span (whose content is never read as HTML or Markdown),
/// fenced with more backticks than it contains in a row; `|` is escaped for tables
/// and line breaks become spaces.
pub fn code(s: &str) -> String {
    let flat = s.replace(['\n', '\r'], " ").replace('|', "\\|");
    let fence = "`".repeat(longest_run(&flat, '`') + 1);
    let pad = if flat.starts_with('`') || flat.ends_with('`') || flat.is_empty() { " " } else { "" };
    format!("{fence}{pad}{flat}{pad}{fence}")
}

/// `s` as a fenced code block, with a fence longer than any run of backticks in it.
pub fn block(s: &str) -> String {
    let fence = "`".repeat((longest_run(s, '`') + 1).max(3));
    let nl = if s.ends_with('\n') { "" } else { "\n" };
    format!("{fence}\n{s}{nl}{fence}\n")
}

fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut run) = (0, 0);
    for x in s.chars() {
        run = if x == c { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_gets_out() {
        assert_eq!(
            text("<img src=x onerror=alert(1)> | [a](javascript:x) `c`\nnext"),
            "&lt;img src=x onerror=alert(1)&gt; \\| \\[a\\](javascript:x) &#96;c&#96; next"
        );
        assert_eq!(code("a<b>"), "`a<b>`");
        assert_eq!(code("x`y"), "``x`y``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(block("a\n```\nb"), "````\na\n```\nb\n````\n");
        assert_eq!(block("a\n"), "```\na\n```\n");
    }
}
