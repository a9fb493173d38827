//! A small reader for self-relative security descriptors (MS-DTYP 2.4.6), enough for the rules:
//! the owner and the DACL's access-allowed ACEs, with their object type GUIDs.

use crate::sid::Sid;

pub const ACE_ALLOWED: u8 = 0x00;
pub const ACE_DENIED: u8 = 0x01;
pub const ACE_ALLOWED_OBJECT: u8 = 0x05;
pub const ACE_DENIED_OBJECT: u8 = 0x06;
pub const ACE_FLAG_INHERIT_ONLY: u8 = 0x08;

pub const RIGHT_DS_CREATE_CHILD: u32 = 0x1;
pub const RIGHT_DS_SELF: u32 = 0x8;
pub const RIGHT_DS_WRITE_PROP: u32 = 0x20;
pub const RIGHT_DS_CONTROL_ACCESS: u32 = 0x100;
pub const RIGHT_WRITE_DAC: u32 = 0x40000;
pub const RIGHT_WRITE_OWNER: u32 = 0x80000;
pub const RIGHT_GENERIC_ALL: u32 = 0x1000_0000;
pub const RIGHT_GENERIC_WRITE: u32 = 0x4000_0000;

/// Extended rights and attributes the rules look for.
pub mod guids {
    pub const DS_REPLICATION_GET_CHANGES: &str = "1131f6aa-9c07-11d1-f79f-00c04fc2dcd2";
    pub const DS_REPLICATION_GET_CHANGES_ALL: &str = "1131f6ad-9c07-11d1-f79f-00c04fc2dcd2";
    pub const DS_REPLICATION_GET_CHANGES_FILTERED: &str = "89e95b76-444d-4c62-991a-0facbeda640c";
    pub const ATTR_MEMBER: &str = "bf9679c0-0de6-11d0-a285-00aa003049e2";
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ace {
    pub ace_type: u8,
    pub flags: u8,
    pub mask: u32,
    /// Lower-case GUID text of the object type, for object ACEs that carry one.
    pub object_type: Option<String>,
    pub sid: Sid,
}

impl Ace {
    pub fn is_allow(&self) -> bool {
        matches!(self.ace_type, ACE_ALLOWED | ACE_ALLOWED_OBJECT)
    }
    /// Applies to the object itself (not only to its children).
    pub fn applies_to_object(&self) -> bool {
        self.flags & ACE_FLAG_INHERIT_ONLY == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityDescriptor {
    pub owner: Option<Sid>,
    pub dacl: Vec<Ace>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed security descriptor: {0}")]
pub struct SdError(pub &'static str);

fn u16_at(b: &[u8], o: usize) -> Result<u16, SdError> {
    b.get(o..o + 2)
        .map(|x| u16::from_le_bytes([x[0], x[1]]))
        .ok_or(SdError("truncated"))
}
fn u32_at(b: &[u8], o: usize) -> Result<u32, SdError> {
    b.get(o..o + 4)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
        .ok_or(SdError("truncated"))
}

/// Text form of a GUID stored in mixed-endian binary form.
pub fn guid_to_string(g: &[u8]) -> Option<String> {
    if g.len() < 16 {
        return None;
    }
    Some(format!(
        "{:08x}-{:04x}-{:04x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        u32::from_le_bytes([g[0], g[1], g[2], g[3]]),
        u16::from_le_bytes([g[4], g[5]]),
        u16::from_le_bytes([g[6], g[7]]),
        g[8],
        g[9],
        g[10],
        g[11],
        g[12],
        g[13],
        g[14],
        g[15]
    ))
}

/// Binary form of a GUID written `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub fn guid_from_string(s: &str) -> Option<[u8; 16]> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 {
        return None;
    }
    let mut raw = [0u8; 16];
    for (i, r) in raw.iter_mut().enumerate() {
        *r = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    let mut g = raw;
    g[0..4].copy_from_slice(&[raw[3], raw[2], raw[1], raw[0]]);
    g[4..6].copy_from_slice(&[raw[5], raw[4]]);
    g[6..8].copy_from_slice(&[raw[7], raw[6]]);
    Some(g)
}

impl SecurityDescriptor {
    pub fn parse(b: &[u8]) -> Result<SecurityDescriptor, SdError> {
        if b.len() < 20 || b[0] != 1 {
            return Err(SdError("bad header"));
        }
        let owner_off = u32_at(b, 4)? as usize;
        let dacl_off = u32_at(b, 16)? as usize;
        let owner = if owner_off != 0 {
            Some(
                Sid::from_bytes(b.get(owner_off..).ok_or(SdError("owner offset"))?)
                    .ok_or(SdError("owner SID"))?,
            )
        } else {
            None
        };
        let mut dacl = Vec::new();
        if dacl_off != 0 {
            let count = u16_at(b, dacl_off + 4)? as usize;
            let mut o = dacl_off + 8;
            for _ in 0..count {
                let ace_type = *b.get(o).ok_or(SdError("ACE header"))?;
                let flags = *b.get(o + 1).ok_or(SdError("ACE header"))?;
                let size = u16_at(b, o + 2)? as usize;
                if size < 8 {
                    return Err(SdError("ACE size"));
                }
                let body = b.get(o + 4..o + size).ok_or(SdError("ACE body"))?;
                match ace_type {
                    ACE_ALLOWED | ACE_DENIED => {
                        let mask = u32_at(body, 0)?;
                        let sid = Sid::from_bytes(body.get(4..).ok_or(SdError("ACE SID"))?)
                            .ok_or(SdError("ACE SID"))?;
                        dacl.push(Ace {
                            ace_type,
                            flags,
                            mask,
                            object_type: None,
                            sid,
                        });
                    }
                    ACE_ALLOWED_OBJECT | ACE_DENIED_OBJECT => {
                        let mask = u32_at(body, 0)?;
                        let oflags = u32_at(body, 4)?;
                        let mut p = 8;
                        let mut object_type = None;
                        if oflags & 1 != 0 {
                            object_type =
                                guid_to_string(body.get(p..p + 16).ok_or(SdError("object GUID"))?);
                            p += 16;
                        }
                        if oflags & 2 != 0 {
                            p += 16;
                        }
                        let sid = Sid::from_bytes(body.get(p..).ok_or(SdError("ACE SID"))?)
                            .ok_or(SdError("ACE SID"))?;
                        dacl.push(Ace {
                            ace_type,
                            flags,
                            mask,
                            object_type,
                            sid,
                        });
                    }
                    _ => {} // audit, callback and other ACE kinds do not grant rights the rules need
                }
                o += size;
            }
        }
        Ok(SecurityDescriptor { owner, dacl })
    }

    /// Self-relative binary form (owner + DACL), used by fixtures and tests.
    pub fn encode(&self) -> Vec<u8> {
        let mut acl = Vec::new();
        for a in &self.dacl {
            let mut body = a.mask.to_le_bytes().to_vec();
            if matches!(a.ace_type, ACE_ALLOWED_OBJECT | ACE_DENIED_OBJECT) {
                match a.object_type.as_deref().and_then(guid_from_string) {
                    Some(g) => {
                        body.extend_from_slice(&1u32.to_le_bytes());
                        body.extend_from_slice(&g);
                    }
                    None => body.extend_from_slice(&0u32.to_le_bytes()),
                }
            }
            body.extend_from_slice(&a.sid.to_bytes());
            let size = (4 + body.len()) as u16;
            acl.push(a.ace_type);
            acl.push(a.flags);
            acl.extend_from_slice(&size.to_le_bytes());
            acl.extend_from_slice(&body);
        }
        let owner = self.owner.as_ref().map(Sid::to_bytes).unwrap_or_default();
        let owner_off = if owner.is_empty() { 0 } else { 20 };
        let dacl_off = 20 + owner.len();
        let mut out = vec![1u8, 0];
        out.extend_from_slice(&0x8004u16.to_le_bytes()); // self-relative, DACL present
        out.extend_from_slice(&(owner_off as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&(dacl_off as u32).to_le_bytes());
        out.extend_from_slice(&owner);
        out.push(4);
        out.push(0);
        out.extend_from_slice(&((8 + acl.len()) as u16).to_le_bytes());
        out.extend_from_slice(&(self.dacl.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&acl);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_text_round_trip() {
        let g = guid_from_string(guids::DS_REPLICATION_GET_CHANGES_ALL).unwrap();
        assert_eq!(
            guid_to_string(&g).unwrap(),
            guids::DS_REPLICATION_GET_CHANGES_ALL
        );
        assert!(guid_from_string("zz").is_none());
    }

    #[test]
    fn encode_parse_round_trip() {
        let sd = SecurityDescriptor {
            owner: Sid::parse("S-1-5-32-544"),
            dacl: vec![
                Ace {
                    ace_type: ACE_ALLOWED,
                    flags: 0,
                    mask: RIGHT_GENERIC_ALL,
                    object_type: None,
                    sid: Sid::parse("S-1-5-18").unwrap(),
                },
                Ace {
                    ace_type: ACE_ALLOWED_OBJECT,
                    flags: 0,
                    mask: RIGHT_DS_CONTROL_ACCESS,
                    object_type: Some(guids::DS_REPLICATION_GET_CHANGES.to_string()),
                    sid: Sid::parse("S-1-5-21-1-2-3-1105").unwrap(),
                },
            ],
        };
        assert_eq!(SecurityDescriptor::parse(&sd.encode()).unwrap(), sd);
    }

    #[test]
    fn truncated_is_an_error_not_a_panic() {
        let sd = SecurityDescriptor {
            owner: Sid::parse("S-1-5-32-544"),
            dacl: vec![Ace {
                ace_type: ACE_ALLOWED,
                flags: 0,
                mask: 1,
                object_type: None,
                sid: Sid::parse("S-1-5-18").unwrap(),
            }],
        };
        let b = sd.encode();
        for n in 0..b.len() {
            let _ = SecurityDescriptor::parse(&b[..n]);
        }
        assert!(SecurityDescriptor::parse(&b[..b.len() - 3]).is_err());
    }
}
