//! The map of the information system (issue 21): the facility's network zones, the assets in
//! each zone, the flows the firewalls allow between zones, and the assets that matter most
//! marked (medical devices, domain controllers, known-exploited vulnerabilities, end of life).
//!
//! **Where it comes from**, all already stored, nothing recomputed:
//! - the zones and the allowed flows: the summary of the facility's latest `network` check run
//!   (hygie-collect's network collector keeps each zone's name, kind and declared CIDRs, the
//!   reachability matrix of every firewall and the policy violations). Runs recorded before the
//!   CIDRs were kept have zones without addresses: their assets are "in no zone" until the
//!   collector runs again;
//! - the ranges nmap imports were asked to scan (hygie-store's `inventory_scan_ranges`): a
//!   scanned range that no firewall zone covers is drawn as a zone of kind `scan`;
//! - the register and the findings of its latest runs (`vuln`: vulnerable and known exploited;
//!   `inventory`: end of life), as the asset pages read them ([`Findings`]).
//!
//! **Placement**: an asset belongs to the most specific zone holding one of its addresses (the
//! network collector's rule), tried in the register's address order; an asset whose addresses
//! fall in no zone but whose declared zone (the CSV's `zone`) names one goes there; the rest is
//! "in no zone". **A domain controller** is what the directory says is one (the register's
//! `domain_controller`, from the AD snapshot's computer accounts: see `ad`), or what has the open
//! ports of one (Kerberos 88 with LDAP 389, LDAPS 636 or the global catalogue 3268), as nmap
//! sees them.
//!
//! **Flows**: one per (from, to) zone pair, the services of every firewall merged, verdict
//! `forbidden` when the policy forbids the pair (with its rules), else `allowed`.
//!
//! [`IsMap`] is the JSON of `hygie inventory map`, of the web's download and of
//! `GET /api/v1/facilities/{finess}/map`; [`diagram`] turns it into hygie-report's diagram
//! (the SVG); [`text`] is the terminal's view. Pure: the caller reads the store.

use crate::model::Category;
use crate::register::Asset;
use hygie_collect::network::addr::parse_ip;
use hygie_collect::network::model::ZoneModel;
use hygie_core::Lang;
use hygie_report::diagram::{Arrow, BoxLine, Diagram, DiagramBox};
use hygie_report::t;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Zones holding more assets than this are drawn collapsed: counts per category, and only
/// their marked assets listed.
pub const COLLAPSE_OVER: usize = 12;
/// Marked assets listed in a collapsed zone before "+N more".
pub const MARKED_SHOWN: usize = 15;

/// What the latest runs say about the assets: the labels `ASSET-SW-VULNERABLE` and
/// `ASSET-OS-END-OF-LIFE` fail on, and the known-exploited count per asset id (the vuln run's
/// summary).
#[derive(Debug, Clone, Default)]
pub struct Findings {
    pub vulnerable: BTreeSet<String>,
    pub eol: BTreeSet<String>,
    pub kev: BTreeMap<u64, u64>,
}

/// The facility's latest network run: its id, date and stored summary.
#[derive(Debug, Clone, Copy)]
pub struct NetworkRun<'a> {
    pub id: &'a str,
    pub at: jiff::Timestamp,
    pub summary: &'a serde_json::Value,
}

/// A stored summary that does not have the network collector's shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("network run {run}: summary {message} / résumé du passage réseau {run} : {message}")]
pub struct MapError {
    pub run: String,
    pub message: String,
}

/// Why an asset is marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Medical,
    DomainController,
    KnownExploited,
    EndOfLife,
    Vulnerable,
}

impl Mark {
    pub const ALL: [Mark; 5] = [
        Mark::Medical,
        Mark::DomainController,
        Mark::KnownExploited,
        Mark::EndOfLife,
        Mark::Vulnerable,
    ];

    /// As the JSON writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Medical => "medical",
            Mark::DomainController => "domain_controller",
            Mark::KnownExploited => "known_exploited",
            Mark::EndOfLife => "end_of_life",
            Mark::Vulnerable => "vulnerable",
        }
    }

    /// The badge drawn on the map.
    pub fn badge(self, lang: Lang) -> &'static str {
        match self {
            Mark::Medical => t(lang, "MED", "DM"),
            Mark::DomainController => "DC",
            Mark::KnownExploited => "KEV",
            Mark::EndOfLife => t(lang, "EOL", "FDV"),
            Mark::Vulnerable => "CVE",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match self {
            Mark::Medical => t(lang, "medical device", "dispositif médical"),
            Mark::DomainController => t(lang, "domain controller", "contrôleur de domaine"),
            Mark::KnownExploited => t(
                lang,
                "known exploited vulnerability",
                "vulnérabilité exploitée connue",
            ),
            Mark::EndOfLife => t(lang, "end of life", "fin de vie"),
            Mark::Vulnerable => t(lang, "vulnerable software", "logiciel vulnérable"),
        }
    }
}

/// An asset as the map shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapAsset {
    pub id: u64,
    pub label: String,
    pub category: Category,
    pub ips: Vec<String>,
    pub marks: Vec<Mark>,
    /// A medical device, a domain controller, or a server with a known-exploited
    /// vulnerability or at end of life: listed even when its zone is collapsed.
    pub sensitive: bool,
}

/// Where a zone comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZoneOrigin {
    /// The zone model of the network collector's run.
    Firewall,
    /// A range an nmap import scanned, in no firewall zone.
    Scan,
}

impl ZoneOrigin {
    pub const NAMES: [&'static str; 2] = ["firewall", "scan"];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapZone {
    pub name: String,
    /// The zone model's kind (`clinical`, `biomedical`...), or `scan`.
    pub kind: String,
    pub origin: ZoneOrigin,
    pub cidrs: Vec<String>,
    /// Assets per category (`medical`, `server`...).
    pub counts: BTreeMap<Category, usize>,
    pub assets: Vec<MapAsset>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Allowed,
    Forbidden,
}

impl Verdict {
    pub const NAMES: [&'static str; 2] = ["allowed", "forbidden"];
}

/// What the firewalls allow from one zone to another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MapFlow {
    pub from: String,
    pub to: String,
    /// `tcp/443`, `udp/53`, `icmp`, `any`..., every firewall's merged.
    pub services: Vec<String>,
    pub verdict: Verdict,
    /// The policy rules a forbidden flow breaks (`NET-GUEST-ISOLATION`...).
    pub rules: Vec<String>,
    pub firewalls: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRef {
    pub id: String,
    pub at: jiff::Timestamp,
}

/// The map (its JSON is documented in the README).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IsMap {
    /// The network run the zones and flows come from; `None`: no network run yet.
    pub network_run: Option<RunRef>,
    pub zones: Vec<MapZone>,
    pub flows: Vec<MapFlow>,
    /// Assets whose addresses are in no zone.
    pub unzoned: Vec<MapAsset>,
    pub assets: usize,
    pub marked: usize,
}

fn is_dc(a: &Asset) -> bool {
    if a.domain_controller {
        return true;
    }
    let open = |p: u16| a.ports.iter().any(|x| x.port == p && x.protocol == "tcp");
    open(88) && (open(389) || open(636) || open(3268))
}

fn map_asset(a: &Asset, f: &Findings) -> MapAsset {
    let label = a.label();
    let mut marks = Vec::new();
    if a.category == Category::Medical {
        marks.push(Mark::Medical);
    }
    let dc = is_dc(a);
    if dc {
        marks.push(Mark::DomainController);
    }
    let kev = f.kev.get(&a.id).copied().unwrap_or(0) > 0;
    if kev {
        marks.push(Mark::KnownExploited);
    }
    let eol = f.eol.contains(&label);
    if eol {
        marks.push(Mark::EndOfLife);
    }
    if f.vulnerable.contains(&label) && !kev {
        marks.push(Mark::Vulnerable);
    }
    MapAsset {
        id: a.id,
        sensitive: a.category == Category::Medical
            || dc
            || (a.category == Category::Server && (kev || eol)),
        label,
        category: a.category,
        ips: a.ips.iter().cloned().collect(),
        marks,
    }
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Build the map. `scanned`: the ranges of the nmap imports, oldest first.
pub fn build(
    assets: &[Asset],
    findings: &Findings,
    network: Option<NetworkRun<'_>>,
    scanned: &[String],
) -> Result<IsMap, MapError> {
    let mut declared: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut flows: BTreeMap<(String, String), MapFlow> = BTreeMap::new();
    if let Some(run) = network {
        let bad = |m: &str| MapError {
            run: run.id.to_owned(),
            message: m.to_owned(),
        };
        let zones = run.summary["zones"]
            .as_array()
            .ok_or_else(|| bad("has no zones"))?;
        for z in zones {
            let name = z["name"]
                .as_str()
                .ok_or_else(|| bad("zone without a name"))?;
            let kind = z["kind"]
                .as_str()
                .ok_or_else(|| bad("zone without a kind"))?;
            declared.push((name.to_owned(), kind.to_owned(), strings(&z["cidrs"])));
        }
        for fw in run.summary["firewalls"].as_array().into_iter().flatten() {
            let source = fw["firewall"].as_str().unwrap_or_default().to_owned();
            for p in fw["reachability"].as_array().into_iter().flatten() {
                let (Some(from), Some(to)) = (p["from"].as_str(), p["to"].as_str()) else {
                    return Err(bad("reachability without from/to"));
                };
                let e = flows
                    .entry((from.to_owned(), to.to_owned()))
                    .or_insert_with(|| MapFlow {
                        from: from.to_owned(),
                        to: to.to_owned(),
                        services: vec![],
                        verdict: Verdict::Allowed,
                        rules: vec![],
                        firewalls: vec![],
                    });
                for s in strings(&p["services"]) {
                    if !e.services.contains(&s) {
                        e.services.push(s);
                    }
                }
                if !source.is_empty() && !e.firewalls.contains(&source) {
                    e.firewalls.push(source.clone());
                }
            }
        }
        for v in run.summary["violations"].as_array().into_iter().flatten() {
            let key = (
                v["from"].as_str().unwrap_or_default().to_owned(),
                v["to"].as_str().unwrap_or_default().to_owned(),
            );
            if let Some(e) = flows.get_mut(&key) {
                e.verdict = Verdict::Forbidden;
                if let Some(r) = v["rule"].as_str()
                    && !e.rules.iter().any(|x| x == r)
                {
                    e.rules.push(r.to_owned());
                }
            }
        }
    }
    // Zones without addresses (a run recorded before the CIDRs were kept) hold no asset.
    let addressed: Vec<(String, String, Vec<String>)> = declared
        .iter()
        .filter(|(_, k, c)| !c.is_empty() || k == "internet")
        .cloned()
        .collect();
    let mut model = if addressed.is_empty() {
        ZoneModel {
            zones: vec![],
            allow: vec![],
            deny: vec![],
        }
    } else {
        ZoneModel::from_declared(addressed).map_err(|m| MapError {
            run: network.map(|n| n.id.to_owned()).unwrap_or_default(),
            message: m,
        })?
    };
    let mut zones: Vec<MapZone> = declared
        .into_iter()
        .map(|(name, kind, cidrs)| MapZone {
            name,
            kind,
            origin: ZoneOrigin::Firewall,
            cidrs,
            counts: BTreeMap::new(),
            assets: vec![],
        })
        .collect();
    // Scanned ranges no firewall zone covers whole become zones of their own.
    for cidr in scanned {
        let Some(r) = hygie_collect::network::addr::parse_range(cidr) else {
            continue;
        };
        let set = hygie_collect::network::addr::Set::from_ranges(vec![r]);
        let covered = model.zones.iter().any(|z| {
            z.kind != hygie_collect::network::model::Kind::Internet && z.set.union(&set) == z.set
        });
        if covered || zones.iter().any(|z| z.name == *cidr) {
            continue;
        }
        if let Ok(extra) =
            ZoneModel::from_declared(vec![(cidr.clone(), "other".into(), vec![cidr.clone()])])
        {
            model.zones.extend(extra.zones);
            zones.push(MapZone {
                name: cidr.clone(),
                kind: "scan".into(),
                origin: ZoneOrigin::Scan,
                cidrs: vec![cidr.clone()],
                counts: BTreeMap::new(),
                assets: vec![],
            });
        }
    }
    let index: BTreeMap<String, usize> = zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.name.clone(), i))
        .collect();
    let mut unzoned = Vec::new();
    let mut marked = 0;
    for a in assets {
        let m = map_asset(a, findings);
        if !m.marks.is_empty() {
            marked += 1;
        }
        let by_ip = a
            .ips
            .iter()
            .filter_map(|ip| parse_ip(ip))
            .find_map(|ip| model.zone_of(ip))
            .and_then(|i| index.get(&model.zones[i].name).copied());
        let by_name = || a.zone.as_ref().and_then(|z| index.get(z).copied());
        match by_ip.or_else(by_name) {
            Some(i) => {
                *zones[i].counts.entry(a.category).or_default() += 1;
                zones[i].assets.push(m);
            }
            None => unzoned.push(m),
        }
    }
    // A scanned range that holds nothing of its own and overlaps firewall zones (`nmap
    // 10.0.0.0/8`) says nothing the zones do not: left out.
    let firewall: Vec<&hygie_collect::network::addr::Set> = model
        .zones
        .iter()
        .filter(|z| z.kind != hygie_collect::network::model::Kind::Internet && !z.cidrs.is_empty())
        .map(|z| &z.set)
        .collect();
    zones.retain(|z| {
        z.origin == ZoneOrigin::Firewall
            || !z.assets.is_empty()
            || !z
                .cidrs
                .iter()
                .filter_map(|c| hygie_collect::network::addr::parse_range(c))
                .any(|(lo, hi)| {
                    firewall
                        .iter()
                        .any(|s| s.0.iter().any(|(a, b)| *a <= hi && lo <= *b))
                })
    });
    Ok(IsMap {
        network_run: network.map(|n| RunRef {
            id: n.id.to_owned(),
            at: n.at,
        }),
        zones,
        flows: flows.into_values().collect(),
        unzoned,
        assets: assets.len(),
        marked,
    })
}

/// The column of a zone on the map, left to right: outside, exposed, users, servers and
/// devices, administration and the rest.
fn column(kind: &str) -> usize {
    match kind {
        "internet" | "partners" | "guest" => 0,
        "dmz" | "clinical" => 1,
        "servers" | "imaging" | "biomedical" => 2,
        _ => 3,
    }
}

fn icon(c: Category, dc: bool) -> (&'static str, &'static str) {
    if dc {
        return ("D", "dc");
    }
    match c {
        Category::Workstation => ("W", "workstation"),
        Category::Server => ("S", "server"),
        Category::Network => ("N", "network"),
        Category::Printer => ("P", "printer"),
        Category::Medical => ("M", "medical"),
        Category::Unknown => ("?", "unknown"),
    }
}

fn category_label(lang: Lang, c: Category) -> &'static str {
    match c {
        Category::Workstation => t(lang, "workstations", "postes"),
        Category::Server => t(lang, "servers", "serveurs"),
        Category::Network => t(lang, "network devices", "équipements réseau"),
        Category::Printer => t(lang, "printers", "imprimantes"),
        Category::Medical => t(lang, "medical devices", "dispositifs médicaux"),
        Category::Unknown => t(lang, "unknown", "inconnus"),
    }
}

fn asset_line(lang: Lang, a: &MapAsset) -> BoxLine {
    let (i, c) = icon(a.category, a.marks.contains(&Mark::DomainController));
    let ip = a.ips.first().filter(|ip| **ip != a.label);
    BoxLine {
        icon: i.into(),
        icon_class: c.into(),
        text: match ip {
            Some(ip) => format!("{} {ip}", a.label),
            None => a.label.clone(),
        },
        badges: a
            .marks
            .iter()
            .filter(|m| **m != Mark::Medical && **m != Mark::DomainController)
            .map(|m| m.badge(lang).to_owned())
            .collect(),
        strong: a.sensitive,
    }
}

/// The lines of a zone's box: every asset when few, else the counts per category and the
/// marked assets (sensitive first), at most [`MARKED_SHOWN`].
fn zone_lines(lang: Lang, assets: &[MapAsset], counts: &BTreeMap<Category, usize>) -> Vec<BoxLine> {
    if assets.len() <= COLLAPSE_OVER {
        return assets.iter().map(|a| asset_line(lang, a)).collect();
    }
    let mut lines: Vec<BoxLine> = counts
        .iter()
        .map(|(c, n)| {
            let (i, _) = icon(*c, false);
            BoxLine {
                icon: i.into(),
                icon_class: "count".into(),
                text: format!("{n} {}", category_label(lang, *c)),
                ..Default::default()
            }
        })
        .collect();
    let mut marked: Vec<&MapAsset> = assets.iter().filter(|a| !a.marks.is_empty()).collect();
    marked.sort_by_key(|a| (!a.sensitive, a.marks.first().copied(), a.id));
    let more = marked.len().saturating_sub(MARKED_SHOWN);
    lines.extend(
        marked
            .into_iter()
            .take(MARKED_SHOWN)
            .map(|a| asset_line(lang, a)),
    );
    if more > 0 {
        lines.push(BoxLine {
            text: match lang {
                Lang::Fr => format!("+{more} autres marqués"),
                Lang::En => format!("+{more} more marked"),
            },
            ..Default::default()
        });
    }
    lines
}

/// The map as hygie-report's diagram: zones as boxes in columns by kind, flows as arrows
/// labelled with their services (red when forbidden), the assets in no zone in a last box.
pub fn diagram(m: &IsMap, lang: Lang) -> Diagram {
    let mut order: Vec<usize> = (0..m.zones.len()).collect();
    order.sort_by_key(|i| (column(&m.zones[*i].kind), *i));
    let mut at = vec![0usize; m.zones.len()];
    let mut boxes = Vec::new();
    for i in order {
        let z = &m.zones[i];
        at[i] = boxes.len();
        let n = z.assets.len();
        let kind = match (z.origin, lang) {
            (ZoneOrigin::Scan, Lang::Fr) => "plage scannée".to_owned(),
            (ZoneOrigin::Scan, Lang::En) => "scanned range".to_owned(),
            _ => z.kind.clone(),
        };
        boxes.push(DiagramBox {
            column: column(&z.kind),
            title: z.name.clone(),
            subtitle: {
                let cidrs = if z.cidrs.is_empty() {
                    String::new()
                } else {
                    format!(" · {}", z.cidrs.join(" "))
                };
                match lang {
                    Lang::Fr => format!("{kind}{cidrs} · {n} équipement(s)"),
                    Lang::En => format!("{kind}{cidrs} · {n} asset(s)"),
                }
            },
            class: format!("m-zone-{}", z.kind),
            lines: zone_lines(lang, &z.assets, &z.counts),
        });
    }
    let index: BTreeMap<&str, usize> = m
        .zones
        .iter()
        .enumerate()
        .map(|(i, z)| (z.name.as_str(), at[i]))
        .collect();
    let arrows = m
        .flows
        .iter()
        .filter_map(|f| {
            let (a, b) = (index.get(f.from.as_str())?, index.get(f.to.as_str())?);
            let mut label = f
                .services
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(" ");
            if f.services.len() > 3 {
                label.push_str(" …");
            }
            Some(Arrow {
                from: *a,
                to: *b,
                label,
                bad: f.verdict == Verdict::Forbidden,
            })
        })
        .collect();
    if !m.unzoned.is_empty() {
        let mut counts: BTreeMap<Category, usize> = BTreeMap::new();
        for a in &m.unzoned {
            *counts.entry(a.category).or_default() += 1;
        }
        boxes.push(DiagramBox {
            column: 3,
            title: t(lang, "In no zone", "Hors zone").into(),
            subtitle: match lang {
                Lang::Fr => format!("{} équipement(s)", m.unzoned.len()),
                Lang::En => format!("{} asset(s)", m.unzoned.len()),
            },
            class: "m-none".into(),
            lines: zone_lines(lang, &m.unzoned, &counts),
        });
    }
    let when = |at: &jiff::Timestamp| at.strftime("%Y-%m-%d %H:%M UTC").to_string();
    let note = match (&m.network_run, lang) {
        (Some(r), Lang::Fr) => format!(
            "Zones et flux : passage réseau {} du {} · {} équipements, {} marqués",
            r.id,
            when(&r.at),
            m.assets,
            m.marked
        ),
        (Some(r), Lang::En) => format!(
            "Zones and flows: network run {} of {} · {} assets, {} marked",
            r.id,
            when(&r.at),
            m.assets,
            m.marked
        ),
        (None, Lang::Fr) => format!(
            "Aucun passage du collecteur réseau : zones des plages scannées seulement · {} équipements",
            m.assets
        ),
        (None, Lang::En) => format!(
            "No network collector run: zones from scanned ranges only · {} assets",
            m.assets
        ),
    };
    let legend = [
        (
            "medical",
            t(lang, "M medical device", "M dispositif médical"),
        ),
        (
            "dc",
            t(lang, "D domain controller", "D contrôleur de domaine"),
        ),
        ("server", t(lang, "S server", "S serveur")),
        ("workstation", t(lang, "W workstation", "W poste")),
        ("network", t(lang, "N network", "N réseau")),
        (
            "count",
            t(lang, "KEV / EOL / CVE: marks", "KEV / FDV / CVE : marques"),
        ),
    ]
    .into_iter()
    .map(|(c, s)| (c.to_owned(), s.to_owned()))
    .collect();
    Diagram {
        title: t(
            lang,
            "Information system map",
            "Cartographie du système d'information",
        )
        .into(),
        note,
        boxes,
        arrows,
        legend,
    }
}

/// The map for the terminal: zones with their assets (collapsed as on the drawing), then flows.
pub fn text(m: &IsMap, lang: Lang) -> String {
    use std::fmt::Write as _;
    let d = diagram(m, lang);
    let mut o = String::new();
    let _ = writeln!(o, "{}\n{}\n", d.title, d.note);
    for b in &d.boxes {
        let _ = writeln!(o, "[{}] {}", b.title, b.subtitle);
        for l in &b.lines {
            let badges = if l.badges.is_empty() {
                String::new()
            } else {
                format!(" [{}]", l.badges.join(" "))
            };
            let _ = writeln!(
                o,
                "  {} {}{badges}",
                if l.icon.is_empty() { " " } else { &l.icon },
                l.text
            );
        }
    }
    let _ = writeln!(
        o,
        "\n{}",
        t(
            lang,
            "Flows allowed between zones:",
            "Flux autorisés entre zones :"
        )
    );
    if m.flows.is_empty() {
        let _ = writeln!(o, "  {}", t(lang, "none known", "aucun connu"));
    }
    for f in &m.flows {
        let verdict = match f.verdict {
            Verdict::Allowed => t(lang, "allowed", "autorisé").to_owned(),
            Verdict::Forbidden => format!(
                "{} ({})",
                t(lang, "FORBIDDEN", "INTERDIT"),
                f.rules.join(", ")
            ),
        };
        let _ = writeln!(
            o,
            "  {} → {}: {} — {verdict}",
            f.from,
            f.to,
            f.services.join(" ")
        );
    }
    o
}
