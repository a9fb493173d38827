//! The IS map from a known zone model: the network collector's own run (zones, an iptables
//! ruleset, its reachability and violations) and a register built by merging observations;
//! placement, marks, flows and verdicts, scanned ranges, collapse, and a well-formed SVG.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hygie_collect::network::{NetInputs, Network};
use hygie_collect::{Collector, InMemory};
use hygie_core::Lang;
use hygie_inventory::map::{self, Findings, Mark, NetworkRun, Verdict, ZoneOrigin};
use hygie_inventory::{Category, Observation, Port, Register, SourceKind};
use std::path::PathBuf;

const ZONES: &str = "zones:
  - {name: clinical, kind: clinical, cidrs: [10.10.0.0/16]}
  - {name: servers, kind: servers, cidrs: [10.20.0.0/24]}
  - {name: biomed, kind: biomedical, cidrs: [10.30.0.0/24]}
  - {name: guest-wifi, kind: guest, cidrs: [10.50.0.0/16]}
  - {name: internet, kind: internet}
";

const RULES: &str = "*filter
:FORWARD DROP [0:0]
-A FORWARD -s 10.10.0.0/16 -d 10.20.0.0/24 -p tcp -m tcp --dport 443 -j ACCEPT
-A FORWARD -s 10.50.0.0/16 -d 10.10.0.0/16 -p tcp -m tcp --dport 3389 -j ACCEPT
COMMIT
";

/// The network collector's summary of a run over ZONES and RULES, as the store keeps it.
fn network_summary() -> serde_json::Value {
    let mut files = InMemory::default();
    files.0.insert("zones.yaml".into(), ZONES.into());
    files.0.insert("rules.v4".into(), RULES.into());
    let mut inputs = NetInputs::new(PathBuf::from("zones.yaml"));
    inputs.iptables.push("rules.v4".into());
    let e = Network.parse(&inputs, &files).unwrap();
    Network.evaluate(&e, jiff::Timestamp::now()).summary
}

fn obs(name: &str, ip: &str, category: Category) -> Observation {
    Observation {
        origin: format!("test:{name}"),
        hostname: Some(name.into()),
        ips: vec![ip.into()],
        category: Some(category),
        ..Default::default()
    }
}

fn register() -> Vec<hygie_inventory::Asset> {
    let now = jiff::Timestamp::now();
    let mut r = Register::new(vec![]);
    let mut dc = obs("dc-1", "10.20.0.10", Category::Server);
    dc.ports = [88, 389, 445]
        .map(|port| Port {
            protocol: "tcp".into(),
            port,
            service: None,
        })
        .to_vec();
    // Ports come from scans.
    r.absorb(SourceKind::Nmap, dc, now);
    let mut all = vec![
        obs("srv-old", "10.20.0.11", Category::Server),
        obs("monitor-3", "10.30.0.7", Category::Medical),
        obs("scanned-1", "192.168.5.9", Category::Unknown),
        obs("lost-1", "172.16.9.9", Category::Unknown),
    ];
    // Twenty workstations: the clinical zone is drawn collapsed.
    for i in 0..20 {
        all.push(obs(
            &format!("pc-{i:02}"),
            &format!("10.10.1.{}", i + 1),
            Category::Workstation,
        ));
    }
    for o in all {
        r.absorb(SourceKind::Csv, o, now);
    }
    r.into_assets()
}

#[test]
fn a_known_zone_model_gives_zones_assets_marks_and_flows() {
    let summary = network_summary();
    let assets = register();
    let id = |name: &str| {
        assets
            .iter()
            .find(|a| a.hostname.as_deref() == Some(name))
            .unwrap()
            .id
    };
    let mut findings = Findings::default();
    findings.eol.insert("srv-old".into());
    findings.kev.insert(id("pc-07"), 2);
    findings.vulnerable.insert("pc-07".into());
    let at = jiff::Timestamp::from_second(1_765_000_000).unwrap();
    let m = map::build(
        &assets,
        &findings,
        Some(NetworkRun {
            id: "run-1",
            at,
            summary: &summary,
        }),
        &[
            "192.168.5.0/24".into(),
            "10.10.0.0/24".into(),
            "10.0.0.0/8".into(),
        ],
    )
    .unwrap();

    // The zone model's five zones, then the scanned range no zone covers (10.10.0.0/24 is
    // inside clinical: not a zone of its own; 10.0.0.0/8 holds nothing the zones do not hold).
    let names: Vec<(&str, &str, ZoneOrigin)> = m
        .zones
        .iter()
        .map(|z| (z.name.as_str(), z.kind.as_str(), z.origin))
        .collect();
    assert_eq!(
        names,
        [
            ("clinical", "clinical", ZoneOrigin::Firewall),
            ("servers", "servers", ZoneOrigin::Firewall),
            ("biomed", "biomedical", ZoneOrigin::Firewall),
            ("guest-wifi", "guest", ZoneOrigin::Firewall),
            ("internet", "internet", ZoneOrigin::Firewall),
            ("192.168.5.0/24", "scan", ZoneOrigin::Scan),
        ]
    );
    let zone = |n: &str| m.zones.iter().find(|z| z.name == n).unwrap();
    assert_eq!(zone("clinical").assets.len(), 20);
    assert_eq!(zone("clinical").counts[&Category::Workstation], 20);
    assert_eq!(zone("clinical").cidrs, ["10.10.0.0/16"]);
    let servers = &zone("servers").assets;
    assert_eq!(servers.len(), 2);
    let dc = servers.iter().find(|a| a.label == "dc-1").unwrap();
    assert_eq!(dc.marks, [Mark::DomainController]);
    assert!(dc.sensitive);
    let old = servers.iter().find(|a| a.label == "srv-old").unwrap();
    assert_eq!(old.marks, [Mark::EndOfLife]);
    assert!(old.sensitive, "a server at end of life is sensitive");
    let monitor = &zone("biomed").assets[0];
    assert_eq!(
        (monitor.marks.as_slice(), monitor.sensitive),
        ([Mark::Medical].as_slice(), true)
    );
    let pc7 = zone("clinical")
        .assets
        .iter()
        .find(|a| a.label == "pc-07")
        .unwrap();
    assert_eq!(pc7.marks, [Mark::KnownExploited]);
    assert!(!pc7.sensitive, "a workstation is marked, not sensitive");
    assert_eq!(zone("192.168.5.0/24").assets[0].label, "scanned-1");
    assert_eq!(
        m.unzoned
            .iter()
            .map(|a| a.label.as_str())
            .collect::<Vec<_>>(),
        ["lost-1"]
    );
    assert_eq!((m.assets, m.marked), (25, 4));
    assert_eq!(m.network_run.as_ref().unwrap().id, "run-1");

    // Flows: clinical → servers on 443 is allowed; guest → clinical breaks the guest isolation.
    let flow = |a: &str, b: &str| m.flows.iter().find(|f| f.from == a && f.to == b).unwrap();
    let ok = flow("clinical", "servers");
    assert_eq!(
        (ok.services.as_slice(), ok.verdict),
        (["tcp/443".to_owned()].as_slice(), Verdict::Allowed)
    );
    assert_eq!(ok.firewalls, ["rules.v4"]);
    let bad = flow("guest-wifi", "clinical");
    assert_eq!(bad.services, ["tcp/3389"]);
    assert_eq!(bad.verdict, Verdict::Forbidden);
    assert_eq!(bad.rules, ["NET-GUEST-ISOLATION"]);
    assert_eq!(m.flows.len(), 2);

    // The JSON names its enums as the OpenAPI document lists them.
    let j = serde_json::to_value(&m).unwrap();
    assert_eq!(j["zones"][5]["origin"], ZoneOrigin::NAMES[1]);
    assert_eq!(j["flows"][1]["verdict"], Verdict::NAMES[1]);
    for mk in Mark::ALL {
        assert_eq!(serde_json::to_value(mk).unwrap(), mk.as_str());
    }

    // The drawing: the clinical zone collapsed to its count and its marked asset, the
    // servers listed, the forbidden flow red; text says the same in French.
    let d = map::diagram(&m, Lang::En);
    let clinical = d.boxes.iter().find(|b| b.title == "clinical").unwrap();
    let lines: Vec<&str> = clinical.lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(lines, ["20 workstations", "pc-07 10.10.1.8"]);
    assert_eq!(clinical.column, 1);
    assert_eq!(
        d.boxes
            .iter()
            .find(|b| b.title == "guest-wifi")
            .unwrap()
            .column,
        0
    );
    assert_eq!(d.arrows.iter().filter(|a| a.bad).count(), 1);
    assert_eq!(d.boxes.last().unwrap().title, "In no zone");
    let svg = hygie_report::diagram::svg(&d);
    well_formed(&svg);
    assert!(svg.contains(">tcp/3389</text>"), "{svg}");
    let text = map::text(&m, Lang::Fr);
    assert!(
        text.contains("guest-wifi → clinical: tcp/3389 — INTERDIT (NET-GUEST-ISOLATION)"),
        "{text}"
    );
    assert!(text.contains("20 postes"), "{text}");
}

#[test]
fn without_network_run_zones_come_from_scans_and_an_old_summary_places_nothing() {
    let assets = register();
    let m = map::build(
        &assets,
        &Findings::default(),
        None,
        &["10.10.0.0/16".into()],
    )
    .unwrap();
    assert!(m.network_run.is_none() && m.flows.is_empty());
    assert_eq!(m.zones.len(), 1);
    assert_eq!(m.zones[0].assets.len(), 20);
    assert_eq!(m.unzoned.len(), 5);

    // A run recorded before zones kept their CIDRs: zones drawn, every asset in no zone.
    let mut old = network_summary();
    for z in old["zones"].as_array_mut().unwrap() {
        z.as_object_mut().unwrap().remove("cidrs");
    }
    let at = jiff::Timestamp::now();
    let m = map::build(
        &assets,
        &Findings::default(),
        Some(NetworkRun {
            id: "r",
            at,
            summary: &old,
        }),
        &[],
    )
    .unwrap();
    assert_eq!(m.zones.len(), 5);
    assert_eq!(m.unzoned.len(), 25);
    assert_eq!(m.flows.len(), 2);

    // A summary of another shape is refused, naming the run.
    let e = map::build(
        &assets,
        &Findings::default(),
        Some(NetworkRun {
            id: "r9",
            at,
            summary: &serde_json::json!({}),
        }),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("r9") && e.contains("no zones"), "{e}");
}

#[test]
fn five_hundred_assets_in_ten_zones_stay_readable() {
    let kinds = [
        "clinical",
        "servers",
        "biomedical",
        "guest",
        "admin",
        "dmz",
        "imaging",
        "partners",
        "other",
        "clinical",
    ];
    let summary = serde_json::json!({
        "zones": (0..10).map(|i| serde_json::json!({"name": format!("z{i}"), "kind": kinds[i], "cidrs": [format!("10.{i}.0.0/16")]})).collect::<Vec<_>>(),
        "firewalls": [{"firewall": "fw", "reachability": (0..9).map(|i| serde_json::json!({"from": format!("z{i}"), "to": format!("z{}", i + 1), "services": ["tcp/443", "tcp/22", "udp/53", "icmp"], "by": []})).collect::<Vec<_>>()}],
        "violations": [],
    });
    let now = jiff::Timestamp::now();
    let mut r = Register::new(vec![]);
    for n in 0..500u32 {
        let cat = if n % 50 == 0 {
            Category::Medical
        } else {
            Category::Workstation
        };
        r.absorb(
            SourceKind::Csv,
            obs(
                &format!("h{n}"),
                &format!("10.{}.{}.{}", n % 10, n / 250, n % 250 + 1),
                cat,
            ),
            now,
        );
    }
    let assets = r.into_assets();
    let m = map::build(
        &assets,
        &Findings::default(),
        Some(NetworkRun {
            id: "r",
            at: now,
            summary: &summary,
        }),
        &[],
    )
    .unwrap();
    assert_eq!(m.zones.iter().map(|z| z.assets.len()).sum::<usize>(), 500);
    let d = map::diagram(&m, Lang::En);
    // Each zone of 50 assets: one count line per category and its medical devices listed.
    for b in &d.boxes {
        assert!(
            b.lines.len() <= 2 + map::MARKED_SHOWN,
            "{}: {} lines",
            b.title,
            b.lines.len()
        );
    }
    let svg = hygie_report::diagram::svg(&d);
    well_formed(&svg);
    assert!(svg.len() < 60_000, "{} bytes", svg.len());
    assert_eq!(svg.matches("<path class=\"m-arrow").count(), 9);
    assert!(svg.contains("…"), "labels of four services are cut");
}

/// Parse `svg` as XML to its end: every element closed, every attribute quoted, the root `svg`.
fn well_formed(svg: &str) {
    let mut reader = quick_xml::Reader::from_str(svg);
    let mut depth = 0i32;
    let mut root = None;
    loop {
        match reader
            .read_event()
            .unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"))
        {
            quick_xml::events::Event::Start(e) => {
                if root.is_none() {
                    root = Some(String::from_utf8_lossy(e.name().as_ref()).into_owned());
                }
                for a in e.attributes() {
                    a.unwrap();
                }
                depth += 1;
            }
            quick_xml::events::Event::End(_) => depth -= 1,
            quick_xml::events::Event::Empty(e) => {
                for a in e.attributes() {
                    a.unwrap();
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!((depth, root.as_deref()), (0, Some("svg")));
}

/// A domain controller the directory names (a server trust account) is one on the map even
/// though no scan saw its ports; a later snapshot where the account is a member server again
/// (demoted) takes the mark away.
#[test]
fn the_directory_names_domain_controllers_without_a_scan() {
    let summary = network_summary();
    let ldif = |uac: u32| {
        format!(
            "dn: DC=chu,DC=test\nobjectClass: domainDNS\n\n\
dn: CN=AD-02,OU=Serveurs,DC=chu,DC=test\nobjectClass: computer\nsAMAccountName: AD-02$\nuserAccountControl: {uac}\noperatingSystem: Windows Server 2022 Standard\n"
        )
    };
    let now = jiff::Timestamp::now();
    let mut r = Register::new(vec![]);
    for o in hygie_inventory::read(SourceKind::Ad, "ad.ldif", ldif(532_480).as_bytes()).unwrap() {
        r.absorb(SourceKind::Ad, o, now);
    }
    // The agent places it in the servers zone; its ports were never scanned.
    r.absorb(
        SourceKind::Csv,
        obs("ad-02", "10.20.0.20", Category::Server),
        now,
    );
    let assets = r.clone().into_assets();
    assert_eq!(assets.len(), 1, "one device: the account and the CSV line");
    assert!(assets[0].domain_controller && assets[0].ports.is_empty());
    assert_eq!(assets[0].category, Category::Server);
    let run = NetworkRun {
        id: "run-1",
        at: now,
        summary: &summary,
    };
    let m = map::build(&assets, &Findings::default(), Some(run), &[]).unwrap();
    let servers = &m.zones.iter().find(|z| z.name == "servers").unwrap().assets;
    assert_eq!(servers[0].marks, [Mark::DomainController]);
    assert!(servers[0].sensitive);

    let later = now
        .checked_add(jiff::SignedDuration::from_hours(1))
        .unwrap();
    let mut demoted =
        hygie_inventory::read(SourceKind::Ad, "ad2.ldif", ldif(4096).as_bytes()).unwrap();
    demoted[0].seen = Some(later);
    r.absorb(SourceKind::Ad, demoted.remove(0), later);
    let assets = r.into_assets();
    assert!(!assets[0].domain_controller);
    let m = map::build(&assets, &Findings::default(), Some(run), &[]).unwrap();
    let servers = &m.zones.iter().find(|z| z.name == "servers").unwrap().assets;
    assert!(servers[0].marks.is_empty() && !servers[0].sensitive);
}
