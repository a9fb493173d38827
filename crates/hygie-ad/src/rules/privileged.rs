//! Privileged-account rules (PRV-*): administrative groups, their members and the ACLs of tier-0 objects.

use super::*;

pub static PRV_01: Rule = r!(
    "PRV-01",
    Privileged,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_privileged_members" }, Reference { framework: "PingCastle", id: "P-AdminNum" }],
    measures ["INV-04", "IAM-10"],
    thresholds ["max_privileged_accounts", "max_privileged_percent"],
    "Too many privileged accounts",
    "Trop de comptes à privilèges",
    "Every privileged account widens the path to domain control.",
    "Chaque compte à privilèges élargit le chemin vers le contrôle du domaine.",
    "Reduce administrative group membership to the strict minimum; delegate finer rights instead.",
    "Réduire les membres des groupes d'administration au strict minimum ; déléguer des droits plus fins.",
    prv01
);

fn prv01(c: &Ctx<'_>) -> Eval {
    let n = c.privileged_enabled().count();
    let users = c.enabled_users().count();
    let t = c.t();
    let too_many = n > t.max_privileged_accounts as usize
        || (users > 100 && n * 100 > users * t.max_privileged_percent as usize);
    if too_many {
        fail(
            names(c.privileged_enabled()),
            format!("{n} enabled privileged accounts for {users} enabled users"),
        )
    } else {
        Eval::Pass
    }
}
fn group_members_rule(c: &Ctx<'_>, groups: &[Option<usize>], detail: &str) -> Eval {
    let mut out = Vec::new();
    for gi in groups.iter().flatten() {
        let e = c.idx.expand(*gi);
        out.extend(
            e.accounts
                .iter()
                .map(|a| c.snap.accounts[*a].name.clone())
                .filter(|n| !c.cfg.is_exempt(n)),
        );
        out.extend(e.foreign.iter().map(|s| c.idx.sid_name(s)));
    }
    fail_on(out, detail)
}

pub static PRV_02: Rule = r!(
    "PRV-02",
    Privileged,
    3,
    refs [Reference { framework: "PingCastle", id: "P-SchemaAdmin" }],
    measures ["INV-04"],
    thresholds [],
    "Schema Admins is not empty",
    "Le groupe Schema Admins n'est pas vide",
    "Schema changes are rare; permanent members are needless exposure.",
    "Les modifications du schéma sont rares ; des membres permanents exposent inutilement.",
    "Empty Schema Admins and add members only for the duration of a schema change.",
    "Vider Schema Admins et n'ajouter des membres que le temps d'une modification du schéma.",
    prv02
);

fn prv02(c: &Ctx<'_>) -> Eval {
    group_members_rule(c, &[c.idx.domain_group(518)], "Schema Admins has members")
}

pub static PRV_03: Rule = r!(
    "PRV-03",
    Privileged,
    3,
    refs [Reference { framework: "PingCastle", id: "P-OperatorsEmpty" }],
    measures ["INV-04"],
    thresholds [],
    "Operator groups are not empty",
    "Les groupes d'opérateurs ne sont pas vides",
    "Account, Server, Print and Backup Operators have paths to domain control.",
    "Les groupes Account, Server, Print et Backup Operators ont des chemins vers le contrôle du domaine.",
    "Empty these groups and delegate specific rights instead.",
    "Vider ces groupes et déléguer des droits précis à la place.",
    prv03
);

fn prv03(c: &Ctx<'_>) -> Eval {
    let g: Vec<Option<usize>> = [548, 549, 550, 551]
        .iter()
        .map(|r| c.idx.builtin_group(*r))
        .collect();
    group_members_rule(c, &g, "Account/Server/Print/Backup Operators have members")
}

pub static PRV_04: Rule = r!(
    "PRV-04",
    Privileged,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_dont_expire_priv" }, Reference { framework: "PingCastle", id: "P-ServiceDomainAdmin" }],
    measures ["IAM-05", "IAM-11", "IAM-10"],
    thresholds [],
    "Privileged accounts whose password never expires",
    "Comptes à privilèges dont le mot de passe n'expire jamais",
    "Administrator passwords that never change are the most valuable to steal.",
    "Les mots de passe d'administrateurs qui ne changent jamais sont les plus précieux à voler.",
    "Remove DONT_EXPIRE_PASSWORD from privileged accounts and rotate their passwords.",
    "Retirer DONT_EXPIRE_PASSWORD des comptes à privilèges et renouveler leurs mots de passe.",
    prv04
);

fn prv04(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.privileged_enabled()
            .filter(|(_, a)| a.has(uac::DONT_EXPIRE_PASSWORD)),
        "privileged and DONT_EXPIRE_PASSWORD",
    )
}

pub static PRV_05: Rule = r!(
    "PRV-05",
    Privileged,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_password_change_priv" }, Reference { framework: "PingCastle", id: "P-AdminPwdTooOld" }],
    measures ["IAM-05", "IAM-11", "IAM-10"],
    thresholds ["privileged_password_max_age_days"],
    "Privileged account passwords unchanged for more than 3 years",
    "Mots de passe de comptes à privilèges inchangés depuis plus de 3 ans",
    "Old administrator passwords have probably been exposed in some dump or script.",
    "Les anciens mots de passe d'administrateurs ont probablement été exposés.",
    "Change these passwords now; disable the accounts if unused.",
    "Changer ces mots de passe maintenant ; désactiver les comptes inutilisés.",
    prv05
);

fn prv05(c: &Ctx<'_>) -> Eval {
    let days = c.t().privileged_password_max_age_days;
    list_rule(
        c.privileged_enabled()
            .filter(|(_, a)| c.older_than(a.password_set(), days)),
        &format!("privileged password older than {days} days"),
    )
}

pub static PRV_06: Rule = r!(
    "PRV-06",
    Privileged,
    3,
    refs [Reference { framework: "ANSSI", id: "vuln3_protected_users" }, Reference { framework: "PingCastle", id: "P-ProtectedUsers" }],
    measures ["IAM-11"],
    thresholds [],
    "Privileged users not in Protected Users",
    "Utilisateurs à privilèges hors du groupe Protected Users",
    "Protected Users blocks NTLM, RC4, delegation and credential caching for its members.",
    "Protected Users bloque NTLM, RC4, la délégation et la mise en cache des identifiants de ses membres.",
    "Add administrators to Protected Users after testing their tools.",
    "Ajouter les administrateurs à Protected Users après avoir testé leurs outils.",
    prv06
);

fn prv06(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.privileged_enabled()
            .filter(|(i, a)| a.kind == AccountKind::User && !c.idx.protected_users.contains(i)),
        "privileged user not in Protected Users",
    )
}

pub static PRV_07: Rule = r!(
    "PRV-07",
    Privileged,
    3,
    refs [Reference { framework: "PingCastle", id: "P-Inactive" }],
    measures ["IAM-02", "INV-04"],
    thresholds ["inactive_days"],
    "Dormant privileged accounts",
    "Comptes à privilèges dormants",
    "Unused administrator accounts keep full rights for nobody's benefit.",
    "Les comptes d'administrateurs inutilisés gardent tous leurs droits sans utilité.",
    "Disable or remove the privileges of dormant administrator accounts.",
    "Désactiver les comptes d'administrateurs dormants ou leur retirer les privilèges.",
    prv07
);

fn prv07(c: &Ctx<'_>) -> Eval {
    let days = c.t().inactive_days;
    list_rule(
        c.privileged_enabled()
            .filter(|(_, a)| c.older_than(a.last_activity(), days)),
        &format!("privileged, no logon for more than {days} days"),
    )
}

pub static PRV_08: Rule = r!(
    "PRV-08",
    Privileged,
    3,
    refs [Reference { framework: "PingCastle", id: "A-AdminSDHolder" }],
    measures ["INV-04"],
    thresholds [],
    "Former administrators still marked adminCount=1",
    "Anciens administrateurs encore marqués adminCount=1",
    "adminCount=1 leaves a hardened ACL and hides that the account was privileged.",
    "adminCount=1 laisse une ACL figée et signale un ancien compte à privilèges.",
    "Clear adminCount and restore ACL inheritance on accounts no longer privileged.",
    "Effacer adminCount et rétablir l'héritage des ACL sur les comptes qui ne sont plus privilégiés.",
    prv08
);

fn prv08(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled().filter(|(i, a)| {
            a.admin_count
                && !c.idx.is_privileged(*i)
                && !c.is_krbtgt(a)
                && a.kind != AccountKind::Computer
        }),
        "adminCount=1 but not in an administrative group",
    )
}
/// Tier-0 objects whose DACL the ACL rules read: the domain root, AdminSDHolder and the
/// administrative groups.
fn tier0_objects<'a>(c: &Ctx<'a>) -> Vec<(String, &'a SecurityDescriptor)> {
    let mut v = Vec::new();
    let mut push = |name: String, dn: &str| {
        if let Some(sd) = c.snap.security_descriptors.get(&dn.to_ascii_lowercase()) {
            v.push((name, sd));
        }
    };
    push(c.snap.domain.dns_name(), &c.snap.domain.dn);
    push("AdminSDHolder".into(), &c.snap.adminsdholder_dn());
    for gi in c.idx.admin_groups() {
        let g = &c.snap.groups[gi];
        push(g.name.clone(), &g.dn);
    }
    v
}

pub static PRV_09: Rule = r!(
    "PRV-09",
    Privileged,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_permissions_naming_context" }],
    measures ["INV-04", "IAM-11", "IAM-10"],
    thresholds [],
    "Non-default principals can replicate secrets (DCSync)",
    "Des principaux non standard peuvent répliquer les secrets (DCSync)",
    "Replication rights on the domain root let the holder extract every password hash.",
    "Les droits de réplication à la racine du domaine permettent d'extraire tous les condensats de mots de passe.",
    "Remove the replication extended rights granted to these principals.",
    "Retirer les droits étendus de réplication accordés à ces principaux.",
    prv09
);

fn prv09(c: &Ctx<'_>) -> Eval {
    let Some(sd) = c
        .snap
        .security_descriptors
        .get(&c.snap.domain.dn.to_ascii_lowercase())
    else {
        return Eval::NotApplicable {
            reason: "domain root security descriptor not read",
        };
    };
    let repl = [
        sd::guids::DS_REPLICATION_GET_CHANGES,
        sd::guids::DS_REPLICATION_GET_CHANGES_ALL,
        sd::guids::DS_REPLICATION_GET_CHANGES_FILTERED,
    ];
    let mut out = Vec::new();
    for a in sd
        .dacl
        .iter()
        .filter(|a| a.is_allow() && a.applies_to_object() && !c.tier0(&a.sid))
    {
        let dcsync = a.mask & sd::RIGHT_GENERIC_ALL != 0
            || (a.mask & sd::RIGHT_DS_CONTROL_ACCESS != 0
                && a.object_type.as_deref().is_none_or(|g| repl.contains(&g)));
        if dcsync {
            out.push(c.idx.sid_name(&a.sid));
        }
    }
    fail_on(out, "replication (DCSync) rights on the domain root")
}
fn dangerous_ace(a: &sd::Ace) -> bool {
    let m = a.mask;
    m & (sd::RIGHT_GENERIC_ALL
        | sd::RIGHT_GENERIC_WRITE
        | sd::RIGHT_WRITE_DAC
        | sd::RIGHT_WRITE_OWNER)
        != 0
        || (m & sd::RIGHT_DS_WRITE_PROP != 0
            && a.object_type
                .as_deref()
                .is_none_or(|g| g == sd::guids::ATTR_MEMBER))
        || (m & sd::RIGHT_DS_SELF != 0 && a.object_type.as_deref() == Some(sd::guids::ATTR_MEMBER))
}

pub static PRV_10: Rule = r!(
    "PRV-10",
    Privileged,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_permissions_adminsdholder" }, Reference { framework: "PingCastle", id: "P-ControlPathIndirectEveryone" }],
    measures ["INV-04", "IAM-11", "IAM-10"],
    thresholds [],
    "Dangerous permissions on tier-0 objects",
    "Permissions dangereuses sur des objets de niveau 0",
    "Write, owner or DACL rights on the domain root, AdminSDHolder or an admin group are a direct path to domain control.",
    "Des droits d'écriture, de propriétaire ou de DACL sur la racine, AdminSDHolder ou un groupe d'administration mènent directement au contrôle du domaine.",
    "Remove these ACEs; restrict delegations to tier-0 principals.",
    "Supprimer ces ACE ; réserver ces délégations aux principaux de niveau 0.",
    prv10
);

fn prv10(c: &Ctx<'_>) -> Eval {
    let objs = tier0_objects(c);
    if objs.is_empty() {
        return Eval::NotApplicable {
            reason: "no security descriptor read",
        };
    }
    let mut out = Vec::new();
    for (name, sd) in objs {
        for a in sd.dacl.iter().filter(|a| {
            a.is_allow() && a.applies_to_object() && !c.tier0(&a.sid) && dangerous_ace(a)
        }) {
            out.push(format!("{name} <- {}", c.idx.sid_name(&a.sid)));
        }
    }
    fail_on(
        out,
        "write, full-control, owner or DACL rights for a non-tier-0 principal",
    )
}

pub static PRV_11: Rule = r!(
    "PRV-11",
    Privileged,
    1,
    refs [Reference { framework: "PingCastle", id: "A-MembershipEveryone" }],
    measures ["INV-04", "IAM-10"],
    thresholds [],
    "Everyone-like principal in an administrative group",
    "Principal de type « tout le monde » dans un groupe d'administration",
    "Everyone, Authenticated Users, Domain Users or Domain Computers in an admin group makes every account an administrator.",
    "Everyone, Authenticated Users, Domain Users ou Domain Computers dans un groupe d'administration rend chaque compte administrateur.",
    "Remove the principal from the group immediately.",
    "Retirer immédiatement ce principal du groupe.",
    prv11
);

fn prv11(c: &Ctx<'_>) -> Eval {
    let broad: Vec<Sid> = [
        well_known::EVERYONE,
        well_known::AUTHENTICATED_USERS,
        well_known::ANONYMOUS,
    ]
    .iter()
    .filter_map(|s| Sid::parse(s))
    .collect();
    let mut out = Vec::new();
    for gi in c.idx.admin_groups() {
        let e = c.idx.expand(gi);
        let g = &c.snap.groups[gi];
        for f in e.foreign.iter().filter(|f| broad.contains(f)) {
            out.push(format!("{} <- {f}", g.name));
        }
        for sub in &e.groups {
            if c.snap.groups[*sub]
                .sid
                .as_ref()
                .and_then(Sid::rid)
                .is_some_and(|r| r == 513 || r == 515)
            {
                out.push(format!("{} <- {}", g.name, c.snap.groups[*sub].name));
            }
        }
    }
    fail_on(out, "everyone-like principal in an administrative group")
}

pub static PRV_12: Rule = r!(
    "PRV-12",
    Privileged,
    3,
    refs [Reference { framework: "PingCastle", id: "P-AdminEmailOn" }],
    measures ["IAM-01"],
    thresholds [],
    "Privileged accounts with a mailbox address",
    "Comptes à privilèges avec une adresse de messagerie",
    "Administrator accounts should not read mail: separate admin and everyday accounts.",
    "Les comptes d'administration ne doivent pas lire de courriel : séparer comptes d'administration et comptes courants.",
    "Remove the mail attribute and use a separate everyday account.",
    "Retirer l'attribut mail et utiliser un compte distinct pour l'usage courant.",
    prv12
);

fn prv12(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.privileged_enabled().filter(|(_, a)| a.has_mail),
        "privileged account with a mail address",
    )
}

pub static PRV_13: Rule = r!(
    "PRV-13",
    Privileged,
    4,
    refs [],
    measures ["INV-04"],
    thresholds [],
    "Disabled accounts left in administrative groups",
    "Comptes désactivés laissés dans des groupes d'administration",
    "Re-enabling one of these accounts grants administrator rights at once.",
    "Réactiver l'un de ces comptes donne immédiatement les droits d'administration.",
    "Remove disabled accounts from administrative groups.",
    "Retirer les comptes désactivés des groupes d'administration.",
    prv13
);

fn prv13(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.privileged()
            .filter(|(_, a)| !a.enabled() && a.rid() != Some(502)),
        "disabled account left in an administrative group",
    )
}

pub static PRV_14: Rule = r!(
    "PRV-14",
    Privileged,
    3,
    refs [Reference { framework: "ANSSI", id: "vuln3_owner" }, Reference { framework: "PingCastle", id: "P-DCOwner" }],
    measures ["INV-04"],
    thresholds [],
    "Tier-0 objects owned by non-tier-0 principals",
    "Objets de niveau 0 appartenant à des principaux hors niveau 0",
    "The owner of an object can rewrite its permissions.",
    "Le propriétaire d'un objet peut réécrire ses permissions.",
    "Set the owner to Domain Admins or Administrators.",
    "Donner la propriété à Domain Admins ou Administrators.",
    prv14
);

fn prv14(c: &Ctx<'_>) -> Eval {
    let mut out = Vec::new();
    for (name, sd) in tier0_objects(c) {
        if let Some(o) = &sd.owner
            && !c.tier0(o)
        {
            out.push(format!("{name} <- {}", c.idx.sid_name(o)));
        }
    }
    fail_on(out, "tier-0 object owned by a non-tier-0 principal")
}

pub static PRV_15: Rule = r!(
    "PRV-15",
    Privileged,
    2,
    refs [Reference { framework: "ANSSI", id: "vuln2_privileged_members_no_admincount" }],
    measures ["INV-04", "IAM-10"],
    thresholds [],
    "Privileged accounts without adminCount",
    "Comptes à privilèges sans adminCount",
    "On Windows, SDProp marks protected accounts; a missing mark reveals a recent or hidden addition.",
    "Sous Windows, SDProp marque les comptes protégés ; l'absence de marque révèle un ajout récent ou masqué.",
    "Check the membership and let SDProp run; investigate unexpected members.",
    "Vérifier l'appartenance et laisser SDProp s'exécuter ; examiner les membres inattendus.",
    prv15
);

fn prv15(c: &Ctx<'_>) -> Eval {
    if c.snap.is_samba {
        return Eval::NotApplicable {
            reason: "Samba does not run SDProp: adminCount is not maintained",
        };
    }
    list_rule(
        c.privileged_enabled().filter(|(_, a)| !a.admin_count),
        "privileged account without adminCount=1",
    )
}

pub static PRV_16: Rule = r!(
    "PRV-16",
    Privileged,
    4,
    refs [Reference { framework: "ANSSI", id: "vuln4_dnsadmins" }, Reference { framework: "PingCastle", id: "P-DNSAdmin" }],
    measures ["INV-04"],
    thresholds [],
    "DnsAdmins is not empty",
    "Le groupe DnsAdmins n'est pas vide",
    "DnsAdmins members can load code into the DNS service running on DCs.",
    "Les membres de DnsAdmins peuvent charger du code dans le service DNS des DC.",
    "Empty DnsAdmins; manage DNS through delegated rights on zones.",
    "Vider DnsAdmins ; gérer le DNS par des droits délégués sur les zones.",
    prv16
);

fn prv16(c: &Ctx<'_>) -> Eval {
    group_members_rule(
        c,
        &[c.idx.group_by_name("DnsAdmins")],
        "DnsAdmins has members",
    )
}
