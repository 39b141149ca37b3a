//! Parser for tracefs `events/<sys>/<event>/format` files.
//!
//! Layouts differ by kernel (a `page` pointer before 4.1, 4-byte `gfp_flags` before 5.19), so
//! every offset fragtrace uses comes from here, never from a constant.

use serde::{Deserialize, Serialize};

use super::FormatError;

/// One `field:` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    /// The C declaration without the name, e.g. `unsigned long`.
    pub c_type: String,
    pub name: String,
    pub offset: u32,
    pub size: u32,
    pub signed: bool,
}

/// A parsed format file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFormat {
    pub name: String,
    pub id: u32,
    pub fields: Vec<Field>,
    /// Everything after `print fmt: `.
    pub print_fmt: String,
}

impl EventFormat {
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        let mut name = None;
        let mut id = None;
        let mut fields = Vec::new();
        let mut print_fmt = None;
        for (index, raw) in text.lines().enumerate() {
            let line = raw.trim();
            let line_no = index + 1;
            if let Some(rest) = line.strip_prefix("name:") {
                name = Some(rest.trim().to_string());
            } else if let Some(rest) = line.strip_prefix("ID:") {
                id = Some(rest.trim().parse().map_err(|_| FormatError::Malformed {
                    line: line_no,
                    reason: format!("ID is not a number: {:?}", rest.trim()),
                })?);
            } else if line.starts_with("field:") {
                fields.push(parse_field(line, line_no)?);
            } else if let Some(rest) = line.strip_prefix("print fmt:") {
                print_fmt = Some(rest.trim().to_string());
            }
        }
        Ok(Self {
            name: name.ok_or(FormatError::Missing("name:"))?,
            id: id.ok_or(FormatError::Missing("ID:"))?,
            fields,
            print_fmt: print_fmt.unwrap_or_default(),
        })
    }

    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// A field that must exist, with an error naming the event.
    pub fn require(&self, name: &str) -> Result<&Field, FormatError> {
        self.field(name).ok_or_else(|| FormatError::MissingField {
            event: self.name.clone(),
            field: name.to_string(),
        })
    }
}

/// `field:unsigned long pfn;` `offset:8;` `size:8;` `signed:0;`, tab-separated.
fn parse_field(line: &str, line_no: usize) -> Result<Field, FormatError> {
    let malformed = |reason: &str| FormatError::Malformed {
        line: line_no,
        reason: reason.to_string(),
    };
    let mut decl = None;
    let mut offset = None;
    let mut size = None;
    let mut signed = false;
    for part in line.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once(':').ok_or_else(|| malformed("part without ':'"))?;
        match key.trim() {
            "field" => decl = Some(value.trim()),
            "offset" => offset = value.trim().parse().ok(),
            "size" => size = value.trim().parse().ok(),
            "signed" => signed = value.trim() == "1",
            _ => {}
        }
    }
    let decl = decl.ok_or_else(|| malformed("no field declaration"))?;
    let (c_type, name) = split_declaration(decl).ok_or_else(|| malformed("declaration has no name"))?;
    Ok(Field {
        c_type,
        name,
        offset: offset.ok_or_else(|| malformed("offset missing or not a number"))?,
        size: size.ok_or_else(|| malformed("size missing or not a number"))?,
        signed,
    })
}

/// `unsigned long pfn` → (`unsigned long`, `pfn`); `char comm[16]` → (`char[16]`, `comm`);
/// `__data_loc char[] name` → (`__data_loc char[]`, `name`).
fn split_declaration(decl: &str) -> Option<(String, String)> {
    // By char, not byte: the separator may be multi-byte Unicode whitespace (found by
    // fuzzing: slicing at `ty.len() + 1` cut such a character in half).
    let (at, sep) = decl.char_indices().rev().find(|(_, c)| c.is_whitespace() || *c == '*')?;
    let split = at + sep.len_utf8();
    let (ty, last) = (decl[..split].trim().to_string(), &decl[split..]);
    let (name, array) = match last.find('[') {
        Some(i) => (&last[..i], &last[i..]),
        None => (last, ""),
    };
    if name.is_empty() {
        return None;
    }
    Some((format!("{ty}{array}"), name.to_string()))
}

#[cfg(test)]
mod fuzz_regressions {
    /// The input that crashed `cargo xtask fuzz` (a declaration split at Unicode whitespace).
    #[test]
    fn unicode_whitespace_in_a_declaration_is_an_error_or_a_field_not_a_panic() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/fuzz/tracefs_format-unicode-space");
        let text = String::from_utf8_lossy(&std::fs::read(path).expect("fixture")).into_owned();
        let _ = super::EventFormat::parse(&text);
        assert_eq!(super::split_declaration("int\u{1680}x"), Some(("int".to_string(), "x".to_string())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_declarations() {
        assert_eq!(
            split_declaration("unsigned long pfn"),
            Some(("unsigned long".into(), "pfn".into()))
        );
        assert_eq!(
            split_declaration("struct page * page"),
            Some(("struct page *".into(), "page".into()))
        );
        assert_eq!(
            split_declaration("struct page *page"),
            Some(("struct page *".into(), "page".into()))
        );
        assert_eq!(
            split_declaration("char comm[16]"),
            Some(("char[16]".into(), "comm".into()))
        );
        assert_eq!(split_declaration("nospace"), None);
    }

    #[test]
    fn malformed_lines_are_errors() {
        let err = EventFormat::parse("name: x\nID: 1\nformat:\n\tfield:int a;\toffset:zz;\tsize:4;\n")
            .unwrap_err();
        assert!(matches!(err, FormatError::Malformed { line: 4, .. }), "{err}");
        assert!(matches!(EventFormat::parse("ID: 1\n"), Err(FormatError::Missing("name:"))));
        assert!(EventFormat::parse("name: x\nID: one\n").is_err());
    }
}
