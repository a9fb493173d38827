//! The live collector: LDAPS or StartTLS, certificate verification against a CA file (or the
//! system roots) unless `insecure` is asked for, a simple bind, paged searches streamed into the
//! snapshot builder (memory bounded by the snapshot, not by the LDAP responses), and the SD flags
//! control for the security descriptors of tier-0 objects.

use crate::model::{AdSnapshot, ModelError, SnapshotBuilder};
use crate::raw::RawEntry;
use crate::sid::Sid;
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::controls::RawControl;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use secrecy::ExposeSecret as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Attributes read from the domain naming context (users, computers, groups, PSOs, domain).
pub const MAIN_ATTRS: &[&str] = &[
    "objectClass",
    "objectSid",
    "sAMAccountName",
    "cn",
    "userAccountControl",
    "primaryGroupID",
    "pwdLastSet",
    "lastLogonTimestamp",
    "whenCreated",
    "servicePrincipalName",
    "msDS-SupportedEncryptionTypes",
    "msDS-AllowedToDelegateTo",
    "msDS-AllowedToActOnBehalfOfOtherIdentity",
    "sIDHistory",
    "adminCount",
    "mail",
    "operatingSystem",
    "operatingSystemVersion",
    "msLAPS-PasswordExpirationTime",
    "ms-Mcs-AdmPwdExpirationTime",
    "member",
    "minPwdLength",
    "pwdProperties",
    "pwdHistoryLength",
    "maxPwdAge",
    "lockoutThreshold",
    "ms-DS-MachineAccountQuota",
    "msDS-Behavior-Version",
    "msDS-ExpirePasswordsOnSmartCardOnlyAccounts",
    "msDS-PasswordSettingsPrecedence",
    "msDS-MinimumPasswordLength",
    "msDS-MaximumPasswordAge",
    "msDS-PasswordComplexityEnabled",
    "msDS-PasswordReversibleEncryptionEnabled",
    "msDS-PasswordHistoryLength",
    "msDS-LockoutThreshold",
    "msDS-PSOAppliesTo",
];
pub const MAIN_FILTER: &str = "(|(objectClass=user)(objectClass=group)(objectClass=msDS-PasswordSettings)(objectClass=domainDNS))";
/// Objects whose password-like attributes are populated; only their DN is asked for.
pub const PASSWORD_ATTR_FILTER: &str =
    "(&(objectClass=user)(|(userPassword=*)(unixUserPassword=*)))";
pub const LAPS_SCHEMA_FILTER: &str = "(|(lDAPDisplayName=ms-Mcs-AdmPwd)(lDAPDisplayName=ms-Mcs-AdmPwdExpirationTime)(lDAPDisplayName=msLAPS-Password)(lDAPDisplayName=msLAPS-PasswordExpirationTime))";
/// SD flags control value: OWNER | DACL (BER SEQUENCE { INTEGER 5 }).
pub const SD_FLAGS_OID: &str = "1.2.840.113556.1.4.801";
pub const SD_FLAGS_OWNER_DACL: [u8; 5] = [0x30, 0x03, 0x02, 0x01, 0x05];

/// The bind password: the workspace's one secret type (never printed or serialised, its memory
/// zeroed when dropped).
pub type Password = secrecy::SecretString;

#[derive(Debug, Clone)]
pub struct LdapOptions {
    pub url: String,
    pub bind_dn: String,
    pub password: Password,
    pub ca_cert: Option<PathBuf>,
    pub insecure: bool,
    pub starttls: bool,
    pub base_dn: Option<String>,
    /// Name the certificate must carry, when it differs from the URL host (e.g. connecting to
    /// 127.0.0.1 a DC whose certificate names `dc1.chu.test`).
    pub tls_server_name: Option<String>,
    pub page_size: i32,
    pub timeout: Duration,
}

impl LdapOptions {
    pub fn new(url: &str, bind_dn: &str, password: Password) -> Self {
        Self {
            url: url.to_string(),
            bind_dn: bind_dn.to_string(),
            password,
            ca_cert: None,
            insecure: false,
            starttls: false,
            base_dn: None,
            tls_server_name: None,
            page_size: 1000,
            timeout: Duration::from_secs(15),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("invalid LDAP URL '{url}': {message}")]
    Url { url: String, message: String },
    #[error("refusing to send a password over plain LDAP ('{0}'): use ldaps:// or --starttls")]
    Cleartext(String),
    #[error("CA certificate file '{path}': {message}")]
    CaFile { path: String, message: String },
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("cannot connect to {url}: {message}")]
    Connect { url: String, message: String },
    #[error("bind as '{dn}' failed: {message}")]
    Bind {
        dn: String,
        message: String,
        /// The LDAP result code, when the server answered.
        rc: Option<u32>,
    },
    #[error("search under '{base}' failed: {message}")]
    Search { base: String, message: String },
    #[error("the directory returned no {0}: is this an Active Directory domain controller?")]
    Missing(&'static str),
    #[error(transparent)]
    Model(#[from] ModelError),
}

/// Host part of an LDAP URL.
pub fn url_host(url: &str) -> Result<String, CollectError> {
    let bad = |m: &str| CollectError::Url {
        url: url.to_string(),
        message: m.to_string(),
    };
    let rest = url
        .strip_prefix("ldaps://")
        .or_else(|| url.strip_prefix("ldap://"))
        .ok_or_else(|| bad("must start with ldaps:// or ldap://"))?;
    let hostport = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = hostport.strip_prefix('[') {
        v6.split(']').next().unwrap_or("").to_string()
    } else {
        hostport
            .rsplit_once(':')
            .map(|(h, _)| h)
            .unwrap_or(hostport)
            .to_string()
    };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    Ok(host)
}

/// Verifies the chain against the configured roots and the name against the expected one;
/// accepts a certificate without subjectAltName whose subject CN is the expected name (Samba's
/// self-generated certificates are of that kind). With `insecure`, only signatures are checked.
#[derive(Debug)]
struct Verifier {
    inner: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    expected: ServerName<'static>,
    provider: Arc<CryptoProvider>,
}

fn cn_matches_without_san(cert: &CertificateDer<'_>, name: &ServerName<'_>) -> bool {
    let ServerName::DnsName(dns) = name else {
        return false;
    };
    let Ok((_, x)) = x509_parser::parse_x509_certificate(cert.as_ref()) else {
        return false;
    };
    if x.subject_alternative_name().ok().flatten().is_some() {
        return false;
    }
    x.subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .any(|cn| cn.eq_ignore_ascii_case(dns.as_ref()))
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(inner) = &self.inner else {
            return Ok(ServerCertVerified::assertion());
        };
        match inner.verify_server_cert(end_entity, intermediates, &self.expected, ocsp, now) {
            Ok(v) => Ok(v),
            // webpki checks the chain before the name, so the chain is trusted here.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if cn_matches_without_san(end_entity, &self.expected) => {
                Ok(ServerCertVerified::assertion())
            }
            Err(e) => Err(e),
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

fn tls_config(opts: &LdapOptions) -> Result<Arc<ClientConfig>, CollectError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let name = match &opts.tls_server_name {
        Some(n) => n.clone(),
        None => url_host(&opts.url)?,
    };
    let expected = ServerName::try_from(name.clone())
        .map_err(|e| CollectError::Tls(format!("'{name}' is not a valid TLS server name: {e}")))?;
    let inner = if opts.insecure {
        None
    } else {
        let mut roots = RootCertStore::empty();
        match &opts.ca_cert {
            Some(path) => {
                use rustls::pki_types::pem::PemObject;
                let p = path.display().to_string();
                let certs: Result<Vec<CertificateDer<'static>>, _> =
                    CertificateDer::pem_file_iter(path)
                        .map_err(|e| CollectError::CaFile {
                            path: p.clone(),
                            message: e.to_string(),
                        })?
                        .collect();
                let certs = certs.map_err(|e| CollectError::CaFile {
                    path: p.clone(),
                    message: e.to_string(),
                })?;
                if certs.is_empty() {
                    return Err(CollectError::CaFile {
                        path: p,
                        message: "no PEM certificate found".into(),
                    });
                }
                for c in certs {
                    roots.add(c).map_err(|e| CollectError::CaFile {
                        path: p.clone(),
                        message: e.to_string(),
                    })?;
                }
            }
            None => {
                for c in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(c);
                }
                if roots.is_empty() {
                    return Err(CollectError::Tls(
                        "no system CA certificates found: give --ca-cert".into(),
                    ));
                }
            }
        }
        Some(
            rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider.clone(),
            )
            .build()
            .map_err(|e| CollectError::Tls(e.to_string()))?,
        )
    };
    let verifier = Verifier {
        inner,
        expected: expected.to_owned(),
        provider: provider.clone(),
    };
    let cfg = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CollectError::Tls(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// Escape bytes for an LDAP filter value (RFC 4515), e.g. a binary SID.
pub fn escape_filter_bytes(b: &[u8]) -> String {
    b.iter().map(|x| format!("\\{x:02x}")).collect()
}

fn search_err(base: &str, e: impl std::fmt::Display) -> CollectError {
    CollectError::Search {
        base: base.to_string(),
        message: e.to_string(),
    }
}

fn to_raw(e: SearchEntry) -> (RawEntry, Vec<(String, String)>) {
    let mut raw = RawEntry::new(e.dn);
    let mut ranged = Vec::new();
    for (k, vs) in e.attrs {
        let name = range_base(&k, &mut ranged);
        for v in vs {
            raw.push(&name, v.into_bytes());
        }
    }
    for (k, vs) in e.bin_attrs {
        let name = range_base(&k, &mut ranged);
        for v in vs {
            raw.push(&name, v);
        }
    }
    (raw, ranged)
}

/// `member;range=0-1499` → `member`, remembering the attribute when more values remain.
fn range_base(k: &str, ranged: &mut Vec<(String, String)>) -> String {
    match k.split_once(";range=") {
        Some((base, range)) => {
            if let Some((_, end)) = range.split_once('-')
                && end != "*"
            {
                ranged.push((base.to_string(), end.to_string()));
            }
            base.to_string()
        }
        None => k.to_string(),
    }
}

async fn paged(
    ldap: &mut Ldap,
    page_size: i32,
    base: &str,
    scope: Scope,
    filter: &str,
    attrs: &[&str],
    mut on_entry: impl FnMut(SearchEntry) -> Result<(), CollectError>,
) -> Result<(), CollectError> {
    let adapters: Vec<Box<dyn Adapter<'_, &str, Vec<&str>>>> = vec![
        Box::new(EntriesOnly::new()),
        Box::new(PagedResults::new(page_size)),
    ];
    let mut stream = ldap
        .streaming_search_with(adapters, base, scope, filter, attrs.to_vec())
        .await
        .map_err(|e| search_err(base, e))?;
    while let Some(entry) = stream.next().await.map_err(|e| search_err(base, e))? {
        on_entry(SearchEntry::construct(entry))?;
    }
    stream
        .finish()
        .await
        .success()
        .map_err(|e| search_err(base, e))?;
    Ok(())
}

/// Fetch the remaining values of a ranged attribute (AD returns at most 1500 `member` values
/// per entry otherwise).
async fn fetch_ranged(
    ldap: &mut Ldap,
    dn: &str,
    attr: &str,
    mut last: String,
    raw: &mut RawEntry,
) -> Result<(), CollectError> {
    loop {
        let start: u64 = last
            .parse::<u64>()
            .map_err(|_| search_err(dn, format!("bad range end '{last}'")))?
            + 1;
        let req = format!("{attr};range={start}-*");
        let (rs, _) = ldap
            .search(dn, Scope::Base, "(objectClass=*)", vec![req.as_str()])
            .await
            .map_err(|e| search_err(dn, e))?
            .success()
            .map_err(|e| search_err(dn, e))?;
        let mut next = None;
        for r in rs {
            let (more, ranged) = to_raw(SearchEntry::construct(r));
            for v in more.values(attr) {
                raw.push(attr, v.clone());
            }
            next = ranged
                .into_iter()
                .find(|(a, _)| a.eq_ignore_ascii_case(attr))
                .map(|(_, e)| e);
        }
        match next {
            Some(e) => last = e,
            None => return Ok(()),
        }
    }
}

async fn base_entry(
    ldap: &mut Ldap,
    dn: &str,
    attrs: &[&str],
) -> Result<Option<SearchEntry>, CollectError> {
    let res = ldap
        .search(dn, Scope::Base, "(objectClass=*)", attrs.to_vec())
        .await
        .map_err(|e| search_err(dn, e))?;
    if res.1.rc == 32 {
        return Ok(None); // noSuchObject: optional containers
    }
    let (rs, _) = res.success().map_err(|e| search_err(dn, e))?;
    Ok(rs.into_iter().next().map(SearchEntry::construct))
}

/// Connect, bind, read everything the rules need and build the snapshot. Any error aborts the
/// whole collection: a partial snapshot is never returned.
pub async fn collect(opts: &LdapOptions) -> Result<AdSnapshot, CollectError> {
    let mut ldap = connect_and_bind(opts).await?;
    let result = collect_bound(&mut ldap, opts).await;
    let _ = ldap.unbind().await;
    result
}

/// Open the connection the options describe (LDAPS, or StartTLS on an ldap:// URL; never a
/// password over plain LDAP) and bind with its DN and password. Shared by the collector and the
/// directory login, so both verify the server the same way.
pub(crate) async fn connect_and_bind(opts: &LdapOptions) -> Result<Ldap, CollectError> {
    if opts.url.starts_with("ldap://") && !opts.starttls {
        return Err(CollectError::Cleartext(opts.url.clone()));
    }
    if opts.starttls && !opts.url.starts_with("ldap://") {
        return Err(CollectError::Url {
            url: opts.url.clone(),
            message: "StartTLS needs an ldap:// URL".into(),
        });
    }
    url_host(&opts.url)?;
    let settings = LdapConnSettings::new()
        .set_conn_timeout(opts.timeout)
        .set_starttls(opts.starttls)
        .set_config(tls_config(opts)?);
    let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &opts.url)
        .await
        .map_err(|e| CollectError::Connect {
            url: opts.url.clone(),
            message: e.to_string(),
        })?;
    ldap3::drive!(conn);
    ldap.with_timeout(opts.timeout);
    let bind = ldap
        .simple_bind(&opts.bind_dn, opts.password.expose_secret())
        .await
        .map_err(|e| CollectError::Bind {
            dn: opts.bind_dn.clone(),
            message: e.to_string(),
            rc: None,
        })?;
    if bind.rc != 0 {
        let what = if bind.rc == INVALID_CREDENTIALS {
            "invalid credentials".to_string()
        } else {
            format!("result code {}", bind.rc)
        };
        return Err(CollectError::Bind {
            dn: opts.bind_dn.clone(),
            message: format!("{what} {}", bind.text).trim().to_string(),
            rc: Some(bind.rc),
        });
    }
    Ok(ldap)
}

/// LDAP result code of a bind with a wrong password, an unknown or a locked account (AD says
/// which in the diagnostic text, never to be shown to whoever typed the password).
pub(crate) const INVALID_CREDENTIALS: u32 = 49;

async fn collect_bound(ldap: &mut Ldap, opts: &LdapOptions) -> Result<AdSnapshot, CollectError> {
    let root = base_entry(
        ldap,
        "",
        &[
            "defaultNamingContext",
            "configurationNamingContext",
            "schemaNamingContext",
        ],
    )
    .await?
    .ok_or(CollectError::Missing("rootDSE"))?;
    let first = |k: &str| root.attrs.get(k).and_then(|v| v.first()).cloned();
    let base = match &opts.base_dn {
        Some(b) => b.clone(),
        None => {
            first("defaultNamingContext").ok_or(CollectError::Missing("defaultNamingContext"))?
        }
    };
    let config_nc = first("configurationNamingContext");
    let schema_nc = first("schemaNamingContext");
    let mut b = SnapshotBuilder::new();
    let ps = opts.page_size;

    // 1. Users, computers, groups, PSOs and the domain object.
    let mut ranged_entries: Vec<(RawEntry, Vec<(String, String)>)> = Vec::new();
    paged(
        ldap,
        ps,
        &base,
        Scope::Subtree,
        MAIN_FILTER,
        MAIN_ATTRS,
        |e| {
            let (raw, ranged) = to_raw(e);
            if ranged.is_empty() {
                b.add(raw)?;
            } else {
                ranged_entries.push((raw, ranged));
            }
            Ok(())
        },
    )
    .await?;
    for (mut raw, ranged) in ranged_entries {
        for (attr, end) in ranged {
            fetch_ranged(ldap, &raw.dn.clone(), &attr, end, &mut raw).await?;
        }
        b.add(raw)?;
    }
    // 2. Presence of password-like attributes, without their values.
    paged(
        ldap,
        ps,
        &base,
        Scope::Subtree,
        PASSWORD_ATTR_FILTER,
        &["1.1"],
        |e| {
            b.mark_password_attribute(&e.dn);
            Ok(())
        },
    )
    .await?;
    // 3. Security descriptors of the domain root, AdminSDHolder and the administrative groups.
    let domain_sid = b.domain_sid().ok_or(CollectError::Missing(
        "domain object (objectClass=domainDNS) with objectSid",
    ))?;
    let mut sids: Vec<Sid> = crate::index::ADMIN_BUILTIN_RIDS
        .iter()
        .map(|r| Sid::builtin(*r))
        .collect();
    sids.extend(
        crate::index::ADMIN_DOMAIN_RIDS
            .iter()
            .map(|r| domain_sid.child(*r)),
    );
    let sid_filter: String = sids
        .iter()
        .map(|s| format!("(objectSid={})", escape_filter_bytes(&s.to_bytes())))
        .collect();
    let sd_filter = format!(
        "(|(objectClass=domainDNS)(&(objectClass=container)(cn=AdminSDHolder)){sid_filter})"
    );
    ldap.with_controls(RawControl {
        ctype: SD_FLAGS_OID.to_string(),
        crit: false,
        val: Some(SD_FLAGS_OWNER_DACL.to_vec()),
    });
    let (rs, _) = ldap
        .search(
            &base,
            Scope::Subtree,
            &sd_filter,
            vec!["nTSecurityDescriptor"],
        )
        .await
        .map_err(|e| search_err(&base, e))?
        .success()
        .map_err(|e| search_err(&base, e))?;
    for r in rs {
        b.add(to_raw(SearchEntry::construct(r)).0)?;
    }
    // 4. Forest level, Recycle Bin and dSHeuristics in the configuration partition.
    if let Some(cfg) = &config_nc {
        for (dn, attrs) in [
            (
                format!("CN=Partitions,{cfg}"),
                vec![
                    "objectClass",
                    "msDS-Behavior-Version",
                    "msDS-EnabledFeature",
                ],
            ),
            (
                format!("CN=Directory Service,CN=Windows NT,CN=Services,{cfg}"),
                vec!["objectClass", "dSHeuristics"],
            ),
        ] {
            if let Some(e) = base_entry(ldap, &dn, &attrs).await? {
                b.add(to_raw(e).0)?;
            }
        }
    }
    // 5. LAPS schema attributes.
    if let Some(schema) = &schema_nc {
        paged(
            ldap,
            ps,
            schema,
            Scope::OneLevel,
            LAPS_SCHEMA_FILTER,
            &["objectClass", "lDAPDisplayName"],
            |e| Ok(b.add(to_raw(e).0)?),
        )
        .await?;
    }
    Ok(b.finish()?)
}

/// DNS names a PEM certificate is valid for (subjectAltName DNS entries, else subject CNs):
/// helps choose `tls_server_name` when connecting by IP address.
pub fn certificate_names(pem_path: &std::path::Path) -> Result<Vec<String>, CollectError> {
    use rustls::pki_types::pem::PemObject;
    let p = pem_path.display().to_string();
    let cert = CertificateDer::from_pem_file(pem_path).map_err(|e| CollectError::CaFile {
        path: p.clone(),
        message: e.to_string(),
    })?;
    let (_, x) =
        x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|e| CollectError::CaFile {
            path: p,
            message: e.to_string(),
        })?;
    let mut names = Vec::new();
    if let Ok(Some(san)) = x.subject_alternative_name() {
        for n in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(d) = n {
                names.push(d.to_string());
            }
        }
    }
    if names.is_empty() {
        names.extend(
            x.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok().map(String::from)),
        );
    }
    Ok(names)
}
