//! Single sign-on with OpenID Connect: the configuration `hygie serve --oidc FILE` reads, the
//! providers' documents (discovery, key set) and what a login in progress keeps.
//!
//! The flow is the authorisation code flow with PKCE (S256), `state` and `nonce`; the login in
//! progress ([`Pending`]) is kept in the store under the digest of its `state`, sealed with the
//! server's key (at most ten minutes, so that any `serve` process on the same store answers the
//! callback), bound to the browser by a cookie, and taken once at the callback. The ID token's checks are `token` (pure); the HTTP exchanges are `fetch`.
//! The role and binding come from one claim's values through the same mapping as the directory
//! login (`crate::mapping`, first match wins). Several providers may be configured; local and
//! directory accounts keep signing in beside them.
//!
//! ```toml
//! require_sso_roles = ["administrator"]   # their local password sign-in is refused
//!
//! [[provider]]
//! name = "chu"                             # in URLs and the journal: method `oidc:chu`
//! label = "CHU account / Compte du CHU"    # the login page's button
//! issuer = "https://auth.chu.test"         # its discovery: ISSUER/.well-known/openid-configuration
//! client_id = "hygie"
//! client_secret_file = "/etc/hygie/oidc-chu.secret"
//! redirect_url = "https://hygie.chu.test/login/sso/chu/callback"
//! scopes = ["openid", "profile", "groups"] # default: openid profile email
//! claim = "groups"                         # whose values the [[provider.map]] entries name
//! username_claim = "preferred_username"    # default; the account's name in Hygie
//! strong_amr = ["mfa", "otp", "hwk"]       # amr values proving a second factor (default shown
//! strong_acr = []                          #  with more), acr values likewise
//! post_logout_redirect_url = "https://hygie.chu.test/login"
//! ca_cert = "/etc/hygie/idp-ca.pem"        # else the system's roots
//!
//! [[provider.map]]
//! value = "hygie-rssi"
//! role = "ciso"
//! facilities = ["750712184"]
//! ```

pub mod fetch;
pub mod token;

use crate::mapping::Mapping;
use hygie_core::Finess;
use hygie_store::Role;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a login may stay at the provider.
pub const PENDING_TTL: Duration = Duration::from_secs(600);

/// `amr` values (RFC 8176) that say more than a password was used.
const DEFAULT_STRONG_AMR: &[&str] = &[
    "mfa", "otp", "hwk", "swk", "sc", "fpt", "face", "iris", "retina", "vbm", "pop",
];

/// One provider.
#[derive(Debug)]
pub struct Provider {
    pub name: String,
    pub label: String,
    pub issuer: String,
    pub client_id: String,
    client_secret: secrecy::SecretString,
    pub redirect_url: url::Url,
    pub scopes: Vec<String>,
    pub claim: String,
    pub username_claim: String,
    pub strong_amr: Vec<String>,
    pub strong_acr: Vec<String>,
    pub post_logout_redirect_url: Option<url::Url>,
    pub maps: Vec<Mapping>,
    client: fetch::Client,
    /// The discovery document and key set, fetched at the first login, the keys again when a
    /// token names a key they lack.
    documents: tokio::sync::Mutex<Option<Documents>>,
}

/// What the provider publishes.
#[derive(Debug, Clone)]
pub struct Documents {
    pub authorization_endpoint: url::Url,
    pub token_endpoint: url::Url,
    pub jwks_uri: url::Url,
    pub end_session_endpoint: Option<url::Url>,
    pub keys: token::KeySet,
}

/// A login sent to a provider, waiting for its callback: kept in the store, sealed (the
/// verifier and nonce are secrets until the callback).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub provider: String,
    pub nonce: String,
    pub verifier: String,
    /// Digest of the browser's cookie secret: the callback must come from the same browser.
    pub browser: String,
    pub lang: hygie_core::Lang,
}

/// Single sign-on of a `hygie serve`.
#[derive(Debug)]
pub struct Sso {
    pub providers: Vec<Provider>,
    pub require_sso_roles: Vec<Role>,
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SsoConfigError {
    pub path: String,
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileForm {
    #[serde(default)]
    require_sso_roles: Vec<String>,
    #[serde(default)]
    provider: Vec<ProviderForm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderForm {
    name: String,
    label: Option<String>,
    issuer: String,
    client_id: String,
    client_secret_file: PathBuf,
    redirect_url: String,
    scopes: Option<Vec<String>>,
    claim: String,
    username_claim: Option<String>,
    strong_amr: Option<Vec<String>>,
    #[serde(default)]
    strong_acr: Vec<String>,
    post_logout_redirect_url: Option<String>,
    ca_cert: Option<PathBuf>,
    #[serde(default)]
    map: Vec<MapForm>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapForm {
    value: String,
    role: String,
    #[serde(default)]
    facilities: Vec<String>,
    region: Option<String>,
}

/// A URL the configuration gives: https, or http on loopback (a test provider).
fn checked_url(field: &str, s: &str) -> Result<url::Url, String> {
    let u = url::Url::parse(s).map_err(|e| format!("{field} '{s}': {e}"))?;
    let loopback = u.host_str().is_some_and(crate::outbound::is_loopback);
    if u.scheme() == "https" || u.scheme() == "http" && loopback {
        Ok(u)
    } else {
        Err(format!(
            "{field} '{s}': use https:// (http:// only on loopback) / utilisez https://"
        ))
    }
}

impl Sso {
    /// Read and check a configuration file (and each provider's secret file).
    pub fn load(path: &Path) -> Result<Self, SsoConfigError> {
        let err = |message: String| SsoConfigError {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Self::parse(&text, &|p| {
            std::fs::read_to_string(p).map_err(|e| e.to_string())
        })
        .map_err(err)
    }

    /// Check a configuration's text; `read_secret` reads a secret file. The error names the
    /// provider and field, never a secret.
    pub fn parse(
        text: &str,
        read_secret: &dyn Fn(&Path) -> Result<String, String>,
    ) -> Result<Self, String> {
        let f: FileForm = toml::from_str(text).map_err(|e| e.to_string())?;
        if f.provider.is_empty() {
            return Err("no [[provider]]: nothing to sign in with / aucun [[provider]]".into());
        }
        let require_sso_roles = f
            .require_sso_roles
            .iter()
            .map(|r| Role::parse(r).map_err(|e| format!("require_sso_roles: {e}")))
            .collect::<Result<_, _>>()?;
        let mut providers: Vec<Provider> = Vec::new();
        for p in f.provider {
            let at = |m: String| format!("[[provider]] '{}': {m}", p.name);
            if p.name.is_empty()
                || p.name.len() > 32
                || !p
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            {
                return Err(at("name: 1 to 32 lower-case letters, digits or '-' / nom : 1 à 32 minuscules, chiffres ou '-'".into()));
            }
            if providers.iter().any(|q| q.name == p.name) {
                return Err(at("named twice / nommé deux fois".into()));
            }
            checked_url("issuer", &p.issuer).map_err(at)?;
            let redirect_url = checked_url("redirect_url", &p.redirect_url).map_err(at)?;
            let post_logout_redirect_url = p
                .post_logout_redirect_url
                .as_deref()
                .map(|u| checked_url("post_logout_redirect_url", u))
                .transpose()
                .map_err(at)?;
            let secret = read_secret(&p.client_secret_file).map_err(|e| {
                at(format!(
                    "client_secret_file {}: {e}",
                    p.client_secret_file.display()
                ))
            })?;
            let secret = secret.trim().to_owned();
            if secret.is_empty() {
                return Err(at(format!(
                    "client_secret_file {} is empty / est vide",
                    p.client_secret_file.display()
                )));
            }
            let scopes = p
                .scopes
                .unwrap_or_else(|| ["openid", "profile", "email"].map(String::from).to_vec());
            if !scopes.iter().any(|s| s == "openid") {
                return Err(at(
                    "scopes must include openid / scopes doit contenir openid".into(),
                ));
            }
            if p.map.is_empty() {
                return Err(at("no [[provider.map]] entry: no account could sign in / aucune entrée [[provider.map]]".into()));
            }
            let mut maps = Vec::with_capacity(p.map.len());
            for (i, m) in p.map.iter().enumerate() {
                maps.push(
                    Mapping::parse(&m.value, &m.role, &m.facilities, m.region.as_deref()).map_err(
                        |e| {
                            at(format!(
                                "[[provider.map]] entry {} (value '{}'): {e}",
                                i + 1,
                                m.value
                            ))
                        },
                    )?,
                );
            }
            let client = fetch::Client::new(p.ca_cert.as_deref()).map_err(at)?;
            providers.push(Provider {
                label: p.label.unwrap_or_else(|| p.name.clone()),
                name: p.name,
                // Compared as written: the discovery document and tokens must say the same.
                issuer: p.issuer.clone(),
                client_id: p.client_id,
                client_secret: secret.into(),
                redirect_url,
                scopes,
                claim: p.claim,
                username_claim: p
                    .username_claim
                    .unwrap_or_else(|| "preferred_username".into()),
                strong_amr: p
                    .strong_amr
                    .unwrap_or_else(|| DEFAULT_STRONG_AMR.iter().map(|s| s.to_string()).collect()),
                strong_acr: p.strong_acr,
                post_logout_redirect_url,
                maps,
                client,
                documents: tokio::sync::Mutex::new(None),
            });
        }
        Ok(Sso {
            providers,
            require_sso_roles,
        })
    }

    pub fn provider(&self, name: &str) -> Option<&Provider> {
        self.providers.iter().find(|p| p.name == name)
    }

    /// Whether `role` must sign in through a provider (its local password is refused).
    pub fn requires_sso(&self, role: Role) -> bool {
        self.require_sso_roles.contains(&role)
    }

    /// Every facility the mappings name (the server checks they exist before serving).
    pub fn facilities(&self) -> impl Iterator<Item = &Finess> {
        self.providers
            .iter()
            .flat_map(|p| crate::mapping::facilities(&p.maps))
    }
}

/// Why a provider could not be used (its documents, its token endpoint).
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error(transparent)]
    Fetch(#[from] fetch::FetchError),
    #[error("{0}")]
    Document(String),
    #[error(transparent)]
    Token(#[from] token::TokenError),
}

impl Provider {
    /// The discovery document and key set (fetched once, then kept).
    pub async fn documents(&self) -> Result<Documents, ProviderError> {
        let mut held = self.documents.lock().await;
        if let Some(d) = held.as_ref() {
            return Ok(d.clone());
        }
        let d = self.discover().await?;
        *held = Some(d.clone());
        Ok(d)
    }

    async fn discover(&self) -> Result<Documents, ProviderError> {
        let url = url::Url::parse(&format!(
            "{}/.well-known/openid-configuration",
            self.issuer.trim_end_matches('/')
        ))
        .map_err(|e| ProviderError::Document(e.to_string()))?;
        let raw = self.client.get(&url).await?;
        let v: serde_json::Value = serde_json::from_slice(&raw)
            .map_err(|e| ProviderError::Document(format!("{url}: {e}")))?;
        let issuer = v["issuer"].as_str().unwrap_or("");
        if issuer != self.issuer {
            return Err(ProviderError::Document(format!(
                "{url}: its issuer '{issuer}' is not the configured '{}'",
                self.issuer
            )));
        }
        let endpoint = |field: &str| -> Result<url::Url, ProviderError> {
            let s = v[field]
                .as_str()
                .ok_or_else(|| ProviderError::Document(format!("{url}: no {field}")))?;
            checked_url(field, s).map_err(ProviderError::Document)
        };
        let jwks_uri = endpoint("jwks_uri")?;
        let keys = token::KeySet::parse(&self.client.get(&jwks_uri).await?)?;
        Ok(Documents {
            authorization_endpoint: endpoint("authorization_endpoint")?,
            token_endpoint: endpoint("token_endpoint")?,
            end_session_endpoint: endpoint("end_session_endpoint").ok(),
            jwks_uri,
            keys,
        })
    }

    /// The provider's end-session endpoint, if it published one and it has been fetched.
    pub async fn end_session_endpoint(&self) -> Option<url::Url> {
        self.documents().await.ok()?.end_session_endpoint
    }

    /// The URL sending the browser to the provider.
    pub fn authorization_url(
        &self,
        d: &Documents,
        state: &str,
        nonce: &str,
        challenge: &str,
    ) -> url::Url {
        let mut u = d.authorization_endpoint.clone();
        u.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", self.redirect_url.as_str())
            .append_pair("scope", &self.scopes.join(" "))
            .append_pair("state", state)
            .append_pair("nonce", nonce)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        u
    }

    /// Exchange the code for tokens and check the ID token (its key set fetched again once when
    /// it names a key the set lacks: the provider rotated its keys).
    pub async fn redeem(
        &self,
        code: &str,
        pending: &Pending,
    ) -> Result<token::IdToken, ProviderError> {
        use secrecy::ExposeSecret;
        let d = self.documents().await?;
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", self.redirect_url.as_str())
            .append_pair("code_verifier", &pending.verifier)
            .finish();
        let raw = self
            .client
            .post_form(
                &d.token_endpoint,
                form,
                (&self.client_id, self.client_secret.expose_secret()),
            )
            .await?;
        let v: serde_json::Value = serde_json::from_slice(&raw)
            .map_err(|e| ProviderError::Document(format!("token answer: {e}")))?;
        let id_token = v["id_token"]
            .as_str()
            .ok_or_else(|| ProviderError::Document("token answer without id_token".into()))?;
        self.check(id_token, &pending.nonce, d.keys).await
    }

    /// Check an ID token against the kept key set, refetching it once on an unknown key.
    pub async fn check(
        &self,
        id_token: &str,
        nonce: &str,
        keys: token::KeySet,
    ) -> Result<token::IdToken, ProviderError> {
        let want = token::Expected {
            issuer: &self.issuer,
            client_id: &self.client_id,
            nonce,
            now: jiff::Timestamp::now().as_second(),
        };
        match token::verify(id_token, &keys, &want) {
            Err(token::TokenError::UnknownKey(kid)) => {
                tracing::info!(target: "hygie::security", provider = %self.name, kid = %kid, "single sign-on: unknown key id, fetching the provider's keys again");
                let mut held = self.documents.lock().await;
                let Some(d) = held.as_mut() else {
                    return Err(token::TokenError::UnknownKey(kid).into());
                };
                d.keys = token::KeySet::parse(&self.client.get(&d.jwks_uri).await?)?;
                Ok(token::verify(id_token, &d.keys, &want)?)
            }
            other => Ok(other?),
        }
    }

    /// Whether the token says a strong method (a second factor) was used.
    pub fn strong(&self, t: &token::IdToken) -> bool {
        t.values("amr").iter().any(|a| self.strong_amr.contains(a))
            || t.text("acr")
                .is_some_and(|a| self.strong_acr.iter().any(|s| s == a))
    }

    /// The account's name in Hygie: the username claim in lower case.
    pub fn username(&self, t: &token::IdToken) -> Option<String> {
        t.text(&self.username_claim)
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
    }

    /// The entry deciding the account's role and binding from the mapped claim's values.
    pub fn decide(&self, t: &token::IdToken) -> Option<&Mapping> {
        crate::mapping::decide(&self.maps, &t.values(&self.claim), |a, b| a == b)
    }
}

/// PKCE (RFC 7636): a random verifier and its S256 challenge.
pub fn pkce() -> Result<(String, String), crate::auth::AuthError> {
    use base64::Engine as _;
    use sha2::Digest as _;
    let verifier = crate::auth::random_hex(32)?;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    Ok((verifier, challenge))
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
require_sso_roles = ["administrator"]
[[provider]]
name = "chu"
issuer = "https://auth.chu.test/"
client_id = "hygie"
client_secret_file = "/run/secret"
redirect_url = "https://hygie.chu.test/login/sso/chu/callback"
claim = "groups"
[[provider.map]]
value = "rssi"
role = "ciso"
facilities = ["750712184"]
[[provider.map]]
value = "ars"
role = "regional_officer"
region = "11"
"#;

    fn secret(_: &Path) -> Result<String, String> {
        Ok("s3cret\n".into())
    }

    #[test]
    fn a_configuration_reads_with_its_defaults() {
        let s = Sso::parse(OK, &secret).unwrap();
        let p = s.provider("chu").unwrap();
        assert_eq!(p.issuer, "https://auth.chu.test/");
        assert_eq!(p.label, "chu");
        assert_eq!(p.scopes, ["openid", "profile", "email"]);
        assert_eq!(p.username_claim, "preferred_username");
        assert!(s.requires_sso(Role::Administrator) && !s.requires_sso(Role::Ciso));
        assert_eq!(s.facilities().count(), 1);
        assert!(
            !format!("{p:?}").contains("s3cret"),
            "no secret in debug output"
        );
    }

    #[test]
    fn mistakes_name_their_provider_and_field() {
        let bad = |from: &str, to: &str| Sso::parse(&OK.replace(from, to), &secret).unwrap_err();
        assert!(bad("https://auth.chu.test/", "http://auth.chu.test/").contains("issuer"));
        assert!(bad("name = \"chu\"", "name = \"CHU!\"").contains("name"));
        let e = bad("role = \"ciso\"", "role = \"boss\"");
        assert!(e.contains("entry 1") && e.contains("'chu'"), "{e}");
        assert!(bad("claim =", "claims =").contains("claims"));
        let e = Sso::parse(OK, &|_| Err("No such file".into())).unwrap_err();
        assert!(e.contains("client_secret_file /run/secret"), "{e}");
        let e = Sso::parse(OK, &|_| Ok(" \n".into())).unwrap_err();
        assert!(e.contains("empty"), "{e}");
        assert!(bad("[\"administrator\"]", "[\"chef\"]").contains("require_sso_roles"));
    }

    /// The claims a provider's token carries decide the account's name, role and second factor.
    #[test]
    fn claims_decide_name_role_and_second_factor() {
        let s = Sso::parse(
            &OK.replace(
                "claim = \"groups\"",
                "claim = \"groups\"\nstrong_acr = [\"eidas2\"]",
            ),
            &secret,
        )
        .unwrap();
        let p = s.provider("chu").unwrap();
        let token = |claims: serde_json::Value| token::IdToken {
            subject: "s".into(),
            claims,
        };
        let t = token(
            serde_json::json!({ "preferred_username": " JDupont ", "groups": ["x", "ars", "rssi"] }),
        );
        assert_eq!(p.username(&t).as_deref(), Some("jdupont"));
        assert_eq!(
            p.decide(&t).unwrap().role,
            Role::Ciso,
            "the first entry that matches"
        );
        assert!(!p.strong(&t), "no amr, no acr: a password only");
        assert!(p.strong(&token(serde_json::json!({ "amr": ["pwd", "otp"] }))));
        assert!(!p.strong(&token(
            serde_json::json!({ "amr": ["pwd"], "acr": "eidas1" })
        )));
        assert!(p.strong(&token(serde_json::json!({ "acr": "eidas2" }))));
        let t = token(serde_json::json!({ "groups": "ars" }));
        assert_eq!(p.decide(&t).unwrap().role, Role::RegionalOfficer);
        assert!(p.username(&t).is_none());
        assert!(
            p.decide(&token(serde_json::json!({ "groups": ["RSSI"] })))
                .is_none(),
            "values compare exactly"
        );
    }

    #[test]
    fn pkce_challenge_is_the_verifiers_s256() {
        use base64::Engine as _;
        use sha2::Digest as _;
        let (v, c) = pkce().unwrap();
        assert!(v.len() >= 43);
        assert_eq!(
            c,
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(v.as_bytes()))
        );
    }
}
