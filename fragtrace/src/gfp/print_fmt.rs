//! Pulling constant tables and values out of a tracepoint's `print fmt` line.

use super::{
    GfpName,
    expr::{ExprError, Parser, Token, tokenize},
};
use crate::host::tracefs::FormatError;

fn err(e: ExprError) -> FormatError {
    FormatError::PrintFmt(e.to_string())
}

/// The entries of `__print_flags(REC-><field>, "<delim>", {value, "NAME"}, …)`.
pub fn print_flags_table(print_fmt: &str, field: &str) -> Result<Vec<GfpName>, FormatError> {
    let needle = format!("__print_flags(REC->{field},");
    let start = print_fmt
        .find(&needle)
        .ok_or_else(|| FormatError::PrintFmt(format!("no __print_flags for {field}")))?;
    let tokens = tokenize(&print_fmt[start + needle.len()..]).map_err(err)?;
    let mut p = Parser::new(&tokens);
    // The delimiter string.
    match p.next_token() {
        Some(Token::Str(_)) => {}
        _ => return Err(FormatError::PrintFmt("__print_flags without a delimiter string".into())),
    }
    let mut names = Vec::new();
    loop {
        match p.next_token() {
            Some(Token::Punct(")")) => break,
            Some(Token::Punct(",")) => {}
            Some(t) => return Err(FormatError::PrintFmt(format!("unexpected {t:?} in __print_flags"))),
            None => return Err(FormatError::PrintFmt("__print_flags is not closed".into())),
        }
        p.expect("{").map_err(err)?;
        let value = p.expression().map_err(err)?;
        p.expect(",").map_err(err)?;
        match p.next_token() {
            Some(Token::Str(name)) => {
                p.expect("}").map_err(err)?;
                names.push(GfpName { value: value.bits, name: name.clone() });
            }
            // `{ 0, ((void *)0) }` / `{ -1, NULL }`: the terminator.
            Some(_) => {
                skip_to_closing_brace(&mut p)?;
            }
            None => return Err(FormatError::PrintFmt("__print_flags entry is not closed".into())),
        }
    }
    if names.is_empty() {
        return Err(FormatError::PrintFmt(format!("__print_flags for {field} has no entries")));
    }
    Ok(names)
}

fn skip_to_closing_brace(p: &mut Parser<'_>) -> Result<(), FormatError> {
    loop {
        match p.next_token() {
            Some(Token::Punct("}")) => return Ok(()),
            Some(_) => {}
            None => return Err(FormatError::PrintFmt("unterminated entry".into())),
        }
    }
}

/// The constant argument printed for `label=%d` in the format string, e.g. `pageblock_order`
/// in `mm_page_alloc_extfrag`, where the kernel prints a compile-time expression.
pub fn constant_argument(print_fmt: &str, label: &str) -> Result<u64, FormatError> {
    let args = split_top_level(print_fmt);
    let fmt = args
        .first()
        .ok_or_else(|| FormatError::PrintFmt("empty print fmt".into()))?;
    let position = fmt
        .find(&format!("{label}="))
        .ok_or_else(|| FormatError::PrintFmt(format!("no {label}= in the format string")))?;
    // Which conversion is it? Count `%` (not `%%`) before it.
    let index = fmt[..position].replace("%%", "").matches('%').count();
    let arg = args
        .get(index + 1)
        .ok_or_else(|| FormatError::PrintFmt(format!("no argument for {label}")))?;
    super::expr::evaluate(arg).map_err(err)
}

/// Splits `"fmt", a, (b, c), d` at commas that are outside brackets and strings.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(s[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(s[start..].trim());
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_top_level_commas_only() {
        assert_eq!(split_top_level(r#""a=%d, b", f(1, 2), {3, "x,y"}"#), vec![r#""a=%d, b""#, "f(1, 2)", r#"{3, "x,y"}"#]);
    }

    #[test]
    fn reads_a_small_table() {
        let fmt = r#""gfp_flags=%s", (REC->gfp_flags) ? __print_flags(REC->gfp_flags, "|", {(unsigned long)(0x10u|0x40u), "GFP_X"}, {(unsigned long)0x10u, "__GFP_A"}, { 0, ((void *)0) } ) : "none""#;
        let names = print_flags_table(fmt, "gfp_flags").unwrap();
        assert_eq!(names, vec![
            GfpName { value: 0x50, name: "GFP_X".into() },
            GfpName { value: 0x10, name: "__GFP_A".into() },
        ]);
    }

    #[test]
    fn truncated_tables_are_errors() {
        for bad in [
            r#"__print_flags(REC->gfp_flags, "|", {0x10u, "A"}"#,
            r#"__print_flags(REC->gfp_flags, "|", {0x10u, "#,
            r#"__print_flags(REC->gfp_flags, "|", {0x10u"#,
            r#"__print_flags(REC->gfp_flags, "|")"#,
            r#"__print_flags(REC->gfp_flags, {1, "A"})"#,
            r#"no flags here"#,
        ] {
            assert!(print_flags_table(bad, "gfp_flags").is_err(), "{bad}");
        }
    }
}
