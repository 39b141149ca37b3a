//! A small evaluator for the constant C expressions the kernel leaves in tracepoint
//! `print fmt` lines: `__print_flags` tables (`(( gfp_t)((((1UL))) << (10)))`, `0x10u|0x40u`,
//! `& ~(...)`) and computed values such as pageblock_order (`a < b ? a : b`).
//!
//! Integer width is tracked (32 or 64 bit) because casts to `gfp_t`/`unsigned int` truncate and
//! `~` of a 32-bit value must not set the upper bits.

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ExprError {
    #[error("unexpected end of expression")]
    UnexpectedEnd,
    #[error("unexpected token {0:?}")]
    Unexpected(String),
    #[error("bad number {0:?}")]
    BadNumber(String),
    #[error("unknown identifier {0:?} in a constant expression")]
    UnknownIdentifier(String),
    #[error("division by zero")]
    DivisionByZero,
    #[error("expression nested too deeply")]
    TooDeep,
    #[error("unterminated string")]
    UnterminatedString,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Token {
    Number(String),
    Ident(String),
    Str(String),
    Punct(&'static str),
}

const PUNCTS: [&str; 27] = [
    "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "->", "(", ")", "{", "}", ",", "|", "&", "~",
    "^", "+", "-", "*", "/", "%", "<", ">", "?", ":",
];

pub fn tokenize(src: &str) -> Result<Vec<Token>, ExprError> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            tokens.push(Token::Number(src[start..i].to_string()));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            tokens.push(Token::Ident(src[start..i].to_string()));
        } else if c == b'"' {
            let start = i + 1;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            if i >= bytes.len() {
                return Err(ExprError::UnterminatedString);
            }
            tokens.push(Token::Str(src[start..i].to_string()));
            i += 1;
        } else if let Some(p) = PUNCTS.iter().find(|p| src[i..].starts_with(**p)) {
            tokens.push(Token::Punct(p));
            i += p.len();
        } else {
            // `.`, `!`, `[`, `]`, `'`… never appear in the expressions we evaluate.
            let ch = src[i..].chars().next().unwrap_or('?');
            return Err(ExprError::Unexpected(ch.to_string()));
        }
    }
    Ok(tokens)
}

/// A value with its C width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Value {
    pub bits: u64,
    pub wide: bool,
}

impl Value {
    fn new(bits: u64, wide: bool) -> Self {
        Self {
            bits: if wide { bits } else { bits & 0xffff_ffff },
            wide,
        }
    }
}

const MAX_DEPTH: usize = 200;

/// Recursive-descent parser over a token slice; `pos` is advanced as tokens are consumed.
pub struct Parser<'t> {
    tokens: &'t [Token],
    pub pos: usize,
    depth: usize,
}

impl<'t> Parser<'t> {
    pub fn new(tokens: &'t [Token]) -> Self {
        Self { tokens, pos: 0, depth: 0 }
    }

    pub fn peek(&self) -> Option<&'t Token> {
        self.tokens.get(self.pos)
    }

    pub fn next_token(&mut self) -> Option<&'t Token> {
        let t = self.tokens.get(self.pos);
        self.pos += 1;
        t
    }

    pub fn expect(&mut self, punct: &str) -> Result<(), ExprError> {
        match self.next_token() {
            Some(Token::Punct(p)) if *p == punct => Ok(()),
            Some(t) => Err(ExprError::Unexpected(format!("{t:?} (wanted {punct:?})"))),
            None => Err(ExprError::UnexpectedEnd),
        }
    }

    fn eat(&mut self, punct: &str) -> bool {
        if matches!(self.peek(), Some(Token::Punct(p)) if *p == punct) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Parses one expression (stops before `,` or a closing bracket).
    pub fn expression(&mut self) -> Result<Value, ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::TooDeep);
        }
        let result = self.ternary();
        self.depth -= 1;
        result
    }

    fn ternary(&mut self) -> Result<Value, ExprError> {
        let cond = self.binary(0)?;
        if !self.eat("?") {
            return Ok(cond);
        }
        let yes = self.expression()?;
        self.expect(":")?;
        let no = self.expression()?;
        Ok(if cond.bits != 0 { yes } else { no })
    }

    fn binary(&mut self, min_prec: u8) -> Result<Value, ExprError> {
        let mut lhs = self.unary()?;
        while let Some(Token::Punct(op)) = self.peek() {
            let Some(prec) = precedence(op) else { break };
            if prec < min_prec {
                break;
            }
            self.pos += 1;
            let rhs = self.binary(prec + 1)?;
            lhs = apply(op, lhs, rhs)?;
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<Value, ExprError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ExprError::TooDeep);
        }
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<Value, ExprError> {
        match self.peek() {
            Some(Token::Punct("~")) => {
                self.pos += 1;
                let v = self.unary()?;
                Ok(Value::new(!v.bits, v.wide))
            }
            Some(Token::Punct("-")) => {
                self.pos += 1;
                let v = self.unary()?;
                Ok(Value::new(v.bits.wrapping_neg(), v.wide))
            }
            Some(Token::Punct("(")) => {
                if let Some((wide, after)) = self.cast_at(self.pos) {
                    self.pos = after;
                    let v = self.unary()?;
                    return Ok(Value::new(v.bits, wide));
                }
                self.pos += 1;
                let v = self.expression()?;
                self.expect(")")?;
                Ok(v)
            }
            Some(Token::Number(n)) => {
                self.pos += 1;
                parse_number(n)
            }
            Some(Token::Ident(name)) => Err(ExprError::UnknownIdentifier(name.clone())),
            Some(t) => Err(ExprError::Unexpected(format!("{t:?}"))),
            None => Err(ExprError::UnexpectedEnd),
        }
    }

    /// `( unsigned long)`, `( gfp_t)`, `(void *)`: a parenthesised list of type words. Returns
    /// the cast's width and the position after `)`.
    fn cast_at(&self, open: usize) -> Option<(bool, usize)> {
        let mut words = Vec::new();
        let mut pointer = false;
        let mut i = open + 1;
        loop {
            match self.tokens.get(i)? {
                Token::Ident(w) => words.push(w.as_str()),
                Token::Punct("*") => pointer = true,
                Token::Punct(")") => break,
                _ => return None,
            }
            i += 1;
        }
        let first = *words.first()?;
        if !is_type_word(first) {
            return None;
        }
        let wide = pointer
            || words
                .iter()
                .any(|w| matches!(*w, "long" | "u64" | "__u64" | "s64" | "size_t" | "uintptr_t"));
        Some((wide, i + 1))
    }
}

fn is_type_word(word: &str) -> bool {
    matches!(
        word,
        "unsigned" | "signed" | "int" | "long" | "short" | "char" | "void" | "struct" | "const"
            | "u8" | "u16" | "u32" | "u64" | "s32" | "s64" | "__u32" | "__u64" | "bool"
    ) || word.ends_with("_t")
}

fn precedence(op: &str) -> Option<u8> {
    Some(match op {
        "||" => 1,
        "&&" => 2,
        "|" => 3,
        "^" => 4,
        "&" => 5,
        "==" | "!=" => 6,
        "<" | ">" | "<=" | ">=" => 7,
        "<<" | ">>" => 8,
        "+" | "-" => 9,
        "*" | "/" | "%" => 10,
        _ => return None,
    })
}

fn apply(op: &str, a: Value, b: Value) -> Result<Value, ExprError> {
    let wide = a.wide || b.wide;
    let bool_value = |c: bool| Value::new(u64::from(c), false);
    Ok(match op {
        "|" => Value::new(a.bits | b.bits, wide),
        "&" => Value::new(a.bits & b.bits, wide),
        "^" => Value::new(a.bits ^ b.bits, wide),
        "+" => Value::new(a.bits.wrapping_add(b.bits), wide),
        "-" => Value::new(a.bits.wrapping_sub(b.bits), wide),
        "*" => Value::new(a.bits.wrapping_mul(b.bits), wide),
        "/" | "%" => {
            if b.bits == 0 {
                return Err(ExprError::DivisionByZero);
            }
            Value::new(if op == "/" { a.bits / b.bits } else { a.bits % b.bits }, wide)
        }
        // The width of a shift is the width of its left operand.
        "<<" => Value::new(a.bits.checked_shl(b.bits as u32).unwrap_or(0), a.wide),
        ">>" => Value::new(a.bits.checked_shr(b.bits as u32).unwrap_or(0), a.wide),
        "==" => bool_value(a.bits == b.bits),
        "!=" => bool_value(a.bits != b.bits),
        "<" => bool_value(a.bits < b.bits),
        ">" => bool_value(a.bits > b.bits),
        "<=" => bool_value(a.bits <= b.bits),
        ">=" => bool_value(a.bits >= b.bits),
        "&&" => bool_value(a.bits != 0 && b.bits != 0),
        "||" => bool_value(a.bits != 0 || b.bits != 0),
        other => return Err(ExprError::Unexpected(other.to_string())),
    })
}

/// `0x400u`, `1UL`, `10`, `0` → value and width (`L` suffix or a value above 32 bits is wide).
fn parse_number(text: &str) -> Result<Value, ExprError> {
    let digits_end = text
        .find(['u', 'U', 'l', 'L'])
        .filter(|&i| !text.starts_with("0x") || i > 1)
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(digits_end);
    if !suffix.chars().all(|c| matches!(c, 'u' | 'U' | 'l' | 'L')) {
        return Err(ExprError::BadNumber(text.to_string()));
    }
    let parsed = if let Some(hex) = digits.strip_prefix("0x").or_else(|| digits.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16)
    } else if digits.len() > 1 && digits.starts_with('0') {
        u64::from_str_radix(&digits[1..], 8)
    } else {
        digits.parse()
    };
    let bits = parsed.map_err(|_| ExprError::BadNumber(text.to_string()))?;
    let wide = suffix.contains(['l', 'L']) || bits > u64::from(u32::MAX);
    Ok(Value::new(bits, wide))
}

/// Evaluates a whole constant expression.
pub fn evaluate(src: &str) -> Result<u64, ExprError> {
    let tokens = tokenize(src)?;
    let mut parser = Parser::new(&tokens);
    let value = parser.expression()?;
    match parser.peek() {
        None => Ok(value.bits),
        Some(t) => Err(ExprError::Unexpected(format!("{t:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evaluates_kernel_style_expressions() {
        assert_eq!(evaluate("(( gfp_t)((((1UL))) << (10)))"), Ok(0x400));
        assert_eq!(evaluate("0x10u|0x40u|0x80u"), Ok(0xd0));
        assert_eq!(evaluate("( unsigned long)(((( gfp_t)(0x400u|0x800u)) | (( gfp_t)0x40u)) & ~(( gfp_t)0x400u))"), Ok(0x840));
        assert_eq!(
            evaluate("(((unsigned int)((21 - 12))) < ((unsigned int)(10)) ? ((unsigned int)((21 - 12))) : ((unsigned int)(10)))"),
            Ok(9)
        );
        assert_eq!(evaluate("((void *)0)"), Ok(0));
        assert_eq!(evaluate("1 + 2 * 3"), Ok(7));
        assert_eq!(evaluate("017"), Ok(15));
    }

    #[test]
    fn complement_respects_width() {
        assert_eq!(evaluate("~(( gfp_t)0x1u)"), Ok(0xffff_fffe));
        assert_eq!(evaluate("~1UL"), Ok(u64::MAX - 1));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        for bad in ["", "(", "1 +", "0xZZ", "foo", "1 / 0", "\"abc", "1 ? 2", "((((((", "1 $ 2", "99999999999999999999999"] {
            assert!(evaluate(bad).is_err(), "{bad:?} should fail");
        }
        let deep = "(".repeat(10_000) + "1" + &")".repeat(10_000);
        assert_eq!(evaluate(&deep), Err(ExprError::TooDeep));
    }
}
