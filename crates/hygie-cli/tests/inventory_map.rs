//! `hygie inventory map` end to end (issue 21): a network collector run (zone model and an
//! iptables ruleset) and an nmap scan imported; the map as JSON (zones with their assets and
//! marks, the scanned range, flows with their verdict), as SVG (parsed as XML here) and as
//! text; the facility's PDF report carries it. Bad formats are refused.
#![allow(clippy::unwrap_used)]

mod common;

use common::{FINESS, HOSPITAL, Hygie};

const ZONES: &str = "zones:
  - {name: clinical, kind: clinical, cidrs: [10.10.0.0/16]}
  - {name: pacs, kind: imaging, cidrs: [10.20.0.0/24]}
  - {name: guest-wifi, kind: guest, cidrs: [10.50.0.0/16]}
  - {name: internet, kind: internet}
";

const RULES: &str = "*filter
:FORWARD DROP [0:0]
-A FORWARD -s 10.10.0.0/16 -d 10.20.0.0/24 -p tcp -m tcp --dport 104 -j ACCEPT
-A FORWARD -s 10.50.0.0/16 -d 10.20.0.0/24 -p tcp -m multiport --dports 104,11112 -j ACCEPT
COMMIT
";

/// An nmap scan of the PACS zone and of a range no zone declares: a PACS server, a domain
/// controller (Kerberos and LDAP open), a camera on the undeclared range, a host outside both.
fn scan() -> String {
    let host = |ip: &str, mac: &str, name: &str, ports: &[u16]| {
        let ports: String = ports
            .iter()
            .map(|p| format!(r#"<port protocol="tcp" portid="{p}"><state state="open"/><service name="x"/></port>"#))
            .collect();
        format!(
            r#"<host starttime="1765056010"><status state="up"/><address addr="{ip}" addrtype="ipv4"/><address addr="{mac}" addrtype="mac"/><hostnames><hostname name="{name}" type="PTR"/></hostnames><ports>{ports}</ports></host>
"#
        )
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<nmaprun scanner="nmap" args="nmap -sV -oX scan.xml 10.20.0.0/24 192.168.7.0/24" start="1765056000" version="7.93">
{}{}{}{}<runstats><finished time="1765056030"/></runstats>
</nmaprun>"#,
        host("10.20.0.5", "02:00:00:00:00:05", "pacs-1", &[104]),
        host("10.20.0.10", "02:00:00:00:00:10", "dc-1", &[88, 389, 445]),
        host("192.168.7.9", "02:00:00:00:00:09", "cam-9", &[554]),
        host("172.16.3.3", "02:00:00:00:00:33", "stray", &[22]),
    )
}

fn setup() -> Hygie {
    let h = Hygie::sqlite();
    h.run(&["init"], 0);
    h.add(&HOSPITAL);
    let zones = h.file("zones.yaml", ZONES);
    let rules = h.file("rules.v4", RULES);
    let scan = h.file("scan.xml", &scan());
    // The guest Wi-Fi reaches the PACS: the audit fails (exit 5) and records its run.
    h.run(
        &[
            "audit",
            "network",
            "--facility",
            FINESS,
            "--zones",
            zones.to_str().unwrap(),
            "--iptables",
            rules.to_str().unwrap(),
        ],
        5,
    );
    h.run(
        &[
            "inventory",
            "import",
            "--facility",
            FINESS,
            "--source",
            "nmap",
            scan.to_str().unwrap(),
        ],
        0,
    );
    h
}

#[test]
fn the_map_as_json_svg_and_text_and_in_the_pdf_report() {
    let h = setup();
    let m = h.json(&["inventory", "map", "--facility", FINESS], 0);
    let zones: Vec<(&str, &str, usize)> = m["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| {
            (
                z["name"].as_str().unwrap(),
                z["origin"].as_str().unwrap(),
                z["assets"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        zones,
        [
            ("clinical", "firewall", 0),
            ("pacs", "firewall", 2),
            ("guest-wifi", "firewall", 0),
            ("internet", "firewall", 0),
            ("192.168.7.0/24", "scan", 1),
        ],
        "{m}"
    );
    let pacs = m["zones"][1]["assets"].as_array().unwrap();
    let dc = pacs.iter().find(|a| a["label"] == "dc-1").unwrap();
    assert_eq!(dc["marks"], serde_json::json!(["domain_controller"]));
    assert_eq!(dc["sensitive"], true);
    assert_eq!(m["zones"][1]["cidrs"], serde_json::json!(["10.20.0.0/24"]));
    assert_eq!(m["unzoned"][0]["label"], "stray");
    let flows: Vec<(&str, &str, &str)> = m["flows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["from"].as_str().unwrap(),
                f["to"].as_str().unwrap(),
                f["verdict"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flows,
        [
            ("clinical", "pacs", "allowed"),
            ("guest-wifi", "pacs", "forbidden")
        ]
    );
    assert_eq!(
        m["flows"][1]["services"],
        serde_json::json!(["tcp/104,11112"])
    );
    assert_eq!(
        m["flows"][1]["rules"],
        serde_json::json!(["NET-GUEST-ISOLATION"])
    );

    // SVG, to a file: a well-formed document whose root is <svg>, naming zones and flows.
    let out = h.path().join("map.svg");
    h.run(
        &[
            "inventory",
            "map",
            "--facility",
            FINESS,
            "--format",
            "svg",
            "-o",
            out.to_str().unwrap(),
        ],
        0,
    );
    let svg = std::fs::read_to_string(&out).unwrap();
    let texts = xml_texts(&svg);
    for want in [
        "pacs",
        "dc-1 10.20.0.10",
        "192.168.7.0/24",
        "tcp/104,11112",
        "In no zone",
    ] {
        assert!(texts.iter().any(|t| t == want), "{want} not in {texts:?}");
    }
    assert_eq!(
        svg,
        h.stdout(
            &["inventory", "map", "--facility", FINESS, "--format", "svg"],
            0
        ),
        "the same bytes each time"
    );

    // Text, in French.
    let text = h.stdout(
        &[
            "inventory",
            "map",
            "--facility",
            FINESS,
            "--format",
            "text",
            "--lang",
            "fr",
        ],
        0,
    );
    assert!(
        text.contains("guest-wifi → pacs: tcp/104,11112 — INTERDIT (NET-GUEST-ISOLATION)"),
        "{text}"
    );
    assert!(text.contains("[Hors zone]"), "{text}");

    // Refused: a format the map has not; a facility that does not exist.
    let e = h.stderr(
        &["inventory", "map", "--facility", FINESS, "--format", "csv"],
        2,
    );
    assert!(e.contains("json, svg or text"), "{e}");
    h.run(&["inventory", "map", "--facility", "750000010"], 3);

    // The facility's PDF report draws it.
    if !hygie_testkit::pdf::tools() {
        return;
    }
    let pdf = h.path().join("report.pdf");
    h.run(
        &[
            "status",
            FINESS,
            "--format",
            "pdf",
            "-o",
            pdf.to_str().unwrap(),
        ],
        0,
    );
    let text = hygie_testkit::pdf::text(&pdf);
    assert!(text.contains("Information system map"), "{text}");
    assert!(
        text.contains("192.168.7.0/24") && text.contains("dc-1"),
        "{text}"
    );
}

/// Every text node of an XML document, parsing it whole (a malformed document fails).
fn xml_texts(svg: &str) -> Vec<String> {
    let mut r = quick_xml::Reader::from_str(svg);
    let mut out = Vec::new();
    let mut root = None;
    loop {
        match r
            .read_event()
            .unwrap_or_else(|e| panic!("not XML: {e}\n{svg}"))
        {
            quick_xml::events::Event::Start(e) => {
                root.get_or_insert_with(|| String::from_utf8_lossy(e.name().as_ref()).into_owned());
                for a in e.attributes() {
                    a.unwrap();
                }
            }
            quick_xml::events::Event::Empty(e) => {
                for a in e.attributes() {
                    a.unwrap();
                }
            }
            quick_xml::events::Event::Text(t) => {
                let s = String::from_utf8_lossy(t.as_ref()).trim().to_owned();
                if !s.is_empty() {
                    out.push(s);
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(root.as_deref(), Some("svg"));
    out
}
