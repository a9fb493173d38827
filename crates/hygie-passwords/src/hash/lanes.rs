//! MD4 over sixteen 32-bit lanes: the bulk hashing of candidates.
//!
//! MD4 is written here from RFC 1320 over `[u32; 16]` per state word, which the compiler
//! vectorises; each entry point has a portable body compiled again for AVX2 and AVX-512F and
//! chosen at run time (with AVX-512 the sixteen lanes are one register, a rotation one `vprold`,
//! each boolean function one `vpternlogd`). The 48 steps are written with literal message
//! indices so that they compile straight, without spills. Blocks are taken row by row (word `w`
//! of every lane) from a closure compiled into the vector build itself: a candidate derived from
//! one word is its stem (`Block`) ORed with a precomputed tail (`tail_rows`: suffix, `0x80`, bit
//! length), so the block never goes through memory lane by lane. `Md4Batch` queues arbitrary
//! one-block candidates with a tag; longer ones fall back to the `md4` crate. Tests check every
//! build against the portable one and every path against `Md4::digest` at every length.

use super::{NtHash, NtHasher, ONE_BLOCK_MAX, ONE_BLOCK_UNITS, PADDED};
use md4::{Digest, Md4};

/// The padded MD4 block of a candidate of at most `ONE_BLOCK_UNITS` UTF-16 units, as its
/// sixteen little-endian message words. Candidates derived from one word (a user name and its
/// suffixes) are built by patching a copy of the word's block, which costs a few operations
/// instead of laying out the whole candidate again.
#[derive(Clone, Copy)]
pub(crate) struct Block([u32; 16]);

impl Block {
    /// The block of `units[..n]` (`n` at most `ONE_BLOCK_UNITS`; units from `n` on are ignored).
    #[inline]
    pub(crate) fn new(units: &[u16; PADDED], n: usize) -> Block {
        debug_assert!(n <= ONE_BLOCK_UNITS);
        let mut u = [0u32; PADDED];
        for (i, (d, s)) in u.iter_mut().zip(units).enumerate() {
            *d = if i < n {
                u32::from(*s)
            } else if i == n {
                0x80
            } else {
                0
            };
        }
        let mut w = [0u32; 16];
        for (k, word) in w.iter_mut().take(14).enumerate() {
            *word = u[2 * k] | (u[2 * k + 1] << 16);
        }
        w[14] = (n as u32) * 16;
        Block(w)
    }

    /// The units `units[..n]` without terminator nor length: a stem that endings laid out after
    /// `n` units are ORed into (the dictionary's `Endings`).
    #[inline]
    pub(crate) fn stem(units: &[u16; PADDED], n: usize) -> Block {
        let mut w = [0u32; 16];
        for (k, word) in w.iter_mut().take(14).enumerate() {
            let unit = |i: usize| if i < n { u32::from(units[i]) } else { 0 };
            *word = unit(2 * k) | (unit(2 * k + 1) << 16);
        }
        Block(w)
    }

    /// The ASCII bytes (zero-padded) as a stem (see `stem`): the user-name forms.
    #[inline]
    pub(crate) fn ascii_stem(bytes: &[u8; 32]) -> Block {
        let mut w = [0u32; 16];
        // Four bytes at a time spread into two words of two 16-bit units each.
        for (k, pair) in w[..14].chunks_exact_mut(2).enumerate() {
            let mut four = [0u8; 4];
            four.copy_from_slice(&bytes[4 * k..4 * k + 4]);
            let t = u64::from(u32::from_le_bytes(four));
            let t = (t | (t << 16)) & 0x0000_ffff_0000_ffff;
            let t = (t | (t << 8)) & 0x00ff_00ff_00ff_00ff;
            pair[0] = t as u32;
            pair[1] = (t >> 32) as u32;
        }
        Block(w)
    }

    /// The block's sixteen message words.
    #[inline]
    pub(crate) fn words(&self) -> &[u32; 16] {
        &self.0
    }

    #[cfg(test)]
    pub(crate) fn from_words(w: [u32; 16]) -> Block {
        Block(w)
    }

    /// This block with unit `at` replaced (`at` below 28).
    pub(crate) fn with_unit(&self, at: usize, unit: u16) -> Block {
        let mut b = *self;
        b.set_unit(at, unit);
        b
    }

    /// The units the block holds (up to its `0x80` terminator), for tests.
    #[cfg(test)]
    pub(crate) fn units(&self) -> Vec<u16> {
        let n = (self.0[14] / 16) as usize;
        (0..n)
            .map(|i| (self.0[i / 2] >> (16 * (i as u32 & 1))) as u16)
            .collect()
    }

    #[inline]
    fn set_unit(&mut self, at: usize, unit: u16) {
        let shift = 16 * (at as u32 & 1);
        // Positions past the block are a caller's bug (they check the length): ignored rather
        // than a panic.
        if let Some(w) = self.0[..14].get_mut(at / 2) {
            *w = (*w & !(0xffff << shift)) | (u32::from(unit) << shift);
        }
    }
}

/// Candidates hashed together by `Md4Batch`: sixteen 32-bit lanes, which the compiler maps onto
/// SIMD registers (two AVX2 registers, four SSE2 ones). An MD4 step is a chain of dependent
/// operations, so one register's worth of lanes waits on latency; two independent registers per
/// state word keep the SIMD units busy (measured on the 1 M-account audit: a fifth less time in
/// MD4 than with 8 lanes).
pub(crate) const LANES: usize = 16;

pub(crate) type Lanes = [u32; LANES];

/// MD4 (RFC 1320) of one padded 64-byte block in each of `LANES` lanes at once, taken row by
/// row: `row(w)` is message word `w` of every lane. The rows come from a closure compiled into
/// the same function as the hashing, so that each build keeps them in registers, where a block
/// written lane by lane to memory and read back as whole rows stalls on every row (the processor
/// cannot forward sixteen small stores to one wide load). Returns the state words (a, b, c, d:
/// `NtHash::from_words`) of every lane.
///
/// Each function below has a portable body, compiled again for AVX2 (eight lanes a 256-bit
/// register instead of four a 128-bit one) and for AVX-512F (the sixteen lanes one register,
/// rotations one `vprold`, each of MD4's boolean functions one `vpternlogd`), chosen at run time.
pub(crate) fn md4_rows(row: impl Fn(usize) -> Lanes) -> [Lanes; 4] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: `md4_rows_avx512` only needs AVX-512F, which the CPU was just found to support.
        #[allow(unsafe_code)]
        return unsafe { md4_rows_avx512(row) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `md4_rows_avx2` only needs AVX2, which the CPU was just found to support.
        #[allow(unsafe_code)]
        return unsafe { md4_rows_avx2(row) };
    }
    md4_lanes_portable::<true>(&rows(row))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn md4_rows_avx512(row: impl Fn(usize) -> Lanes) -> [Lanes; 4] {
    md4_lanes_portable::<true>(&rows(row))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn md4_rows_avx2(row: impl Fn(usize) -> Lanes) -> [Lanes; 4] {
    md4_lanes_portable::<true>(&rows(row))
}

/// The lanes of the block of rows `row(0..16)` (as in `md4_rows`) whose hash starts with their
/// `expected` first word, as a bit mask: only the first word is computed (the last three of
/// MD4's 48 steps only change the other words), and compared in the vector build (one
/// instruction with AVX-512).
pub(crate) fn first_words_equal_rows(row: impl Fn(usize) -> Lanes, expected: &Lanes) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: as in `md4_rows`.
        #[allow(unsafe_code)]
        return unsafe { first_words_equal_rows_avx512(row, expected) };
    }
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: as in `md4_rows`.
        #[allow(unsafe_code)]
        return unsafe { first_words_equal_rows_avx2(row, expected) };
    }
    first_words_equal_portable(&rows(row), expected)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn first_words_equal_rows_avx512(row: impl Fn(usize) -> Lanes, expected: &Lanes) -> u32 {
    let [first, ..] = md4_lanes_portable::<false>(&rows(row));
    lanes_equal_avx512(&first, expected)
}

/// The lanes where `x` and `y` are equal, as a bit mask: one comparison into a mask register
/// (the portable loop was compiled to that comparison, then to a shift, a move and an OR for
/// each of the sixteen bits).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn lanes_equal_avx512(x: &Lanes, y: &Lanes) -> u32 {
    use std::arch::x86_64::{__m512i, _mm512_cmpeq_epi32_mask, _mm512_set_epi32};
    let v = |a: &Lanes| -> __m512i {
        let a = a.map(|w| w as i32);
        _mm512_set_epi32(
            a[15], a[14], a[13], a[12], a[11], a[10], a[9], a[8], a[7], a[6], a[5], a[4], a[3],
            a[2], a[1], a[0],
        )
    };
    u32::from(_mm512_cmpeq_epi32_mask(v(x), v(y)))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn first_words_equal_rows_avx2(row: impl Fn(usize) -> Lanes, expected: &Lanes) -> u32 {
    first_words_equal_portable(&rows(row), expected)
}

/// `md4_rows` of two blocks (`row0(w)`, `row1(w)`: row `w` of each), hashed together with
/// AVX-512 as in `first_words_equal_rows_pair`.
pub(crate) fn md4_rows_pair(
    row0: impl Fn(usize) -> Lanes,
    row1: impl Fn(usize) -> Lanes,
) -> [[Lanes; 4]; 2] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: as in `md4_rows`.
        #[allow(unsafe_code)]
        return unsafe { md4_rows_pair_avx512(row0, row1) };
    }
    // As in `first_words_equal_rows_pair`: one block at a time.
    [md4_rows(row0), md4_rows(row1)]
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn md4_rows_pair_avx512(
    row0: impl Fn(usize) -> Lanes,
    row1: impl Fn(usize) -> Lanes,
) -> [[Lanes; 4]; 2] {
    md4_lanes_n::<2, true>(&[rows(row0), rows(row1)])
}

/// `first_words_equal_rows` of two blocks (`row0(w)`, `row1(w)`: row `w` of each). With
/// AVX-512 they are hashed step by step together: one block's MD4 is a chain of dependent
/// operations that leaves the vector units waiting, and two independent chains fill them (the
/// user-name check of a million accounts on one thread: 138 ms one name at a time, 103 ms two
/// at a time). The rows are built inside, from closures, for the reason given at `md4_rows`.
pub(crate) fn first_words_equal_rows_pair(
    row0: impl Fn(usize) -> Lanes,
    row1: impl Fn(usize) -> Lanes,
    expected: &[Lanes; 2],
) -> [u32; 2] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: as in `md4_rows`.
        #[allow(unsafe_code)]
        return unsafe { first_words_equal_pair_avx512(row0, row1, expected) };
    }
    // Without AVX-512 two blocks' rows and states do not fit the vector registers: one block
    // at a time.
    [
        first_words_equal_rows(row0, &expected[0]),
        first_words_equal_rows(row1, &expected[1]),
    ]
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn first_words_equal_pair_avx512(
    row0: impl Fn(usize) -> Lanes,
    row1: impl Fn(usize) -> Lanes,
    expected: &[Lanes; 2],
) -> [u32; 2] {
    let [s0, s1] = md4_lanes_n::<2, false>(&[rows(row0), rows(row1)]);
    [
        lanes_equal_avx512(&s0[0], &expected[0]),
        lanes_equal_avx512(&s1[0], &expected[1]),
    ]
}

/// The block of rows `row(0..16)`, as a plain loop: `std::array::from_fn` is not always
/// inlined into the vector builds, and then builds the block in memory.
#[inline(always)]
fn rows(row: impl Fn(usize) -> Lanes) -> [Lanes; 16] {
    let mut m = [[0u32; LANES]; 16];
    for (w, r) in m.iter_mut().enumerate() {
        *r = row(w);
    }
    m
}

#[inline(always)]
fn first_words_equal_portable(m: &[Lanes; 16], expected: &Lanes) -> u32 {
    const { assert!(LANES <= 32) };
    let [first, ..] = md4_lanes_portable::<false>(m);
    let mut same = 0u32;
    for (l, (x, want)) in first.iter().zip(expected).enumerate() {
        same |= u32::from(x == want) << l;
    }
    same
}

#[inline(always)]
fn md4_lanes_portable<const FULL: bool>(m: &[Lanes; 16]) -> [Lanes; 4] {
    let [state] = md4_lanes_n::<1, FULL>(std::array::from_ref(m));
    state
}

/// `md4_lanes_portable` of `N` blocks of lanes, step by step together: the blocks' chains of
/// dependent operations are independent, so the processor overlaps them.
#[inline(always)]
fn md4_lanes_n<const N: usize, const FULL: bool>(m: &[[Lanes; 16]; N]) -> [[Lanes; 4]; N] {
    const INIT: [u32; 4] = [0x6745_2301, 0xefcd_ab89, 0x98ba_dcfe, 0x1032_5476];
    let mut a: [Lanes; N] = [[INIT[0]; LANES]; N];
    let mut b: [Lanes; N] = [[INIT[1]; LANES]; N];
    let mut c: [Lanes; N] = [[INIT[2]; LANES]; N];
    let mut d: [Lanes; N] = [[INIT[3]; LANES]; N];
    macro_rules! step {
        ($a:ident, $b:ident, $c:ident, $d:ident, $k:literal, $s:literal, $add:expr, $f:expr) => {
            for j in 0..N {
                for l in 0..LANES {
                    $a[j][l] = $a[j][l]
                        .wrapping_add(($f)($b[j][l], $c[j][l], $d[j][l]))
                        .wrapping_add(m[j][$k][l])
                        .wrapping_add($add)
                        .rotate_left($s);
                }
            }
        };
    }
    // Four steps; every message index and shift is a literal, so that the 48 steps are laid out
    // straight, without index arithmetic or bounds checks (written as loops over a table of
    // indices, the compiler kept a loop with the state spilled to the stack: several times
    // slower).
    macro_rules! quad {
        ($add:expr, $f:expr, [$k0:literal, $k1:literal, $k2:literal, $k3:literal], [$s0:literal, $s1:literal, $s2:literal, $s3:literal]) => {
            step!(a, b, c, d, $k0, $s0, $add, $f);
            step!(d, a, b, c, $k1, $s1, $add, $f);
            step!(c, d, a, b, $k2, $s2, $add, $f);
            step!(b, c, d, a, $k3, $s3, $add, $f);
        };
    }
    let f = |x: u32, y: u32, z: u32| z ^ (x & (y ^ z));
    quad!(0, f, [0, 1, 2, 3], [3, 7, 11, 19]);
    quad!(0, f, [4, 5, 6, 7], [3, 7, 11, 19]);
    quad!(0, f, [8, 9, 10, 11], [3, 7, 11, 19]);
    quad!(0, f, [12, 13, 14, 15], [3, 7, 11, 19]);
    let g = |x: u32, y: u32, z: u32| (x & y) | (z & (x | y));
    const K2: u32 = 0x5a82_7999;
    quad!(K2, g, [0, 4, 8, 12], [3, 5, 9, 13]);
    quad!(K2, g, [1, 5, 9, 13], [3, 5, 9, 13]);
    quad!(K2, g, [2, 6, 10, 14], [3, 5, 9, 13]);
    quad!(K2, g, [3, 7, 11, 15], [3, 5, 9, 13]);
    let h = |x: u32, y: u32, z: u32| x ^ y ^ z;
    const K3: u32 = 0x6ed9_eba1;
    quad!(K3, h, [0, 8, 4, 12], [3, 9, 11, 15]);
    quad!(K3, h, [2, 10, 6, 14], [3, 9, 11, 15]);
    quad!(K3, h, [1, 9, 5, 13], [3, 9, 11, 15]);
    step!(a, b, c, d, 3, 3, K3, h);
    if FULL {
        step!(d, a, b, c, 11, 9, K3, h);
        step!(c, d, a, b, 7, 11, K3, h);
        step!(b, c, d, a, 15, 15, K3, h);
    }
    for j in 0..N {
        for l in 0..LANES {
            a[j][l] = a[j][l].wrapping_add(INIT[0]);
            b[j][l] = b[j][l].wrapping_add(INIT[1]);
            c[j][l] = c[j][l].wrapping_add(INIT[2]);
            d[j][l] = d[j][l].wrapping_add(INIT[3]);
        }
    }
    let mut out = [[[0u32; LANES]; 4]; N];
    for j in 0..N {
        out[j] = [a[j], b[j], c[j], d[j]];
    }
    out
}

/// The MD4 words that `ending` adds after a stem of `n` units (`n + ending.len()` at most
/// `ONE_BLOCK_UNITS`, which callers check): its units, the `0x80` terminator and the bit length.
/// ORed with the stem's words (`Block::stem`), they make the candidate's block.
pub(crate) fn tail_words(n: usize, ending: &[u16]) -> [u32; 16] {
    let mut units = [0u16; 2 * 14];
    let end = n + ending.len();
    if let Some(to) = units.get_mut(n..end) {
        to.copy_from_slice(ending);
    }
    if let Some(terminator) = units.get_mut(end) {
        *terminator = 0x80;
    }
    let mut words = [0u32; 16];
    for (word, pair) in words.iter_mut().zip(units.chunks_exact(2)) {
        *word = u32::from(pair[0]) | (u32::from(pair[1]) << 16);
    }
    words[14] = (end as u32) * 16;
    words
}

/// The tails (`tail_words`) of up to `LANES` endings after a stem of `n` units, as rows of
/// lanes: lane `l` holds `endings[l]`'s, the lanes past them nothing. A stem's word ORed into
/// every lane of a row gives that row of the candidates' blocks.
pub(crate) fn tail_rows(n: usize, endings: &[&[u16]]) -> [Lanes; 16] {
    let lanes: Vec<[u32; 16]> = endings.iter().map(|e| tail_words(n, e)).collect();
    std::array::from_fn(|w| std::array::from_fn(|l| lanes.get(l).map_or(0, |lane| lane[w])))
}

/// The whole MD4 hashes of the `LANES` blocks of `m` (`m[w][l]`: word `w` of lane `l`).
pub(crate) fn md4_hashes(m: &[Lanes; 16]) -> [NtHash; LANES] {
    let [a, b, c, d] = md4_rows(|w| m[w]);
    std::array::from_fn(|l| NtHash::from_words([a[l], b[l], c[l], d[l]]))
}

/// Hashes many short candidates `LANES` at a time. Each candidate carries a tag; `done(tag,
/// hash)` is called once per candidate, in batches (call `finish` at the end). Candidates longer
/// than one block (over 27 UTF-16 units) are hashed on their own, straight away.
///
/// Built with `expecting`, it is for candidates each compared with one known hash (`expect`):
/// `done` is then called only for the candidates whose hash starts with the expected hash's
/// first word (all the others differ from it), found with one vector comparison per batch.
pub(crate) struct Md4Batch<T: Copy + Default> {
    words: [Lanes; 16],
    tags: [T; LANES],
    n: usize,
    long: Vec<u8>,
    filtered: bool,
    expect: u32,
    /// First word of the expected hash of each lane (with `filtered`).
    expected: Lanes,
}

impl<T: Copy + Default> Md4Batch<T> {
    pub(crate) fn new() -> Self {
        Md4Batch {
            words: [[0; LANES]; 16],
            tags: [T::default(); LANES],
            n: 0,
            long: Vec::new(),
            filtered: false,
            expect: 0,
            expected: [0; LANES],
        }
    }

    /// A batch whose `done` is called only for candidates that may equal their expected hash
    /// (see `expect`).
    pub(crate) fn expecting() -> Self {
        Md4Batch {
            filtered: true,
            ..Self::new()
        }
    }

    /// The hash the candidates queued from now on are compared with (`expecting` batches).
    #[inline]
    pub(crate) fn expect(&mut self, h: &NtHash) {
        self.expect = h.first_word();
    }

    /// Queue a password given as UTF-16 units (truncated at 128 units, as Windows does). The
    /// common case, up to 27 units, goes into the lanes without an intermediate byte block:
    /// callers that derive many candidates from one word build them as units in a reused buffer.
    #[inline]
    pub(crate) fn push_units(&mut self, units: &[u16], tag: T, done: &mut impl FnMut(T, NtHash)) {
        if units.len() > ONE_BLOCK_UNITS {
            self.long.clear();
            for u in units.iter().take(128) {
                self.long.extend_from_slice(&u.to_le_bytes());
            }
            let d = Md4::digest(&self.long);
            let mut out = [0u8; 16];
            out.copy_from_slice(d.as_slice());
            done(tag, NtHash(out));
            return;
        }
        let mut padded = [0u16; PADDED];
        padded[..units.len()].copy_from_slice(units);
        self.push_words(Block::new(&padded, units.len()).words(), tag, done);
    }

    /// Tags the next lane, whose words are written, and hashes the batch once it is full.
    #[inline]
    fn commit(&mut self, tag: T, done: &mut impl FnMut(T, NtHash)) {
        self.tags[self.n] = tag;
        self.expected[self.n] = self.expect;
        self.n += 1;
        if self.n == LANES {
            self.flush(done);
        }
    }

    #[inline]
    fn push_words(&mut self, words: &[u32; 16], tag: T, done: &mut impl FnMut(T, NtHash)) {
        let lane = self.n;
        for (w, &word) in words.iter().enumerate() {
            self.words[w][lane] = word;
        }
        self.commit(tag, done);
    }

    /// Queue a password given as text (UTF-16LE encoded here, truncated at 128 units).
    #[inline]
    pub(crate) fn push_str(&mut self, password: &str, tag: T, done: &mut impl FnMut(T, NtHash)) {
        if password.is_ascii() && 2 * password.len() <= ONE_BLOCK_MAX {
            self.push_ascii(password.as_bytes(), tag, done);
            return;
        }
        let mut block = [0u8; 64];
        let mut len = 0usize;
        for unit in password.encode_utf16().take(128) {
            if len + 2 > ONE_BLOCK_MAX {
                let h = NtHasher::hash_long(password, &mut self.long);
                done(tag, h);
                return;
            }
            block[len..len + 2].copy_from_slice(&unit.to_le_bytes());
            len += 2;
        }
        self.push_bytes(block, len, tag, done);
    }

    /// An ASCII password of up to 27 characters: each character is one UTF-16 unit (the byte,
    /// then a zero byte), so the block's words are built straight from pairs of characters.
    #[inline]
    fn push_ascii(&mut self, s: &[u8], tag: T, done: &mut impl FnMut(T, NtHash)) {
        let lane = self.n;
        let n = s.len();
        let unit = |i: usize| match s.get(i) {
            Some(&c) => u32::from(c),
            None if i == n => 0x80,
            None => 0,
        };
        for w in 0..14 {
            self.words[w][lane] = unit(2 * w) | (unit(2 * w + 1) << 16);
        }
        self.words[14][lane] = (n as u32) * 16;
        self.words[15][lane] = 0;
        self.commit(tag, done);
    }

    #[inline]
    fn push_bytes(
        &mut self,
        mut block: [u8; 64],
        len: usize,
        tag: T,
        done: &mut impl FnMut(T, NtHash),
    ) {
        block[len] = 0x80;
        block[56..].copy_from_slice(&((len as u64) * 8).to_le_bytes());
        let mut words = [0u32; 16];
        for (w, word) in words.iter_mut().zip(block.chunks_exact(4)) {
            *w = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
        }
        self.push_words(&words, tag, done);
    }

    /// Hash what is queued.
    pub(crate) fn finish(&mut self, done: &mut impl FnMut(T, NtHash)) {
        if self.n > 0 {
            self.flush(done);
        }
    }

    fn flush(&mut self, done: &mut impl FnMut(T, NtHash)) {
        const { assert!(LANES <= 32) };
        let mut lanes = ((1u64 << self.n) - 1) as u32;
        if self.filtered {
            lanes &= first_words_equal_rows(|w| self.words[w], &self.expected);
            if lanes == 0 {
                self.n = 0;
                return;
            }
        }
        // Whole hashes: every lane, or the rare lanes whose first word matched.
        let [a, b, c, d] = md4_rows(|w| self.words[w]);
        while lanes != 0 {
            let l = lanes.trailing_zeros() as usize;
            lanes &= lanes - 1;
            done(self.tags[l], NtHash::from_words([a[l], b[l], c[l], d[l]]));
        }
        self.n = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::digest_path;
    use super::super::xorshift;
    use super::*;

    #[test]
    fn batches_agree_with_the_digest_api_at_every_length_and_lane() {
        let mut batch: Md4Batch<usize> = Md4Batch::new();
        let pws: Vec<String> = (0..140)
            .map(|n| "aé€Z9!".chars().cycle().skip(n % 5).take(n).collect())
            .chain((0..40).map(|n| "Az9!~ q".chars().cycle().take(n).collect()))
            .collect();
        let mut got = vec![None; pws.len() * 2];
        let mut done = |i: usize, h: NtHash| {
            assert!(got[i].replace(h).is_none(), "candidate {i} reported twice");
        };
        for (i, pw) in pws.iter().enumerate() {
            batch.push_str(pw, 2 * i, &mut done);
            let units: Vec<u16> = pw.encode_utf16().collect();
            batch.push_units(&units, 2 * i + 1, &mut done);
        }
        batch.finish(&mut done);
        for (i, pw) in pws.iter().enumerate() {
            let want = digest_path(pw);
            assert_eq!(got[2 * i].map(|h| h.0), Some(want), "str, length {i}");
            assert_eq!(got[2 * i + 1].map(|h| h.0), Some(want), "units, length {i}");
        }
    }

    /// The AVX-512 and AVX2 builds of the hashing loops (where this CPU has them) give the
    /// portable build's hashes and first-word matches.
    #[test]
    fn every_build_of_the_lanes_agrees() {
        let mut x = 0x1234_5678_9abc_def0u64;
        let mut next = || xorshift(&mut x) as u32;
        for _ in 0..64 {
            let m: [Lanes; 16] = std::array::from_fn(|_| std::array::from_fn(|_| next()));
            let want = md4_lanes_portable::<true>(&m);
            // Half the lanes expect their own first word.
            let expected: Lanes = std::array::from_fn(|l| want[0][l] ^ (l as u32 & 1));
            let want_equal = first_words_equal_portable(&m, &expected);
            assert_eq!(want_equal, 0x5555);
            assert_eq!(md4_rows(|w| m[w]), want);
            assert_eq!(first_words_equal_rows(|w| m[w], &expected), want_equal);
            // A pair: this block and another, whose lanes expect their own first word but in
            // lanes 3 and 12.
            let other: [Lanes; 16] = std::array::from_fn(|_| std::array::from_fn(|_| next()));
            let other_first = md4_lanes_portable::<false>(&other)[0];
            let other_expected: Lanes =
                std::array::from_fn(|l| other_first[l] ^ u32::from(l == 3 || l == 12));
            let pair_expected = [expected, other_expected];
            let want_pair = [want_equal, 0xffff & !(1 << 3 | 1 << 12)];
            assert_eq!(
                first_words_equal_portable(&other, &other_expected),
                want_pair[1]
            );
            assert_eq!(
                first_words_equal_rows_pair(|w| m[w], |w| other[w], &pair_expected),
                want_pair
            );
            let want_hashes = [want, md4_lanes_portable::<true>(&other)];
            assert_eq!(md4_rows_pair(|w| m[w], |w| other[w]), want_hashes);
            #[cfg(target_arch = "x86_64")]
            #[allow(unsafe_code)]
            {
                if std::arch::is_x86_feature_detected!("avx2") {
                    // SAFETY: the CPU has AVX2.
                    assert_eq!(unsafe { md4_rows_avx2(|w| m[w]) }, want);
                    let got = unsafe { first_words_equal_rows_avx2(|w| m[w], &expected) };
                    assert_eq!(got, want_equal);
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has AVX-512F.
                    assert_eq!(unsafe { md4_rows_avx512(|w| m[w]) }, want);
                    let got = unsafe { first_words_equal_rows_avx512(|w| m[w], &expected) };
                    assert_eq!(got, want_equal);
                    let got = unsafe {
                        first_words_equal_pair_avx512(|w| m[w], |w| other[w], &pair_expected)
                    };
                    assert_eq!(got, want_pair);
                    let got = unsafe { md4_rows_pair_avx512(|w| m[w], |w| other[w]) };
                    assert_eq!(got, want_hashes);
                }
            }
        }
    }

    /// An `expecting` batch reports every candidate equal to its expected hash (in any lane,
    /// short or long) and drops the others, except the rare ones sharing the first word.
    #[test]
    fn expecting_batches_report_the_candidates_equal_to_their_expected_hash() {
        let mut batch: Md4Batch<usize> = Md4Batch::expecting();
        let pws: Vec<String> = (0..100)
            .map(|n| "Az9!~ qé".chars().cycle().skip(n % 3).take(n).collect())
            .collect();
        let mut got: Vec<usize> = Vec::new();
        let mut wanted: Vec<usize> = Vec::new();
        let mut tag = 0;
        for (i, pw) in pws.iter().enumerate() {
            // Each password is expected against itself for the even ones, against its
            // neighbour's hash for the odd ones; each is queued three times (three lanes).
            let target = NtHash(digest_path(
                &pws[if i.is_multiple_of(2) {
                    i
                } else {
                    (i + 1) % 100
                }],
            ));
            batch.expect(&target);
            for _ in 0..3 {
                if target.0 == digest_path(pw) {
                    wanted.push(tag);
                }
                let mut done = |t: usize, h: NtHash| {
                    if h == target_of(t, &pws) {
                        got.push(t);
                    }
                };
                batch.push_str(pw, tag, &mut done);
                tag += 1;
            }
        }
        let mut done = |t: usize, h: NtHash| {
            if h == target_of(t, &pws) {
                got.push(t);
            }
        };
        batch.finish(&mut done);
        got.sort_unstable();
        assert_eq!(got, wanted);
        assert_eq!(wanted.len(), 150);
    }

    /// The expected hash of tag `t` in `expecting_batches_...`.
    fn target_of(t: usize, pws: &[String]) -> NtHash {
        let i = t / 3;
        NtHash(digest_path(
            &pws[if i.is_multiple_of(2) {
                i
            } else {
                (i + 1) % 100
            }],
        ))
    }

    #[test]
    fn every_md4_lane_implementation_agrees() {
        let mut m = [[0u32; LANES]; 16];
        let mut x = 0x1234_5678u64;
        for w in m.iter_mut().flatten() {
            *w = xorshift(&mut x) as u32;
        }
        let full = md4_rows(|w| m[w]);
        assert_eq!(full, md4_lanes_portable::<true>(&m));
        assert_eq!(md4_lanes_portable::<false>(&m)[0], full[0]);
    }
}
