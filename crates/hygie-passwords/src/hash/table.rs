//! Sets and sorts of uniformly spread keys (NT hashes, identity hashes).
//!
//! `HashTable` holds a dump's distinct hashes: sorted, with a leading-bits table (membership is
//! one slot and about one comparison) and a blocked Bloom filter (2 MiB for 1 M hashes) that
//! answers all but about one absent candidate in 200 from cache, for the dictionary's millions
//! of misses. `sort_by_top16_halves` sorts a million keys as two halves of the order on two
//! threads, by counting and scattering into buckets of the top 16 bits: the same order as
//! `sort_unstable`, in two passes over the data instead of about twenty comparisons a key.

use super::NtHash;

/// A set of NT hashes, sorted, with a table from the leading bits of a hash to its place: a
/// membership test reads one table slot and about one hash (NT hashes are uniform), and takes
/// 16 bytes a hash plus 4 bytes a slot, about half of what a hash set takes.
#[derive(Default)]
pub(crate) struct HashTable {
    /// A blocked Bloom filter: 16 bits per hash in 64-bit words, each hash setting three bits
    /// of one word (the word chosen by bytes 4..8, the bits by bytes 8..10). `contains`
    /// answers nearly every absent hash (all but about one in 200) from this array, which stays
    /// in cache, instead of missing the cache twice on `starts` and `hashes`: the dictionary
    /// looks up millions of absent candidates. (One bit per hash at one in eight set, as
    /// before, let an eighth through: most of the dictionary check's time.)
    filter: Vec<u64>,
    filter_shift: u32,
    hashes: Vec<NtHash>,
    /// `starts[p]`: first hash whose leading `bits` bits are >= p; one extra slot at the end.
    starts: Vec<u32>,
    shift: u32,
}

impl HashTable {
    /// Build from any hashes (sorted and de-duplicated here).
    #[cfg(test)]
    pub(crate) fn new(mut hashes: Vec<NtHash>) -> HashTable {
        hashes.sort_unstable();
        hashes.dedup();
        HashTable::from_sorted(hashes)
    }

    /// `new` of hashes already sorted and distinct (checked in debug builds).
    pub(crate) fn from_sorted(hashes: Vec<NtHash>) -> HashTable {
        debug_assert!(hashes.windows(2).all(|w| w[0] < w[1]));
        let bits = (usize::BITS - hashes.len().leading_zeros()).clamp(4, 24);
        let shift = 32 - bits;
        let mut starts = vec![0u32; (1 << bits) + 1];
        for h in &hashes {
            starts[(h.lead32() >> shift) as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        // 2^(bits + 4) bits, i.e. about 16 per hash, in words of 64.
        let word_bits = (bits + 4 - 6).clamp(3, 22);
        let filter_shift = 32 - word_bits;
        let mut filter = vec![0u64; 1 << word_bits];
        for h in &hashes {
            let (word, mask) = Self::filter_slot(h, filter_shift);
            filter[word] |= mask;
        }
        HashTable {
            filter,
            filter_shift,
            hashes,
            starts,
            shift,
        }
    }

    /// The hashes, sorted.
    pub(crate) fn as_slice(&self) -> &[NtHash] {
        &self.hashes
    }

    /// Position of `h` in `as_slice()`.
    #[inline]
    pub(crate) fn position(&self, h: &NtHash) -> Option<usize> {
        let p = (h.lead32() >> self.shift) as usize;
        let (from, to) = (*self.starts.get(p)? as usize, self.starts[p + 1] as usize);
        self.hashes[from..to]
            .iter()
            .position(|x| x == h)
            .map(|i| from + i)
    }

    /// The filter word of `h` and the three bits it sets there.
    #[inline]
    fn filter_slot(h: &NtHash, filter_shift: u32) -> (usize, u64) {
        let word = (h.mid32() >> filter_shift) as usize;
        let b = u16::from_le_bytes([h.0[8], h.0[9]]);
        let c = h.0[10];
        let mask = (1u64 << (b & 63)) | (1u64 << ((b >> 6) & 63)) | (1u64 << (c & 63));
        (word, mask)
    }

    #[inline]
    pub(crate) fn contains(&self, h: &NtHash) -> bool {
        let (word, mask) = Self::filter_slot(h, self.filter_shift);
        let maybe = self.filter.get(word).is_some_and(|w| w & mask == mask);
        maybe && self.position(h).is_some()
    }
}

/// The items of `items` sorted, as the two halves of the order (`top(x)` below 2^15, then the
/// others), without collecting them first: for a million uniformly spread keys, each half of
/// the 65,536 buckets of `top(x)` is counted, filled (one pass over the items each) and its
/// buckets, a dozen elements each, sorted in place, by its own thread. Two passes over the data
/// on each core instead of about twenty comparisons an element on one. `items` is iterated
/// five times.
pub(crate) fn sort_by_top16_halves<T: Ord + Copy + Send + Sync>(
    items: impl Iterator<Item = T> + Clone + Sync,
    top: impl Fn(&T) -> u16 + Sync,
) -> [Vec<T>; 2] {
    const HALF: usize = 1 << 15;
    let len = items.clone().count();
    if len < 2 * HALF {
        let mut v: Vec<T> = items.collect();
        v.sort_unstable();
        return [v, Vec::new()];
    }
    let half = |h: usize| -> Vec<T> {
        let mine = |x: &T| usize::from(top(x)) / HALF == h;
        let mut starts = vec![0usize; HALF + 1];
        let mut fill = None;
        for x in items.clone().filter(mine) {
            fill.get_or_insert(x);
            starts[usize::from(top(&x)) % HALF + 1] += 1;
        }
        let Some(fill) = fill else {
            return Vec::new();
        };
        for b in 1..=HALF {
            starts[b] += starts[b - 1];
        }
        let mut next = starts.clone();
        let mut out = vec![fill; starts[HALF]];
        for x in items.clone().filter(mine) {
            let b = usize::from(top(&x)) % HALF;
            out[next[b]] = x;
            next[b] += 1;
        }
        for w in starts.windows(2) {
            if w[1] - w[0] > 1 {
                out[w[0]..w[1]].sort_unstable();
            }
        }
        out
    };
    std::thread::scope(|s| {
        let high = s.spawn(|| half(1));
        let low = half(0);
        match high.join() {
            Ok(high) => [low, high],
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::xorshift;
    use super::*;

    /// `HashTable` answers membership and position as a linear search does, for hashes in it
    /// and (filtered or not) out of it, at several sizes.
    #[test]
    fn hash_table_agrees_with_a_linear_search() {
        for n in [0usize, 1, 5, 300, 20_000] {
            let member = |i: usize| NtHash::of_password(&format!("in-{i}"));
            let hashes: Vec<NtHash> = (0..n).map(member).collect();
            let table = HashTable::new(hashes.clone());
            let sorted = table.as_slice();
            assert_eq!(sorted.len(), n);
            for h in &hashes {
                assert!(table.contains(h));
                assert_eq!(table.position(h).map(|p| sorted[p]), Some(*h));
            }
            let mut passed_filter = 0;
            for i in 0..20_000 {
                let h = NtHash::of_password(&format!("out-{i}"));
                assert!(!table.contains(&h));
                assert_eq!(table.position(&h), None);
                let (word, mask) = HashTable::filter_slot(&h, table.filter_shift);
                passed_filter += usize::from(table.filter[word] & mask == mask);
            }
            // About one absent hash in 200 gets past the filter (16 bits, 3 set per hash).
            assert!(passed_filter < 20_000 / 50, "{n}: {passed_filter}");
        }
    }

    #[test]
    fn sorting_by_the_top_bits_sorts() {
        let mut x = 0x1234_5678_9abc_def0u64;
        let v: Vec<(u64, u32)> = (0..100_000u32).map(|i| (xorshift(&mut x), i)).collect();
        let mut want = v.clone();
        want.sort_unstable();
        let sorted =
            |v: &[(u64, u32)]| sort_by_top16_halves(v.iter().copied(), |p| (p.0 >> 48) as u16);
        assert_eq!(sorted(&v).concat(), want);
        // The halves split the order where the top bit changes.
        let [low, high] = sort_by_top16_halves(v.iter().copied(), |p| (p.0 >> 48) as u16);
        assert!(low.iter().all(|p| p.0 >> 63 == 0) && high.iter().all(|p| p.0 >> 63 == 1));
        assert_eq!([low, high].concat(), want);
        // Bunched keys (one bucket holds most), repeats, and a short input.
        let bunched: Vec<(u64, u32)> = v.iter().map(|&(k, i)| (k >> 20, i % 7)).collect();
        let mut want = bunched.clone();
        want.sort_unstable();
        assert_eq!(sorted(&bunched).concat(), want);
        let short: Vec<(u64, u32)> = v[..100].to_vec();
        let mut want = short.clone();
        want.sort_unstable();
        assert_eq!(sorted(&short).concat(), want);
    }
}
