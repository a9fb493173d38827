//! Antivirus, patching, Wi-Fi and MFA on generic CSVs, AD snapshots and real hostapd.conf syntax:
//! each rule fires on exactly the seeded assets and stays silent on a compliant set.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use hygie_collect::{antivirus, mfa, patching, wifi};

#[test]
fn antivirus_coverage_signatures_realtime_and_clamav() {
    let d = tempfile::tempdir().unwrap();
    let now: jiff::Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
    let inv = write(
        d.path(),
        "ad.json",
        r#"{"computers": [
        {"name": "PC-001$", "operatingSystem": "Windows 11 Enterprise"},
        {"name": "PC-002$"}, {"name": "PC-003$"}, {"name": "SRV-CLAM$"}, {"name": "PC-NOAV$"},
        {"name": "PC-OFF$", "enabled": false}]}"#,
    );
    let av = write(
        d.path(),
        "edr.csv",
        "host;product;engine_version;signature_version;signature_date;realtime\n\
pc-001.chu.test;Defender;1.1.24;1.421.1;2026-11-22 06:00;yes\n\
PC-002;Defender;1.1.24;1.419.0;2026-11-19 06:00;yes\n\
PC-003;Defender;1.1.24;1.421.1;2026-11-22 07:00;no\n",
    );
    // sigtool --info output of a database built 3 days ago.
    let clam = write(
        d.path(),
        "daily.info",
        "File: daily.cvd\nBuild time: 19 Nov 2026 04:12 -0500\nVersion: 27460\nSignatures: 2070000\nFunctionality level: 90\nVerification OK.\n",
    );
    let i = antivirus::AvInputs {
        inventory: inv.clone(),
        av_csv: vec![av],
        clamav: vec![("SRV-CLAM".into(), clam)],
        max_signature_age_hours: 24,
    };
    let r = hygie_collect::run(&antivirus::Antivirus, &i, now).unwrap();
    assert_eq!(failed(&r, "AV-COVERAGE"), ["PC-NOAV"]);
    assert_eq!(names(&r, "AV-SIGNATURES"), ["PC-002", "SRV-CLAM"]);
    assert_eq!(names(&r, "AV-REALTIME"), ["PC-003"]);
    assert_eq!(r.summary["coverage"], 80.0);

    let good = write(
        d.path(),
        "good.csv",
        "host,product,signature_date,realtime\nPC-001,Defender,2026-11-22 06:00,yes\nPC-002,Defender,2026-11-22 06:00,yes\nPC-003,Defender,2026-11-22 06:00,yes\nSRV-CLAM,ClamAV,2026-11-22 01:00,\nPC-NOAV,SentinelOne,2026-11-21 12:00,on\n",
    );
    let i = antivirus::AvInputs {
        inventory: inv,
        av_csv: vec![good],
        clamav: vec![],
        max_signature_age_hours: 24,
    };
    let r = hygie_collect::run(&antivirus::Antivirus, &i, now).unwrap();
    assert_eq!(r.failed().count(), 0, "{:#?}", r.findings);
    assert_eq!(r.findings.len(), 3);
}

#[test]
fn real_clamav_database_header_when_sigtool_is_installed() {
    if !tool("sigtool", "clamav") {
        return;
    }
    // A CVD header as freshclam writes it; sigtool prints its build time even though the fake
    // database fails signature verification.
    let d = tempfile::tempdir().unwrap();
    let mut cvd = b"ClamAV-VDB:21 Nov 2026 08-23 -0500:27465:2071316:90:00000000000000000000000000000000:X:raynman:1763731380".to_vec();
    cvd.resize(512, b' ');
    let p = d.path().join("daily.cvd");
    std::fs::write(&p, &cvd).unwrap();
    let out = std::process::Command::new("sigtool")
        .arg("--info")
        .arg(&p)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let info = write(d.path(), "daily.info", &text);
    let (date, version) =
        antivirus::parse_clamav(&info, text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        date,
        "2026-11-21T13:23:00Z".parse::<jiff::Timestamp>().unwrap()
    );
    assert_eq!(version.as_deref(), Some("27465"));
}

#[test]
fn patching_end_of_life_and_missing_updates() {
    let d = tempfile::tempdir().unwrap();
    let now: jiff::Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
    let inv = write(
        d.path(),
        "inv.csv",
        "asset,os,os_version,oldest_missing_update\n\
PC-W7,Windows 7 Professional,6.1 (7601),\n\
PC-W10,Windows 10 Enterprise,10.0 (19045),2026-11-01\n\
PC-W11,Windows 11 Enterprise,10.0 (26100),2026-08-01\n\
SRV-2016,Windows Server 2016 Standard,10.0 (14393),\n\
SRV-DEB12,Debian GNU/Linux 12 (bookworm),12.7,\n\
SRV-DEB11,Debian GNU/Linux 11 (bullseye),11.9,\n\
SRV-ODD,Plan 9,4,\n",
    );
    let i = patching::PatchInputs {
        inventory: inv,
        eol_table: None,
        warn_months: 6,
        max_update_age_days: Some(30),
    };
    let r = hygie_collect::run(&patching::Patching, &i, now).unwrap();
    // Windows 10 22H2 ended 2025-10-14, Debian 11 LTS 2026-08-31; Server 2016 ends 2027-01-12.
    assert_eq!(
        names(&r, "PATCH-UNSUPPORTED"),
        ["PC-W10", "PC-W7", "SRV-DEB11"]
    );
    assert_eq!(names(&r, "PATCH-END-SOON"), ["SRV-2016"]);
    assert_eq!(names(&r, "PATCH-MISSING-UPDATES"), ["PC-W11"]);
    assert_eq!(r.summary["unknown_os"][0], "SRV-ODD (Plan 9 4)");

    let good = write(
        d.path(),
        "good.ldif",
        "dn: CN=PC-1,DC=chu,DC=test\nobjectClass: computer\ncn: PC-1\noperatingSystem: Windows 11 Enterprise\noperatingSystemVersion: 10.0 (26200)\n\n\
dn: CN=SRV-1,DC=chu,DC=test\nobjectClass: computer\ncn: SRV-1\noperatingSystem: Windows Server 2022 Standard\noperatingSystemVersion: 10.0 (20348)\n",
    );
    let i = patching::PatchInputs {
        inventory: good,
        eol_table: None,
        warn_months: 6,
        max_update_age_days: None,
    };
    let r = hygie_collect::run(&patching::Patching, &i, now).unwrap();
    assert_eq!(r.failed().count(), 0, "{:#?}", r.findings);
    assert_eq!(r.not_evaluated[0].rule, "PATCH-MISSING-UPDATES");
}

const HOSTAPD_GOOD: &str = "# CHU internal and guest networks
interface=wlan0
driver=nl80211
ssid=CHU-Soins
hw_mode=g
channel=6
ieee8021x=1
wpa=2
wpa_key_mgmt=WPA-EAP
rsn_pairwise=CCMP
ieee80211w=2
auth_server_addr=10.30.0.5
auth_server_port=1812

bss=wlan0_1
ssid=CHU-Invites
wpa=2
wpa_key_mgmt=SAE
rsn_pairwise=CCMP
ieee80211w=2
bridge=br-guest
";

#[test]
fn wifi_hostapd_and_controller_rules() {
    let d = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now();
    let zones = write(
        d.path(),
        "zones.yaml",
        "zones:\n  - {name: guest-wifi, kind: guest, cidrs: [10.50.0.0/16], ssids: [CHU-Invites]}\n  - {name: clinical, kind: clinical, cidrs: [10.10.0.0/16]}\n",
    );
    let bad = write(
        d.path(),
        "hostapd.conf",
        "interface=wlan1\nssid=CHU-Bureautique\nwpa=3\nwpa_passphrase=not-a-real-one\nwpa_key_mgmt=WPA-PSK\nwpa_pairwise=TKIP CCMP\nwps_state=2\n\nbss=wlan1_0\nssid=Old-Biomed\nwep_key0=\"abcde\"\n\nbss=wlan1_1\nssid=Public-Patients\nwpa=2\nwpa_key_mgmt=WPA-PSK\nrsn_pairwise=CCMP\nieee80211w=1\n",
    );
    let ctrl = write(
        d.path(),
        "controller.csv",
        "ssid,security,cipher,wps,pmf,usage,zone\nCHU-Medecins,wpa2-enterprise,ccmp,no,disabled,internal,clinical\nCHU-Visiteurs,open,,no,disabled,guest,clinical\n",
    );
    let i = wifi::WifiInputs {
        hostapd: vec![write(d.path(), "good.conf", HOSTAPD_GOOD), bad],
        controller_csv: vec![ctrl],
        zones: Some(zones.clone()),
        firewalls: None,
    };
    let r = hygie_collect::run(&wifi::Wifi, &i, now).unwrap();
    let ssids = |rule: &str| -> Vec<String> {
        failed(&r, rule)
            .iter()
            .map(|a| a.split(' ').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ssids("WIFI-INTERNAL-ENTERPRISE"),
        ["CHU-Bureautique", "Old-Biomed"]
    );
    assert_eq!(
        ssids("WIFI-WEAK-SECURITY"),
        ["CHU-Bureautique", "CHU-Visiteurs", "Old-Biomed"]
    );
    assert_eq!(ssids("WIFI-WPS"), ["CHU-Bureautique"]);
    assert_eq!(ssids("WIFI-PMF"), ["CHU-Bureautique", "CHU-Medecins"]);
    // Public-Patients: no zone lists it; CHU-Visiteurs: mapped to the clinical zone.
    assert_eq!(
        ssids("WIFI-GUEST-ZONE"),
        ["CHU-Visiteurs", "Public-Patients"]
    );
    assert!(
        failed(&r, "WIFI-WEAK-SECURITY")
            .iter()
            .any(|a| a.contains("hostapd.conf:9") && a.contains("WEP"))
    );

    // The guest zone must also be isolated by the firewall: first a compliant one.
    let isolated = write(
        d.path(),
        "fw-ok.v4",
        "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -s 10.50.0.0/16 ! -d 10.0.0.0/8 -j ACCEPT\nCOMMIT\n",
    );
    let with_fw = |rules: std::path::PathBuf| {
        let mut f = hygie_collect::network::NetInputs::new(std::path::PathBuf::new());
        f.iptables = vec![rules];
        wifi::WifiInputs {
            hostapd: vec![write(d.path(), "good.conf", HOSTAPD_GOOD)],
            controller_csv: vec![],
            zones: Some(zones.clone()),
            firewalls: Some(f),
        }
    };
    let r = hygie_collect::run(&wifi::Wifi, &with_fw(isolated), now).unwrap();
    assert_eq!(r.findings.len(), 5);
    assert_eq!(r.failed().count(), 0, "{:#?}", r.findings);

    // Then one that lets guests reach the clinical zone: the SSID fails, naming the rule.
    let leaky = write(
        d.path(),
        "fw-leak.v4",
        "*filter\n:FORWARD DROP [0:0]\n-A FORWARD -s 10.50.0.0/16 -d 10.10.0.0/16 -p tcp --dport 443 -j ACCEPT\nCOMMIT\n",
    );
    let r = hygie_collect::run(&wifi::Wifi, &with_fw(leaky), now).unwrap();
    let a = failed(&r, "WIFI-GUEST-ZONE");
    assert_eq!(a.len(), 1, "{a:?}");
    assert!(
        a[0].starts_with("CHU-Invites (")
            && a[0].contains("zone 'guest-wifi' not isolated: guest-wifi → clinical: tcp/443 allowed by iptables FORWARD #1")
            && a[0].contains("fw-leak.v4:3"),
        "{}",
        a[0]
    );

    let e = wifi::parse_hostapd(std::path::Path::new("h.conf"), "ssid=x\nwpa 2\n")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("h.conf:2:"), "{e}");
}

#[test]
fn mfa_privileged_remote_patient_record_and_coverage() {
    let d = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now();
    let groups = write(
        d.path(),
        "groups.csv",
        "group,member\nAdmins du domaine,CHU\\adm-alice\nAdmins du domaine,CHU\\adm-bob\nVPN-Users,carol\nVPN-Users,dave\nDPI-Users,erin\nDPI-Users,frank\nMFA-Enrolled,adm-alice\n",
    );
    let idp = write(
        d.path(),
        "idp.csv",
        "userPrincipalName,methods\ncarol@chu.test,microsoftAuthenticator\ndave@chu.test,password\nerin@chu.test,fido2 totp\nfrank@chu.test,\n",
    );
    let base = mfa::MfaInputs {
        groups_csv: Some(groups.clone()),
        privileged_groups: mfa::DEFAULT_PRIVILEGED_GROUPS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        remote_groups: vec!["VPN-Users".into()],
        patient_record_groups: vec!["DPI-Users".into()],
        idp_csv: vec![idp],
        mfa_groups: vec!["MFA-Enrolled".into()],
        min_coverage: 100.0,
        ..Default::default()
    };
    let r = hygie_collect::run(&mfa::Mfa, &base, now).unwrap();
    assert_eq!(failed(&r, "MFA-PRIVILEGED"), ["CHU\\adm-bob"]);
    assert_eq!(failed(&r, "MFA-REMOTE"), ["dave"]);
    assert_eq!(failed(&r, "MFA-PATIENT-RECORD"), ["frank"]);
    assert_eq!(
        failed(&r, "MFA-COVERAGE"),
        ["coverage 50% (3/6) below the 100% target"]
    );

    let required = write(
        d.path(),
        "required.csv",
        "account,privileged,remote,patient_record\nadm-alice,yes,no,no\ncarol,no,yes,no\nerin,no,no,yes\n",
    );
    let i = mfa::MfaInputs {
        required_csv: Some(required),
        groups_csv: Some(groups),
        privileged_groups: vec![],
        remote_groups: vec![],
        patient_record_groups: vec![],
        ..base
    };
    let r = hygie_collect::run(&mfa::Mfa, &i, now).unwrap();
    assert_eq!(r.failed().count(), 0, "{:#?}", r.findings);
    assert_eq!(r.summary["coverage"], 100.0);
}

/// The same memberships read from an AD LDIF export: users' `memberOf` and groups' `member`.
#[test]
fn mfa_memberships_from_an_ad_ldif_export() {
    let d = tempfile::tempdir().unwrap();
    let ldif = write(
        d.path(),
        "ad.ldif",
        "dn: CN=Alice Admin,OU=Admins,DC=chu,DC=test\nobjectClass: user\nsAMAccountName: adm-alice\nmemberOf: CN=Admins du domaine,CN=Users,DC=chu,DC=test\nmemberOf: CN=MFA-Enrolled,OU=Groups,DC=chu,DC=test\n\n\
dn: CN=Bob Admin,OU=Admins,DC=chu,DC=test\nobjectClass: user\nsAMAccountName: adm-bob\n\n\
dn: CN=Carol,OU=Staff,DC=chu,DC=test\nobjectClass: user\nsAMAccountName: carol\n\n\
dn: CN=Admins du domaine,CN=Users,DC=chu,DC=test\nobjectClass: group\nsAMAccountName: Admins du domaine\nmember: CN=Bob Admin,OU=Admins,DC=chu,DC=test\n\n\
dn: CN=VPN-Users,OU=Groups,DC=chu,DC=test\nobjectClass: group\ncn: VPN-Users\nmember: CN=Carol,OU=Staff,DC=chu,DC=test\n",
    );
    let i = mfa::MfaInputs {
        groups_csv: Some(ldif),
        privileged_groups: mfa::DEFAULT_PRIVILEGED_GROUPS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        remote_groups: vec!["VPN-Users".into()],
        mfa_groups: vec!["MFA-Enrolled".into()],
        min_coverage: 100.0,
        ..Default::default()
    };
    let r = hygie_collect::run(&mfa::Mfa, &i, jiff::Timestamp::now()).unwrap();
    assert_eq!(failed(&r, "MFA-PRIVILEGED"), ["adm-bob"]);
    assert_eq!(failed(&r, "MFA-REMOTE"), ["carol"]);
    assert_eq!(
        failed(&r, "MFA-COVERAGE"),
        ["coverage 33.3% (1/3) below the 100% target"]
    );
}

/// The fuzz targets hand the collectors their files from memory: a run from memory must be the
/// run from the same files on disk, and a file absent from memory reads as a missing file.
#[test]
fn files_in_memory_read_as_the_same_files_on_disk() {
    let d = tempfile::tempdir().unwrap();
    let now: jiff::Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
    let files = [
        (
            "inventory.csv",
            "asset,os,os_version,oldest_missing_update\nPC-W7,Windows 7 Professional,6.1 (7601),\nPC-W11,Windows 11 Enterprise,10.0 (26100),2026-08-01\n",
        ),
        ("hostapd.conf", HOSTAPD_GOOD),
    ];
    let mut memory = hygie_collect::InMemory::default();
    for (name, text) in files {
        write(d.path(), name, text);
        memory
            .0
            .insert(d.path().join(name), text.as_bytes().to_vec());
    }
    let patch = patching::PatchInputs {
        inventory: d.path().join("inventory.csv"),
        eol_table: None,
        warn_months: 6,
        max_update_age_days: Some(30),
    };
    let on_disk = hygie_collect::run(&patching::Patching, &patch, now).unwrap();
    let in_memory = hygie_collect::run_from(&patching::Patching, &patch, &memory, now).unwrap();
    assert_eq!(in_memory.to_json(), on_disk.to_json());
    let w = wifi::WifiInputs {
        hostapd: vec![d.path().join("hostapd.conf")],
        ..Default::default()
    };
    let on_disk = hygie_collect::run(&wifi::Wifi, &w, now).unwrap();
    let in_memory = hygie_collect::run_from(&wifi::Wifi, &w, &memory, now).unwrap();
    assert_eq!(in_memory.to_json(), on_disk.to_json());

    let missing = patching::PatchInputs {
        inventory: d.path().join("absent.csv"),
        ..patch
    };
    let e = hygie_collect::run_from(&patching::Patching, &missing, &memory, now)
        .unwrap_err()
        .to_string();
    assert!(e.contains("absent.csv") && e.contains("cannot read"), "{e}");
}
