//! A hardened synthetic domain on which no rule fires, and helpers to break it.
#![allow(dead_code)]

use hygie_ad::model::{Account, AccountKind, AdSnapshot, Domain, Group, Pso};
use hygie_ad::sd::{self, Ace, SecurityDescriptor};
use hygie_ad::sid::Sid;
use jiff::{Timestamp, ToSpan};

pub const DOMAIN_SID: &str = "S-1-5-21-1-2-3";
pub const BASE: &str = "DC=chu,DC=test";

pub fn as_of() -> Timestamp {
    "2026-11-22T00:00:00Z".parse().expect("fixed date")
}
pub fn days_ago(d: i64) -> Timestamp {
    as_of().checked_sub((d * 24).hours()).expect("in range")
}
pub fn dsid(rid: u32) -> Sid {
    Sid::parse(DOMAIN_SID).expect("sid").child(rid)
}

pub fn user(name: &str, rid: u32) -> Account {
    Account {
        dn: format!("CN={name},CN=Users,{BASE}"),
        name: name.to_string(),
        kind: AccountKind::User,
        sid: Some(dsid(rid)),
        uac: 0x200,
        primary_group_id: Some(513),
        pwd_last_set: Some(days_ago(10)),
        last_logon: Some(days_ago(1)),
        when_created: Some(days_ago(100)),
        spns: vec![],
        enctypes: None,
        delegate_to: vec![],
        rbcd_principals: vec![],
        sid_history: vec![],
        admin_count: false,
        has_mail: false,
        password_attributes: false,
        os: None,
        os_version: None,
        laps_expiry: None,
    }
}

pub fn computer(name: &str, rid: u32) -> Account {
    let mut a = user(&format!("{name}$"), rid);
    a.dn = format!("CN={name},CN=Computers,{BASE}");
    a.kind = AccountKind::Computer;
    a.uac = 0x1000;
    a.primary_group_id = Some(515);
    a.os = Some("Windows 11 Enterprise".into());
    a.laps_expiry = Some(as_of().checked_add(240.hours()).expect("in range"));
    a
}

pub fn group(name: &str, sid: Sid, members: &[&str]) -> Group {
    let dn = if sid.subs.first() == Some(&32) {
        format!("CN={name},CN=Builtin,{BASE}")
    } else {
        format!("CN={name},CN=Users,{BASE}")
    };
    Group {
        dn,
        name: name.to_string(),
        sid: Some(sid),
        members: members.iter().map(|m| m.to_string()).collect(),
    }
}

pub fn user_dn(name: &str) -> String {
    format!("CN={name},CN=Users,{BASE}")
}

fn allow(sid: Sid, mask: u32) -> Ace {
    Ace {
        ace_type: sd::ACE_ALLOWED,
        flags: 0,
        mask,
        object_type: None,
        sid,
    }
}
pub fn allow_obj(sid: Sid, mask: u32, guid: &str) -> Ace {
    Ace {
        ace_type: sd::ACE_ALLOWED_OBJECT,
        flags: 0,
        mask,
        object_type: Some(guid.to_string()),
        sid,
    }
}

pub fn baseline() -> AdSnapshot {
    let mut admin = user("Administrator", 500);
    admin.uac |= 0x100000;
    admin.admin_count = true;
    let mut krbtgt = user("krbtgt", 502);
    krbtgt.uac = 0x202;
    krbtgt.spns = vec!["kadmin/changepw".into()];
    let mut guest = user("Guest", 501);
    guest.uac = 0x222;
    guest.primary_group_id = Some(514);
    let alice = user("alice", 1105);
    let mut dc = computer("DC1", 1000);
    dc.dn = format!("CN=DC1,OU=Domain Controllers,{BASE}");
    dc.uac = 0x82000;
    dc.primary_group_id = Some(516);
    dc.os = Some("Windows Server 2022 Standard".into());
    dc.laps_expiry = None;
    dc.spns = vec!["ldap/dc1.chu.test".into(), "cifs/dc1.chu.test".into()];
    let pc = computer("PC1", 1106);
    let da = user_dn("Domain Admins");
    let groups = vec![
        group("Domain Admins", dsid(512), &[&user_dn("Administrator")]),
        group("Domain Users", dsid(513), &[]),
        group("Domain Computers", dsid(515), &[]),
        group("Domain Controllers", dsid(516), &[]),
        group("Schema Admins", dsid(518), &[]),
        group("Enterprise Admins", dsid(519), &[]),
        group("Protected Users", dsid(525), &[&user_dn("Administrator")]),
        group("Administrators", Sid::builtin(544), &[&da]),
        group("Account Operators", Sid::builtin(548), &[]),
        group("Server Operators", Sid::builtin(549), &[]),
        group("Print Operators", Sid::builtin(550), &[]),
        group("Backup Operators", Sid::builtin(551), &[]),
        group("Pre-Windows 2000 Compatible Access", Sid::builtin(554), &[]),
    ];
    let ba = Sid::builtin(544);
    let system = Sid::parse("S-1-5-18").expect("sid");
    let ed = Sid::parse("S-1-5-9").expect("sid");
    let au = Sid::parse("S-1-5-11").expect("sid");
    let root_sd = SecurityDescriptor {
        owner: Some(ba.clone()),
        dacl: vec![
            allow(system.clone(), sd::RIGHT_GENERIC_ALL),
            allow(ba.clone(), 0xF01FF),
            allow(dsid(512), 0xF01FF),
            allow(au.clone(), 0x20094), // read
            allow_obj(
                ed,
                sd::RIGHT_DS_CONTROL_ACCESS,
                sd::guids::DS_REPLICATION_GET_CHANGES_ALL,
            ),
            allow_obj(
                dsid(516),
                sd::RIGHT_DS_CONTROL_ACCESS,
                sd::guids::DS_REPLICATION_GET_CHANGES_ALL,
            ),
        ],
    };
    let holder_sd = SecurityDescriptor {
        owner: Some(dsid(512)),
        dacl: vec![
            allow(system, sd::RIGHT_GENERIC_ALL),
            allow(ba.clone(), 0xF01FF),
            allow(au, 0x20094),
        ],
    };
    let mut sds = std::collections::BTreeMap::new();
    sds.insert(BASE.to_ascii_lowercase(), root_sd);
    sds.insert(
        format!("CN=AdminSDHolder,CN=System,{BASE}").to_ascii_lowercase(),
        holder_sd.clone(),
    );
    sds.insert(da.to_ascii_lowercase(), holder_sd);
    AdSnapshot {
        domain: Domain {
            dn: BASE.into(),
            sid: Sid::parse(DOMAIN_SID),
            min_pwd_length: 14,
            pwd_properties: 1,
            pwd_history_length: 24,
            max_pwd_age_days: Some(90.0),
            lockout_threshold: 5,
            machine_account_quota: Some(0),
            functional_level: Some(7),
            smartcard_expire_passwords: true,
        },
        accounts: vec![admin, krbtgt, guest, alice, dc, pc],
        groups,
        psos: vec![Pso {
            dn: format!("CN=svc,CN=Password Settings Container,CN=System,{BASE}"),
            name: "svc".into(),
            precedence: 10,
            min_length: 24,
            max_age_days: Some(365.0),
            complexity: true,
            reversible: false,
            history: 24,
            lockout_threshold: 5,
            applies_to: vec![],
        }],
        security_descriptors: sds,
        forest_level: Some(7),
        ds_heuristics: None,
        recycle_bin: true,
        laps_legacy_schema: false,
        laps_windows_schema: true,
        is_samba: false,
    }
}

pub fn acct<'a>(s: &'a mut AdSnapshot, name: &str) -> &'a mut Account {
    s.accounts
        .iter_mut()
        .find(|a| a.name == name)
        .expect("fixture account")
}
pub fn grp<'a>(s: &'a mut AdSnapshot, name: &str) -> &'a mut Group {
    s.groups
        .iter_mut()
        .find(|g| g.name == name)
        .expect("fixture group")
}
/// Add a user; with `admin`, a hardened one: in Domain Admins and Protected Users, adminCount=1,
/// NOT_DELEGATED.
pub fn add_user(s: &mut AdSnapshot, name: &str, rid: u32, admin: bool) {
    let mut u = user(name, rid);
    if admin {
        u.admin_count = true;
        u.uac |= 0x100000;
        grp(s, "Domain Admins").members.push(user_dn(name));
        grp(s, "Protected Users").members.push(user_dn(name));
    }
    s.accounts.push(u);
}
