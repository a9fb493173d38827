//! Kerberos and delegation rules (KRB-*, DLG-*): krbtgt, roastable accounts and unconstrained or risky delegation.

use super::*;

pub static KRB_01: Rule = r!(
    "KRB-01",
    KerberosDelegation,
    2,
    refs [Reference { framework: "ANSSI", id: "vuln2_krbtgt" }, Reference { framework: "PingCastle", id: "A-Krbtgt" }],
    measures ["IAM-11", "IAM-10"],
    thresholds ["krbtgt_max_age_days"],
    "krbtgt password not changed for more than a year",
    "Mot de passe du compte krbtgt inchangé depuis plus d'un an",
    "Anyone who once obtained the krbtgt key can forge tickets (golden ticket) until it changes twice.",
    "Quiconque a obtenu la clé krbtgt peut forger des tickets (golden ticket) tant qu'elle n'a pas changé deux fois.",
    "Reset the krbtgt password twice, waiting for replication in between.",
    "Réinitialiser deux fois le mot de passe krbtgt, en attendant la réplication entre les deux.",
    krb01
);

fn krb01(c: &Ctx<'_>) -> Eval {
    let days = c.t().krbtgt_max_age_days;
    list_rule(
        c.snap
            .accounts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.rid() == Some(502) && c.older_than(a.password_set(), days)),
        &format!("krbtgt password older than {days} days"),
    )
}

pub static KRB_02: Rule = r!(
    "KRB-02",
    KerberosDelegation,
    2,
    refs [Reference { framework: "ANSSI", id: "vuln2_kerberos_properties_preauth" }, Reference { framework: "PingCastle", id: "S-NoPreAuth" }],
    measures ["IAM-11", "IAM-10"],
    thresholds [],
    "Accounts without Kerberos pre-authentication (AS-REP roasting)",
    "Comptes sans pré-authentification Kerberos (AS-REP roasting)",
    "Anyone can request material encrypted with these accounts' keys and crack it offline.",
    "N'importe qui peut obtenir des données chiffrées avec la clé de ces comptes et les casser hors ligne.",
    "Clear DONT_REQ_PREAUTH (0x400000).",
    "Retirer DONT_REQ_PREAUTH (0x400000).",
    krb02
);

fn krb02(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled().filter(|(_, a)| a.has(uac::DONT_REQ_PREAUTH)),
        "DONT_REQ_PREAUTH",
    )
}

pub static KRB_03: Rule = r!(
    "KRB-03",
    KerberosDelegation,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_kerberos_properties_preauth_priv" }, Reference { framework: "PingCastle", id: "S-NoPreAuthAdmin" }],
    measures ["IAM-11", "IAM-10"],
    thresholds [],
    "Privileged accounts without Kerberos pre-authentication",
    "Comptes à privilèges sans pré-authentification Kerberos",
    "An offline-crackable privileged account gives domain control.",
    "Un compte à privilèges cassable hors ligne donne le contrôle du domaine.",
    "Clear DONT_REQ_PREAUTH on these accounts at once and change their password.",
    "Retirer immédiatement DONT_REQ_PREAUTH et changer leur mot de passe.",
    krb03
);

fn krb03(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.privileged_enabled()
            .filter(|(_, a)| a.has(uac::DONT_REQ_PREAUTH)),
        "privileged and DONT_REQ_PREAUTH",
    )
}
fn kerberoastable(c: &Ctx<'_>, a: &Account) -> bool {
    a.kind == AccountKind::User && !a.spns.is_empty() && !c.is_krbtgt(a) && !c.is_samba_dns(a)
}

pub static KRB_04: Rule = r!(
    "KRB-04",
    KerberosDelegation,
    4,
    refs [],
    measures ["IAM-11"],
    thresholds [],
    "Kerberoastable user accounts",
    "Comptes utilisateurs « kerberoastables »",
    "Any user can obtain a service ticket encrypted with these accounts' password and crack it offline.",
    "Tout utilisateur peut obtenir un ticket chiffré avec le mot de passe de ces comptes et le casser hors ligne.",
    "Use gMSAs, or give these accounts very long random passwords and AES only.",
    "Utiliser des gMSA, ou des mots de passe aléatoires très longs et AES uniquement.",
    krb04
);

fn krb04(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled().filter(|(_, a)| kerberoastable(c, a)),
        "user account with servicePrincipalName",
    )
}

pub static KRB_05: Rule = r!(
    "KRB-05",
    KerberosDelegation,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_spn_priv" }, Reference { framework: "PingCastle", id: "P-Kerberoasting" }],
    measures ["IAM-11", "IAM-10"],
    thresholds [],
    "Privileged accounts with a service principal name",
    "Comptes à privilèges avec un SPN",
    "A kerberoastable administrator gives domain control to any user who cracks its password.",
    "Un administrateur « kerberoastable » donne le contrôle du domaine à quiconque casse son mot de passe.",
    "Remove the SPN or the privileges; run services under dedicated unprivileged gMSAs.",
    "Retirer le SPN ou les privilèges ; faire tourner les services sous des gMSA non privilégiés.",
    krb05
);

fn krb05(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.privileged_enabled().filter(|(_, a)| kerberoastable(c, a)),
        "privileged account with servicePrincipalName",
    )
}

pub static KRB_06: Rule = r!(
    "KRB-06",
    KerberosDelegation,
    3,
    refs [Reference { framework: "ANSSI", id: "vuln3_kerberos_properties_encryption" }, Reference { framework: "PingCastle", id: "S-AesNotEnabled" }],
    measures ["IAM-07"],
    thresholds [],
    "Service accounts without AES",
    "Comptes de service sans AES",
    "Without AES, service tickets use RC4, much faster to crack.",
    "Sans AES, les tickets de service utilisent RC4, bien plus rapide à casser.",
    "Add AES128/AES256 (0x18) to msDS-SupportedEncryptionTypes and reset the password.",
    "Ajouter AES128/AES256 (0x18) à msDS-SupportedEncryptionTypes et réinitialiser le mot de passe.",
    krb06
);

fn krb06(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled()
            .filter(|(_, a)| kerberoastable(c, a) && a.enctypes.is_some_and(|e| e & 0x18 == 0)),
        "msDS-SupportedEncryptionTypes set without AES",
    )
}

pub static DLG_01: Rule = r!(
    "DLG-01",
    KerberosDelegation,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_delegation_t4d" }, Reference { framework: "PingCastle", id: "P-UnconstrainedDelegation" }],
    measures ["IAM-11", "IAM-10"],
    thresholds [],
    "Unconstrained delegation outside domain controllers",
    "Délégation non contrainte hors contrôleurs de domaine",
    "A host with unconstrained delegation receives reusable tickets of everyone who connects, admins included.",
    "Un hôte en délégation non contrainte reçoit des tickets réutilisables de tous ceux qui s'y connectent, administrateurs compris.",
    "Replace with constrained or resource-based delegation; clear TRUSTED_FOR_DELEGATION.",
    "Remplacer par une délégation contrainte ou basée sur la ressource ; retirer TRUSTED_FOR_DELEGATION.",
    dlg01
);

fn dlg01(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.accounts()
            .filter(|(_, a)| a.has(uac::TRUSTED_FOR_DELEGATION) && !a.is_dc()),
        "TRUSTED_FOR_DELEGATION on a non-DC",
    )
}

pub static DLG_02: Rule = r!(
    "DLG-02",
    KerberosDelegation,
    2,
    refs [],
    measures ["IAM-11", "IAM-10"],
    thresholds [],
    "Constrained delegation with protocol transition",
    "Délégation contrainte avec transition de protocole",
    "Protocol transition lets the account impersonate any user to its target services without their credentials.",
    "La transition de protocole permet d'usurper n'importe quel utilisateur auprès des services cibles sans ses identifiants.",
    "Use Kerberos-only constrained delegation unless strictly needed; protect the account as tier 0.",
    "Utiliser la délégation contrainte Kerberos seule sauf nécessité ; protéger le compte comme un compte de niveau 0.",
    dlg02
);

fn dlg02(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.accounts().filter(|(_, a)| {
            a.has(uac::TRUSTED_TO_AUTH_FOR_DELEGATION) && !a.is_dc() && !a.delegate_to.is_empty()
        }),
        "TRUSTED_TO_AUTH_FOR_DELEGATION with msDS-AllowedToDelegateTo",
    )
}
fn delegates_to_dc(dcs: &BTreeSet<String>, a: &Account) -> bool {
    a.delegate_to.iter().any(|spn| {
        let host = spn
            .split('/')
            .nth(1)
            .unwrap_or("")
            .split(':')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        dcs.contains(&host)
    })
}

pub static DLG_03: Rule = r!(
    "DLG-03",
    KerberosDelegation,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_delegation_sourcedeleg" }, Reference { framework: "PingCastle", id: "P-DelegationDCsourcedeleg" }],
    measures ["IAM-11", "IAM-10"],
    thresholds [],
    "Resource-based delegation to a DC or privileged account",
    "Délégation basée sur la ressource vers un DC ou un compte à privilèges",
    "The listed principals can impersonate anyone, administrators included, to the DC or privileged account.",
    "Les principaux listés peuvent usurper n'importe qui, administrateurs compris, auprès du DC ou du compte à privilèges.",
    "Clear msDS-AllowedToActOnBehalfOfOtherIdentity on these objects.",
    "Vider msDS-AllowedToActOnBehalfOfOtherIdentity sur ces objets.",
    dlg03
);

fn dlg03(c: &Ctx<'_>) -> Eval {
    let mut out = Vec::new();
    for (i, a) in c.accounts() {
        if !a.rbcd_principals.is_empty() && (a.is_dc() || c.idx.is_privileged(i)) {
            for p in &a.rbcd_principals {
                out.push(format!("{} <- {}", a.name, c.idx.sid_name(p)));
            }
        }
    }
    fail_on(
        out,
        "msDS-AllowedToActOnBehalfOfOtherIdentity on a DC or privileged account",
    )
}

pub static DLG_04: Rule = r!(
    "DLG-04",
    KerberosDelegation,
    3,
    refs [Reference { framework: "PingCastle", id: "P-Delegated" }],
    measures ["IAM-11"],
    thresholds [],
    "Privileged accounts that can be delegated",
    "Comptes à privilèges délégables",
    "A delegable administrator's ticket can be reused by any host trusted for delegation.",
    "Le ticket d'un administrateur délégable peut être réutilisé par tout hôte autorisé à la délégation.",
    "Set 'Account is sensitive and cannot be delegated' or add the account to Protected Users.",
    "Cocher « Le compte est sensible et ne peut pas être délégué » ou ajouter le compte à Protected Users.",
    dlg04
);

fn dlg04(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.privileged_enabled()
            .filter(|(i, a)| !a.has(uac::NOT_DELEGATED) && !c.idx.protected_users.contains(i)),
        "privileged, not NOT_DELEGATED and not in Protected Users",
    )
}

pub static DLG_05: Rule = r!(
    "DLG-05",
    KerberosDelegation,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_delegation_a2d2" }, Reference { framework: "PingCastle", id: "P-DelegationDCa2d2" }],
    measures ["IAM-11", "IAM-10"],
    thresholds [],
    "Constrained delegation to a domain controller service",
    "Délégation contrainte vers un service de contrôleur de domaine",
    "Delegating to a DC service lets the account act as any user on the DC.",
    "Déléguer vers un service du DC permet d'agir comme n'importe quel utilisateur sur le DC.",
    "Remove DC services from msDS-AllowedToDelegateTo.",
    "Retirer les services des DC de msDS-AllowedToDelegateTo.",
    dlg05
);

fn dlg05(c: &Ctx<'_>) -> Eval {
    let dcs = c.dc_hostnames();
    list_rule(
        c.accounts()
            .filter(|(_, a)| !a.delegate_to.is_empty() && !a.is_dc() && delegates_to_dc(&dcs, a)),
        "msDS-AllowedToDelegateTo names a DC service",
    )
}

pub static DLG_06: Rule = r!(
    "DLG-06",
    KerberosDelegation,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_delegation_t2a4d" }, Reference { framework: "PingCastle", id: "P-DelegationDCt2a4d" }],
    measures ["IAM-11", "IAM-10"],
    thresholds [],
    "Protocol transition to a domain controller service",
    "Transition de protocole vers un service de contrôleur de domaine",
    "Whoever controls the account can impersonate a domain admin on a DC without any credential.",
    "Qui contrôle le compte peut usurper un administrateur du domaine sur un DC sans identifiant.",
    "Remove the delegation at once; treat the account as compromised tier 0.",
    "Supprimer immédiatement la délégation ; traiter le compte comme un niveau 0 compromis.",
    dlg06
);

fn dlg06(c: &Ctx<'_>) -> Eval {
    let dcs = c.dc_hostnames();
    list_rule(
        c.accounts().filter(|(_, a)| {
            !a.is_dc() && a.has(uac::TRUSTED_TO_AUTH_FOR_DELEGATION) && delegates_to_dc(&dcs, a)
        }),
        "protocol transition to a DC service",
    )
}
