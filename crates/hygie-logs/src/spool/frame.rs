//! The spool's record framing, pure: a batch of raw lines (or datagrams) to bytes and back.
//!
//! A frame is `magic (2) | length (u32 LE) | CRC-32 (u32 LE) | payload`, the CRC taken over the
//! length and the payload. The magic makes zeroed or foreign bytes fail at once; the CRC catches
//! a torn write (a crash or power cut mid-record) and any bit changed since. Decoding never
//! panics on any input: it answers a record, "incomplete" (the bytes end inside a frame: a torn
//! tail, or a frame not yet fully written) or "corrupt".
//!
//! The payload: `flags (u8: bit 0 JSON, bit 1 datagrams) | first number (u64 LE) | source name
//! (u16 LE length, UTF-8) | entry count (u32 LE) | each entry as u32 LE length and bytes`.

use crate::stream::{Payload, RawLines};
use std::sync::Arc;

/// The two bytes every frame starts with.
const MAGIC: [u8; 2] = *b"Hs";
/// Magic, length, CRC.
pub const HEADER: usize = 10;
/// Largest payload a frame may declare: the sources cut their batches at
/// [`crate::stream::BATCH_BYTES`], one line or datagram (at most
/// [`crate::stream::MAX_LINE`]) past it at worst; anything larger is corrupt.
pub const MAX_PAYLOAD: usize = 4 << 20;

const FLAG_JSON: u8 = 1;
const FLAG_DATAGRAMS: u8 = 2;

/// What the bytes at the start of a buffer hold.
#[derive(Debug)]
pub enum Decoded {
    /// A whole record, and the frame's length in bytes.
    Record(RawLines, usize),
    /// The buffer ends inside a frame (at least this many bytes would be needed to go on).
    Incomplete(usize),
    /// Not a valid frame.
    Corrupt(&'static str),
}

/// Append the frame of `lines` to `out`.
pub fn encode(lines: &RawLines, out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&[0; 8]);
    let mut flags = 0;
    if lines.payload == Payload::Json {
        flags |= FLAG_JSON;
    }
    if lines.datagrams {
        flags |= FLAG_DATAGRAMS;
    }
    out.push(flags);
    out.extend_from_slice(&lines.first.to_le_bytes());
    // Source names are ours ("tcp://ADDR:PORT"); a longer one is cut on a character boundary.
    let mut name = lines.source.as_bytes();
    if name.len() > usize::from(u16::MAX) {
        let mut cut = usize::from(u16::MAX);
        while !lines.source.is_char_boundary(cut) {
            cut -= 1;
        }
        name = &name[..cut];
    }
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(name);
    out.extend_from_slice(&(lines.ends.len() as u32).to_le_bytes());
    let mut from = 0;
    for &end in &lines.ends {
        out.extend_from_slice(&((end - from) as u32).to_le_bytes());
        out.extend_from_slice(&lines.bytes[from..end]);
        from = end;
    }
    let len = (out.len() - start - HEADER) as u32;
    out[start + 2..start + 6].copy_from_slice(&len.to_le_bytes());
    let crc = crc(&out[start + 2..start + 6], &out[start + HEADER..]);
    out[start + 6..start + 10].copy_from_slice(&crc.to_le_bytes());
}

fn crc(len: &[u8], payload: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(len);
    h.update(payload);
    h.finalize()
}

/// Decode the frame at the start of `buf`.
pub fn decode(buf: &[u8]) -> Decoded {
    if buf.len() < HEADER {
        // A torn header is incomplete, unless what is there already is not a frame's start.
        if buf.iter().zip(MAGIC).any(|(a, b)| *a != b) {
            return Decoded::Corrupt("bad magic");
        }
        return Decoded::Incomplete(HEADER);
    }
    if buf[..2] != MAGIC {
        return Decoded::Corrupt("bad magic");
    }
    let len = u32_at(buf, 2) as usize;
    if len > MAX_PAYLOAD {
        return Decoded::Corrupt("record too long");
    }
    let total = HEADER + len;
    if buf.len() < total {
        return Decoded::Incomplete(total);
    }
    if crc(&buf[2..6], &buf[HEADER..total]) != u32_at(buf, 6) {
        return Decoded::Corrupt("checksum mismatch");
    }
    match payload(&buf[HEADER..total]) {
        Some(lines) => Decoded::Record(lines, total),
        None => Decoded::Corrupt("malformed payload"),
    }
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    let mut b = [0; 4];
    b.copy_from_slice(&buf[at..at + 4]);
    u32::from_le_bytes(b)
}

/// A cursor over a payload; every read is checked.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Option<u32> {
        self.take(4).map(|b| u32_at(b, 0))
    }
    fn u64(&mut self) -> Option<u64> {
        let b = self.take(8)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Some(u64::from_le_bytes(a))
    }
}

fn payload(buf: &[u8]) -> Option<RawLines> {
    let mut c = Cursor(buf);
    let flags = c.u8()?;
    if flags & !(FLAG_JSON | FLAG_DATAGRAMS) != 0 {
        return None;
    }
    let first = c.u64()?;
    let name_len = usize::from(c.u16()?);
    let name = std::str::from_utf8(c.take(name_len)?).ok()?;
    let count = c.u32()? as usize;
    // Each entry takes at least its 4-byte length: a count the payload cannot hold is corrupt
    // (and must not size an allocation).
    if count > c.0.len() / 4 {
        return None;
    }
    let payload = if flags & FLAG_JSON != 0 {
        Payload::Json
    } else {
        Payload::Syslog
    };
    let mut lines = RawLines::new(payload, Arc::from(name), first);
    lines.datagrams = flags & FLAG_DATAGRAMS != 0;
    for _ in 0..count {
        let n = c.u32()? as usize;
        lines.push(c.take(n)?);
    }
    if !c.0.is_empty() {
        return None;
    }
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(datagrams: bool) -> RawLines {
        let mut l = RawLines::new(Payload::Json, Arc::from("tcp://127.0.0.1:4000"), 41);
        l.datagrams = datagrams;
        l.push(br#"{"EventID": 1}"#);
        l.push(b"");
        l.push(b"   ");
        l.push("é\nà".as_bytes());
        l
    }

    fn frame(l: &RawLines) -> Vec<u8> {
        let mut out = Vec::new();
        encode(l, &mut out);
        out
    }

    #[test]
    fn round_trip() {
        for datagrams in [false, true] {
            let l = sample(datagrams);
            let f = frame(&l);
            let Decoded::Record(back, n) = decode(&f) else {
                panic!("{:?}", decode(&f))
            };
            assert_eq!(n, f.len());
            assert_eq!(back, l);
        }
        let empty = RawLines::new(Payload::Syslog, Arc::from(""), 0);
        let f = frame(&empty);
        assert!(matches!(decode(&f), Decoded::Record(ref b, n) if *b == empty && n == f.len()));
    }

    #[test]
    fn frames_follow_each_other() {
        let mut buf = frame(&sample(false));
        let second = frame(&sample(true));
        buf.extend_from_slice(&second);
        let Decoded::Record(_, n) = decode(&buf) else {
            panic!()
        };
        assert!(
            matches!(decode(&buf[n..]), Decoded::Record(ref b, m) if b.datagrams && m == second.len())
        );
    }

    #[test]
    fn a_torn_frame_is_incomplete_at_every_length() {
        let f = frame(&sample(false));
        for cut in 0..f.len() {
            match decode(&f[..cut]) {
                Decoded::Incomplete(need) => assert!(need > cut, "cut {cut}"),
                other => panic!("cut {cut}: {other:?}"),
            }
        }
    }

    #[test]
    fn any_changed_byte_is_caught() {
        let f = frame(&sample(false));
        for i in 0..f.len() {
            for bit in 0..8 {
                let mut g = f.clone();
                g[i] ^= 1 << bit;
                // A changed length may make the frame look longer (incomplete) or shorter
                // (checksum); it is never taken as a record.
                assert!(
                    !matches!(decode(&g), Decoded::Record(..)),
                    "byte {i} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn zeroes_and_garbage_are_corrupt_not_a_panic() {
        assert!(matches!(decode(&[0; 64]), Decoded::Corrupt(_)));
        assert!(matches!(decode(&[0; 3]), Decoded::Corrupt(_)));
        assert!(matches!(decode(b"H"), Decoded::Incomplete(_)));
        // A frame declaring more than a record may hold.
        let mut big = MAGIC.to_vec();
        big.extend_from_slice(&u32::MAX.to_le_bytes());
        big.extend_from_slice(&[0; 4]);
        assert!(matches!(decode(&big), Decoded::Corrupt("record too long")));
        // A valid checksum over a payload that does not parse (count larger than the bytes).
        let mut p = vec![0u8];
        p.extend_from_slice(&0u64.to_le_bytes());
        p.extend_from_slice(&0u16.to_le_bytes());
        p.extend_from_slice(&u32::MAX.to_le_bytes());
        let len = (p.len() as u32).to_le_bytes();
        let mut f = MAGIC.to_vec();
        f.extend_from_slice(&len);
        f.extend_from_slice(&crc(&len, &p).to_le_bytes());
        f.extend_from_slice(&p);
        assert!(matches!(decode(&f), Decoded::Corrupt("malformed payload")));
        // Pseudo-random bytes (xorshift): never a panic.
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut noise = vec![0u8; 4096];
        for round in 0..200 {
            for b in noise.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            // Half the rounds start with the magic, so that the length and checksum are read.
            if round % 2 == 0 {
                noise[..2].copy_from_slice(&MAGIC);
            }
            let _ = decode(&noise);
        }
    }
}
