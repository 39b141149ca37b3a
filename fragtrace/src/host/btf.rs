//! A small reader for the kernel's BTF (`/sys/kernel/btf/vmlinux`): just enough to find
//! struct member offsets and enum values, so the probes can follow kernel pointers
//! (task → css_set → memory cgroup → kernfs node) with offsets that are right for the
//! running kernel instead of hard-coded ones. Every read is bounds-checked; a malformed
//! BTF blob is an error, never a panic.

use std::collections::HashMap;

use thiserror::Error;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum BtfError {
    #[error("BTF is malformed: {0}")]
    Malformed(&'static str),
    #[error("BTF has no {0}")]
    Missing(String),
}

const KIND_INT: u32 = 1;
const KIND_PTR: u32 = 2;
const KIND_ARRAY: u32 = 3;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_ENUM: u32 = 6;
const KIND_FWD: u32 = 7;
const KIND_TYPEDEF: u32 = 8;
const KIND_VOLATILE: u32 = 9;
const KIND_CONST: u32 = 10;
const KIND_RESTRICT: u32 = 11;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
const KIND_VAR: u32 = 14;
const KIND_DATASEC: u32 = 15;
const KIND_FLOAT: u32 = 16;
const KIND_DECL_TAG: u32 = 17;
const KIND_TYPE_TAG: u32 = 18;
const KIND_ENUM64: u32 = 19;

#[derive(Clone, Debug)]
struct Member {
    name: u32,
    type_id: u32,
    /// Bit offset within the struct.
    bit_offset: u32,
}

#[derive(Clone, Debug)]
enum Type {
    Composite { name: u32, members: Vec<Member> },
    Enum { values: Vec<(u32, i64)> },
    /// Typedefs and qualifiers: resolve to `target`.
    Alias { target: u32 },
    Other,
}

/// Whether the kernel exposes its BTF (needed for `tp_btf`, fexit and in-kernel attribution).
pub fn kernel_has_btf() -> bool {
    std::path::Path::new("/sys/kernel/btf/vmlinux").exists()
}

pub struct Btf {
    types: Vec<Type>,
    strings: Vec<u8>,
    /// Struct/union name → type id (first definition wins).
    composites: HashMap<String, u32>,
}

struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

/// The type and string sections of a little-endian BTF blob, bounds-checked.
fn sections(data: &[u8]) -> Result<(&[u8], &[u8]), BtfError> {
    let le = |at: usize| -> Result<u32, BtfError> {
        data.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes"))).ok_or(BtfError::Malformed("header cut short"))
    };
    if data.len() < 24 || u16::from_le_bytes([data[0], data[1]]) != 0xeb9f {
        return Err(BtfError::Malformed("no BTF magic (big-endian BTF is not supported)"));
    }
    let hdr_len = le(4)? as usize;
    let (type_off, type_len, str_off, str_len) = (le(8)? as usize, le(12)? as usize, le(16)? as usize, le(20)? as usize);
    let types = data.get(hdr_len + type_off..hdr_len + type_off + type_len).ok_or(BtfError::Malformed("type section out of bounds"))?;
    let strings = data.get(hdr_len + str_off..hdr_len + str_off + str_len).ok_or(BtfError::Malformed("string section out of bounds"))?;
    Ok((types, strings))
}

impl Reader<'_> {
    fn u32(&mut self) -> Result<u32, BtfError> {
        let bytes = self.data.get(self.at..self.at + 4).ok_or(BtfError::Malformed("type section cut short"))?;
        self.at += 4;
        Ok(u32::from_le_bytes(bytes.try_into().expect("4 bytes")))
    }
    fn skip(&mut self, n: usize) -> Result<(), BtfError> {
        if self.at + n > self.data.len() {
            return Err(BtfError::Malformed("type section cut short"));
        }
        self.at += n;
        Ok(())
    }

    /// One type record: its common header, then what its kind adds (kept for structs,
    /// unions, enums and aliases; skipped for the rest).
    fn btf_type(&mut self) -> Result<Type, BtfError> {
        let name = self.u32()?;
        let info = self.u32()?;
        let size_or_type = self.u32()?;
        let vlen = (info & 0xffff) as usize;
        let kind = (info >> 24) & 0x1f;
        let kind_flag = info >> 31 == 1;
        Ok(match kind {
            KIND_STRUCT | KIND_UNION => Type::Composite { name, members: self.members(vlen, kind_flag)? },
            KIND_ENUM => Type::Enum { values: self.enum_values(vlen)? },
            KIND_ENUM64 => Type::Enum { values: self.enum64_values(vlen)? },
            KIND_TYPEDEF | KIND_VOLATILE | KIND_CONST | KIND_RESTRICT | KIND_TYPE_TAG => Type::Alias { target: size_or_type },
            KIND_INT | KIND_VAR | KIND_DECL_TAG => self.skip(4).map(|()| Type::Other)?,
            KIND_ARRAY => self.skip(12).map(|()| Type::Other)?,
            KIND_FUNC_PROTO => self.skip(8 * vlen).map(|()| Type::Other)?,
            KIND_DATASEC => self.skip(12 * vlen).map(|()| Type::Other)?,
            KIND_PTR | KIND_FWD | KIND_FUNC | KIND_FLOAT => Type::Other,
            _ => return Err(BtfError::Malformed("unknown type kind")),
        })
    }

    fn members(&mut self, vlen: usize, kind_flag: bool) -> Result<Vec<Member>, BtfError> {
        let mut members = Vec::with_capacity(vlen);
        for _ in 0..vlen {
            let (m_name, m_type, m_off) = (self.u32()?, self.u32()?, self.u32()?);
            let bit_offset = if kind_flag { m_off & 0xff_ffff } else { m_off };
            members.push(Member { name: m_name, type_id: m_type, bit_offset });
        }
        Ok(members)
    }

    fn enum_values(&mut self, vlen: usize) -> Result<Vec<(u32, i64)>, BtfError> {
        let mut values = Vec::with_capacity(vlen);
        for _ in 0..vlen {
            let (v_name, v) = (self.u32()?, self.u32()?);
            values.push((v_name, i64::from(v as i32)));
        }
        Ok(values)
    }

    fn enum64_values(&mut self, vlen: usize) -> Result<Vec<(u32, i64)>, BtfError> {
        let mut values = Vec::with_capacity(vlen);
        for _ in 0..vlen {
            let (v_name, lo, hi) = (self.u32()?, self.u32()?, self.u32()?);
            values.push((v_name, (u64::from(hi) << 32 | u64::from(lo)) as i64));
        }
        Ok(values)
    }
}

impl Btf {
    pub fn from_sys_fs() -> Result<Self, BtfError> {
        let data = std::fs::read("/sys/kernel/btf/vmlinux").map_err(|_| BtfError::Missing("/sys/kernel/btf/vmlinux".into()))?;
        Self::parse(&data)
    }

    pub fn parse(data: &[u8]) -> Result<Self, BtfError> {
        let (types_bytes, strings) = sections(data)?;
        let mut r = Reader { data: types_bytes, at: 0 };
        // Type id 0 is `void`.
        let mut types = vec![Type::Other];
        while r.at < types_bytes.len() {
            types.push(r.btf_type()?);
        }
        let mut btf = Self { types, strings: strings.to_vec(), composites: HashMap::new() };
        btf.composites = btf.index_composites();
        Ok(btf)
    }

    /// Named structs and unions with members, by name (the first of each name).
    fn index_composites(&self) -> HashMap<String, u32> {
        let mut composites = HashMap::new();
        for (id, ty) in self.types.iter().enumerate() {
            if let Type::Composite { name, members } = ty
                && *name != 0
                && !members.is_empty()
            {
                composites.entry(self.string(*name).to_string()).or_insert(id as u32);
            }
        }
        composites
    }

    fn string(&self, offset: u32) -> &str {
        let start = offset as usize;
        let Some(rest) = self.strings.get(start..) else { return "" };
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        std::str::from_utf8(&rest[..end]).unwrap_or("")
    }

    fn resolve(&self, mut id: u32) -> u32 {
        for _ in 0..32 {
            match self.types.get(id as usize) {
                Some(Type::Alias { target }) => id = *target,
                _ => break,
            }
        }
        id
    }

    /// Byte offset of `member` in `struct name`, looking into anonymous struct and union
    /// members the way C does.
    pub fn member_offset(&self, name: &str, member: &str) -> Result<u32, BtfError> {
        let id = *self.composites.get(name).ok_or_else(|| BtfError::Missing(format!("struct {name}")))?;
        self.find_member(id, member, 0)
            .map(|bits| bits / 8)
            .ok_or_else(|| BtfError::Missing(format!("member {member} of struct {name}")))
    }

    /// The first of `members` that `struct name` has (fields get renamed across kernels,
    /// e.g. `kernfs_node.parent` → `__parent` in 6.15).
    pub fn member_offset_any(&self, name: &str, members: &[&str]) -> Result<u32, BtfError> {
        members
            .iter()
            .find_map(|m| self.member_offset(name, m).ok())
            .ok_or_else(|| BtfError::Missing(format!("any of {members:?} in struct {name}")))
    }

    fn find_member(&self, id: u32, member: &str, base_bits: u32) -> Option<u32> {
        let Some(Type::Composite { members, .. }) = self.types.get(self.resolve(id) as usize) else { return None };
        for m in members {
            if m.name != 0 && self.string(m.name) == member {
                return Some(base_bits + m.bit_offset);
            }
        }
        // Anonymous members second, so a named member always wins.
        members.iter().filter(|m| m.name == 0).find_map(|m| self.find_member(m.type_id, member, base_bits + m.bit_offset))
    }

    /// The value of an enumerator, searching every enum.
    pub fn enum_value(&self, enumerator: &str) -> Result<i64, BtfError> {
        self.types
            .iter()
            .find_map(|t| match t {
                Type::Enum { values, .. } => values.iter().find(|(n, _)| self.string(*n) == enumerator).map(|(_, v)| *v),
                _ => None,
            })
            .ok_or_else(|| BtfError::Missing(format!("enumerator {enumerator}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a BTF blob with: struct inner { int a; int b; }, struct outer { int x;
    /// struct { int hidden; }; int y; }, enum e { ONE = 1, FOUR = 4 }.
    fn blob() -> Vec<u8> {
        let mut strings = b"\0int\0inner\0a\0b\0outer\0x\0hidden\0y\0e\0ONE\0FOUR\0".to_vec();
        let off = |s: &str| -> u32 {
            let needle = format!("\0{s}\0");
            strings.windows(needle.len()).position(|w| w == needle.as_bytes()).map(|p| p as u32 + 1).expect(s)
        };
        let mut types: Vec<u32> = Vec::new();
        // 1: int
        types.extend([off("int"), KIND_INT << 24, 4, 32]);
        // 2: struct inner { a@0, b@32 }
        types.extend([off("inner"), KIND_STRUCT << 24 | 2, 8, off("a"), 1, 0, off("b"), 1, 32]);
        // 3: anonymous struct { hidden@0 }
        types.extend([0, KIND_STRUCT << 24 | 1, 4, off("hidden"), 1, 0]);
        // 4: typedef anon_t -> 3 (anonymous member through a typedef)
        types.extend([0, KIND_TYPEDEF << 24, 3]);
        // 5: struct outer { x@0, <anon>@64 (type 4), y@96 }
        types.extend([off("outer"), KIND_STRUCT << 24 | 3, 16, off("x"), 1, 0, 0, 4, 64, off("y"), 1, 96]);
        // 6: enum e
        types.extend([off("e"), KIND_ENUM << 24 | 2, 4, off("ONE"), 1, off("FOUR"), 4]);
        let type_bytes: Vec<u8> = types.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut out = Vec::new();
        out.extend_from_slice(&0xeb9fu16.to_le_bytes());
        out.extend_from_slice(&[1, 0]);
        for v in [24u32, 0, type_bytes.len() as u32, type_bytes.len() as u32, strings.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&type_bytes);
        out.append(&mut strings);
        out
    }

    #[test]
    fn finds_members_through_anonymous_structs_and_enums() {
        let btf = Btf::parse(&blob()).unwrap();
        assert_eq!(btf.member_offset("inner", "b"), Ok(4));
        assert_eq!(btf.member_offset("outer", "y"), Ok(12));
        assert_eq!(btf.member_offset("outer", "hidden"), Ok(8), "through an anonymous member");
        assert_eq!(btf.member_offset_any("outer", &["parent", "y"]), Ok(12));
        assert_eq!(btf.enum_value("FOUR"), Ok(4));
        assert!(btf.member_offset("outer", "nope").is_err());
        assert!(btf.member_offset("missing", "x").is_err());
    }

    #[test]
    fn truncated_or_garbage_blobs_are_errors() {
        let full = blob();
        for cut in 0..full.len() {
            let _ = Btf::parse(&full[..cut]);
        }
        assert!(Btf::parse(b"not btf at all, not at all").is_err());
    }

    #[test]
    fn the_running_kernel_has_what_the_probes_need() {
        let Ok(btf) = Btf::from_sys_fs() else {
            panic!("/sys/kernel/btf/vmlinux is needed for this test (the CI machine has it)");
        };
        for (s, m) in [("task_struct", "cgroups"), ("task_struct", "real_parent"), ("task_struct", "tgid"), ("task_struct", "comm"), ("css_set", "subsys"), ("cgroup_subsys_state", "cgroup"), ("cgroup", "kn"), ("kernfs_node", "name"), ("kernfs_node", "id")] {
            assert!(btf.member_offset(s, m).is_ok(), "{s}.{m}");
        }
        assert!(btf.member_offset_any("kernfs_node", &["__parent", "parent"]).is_ok());
        assert_eq!(btf.member_offset("cgroup_subsys_state", "cgroup"), Ok(0));
        assert!(btf.enum_value("memory_cgrp_id").is_ok());
    }
}
