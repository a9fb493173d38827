//! Infrastructure rules (INF-*): machine account quota, functional levels, computers, domain controllers, LAPS.

use super::*;

pub static INF_01: Rule = r!(
    "INF-01",
    Infrastructure,
    4,
    refs [Reference { framework: "ANSSI", id: "vuln4_user_accounts_machineaccountquota" }, Reference { framework: "PingCastle", id: "S-ADRegistration" }],
    measures ["INV-01"],
    thresholds ["max_machine_account_quota"],
    "Any user can join computers to the domain",
    "Tout utilisateur peut joindre des ordinateurs au domaine",
    "ms-DS-MachineAccountQuota lets any user create computer accounts, a building block of many attacks.",
    "ms-DS-MachineAccountQuota permet à tout utilisateur de créer des comptes d'ordinateur, base de nombreuses attaques.",
    "Set ms-DS-MachineAccountQuota to 0 and delegate domain joins to a dedicated group.",
    "Fixer ms-DS-MachineAccountQuota à 0 et déléguer la jonction au domaine à un groupe dédié.",
    inf01
);

fn inf01(c: &Ctx<'_>) -> Eval {
    let q = c.snap.domain.machine_account_quota.unwrap_or(10);
    domain_fails(
        c,
        q > c.t().max_machine_account_quota,
        format!("ms-DS-MachineAccountQuota={q}"),
    )
}
fn levels(c: &Ctx<'_>, below: u32) -> Eval {
    let mut out = Vec::new();
    if c.snap.domain.functional_level.is_some_and(|l| l < below) {
        out.push(format!("domain {}", c.snap.domain.dns_name()));
    }
    if c.snap.forest_level.is_some_and(|l| l < below) {
        out.push("forest".to_string());
    }
    fail_on(
        out,
        format!(
            "domain level {:?}, forest level {:?} < {below}",
            c.snap.domain.functional_level, c.snap.forest_level
        ),
    )
}

pub static INF_02: Rule = r!(
    "INF-02",
    Infrastructure,
    3,
    refs [Reference { framework: "ANSSI", id: "vuln3_functional_level" }, Reference { framework: "PingCastle", id: "S-FunctionalLevel3" }],
    measures ["VUL-02"],
    thresholds [],
    "Functional level below Windows Server 2012 R2",
    "Niveau fonctionnel inférieur à Windows Server 2012 R2",
    "Older functional levels lack Protected Users protections and Kerberos armoring.",
    "Les niveaux fonctionnels anciens n'ont pas les protections de Protected Users ni le blindage Kerberos.",
    "Retire old DCs and raise the domain and forest functional levels.",
    "Retirer les anciens DC et relever les niveaux fonctionnels du domaine et de la forêt.",
    inf02
);

fn inf02(c: &Ctx<'_>) -> Eval {
    levels(c, 6)
}
fn prewin2000(c: &Ctx<'_>) -> Vec<(String, Option<Sid>)> {
    c.idx
        .builtin_group(554)
        .map(|g| c.idx.direct_member_sids(g))
        .unwrap_or_default()
}

pub static INF_03: Rule = r!(
    "INF-03",
    Infrastructure,
    2,
    refs [Reference { framework: "ANSSI", id: "vuln2_compatible_2000_anonymous" }, Reference { framework: "PingCastle", id: "A-PreWin2000Anonymous" }],
    measures ["IAM-10"],
    thresholds [],
    "Pre-Windows 2000 Compatible Access contains Everyone or Anonymous",
    "« Pre-Windows 2000 Compatible Access » contient Everyone ou Anonymous",
    "Anonymous users can then enumerate users and groups.",
    "Les utilisateurs anonymes peuvent alors énumérer utilisateurs et groupes.",
    "Remove Everyone and Anonymous Logon from the group.",
    "Retirer Everyone et Anonymous Logon du groupe.",
    inf03
);

fn inf03(c: &Ctx<'_>) -> Eval {
    let bad: Vec<String> = prewin2000(c)
        .into_iter()
        .filter(|(_, s)| {
            s.as_ref().is_some_and(|s| {
                [well_known::EVERYONE, well_known::ANONYMOUS].contains(&s.to_string().as_str())
            })
        })
        .map(|(n, _)| n)
        .collect();
    fail_on(
        bad,
        "Pre-Windows 2000 Compatible Access contains Everyone or Anonymous",
    )
}

pub static INF_04: Rule = r!(
    "INF-04",
    Infrastructure,
    3,
    refs [Reference { framework: "PingCastle", id: "A-LAPS-Not-Installed" }],
    measures ["IAM-07", "END-05"],
    thresholds [],
    "LAPS is not deployed",
    "LAPS n'est pas déployé",
    "Without LAPS, local administrator passwords are usually identical across machines.",
    "Sans LAPS, les mots de passe d'administrateur local sont souvent identiques sur tous les postes.",
    "Deploy Windows LAPS (schema extension and policy).",
    "Déployer Windows LAPS (extension du schéma et stratégie).",
    inf04
);

fn inf04(c: &Ctx<'_>) -> Eval {
    domain_fails(
        c,
        !(c.snap.laps_legacy_schema || c.snap.laps_windows_schema),
        "no LAPS attribute in the schema",
    )
}

pub static INF_05: Rule = r!(
    "INF-05",
    Infrastructure,
    2,
    refs [Reference { framework: "ANSSI", id: "vuln2_password_change_server_no_change_90" }, Reference { framework: "PingCastle", id: "S-PwdLastSet-90" }],
    measures ["IAM-05", "IAM-10"],
    thresholds ["computer_password_max_age_days"],
    "Active computers not changing their account password",
    "Ordinateurs actifs ne changeant pas le mot de passe de leur compte",
    "A computer that stops rotating its password keeps a stealable secret valid indefinitely.",
    "Un ordinateur qui ne renouvelle plus son mot de passe garde indéfiniment un secret volable.",
    "Check the machines' secure channel and the policy disabling machine password changes.",
    "Vérifier le canal sécurisé des machines et la stratégie désactivant le changement du mot de passe machine.",
    inf05
);

fn inf05(c: &Ctx<'_>) -> Eval {
    let limit = f64::from(c.t().computer_password_max_age_days);
    list_rule(
        c.enabled_computers().filter(|(_, a)| {
            !a.is_dc()
                && match (a.pwd_last_set, a.last_logon) {
                    (Some(p), Some(l)) => days_between(p, l) > limit,
                    _ => false,
                }
        }),
        &format!(
            "computer password unchanged for more than {} days before its last logon",
            c.t().computer_password_max_age_days
        ),
    )
}

pub static INF_06: Rule = r!(
    "INF-06",
    Infrastructure,
    3,
    refs [Reference { framework: "ANSSI", id: "vuln3_password_change_inactive_servers" }, Reference { framework: "PingCastle", id: "S-C-Inactive" }],
    measures ["INV-01"],
    thresholds ["inactive_computer_days"],
    "Inactive computer accounts",
    "Comptes d'ordinateurs inactifs",
    "Stale computer accounts blur the inventory and can be reused by attackers.",
    "Les comptes d'ordinateurs obsolètes faussent l'inventaire et peuvent être réutilisés par un attaquant.",
    "Disable then delete computer accounts without logon for the configured period.",
    "Désactiver puis supprimer les comptes d'ordinateurs sans connexion depuis la période configurée.",
    inf06
);

fn inf06(c: &Ctx<'_>) -> Eval {
    let days = c.t().inactive_computer_days;
    list_rule(
        c.enabled_computers()
            .filter(|(_, a)| !a.is_dc() && c.older_than(a.last_activity(), days)),
        &format!("no logon for more than {days} days"),
    )
}
fn obsolete_os(a: &Account) -> bool {
    let os = a.os.as_deref().unwrap_or("").to_ascii_lowercase();
    if !os.contains("windows") {
        return false;
    }
    const OLD: &[&str] = &[
        "nt",
        "2000",
        "xp",
        "vista",
        "windows 7",
        "windows 8",
        "2003",
        "2008",
        "2012",
    ];
    OLD.iter().any(|o| {
        os.split(|ch: char| !ch.is_ascii_alphanumeric())
            .any(|w| w == *o)
            || (o.contains(' ') && os.contains(o))
    })
}

pub static INF_07: Rule = r!(
    "INF-07",
    Infrastructure,
    2,
    refs [Reference { framework: "PingCastle", id: "S-OS-*" }],
    measures ["VUL-02", "IAM-10"],
    thresholds [],
    "Computers with an unsupported operating system",
    "Ordinateurs avec un système d'exploitation non supporté",
    "Systems out of vendor support receive no security fixes.",
    "Les systèmes hors support ne reçoivent plus de correctifs de sécurité.",
    "Upgrade, or isolate them and record them in the exit plan.",
    "Mettre à jour, ou les isoler et les inscrire au plan de sortie.",
    inf07
);

fn inf07(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled_computers()
            .filter(|(_, a)| !a.is_dc() && obsolete_os(a)),
        "operating system out of vendor support",
    )
}
fn heuristic_char(c: &Ctx<'_>, pos: usize) -> Option<char> {
    c.snap
        .ds_heuristics
        .as_deref()
        .and_then(|h| h.chars().nth(pos - 1))
}

pub static INF_08: Rule = r!(
    "INF-08",
    Infrastructure,
    2,
    refs [Reference { framework: "ANSSI", id: "vuln2_dsheuristics_bad" }, Reference { framework: "PingCastle", id: "A-DsHeuristicsAnonymous" }],
    measures ["IAM-10"],
    thresholds [],
    "Anonymous LDAP operations allowed (dSHeuristics)",
    "Opérations LDAP anonymes autorisées (dSHeuristics)",
    "Anonymous users can read the directory.",
    "Les utilisateurs anonymes peuvent lire l'annuaire.",
    "Reset the 7th character of dSHeuristics to 0.",
    "Remettre à 0 le 7e caractère de dSHeuristics.",
    inf08
);

fn inf08(c: &Ctx<'_>) -> Eval {
    if heuristic_char(c, 7) == Some('2') {
        fail(
            ["dSHeuristics".to_string()],
            "7th character = 2: anonymous LDAP operations",
        )
    } else {
        Eval::Pass
    }
}

pub static INF_09: Rule = r!(
    "INF-09",
    Infrastructure,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_password_change_dc_no_change" }, Reference { framework: "PingCastle", id: "S-PwdLastSet-DC" }],
    measures ["IAM-05", "IAM-10"],
    thresholds ["dc_password_max_age_days"],
    "Domain controllers not changing their account password",
    "Contrôleurs de domaine ne changeant pas le mot de passe de leur compte",
    "A DC account password that no longer rotates often reveals a broken or restored DC.",
    "Un mot de passe de compte de DC qui ne change plus révèle souvent un DC en panne ou restauré.",
    "Check replication and the DC's health; reset the machine password.",
    "Vérifier la réplication et l'état du DC ; réinitialiser le mot de passe machine.",
    inf09
);

fn inf09(c: &Ctx<'_>) -> Eval {
    let days = c.t().dc_password_max_age_days;
    list_rule(
        c.enabled_computers()
            .filter(|(_, a)| a.is_dc() && c.older_than(a.password_set(), days)),
        &format!("DC password older than {days} days"),
    )
}

pub static INF_10: Rule = r!(
    "INF-10",
    Infrastructure,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_password_change_inactive_dc" }, Reference { framework: "PingCastle", id: "S-DC-Inactive" }],
    measures ["INV-01", "IAM-10"],
    thresholds ["inactive_dc_days"],
    "Inactive domain controllers",
    "Contrôleurs de domaine inactifs",
    "A DC that no longer logs on is probably gone but still trusted by the domain.",
    "Un DC qui ne se connecte plus a probablement disparu mais reste approuvé par le domaine.",
    "Clean up the metadata of decommissioned DCs.",
    "Nettoyer les métadonnées des DC décommissionnés.",
    inf10
);

fn inf10(c: &Ctx<'_>) -> Eval {
    let days = c.t().inactive_dc_days;
    list_rule(
        c.enabled_computers()
            .filter(|(_, a)| a.is_dc() && c.older_than(a.last_activity(), days)),
        &format!("DC without logon for more than {days} days"),
    )
}

pub static INF_11: Rule = r!(
    "INF-11",
    Infrastructure,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_dc_obsolete" }, Reference { framework: "PingCastle", id: "S-DC-2012" }],
    measures ["VUL-02", "IAM-10"],
    thresholds [],
    "Domain controllers with an unsupported operating system",
    "Contrôleurs de domaine avec un système non supporté",
    "An unpatched DC exposes the whole domain.",
    "Un DC non corrigé expose tout le domaine.",
    "Replace these DCs with supported versions.",
    "Remplacer ces DC par des versions supportées.",
    inf11
);

fn inf11(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled_computers()
            .filter(|(_, a)| a.is_dc() && obsolete_os(a)),
        "DC operating system out of vendor support",
    )
}

pub static INF_12: Rule = r!(
    "INF-12",
    Infrastructure,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_functional_level" }, Reference { framework: "PingCastle", id: "S-FunctionalLevel1" }],
    measures ["VUL-02", "IAM-10"],
    thresholds [],
    "Functional level below Windows Server 2008 R2",
    "Niveau fonctionnel inférieur à Windows Server 2008 R2",
    "Very old functional levels keep obsolete, weak protocols.",
    "Les niveaux fonctionnels très anciens conservent des protocoles obsolètes et faibles.",
    "Raise the domain and forest functional levels.",
    "Relever les niveaux fonctionnels du domaine et de la forêt.",
    inf12
);

fn inf12(c: &Ctx<'_>) -> Eval {
    levels(c, 4)
}

pub static INF_13: Rule = r!(
    "INF-13",
    Infrastructure,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_dsheuristics_bad" }, Reference { framework: "PingCastle", id: "P-DsHeuristicsAdminSDExMask" }],
    measures ["INV-04", "IAM-10"],
    thresholds [],
    "Operator groups excluded from AdminSDHolder protection",
    "Groupes d'opérateurs exclus de la protection AdminSDHolder",
    "dwAdminSDExMask removes SDProp protection from operator groups, a known persistence trick.",
    "dwAdminSDExMask retire la protection SDProp des groupes d'opérateurs, technique de persistance connue.",
    "Reset the 16th character of dSHeuristics to 0.",
    "Remettre à 0 le 16e caractère de dSHeuristics.",
    inf13
);

fn inf13(c: &Ctx<'_>) -> Eval {
    if heuristic_char(c, 16).is_some_and(|ch| ch != '0') {
        fail(
            ["dSHeuristics".to_string()],
            "16th character (dwAdminSDExMask) set: operator groups excluded from AdminSDHolder",
        )
    } else {
        Eval::Pass
    }
}

pub static INF_14: Rule = r!(
    "INF-14",
    Infrastructure,
    3,
    refs [Reference { framework: "PingCastle", id: "P-RecycleBin" }],
    measures ["BCK-01"],
    thresholds [],
    "Active Directory Recycle Bin not enabled",
    "Corbeille Active Directory non activée",
    "Without the Recycle Bin, deleted objects lose their attributes and restore needs a backup.",
    "Sans corbeille, les objets supprimés perdent leurs attributs et leur restauration exige une sauvegarde.",
    "Enable the Recycle Bin optional feature.",
    "Activer la fonctionnalité optionnelle Corbeille.",
    inf14
);

fn inf14(c: &Ctx<'_>) -> Eval {
    domain_fails(
        c,
        !c.snap.recycle_bin,
        "Recycle Bin optional feature not enabled",
    )
}

pub static INF_15: Rule = r!(
    "INF-15",
    Infrastructure,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_dc_inconsistent_uac" }, Reference { framework: "PingCastle", id: "S-DCRegistration" }],
    measures ["INV-01", "IAM-10"],
    thresholds [],
    "Domain controllers with inconsistent account flags",
    "Contrôleurs de domaine aux indicateurs de compte incohérents",
    "A DC object without the expected flags is misregistered or a rogue object.",
    "Un objet DC sans les indicateurs attendus est mal enregistré ou illégitime.",
    "Restore userAccountControl to 0x82000 (RODC 0x5001000) and check the DC registration.",
    "Rétablir userAccountControl à 0x82000 (RODC 0x5001000) et vérifier l'enregistrement du DC.",
    inf15
);

fn inf15(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.snap.accounts.iter().enumerate().filter(|(_, a)| {
            a.is_dc()
                && if a.has(uac::PARTIAL_SECRETS_ACCOUNT) {
                    a.uac & 0x500_1000 != 0x500_1000
                } else {
                    a.uac & 0x8_2000 != 0x8_2000
                }
        }),
        "DC userAccountControl lacks SERVER_TRUST_ACCOUNT|TRUSTED_FOR_DELEGATION (RODC: 0x5001000)",
    )
}

pub static INF_16: Rule = r!(
    "INF-16",
    Infrastructure,
    3,
    refs [Reference { framework: "ANSSI", id: "vuln3_compatible_2000_not_default" }, Reference { framework: "PingCastle", id: "A-PreWin2000Other" }],
    measures ["IAM-03"],
    thresholds [],
    "Pre-Windows 2000 Compatible Access is not empty",
    "« Pre-Windows 2000 Compatible Access » n'est pas vide",
    "Its members get broad read access kept only for legacy systems.",
    "Ses membres ont un large accès en lecture conservé pour d'anciens systèmes.",
    "Empty the group once no legacy system depends on it.",
    "Vider le groupe quand plus aucun ancien système n'en dépend.",
    inf16
);

fn inf16(c: &Ctx<'_>) -> Eval {
    let bad: Vec<String> = prewin2000(c)
        .into_iter()
        .filter(|(_, s)| {
            !s.as_ref().is_some_and(|s| {
                [well_known::EVERYONE, well_known::ANONYMOUS].contains(&s.to_string().as_str())
            })
        })
        .map(|(n, _)| n)
        .collect();
    fail_on(bad, "Pre-Windows 2000 Compatible Access is not empty")
}

pub static INF_17: Rule = r!(
    "INF-17",
    Infrastructure,
    4,
    refs [Reference { framework: "ANSSI", id: "vuln4_group_loop" }],
    measures ["INV-04"],
    thresholds [],
    "Group nesting loops",
    "Boucles d'imbrication de groupes",
    "Loops make effective membership hard to review.",
    "Les boucles rendent l'appartenance effective difficile à vérifier.",
    "Break the loops.",
    "Casser les boucles.",
    inf17
);

fn inf17(c: &Ctx<'_>) -> Eval {
    let v: Vec<String> = c
        .idx
        .loops
        .iter()
        .map(|g| c.snap.groups[*g].name.clone())
        .collect();
    fail_on(v, "group nesting loop")
}

pub static INF_18: Rule = r!(
    "INF-18",
    Infrastructure,
    3,
    refs [Reference { framework: "PingCastle", id: "A-LAPS-Joined-Computers" }],
    measures ["IAM-07", "END-05"],
    thresholds ["laps_grace_days"],
    "Computers without a current LAPS password",
    "Ordinateurs sans mot de passe LAPS à jour",
    "These machines probably share a local administrator password.",
    "Ces machines partagent probablement un mot de passe d'administrateur local.",
    "Apply the LAPS policy to these computers and check its event logs.",
    "Appliquer la stratégie LAPS à ces ordinateurs et vérifier ses journaux.",
    inf18
);

fn inf18(c: &Ctx<'_>) -> Eval {
    let grace = f64::from(c.t().laps_grace_days);
    list_rule(
        c.enabled_computers().filter(|(_, a)| {
            !a.is_dc()
                && a.laps_expiry
                    .is_none_or(|t| days_between(t, c.as_of) > grace)
        }),
        "no LAPS password, or expired",
    )
}
