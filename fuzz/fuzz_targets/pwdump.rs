//! A pwdump / secretsdump file, parsed as `hygie audit passwords --hashes` parses it, with the
//! optional AD snapshot (`==> directory.json <==` or `directory.csv`) and wordlist
//! (`==> wordlist.txt <==`), then the audit itself.
#![no_main]

use hygie_passwords::{AuditOptions, Dictionary, Directory, Sources, audit, parse_dump_bytes};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let files = hygie_fuzz::split(data, "dump.txt");
    let mut dump = None;
    let mut directory = None;
    let mut wordlist = None;
    for (name, bytes) in &files {
        match name.as_str() {
            "dump.txt" => dump = Some(parse_dump_bytes(bytes, name)),
            "directory.json" | "directory.csv" => {
                let Some(text) = hygie_fuzz::text(bytes) else {
                    return;
                };
                match Directory::parse(text, name) {
                    Ok(d) => directory = Some(d),
                    Err(e) => {
                        let _ = e.to_string();
                        return;
                    }
                }
            }
            "wordlist.txt" => wordlist = hygie_fuzz::text(bytes),
            _ => {}
        }
    }
    let dump = match dump {
        Some(Ok(d)) => d,
        Some(Err(e)) => {
            let _ = e.to_string();
            return;
        }
        None => return,
    };
    for a in dump.accounts() {
        let _ = (a.display_name(), a.is_machine(), format!("{a:?}"));
    }
    // The built-in dictionary has millions of candidates: a few base words mutated as it
    // mutates its own keep each run short and still go through every generation step.
    let mut dictionary = Dictionary::empty(2026);
    dictionary.add_words(["hopital", "rouen"]);
    if let Some(w) = wordlist {
        dictionary.add_verbatim(w.lines().map(|l| l.trim_end_matches('\r')));
    }
    let opts = AuditOptions {
        threads: 1,
        ..AuditOptions::default()
    };
    let report = audit(
        &dump,
        &Sources {
            directory: directory.as_ref(),
            dictionary: Some(&dictionary),
            breach: None,
        },
        &opts,
    );
    let _ = report.rule_findings();
    let _ = serde_json::to_string(&report.findings);
    let _ = serde_json::to_string(&report.checks);
});
