//! Fixtures more than one crate's tests need: the shared sample data, the shared Samba DC,
//! known NT hashes, two detection cases (whoami, SSH root) and a lenient base64 decoder. Each missing service goes through
//! [`crate::missing`]: SKIP on a workstation, a failure in CI.

use serde_json::{Value, json};
use std::path::PathBuf;

/// The shared public test data: `$HYGIE_TEST_DATA`, else `shared/data` beside the clone. None
/// (after [`crate::missing`]) when it is not there.
pub fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("HYGIE_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join("sigma/regression_data").is_dir() {
        return Some(dir);
    }
    crate::missing(
        "the shared test data",
        &format!(
            "not found at {} (set HYGIE_TEST_DATA to the shared data folder)",
            dir.display()
        ),
    );
    None
}

/// The shared Samba AD DC, as `eval "$(bash scripts/samba-dc.sh env)"` describes it.
pub struct SambaDc {
    /// `ldaps://127.0.0.1:636`.
    pub url: String,
    /// PEM of the CA that signed the DC's certificate.
    pub ca: PathBuf,
    /// The domain's naming context, `DC=chu,DC=test`.
    pub base: String,
    /// The administrator's UPN.
    pub admin: String,
    pub password_file: PathBuf,
    /// The DC's own folder (its database, its TLS files).
    pub dir: PathBuf,
    pub smbconf: PathBuf,
}

impl SambaDc {
    /// The DC from the `HYGIE_TEST_DC_*` variables, or None (after [`crate::missing`]) when one
    /// is unset.
    pub fn from_env() -> Option<SambaDc> {
        let v = |k: &str| std::env::var(k).ok().filter(|s| !s.is_empty());
        let (Some(url), Some(ca), Some(base), Some(admin), Some(pwf), Some(dir), Some(smbconf)) = (
            v("HYGIE_TEST_DC_URL"),
            v("HYGIE_TEST_DC_CA"),
            v("HYGIE_TEST_DC_BASE"),
            v("HYGIE_TEST_DC_ADMIN"),
            v("HYGIE_TEST_DC_PASSWORD_FILE"),
            v("HYGIE_TEST_DC_DIR"),
            v("HYGIE_TEST_DC_SMBCONF"),
        ) else {
            crate::missing(
                "the Samba DC",
                "HYGIE_TEST_DC_* unset: run `bash scripts/samba-dc.sh start && eval \"$(bash scripts/samba-dc.sh env)\"`",
            );
            return None;
        };
        Some(SambaDc {
            url,
            ca: ca.into(),
            base,
            admin,
            password_file: pwf.into(),
            dir: dir.into(),
            smbconf: smbconf.into(),
        })
    }

    /// The DC's account database, for `samba-tool -H`.
    pub fn sam(&self) -> PathBuf {
        self.dir.join("private/sam.ldb")
    }

    /// The DC's TLS certificate, whose names an LDAPS client must check.
    pub fn certificate(&self) -> PathBuf {
        self.dir.join("private/tls/cert.pem")
    }
}

/// The LM field of a pwdump line when no LM hash is stored.
pub const NO_LM: &str = "aad3b435b51404eeaad3b435b51404ee";

/// The NT hash of a known password (MD4 of its UTF-16LE form), in lower-case hex as pwdump and
/// secretsdump print it.
pub fn nt_hex(password: &str) -> String {
    use md4::{Digest, Md4};
    let utf16: Vec<u8> = password
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    Md4::digest(&utf16)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A Sigma rule, `t-whoami` (level high, ATT&CK T1033), that matches any process creation of
/// `whoami.exe`: the detection tests' one known positive.
pub const WHOAMI_RULE: &str = r#"
title: Whoami
id: t-whoami
logsource: {product: windows, category: process_creation}
detection:
  sel:
    Image|endswith: '\whoami.exe'
  condition: sel
level: high
tags: [attack.discovery, attack.t1033]
"#;

/// A Sigma rule, `t-ssh` (level medium), that matches a failed root login in sshd's syslog
/// lines: the positive of the syslog paths.
pub const SSH_ROOT_RULE: &str = r#"
title: SSH root failure
id: t-ssh
logsource: {product: linux, service: sshd}
detection:
  keywords: ['Failed password for root']
  condition: keywords
level: medium
"#;

/// The image [`WHOAMI_RULE`] matches.
pub const WHOAMI: &str = r"C:\Windows\System32\whoami.exe";

/// A Sysmon process creation (event 1) of `image` on `host`, as the JSON event readers take it;
/// callers add what a case needs (`TimeCreated`, `EventRecordID`, `CommandLine`) by index.
pub fn sysmon_process(host: &str, image: &str) -> Value {
    json!({
        "EventID": 1,
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Computer": host,
        "Image": image,
    })
}

/// Standard base64 decoded leniently, as test tools print it (line breaks, padding and any other
/// character outside the alphabet are skipped): for `samba-tool` attributes and WebDriver
/// screenshots.
pub fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u32, 0);
    for v in text.bytes().filter_map(value) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}
