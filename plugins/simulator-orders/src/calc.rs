//! The `calculate` tool: `+ - * /` and parentheses over decimal numbers, with
//! the same float operations, in the same order, as the production tool
//! (`examples/shop/shop_backend.py`), so both give the same number.

use std::fmt;

/// Why an expression cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalcError {
    /// Longer than [`MAX_LEN`] characters.
    TooLong,
    /// Parentheses or unary minus nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// The expression stops where an operand was expected.
    UnexpectedEnd,
    /// A token that does not belong where it is (or at all).
    Unexpected(String),
    /// An opening parenthesis is never closed.
    MissingClose,
    /// A division whose divisor is 0.
    DivisionByZero,
    /// The result overflowed to infinity.
    NotFinite,
}

impl fmt::Display for CalcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CalcError::TooLong => write!(f, "expression must be a string of at most {MAX_LEN} characters"),
            CalcError::TooDeep => write!(f, "too deeply nested"),
            CalcError::UnexpectedEnd => write!(f, "unexpected end of expression"),
            CalcError::Unexpected(t) => write!(f, "unexpected '{t}'"),
            CalcError::MissingClose => write!(f, "missing )"),
            CalcError::DivisionByZero => write!(f, "division by zero"),
            CalcError::NotFinite => write!(f, "result is not a finite number"),
        }
    }
}

/// Longest expression accepted, in characters.
pub const MAX_LEN: usize = 200;
/// Deepest nesting of parentheses and unary minus.
pub const MAX_DEPTH: usize = 32;

/// Rounds half away from zero at `places` decimals: `(|x| * 10^p + 0.5).floor() / 10^p`,
/// signed. Money is rounded with `places = 2`, `calculate` results with 6.
pub fn round_to(x: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    let r = (x.abs() * scale + 0.5).floor() / scale;
    if x < 0.0 {
        -r
    } else {
        r
    }
}

/// Rounds money to cents (see [`round_to`]).
pub fn cents(x: f64) -> f64 {
    round_to(x, 2)
}

fn tokens(expression: &str) -> Vec<String> {
    let chars: Vec<char> = expression.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let digit = |k: usize| chars.get(k).is_some_and(char::is_ascii_digit);
        if c.is_ascii_digit() || (c == '.' && digit(i + 1)) {
            let start = i;
            while digit(i) {
                i += 1;
            }
            if chars.get(i) == Some(&'.') && digit(i + 1) {
                i += 1;
                while digit(i) {
                    i += 1;
                }
            }
            out.push(chars[start..i].iter().collect());
            continue;
        }
        out.push(c.to_string());
        i += 1;
    }
    out
}

struct Parser {
    tokens: Vec<String>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(String::as_str)
    }

    fn take(&mut self) -> String {
        self.pos += 1;
        self.tokens[self.pos - 1].clone()
    }

    fn expr(&mut self, depth: usize) -> Result<f64, CalcError> {
        let mut v = self.term(depth)?;
        while let Some(op @ ("+" | "-")) = self.peek() {
            let plus = op == "+";
            self.take();
            let rhs = self.term(depth)?;
            v = if plus { v + rhs } else { v - rhs };
        }
        Ok(v)
    }

    fn term(&mut self, depth: usize) -> Result<f64, CalcError> {
        let mut v = self.factor(depth)?;
        while let Some(op @ ("*" | "/")) = self.peek() {
            let times = op == "*";
            self.take();
            let rhs = self.factor(depth)?;
            if times {
                v *= rhs;
            } else {
                if rhs == 0.0 {
                    return Err(CalcError::DivisionByZero);
                }
                v /= rhs;
            }
        }
        Ok(v)
    }

    fn factor(&mut self, depth: usize) -> Result<f64, CalcError> {
        if depth > MAX_DEPTH {
            return Err(CalcError::TooDeep);
        }
        let Some(t) = self.peek() else { return Err(CalcError::UnexpectedEnd) };
        match t {
            "-" => {
                self.take();
                Ok(-self.factor(depth + 1)?)
            }
            "(" => {
                self.take();
                let v = self.expr(depth + 1)?;
                if self.peek() != Some(")") {
                    return Err(CalcError::MissingClose);
                }
                self.take();
                Ok(v)
            }
            t if t.starts_with(|c: char| c.is_ascii_digit()) || (t.starts_with('.') && t.len() > 1) => {
                let t = self.take();
                t.parse::<f64>().map_err(|_| CalcError::Unexpected(t))
            }
            _ => Err(CalcError::Unexpected(t.to_string())),
        }
    }
}

/// Evaluates `expression`; the result is rounded to 6 decimal places.
pub fn calculate(expression: &str) -> Result<f64, CalcError> {
    if expression.chars().count() > MAX_LEN {
        return Err(CalcError::TooLong);
    }
    let mut p = Parser { tokens: tokens(expression), pos: 0 };
    let v = p.expr(0)?;
    if let Some(t) = p.peek() {
        return Err(CalcError::Unexpected(t.to_string()));
    }
    if !v.is_finite() {
        return Err(CalcError::NotFinite);
    }
    Ok(round_to(v, 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_with_precedence_and_parentheses() {
        assert_eq!(calculate("12.5 * 2"), Ok(25.0));
        assert_eq!(calculate("34.99 + 39 * 2"), Ok(112.99));
        assert_eq!(calculate("(34.99 + 39) * 2"), Ok(147.98));
        assert_eq!(calculate("-(2 - 5) / 4"), Ok(0.75));
        assert_eq!(calculate(" 19.99*3 "), Ok(59.97), "float noise rounded away");
        assert_eq!(calculate("10 / 3"), Ok(3.333333));
        assert_eq!(calculate(".5 + 1"), Ok(1.5));
        assert_eq!(calculate("1023 - 62 - 500"), Ok(461.0));
    }

    #[test]
    fn errors_are_typed() {
        assert_eq!(calculate("1 / 0"), Err(CalcError::DivisionByZero));
        assert_eq!(calculate("2 +"), Err(CalcError::UnexpectedEnd));
        assert_eq!(calculate("(1 + 2"), Err(CalcError::MissingClose));
        assert_eq!(calculate("2 ^ 3"), Err(CalcError::Unexpected("^".into())));
        assert_eq!(calculate("1 2"), Err(CalcError::Unexpected("2".into())));
        assert_eq!(calculate("abc"), Err(CalcError::Unexpected("a".into())));
        assert_eq!(calculate(&"(".repeat(40)), Err(CalcError::TooDeep));
        assert_eq!(calculate(&"1+".repeat(150)), Err(CalcError::TooLong));
        // 200 characters cannot overflow (the largest product is ~1e198); the check is defensive.
        assert_eq!(calculate(&format!("{}*{}", "9".repeat(98), "9".repeat(98))), Ok(1e196));
        assert_eq!(CalcError::NotFinite.to_string(), "result is not a finite number");
        assert_eq!(CalcError::DivisionByZero.to_string(), "division by zero");
    }

    #[test]
    fn money_rounds_half_away_from_zero() {
        assert_eq!(cents(0.125), 0.13);
        assert_eq!(cents(-0.125), -0.13);
        // The same float operations as the production tool, so the same answers
        // (shop_backend.py gives these too).
        assert_eq!(cents(2.675), 2.68);
        assert_eq!(cents(-1.005), -1.0);
        assert_eq!(cents(187.0 - 149.0), 38.0);
    }
}
