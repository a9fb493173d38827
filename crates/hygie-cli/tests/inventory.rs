//! Issue 21 end to end: the asset register from the real agents of this machine
//! (`fusioninventory-inventory`, `ocsinventory-agent --local`), a real nmap scan of hosts made in
//! network namespaces, and bad input that stores nothing; CERT-FR advisories from a folder of
//! their JSON files, named beside the matches they cite. The agents, nmap and namespaces are
//! installed and allowed by `scripts/test.sh` (Debian packages, root); a missing one skips a test
//! here, and fails it under `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{HOSPITAL, Hygie};
use serde_json::Value;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};

const F: &str = common::FINESS;

/// Whether `bin` is installed (and, for the network test, we are root); under CI a missing tool
/// fails the test.
fn have(bins: &[&str], root: bool) -> bool {
    let missing: Vec<&&str> = bins
        .iter()
        .filter(|b| {
            !Command::new("sh")
                .args(["-c", &format!("command -v {b}")])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .collect();
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if missing.is_empty() && (is_root || !root) {
        return true;
    }
    let why = format!("missing {missing:?}, root needed: {root}, root: {is_root}");
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("the inventory tests need {bins:?} (scripts/test.sh installs them): {why}");
    }
    eprintln!("SKIP: {why}");
    false
}

fn sh(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The rule `id` in an import's JSON findings.
fn finding<'a>(import: &'a Value, id: &str) -> &'a Value {
    import["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == id)
        .unwrap_or_else(|| panic!("no {id} in {import}"))
}

fn software_of(asset: &Value, source: &str) -> BTreeMap<String, String> {
    asset["software"][source]
        .as_array()
        .unwrap_or_else(|| panic!("no {source} software in {asset}"))
        .iter()
        .filter_map(|s| {
            Some((
                s["name"].as_str()?.to_owned(),
                s["version"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

#[test]
fn the_real_agents_inventory_this_machine_as_one_asset() {
    if !have(
        &[
            "fusioninventory-inventory",
            "ocsinventory-agent",
            "dpkg-query",
        ],
        false,
    ) {
        return;
    }
    let env = Hygie::sqlite().in_lang("en");
    env.add(&HOSPITAL);
    // Both agents at once (about 2 and 4 s).
    let fi_file = env.path().join("this-machine.xml");
    let ocs_dir = env.path().join("ocs");
    std::fs::create_dir_all(&ocs_dir).unwrap();
    let fi = Command::new("fusioninventory-inventory")
        .stdout(std::fs::File::create(&fi_file).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let ocs = Command::new("ocsinventory-agent")
        .arg(format!("--local={}", ocs_dir.display()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for c in [fi, ocs] {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let ocs_file = std::fs::read_dir(&ocs_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "ocs"))
        .expect("ocsinventory-agent wrote an .ocs file");

    // What dpkg says, read independently of the agents.
    let dpkg: BTreeMap<String, String> = sh(Command::new("dpkg-query").args([
        "-W",
        "-f",
        "${db:Status-Abbrev}\t${Package}\t${Version}\n",
    ]))
    .lines()
    .filter(|l| l.starts_with("ii"))
    .filter_map(|l| {
        let mut p = l.split('\t').skip(1);
        Some((p.next()?.to_owned(), p.next()?.to_owned()))
    })
    .collect();
    assert!(dpkg.len() >= 100, "only {} packages here", dpkg.len());
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_owned();
    let os_release = std::fs::read_to_string("/etc/os-release").unwrap();
    let os_field = |k: &str| {
        os_release
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .map(|v| v.trim_matches('"').to_owned())
            .unwrap()
    };

    let fi = env.json(
        &[
            "inventory",
            "import",
            "--facility",
            F,
            "--source",
            "fusioninventory",
            fi_file.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(fi["assets"], 1, "{fi}");
    // INV-02 and VUL-03 evaluated from the agent's inventory: software with versions, never scanned.
    assert_eq!(finding(&fi, "ASSET-SW-VERSIONS")["outcome"], "pass", "{fi}");
    assert_eq!(
        finding(&fi, "ASSET-HW-INVENTORY")["outcome"],
        "pass",
        "{fi}"
    );
    assert_eq!(finding(&fi, "ASSET-STALE")["outcome"], "fail", "{fi}");
    let ocs = env.json(
        &[
            "inventory",
            "import",
            "--facility",
            F,
            "--source",
            "ocs",
            ocs_file.to_str().unwrap(),
        ],
        0,
    );
    // The same machine by both agents: one asset, matched by its network card.
    assert_eq!(
        (ocs["assets"].as_u64(), ocs["new_assets"].as_u64()),
        (Some(1), Some(0)),
        "{ocs}"
    );
    let list = env.json(&["inventory", "list", "--facility", F], 0);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1, "{list:?}");
    let a = &list[0];
    assert_eq!(a["hostname"], hostname.as_str());
    assert_eq!(
        a["sources"].as_object().unwrap().len(),
        2,
        "{}",
        a["sources"]
    );
    let os = a["os"]["name"].as_str().unwrap();
    assert!(
        os.contains(&os_field("NAME")),
        "{os} vs {}",
        os_field("NAME")
    );
    let version = format!("{} {}", os, a["os"]["version"].as_str().unwrap_or(""));
    assert!(version.contains(&os_field("VERSION_ID")), "{version}");

    for agent in ["fusioninventory", "ocs"] {
        let sw = software_of(a, agent);
        assert!(sw.len() >= 100, "{agent}: {} packages", sw.len());
        // Every tenth package dpkg lists, with dpkg's version.
        let sample: Vec<(&String, &String)> = dpkg.iter().step_by(10).collect();
        assert!(sample.len() >= 10);
        // OCS's `name:arch` of multi-arch packages reads as dpkg's name.
        let found: Vec<_> = sample.iter().filter(|(n, _)| sw.contains_key(*n)).collect();
        for (name, version) in &found {
            assert_eq!(sw.get(*name), Some(*version), "{agent}: {name}");
        }
        assert_eq!(
            found.len(),
            sample.len(),
            "{agent}: sampled packages missing"
        );
    }

    // The asset by name, with its two sightings.
    let shown = env.json(&["inventory", "show", "--facility", F, &hostname], 0);
    assert_eq!(shown["sightings"].as_array().unwrap().len(), 2, "{shown}");
    let text = env.stdout(
        &[
            "--format",
            "table",
            "inventory",
            "show",
            "--facility",
            F,
            &hostname,
        ],
        0,
    );
    assert!(
        text.contains("Matched by") && text.contains("mac"),
        "{text}"
    );
    env.run(&["inventory", "show", "--facility", F, "no-such-host"], 3);

    // The rules and their measures are registered, and status shows the automatic results.
    let checks = env.json(&["checks", "list"], 0);
    for (rule, measure) in [
        ("ASSET-HW-INVENTORY", "INV-01"),
        ("ASSET-SW-VERSIONS", "INV-02"),
        ("ASSET-UNKNOWN-DEVICE", "INV-05"),
        ("ASSET-STALE", "VUL-03"),
        ("ASSET-OS-END-OF-LIFE", "VUL-02"),
    ] {
        let r = checks
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == rule)
            .unwrap_or_else(|| panic!("{rule} not listed"));
        assert!(
            r["measures"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == measure),
            "{r}"
        );
    }
    let status = env.json(&["status", F], 0);
    for (measure, expected) in [
        ("INV-01", "verified"),
        ("INV-02", "verified"),
        ("VUL-03", "failing"),
    ] {
        let m = status["measures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == measure)
            .unwrap_or_else(|| panic!("no {measure} in status"));
        assert_eq!(m["status"], expected, "{m}");
    }
}

/// A network namespace with one veth to the test's own namespace, deleted when dropped.
struct Host {
    ns: String,
    listener: Option<Child>,
}

impl Host {
    /// `ip` inside the namespace is `prefix.2/24`, ours `prefix.1`; MAC `mac`; one TCP listener.
    fn new(tag: &str, prefix: &str, mac: &str, port: u16) -> Host {
        let ns = format!("hyinv-{tag}-{}", std::process::id());
        let outer = format!("hyi{tag}{}", std::process::id() % 100_000);
        let run = |args: &[&str]| {
            sh(Command::new("ip").args(args));
        };
        run(&["netns", "add", &ns]);
        let host = Host {
            ns: ns.clone(),
            listener: None,
        };
        run(&[
            "link", "add", &outer, "type", "veth", "peer", "name", "eth0", "netns", &ns,
        ]);
        run(&["addr", "add", &format!("{prefix}.1/24"), "dev", &outer]);
        run(&["link", "set", &outer, "up"]);
        let inside = |args: &[&str]| {
            let mut v = vec!["netns", "exec", ns.as_str(), "ip"];
            v.extend_from_slice(args);
            sh(Command::new("ip").args(&v));
        };
        inside(&["link", "set", "eth0", "address", mac]);
        inside(&["addr", "add", &format!("{prefix}.2/24"), "dev", "eth0"]);
        inside(&["link", "set", "eth0", "up"]);
        inside(&["link", "set", "lo", "up"]);
        let listener = Command::new("ip")
            .args(["netns", "exec", &ns, "python3", "-c"])
            .arg(format!(
                "import socket,time\ns=socket.socket()\ns.bind(('{prefix}.2',{port}))\ns.listen(8)\nprint('ok',flush=True)\nwhile True:\n  c,_=s.accept();c.close()"
            ))
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut host = host;
        let mut listener = listener;
        let mut line = String::new();
        use std::io::BufRead;
        std::io::BufReader::new(listener.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ok");
        host.listener = Some(listener);
        host
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut l) = self.listener.take() {
            let _ = l.kill();
            let _ = l.wait();
        }
        // Deleting the namespace deletes its veth, and with it our end.
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

#[test]
fn a_real_nmap_scan_reports_the_device_the_inventory_does_not_know() {
    if !have(&["nmap", "ip", "python3"], true) {
        return;
    }
    let n = 100 + std::process::id() % 100;
    let (pk, pu) = (format!("10.231.{n}"), format!("10.232.{n}"));
    let known = Host::new("k", &pk, "02:77:00:00:00:02", 8080);
    let unknown = Host::new("u", &pu, "02:77:00:00:00:03", 2222);
    let env = Hygie::sqlite().in_lang("en");
    env.add(&HOSPITAL);
    // The facility's list knows one of the two, by its MAC address.
    let csv = env.file(
        "devices.csv",
        "hostname;mac;category;owner;zone\nlabo-analyseur;02:77:00:00:00:02;medical;Biomédical;Labo\n",
    );
    env.json(
        &[
            "inventory",
            "import",
            "--facility",
            F,
            "--source",
            "csv",
            csv.to_str().unwrap(),
        ],
        0,
    );
    let scan = env.path().join("scan.xml");
    sh(Command::new("nmap").args([
        "-n",
        "-Pn",
        "-T4",
        "-p",
        "22,2222,8080",
        "-oX",
        scan.to_str().unwrap(),
        &format!("{pk}.2"),
        &format!("{pu}.2"),
    ]));
    let imported = env.json(
        &[
            "inventory",
            "import",
            "--facility",
            F,
            "--source",
            "nmap",
            scan.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(imported["observations"], 2, "{imported}");
    assert_eq!(imported["new_assets"], 1, "{imported}");
    let unknown_device = finding(&imported, "ASSET-UNKNOWN-DEVICE");
    assert_eq!(unknown_device["outcome"], "fail");
    assert_eq!(
        unknown_device["objects"],
        serde_json::json!([format!("{pu}.2")]),
        "{imported}"
    );
    let list = env.json(&["inventory", "list", "--facility", F], 0);
    let k = list
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["hostname"] == "labo-analyseur")
        .unwrap();
    assert_eq!(k["category"], "medical");
    assert_eq!(
        k["ports"],
        serde_json::json!([{"protocol": "tcp", "port": 8080, "service": "http-proxy"}]),
        "{k}"
    );
    assert!(
        k["sources"].get("nmap").is_some() && k["sources"].get("csv").is_some(),
        "{k}"
    );
    let u = env.json(
        &["inventory", "show", "--facility", F, "02:77:00:00:00:03"],
        0,
    );
    assert_eq!(u["asset"]["ports"][0]["port"], 2222, "{u}");
    drop((known, unknown));
}

#[test]
fn bad_input_is_refused_with_file_and_line_and_stores_nothing() {
    let env = Hygie::sqlite().in_lang("en");
    env.add(&HOSPITAL);
    let good = "<?xml version=\"1.0\"?>\n<REQUEST>\n<CONTENT>\n<HARDWARE><NAME>PC-1</NAME></HARDWARE>\n<SOFTWARES><NAME>a</NAME><VERSION>1</VERSION></SOFTWARES>\n</CONTENT>\n</REQUEST>\n";
    let ok = env.file("ok.xml", good);
    let malformed = env.file(
        "malformed.xml",
        &good.replace("</NAME></HARDWARE>", "</HARDWARE>"),
    );
    let truncated = env.file("truncated.xml", &good[..good.find("</VERSION>").unwrap()]);
    let scan = env.file("scan.xml", "<nmaprun>\n<host><status state=\"up\"/>\n<address addr=\"10.0.0.999\" addrtype=\"ipv4\"/></host></nmaprun>");
    let empty_scan = env.file("empty-scan.xml", "<nmaprun start=\"1765056000\"></nmaprun>");
    for (source, good_file, file, expect) in [
        (
            "fusioninventory",
            &ok,
            &malformed,
            "malformed.xml:4: in <NAME>",
        ),
        (
            "ocs",
            &ok,
            &truncated,
            "truncated.xml:5: in <VERSION>: truncated file",
        ),
        ("nmap", &empty_scan, &scan, "scan.xml:3: in <address>"),
    ] {
        // A good file before the bad one: nothing of either is kept.
        let err = env.stderr(
            &[
                "inventory",
                "import",
                "--facility",
                F,
                "--source",
                source,
                good_file.to_str().unwrap(),
                file.to_str().unwrap(),
            ],
            2,
        );
        assert!(err.contains(expect), "{source}: {err}");
    }
    env.run(
        &[
            "inventory",
            "import",
            "--facility",
            F,
            "--source",
            "snmp",
            ok.to_str().unwrap(),
        ],
        2,
    );
    assert_eq!(
        env.json(&["inventory", "list", "--facility", F], 0),
        serde_json::json!([])
    );
    let journal = env.stdout(&["journal", "list"], 0);
    assert!(!journal.contains("inventory.import"), "{journal}");
    // The good file alone goes in.
    env.json(
        &[
            "inventory",
            "import",
            "--facility",
            F,
            "--source",
            "fusioninventory",
            ok.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(
        env.json(&["inventory", "list", "--facility", F], 0)
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// An NVD CVE API 2.0 file with one CVE per (id, cpe, range) given.
fn nvd_feed(cves: &[(&str, &str, Value)]) -> String {
    let items: Vec<Value> = cves
        .iter()
        .map(|(id, cpe, range)| {
            let mut m = serde_json::json!({"vulnerable": true, "criteria": cpe,
                "matchCriteriaId": "00000000-0000-0000-0000-000000000000"});
            for (k, v) in range.as_object().unwrap() {
                m[k] = v.clone();
            }
            serde_json::json!({"cve": {"id": id, "sourceIdentifier": "test",
                "published": "2026-01-01T00:00:00.000", "lastModified": "2026-01-02T00:00:00.000",
                "vulnStatus": "Analyzed", "descriptions": [{"lang": "en", "value": "test"}],
                "metrics": {"cvssMetricV31": [{"cvssData": {"version": "3.1", "baseScore": 9.8}}]},
                "configurations": [{"nodes": [{"operator": "OR", "negate": false, "cpeMatch": [m]}]}]}})
        })
        .collect();
    serde_json::json!({"resultsPerPage": items.len(), "startIndex": 0,
        "totalResults": items.len(), "format": "NVD_CVE", "version": "2.0",
        "timestamp": "2026-12-01T10:00:00.000", "vulnerabilities": items})
    .to_string()
}

fn kev_feed(ids: &[&str]) -> String {
    let v: Vec<Value> = ids
        .iter()
        .map(|id| {
            serde_json::json!({"cveID": id, "vendorProject": "GNU", "product": "Bash",
            "vulnerabilityName": "test", "dateAdded": "2026-11-01", "shortDescription": "test",
            "requiredAction": "update", "dueDate": "2026-11-22",
            "knownRansomwareCampaignUse": "Known", "notes": ""})
        })
        .collect();
    serde_json::json!({"title": "CISA Catalog of Known Exploited Vulnerabilities",
        "catalogVersion": "2026.12.01", "dateReleased": "2026-12-01T15:00:00.000Z",
        "count": v.len(), "vulnerabilities": v})
    .to_string()
}

#[test]
fn the_real_agent_inventory_is_matched_against_feeds_naming_packages_installed_here() {
    if !have(&["fusioninventory-inventory", "dpkg-query"], false) {
        return;
    }
    let env = Hygie::sqlite().in_lang("en");
    env.add(&HOSPITAL);
    let fi_file = env.path().join("this-machine.xml");
    let out = Command::new("fusioninventory-inventory")
        .stdout(std::fs::File::create(&fi_file).unwrap())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version_of = |package: &str| {
        sh(Command::new("dpkg-query").args(["-W", "-f", "${Version}", package]))
            .trim()
            .to_owned()
    };
    // bash is NVD's gnu:bash under its own name; libc6 is gnu:glibc (a name that differs).
    let (bash, libc) = (version_of("bash"), version_of("libc6"));
    let upstream = |v: &str| hygie_vuln::version::upstream(v).to_owned();
    let nvd = env.file(
        "nvdcve-2.0-test.json",
        &nvd_feed(&[
            // The installed version is the end, included: vulnerable, and known exploited.
            (
                "CVE-2099-0001",
                "cpe:2.3:a:gnu:bash:*:*:*:*:*:*:*:*",
                serde_json::json!({"versionEndIncluding": upstream(&bash)}),
            ),
            // The installed version is the end, excluded: not vulnerable.
            (
                "CVE-2099-0002",
                "cpe:2.3:a:gnu:bash:*:*:*:*:*:*:*:*",
                serde_json::json!({"versionEndExcluding": upstream(&bash)}),
            ),
            // The installed version is the start, included.
            (
                "CVE-2099-0003",
                "cpe:2.3:a:gnu:glibc:*:*:*:*:*:*:*:*",
                serde_json::json!({"versionStartIncluding": upstream(&libc), "versionEndExcluding": "999"}),
            ),
        ]),
    );
    let kev = env.file(
        "known_exploited_vulnerabilities.json",
        &kev_feed(&["CVE-2099-0001"]),
    );
    env.json(
        &[
            "inventory",
            "import",
            "--facility",
            F,
            "--source",
            "fusioninventory",
            fi_file.to_str().unwrap(),
        ],
        0,
    );
    // Before any feed: not evaluated, never passed.
    let none = env.json(&["inventory", "vulns", "--facility", F], 0);
    assert_eq!(
        none["not_evaluated"][0]["rule"], "ASSET-SW-VULNERABLE",
        "{none}"
    );
    let imported = env.json(
        &["vuln", "import", "--feed", "nvd", nvd.to_str().unwrap()],
        0,
    );
    assert_eq!(imported["records"], 3, "{imported}");
    assert_eq!(imported["released"], "2026-12-01T10:00:00.000");
    env.json(
        &["vuln", "import", "--feed", "kev", kev.to_str().unwrap()],
        0,
    );

    let v = env.json(&["inventory", "vulns", "--facility", F], 0);
    let matches = v["matches"].as_array().unwrap();
    let of = |name: &str| {
        matches
            .iter()
            .find(|m| m["software"] == name)
            .unwrap_or_else(|| panic!("{name} not matched: {v}"))
    };
    let b = of("bash");
    assert_eq!(b["version"], bash.as_str());
    assert_eq!(b["cpe"], "gnu:bash");
    assert_eq!(b["certainty"], "normalised_name");
    assert_eq!(b["kev"], true);
    let ids: Vec<&str> = b["cves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["cve"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["CVE-2099-0001"], "the excluded end is not a match");
    assert_eq!(b["cves"][0]["ransomware"], true);
    let l = of("libc6");
    assert_eq!(
        (l["cpe"].as_str(), l["version"].as_str()),
        (Some("gnu:glibc"), Some(libc.as_str()))
    );
    assert_eq!(matches[0]["software"], "bash", "known exploited first: {v}");
    // Everything else of this machine is listed as unmatched, with why.
    let unmatched = v["unmatched"].as_array().unwrap();
    assert!(unmatched.len() >= 50, "{}", unmatched.len());
    assert!(unmatched.iter().all(|u| u["reason"] == "unknown_product"
        || u["reason"] == "ambiguous"
        || u["reason"] == "no_version"));
    assert_eq!(v["feeds"].as_array().unwrap().len(), 2, "{}", v["feeds"]);
    assert_eq!(v["summary"]["known_exploited"], 1);

    // The rule's run is recorded and its measures are VUL-01 and VUL-03.
    let checks = env.json(&["checks", "list"], 0);
    let rule = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "ASSET-SW-VULNERABLE")
        .unwrap_or_else(|| panic!("not registered: {checks}"));
    assert_eq!(rule["measures"], serde_json::json!(["VUL-01", "VUL-03"]));

    // CSV through the one writer: one row per asset, software and CVE.
    let csv = env.stdout(
        &["--format", "csv", "inventory", "vulns", "--facility", F],
        0,
    );
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "asset,asset_label,software,version,vendor,cpe,certainty,packaged,cve,score,kev,ransomware,kev_due,conditional,certfr"
    );
    let bash_row = lines
        .find(|l| l.contains("CVE-2099-0001"))
        .expect("bash row");
    assert!(
        bash_row.contains(",bash,") && bash_row.contains(",9.8,yes,yes,2026-11-22,no,"),
        "{bash_row}"
    );
    let fr = env.stdout(
        &[
            "--lang",
            "fr",
            "--format",
            "csv",
            "inventory",
            "vulns",
            "--facility",
            F,
        ],
        0,
    );
    assert!(
        fr.starts_with("equipement,nom,logiciel,version,editeur,cpe,certitude"),
        "{fr}"
    );
}

#[test]
fn bad_feeds_are_refused_naming_the_file_and_nothing_is_stored() {
    let env = Hygie::sqlite().in_lang("en");
    let good = nvd_feed(&[(
        "CVE-2099-0001",
        "cpe:2.3:a:gnu:bash:*:*:*:*:*:*:*:*",
        serde_json::json!({}),
    )]);
    let ok = env.file("good.json", &good);
    let malformed = env.file("malformed.json", &good.replacen("\"cve\":", "\"cve\" ", 1));
    let truncated = env.file("truncated.json", &good[..good.len() / 2]);
    let old = env.file("nvdcve-1.1-2023.json", r#"{"CVE_data_type":"CVE","CVE_data_format":"MITRE","CVE_data_version":"4.0","CVE_Items":[]}"#);
    let v3 = env.file(
        "v3.json",
        &good.replace("\"version\":\"2.0\"", "\"version\":\"3.0\""),
    );
    for (feed, file, expect) in [
        ("nvd", &malformed, "malformed.json:1:"),
        ("nvd", &truncated, "truncated file"),
        ("nvd", &old, "NVD 1.1"),
        ("nvd", &v3, "unknown NVD feed version"),
        ("kev", &ok, "not a CISA KEV catalogue"),
    ] {
        let err = env.stderr(
            &[
                "vuln",
                "import",
                "--feed",
                feed,
                ok.to_str().unwrap(),
                file.to_str().unwrap(),
            ],
            2,
        );
        assert!(err.contains(expect), "{feed} {}: {err}", file.display());
        assert!(
            err.contains(file.file_name().unwrap().to_str().unwrap()) || feed == "kev",
            "{err}"
        );
    }
    env.run(
        &["vuln", "import", "--feed", "cve", ok.to_str().unwrap()],
        2,
    );
    assert_eq!(env.json(&["vuln", "feeds"], 0), serde_json::json!([]));
    let journal = env.stdout(&["journal", "list"], 0);
    assert!(!journal.contains("vuln.import"), "{journal}");
    env.json(
        &["vuln", "import", "--feed", "nvd", ok.to_str().unwrap()],
        0,
    );
    assert_eq!(env.json(&["vuln", "feeds"], 0).as_array().unwrap().len(), 1);
}

/// A CERT-FR advisory's JSON as its page publishes it under `json/`.
fn certfr_advisory(reference: &str, title: &str, cves: &[&str]) -> String {
    serde_json::json!({
        "$ref": "https://www.cert.ssi.gouv.fr/openapi.json",
        "affected_systems": [{"description": "HTTP Server versions antérieures à 2.4.51",
            "product": {"name": "HTTP Server", "vendor": {"name": "Apache", "scada": false}}}],
        "affected_systems_content": "", "content": "## Solutions",
        "cves": cves.iter().map(|c| serde_json::json!({"name": c,
            "url": format!("https://www.cve.org/CVERecord?id={c}")})).collect::<Vec<_>>(),
        "links": [], "reference": reference,
        "revisions": [{"description": "Version initiale", "revision_date": "2099-01-02T00:00:00.000000"}],
        "risks": [{"description": "Exécution de code arbitraire à distance"}],
        "summary": "s", "title": title, "vendor_advisories": []
    })
    .to_string()
}

#[test]
fn certfr_advisories_from_a_folder_are_named_beside_the_matches() {
    let env = Hygie::sqlite().in_lang("en");
    env.add(&HOSPITAL);
    let agent = env.file(
        "srv-web.xml",
        "<?xml version=\"1.0\"?>\n<REQUEST>\n<CONTENT>\n<HARDWARE><NAME>SRV-WEB</NAME></HARDWARE>\n<SOFTWARES><NAME>apache2</NAME><PUBLISHER>Debian</PUBLISHER><VERSION>2.4.49-1</VERSION></SOFTWARES>\n</CONTENT>\n</REQUEST>\n",
    );
    env.json(
        &[
            "inventory",
            "import",
            "--facility",
            F,
            "--source",
            "fusioninventory",
            agent.to_str().unwrap(),
        ],
        0,
    );
    let nvd = env.file(
        "nvd.json",
        &nvd_feed(&[(
            "CVE-2099-4177",
            "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*",
            serde_json::json!({"versionEndExcluding": "2.4.51"}),
        )]),
    );
    env.json(
        &["vuln", "import", "--feed", "nvd", nvd.to_str().unwrap()],
        0,
    );

    // A folder of advisories, one of them cut short: refused, naming it; nothing stored.
    let dir = env.path().join("certfr");
    std::fs::create_dir(&dir).unwrap();
    let alert = certfr_advisory(
        "CERTFR-2099-ALE-004",
        "Vulnérabilité dans Apache HTTP Server",
        &["CVE-2099-4177"],
    );
    std::fs::write(dir.join("CERTFR-2099-ALE-004.json"), &alert).unwrap();
    std::fs::write(
        dir.join("CERTFR-2099-AVI-0100.json"),
        certfr_advisory(
            "CERTFR-2099-AVI-0100",
            "Multiples vulnérabilités dans Apache",
            &["CVE-2099-4177", "CVE-2099-0002"],
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("CERTFR-2099-AVI-0101.json"),
        &alert[..alert.len() / 2],
    )
    .unwrap();
    std::fs::write(dir.join("notes.txt"), "not read").unwrap();
    let err = env.stderr(
        &["vuln", "import", "--feed", "certfr", dir.to_str().unwrap()],
        2,
    );
    assert!(
        err.contains("CERTFR-2099-AVI-0101.json:1:") && err.contains("truncated file"),
        "{err}"
    );
    assert_eq!(env.json(&["vuln", "feeds"], 0).as_array().unwrap().len(), 1);
    std::fs::remove_file(dir.join("CERTFR-2099-AVI-0101.json")).unwrap();
    let imported = env.json(
        &["vuln", "import", "--feed", "certfr", dir.to_str().unwrap()],
        0,
    );
    assert_eq!(imported["records"], 2, "{imported}");
    assert_eq!(imported["feed"], "certfr");
    assert_eq!(imported["released"], "2099-01-02T00:00:00.000000");

    let v = env.json(&["inventory", "vulns", "--facility", F], 0);
    assert_eq!(
        v["matches"][0]["certfr"],
        serde_json::json!(["CERTFR-2099-AVI-0100", "CERTFR-2099-ALE-004"]),
        "{v}"
    );
    assert_eq!(v["certfr"]["CERTFR-2099-ALE-004"]["kind"], "alerte");
    assert_eq!(
        v["feeds"].as_array().unwrap().len(),
        2,
        "nvd and certfr: {}",
        v["feeds"]
    );

    // inventory show: the vulnerable software with the advisories and their titles.
    let show = env.json(&["inventory", "show", "--facility", F, "SRV-WEB"], 0);
    assert_eq!(
        show["vulnerabilities"][0]["certfr"][1],
        serde_json::json!({"reference": "CERTFR-2099-ALE-004", "kind": "alerte",
            "title": "Vulnérabilité dans Apache HTTP Server",
            "url": "https://www.cert.ssi.gouv.fr/alerte/CERTFR-2099-ALE-004/"}),
        "{show}"
    );
    let text = env.stdout(
        &[
            "--lang",
            "fr",
            "inventory",
            "show",
            "--facility",
            F,
            "SRV-WEB",
        ],
        0,
    );
    assert!(text.contains("Avis CERT-FR"), "{text}");
    assert!(
        text.contains("CERTFR-2099-ALE-004: Vulnérabilité dans Apache HTTP Server https://www.cert.ssi.gouv.fr/alerte/CERTFR-2099-ALE-004/"),
        "{text}"
    );
}
