//! The streaming EVTX flattener (straight from the rendered bytes) gives the
//! same flat event as the tree flattener on every record of the shared EVTX
//! samples, and the chunk reader yields every record once.

use hygie_logs::read::read_evtx;
use hygie_logs::windows::{flatten_evtx_json, flatten_evtx_json_bytes};
use std::path::{Path, PathBuf};

fn evtx_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            evtx_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "evtx") {
            out.push(p);
        }
    }
}

#[test]
fn streaming_flattener_equals_tree_flattener_on_every_sample_record() {
    let Some(root) = hygie_testkit::shared_data() else {
        return;
    };
    let mut files = Vec::new();
    evtx_files(&root.join("sigma/regression_data"), &mut files);
    evtx_files(&root.join("evtx-attack-samples"), &mut files);
    files.sort();
    assert!(files.len() >= 202, "only {} EVTX files found", files.len());
    let mut records = 0usize;
    let mut with_user_data = 0usize;
    for f in &files {
        let Ok(mut parser) = evtx::EvtxParser::from_path(f) else {
            continue;
        };
        let mut from_parser = 0usize;
        for rec in parser.records_json() {
            let Ok(rec) = rec else { continue };
            let tree: serde_json::Value = serde_json::from_str(&rec.data).expect("evtx JSON");
            if tree["Event"].get("UserData").is_some() {
                with_user_data += 1;
            }
            let expected = flatten_evtx_json(tree);
            let got = flatten_evtx_json_bytes(rec.data.as_bytes()).expect("streams");
            assert_eq!(
                got,
                expected,
                "{} record {}",
                f.display(),
                rec.event_record_id
            );
            records += 1;
            from_parser += 1;
        }
        let mut from_chunks = 0usize;
        let errors = read_evtx(f, &mut |_| from_chunks += 1);
        assert_eq!(
            from_chunks,
            from_parser,
            "{}: chunk reader record count ({errors:?})",
            f.display()
        );
    }
    assert!(records > 8_000, "only {records} records compared");
    assert!(with_user_data > 0, "no UserData record in the samples");
}

#[test]
fn streaming_flattener_keeps_section_precedence_in_any_order() {
    // UserData before EventData, System last: System wins, then EventData.
    let doc = br##"{"Event": {"UserData": {"X": {"Computer": "fromUser", "A": "u", "B": "u"}},
        "EventData": {"A": "e", "#attributes": {"Name": "n"}},
        "System": {"Computer": "PC1", "EventID": {"#attributes": {"Qualifiers": 0}, "#text": "4688"}}}}"##;
    let tree: serde_json::Value = serde_json::from_slice(doc).expect("json");
    let got = flatten_evtx_json_bytes(doc)
        .expect("streams")
        .expect("event");
    assert_eq!(Some(got.clone()), flatten_evtx_json(tree));
    let got = got.to_map();
    assert_eq!(got["Computer"], "PC1");
    assert_eq!(got["A"], "e");
    assert_eq!(got["B"], "u");
    assert_eq!(got["EventID"], 4688);
    assert_eq!(flatten_evtx_json_bytes(b"{\"x\": 1}").expect("json"), None);
    assert!(flatten_evtx_json_bytes(b"{\"Event\": ").is_err());
}
