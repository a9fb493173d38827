//! Account rules (ACC-*): flags, dormancy, password age and the hygiene of ordinary accounts.

use super::*;

pub static ACC_01: Rule = r!(
    "ACC-01",
    Accounts,
    3,
    refs [Reference { framework: "PingCastle", id: "S-PwdNotRequired" }],
    measures ["IAM-04"],
    thresholds [],
    "Enabled accounts allowed an empty password",
    "Comptes actifs autorisés à avoir un mot de passe vide",
    "PASSWD_NOTREQD lets the account have an empty password regardless of policy.",
    "PASSWD_NOTREQD permet un mot de passe vide quelle que soit la politique.",
    "Clear the PASSWD_NOTREQD flag (userAccountControl 0x20) and set a strong password.",
    "Retirer l'indicateur PASSWD_NOTREQD (userAccountControl 0x20) et définir un mot de passe robuste.",
    acc01
);

fn acc01(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled().filter(|(_, a)| a.has(uac::PASSWD_NOTREQD)),
        "userAccountControl & PASSWD_NOTREQD",
    )
}

pub static ACC_02: Rule = r!(
    "ACC-02",
    Accounts,
    2,
    refs [Reference { framework: "ANSSI", id: "vuln2_dont_expire" }, Reference { framework: "PingCastle", id: "S-PwdNeverExpires" }],
    measures ["IAM-05", "IAM-10"],
    thresholds [],
    "Enabled accounts whose password never expires",
    "Comptes actifs dont le mot de passe n'expire jamais",
    "These passwords escape the renewal policy and often stay unchanged for years.",
    "Ces mots de passe échappent au renouvellement et restent souvent inchangés des années.",
    "Remove DONT_EXPIRE_PASSWORD; use gMSAs for services; document any exception.",
    "Retirer DONT_EXPIRE_PASSWORD ; utiliser des gMSA pour les services ; documenter toute exception.",
    acc02
);

fn acc02(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled_users()
            .filter(|(_, a)| a.has(uac::DONT_EXPIRE_PASSWORD)),
        "userAccountControl & DONT_EXPIRE_PASSWORD",
    )
}

pub static ACC_03: Rule = r!(
    "ACC-03",
    Accounts,
    3,
    refs [Reference { framework: "PingCastle", id: "S-Reversible" }],
    measures ["IAM-07"],
    thresholds [],
    "Accounts allowed reversible password storage",
    "Comptes autorisés au stockage réversible du mot de passe",
    "The password of these accounts is stored in a form that can be decrypted.",
    "Le mot de passe de ces comptes est stocké sous une forme déchiffrable.",
    "Clear ENCRYPTED_TEXT_PWD_ALLOWED (0x80) and reset the password.",
    "Retirer ENCRYPTED_TEXT_PWD_ALLOWED (0x80) et réinitialiser le mot de passe.",
    acc03
);

fn acc03(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled()
            .filter(|(_, a)| a.has(uac::ENCRYPTED_TEXT_PWD_ALLOWED)),
        "userAccountControl & ENCRYPTED_TEXT_PWD_ALLOWED",
    )
}

pub static ACC_04: Rule = r!(
    "ACC-04",
    Accounts,
    2,
    refs [Reference { framework: "ANSSI", id: "vuln2_guest" }, Reference { framework: "PingCastle", id: "A-Guest" }],
    measures ["IAM-01", "IAM-10"],
    thresholds [],
    "Guest account enabled",
    "Compte Invité actif",
    "The Guest account gives anonymous-like access to domain resources.",
    "Le compte Invité donne un accès quasi anonyme aux ressources du domaine.",
    "Disable the Guest account (RID 501).",
    "Désactiver le compte Invité (RID 501).",
    acc04
);

fn acc04(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled().filter(|(_, a)| a.rid() == Some(501)),
        "Guest (RID 501) enabled",
    )
}
fn dormant<'a>(c: &'a Ctx<'a>) -> impl Iterator<Item = (usize, &'a Account)> + 'a {
    let days = c.t().inactive_days;
    c.enabled_users()
        .filter(move |(_, a)| !c.is_krbtgt(a) && c.older_than(a.last_activity(), days))
}

pub static ACC_05: Rule = r!(
    "ACC-05",
    Accounts,
    3,
    refs[Reference {
        framework: "PingCastle",
        id: "S-Inactive"
    }],
    measures["IAM-02"],
    thresholds["inactive_days"],
    "Dormant enabled user accounts",
    "Comptes utilisateurs actifs mais dormants",
    "Unused enabled accounts (leavers, forgotten accounts) are easy, unnoticed entry points.",
    "Les comptes inutilisés mais actifs (départs, comptes oubliés) sont des portes d'entrée discrètes.",
    "Disable accounts without logon for the configured period, then delete them after review.",
    "Désactiver les comptes sans connexion depuis la période configurée, puis les supprimer après revue.",
    acc05
);

fn acc05(c: &Ctx<'_>) -> Eval {
    list_rule(
        dormant(c),
        &format!("no logon for more than {} days", c.t().inactive_days),
    )
}

pub static ACC_06: Rule = r!(
    "ACC-06",
    Accounts,
    4,
    refs [],
    measures ["IAM-05"],
    thresholds ["user_password_max_age_days"],
    "User passwords not renewed",
    "Mots de passe utilisateurs non renouvelés",
    "Old passwords have had more time to leak and be reused elsewhere.",
    "Les mots de passe anciens ont eu plus de temps pour fuiter et être réutilisés ailleurs.",
    "Have these users change their password; enforce the renewal policy.",
    "Faire changer le mot de passe de ces utilisateurs ; appliquer la politique de renouvellement.",
    acc06
);

fn acc06(c: &Ctx<'_>) -> Eval {
    let days = c.t().user_password_max_age_days;
    list_rule(
        c.enabled_users()
            .filter(|(_, a)| !c.is_krbtgt(a) && c.older_than(a.pwd_last_set, days)),
        &format!("pwdLastSet older than {days} days"),
    )
}
fn default_primary(a: &Account) -> bool {
    match (a.kind, a.primary_group_id) {
        (_, None) => true,
        (AccountKind::Computer, Some(p)) if a.is_dc() => p == 516 || p == 521,
        (AccountKind::Computer | AccountKind::ManagedServiceAccount, Some(p)) => p == 515,
        (AccountKind::User, Some(p)) => {
            p == 513 || (p == 514 && a.rid() == Some(501)) || (p == 514 && !a.enabled())
        }
        (AccountKind::Trust, _) => true,
    }
}

pub static ACC_07: Rule = r!(
    "ACC-07",
    Accounts,
    3,
    refs [Reference { framework: "ANSSI", id: "vuln3_primary_group_id_nochange" }, Reference { framework: "PingCastle", id: "S-PrimaryGroup" }],
    measures ["INV-04"],
    thresholds [],
    "Accounts with a non-default primary group",
    "Comptes avec un groupe principal modifié",
    "Primary group membership does not appear in the group's member list: it hides rights.",
    "L'appartenance par groupe principal n'apparaît pas dans la liste des membres : elle masque des droits.",
    "Reset primaryGroupID to 513 (users) or 515 (computers).",
    "Remettre primaryGroupID à 513 (utilisateurs) ou 515 (ordinateurs).",
    acc07
);

fn acc07(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.accounts().filter(|(_, a)| !default_primary(a)),
        "non-default primaryGroupID",
    )
}

pub static ACC_08: Rule = r!(
    "ACC-08",
    Accounts,
    3,
    refs [Reference { framework: "ANSSI", id: "vuln3_sidhistory_present" }, Reference { framework: "PingCastle", id: "S-SIDHistory" }],
    measures ["INV-04"],
    thresholds [],
    "Accounts with SID history",
    "Comptes avec un historique de SID",
    "sIDHistory grants the rights of another identity, invisibly.",
    "sIDHistory donne les droits d'une autre identité, de façon invisible.",
    "Clean sIDHistory once migrations are over.",
    "Nettoyer sIDHistory une fois les migrations terminées.",
    acc08
);

fn acc08(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.accounts().filter(|(_, a)| !a.sid_history.is_empty()),
        "sIDHistory populated",
    )
}

pub static ACC_09: Rule = r!(
    "ACC-09",
    Accounts,
    2,
    refs [Reference { framework: "ANSSI", id: "vuln2_kerberos_properties_deskey" }, Reference { framework: "PingCastle", id: "S-DesEnabled" }],
    measures ["IAM-07", "IAM-10"],
    thresholds [],
    "Accounts allowing DES Kerberos encryption",
    "Comptes autorisant le chiffrement Kerberos DES",
    "DES keys are broken in hours.",
    "Les clés DES se cassent en quelques heures.",
    "Clear USE_DES_KEY_ONLY and the DES bits of msDS-SupportedEncryptionTypes; reset the password.",
    "Retirer USE_DES_KEY_ONLY et les bits DES de msDS-SupportedEncryptionTypes ; réinitialiser le mot de passe.",
    acc09
);

fn acc09(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled().filter(|(_, a)| {
            a.has(uac::USE_DES_KEY_ONLY) || a.enctypes.is_some_and(|e| e & 0x3 != 0)
        }),
        "USE_DES_KEY_ONLY or DES in msDS-SupportedEncryptionTypes",
    )
}

pub static ACC_10: Rule = r!(
    "ACC-10",
    Accounts,
    3,
    refs [Reference { framework: "ANSSI", id: "vuln3_reversible_password" }, Reference { framework: "PingCastle", id: "A-UnixPwd" }],
    measures ["IAM-07"],
    thresholds [],
    "Password-like attributes populated",
    "Attributs de type mot de passe renseignés",
    "userPassword and unixUserPassword are often readable and hold reusable secrets.",
    "userPassword et unixUserPassword sont souvent lisibles et contiennent des secrets réutilisables.",
    "Clear userPassword and unixUserPassword and change the corresponding passwords.",
    "Vider userPassword et unixUserPassword et changer les mots de passe correspondants.",
    acc10
);

fn acc10(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.enabled().filter(|(_, a)| a.password_attributes),
        "userPassword or unixUserPassword populated",
    )
}

pub static ACC_11: Rule = r!(
    "ACC-11",
    Accounts,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_primary_group_id_1000" }],
    measures ["INV-04", "IAM-10"],
    thresholds [],
    "Accounts whose primary group is a built-in privileged group",
    "Comptes dont le groupe principal est un groupe privilégié intégré",
    "A primaryGroupID below 1000 (e.g. 512) silently makes the account a member of an administrative group.",
    "Un primaryGroupID inférieur à 1000 (ex. 512) rend le compte discrètement membre d'un groupe d'administration.",
    "Reset primaryGroupID to 513/515 and review the account.",
    "Remettre primaryGroupID à 513/515 et examiner le compte.",
    acc11
);

fn acc11(c: &Ctx<'_>) -> Eval {
    list_rule(
        c.accounts().filter(|(_, a)| {
            a.primary_group_id
                .is_some_and(|p| p < 1000 && ![513, 514, 515, 516, 521].contains(&p))
        }),
        "primaryGroupID < 1000 outside 513/514/515/516/521",
    )
}

pub static ACC_12: Rule = r!(
    "ACC-12",
    Accounts,
    1,
    refs [Reference { framework: "ANSSI", id: "vuln1_user_accounts_dormant" }, Reference { framework: "PingCastle", id: "S-Inactive" }],
    measures ["IAM-02", "IAM-10"],
    thresholds ["inactive_days", "dormant_ratio_percent"],
    "High proportion of dormant enabled accounts",
    "Proportion importante de comptes actifs dormants",
    "Many dormant accounts show that departures are not processed.",
    "Beaucoup de comptes dormants montrent que les départs ne sont pas traités.",
    "Set up a leaver process fed by HR and disable dormant accounts.",
    "Mettre en place un processus de départ alimenté par les RH et désactiver les comptes dormants.",
    acc12
);

fn acc12(c: &Ctx<'_>) -> Eval {
    let total = c.enabled_users().filter(|(_, a)| !c.is_krbtgt(a)).count();
    let d = names(dormant(c));
    if total == 0 {
        return Eval::Pass;
    }
    let pct = d.len() as f64 * 100.0 / total as f64;
    if pct > f64::from(c.t().dormant_ratio_percent) {
        fail(
            d.clone(),
            format!(
                "{} dormant of {total} enabled users ({pct:.1}% > {}%)",
                d.len(),
                c.t().dormant_ratio_percent
            ),
        )
    } else {
        Eval::Pass
    }
}

pub static ACC_13: Rule = r!(
    "ACC-13",
    Accounts,
    2,
    refs [Reference { framework: "ANSSI", id: "vuln2_sidhistory_dangerous" }, Reference { framework: "PingCastle", id: "T-SIDHistoryDangerous" }],
    measures ["INV-04", "IAM-10"],
    thresholds [],
    "Dangerous SID history (same domain or well-known SID)",
    "Historique de SID dangereux (même domaine ou SID connu)",
    "A same-domain or well-known SID in sIDHistory is a classic persistence backdoor.",
    "Un SID du même domaine ou bien connu dans sIDHistory est une porte dérobée classique.",
    "Remove the value at once and investigate how it was written.",
    "Supprimer la valeur immédiatement et rechercher comment elle a été écrite.",
    acc13
);

fn acc13(c: &Ctx<'_>) -> Eval {
    let dom = c.idx.domain_sid().cloned();
    list_rule(
        c.accounts().filter(|(_, a)| {
            a.sid_history.iter().any(|s| {
                s.parent() == dom
                    || s.rid().is_some_and(|r| r < 1000)
                    || s.subs.first() == Some(&32)
            })
        }),
        "sIDHistory with a same-domain or well-known SID",
    )
}
