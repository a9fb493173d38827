//! Against the shared Samba AD DC (`scripts/samba-dc.sh start`, then
//! `eval "$(scripts/samba-dc.sh env)"`): accounts are created with known weak and strong
//! passwords, their NT hashes are exported with `samba-tool user getpassword`, and the audit must
//! flag exactly the right accounts.
//!
//! The DC is shared with the AD-audit tests, so this test never changes the domain password
//! policy: weak passwords are allowed by a fine-grained policy (PSO) applied to a test group only.
//! Every object it creates is named `pwq_*` and removed at the end (and at the start, should an
//! earlier run have died). Passwords go to Samba through stdin, never on a command line.

use hygie_core::Severity;
use hygie_passwords::{
    AuditOptions, BreachIndex, Dictionary, Directory, Sources, audit, import, parse_dump,
};
use hygie_testkit::{NO_LM, SambaDc, nt_hex};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

const GROUP: &str = "pwq_weak_grp";
const PSO: &str = "pwq_weak_pso";

/// The shared DC, with the samba-tool and Python calls this test makes on it.
struct Dc(SambaDc);

impl Dc {
    fn sam(&self) -> String {
        self.0.sam().display().to_string()
    }

    fn tool(&self, args: &[&str]) -> String {
        let sam = self.sam();
        let out = Command::new("samba-tool")
            .args(args)
            .args(["-H", &sam, "-s"])
            .arg(&self.0.smbconf)
            .output()
            .expect("run samba-tool");
        assert!(
            out.status.success(),
            "samba-tool {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run a Python snippet against the DC's database with `input` on stdin (Samba's own
    /// bindings, the ones samba-tool uses).
    fn python(&self, script: &str, input: &str) {
        let mut child = Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(format!("{PY_PRELUDE}\n{script}"))
            .arg(&self.0.smbconf)
            .arg(self.sam())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run python3");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("python3 output");
        assert!(
            out.status.success(),
            "python failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn cleanup(&self) {
        self.python(PY_CLEANUP, "");
    }
}

const PY_PRELUDE: &str = r#"
import sys, json, ldb
from samba.samdb import SamDB
from samba.auth import system_session
from samba.param import LoadParm
lp = LoadParm(); lp.load(sys.argv[1])
db = SamDB(url=sys.argv[2], session_info=system_session(), lp=lp)
base = db.domain_dn()
"#;

/// Create the users (random initial password, not yet set), put them in the PSO group, then set
/// each password (read from stdin as JSON), enable or disable, and add admins to Domain Admins.
const PY_SETUP: &str = r#"
spec = json.load(sys.stdin)
for u in spec["users"]:
    db.newuser(u["name"], None, setpassword=False)
db.add_remove_group_members(spec["group"], [u["name"] for u in spec["users"]], add_members_operation=True)
admins = [u["name"] for u in spec["users"] if u["admin"]]
if admins:
    db.add_remove_group_members("Domain Admins", admins, add_members_operation=True)
for u in spec["users"]:
    f = "(sAMAccountName=%s)" % ldb.binary_encode(u["name"])
    db.setpassword(f, u["password"], force_change_at_next_login=False, username=u["name"])
    if u["enabled"]:
        db.enable_account(f)
    else:
        db.disable_account(f)
"#;

const PY_CLEANUP: &str = r#"
for r in db.search(base, scope=ldb.SCOPE_SUBTREE, expression="(&(objectClass=user)(sAMAccountName=pwq_*))", attrs=[]):
    db.delete(r.dn)
pso = "CN=pwq_weak_pso,CN=Password Settings Container,CN=System," + str(base)
if db.search(base, scope=ldb.SCOPE_SUBTREE, expression="(&(objectClass=msDS-PasswordSettings)(cn=pwq_weak_pso))", attrs=[]):
    db.delete(pso)
for r in db.search(base, scope=ldb.SCOPE_SUBTREE, expression="(&(objectClass=group)(sAMAccountName=pwq_*))", attrs=[]):
    db.delete(r.dn)
"#;

/// Removes the test objects even when an assertion fails.
struct Cleanup<'a>(&'a Dc);
impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        self.0.cleanup();
    }
}

/// `samba-tool user getpassword` -> a pwdump line `CHU\name:rid:<no LM>:<nt>:::`.
fn export_line(dc: &Dc, name: &str) -> String {
    let out = dc.tool(&[
        "user",
        "getpassword",
        name,
        "--attributes=unicodePwd,objectSid",
    ]);
    let mut nt = None;
    let mut rid = None;
    for line in out.lines() {
        if let Some(v) = line.strip_prefix("unicodePwd:: ") {
            let bytes = hygie_testkit::base64_decode(v.trim());
            assert_eq!(bytes.len(), 16, "unicodePwd of {name} is an NT hash");
            nt = Some(bytes.iter().map(|b| format!("{b:02x}")).collect::<String>());
        }
        if let Some(v) = line.strip_prefix("objectSid: ") {
            rid = v
                .trim()
                .rsplit('-')
                .next()
                .and_then(|r| r.parse::<u32>().ok());
        }
    }
    let (Some(nt), Some(rid)) = (nt, rid) else {
        panic!("getpassword gave no hash or SID for {name}")
    };
    format!("CHU\\{name}:{rid}:{NO_LM}:{nt}:::")
}

/// Enabled and privileged status of the test accounts, read from the DC's database.
fn directory_csv(dc: &Dc) -> String {
    let out = Command::new("ldbsearch")
        .args([
            "-H",
            &dc.sam(),
            "(&(objectClass=user)(sAMAccountName=pwq_*))",
            "sAMAccountName",
            "userAccountControl",
            "memberOf",
        ])
        .output()
        .expect("run ldbsearch");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut csv = String::from("account,enabled,privileged\n");
    for rec in text.split("# record").skip(1) {
        let get = |k: &str| {
            rec.lines()
                .filter_map(|l| l.strip_prefix(k))
                .map(str::trim)
                .collect::<Vec<_>>()
        };
        let name = get("sAMAccountName:")
            .first()
            .copied()
            .unwrap_or_default()
            .to_string();
        let uac: u32 = get("userAccountControl:")
            .first()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let admin = get("memberOf:")
            .iter()
            .any(|g| g.starts_with("CN=Domain Admins,"));
        csv.push_str(&format!("{name},{},{admin}\n", uac & 2 == 0));
    }
    csv
}

fn policy(dc: &Dc) -> String {
    dc.tool(&["domain", "passwordsettings", "show"])
}

#[test]
fn audit_flags_exactly_the_weak_accounts_of_a_real_samba_domain() {
    let Some(dc) = SambaDc::from_env().map(Dc) else {
        return;
    };
    assert!(Path::new(&dc.sam()).exists(), "{} missing", dc.sam());
    let policy_before = policy(&dc);
    dc.cleanup();
    let _guard = Cleanup(&dc);

    dc.tool(&["group", "add", GROUP]);
    dc.tool(&[
        "domain",
        "passwordsettings",
        "pso",
        "create",
        PSO,
        "9",
        "--complexity=off",
        "--min-pwd-length=0",
        "--history-length=0",
        "--min-pwd-age=0",
        "--max-pwd-age=0",
    ]);
    dc.tool(&["domain", "passwordsettings", "pso", "apply", PSO, GROUP]);

    let strong = format!("Zx{}!9q", uuid::Uuid::new_v4().simple());
    let shared = "Bleu-Ciel-Partage-73";
    // (name, password, Domain Admin, enabled)
    let users: Vec<(&str, String, bool, bool)> = vec![
        ("pwq_empty", String::new(), false, true),
        ("pwq_off", String::new(), false, false),
        ("pwq_alice", shared.to_string(), false, true),
        ("pwq_adm", shared.to_string(), true, true),
        ("pwq_bob", "pwq_bob".to_string(), false, true),
        ("pwq_carl", "Pwq_carl2025".to_string(), false, true),
        ("pwq_dict", "Hopital2024!".to_string(), false, true),
        ("pwq_strong", strong.clone(), false, true),
    ];
    let spec = serde_json::json!({
        "group": GROUP,
        "users": users.iter().map(|(n, p, a, e)| serde_json::json!({"name": n, "password": p, "admin": a, "enabled": e})).collect::<Vec<_>>(),
    });
    dc.python(PY_SETUP, &spec.to_string());

    // Export with samba-tool, as an administrator would without DCSync.
    let mut dump_text = String::from("# exported with samba-tool user getpassword\n");
    for (name, pw, _, _) in &users {
        let line = export_line(&dc, name);
        assert!(
            line.contains(&nt_hex(pw)),
            "Samba stored NT({name}'s password)"
        );
        dump_text.push_str(&line);
        dump_text.push('\n');
    }
    let csv = directory_csv(&dc);
    let directory = Directory::parse(&csv, "status.csv").expect("status csv");
    assert_eq!(directory.len(), users.len());

    // A synthetic breach corpus holding the dictionary password and unrelated hashes.
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut list: Vec<String> = ["Hopital2024!", "Password1", "azerty"]
        .iter()
        .map(|p| nt_hex(p).to_uppercase())
        .collect();
    list.sort();
    let list: String = list.iter().map(|h| format!("{h}:100\n")).collect();
    let idx_path = tmp.path().join("hibp.idx");
    import(&mut list.as_bytes(), "hibp.txt", &idx_path, &mut |_| {}).expect("import");
    let index = BreachIndex::open(&idx_path).expect("open index");

    let dump = parse_dump(&dump_text, "samba.pwdump").expect("dump parses");
    let dict = Dictionary::builtin(2026);
    let report = audit(
        &dump,
        &Sources {
            directory: Some(&directory),
            dictionary: Some(&dict),
            breach: Some(&index),
        },
        &AuditOptions {
            year: 2026,
            ..AuditOptions::default()
        },
    );
    let got: Vec<(&str, Severity, Vec<String>)> = report
        .findings
        .iter()
        .map(|f| (f.check, f.severity, f.accounts.clone()))
        .collect();
    let n = |v: &[&str]| v.iter().map(|s| format!("CHU\\{s}")).collect::<Vec<_>>();
    assert_eq!(
        got,
        vec![
            ("HSH-01", Severity::Critical, n(&["pwq_empty"])),
            ("HSH-02", Severity::High, n(&["pwq_dict"])),
            ("HSH-03", Severity::High, n(&["pwq_bob", "pwq_carl"])),
            ("HSH-04", Severity::Critical, n(&["pwq_adm", "pwq_alice"])),
            ("HSH-07", Severity::High, n(&["pwq_dict"])),
        ]
    );
    assert_eq!(
        report.summary.disabled_skipped, 1,
        "pwq_off is disabled in the directory"
    );
    assert_eq!(
        report.summary.privileged_audited, 1,
        "pwq_adm is a Domain Admin"
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| !f.accounts.iter().any(|a| a.ends_with("pwq_strong")))
    );

    drop(_guard);
    assert_eq!(
        policy(&dc),
        policy_before,
        "the domain password policy is left as it was"
    );
}
