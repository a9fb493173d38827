//! Hexadecimal decoding of hashes, checked and converted many digits at a time: SWAR on a
//! `u64` (eight digits), or one AVX2 register (32 digits; explicit intrinsics, since the
//! compiler scalarised the digit pairing). The dump's and the breach list's hashes go through
//! here; a table decoder is the tests' reference.

pub(crate) const ONES: u64 = 0x0101_0101_0101_0101;
pub(crate) const HIGH: u64 = 0x8080_8080_8080_8080;

/// High bit of each byte of `v` (bytes below 0x80) set when the byte is >= `m`.
#[inline]
pub(crate) fn ge(v: u64, m: u64) -> u64 {
    v.wrapping_add((0x80 - m) * ONES)
}

/// High bit of each byte of `v` (bytes below 0x80) set when the byte is > `n`.
#[inline]
pub(crate) fn gt(v: u64, n: u64) -> u64 {
    v.wrapping_add((0x7f - n) * ONES)
}

/// Eight hexadecimal digits (either case) read as a little-endian word, decoded to four bytes
/// (in text order, as a little-endian word); `None` if any is not a hex digit. Every byte is
/// checked and converted at once (SWAR): for bytes below 0x80, adding `0x80 - m` sets a byte's
/// high bit exactly when it is >= m, without carrying into the next byte.
#[inline]
pub(crate) fn hex8(x: u64) -> Option<u32> {
    let lower = x | 0x2020_2020_2020_2020;
    let digit = ge(x, 0x30) & !gt(x, 0x39);
    let letter = ge(lower, 0x61) & !gt(lower, 0x66);
    if x & HIGH != 0 || (digit | letter) & HIGH != HIGH {
        return None;
    }
    // '0'-'9' -> low nibble; 'A'-'F' / 'a'-'f' (bit 0x40 set) -> low nibble + 9.
    let nib = (x & 0x0f0f_0f0f_0f0f_0f0f) + ((x >> 6) & ONES) * 9;
    let t = ((nib << 4) | (nib >> 8)) & 0x00ff_00ff_00ff_00ff;
    let t = (t | (t >> 8)) & 0x0000_ffff_0000_ffff;
    Some((t | (t >> 16)) as u32)
}

#[cfg(test)]
const INVALID: u8 = 0xff;

#[cfg(test)]
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

/// Decode exactly 32 hex digits into 16 bytes (`hex32`, in byte order).
#[inline]
pub(crate) fn parse_hex16(s: &[u8]) -> Option<[u8; 16]> {
    hex32(s.try_into().ok()?).map(u128::to_be_bytes)
}

/// 32 hexadecimal digits (either case) as a big-endian number; `None` if any is not one. Eight
/// digits at a time in a general-purpose register (see `hex8`).
#[inline(always)]
pub(crate) fn hex32(h: &[u8; 32]) -> Option<u128> {
    let (words, _) = h.as_chunks::<8>();
    let mut hash = 0u128;
    for w in words {
        hash = (hash << 32) | u128::from(hex8(u64::from_le_bytes(*w))?.swap_bytes());
    }
    Some(hash)
}

/// `hex32` with AVX2: the 32 digits checked and decoded in one register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) fn hex32_avx2(h: &[u8; 32]) -> Option<u128> {
    use std::arch::x86_64::*;
    let (words, _) = h.as_chunks::<8>();
    let word = |i: usize| i64::from_le_bytes(words[i]);
    let v = _mm256_set_epi64x(word(3), word(2), word(1), word(0));
    let digit = _mm256_sub_epi8(v, _mm256_set1_epi8(b'0' as i8));
    let letter = _mm256_sub_epi8(
        _mm256_or_si256(v, _mm256_set1_epi8(0x20)),
        _mm256_set1_epi8(b'a' as i8),
    );
    // Unsigned "x <= n" as min(x, n) == x.
    let is_digit = _mm256_cmpeq_epi8(_mm256_min_epu8(digit, _mm256_set1_epi8(9)), digit);
    let is_letter = _mm256_cmpeq_epi8(_mm256_min_epu8(letter, _mm256_set1_epi8(5)), letter);
    if _mm256_movemask_epi8(_mm256_or_si256(is_digit, is_letter)) != -1 {
        return None;
    }
    let nibbles = _mm256_blendv_epi8(
        _mm256_add_epi8(letter, _mm256_set1_epi8(10)),
        digit,
        is_digit,
    );
    // Each pair of digits to a 16-bit 16 * first + second, then to bytes in text order.
    let pairs = _mm256_maddubs_epi16(nibbles, _mm256_set1_epi16(0x0110));
    let bytes = _mm256_permute4x64_epi64::<0b1000>(_mm256_packus_epi16(pairs, pairs));
    let bytes = _mm256_castsi256_si128(bytes);
    let hi = _mm_extract_epi64::<0>(bytes) as u64;
    let lo = _mm_extract_epi64::<1>(bytes) as u64;
    Some((u128::from(hi.swap_bytes()) << 64) | u128::from(lo.swap_bytes()))
}

/// `parse_hex16` digit by digit, through a table: the reference the SWAR version is tested
/// against.
#[cfg(test)]
fn parse_hex16_table(s: &[u8]) -> Option<[u8; 16]> {
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
    use super::super::xorshift;
    use super::*;

    /// Both builds of `hex32` (and `parse_hex16`, built on it) against the table reference.
    #[test]
    fn both_hex_decoders_agree_on_every_byte_in_every_place() {
        let valid = *b"0123456789ABCDEFabcdef0123456789";
        let want = parse_hex16_table(&valid).map(u128::from_be_bytes);
        assert_eq!(hex32(&valid), want);
        assert!(want.is_some());
        let mut cases = Vec::new();
        for at in 0..32 {
            for byte in 0..=255u8 {
                let mut h = valid;
                h[at] = byte;
                cases.push(h);
            }
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..10_000 {
            let mut h = [0u8; 32];
            for b in &mut h {
                *b = b"0123456789abcdefABCDEF"[(xorshift(&mut x) % 22) as usize];
            }
            cases.push(h);
        }
        for h in &cases {
            let want = parse_hex16_table(h).map(u128::from_be_bytes);
            assert_eq!(hex32(h), want, "{h:?}");
            assert_eq!(parse_hex16(h), want.map(u128::to_be_bytes), "{h:?}");
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU has AVX2, checked just above.
                #[allow(unsafe_code)]
                let got = unsafe { hex32_avx2(h) };
                assert_eq!(got, want, "{h:?}");
            }
        }
    }

    #[test]
    fn swar_hex_agrees_with_the_table_on_every_byte() {
        let base = *b"0123456789abcdefABCDEF0123456789";
        assert_eq!(parse_hex16(&base), parse_hex16_table(&base));
        assert!(parse_hex16(&base).is_some());
        for at in [0, 7, 8, 15, 31] {
            for byte in 0..=255u8 {
                let mut s = base;
                s[at] = byte;
                assert_eq!(
                    parse_hex16(&s),
                    parse_hex16_table(&s),
                    "byte {byte} at {at}"
                );
            }
        }
    }
}
