//! The spool's file handling: order, restart, torn tail, lock, bound, corruption.

use super::*;
use crate::stream::Payload;

fn lines(first: u64, n: usize, width: usize) -> RawLines {
    let mut l = RawLines::new(Payload::Json, Arc::from("tcp://127.0.0.1:9"), first);
    for i in 0..n {
        let text = format!(
            "{{\"n\": {}, \"pad\": \"{}\"}}",
            first + i as u64,
            "x".repeat(width)
        );
        l.push(text.as_bytes());
    }
    l
}

fn cfg(dir: &Path, max: u64) -> SpoolConfig {
    SpoolConfig::new(dir, max)
}

struct Run {
    append: Option<mpsc::Sender<Append>>,
    out: mpsc::Receiver<Spooled>,
    handle: SpoolHandle,
    threads: Vec<std::thread::JoinHandle<()>>,
    stats: Arc<Stats>,
}

fn start(spool: Spool, from: u64, queue: usize) -> Run {
    let (tx, rx) = mpsc::channel(queue);
    let stats = Arc::new(Stats::default());
    let r = spool.run(from, tx, stats.clone()).expect("run");
    Run {
        append: Some(r.append),
        out: rx,
        handle: r.handle,
        threads: r.threads,
        stats,
    }
}

impl Run {
    fn send(&self, l: RawLines) {
        self.append
            .as_ref()
            .expect("open")
            .blocking_send(Append {
                lines: l,
                ack: None,
            })
            .expect("writer alive");
    }
    /// Stop the writer and collect everything the reader still sends.
    fn finish(mut self) -> Vec<Spooled> {
        self.append = None;
        let mut got = Vec::new();
        while let Some(s) = self.out.blocking_recv() {
            got.push(s);
        }
        for t in self.threads {
            t.join().expect("thread");
        }
        got
    }
}

#[test]
fn records_come_back_in_order_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let spool = Spool::open(cfg(dir.path(), MIN_MAX_BYTES)).expect("open");
    let id = spool.id().to_owned();
    assert_eq!((spool.start(), spool.end()), (0, 0));
    let run = start(spool, 0, 1024);
    let sent: Vec<RawLines> = (0..50).map(|i| lines(i * 10 + 1, 10, 40)).collect();
    for l in &sent {
        run.send(l.clone());
    }
    let stats = run.stats.clone();
    let got = run.finish();
    assert_eq!(stats.snapshot().accepted, 500);
    assert_eq!(got.len(), 50);
    let mut pos = 0;
    for (i, s) in got.iter().enumerate() {
        assert_eq!(s.seq, i as u64);
        assert!(s.end > pos);
        pos = s.end;
        assert!(!s.replayed);
        assert_eq!(s.lines.as_ref(), Some(&sent[i]));
    }
    // Reopened: same id, same records, and a reader from a middle position replays the rest.
    let spool = Spool::open(cfg(dir.path(), MIN_MAX_BYTES)).expect("reopen");
    assert_eq!(spool.id(), id);
    assert_eq!(spool.end(), pos);
    assert_eq!(spool.cut_bytes(), 0);
    let all = spool.records(0).expect("records");
    assert_eq!(all.len(), 50);
    let middle = got[24].end;
    let run = start(spool, middle, 1024);
    run.send(lines(501, 3, 10));
    let again = run.finish();
    assert_eq!(again.len(), 26);
    assert!(again[..25].iter().all(|s| s.replayed));
    assert_eq!(again[0].lines.as_ref(), Some(&sent[25]));
    assert!(!again[25].replayed);
    assert!(again[25].end > pos, "new records after the old ones");
}

#[test]
fn a_torn_last_record_is_cut_off_at_opening() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = start(
        Spool::open(cfg(dir.path(), MIN_MAX_BYTES)).expect("open"),
        0,
        64,
    );
    for i in 0..5 {
        run.send(lines(i * 4 + 1, 4, 20));
    }
    let got = run.finish();
    let end = got.last().expect("records").end;
    // A crash mid-write: the sixth record's frame, cut short, after the fifth.
    let mut frame = Vec::new();
    frame::encode(&lines(21, 4, 20), &mut frame);
    for cut in [1, 9, 10, frame.len() - 1] {
        let seg = std::fs::read_dir(dir.path())
            .expect("ls")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == SEGMENT_EXT))
            .max()
            .expect("a segment");
        let mut f = OpenOptions::new().append(true).open(&seg).expect("seg");
        f.write_all(&frame[..cut]).expect("tear");
        drop(f);
        let spool = Spool::open(cfg(dir.path(), MIN_MAX_BYTES)).expect("reopen");
        assert_eq!(spool.cut_bytes(), cut as u64, "cut {cut}");
        assert_eq!(spool.end(), end);
        assert_eq!(spool.records(0).expect("records").len(), 5);
    }
    // Garbage instead of a frame, too.
    let spool = Spool::open(cfg(dir.path(), MIN_MAX_BYTES)).expect("reopen");
    let run = start(spool, 0, 64);
    let got = run.finish();
    assert_eq!(got.len(), 5, "the five whole records, replayed");
}

#[test]
fn one_ingest_per_spool() {
    let dir = tempfile::tempdir().expect("tmp");
    let _first = Spool::open(cfg(dir.path(), MIN_MAX_BYTES)).expect("open");
    assert!(matches!(
        Spool::open(cfg(dir.path(), MIN_MAX_BYTES)),
        Err(SpoolError::Busy(_))
    ));
    assert!(matches!(
        Spool::open(cfg(&dir.path().join("x"), 1024)),
        Err(SpoolError::TooSmall(1024))
    ));
}

#[test]
fn the_bound_holds_until_the_checkpoint_frees_segments() {
    let dir = tempfile::tempdir().expect("tmp");
    let max = MIN_MAX_BYTES;
    let spool = Spool::open(cfg(dir.path(), max)).expect("open");
    let mut run = start(spool, 0, 4096);
    let append = run.append.clone().expect("open");
    // ~100 KiB records: 4 MiB holds about 40 of them.
    let record = || lines(1, 50, 2000);
    let mut sent = 0;
    let full = loop {
        match append.try_send(Append {
            lines: record(),
            ack: None,
        }) {
            Ok(()) => sent += 1,
            Err(_) => {
                // The writer's queue is full: it waits for room, or is busy syncing.
                std::thread::sleep(Duration::from_millis(200));
                if append.capacity() == 0 {
                    break sent;
                }
            }
        }
        assert!(sent < 1000, "the writer never stopped");
    };
    let kept = |d: &Path| -> u64 {
        std::fs::read_dir(d)
            .expect("ls")
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == SEGMENT_EXT))
            .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
            .sum()
    };
    let on_disk = kept(dir.path());
    assert!(
        on_disk <= max + 200 * 1024,
        "{on_disk} bytes on disk for a {max}-byte bound"
    );
    assert!(full > 30 && full < 1000, "{full}");
    // Read everything written so far, checkpoint it: the writer goes on.
    let mut read = 0;
    let mut last = 0;
    while let Ok(s) = run.out.try_recv() {
        read += 1;
        last = s.end;
    }
    assert!(read > 0);
    run.handle.release(last);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while append.capacity() == 0 {
        assert!(std::time::Instant::now() < deadline, "still blocked");
        std::thread::sleep(Duration::from_millis(10));
    }
    drop(append);
    // The rest, each record checkpointed as it is read, as the ingest does: the writer never
    // waits for good.
    run.append = None;
    let mut rest = 0;
    while let Some(s) = run.out.blocking_recv() {
        rest += 1;
        run.handle.release(s.end);
        assert!(kept(dir.path()) <= max + 200 * 1024);
    }
    for t in run.threads {
        t.join().expect("thread");
    }
    assert_eq!(read + rest, full);
}

#[test]
fn a_corrupt_closed_segment_is_skipped_not_a_panic() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut c = cfg(dir.path(), MIN_MAX_BYTES);
    c.segment_bytes = 4096;
    let run = start(Spool::open(c.clone()).expect("open"), 0, 1024);
    for i in 0..20 {
        run.send(lines(i * 10 + 1, 10, 30));
    }
    let got = run.finish();
    assert_eq!(got.len(), 20);
    let mut segs: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .expect("ls")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == SEGMENT_EXT))
        .collect();
    segs.sort();
    assert!(segs.len() > 3, "{segs:?}");
    // Flip a byte inside the second segment's first record.
    let mut bytes = std::fs::read(&segs[1]).expect("read");
    let mut in_second = 0;
    let mut at = 0;
    while let Decoded::Record(_, n) = frame::decode(&bytes[at..]) {
        at += n;
        in_second += 1;
    }
    bytes[20] ^= 0x40;
    std::fs::write(&segs[1], &bytes).expect("write");
    let run = start(Spool::open(c).expect("reopen"), 0, 1024);
    let again = run.finish();
    let skipped: Vec<_> = again.iter().filter(|s| s.lines.is_none()).collect();
    assert_eq!(skipped.len(), 1, "one stretch skipped");
    let readable = again.iter().filter(|s| s.lines.is_some()).count();
    assert_eq!(
        readable,
        20 - in_second,
        "the second segment's records are lost, no other"
    );
    // Positions still only grow: the checkpoint can pass the skipped stretch.
    assert!(again.windows(2).all(|w| w[0].end < w[1].end));
}
