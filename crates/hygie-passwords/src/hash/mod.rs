//! NT hashes: the only secret this crate handles. The type cannot be printed, serialised or
//! formatted: its `Debug` is redacted and it has no `Display`, `Serialize` or hex accessor.
//!
//! The rest of this module hashes and matches candidates in bulk, the audit's inner loops:
//! `lanes` (MD4 over sixteen lanes, its CPU builds, `Md4Batch`), `table` (the set of a dump's
//! distinct hashes, the parallel sort of uniform keys) and `hex` (hexadecimal decoding, eight or
//! 32 digits at a time). `NtHash` orders as a big-endian `u128` (the derived byte order, in two
//! comparisons).

mod hex;
mod lanes;
mod table;

#[cfg(target_arch = "x86_64")]
pub(crate) use hex::hex32_avx2;
pub(crate) use hex::{HIGH, ge, gt, hex32, parse_hex16};
pub(crate) use lanes::{
    Block, LANES, Lanes, Md4Batch, first_words_equal_rows, first_words_equal_rows_pair, md4_hashes,
    md4_rows, md4_rows_pair, tail_rows,
};
pub(crate) use table::{HashTable, sort_by_top16_halves};

use md4::{Digest, Md4};

/// An NT hash (MD4 of the UTF-16LE password). Never printed: `Debug` shows `NtHash(<redacted>)`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct NtHash([u8; 16]);

/// The order of the bytes (as the derived order would be), compared as one big-endian number:
/// two 64-bit comparisons instead of a byte-by-byte `memcmp` in the audit's million-hash sorts.
impl Ord for NtHash {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        u128::from_be_bytes(self.0).cmp(&u128::from_be_bytes(other.0))
    }
}

impl PartialOrd for NtHash {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// NT hashes are uniformly distributed: hashing their first eight bytes is enough, and cheaper
/// than feeding all sixteen (plus a length) to the hasher.
impl std::hash::Hash for NtHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.0[..8]);
        state.write_u64(u64::from_le_bytes(b));
    }
}

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
        NtHasher.hash_into(password, &mut buf)
    }

    /// The hash whose MD4 state words are `w` (little-endian, as MD4 outputs them).
    pub(crate) fn from_words(w: [u32; 4]) -> NtHash {
        let mut out = [0u8; 16];
        for (bytes, w) in out.chunks_exact_mut(4).zip(w) {
            bytes.copy_from_slice(&w.to_le_bytes());
        }
        NtHash(out)
    }

    /// The first MD4 state word of the hash (what `first_words_equal_rows` compares).
    pub(crate) fn first_word(&self) -> u32 {
        u32::from_le_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }

    pub(crate) fn from_bytes(b: [u8; 16]) -> NtHash {
        NtHash(b)
    }

    pub(crate) fn bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The first two bytes, big-endian: the hash's bucket in `sort_by_top16_halves`.
    #[inline]
    pub(crate) fn top16(&self) -> u16 {
        u16::from_be_bytes([self.0[0], self.0[1]])
    }

    /// The first four bytes, big-endian: the hash's place in sorted order, roughly.
    #[inline]
    pub(crate) fn lead32(&self) -> u32 {
        u32::from_be_bytes([self.0[0], self.0[1], self.0[2], self.0[3]])
    }

    /// Bytes 4..8, big-endian: independent of `lead32` (for `HashTable`'s filter).
    #[inline]
    pub(crate) fn mid32(&self) -> u32 {
        u32::from_be_bytes([self.0[4], self.0[5], self.0[6], self.0[7]])
    }

    /// Parse 32 hexadecimal digits (either case). `None` if the text is not exactly that.
    #[cfg(test)]
    pub(crate) fn parse_hex(s: &[u8]) -> Option<NtHash> {
        parse_hex16(s).map(NtHash)
    }
}

/// Hashes many short candidates fast: a password of up to 27 UTF-16 units fits, padded, in one
/// 64-byte MD4 block, which is fed straight to the md4 crate's block function (`Md4Core`),
/// skipping the buffering of the `Digest` API. Longer ones go through `Md4::digest`.
#[derive(Default)]
pub(crate) struct NtHasher;

/// Largest message (bytes) that fits in one block with its padding.
const ONE_BLOCK_MAX: usize = 55;
/// Largest message in UTF-16 units that fits in one block.
pub(crate) const ONE_BLOCK_UNITS: usize = ONE_BLOCK_MAX / 2;
/// Length of the fixed-size unit buffers of `Md4Batch::push_padded`: a one-block candidate and
/// the unit after it.
pub(crate) const PADDED: usize = ONE_BLOCK_UNITS + 1;

impl NtHasher {
    pub(crate) fn hash_into(&self, password: &str, buf: &mut Vec<u8>) -> NtHash {
        let mut block = [0u8; 64];
        let mut len = 0usize;
        for unit in password.encode_utf16().take(128) {
            if len + 2 > ONE_BLOCK_MAX {
                return Self::hash_long(password, buf);
            }
            block[len..len + 2].copy_from_slice(&unit.to_le_bytes());
            len += 2;
        }
        Self::finish_block(block, len)
    }

    #[inline]
    fn finish_block(mut block: [u8; 64], len: usize) -> NtHash {
        use md4::block_api::Md4Core;
        use md4::digest::block_api::UpdateCore;
        use md4::digest::common::hazmat::SerializableState;
        block[len] = 0x80;
        block[56..].copy_from_slice(&((len as u64) * 8).to_le_bytes());
        let mut core = Md4Core::default();
        core.update_blocks(std::slice::from_ref(&block.into()));
        // The serialised state starts with the four state words, little-endian: the digest.
        let state = core.serialize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&state[..16]);
        NtHash(out)
    }

    fn hash_long(password: &str, buf: &mut Vec<u8>) -> NtHash {
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

/// UTF-16LE bytes of a string.
#[cfg(test)]
pub(crate) fn utf16le(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
}

/// A xorshift64 step: the tests' reproducible pseudo-random numbers.
#[cfg(test)]
pub(crate) fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
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

    pub(super) fn digest_path(pw: &str) -> [u8; 16] {
        let bytes = utf16le(pw);
        let d = Md4::digest(&bytes[..bytes.len().min(256)]);
        let mut o = [0u8; 16];
        o.copy_from_slice(d.as_slice());
        o
    }

    #[test]
    fn one_block_fast_path_agrees_with_the_digest_api_at_every_length() {
        let h = NtHasher;
        let mut buf = Vec::new();
        for n in 0..140 {
            let pw: String = "aé€Z9!".chars().cycle().take(n).collect();
            assert_eq!(
                h.hash_into(&pw, &mut buf).bytes(),
                &digest_path(&pw),
                "length {n}"
            );
        }
        // Outside the BMP: surrogate pairs.
        assert_eq!(h.hash_into("😀x", &mut buf).bytes(), &digest_path("😀x"));
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
        assert!(
            NtHash::parse_hex(b"64f12cddaa88057e06a81b54e73b949").is_none(),
            "31 digits"
        );
        assert!(
            NtHash::parse_hex(b"64f12cddaa88057e06a81b54e73b949g").is_none(),
            "not hex"
        );
        assert!(
            NtHash::parse_hex(b"64f12cddaa88057e06a81b54e73b949b0").is_none(),
            "33 digits"
        );
    }
}
