//! Windows security identifiers (MS-DTYP 2.4.2): binary form as stored in `objectSid`, text form
//! `S-1-5-21-...`.

use std::fmt;

/// A security identifier.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sid {
    pub authority: u64,
    pub subs: Vec<u32>,
}

impl Sid {
    /// Parse the binary form: revision 1, sub-authority count, 6-byte big-endian authority,
    /// then the little-endian 32-bit sub-authorities. Returns `None` on a malformed value.
    pub fn from_bytes(b: &[u8]) -> Option<Sid> {
        Self::from_prefix(b).map(|(s, _)| s)
    }

    /// Parse a SID at the start of `b`, returning it with its length in bytes.
    pub fn from_prefix(b: &[u8]) -> Option<(Sid, usize)> {
        if b.len() < 8 || b[0] != 1 {
            return None;
        }
        let count = b[1] as usize;
        let len = 8 + 4 * count;
        if b.len() < len || count > 15 {
            return None;
        }
        let mut authority = 0u64;
        for &x in &b[2..8] {
            authority = (authority << 8) | u64::from(x);
        }
        let subs = (0..count)
            .map(|i| {
                let o = 8 + 4 * i;
                u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]])
            })
            .collect();
        Some((Sid { authority, subs }, len))
    }

    /// Parse the text form `S-1-<authority>-<sub>...`.
    pub fn parse(s: &str) -> Option<Sid> {
        let mut it = s.trim().split('-');
        if !it.next()?.eq_ignore_ascii_case("S") || it.next()? != "1" {
            return None;
        }
        let authority = it.next()?.parse().ok()?;
        let subs: Option<Vec<u32>> = it.map(|p| p.parse().ok()).collect();
        let subs = subs?;
        if subs.len() > 15 {
            return None;
        }
        Some(Sid { authority, subs })
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = vec![1u8, self.subs.len() as u8];
        v.extend_from_slice(&self.authority.to_be_bytes()[2..8]);
        for s in &self.subs {
            v.extend_from_slice(&s.to_le_bytes());
        }
        v
    }

    /// The relative identifier: the last sub-authority.
    pub fn rid(&self) -> Option<u32> {
        self.subs.last().copied()
    }

    /// The SID without its RID (the domain SID of a domain account).
    pub fn parent(&self) -> Option<Sid> {
        if self.subs.is_empty() {
            return None;
        }
        Some(Sid {
            authority: self.authority,
            subs: self.subs[..self.subs.len() - 1].to_vec(),
        })
    }

    /// `domain SID + rid`.
    pub fn child(&self, rid: u32) -> Sid {
        let mut subs = self.subs.clone();
        subs.push(rid);
        Sid {
            authority: self.authority,
            subs,
        }
    }

    /// A well-known builtin SID `S-1-5-32-<rid>`.
    pub fn builtin(rid: u32) -> Sid {
        Sid {
            authority: 5,
            subs: vec![32, rid],
        }
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "S-1-{}", self.authority)?;
        for s in &self.subs {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

/// Well-known SIDs that rules name.
pub mod well_known {
    pub const EVERYONE: &str = "S-1-1-0";
    pub const ANONYMOUS: &str = "S-1-5-7";
    pub const AUTHENTICATED_USERS: &str = "S-1-5-11";
    pub const ENTERPRISE_DCS: &str = "S-1-5-9";
    pub const LOCAL_SYSTEM: &str = "S-1-5-18";
    pub const CREATOR_OWNER: &str = "S-1-3-0";
    pub const SELF: &str = "S-1-5-10";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_binary_and_text() {
        let s = Sid::parse("S-1-5-21-1004336348-1177238915-682003330-512").unwrap();
        let b = s.to_bytes();
        assert_eq!(b.len(), 28);
        assert_eq!(Sid::from_bytes(&b).unwrap(), s);
        assert_eq!(
            s.to_string(),
            "S-1-5-21-1004336348-1177238915-682003330-512"
        );
        assert_eq!(s.rid(), Some(512));
        assert_eq!(s.parent().unwrap().child(513).rid(), Some(513));
        assert_eq!(Sid::builtin(544).to_string(), "S-1-5-32-544");
    }

    #[test]
    fn rejects_malformed() {
        assert!(Sid::from_bytes(&[1, 5, 0]).is_none());
        assert!(Sid::from_bytes(&[2, 0, 0, 0, 0, 0, 0, 5]).is_none());
        assert!(Sid::parse("S-1-x").is_none());
        assert!(Sid::parse("X-1-5").is_none());
    }
}
