//! Minimal reader of the `.BTF` section of a BPF ELF object (tests only):
//! struct sizes and member offsets, to check the Rust mirrors.

use std::collections::HashMap;

fn u16le(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}
fn u32le(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}
fn u64le(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}

/// The bytes of section `name` of a little-endian ELF64 object.
pub fn elf_section<'a>(elf: &'a [u8], name: &str) -> Option<&'a [u8]> {
    if elf.get(0..4)? != b"\x7fELF" || elf[4] != 2 || elf[5] != 1 {
        return None;
    }
    let shoff = u64le(elf, 0x28)? as usize;
    let shentsize = u16le(elf, 0x3a)? as usize;
    let shnum = u16le(elf, 0x3c)? as usize;
    let shstrndx = u16le(elf, 0x3e)? as usize;
    let sh = |i: usize| -> Option<(u32, usize, usize)> {
        let o = shoff + i * shentsize;
        Some((
            u32le(elf, o)?,
            u64le(elf, o + 24)? as usize,
            u64le(elf, o + 32)? as usize,
        ))
    };
    let (_, stroff, strsize) = sh(shstrndx)?;
    let strtab = elf.get(stroff..stroff + strsize)?;
    for i in 0..shnum {
        let (n, off, size) = sh(i)?;
        let rest = strtab.get(n as usize..)?;
        let end = rest.iter().position(|&c| c == 0)?;
        if &rest[..end] == name.as_bytes() {
            return elf.get(off..off + size);
        }
    }
    None
}

/// A struct as described by BTF: byte size and (member name, byte offset).
#[derive(Debug, Clone)]
pub struct BtfStruct {
    pub size: u32,
    pub members: Vec<(String, u32)>,
}

/// Every named struct in a `.BTF` section.
pub fn structs(btf: &[u8]) -> Result<HashMap<String, BtfStruct>, String> {
    let e = || "truncated BTF".to_string();
    if u16le(btf, 0).ok_or_else(e)? != 0xeb9f {
        return Err("bad BTF magic".into());
    }
    let hdr_len = u32le(btf, 4).ok_or_else(e)? as usize;
    let type_off = u32le(btf, 8).ok_or_else(e)? as usize;
    let type_len = u32le(btf, 12).ok_or_else(e)? as usize;
    let str_off = u32le(btf, 16).ok_or_else(e)? as usize;
    let str_len = u32le(btf, 20).ok_or_else(e)? as usize;
    let types = btf
        .get(hdr_len + type_off..hdr_len + type_off + type_len)
        .ok_or_else(e)?;
    let strs = btf
        .get(hdr_len + str_off..hdr_len + str_off + str_len)
        .ok_or_else(e)?;
    let name = |off: u32| -> String {
        let rest = strs.get(off as usize..).unwrap_or(&[]);
        let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
        String::from_utf8_lossy(&rest[..end]).into_owned()
    };

    let mut out = HashMap::new();
    let mut o = 0usize;
    while o < types.len() {
        let name_off = u32le(types, o).ok_or_else(e)?;
        let info = u32le(types, o + 4).ok_or_else(e)?;
        let size = u32le(types, o + 8).ok_or_else(e)?;
        let vlen = (info & 0xffff) as usize;
        let kind = (info >> 24) & 0x1f;
        let kind_flag = info >> 31 == 1;
        o += 12;
        let extra = match kind {
            1 => 4,             // INT
            3 => 12,            // ARRAY
            4 | 5 => 12 * vlen, // STRUCT, UNION
            6 => 8 * vlen,      // ENUM
            13 => 8 * vlen,     // FUNC_PROTO
            14 => 4,            // VAR
            15 => 12 * vlen,    // DATASEC
            17 => 4,            // DECL_TAG
            19 => 12 * vlen,    // ENUM64
            2 | 7..=12 | 16 | 18 => 0,
            k => return Err(format!("unknown BTF kind {k}")),
        };
        if kind == 4 && name_off != 0 {
            let mut members = Vec::with_capacity(vlen);
            for m in 0..vlen {
                let mo = o + m * 12;
                let mname = u32le(types, mo).ok_or_else(e)?;
                let moff = u32le(types, mo + 8).ok_or_else(e)?;
                let bits = if kind_flag { moff & 0x00ff_ffff } else { moff };
                if bits % 8 != 0 {
                    return Err(format!("bitfield in struct {}", name(name_off)));
                }
                members.push((name(mname), bits / 8));
            }
            out.insert(name(name_off), BtfStruct { size, members });
        }
        o += extra;
    }
    Ok(out)
}
