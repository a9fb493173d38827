//! Password policy rules (PWD-*): the domain policy, fine-grained policies (PSO) and what applies to privileged and service accounts.

use super::*;

pub static PWD_01: Rule = r!(
    "PWD-01",
    PasswordPolicy,
    2,
    refs [Reference { framework: "PingCastle", id: "A-MinPwdLen" }],
    measures ["IAM-04", "IAM-10"],
    thresholds ["min_password_length"],
    "Domain minimum password length below target",
    "Longueur minimale des mots de passe du domaine insuffisante",
    "Short passwords fall quickly to guessing and offline cracking.",
    "Les mots de passe courts cèdent vite aux attaques par essais et au cassage hors ligne.",
    "Raise minPwdLength in the Default Domain Policy (12 or more; ANSSI recommends long passphrases).",
    "Augmenter minPwdLength dans la stratégie de domaine par défaut (12 ou plus ; l'ANSSI recommande des phrases de passe longues).",
    pwd01
);

fn pwd01(c: &Ctx<'_>) -> Eval {
    let d = &c.snap.domain;
    domain_fails(
        c,
        d.min_pwd_length < c.t().min_password_length,
        format!(
            "minPwdLength={} < {}",
            d.min_pwd_length,
            c.t().min_password_length
        ),
    )
}

pub static PWD_02: Rule = r!(
    "PWD-02",
    PasswordPolicy,
    3,
    refs [],
    measures ["IAM-04"],
    thresholds [],
    "Password complexity disabled",
    "Complexité des mots de passe désactivée",
    "Without complexity, single-word and numeric passwords are accepted.",
    "Sans complexité, les mots de passe d'un seul mot ou purement numériques sont acceptés.",
    "Enable 'Password must meet complexity requirements' in the domain policy.",
    "Activer « Le mot de passe doit respecter des exigences de complexité » dans la stratégie du domaine.",
    pwd02
);

fn pwd02(c: &Ctx<'_>) -> Eval {
    domain_fails(
        c,
        c.snap.domain.pwd_properties & 1 == 0,
        "pwdProperties: DOMAIN_PASSWORD_COMPLEX not set",
    )
}

pub static PWD_03: Rule = r!(
    "PWD-03",
    PasswordPolicy,
    3,
    refs [Reference { framework: "ANSSI", id: "vuln3_reversible_password_priv_namingcontext" }, Reference { framework: "PingCastle", id: "A-ReversiblePwd" }],
    measures ["IAM-07"],
    thresholds [],
    "Domain stores passwords with reversible encryption",
    "Le domaine stocke les mots de passe avec un chiffrement réversible",
    "Reversibly encrypted passwords can be read back in clear by anyone who dumps the directory.",
    "Les mots de passe chiffrés de façon réversible peuvent être relus en clair par quiconque extrait l'annuaire.",
    "Disable 'Store passwords using reversible encryption' and reset the passwords set meanwhile.",
    "Désactiver « Enregistrer les mots de passe en utilisant un chiffrement réversible » et réinitialiser les mots de passe définis entre-temps.",
    pwd03
);

fn pwd03(c: &Ctx<'_>) -> Eval {
    domain_fails(
        c,
        c.snap.domain.pwd_properties & 0x10 != 0,
        "pwdProperties: DOMAIN_PASSWORD_STORE_CLEARTEXT set",
    )
}

pub static PWD_04: Rule = r!(
    "PWD-04",
    PasswordPolicy,
    4,
    refs [],
    measures ["IAM-05"],
    thresholds ["max_password_age_days"],
    "Passwords never expire or expire too late",
    "Mots de passe sans expiration ou à expiration trop tardive",
    "The regulator's measure requires defined renewal rules; a password leaked once stays valid forever.",
    "La mesure réglementaire exige des règles de renouvellement ; un mot de passe divulgué reste valable indéfiniment.",
    "Set maxPwdAge to the renewal period decided in the security policy, or document the risk acceptance.",
    "Fixer maxPwdAge à la période décidée dans la politique de sécurité, ou documenter l'acceptation du risque.",
    pwd04
);

fn pwd04(c: &Ctx<'_>) -> Eval {
    match c.snap.domain.max_pwd_age_days {
        None => fail([c.snap.domain.dns_name()], "maxPwdAge=never"),
        Some(d) if d > f64::from(c.t().max_password_age_days) => fail(
            [c.snap.domain.dns_name()],
            format!("maxPwdAge={d:.0}d > {}d", c.t().max_password_age_days),
        ),
        _ => Eval::Pass,
    }
}

pub static PWD_05: Rule = r!(
    "PWD-05",
    PasswordPolicy,
    3,
    refs [],
    measures ["IAM-04"],
    thresholds ["max_lockout_threshold"],
    "No or weak account lockout",
    "Verrouillage des comptes absent ou trop permissif",
    "Without lockout, online password guessing is unlimited.",
    "Sans verrouillage, les essais de mots de passe en ligne sont illimités.",
    "Set lockoutThreshold (e.g. 5 to 10 attempts) with a lockout duration of at least one minute.",
    "Fixer lockoutThreshold (par exemple 5 à 10 essais) avec une durée de verrouillage d'au moins une minute.",
    pwd05
);

fn pwd05(c: &Ctx<'_>) -> Eval {
    let l = c.snap.domain.lockout_threshold;
    domain_fails(
        c,
        l == 0 || l > c.t().max_lockout_threshold,
        format!(
            "lockoutThreshold={l} (0 = never; max {})",
            c.t().max_lockout_threshold
        ),
    )
}
/// The effective policy of an account: the PSO with the lowest precedence applied to the account
/// itself, else to one of its groups (nested), else the domain policy (MS-ADTS 3.1.1.5.6.5).
fn effective_policy(c: &Ctx<'_>, ai: usize) -> (u32, Option<f64>) {
    let a = &c.snap.accounts[ai];
    let mut direct: Vec<&crate::model::Pso> = Vec::new();
    let mut via_group: Vec<&crate::model::Pso> = Vec::new();
    for p in &c.snap.psos {
        for t in &p.applies_to {
            if t.eq_ignore_ascii_case(&a.dn) {
                direct.push(p);
            } else if let Some(gi) = c
                .snap
                .groups
                .iter()
                .position(|g| g.dn.eq_ignore_ascii_case(t))
                && c.idx.expand(gi).accounts.contains(&ai)
            {
                via_group.push(p);
            }
        }
    }
    let pick = |v: &[&crate::model::Pso]| {
        v.iter()
            .min_by_key(|p| p.precedence)
            .map(|p| (p.min_length, p.max_age_days))
    };
    pick(&direct)
        .or_else(|| pick(&via_group))
        .unwrap_or((c.snap.domain.min_pwd_length, c.snap.domain.max_pwd_age_days))
}

pub static PWD_06: Rule = r!(
    "PWD-06",
    PasswordPolicy,
    2,
    refs [Reference { framework: "ANSSI", id: "vuln2_privileged_members_password" }, Reference { framework: "PingCastle", id: "A-MinPwdLen" }],
    measures ["IAM-04", "IAM-11", "IAM-10"],
    thresholds ["privileged_min_password_length", "privileged_policy_max_age_days"],
    "Privileged accounts under a weak effective password policy",
    "Comptes à privilèges soumis à une politique de mots de passe faible",
    "Administrators' passwords are the most targeted; their effective policy must be the strongest.",
    "Les mots de passe des administrateurs sont les plus visés ; leur politique effective doit être la plus forte.",
    "Apply a fine-grained password policy (PSO) to the administrative groups with a long minimum length.",
    "Appliquer une stratégie de mots de passe affinée (PSO) aux groupes d'administration avec une longueur minimale élevée.",
    pwd06
);

fn pwd06(c: &Ctx<'_>) -> Eval {
    let t = c.t();
    let bad = c.privileged_enabled().filter(|(i, _)| {
        let (len, age) = effective_policy(c, *i);
        len < t.privileged_min_password_length
            || age.is_none_or(|d| d > f64::from(t.privileged_policy_max_age_days))
    });
    list_rule(
        bad,
        &format!(
            "effective min length < {} or max age > {}d",
            t.privileged_min_password_length, t.privileged_policy_max_age_days
        ),
    )
}

pub static PWD_07: Rule = r!(
    "PWD-07",
    PasswordPolicy,
    4,
    refs [],
    measures ["IAM-04"],
    thresholds ["min_password_history"],
    "Password history too short",
    "Historique des mots de passe trop court",
    "A short history lets users cycle back to a previous password.",
    "Un historique court permet de revenir à un ancien mot de passe.",
    "Raise pwdHistoryLength (24 is the Windows default).",
    "Augmenter pwdHistoryLength (24 par défaut sous Windows).",
    pwd07
);

fn pwd07(c: &Ctx<'_>) -> Eval {
    let h = c.snap.domain.pwd_history_length;
    domain_fails(
        c,
        h < c.t().min_password_history,
        format!("pwdHistoryLength={h} < {}", c.t().min_password_history),
    )
}

pub static PWD_08: Rule = r!(
    "PWD-08",
    PasswordPolicy,
    4,
    refs[Reference {
        framework: "PingCastle",
        id: "A-NoServicePolicy"
    }],
    measures["IAM-04"],
    thresholds["service_password_min_length"],
    "No long-password policy for service accounts",
    "Aucune politique de mots de passe longs pour les comptes de service",
    "Service accounts are kerberoastable; only very long passwords resist offline cracking.",
    "Les comptes de service sont « kerberoastables » ; seuls des mots de passe très longs résistent au cassage.",
    "Create a PSO with a minimum length of 20 or more and apply it to service accounts, or use gMSAs.",
    "Créer une PSO d'au moins 20 caractères et l'appliquer aux comptes de service, ou utiliser des gMSA.",
    pwd08
);

fn pwd08(c: &Ctx<'_>) -> Eval {
    if c.snap
        .psos
        .iter()
        .any(|p| p.min_length >= c.t().service_password_min_length)
    {
        Eval::Pass
    } else {
        fail(
            [c.snap.domain.dns_name()],
            format!(
                "no PSO with msDS-MinimumPasswordLength >= {}",
                c.t().service_password_min_length
            ),
        )
    }
}

pub static PWD_09: Rule = r!(
    "PWD-09",
    PasswordPolicy,
    4,
    refs [Reference { framework: "ANSSI", id: "vuln4_smartcard_expire_passwords" }, Reference { framework: "PingCastle", id: "A-SmartCardPwdRotation" }],
    measures ["IAM-05"],
    thresholds [],
    "Smart-card accounts without password rotation",
    "Comptes à carte à puce sans rotation du mot de passe",
    "The hidden password of smart-card-only accounts never changes unless the domain rotates it.",
    "Le mot de passe caché des comptes à carte à puce ne change jamais si le domaine ne le renouvelle pas.",
    "Set msDS-ExpirePasswordsOnSmartCardOnlyAccounts to TRUE (functional level 2016).",
    "Positionner msDS-ExpirePasswordsOnSmartCardOnlyAccounts à TRUE (niveau fonctionnel 2016).",
    pwd09
);

fn pwd09(c: &Ctx<'_>) -> Eval {
    if c.snap.domain.smartcard_expire_passwords {
        return Eval::Pass;
    }
    list_rule(
        c.enabled_users()
            .filter(|(_, a)| a.has(uac::SMARTCARD_REQUIRED)),
        "msDS-ExpirePasswordsOnSmartCardOnlyAccounts not TRUE",
    )
}

pub static PWD_10: Rule = r!(
    "PWD-10",
    PasswordPolicy,
    2,
    refs [Reference { framework: "ANSSI", id: "vuln2_privileged_members_password" }, Reference { framework: "PingCastle", id: "A-MinPwdLen" }],
    measures ["IAM-04", "IAM-10"],
    thresholds ["min_password_length"],
    "Weak fine-grained password policy (PSO)",
    "Stratégie de mots de passe affinée (PSO) faible",
    "A PSO overrides the domain policy for its targets; a weak one weakens them.",
    "Une PSO remplace la politique du domaine pour ses cibles ; une PSO faible les affaiblit.",
    "Raise the PSO's minimum length, enable complexity and disable reversible encryption.",
    "Augmenter la longueur minimale de la PSO, activer la complexité et désactiver le chiffrement réversible.",
    pwd10
);

fn pwd10(c: &Ctx<'_>) -> Eval {
    let t = c.t();
    let bad: Vec<String> = c
        .snap
        .psos
        .iter()
        .filter(|p| p.min_length < t.min_password_length || p.reversible || !p.complexity)
        .map(|p| p.name.clone())
        .collect();
    fail_on(
        bad,
        format!(
            "min length < {}, reversible or no complexity",
            t.min_password_length
        ),
    )
}
