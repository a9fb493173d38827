//! NT hashes: the only secret this crate handles. The type cannot be printed, serialised or
//! formatted: its `Debug` is redacted and it has no `Display`, `Serialize` or hex accessor.

use md4::{Digest, Md4};

/// An NT hash (MD4 of the UTF-16LE password). Never printed: `Debug` shows `NtHash(<redacted>)`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NtHash([u8; 16]);

impl std::fmt::Debug for NtHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NtHash(<redacted>)")
    }
}

/// NT hash of the empty password.
pub const EMPTY_NT: NtHash = NtHash([
    0x31, 0xd6, 0xcf, 0xe0, 0xd1, 0x6a, 0xe9, 0x31, 0xb7, 0x3c, 0x59, 0xd7, 0xe0, 0xc0, 0x89, 0xc0,
]);

/// LM hash of the empty password: an account whose LM field holds this has no LM hash stored.
pub(crate) const EMPTY_LM: [u8; 16] = [
    0xaa, 0xd3, 0xb4, 0x35, 0xb5, 0x14, 0x04, 0xee, 0xaa, 0xd3, 0xb4, 0x35, 0xb5, 0x14, 0x04, 0xee,
];

impl NtHash {
    /// The NT hash of a password. Passwords longer than 128 UTF-16 units are truncated, as Windows
    /// does not accept longer ones.
    pub fn of_password(password: &str) -> NtHash {
        let mut buf = Vec::with_capacity(password.len() * 2);
        NtHasher::default().hash_into(password, &mut buf)
    }

    pub(crate) fn from_bytes(b: [u8; 16]) -> NtHash {
        NtHash(b)
    }

    pub(crate) fn bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parse 32 hexadecimal digits (either case). `None` if the text is not exactly that.
    #[cfg(test)]
    pub(crate) fn parse_hex(s: &[u8]) -> Option<NtHash> {
        parse_hex16(s).map(NtHash)
    }
}

/// Reusable hasher state for hashing many candidates without allocating.
#[derive(Default)]
pub(crate) struct NtHasher;

impl NtHasher {
    pub(crate) fn hash_into(&self, password: &str, buf: &mut Vec<u8>) -> NtHash {
        buf.clear();
        for unit in password.encode_utf16().take(128) {
            buf.extend_from_slice(&unit.to_le_bytes());
        }
        let digest = Md4::digest(buf.as_slice());
        let mut out = [0u8; 16];
        out.copy_from_slice(digest.as_slice());
        NtHash(out)
    }
}

const INVALID: u8 = 0xff;

const HEX: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Decode exactly 32 hex digits into 16 bytes.
#[inline]
pub(crate) fn parse_hex16(s: &[u8]) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut bad = 0u8;
    for (i, o) in out.iter_mut().enumerate() {
        let hi = HEX[s[2 * i] as usize];
        let lo = HEX[s[2 * i + 1] as usize];
        bad |= (hi | lo) & 0xf0;
        *o = (hi << 4) | (lo & 0x0f);
    }
    if bad != 0 { None } else { Some(out) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8; 16]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn known_nt_hashes() {
        // Values checked against Samba's stored unicodePwd (see the AD reference).
        for (pw, want) in [
            ("", "31d6cfe0d16ae931b73c59d7e0c089c0"),
            ("Password1", "64f12cddaa88057e06a81b54e73b949b"),
            ("password", "8846f7eaee8fb117ad06bdd830b7586c"),
        ] {
            assert_eq!(hex(NtHash::of_password(pw).bytes()), want, "NT({pw:?})");
        }
        assert_eq!(NtHash::of_password(""), EMPTY_NT);
    }

    #[test]
    fn non_ascii_passwords_hash_as_utf16() {
        // "é" is U+00E9: UTF-16LE e9 00, not the UTF-8 bytes.
        let manual = {
            let d = Md4::digest([0xe9u8, 0x00]);
            let mut o = [0u8; 16];
            o.copy_from_slice(d.as_slice());
            o
        };
        assert_eq!(NtHash::of_password("é").bytes(), &manual);
    }

    #[test]
    fn debug_never_shows_bytes() {
        let h = NtHash::of_password("Password1");
        let shown = format!("{h:?} {:?}", Some(h));
        assert!(!shown.contains("64f12cdd"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn hex_parsing() {
        let h = NtHash::parse_hex(b"64F12CDDAA88057E06A81B54E73B949B").expect("upper case hex");
        assert_eq!(h, NtHash::of_password("Password1"));
        assert!(NtHash::parse_hex(b"64f12cddaa88057e06a81b54e73b949").is_none(), "31 digits");
        assert!(NtHash::parse_hex(b"64f12cddaa88057e06a81b54e73b949g").is_none(), "not hex");
        assert!(NtHash::parse_hex(b"64f12cddaa88057e06a81b54e73b949b0").is_none(), "33 digits");
    }
}
