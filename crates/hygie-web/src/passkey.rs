//! Passkeys (WebAuthn) as the relying party: registration from the account page, a passkey as
//! the second factor of a login (it counts as TOTP does for the roles that require one), and
//! the passwordless sign-in with a discoverable credential. The ceremonies themselves (challenge,
//! origin and relying-party checks, signatures, signature counters, user verification) are
//! webauthn-rs's; this module holds Hygie's side: the relying party made from the server's
//! public address (`hygie serve --public-url`), the options as the page script gives them to
//! the browser, and the names of credentials in forms and the store.
//!
//! Why the options are changed: webauthn-rs asks for a non-resident passkey at registration
//! and for conditional mediation (an autofill prompt) at the passwordless sign-in. Hygie asks
//! for a resident (discoverable) credential, so the same passkey serves both uses, and for the
//! usual modal prompt behind a "Sign in with a passkey" button. User verification stays
//! required in both, so a passkey alone proves two factors (possession and the device's PIN or
//! biometrics).
//!
//! The state between a ceremony's two requests is kept in the store (`Store::
//! put_ceremony`), so any `serve` process finishes what another started. The page
//! script is the first-party file `static/passkeys.js` (served at [`SCRIPT_PATH`], allowed by
//! the CSP's `script-src 'self'`; no inline script): it reads the options from the form's
//! `data-options` attribute, calls the browser's WebAuthn API and posts the answer as a field
//! of the same form, which carries the CSRF token like every other.

use base64::Engine as _;
use serde_json::Value;
use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder};

/// Where the page script is served.
pub const SCRIPT_PATH: &str = "/static/passkeys.js";
/// The page script (first-party, no dependency).
pub const SCRIPT: &str = include_str!("../static/passkeys.js");
/// How long a ceremony may take: the browser's own timeout (webauthn-rs's default) and a bit.
pub const CEREMONY_MINUTES: i64 = 6;

/// Why a public address cannot name the relying party (checked when `serve` starts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--public-url {url}: {en} / {fr}")]
pub struct PublicUrlError {
    pub url: String,
    pub en: &'static str,
    pub fr: &'static str,
}

/// The address users open, checked for WebAuthn: `https://` (or `http://localhost`, the only
/// plain address browsers allow passkeys on), a host name (an IP address cannot be a relying
/// party id), no credentials, query or fragment.
pub fn check_public_url(s: &str) -> Result<Url, PublicUrlError> {
    let err = |en, fr| PublicUrlError {
        url: s.to_owned(),
        en,
        fr,
    };
    let url = Url::parse(s.trim()).map_err(|_| {
        err(
            "not an address (https://hygie.example.org)",
            "pas une adresse (https://hygie.exemple.fr)",
        )
    })?;
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_owned(),
        Some(_) => {
            return Err(err(
                "passkeys need a host name, not an IP address",
                "les clés d'accès demandent un nom d'hôte, pas une adresse IP",
            ));
        }
        None => return Err(err("no host", "pas d'hôte")),
    };
    match url.scheme() {
        "https" => {}
        "http" if host == "localhost" => {}
        _ => {
            return Err(err(
                "browsers allow passkeys on https:// only (or http://localhost)",
                "les navigateurs n'acceptent les clés d'accès qu'en https:// (ou http://localhost)",
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(err(
            "no user or password in the address",
            "pas d'utilisateur ni de mot de passe dans l'adresse",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err(
            "no query or fragment in the address",
            "pas de requête ni de fragment dans l'adresse",
        ));
    }
    Ok(url)
}

/// The relying party: Hygie at its public address (id: the host name; origin: scheme, host
/// and port).
pub struct Passkeys {
    webauthn: Webauthn,
    rp_id: String,
}

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkeys")
            .field("rp_id", &self.rp_id)
            .finish_non_exhaustive()
    }
}

impl Passkeys {
    /// The relying party of the public address `public_url` (see [`check_public_url`]).
    pub fn new(public_url: &str) -> Result<Passkeys, PublicUrlError> {
        let url = check_public_url(public_url)?;
        let rp_id = url.host_str().unwrap_or_default().to_owned();
        let webauthn = WebauthnBuilder::new(&rp_id, &url)
            .and_then(|b| b.rp_name("Hygie").build())
            .map_err(|_| PublicUrlError {
                url: public_url.to_owned(),
                en: "cannot be a WebAuthn relying party",
                fr: "ne peut être une partie de confiance WebAuthn",
            })?;
        Ok(Passkeys { webauthn, rp_id })
    }

    pub fn webauthn(&self) -> &Webauthn {
        &self.webauthn
    }

    /// The relying party id (the public address's host name).
    pub fn rp_id(&self) -> &str {
        &self.rp_id
    }
}

/// A credential's id as forms and the store name it: base64url without padding.
pub fn credential_key(id: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id)
}

/// Which ceremony the options are for, as the page script reads them (`data-passkey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prompt {
    /// `navigator.credentials.create`: a resident (discoverable) credential is required.
    Create,
    /// `navigator.credentials.get`, modal (never conditional mediation).
    Get,
}

impl Prompt {
    pub fn as_str(self) -> &'static str {
        match self {
            Prompt::Create => "create",
            Prompt::Get => "get",
        }
    }
}

/// The options of a ceremony as the page gives them to the browser (JSON text for the form's
/// `data-options`): a resident key required at creation, no conditional mediation.
pub fn browser_options(options: &impl serde::Serialize, prompt: Prompt) -> String {
    let mut v = serde_json::to_value(options).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        o.remove("mediation");
    }
    if prompt == Prompt::Create
        && let Some(sel) = v
            .pointer_mut("/publicKey/authenticatorSelection")
            .and_then(Value::as_object_mut)
    {
        sel.insert("residentKey".into(), "required".into());
        sel.insert("requireResidentKey".into(), true.into());
    }
    v.to_string()
}

/// A passkey's name as typed: trimmed, 1 to `PASSKEY_NAME_MAX` characters, no control
/// character; the error in both languages.
pub fn passkey_name(typed: &str) -> Result<String, (&'static str, &'static str)> {
    let name = typed.trim();
    if name.is_empty() || name.chars().count() > hygie_store::PASSKEY_NAME_MAX {
        return Err((
            "Give the passkey a name of 1 to 100 characters (for instance \"office laptop\").",
            "Donnez à la clé d'accès un nom de 1 à 100 caractères (par exemple « portable du bureau »).",
        ));
    }
    if name.chars().any(char::is_control) {
        return Err((
            "The name must not hold control characters.",
            "Le nom ne doit pas contenir de caractères de contrôle.",
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_urls() {
        for ok in [
            "https://hygie.chu-rennes.fr",
            "https://hygie.example.org:8443/",
            "http://localhost:8080",
            "https://hygie.example.org/hygie/",
        ] {
            assert!(check_public_url(ok).is_ok(), "{ok}");
        }
        let table = [
            ("hygie.example.org", "not an address"),
            ("http://hygie.example.org", "https:// only"),
            ("https://127.0.0.1:8443", "not an IP address"),
            ("http://127.0.0.1:8080", "not an IP address"),
            ("https://[::1]/", "not an IP address"),
            ("https://bob:pw@hygie.example.org", "no user"),
            ("https://hygie.example.org/?a=1", "no query"),
            ("ftp://localhost", "https:// only"),
        ];
        for (bad, why) in table {
            let e = check_public_url(bad)
                .err()
                .map(|e| e.en)
                .unwrap_or("accepted");
            assert!(e.contains(why), "{bad}: {e}");
        }
        let e = check_public_url("http://hygie.example.org").unwrap_err();
        assert!(
            e.to_string()
                .contains("--public-url http://hygie.example.org")
        );
        assert!(e.to_string().contains("https://"), "{e}");
    }

    #[test]
    fn relying_party_from_the_public_url() {
        let p = Passkeys::new("https://hygie.chu-rennes.fr:8443/").unwrap();
        assert_eq!(p.rp_id(), "hygie.chu-rennes.fr");
        assert!(Passkeys::new("https://10.0.0.1/").is_err());
    }

    #[test]
    fn creation_asks_a_resident_key_and_gets_no_conditional_mediation() {
        let p = Passkeys::new("http://localhost:8080").unwrap();
        let id = webauthn_rs::prelude::Uuid::new_v4();
        let (ccr, _) = p
            .webauthn()
            .start_passkey_registration(id, "amartin", "Alice Martin", None)
            .unwrap();
        let v: Value = serde_json::from_str(&browser_options(&ccr, Prompt::Create)).unwrap();
        let sel = &v["publicKey"]["authenticatorSelection"];
        assert_eq!(sel["residentKey"], "required");
        assert_eq!(sel["requireResidentKey"], true);
        assert_eq!(sel["userVerification"], "required");
        assert_eq!(v["publicKey"]["rp"]["id"], "localhost");
        let (rcr, _) = p.webauthn().start_discoverable_authentication().unwrap();
        assert!(
            serde_json::to_value(&rcr)
                .unwrap()
                .get("mediation")
                .is_some()
        );
        let v: Value = serde_json::from_str(&browser_options(&rcr, Prompt::Get)).unwrap();
        assert!(v.get("mediation").is_none(), "{v}");
        assert_eq!(v["publicKey"]["userVerification"], "required");
        // Two ceremonies never share a challenge.
        let (a, _) = p.webauthn().start_discoverable_authentication().unwrap();
        let (b, _) = p.webauthn().start_discoverable_authentication().unwrap();
        assert_ne!(
            serde_json::to_value(&a).unwrap()["publicKey"]["challenge"],
            serde_json::to_value(&b).unwrap()["publicKey"]["challenge"]
        );
    }

    #[test]
    fn names_and_keys() {
        assert_eq!(passkey_name("  office laptop "), Ok("office laptop".into()));
        assert!(passkey_name("   ").is_err());
        assert!(passkey_name(&"x".repeat(101)).is_err());
        assert!(passkey_name("a\u{7}b").is_err());
        assert_eq!(credential_key(&[0xfb, 0xff, 0x01]), "-_8B");
    }
}
