//! Single sign-on end to end: Chromium, Hygie's server, and LemonLDAP::NG's OpenID Connect
//! provider from Debian's packages. Without chromium or LemonLDAP::NG: fails when CI=true, else
//! SKIP.
#![allow(clippy::unwrap_used, clippy::collapsible_if)]

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::*;
use common::*;
use hygie_store::{Binding, Role};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A log kept in memory.
#[derive(Clone, Default)]
struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logs {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The identity provider of the single sign-on test: LemonLDAP::NG from Debian's packages
/// (scripts/test.sh installs it), its portal (with its OpenID Connect issuer) run by Starman (a
/// Plack server from Debian) on a free port, its configuration a file per version in a temporary folder
/// (the portal reloads a new version within a second), its users the Demo backend's: dwho
/// (groups timelords, users), rtyler and msmith (earthlings, users), each password = login.
struct Lemon {
    dir: PathBuf,
    port: u16,
    conf: Value,
    version: u64,
    /// Starman's process group (its master and workers), ended when the test ends.
    group: Option<u32>,
}

impl Drop for Lemon {
    fn drop(&mut self) {
        // Killing the master alone would leave its workers serving: end the whole group.
        if let Some(g) = self.group {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", "--", &format!("-{g}")])
                .status();
        }
    }
}

const LLNG_PSGI: &str = "/usr/share/lemonldap-ng/portal/htdocs/index.psgi";
const LLNG_DEFAULT_CONF: &str = "/var/lib/lemonldap-ng/conf/lmConf-1.json";

impl Lemon {
    /// Whether it is installed (else the CI failure, or a skip).
    fn installed() -> bool {
        if !Path::new(LLNG_PSGI).exists()
            || !Path::new(LLNG_DEFAULT_CONF).exists()
            || !Path::new("/usr/bin/starman").exists()
        {
            hygie_testkit::missing(
                "LemonLDAP::NG",
                "apt-get install lemonldap-ng starman libgd-securityimage-perl libimage-magick-perl libstring-random-perl (scripts/test.sh)",
            );
            return false;
        }
        true
    }

    /// A new RSA signing key (PEM private, PEM public).
    fn new_key(dir: &Path, name: &str) -> (String, String) {
        let key = dir.join(format!("{name}.pem"));
        let ok = std::process::Command::new("openssl")
            .args(["genrsa", "-out"])
            .arg(&key)
            .arg("2048")
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(ok.success());
        let public = std::process::Command::new("openssl")
            .args(["rsa", "-pubout", "-in"])
            .arg(&key)
            .stderr(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            std::fs::read_to_string(&key).unwrap(),
            String::from_utf8(public.stdout).unwrap(),
        )
    }

    /// Start the portal with the package's default configuration changed by `setup`.
    async fn start(dir: &Path, port: u16, setup: impl FnOnce(&mut Value)) -> Lemon {
        for d in ["conf", "sessions/lock", "psessions", "cache"] {
            std::fs::create_dir_all(dir.join(d)).unwrap();
        }
        std::fs::write(
            dir.join("lemonldap-ng.ini"),
            format!(
                "[all]\nlogLevel = warn\ncheckTime = 1\n[configuration]\ntype = File\ndirName = {conf}\n\
                 [portal]\nstaticPrefix = /static\ntemplateDir = /usr/share/lemonldap-ng/portal/templates\nlanguages = en, fr\n",
                conf = dir.join("conf").display()
            ),
        )
        .unwrap();
        let mut conf: Value =
            serde_json::from_slice(&std::fs::read(LLNG_DEFAULT_CONF).unwrap()).unwrap();
        conf["portal"] = json!(format!("http://127.0.0.1:{port}/"));
        conf["domain"] = json!("127.0.0.1");
        conf["securedCookie"] = json!(0);
        conf["globalStorageOptions"]["Directory"] =
            json!(dir.join("sessions").display().to_string());
        conf["globalStorageOptions"]["LockDirectory"] =
            json!(dir.join("sessions/lock").display().to_string());
        conf["persistentStorageOptions"] = json!({ "Directory": dir.join("psessions").display().to_string(),
            "LockDirectory": dir.join("sessions/lock").display().to_string() });
        // Self-registration and notifications are not under test (and need more modules).
        conf["registerDB"] = json!("Null");
        conf["notification"] = json!(0);
        conf["issuerDBOpenIDConnectActivation"] = json!(1);
        let (private, public) = Lemon::new_key(dir, "key-1");
        conf["oidcServicePrivateKeySig"] = json!(private);
        conf["oidcServicePublicKeySig"] = json!(public);
        conf["oidcServiceKeyIdSig"] = json!("llng-key-1");
        setup(&mut conf);
        let mut lemon = Lemon {
            dir: dir.to_owned(),
            port,
            conf,
            version: 0,
            group: None,
        };
        lemon.reconfigure(|_| {}).await;
        // Starman: a preforking server (Plack's own serves one connection at a time, which a
        // browser's idle connection blocks).
        let child = tokio::process::Command::new("/usr/bin/starman")
            .args([
                "--workers",
                "4",
                "--listen",
                &format!("127.0.0.1:{port}"),
                LLNG_PSGI,
            ])
            .env("LLNG_DEFAULTCONFFILE", dir.join("lemonldap-ng.ini"))
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(dir.join("portal.log")).unwrap())
            .process_group(0)
            .spawn()
            .unwrap();
        lemon.group = child.id();
        for _ in 0..300 {
            if lemon.issuer().await.is_some() {
                return lemon;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "LemonLDAP::NG did not start: {}",
            std::fs::read_to_string(dir.join("portal.log")).unwrap_or_default()
        );
    }

    /// The issuer its discovery document names (None while it is not serving).
    async fn issuer(&self) -> Option<String> {
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .ok()?;
        // HTTP/1.0: the answer is not chunked, and ends with the connection.
        let req = "GET /.well-known/openid-configuration HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
        s.write_all(req.as_bytes()).await.ok()?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).await.ok()?;
        let (head, body) = answer.split_once("\r\n\r\n")?;
        if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
            return None;
        }
        let v: Value = serde_json::from_str(body).ok()?;
        v["issuer"].as_str().map(str::to_owned)
    }

    /// Write a new version of the configuration and wait until the portal serves it.
    async fn reconfigure(&mut self, change: impl FnOnce(&mut Value)) {
        change(&mut self.conf);
        self.version += 1;
        self.conf["cfgNum"] = json!(self.version);
        let file = self.dir.join(format!("conf/lmConf-{}.json", self.version));
        std::fs::write(&file, serde_json::to_vec_pretty(&self.conf).unwrap()).unwrap();
        // The portal checks for a new version every second (checkTime = 1).
        tokio::time::sleep(Duration::from_millis(2500)).await;
    }
}

/// Single sign-on end to end through Chromium and LemonLDAP::NG's OpenID Connect provider, two
/// Hygie providers side by side on it (two clients): dwho, whose group maps to CISO, logs in at
/// the portal and lands in Hygie as the CISO of the mapped facility after the TOTP a CISO needs;
/// logout ends the Hygie session and the portal's; rtyler, whose groups map to nothing there,
/// gets the refusal page; a token whose signature (a new key under the known key id) or issuer
/// is wrong is refused; a new signing key under a new key id is fetched and accepted; on the
/// second provider, whose `acr` counts as strong, msmith becomes a DPO without TOTP. The journal
/// has the logins with method `oidc:…`, the mapping decisions and the refusal, never a token or
/// a client secret. A role that must use single sign-on cannot use its local password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_single_sign_on_through_lemonldap_ng() {
    if chromium_missing() || !Lemon::installed() {
        return;
    }
    // The server's log, kept to check what it says (and what it never says).
    let logs = Logs::default();
    let writer = logs.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .try_init()
        .expect("the only test of this binary that sets the log subscriber");
    const SECRET: &str = "client-secret-of-the-test-0123456789";
    const SECRET_MFA: &str = "other-client-secret-of-the-test-987";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let tmp = tempfile::tempdir().unwrap();
    let idp_port = free_port();
    let issuer = format!("http://127.0.0.1:{idp_port}/");
    let rp = |client: &str, secret: &str, provider: &str| {
        json!({
            "oidcRPMetaDataOptionsClientID": client,
            "oidcRPMetaDataOptionsClientSecret": secret,
            "oidcRPMetaDataOptionsRedirectUris": format!("{base}/login/sso/{provider}/callback"),
            "oidcRPMetaDataOptionsPostLogoutRedirectUris": format!("{base}/login"),
            "oidcRPMetaDataOptionsIDTokenSignAlg": "RS256",
            "oidcRPMetaDataOptionsBypassConsent": 1,
            "oidcRPMetaDataOptionsRequirePKCE": 1,
            "oidcRPMetaDataOptionsIDTokenForceClaims": 1,
        })
    };
    let claims =
        json!({ "name": "cn", "preferred_username": "uid", "groups": "groups;string;always" });
    let mut lemon = Lemon::start(tmp.path(), idp_port, |c| {
        c["oidcRPMetaDataOptions"] = json!({
            "hygie": rp("hygie", SECRET, "lemon"),
            "hygie-mfa": rp("hygie-mfa", SECRET_MFA, "lemon-mfa"),
        });
        c["oidcRPMetaDataExportedVars"] = json!({ "hygie": claims, "hygie-mfa": claims });
    })
    .await;

    // The facility `seed` makes as the users' own.
    let own = hygie_core::Finess::with_check_digit("35000101").unwrap();
    std::fs::write(tmp.path().join("secret"), format!("{SECRET}\n")).unwrap();
    std::fs::write(tmp.path().join("secret-mfa"), SECRET_MFA).unwrap();
    let provider = |name: &str,
                    client: &str,
                    secret: &str,
                    extra: &str,
                    value: &str,
                    role: &str| {
        format!(
            "[[provider]]\nname = \"{name}\"\nlabel = \"CHU ({name})\"\nissuer = \"{issuer}\"\nclient_id = \"{client}\"\n\
             client_secret_file = \"{secret}\"\nredirect_url = \"{base}/login/sso/{name}/callback\"\n\
             scopes = [\"openid\", \"profile\"]\nclaim = \"groups\"\npost_logout_redirect_url = \"{base}/login\"\n{extra}\n\
             [[provider.map]]\nvalue = \"{value}\"\nrole = \"{role}\"\nfacilities = [\"{own}\"]\n",
            secret = tmp.path().join(secret).display(),
            own = own.as_str(),
        )
    };
    let sso_toml = format!(
        "require_sso_roles = [\"administrator\"]\n{}{}",
        provider("lemon", "hygie", "secret", "", "timelords", "ciso"),
        provider(
            "lemon-mfa",
            "hygie-mfa",
            "secret-mfa",
            "strong_acr = [\"loa-1\"]",
            "earthlings",
            "dpo"
        ),
    );
    let sso_file = tmp.path().join("sso.toml");
    std::fs::write(&sso_file, sso_toml).unwrap();
    let sso = hygie_web::oidc::Sso::load(&sso_file).unwrap();
    // The key sealing what the store keeps, shared by every `serve` process on the store.
    let key = hygie_web::seal::SecretKey::random().unwrap();
    let app = sqlite_app_with(hygie_web::Config {
        oidc: Some(std::sync::Arc::new(sso)),
        secret_key: Some(key.clone()),
        ..hygie_web::Config::default()
    })
    .await;
    second_server_answers_the_callback_once(&app, &sso_file, key).await;
    let s = seed(&app).await;
    assert_eq!(s.own, own);
    // An administrator must use single sign-on: the right local password is refused.
    user(&app, "chief", Role::Administrator, Binding::Installation).await;
    let res = login(&app, "chief", PASSWORD, None).await;
    assert_eq!(res.status(), 403);
    assert!(body_string(res).await.contains("single sign-on only"));

    let (b, base2, mut driver, _profile) = start_on(&app, listener).await;
    assert_eq!(base, base2);
    let port = b.port;
    let portal_login = |who: &'static str| {
        let b = &b;
        async move {
            b.wait_text("#lform", "").await;
            b.type_in("#userfield", who).await;
            b.type_in("#passwordfield", who).await;
            b.click("#lform button[type=submit]").await;
        }
    };
    let portal_logout = || {
        let b = &b;
        async move {
            b.wait_text("#form", "").await;
            b.click("#form button.positive").await;
            b.wait_text("h1", "Log in").await;
        }
    };

    // dwho: the button, the portal's login, back in Hygie as the facility's CISO (TOTP first).
    b.go(&format!("{base}/login")).await;
    assert_eq!(b.text("#sso-lemon").await, "CHU (lemon)");
    assert_eq!(b.text("#sso-lemon-mfa").await, "CHU (lemon-mfa)");
    b.screenshot("sso-01-login-with-providers").await;
    b.click("#sso-lemon").await;
    portal_login("dwho").await;
    let secret = b.wait_text("#totp-secret", "").await;
    let now = jiff::Timestamp::now().as_second();
    b.type_in("#code", &hygie_web::auth::totp_code(&secret, now))
        .await;
    b.click("#verify").await;
    b.wait_text("h2", "Plan levels").await;
    b.screenshot("sso-02-signed-in").await;
    let dwho = app.store.user_named("dwho").await.unwrap();
    assert_eq!(dwho.role, Role::Ciso);
    assert_eq!(
        dwho.binding,
        Binding::Facilities {
            facilities: vec![own.clone()]
        }
    );
    assert_eq!(dwho.sign_in, hygie_store::SignIn::Oidc("lemon".into()));
    assert_eq!(dwho.display_name, "Doctor Who");

    // Logout: Hygie's session ends, then the portal's (it asks to confirm), then back to Hygie.
    b.click("#logout").await;
    b.screenshot("sso-03-portal-logout").await;
    portal_logout().await;
    b.go(&format!("{base}/account/sessions")).await;
    b.wait_text("h1", "Log in").await;

    // rtyler: the portal knows him, the mapping of this provider does not.
    b.click("#sso-lemon").await;
    portal_login("rtyler").await;
    let refusal = b.wait_text("#sso-refused", "gives no access").await;
    assert!(refusal.contains("ask the CISO"), "{refusal}");
    b.screenshot("sso-04-refused").await;
    assert!(
        app.store.user_named("rtyler").await.is_err(),
        "no account made"
    );

    // Tokens that must fail their checks (rtyler's portal session signs him in at once):
    // another key under the key id Hygie knows, then another issuer.
    let key_1 = (
        lemon.conf["oidcServicePrivateKeySig"].clone(),
        lemon.conf["oidcServicePublicKeySig"].clone(),
    );
    let (forged, forged_public) = Lemon::new_key(tmp.path(), "forged");
    lemon
        .reconfigure(|c| {
            c["oidcServicePrivateKeySig"] = json!(forged);
            c["oidcServicePublicKeySig"] = json!(forged_public);
        })
        .await;
    b.go(&format!("{base}/login")).await;
    b.click("#sso-lemon").await;
    b.wait_text("#sso-refused", "failed its checks").await;
    lemon
        .reconfigure(|c| {
            c["oidcServicePrivateKeySig"] = key_1.0.clone();
            c["oidcServicePublicKeySig"] = key_1.1.clone();
            c["oidcServiceMetaDataIssuer"] = json!("http://127.0.0.1:1/");
        })
        .await;
    b.go(&format!("{base}/login")).await;
    b.click("#sso-lemon").await;
    b.wait_text("#sso-refused", "failed its checks").await;

    // The portal rotates its key (a new key id): Hygie fetches the key set again and accepts.
    let (rotated, rotated_public) = Lemon::new_key(tmp.path(), "key-2");
    lemon
        .reconfigure(|c| {
            c.as_object_mut()
                .unwrap()
                .remove("oidcServiceMetaDataIssuer");
            c["oidcServicePrivateKeySig"] = json!(rotated);
            c["oidcServicePublicKeySig"] = json!(rotated_public);
            c["oidcServiceKeyIdSig"] = json!("llng-key-2");
        })
        .await;
    b.go(&format!("http://127.0.0.1:{idp_port}/?logout=1"))
        .await;
    b.go(&format!("{base}/login")).await;
    b.click("#sso-lemon").await;
    portal_login("dwho").await;
    // dwho's second factor again: the next step's code (the first one's step is spent).
    b.wait_text("#code", "").await;
    b.type_in("#code", &hygie_web::auth::totp_code(&secret, now + 30))
        .await;
    b.click("#verify").await;
    b.wait_text("h2", "Plan levels").await;
    b.click("#logout").await;
    portal_logout().await;

    // The second provider: its `acr` counts as a strong method, so a DPO needs no TOTP.
    b.click("#sso-lemon-mfa").await;
    portal_login("msmith").await;
    b.wait_text("h2", "Plan levels").await;
    b.screenshot("sso-05-strong-method").await;
    let msmith = app.store.user_named("msmith").await.unwrap();
    assert_eq!(msmith.role, Role::Dpo);
    assert!(!msmith.totp_enrolled);
    assert_eq!(
        msmith.sign_in,
        hygie_store::SignIn::Oidc("lemon-mfa".into())
    );

    let journal = app.store.journal_entries(None, None).await.unwrap();
    let of = |action: &str, who: &str| {
        journal
            .iter()
            .filter(|e| e.action == action && e.subject == who)
            .map(|e| e.details.clone())
            .collect::<Vec<_>>()
    };
    let logins = of("auth.login", "dwho");
    assert_eq!(logins.len(), 2, "{logins:?}");
    assert!(
        logins
            .iter()
            .all(|l| l.contains("\"method\":\"oidc:lemon\"")),
        "{logins:?}"
    );
    assert!(of("auth.login", "msmith")[0].contains("\"method\":\"oidc:lemon-mfa\""));
    let mapping = of("auth.oidc_mapping", "dwho");
    assert!(
        mapping[0].contains("\"value\":\"timelords\"")
            && mapping[0].contains("\"claim\":\"groups\"")
            && mapping[0].contains("\"created\":true"),
        "{mapping:?}"
    );
    let refused = of("auth.login_refused", "rtyler");
    assert!(
        refused.len() == 1
            && refused[0].contains("oidc:lemon")
            && refused[0].contains("no_mapped_claim"),
        "{refused:?}"
    );
    let log = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("ID token refused"), "{log}");
    assert!(log.contains("fetching the provider's keys again"), "{log}");
    for text in [SECRET, SECRET_MFA, "eyJ", "code="] {
        assert!(!log.contains(text), "'{text}' in the log: {log}");
    }
    for e in &journal {
        assert!(
            !e.details.contains(SECRET)
                && !e.details.contains(SECRET_MFA)
                && !e.details.contains("eyJ"),
            "a secret or a token in the journal: {}",
            e.details
        );
    }

    let _ = http(port, "DELETE", &format!("/session/{}", b.session), None).await;
    let _ = driver.kill().await;
}

/// A login started on one server and called back on another (a second `serve` process on the
/// same store, behind the same address) is found there, and only once: the login in progress
/// lives in the store, not in a process's memory. The provider's refusal (`error=`) lets the
/// callback stop before redeeming a code, so the answer says whether the login was found.
async fn second_server_answers_the_callback_once(
    app: &App,
    sso_file: &Path,
    key: hygie_web::seal::SecretKey,
) {
    use axum::body::Body;
    use axum::http::{Request, header};
    use tower::ServiceExt;
    let other = hygie_web::router(hygie_web::AppState::new(
        app.store.clone(),
        hygie_catalog::bundled().unwrap(),
        hygie_web::Config {
            oidc: Some(std::sync::Arc::new(
                hygie_web::oidc::Sso::load(sso_file).unwrap(),
            )),
            secret_key: Some(key),
            ..hygie_web::Config::default()
        },
    ));
    let res = app
        .send(
            Request::get("/login/sso/lemon")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status(), 303);
    let to = url::Url::parse(res.headers()[header::LOCATION].to_str().unwrap()).unwrap();
    let state = to
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .expect("a state in the redirect");
    let cookie = res.headers()[header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let callback = || {
        Request::get(format!(
            "/login/sso/lemon/callback?state={state}&error=access_denied"
        ))
        .header(header::COOKIE, &cookie)
        .body(Body::empty())
        .unwrap()
    };
    let found = body_string(other.clone().oneshot(callback()).await.unwrap()).await;
    assert!(
        found.contains("did not sign you in"),
        "the other server knows the login: {found}"
    );
    let replayed = body_string(other.oneshot(callback()).await.unwrap()).await;
    assert!(replayed.contains("has expired"), "taken once: {replayed}");
    let again = body_string(app.send(callback()).await).await;
    assert!(again.contains("has expired"), "taken once: {again}");
    let stored = app
        .store
        .journal_entries(None, None)
        .await
        .unwrap()
        .iter()
        .any(|e| e.details.contains(&state));
    assert!(!stored, "the state is never journalled");
}
