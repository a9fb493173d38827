//! Why a package is refused, in English and French, with a stable code for scripts and tests.

use hygie_core::Localized;

/// A package the region will not store. The whole package is refused: nothing of it is kept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a gzip stream, or one that ends early or fails its checksum.
    #[error(
        "the package file is truncated or damaged ({0}) / le fichier du paquet est tronqué ou endommagé ({0})"
    )]
    Unreadable(String),
    /// Readable, but not the shape of a package, or a field that does not parse.
    #[error("the package is malformed: {0} / le paquet est mal formé : {0}")]
    Malformed(String),
    #[error(
        "not a Hygie federation package (format '{0}') / ce n'est pas un paquet de fédération Hygie (format « {0} »)"
    )]
    UnknownFormat(String),
    #[error(
        "package format version {0} is unknown to this Hygie (it reads version {known}) / la version {0} du format de paquet est inconnue de ce Hygie (il lit la version {known})",
        known = crate::VERSION
    )]
    UnknownVersion(u64),
    #[error(
        "the signature does not match the package: it was changed after signing, or signed by another key / la signature ne correspond pas au paquet : il a été modifié après sa signature, ou signé par une autre clé"
    )]
    BadSignature,
    #[error(
        "the signing key (fingerprint {fingerprint}) is not enrolled at this region: enrol it with `hygie region enrol` / la clé de signature (empreinte {fingerprint}) n'est pas enrôlée dans cette région : l'enrôler avec `hygie region enrol`"
    )]
    UnknownKey { fingerprint: String },
    #[error(
        "the signing key (fingerprint {fingerprint}) of facility {finess} was revoked / la clé de signature (empreinte {fingerprint}) de l'établissement {finess} a été révoquée"
    )]
    RevokedKey { finess: String, fingerprint: String },
    #[error(
        "the package is about facility {package} but its key is enrolled for {enrolled} / le paquet concerne l'établissement {package} mais sa clé est enrôlée pour {enrolled}"
    )]
    OtherFacility { package: String, enrolled: String },
    #[error(
        "replay: package {sequence} was already imported and package {last} since / rejeu : le paquet {sequence} a déjà été importé, et le paquet {last} depuis"
    )]
    Replay { sequence: u64, last: u64 },
    #[error(
        "rollback: package {sequence} is older than package {last}, already imported / retour en arrière : le paquet {sequence} est plus ancien que le paquet {last}, déjà importé"
    )]
    Rollback { sequence: u64, last: u64 },
    #[error(
        "out of order: package {sequence} arrived but package {expected} is expected next / hors séquence : le paquet {sequence} est arrivé mais le paquet {expected} est attendu"
    )]
    Gap { sequence: u64, expected: u64 },
    #[error(
        "package {sequence} does not follow the last imported package (its previous hash differs): the facility's history forked / le paquet {sequence} ne suit pas le dernier paquet importé (son empreinte précédente diffère) : l'historique de l'établissement a divergé"
    )]
    Fork { sequence: u64 },
    #[error(
        "the key rotation statement is not signed by the old key it names / la déclaration de changement de clé n'est pas signée par l'ancienne clé qu'elle nomme"
    )]
    BadRotation,
    #[error(
        "the key rotation names old key {fingerprint}, which is not the key in force for facility {finess} / le changement de clé nomme l'ancienne clé {fingerprint}, qui n'est pas la clé en vigueur de l'établissement {finess}"
    )]
    RotationNotEnrolled { finess: String, fingerprint: String },
    /// A requests file signed by a key this facility does not trust as its region's.
    #[error(
        "the requests are signed by a key (fingerprint {fingerprint}) this facility does not trust as its region's: compare the fingerprint with the agency, then `hygie requests trust` / les demandes sont signées par une clé (empreinte {fingerprint}) que cet établissement ne reconnaît pas comme celle de sa région : comparer l'empreinte avec l'agence, puis `hygie requests trust`"
    )]
    UntrustedRegion { fingerprint: String },
    #[error(
        "the requests are addressed to facility {to}, not to {here} / les demandes sont adressées à l'établissement {to}, pas à {here}"
    )]
    NotAddressed { to: String, here: String },
}

impl Refusal {
    /// A stable name for scripts and the JSON output.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Unreadable(_) => "unreadable",
            Refusal::Malformed(_) => "malformed",
            Refusal::UnknownFormat(_) => "unknown_format",
            Refusal::UnknownVersion(_) => "unknown_version",
            Refusal::BadSignature => "bad_signature",
            Refusal::UnknownKey { .. } => "unknown_key",
            Refusal::RevokedKey { .. } => "revoked_key",
            Refusal::OtherFacility { .. } => "other_facility",
            Refusal::Replay { .. } => "replay",
            Refusal::Rollback { .. } => "rollback",
            Refusal::Gap { .. } => "out_of_order",
            Refusal::Fork { .. } => "fork",
            Refusal::UntrustedRegion { .. } => "untrusted_region",
            Refusal::BadRotation => "bad_rotation",
            Refusal::RotationNotEnrolled { .. } => "rotation_not_enrolled",
            Refusal::NotAddressed { .. } => "not_addressed",
        }
    }

    /// The reason in each language (the display joins them with " / ").
    pub fn reason(&self) -> Localized {
        let text = self.to_string();
        match text.split_once(" / ") {
            Some((en, fr)) => Localized::new(en.to_owned(), fr.to_owned()),
            None => Localized::new(text.clone(), text),
        }
    }

    /// The refusal as scripts read it (`hygie sync import --format json`, the push endpoint's
    /// answer, read back by `PushAnswer::parse`): `{outcome: "refused", code, reason: {en, fr}}`.
    pub fn answer(&self) -> serde_json::Value {
        let reason = self.reason();
        serde_json::json!({
            "outcome": "refused",
            "code": self.code(),
            "reason": { "en": reason.en, "fr": reason.fr },
        })
    }
}
