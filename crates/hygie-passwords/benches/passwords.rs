//! Password-audit benchmark: breach-index import and a 1M-account audit, against the baselines a
//! sysadmin would use.
//!
//! ```text
//! cargo bench -p hygie-passwords --bench passwords -- [--entries 100000000] [--accounts 1000000]
//!     [--dir /tmp/hygie-pw-bench] [--keep] [--cold]
//! ```
//!
//! 1. Generates, deterministically, a HIBP-format list (`HASH:COUNT\r\n`, sorted, uppercase) of
//!    `--entries` hashes and a secretsdump-format dump of `--accounts` accounts (10% of them with a
//!    hash from the list, 1% sharing a password, some user-name and dictionary passwords).
//! 2. Read floor: `cat list > /dev/null` (warm page cache, best of 2).
//! 3. Import: this binary re-executed as a child (`stage import`, i.e. `import_file`, what
//!    `hygie breached import` does with a regular file), best of 3, with its peak RSS, each
//!    run into a new file (the previous run's index deleted first, untimed); then the
//!    durable-write floor (`dd` of the index's size with `conv=fsync`). With `--cold` (root):
//!    twice, the page cache dropped before a `cat` and before an import, for lists that do not
//!    fit in memory (as the real list of tens of GB).
//! 4. Baseline: `cut | tr | LC_ALL=C sort -u` of the dump's NT hashes, then `LC_ALL=C join` with
//!    the list (warm cache).
//! 5. Audit: child `stage audit` (read + parse the dump, open the index, every check including the
//!    built-in dictionary and the breach lookup: what `hygie audit passwords` does), timed, with
//!    its peak RSS. Steps 4 and 5 run three times, alternately; each is reported with all its
//!    runs and compared on its best. An untimed child (`stage verify`) then looks the dump's
//!    distinct hashes up one by one: their number must equal the baseline's, and the accounts
//!    holding them must be the audit's HSH-07 accounts.
//!
//! The stages run with the `hygie` binary's global allocator (mimalloc). Peak RSS is GNU time's
//! `%M` (maximum resident set size of the child). Everything generated is
//! deleted at the end unless `--keep`.

use hygie_passwords::{
    AuditOptions, BreachIndex, Dictionary, NtHash, Sources, audit, import_file, parse_dump,
    parse_dump_file,
};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

// The allocator of the `hygie` binary (`crates/hygie-cli/src/main.rs`), so that the stages
// measure what `hygie breached import` and `hygie audit passwords` do.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The i-th hash of the synthetic list: strictly increasing in i, uniformly spread.
fn list_hash(i: u64, n: u64) -> u128 {
    let step = u128::MAX / u128::from(n);
    let r =
        (u128::from(splitmix(i ^ 0xA5A5)) << 64) | u128::from(splitmix(i.wrapping_mul(3) ^ 0x5A5A));
    u128::from(i) * step + r % step
}

fn list_count(i: u64) -> u64 {
    let r = splitmix(i ^ 0xC0FFEE);
    1 + ((r & 0xffff) >> (r % 16))
}

const HEX_UP: &[u8; 16] = b"0123456789ABCDEF";
const HEX_LO: &[u8; 16] = b"0123456789abcdef";

fn push_hex(out: &mut Vec<u8>, h: u128, digits: &[u8; 16]) {
    for k in (0..32).rev() {
        out.push(digits[((h >> (k * 4)) & 0xf) as usize]);
    }
}

fn generate_list(path: &Path, n: u64) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    let mut buf = Vec::with_capacity(16 << 20);
    for i in 0..n {
        push_hex(&mut buf, list_hash(i, n), HEX_UP);
        buf.push(b':');
        buf.extend_from_slice(list_count(i).to_string().as_bytes());
        buf.extend_from_slice(b"\r\n");
        if buf.len() >= 16 << 20 {
            f.write_all(&buf)?;
            buf.clear();
        }
    }
    f.write_all(&buf)?;
    f.sync_all()
}

fn generate_dump(path: &Path, accounts: u64, n: u64) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::with_capacity(8 << 20, std::fs::File::create(path)?);
    let dict_hash = hygie_testkit::nt_hex("Soleil2024!");
    for a in 0..accounts {
        let name = format!("user{a:07}");
        let r = splitmix(a ^ 0xD00D);
        let nt = match r % 1000 {
            0..=99 => {
                let mut s = Vec::with_capacity(32);
                push_hex(&mut s, list_hash(splitmix(a) % n, n), HEX_LO);
                String::from_utf8_lossy(&s).into_owned()
            }
            100..=109 => hygie_testkit::nt_hex(&format!("shared-{}", a % 997)),
            110 => hygie_testkit::nt_hex(&name),
            111 => dict_hash.clone(),
            _ => {
                let mut s = Vec::with_capacity(32);
                push_hex(
                    &mut s,
                    (u128::from(splitmix(a ^ 0xBEEF)) << 64) | u128::from(r),
                    HEX_LO,
                );
                String::from_utf8_lossy(&s).into_owned()
            }
        };
        writeln!(
            f,
            "CHU\\{name}:{}:aad3b435b51404eeaad3b435b51404ee:{nt}::: (status=Enabled)",
            10_000 + a
        )?;
    }
    f.flush()
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Child stages: print `key=value` lines for the parent.
fn stage(args: &[String]) -> Result<(), String> {
    match args {
        [s, list, idx] if s == "import" => {
            // What `hygie breached import` does with a regular file.
            let t = Instant::now();
            let stats = import_file(Path::new(list), Path::new(idx), &mut |_| {})
                .map_err(|e| e.to_string())?;
            println!("import_s={:.3}", t.elapsed().as_secs_f64());
            println!("entries={}", stats.entries);
            println!("index_bytes={}", stats.index_bytes);
            println!("vmhwm_kb={}", peak_rss_kb());
            Ok(())
        }
        [s, dump, idx] if s == "audit" => {
            // Exactly what `hygie audit passwords` does with the files, timed by the parent.
            let t0 = Instant::now();
            let dump = parse_dump_file(Path::new(dump)).map_err(|e| e.to_string())?;
            let t_parse = t0.elapsed();
            let t1 = Instant::now();
            let index = BreachIndex::open(Path::new(idx)).map_err(|e| e.to_string())?;
            let dict = Dictionary::builtin(2026);
            let report = audit(
                &dump,
                &Sources {
                    directory: None,
                    dictionary: Some(&dict),
                    breach: Some(&index),
                },
                &AuditOptions {
                    year: 2026,
                    ..AuditOptions::default()
                },
            );
            let t_audit = t1.elapsed();
            // As `hygie audit passwords` does: the dump is not freed account by account.
            std::mem::forget(dump);
            println!("parse_s={:.3}", t_parse.as_secs_f64());
            println!("audit_checks_s={:.3}", t_audit.as_secs_f64());
            println!("total_s={:.3}", t0.elapsed().as_secs_f64());
            println!("breached_accounts={}", report.accounts_of("HSH-07").len());
            println!(
                "dictionary_candidates={}",
                report.summary.dictionary_candidates
            );
            for c in &report.checks {
                println!("check_{}={}", c.check, c.accounts);
            }
            println!("vmhwm_kb={}", peak_rss_kb());
            Ok(())
        }
        [s, dump, idx] if s == "verify" => {
            // Not timed: the breached hashes counted on their own, to compare the audit with
            // sort+join (distinct hashes) and with itself (accounts).
            let text = std::fs::read_to_string(dump).map_err(|e| e.to_string())?;
            let dump = parse_dump(&text, dump).map_err(|e| e.to_string())?;
            let index = BreachIndex::open(Path::new(idx)).map_err(|e| e.to_string())?;
            let accounts: Vec<NtHash> = dump.accounts().filter_map(|a| a.nt_hash()).collect();
            let mut hashes = accounts.clone();
            hashes.sort_unstable();
            hashes.dedup();
            let found: Vec<Option<u64>> = hashes.iter().map(|h| index.lookup(h)).collect();
            let breached_hashes = found.iter().filter(|c| c.is_some()).count();
            let breached_accounts = accounts
                .iter()
                .filter(|h| hashes.binary_search(h).is_ok_and(|k| found[k].is_some()))
                .count();
            println!("breached_unique_hashes={breached_hashes}");
            println!("breached_accounts={breached_accounts}");
            Ok(())
        }
        _ => Err(format!("unknown stage {args:?}")),
    }
}

/// Run a command under GNU time; (wall seconds, max RSS KB, stdout). Also prints its CPU time.
/// The shortest of some wall times.
fn best(times: impl Iterator<Item = f64>) -> f64 {
    times.fold(f64::MAX, f64::min)
}

fn timed(cmd: &mut Command) -> (f64, u64, String) {
    let mut full = Command::new("/usr/bin/time");
    full.arg("-f")
        .arg("TIME %e %M %U %S")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            full.env(k, v);
        }
    }
    let out = full.output().expect("run /usr/bin/time");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{cmd:?} failed: {stderr}");
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("TIME "))
        .expect("time output");
    let mut it = line.split_whitespace().skip(1);
    let secs: f64 = it.next().and_then(|s| s.parse().ok()).expect("seconds");
    let kb: u64 = it.next().and_then(|s| s.parse().ok()).expect("rss");
    let user: f64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let sys: f64 = it.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    println!(
        "  [{:?}: wall {secs:.2}s, CPU user {user:.2}s + sys {sys:.2}s, max RSS {} MB]",
        cmd.get_program(),
        kb / 1024
    );
    (secs, kb, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn sh(script: &str) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c").arg(script);
    c
}

fn value<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or("?")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("stage") {
        if let Err(e) = stage(&args[1..]) {
            eprintln!("{e}");
            // The staging child's failure is its exit status, read by the parent benchmark.
            #[allow(clippy::disallowed_methods)]
            std::process::exit(1);
        }
        return;
    }
    let mut entries: u64 = 100_000_000;
    let mut accounts: u64 = 1_000_000;
    let mut dir = PathBuf::from("/tmp/hygie-pw-bench");
    let mut keep = false;
    let mut cold = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--entries" => entries = it.next().and_then(|v| v.parse().ok()).expect("--entries N"),
            "--accounts" => {
                accounts = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--accounts N")
            }
            "--dir" => dir = PathBuf::from(it.next().expect("--dir PATH")),
            "--keep" => keep = true,
            "--cold" => cold = true,
            _ => {} // `cargo bench` passes --bench
        }
    }
    std::fs::create_dir_all(&dir).expect("create bench dir");
    let list = dir.join("hibp-ntlm.txt");
    let dump = dir.join("dump.pwdump");
    let idx = dir.join("hibp.idx");
    let me = std::env::current_exe().expect("current exe");

    let t = Instant::now();
    let expected_len_min = entries * 36;
    if std::fs::metadata(&list)
        .map(|m| m.len() < expected_len_min)
        .unwrap_or(true)
    {
        generate_list(&list, entries).expect("generate list");
    }
    generate_dump(&dump, accounts, entries).expect("generate dump");
    let list_bytes = std::fs::metadata(&list).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated {entries} list entries ({list_bytes} bytes) and {accounts} accounts in {:.1}s",
        t.elapsed().as_secs_f64()
    );

    let cat = format!("cat '{}' > /dev/null", list.display());
    println!(
        "load average: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let floor = best((0..2).map(|_| timed(&mut sh(&cat)).0));
    println!("read floor (cat, warm, best of 2): {floor:.2}s");

    let import = || {
        let mut c = Command::new(&me);
        c.args(["stage", "import"]).arg(&list).arg(&idx);
        c
    };
    // Each import builds a new index: the previous run's is deleted first, untimed (replacing an
    // 800 MB file frees its pages and extents, 0.1-0.15 s that belong to no build).
    let new_index = || {
        let _ = std::fs::remove_file(&idx);
    };
    let runs: Vec<_> = (0..3)
        .map(|_| {
            new_index();
            timed(&mut import())
        })
        .collect();
    let walls: Vec<f64> = runs.iter().map(|r| r.0).collect();
    let (imp_wall, imp_rss, imp_out) = runs
        .into_iter()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .expect("three runs");
    println!(
        "import: {imp_wall:.2}s wall (best of {walls:.2?}; {} in-process), {:.2}x the read floor, peak RSS {} MB, {} entries, index {} bytes ({:.2} bytes/entry)",
        value(&imp_out, "import_s"),
        imp_wall / floor,
        imp_rss / 1024,
        value(&imp_out, "entries"),
        value(&imp_out, "index_bytes"),
        value(&imp_out, "index_bytes").parse::<f64>().unwrap_or(0.0) / entries as f64,
    );

    // The durable-write floor: writing the index's size and `fsync`ing it, as the import must.
    let index_bytes: u64 = value(&imp_out, "index_bytes").parse().unwrap_or(0);
    let dd_path = dir.join("dd-floor");
    let (dd_wall, _, _) = timed(&mut sh(&format!(
        "dd if=/dev/zero of='{}' bs=4M count={} conv=fsync status=none",
        dd_path.display(),
        index_bytes.div_ceil(4 << 20)
    )));
    let _ = std::fs::remove_file(&dd_path);
    println!(
        "durable-write floor (dd of the index size, conv=fsync): {dd_wall:.2}s; import = {:.2}x it",
        imp_wall / dd_wall
    );

    if cold {
        // A list of tens of GB does not fit the page cache: both the floor and the import read
        // it from the disk. Caches are dropped before each (needs root).
        let drop_caches = "sync && echo 3 > /proc/sys/vm/drop_caches";
        let mut floors = Vec::new();
        let mut imports = Vec::new();
        for _ in 0..2 {
            timed(&mut sh(drop_caches));
            floors.push(timed(&mut sh(&cat)).0);
            new_index();
            timed(&mut sh(drop_caches));
            imports.push(timed(&mut import()));
        }
        let cold_floor = best(floors.iter().copied());
        let walls: Vec<f64> = imports.iter().map(|r| r.0).collect();
        let cold_wall = best(walls.iter().copied());
        let cold_rss = imports.iter().map(|r| r.1).max().unwrap_or(0);
        println!(
            "cold cache: read floor (cat) {cold_floor:.2}s (best of {floors:.2?}); import {cold_wall:.2}s wall (best of {walls:.2?}), {:.2}x the cold floor, peak RSS {} MB",
            cold_wall / cold_floor,
            cold_rss / 1024
        );
    }

    let joined = dir.join("joined.txt");
    let baseline = format!(
        "cut -d: -f4 '{d}' | tr a-f A-F | LC_ALL=C sort -u > '{dir}/dump-hashes.txt' && LC_ALL=C join -t: '{dir}/dump-hashes.txt' '{l}' > '{j}'",
        d = dump.display(),
        dir = dir.display(),
        l = list.display(),
        j = joined.display()
    );
    // Both are run three times, alternately (each audit right after a sort+join, as a user
    // would run it after other work), and compared on their best runs.
    let mut base_runs = Vec::new();
    let mut audit_runs = Vec::new();
    let (mut base_rss, mut aud_rss, mut aud_out) = (0, 0, String::new());
    for _ in 0..3 {
        let (wall, rss, _) = timed(&mut sh(&baseline));
        base_runs.push(wall);
        base_rss = base_rss.max(rss);
        let (wall, rss, out) = timed(
            Command::new(&me)
                .args(["stage", "audit"])
                .arg(&dump)
                .arg(&idx),
        );
        audit_runs.push((
            wall,
            value(&out, "parse_s").to_string(),
            value(&out, "audit_checks_s").to_string(),
        ));
        aud_rss = aud_rss.max(rss);
        aud_out = out;
    }
    let base_wall = best(base_runs.iter().copied());
    let base_found = std::fs::read_to_string(&joined)
        .map(|s| s.lines().count())
        .unwrap_or(0);
    println!(
        "baseline sort+join: {base_wall:.2}s wall (best of {:.2?}), peak RSS {} MB, {base_found} breached hashes",
        base_runs,
        base_rss / 1024
    );
    let (aud_wall, parse, checks) = audit_runs
        .iter()
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .cloned()
        .unwrap_or_default();
    println!(
        "audit: {aud_wall:.2}s wall (best of {:.2?}; parse {parse}s, open + all checks {checks}s), peak RSS {} MB, {:.1}x faster than sort+join",
        audit_runs.iter().map(|r| r.0).collect::<Vec<_>>(),
        aud_rss / 1024,
        base_wall / aud_wall,
    );
    println!(
        "audit/sort+join run by run: {:.1?}",
        base_runs
            .iter()
            .zip(&audit_runs)
            .map(|(b, a)| b / a.0)
            .collect::<Vec<_>>()
    );
    println!(
        "audit found {} breached accounts, {} dictionary candidates",
        value(&aud_out, "breached_accounts"),
        value(&aud_out, "dictionary_candidates"),
    );
    for c in ["HSH-01", "HSH-02", "HSH-03", "HSH-04", "HSH-07"] {
        println!("  {c}: {} accounts", value(&aud_out, &format!("check_{c}")));
    }
    let (_, _, ver_out) = timed(
        Command::new(&me)
            .args(["stage", "verify"])
            .arg(&dump)
            .arg(&idx),
    );
    let ours: usize = value(&ver_out, "breached_unique_hashes")
        .parse()
        .unwrap_or(usize::MAX);
    assert_eq!(
        ours, base_found,
        "the index and sort+join disagree on the breached hashes"
    );
    assert_eq!(
        value(&ver_out, "breached_accounts"),
        value(&aud_out, "breached_accounts"),
        "the audit's HSH-07 accounts are not the accounts holding a breached hash"
    );
    println!(
        "checked: {ours} breached distinct hashes, as sort+join; HSH-07 = every account holding one"
    );

    if !keep {
        for p in [&list, &dump, &idx, &joined, &dir.join("dump-hashes.txt")] {
            let _ = std::fs::remove_file(p);
        }
        let _ = std::fs::remove_dir(&dir);
    }
}
