//! The break-glass account commands (issue 25): `hygie users` and `hygie tokens` work on the
//! store without the web, on both backends. Passwords come from a file or a prompt without
//! echo, never from an argument; a token is printed once; the last administrator stays.
#![allow(clippy::unwrap_used)]

mod common;

use common::{FINESS, HOSPITAL, Hygie};
use hygie_store::{Backoff, Factor, Store};
use serde_json::Value;

const ADMIN_PASSWORD: &str = "break glass admin passphrase";
const CISO_PASSWORD: &str = "the ciso's own passphrase";

fn user<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn lifecycle(t: &Hygie) {
    t.add(&HOSPITAL);
    let admin_pw = t.file("admin.pw", &format!("{ADMIN_PASSWORD}\n"));
    let ciso_pw = t.file("ciso.pw", CISO_PASSWORD);
    t.run(
        &[
            "users",
            "add",
            "--username",
            "admin",
            "--name",
            "Admin",
            "--role",
            "administrator",
            "--password-file",
            admin_pw.to_str().unwrap(),
        ],
        0,
    );
    let added = t.json(
        &[
            "users",
            "add",
            "--username",
            "ciso",
            "--name",
            "The CISO",
            "--role",
            "ciso",
            "--facilities",
            FINESS,
            "--password-file",
            ciso_pw.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(added["username"], "ciso", "{}", t.backend());
    // A taken username, a role without its binding.
    t.run(
        &[
            "users",
            "add",
            "--username",
            "ciso",
            "--name",
            "Again",
            "--role",
            "ciso",
            "--facilities",
            FINESS,
            "--password-file",
            ciso_pw.to_str().unwrap(),
        ],
        4,
    );
    t.run(
        &[
            "users",
            "add",
            "--username",
            "dpo",
            "--name",
            "DPO",
            "--role",
            "dpo",
            "--password-file",
            ciso_pw.to_str().unwrap(),
        ],
        2,
    );
    let list = t.json(&["users", "list"], 0);
    assert_eq!(user(&list, "admin")["status"], "active");
    assert_eq!(user(&list, "ciso")["binding"]["facilities"][0], FINESS);
    let table = t.stdout(&["users", "list"], 0);
    assert!(
        table.contains("ciso") && table.contains("active"),
        "{table}"
    );

    let rt = runtime();
    let store = rt.block_on(Store::open(&t.database_url())).unwrap();
    let ciso = rt.block_on(store.user_named("ciso")).unwrap();
    let (ok, _) = rt
        .block_on(store.user_for_login("ciso"))
        .unwrap()
        .map(|(u, c)| {
            (
                hygie_web::auth::verify_password(CISO_PASSWORD, &c.password_hash),
                u,
            )
        })
        .unwrap();
    assert!(ok, "the password came whole from the file");

    // Disable and enable.
    t.run(&["users", "disable", "ciso"], 0);
    assert_eq!(
        user(&t.json(&["users", "list"], 0), "ciso")["status"],
        "disabled"
    );
    t.run(&["users", "enable", "ciso"], 0);
    assert_eq!(
        user(&t.json(&["users", "list"], 0), "ciso")["status"],
        "active"
    );
    t.run(&["users", "disable", "nobody"], 3);

    // Unlock a lock set by wrong passwords.
    let lock = Backoff {
        failures_per_lock: 1,
        first: jiff::SignedDuration::from_hours(1),
        longest: jiff::SignedDuration::from_hours(1),
    };
    rt.block_on(store.record_failure(ciso.id, Factor::Password, &lock))
        .unwrap();
    assert_eq!(
        user(&t.json(&["users", "list"], 0), "ciso")["status"],
        "locked"
    );
    t.run(&["users", "unlock", "ciso"], 0);
    assert_eq!(
        user(&t.json(&["users", "list"], 0), "ciso")["status"],
        "active"
    );

    // Reset the second factor and the password.
    rt.block_on(store.set_pending_totp(ciso.id, "v1:sealed"))
        .unwrap();
    rt.block_on(store.confirm_totp(ciso.id, &hygie_store::Actor("test".into())))
        .unwrap();
    t.run(&["users", "reset-mfa", "ciso"], 0);
    assert_eq!(
        user(&t.json(&["users", "list"], 0), "ciso")["totp_enrolled"],
        false
    );
    let temporary = t.file("temp.pw", "a temporary passphrase 1");
    t.run(
        &[
            "users",
            "reset-password",
            "ciso",
            "--password-file",
            temporary.to_str().unwrap(),
        ],
        0,
    );
    assert_eq!(
        user(&t.json(&["users", "list"], 0), "ciso")["must_change_password"],
        true
    );
    let short = t.file("short.pw", "short");
    let err = t.stderr(
        &[
            "users",
            "reset-password",
            "ciso",
            "--password-file",
            short.to_str().unwrap(),
        ],
        2,
    );
    assert!(err.contains("12"), "{err}");

    // The last administrator stays; deletion needs --yes.
    let err = t.stderr(&["users", "disable", "admin"], 2);
    assert!(err.contains("last enabled administrator"), "{err}");
    t.run(&["users", "delete", "admin", "--yes"], 2);
    t.run(&["users", "delete", "ciso"], 2);
    assert!(rt.block_on(store.user_named("ciso")).is_ok());
    t.run(&["users", "delete", "ciso", "--yes"], 0);
    assert!(rt.block_on(store.user_named("ciso")).is_err());
    let journal = rt.block_on(store.journal_entries(None, None)).unwrap();
    for action in [
        "user.create",
        "user.disable",
        "user.enable",
        "user.unlock",
        "user.totp_reset",
        "user.password_reset",
        "user.delete",
    ] {
        assert!(
            journal
                .iter()
                .any(|e| e.action == action && e.subject == "ciso" && e.actor.starts_with("cli:")),
            "{}: {action}",
            t.backend()
        );
    }
    for e in &journal {
        assert!(!e.details.contains(CISO_PASSWORD) && !e.details.contains(ADMIN_PASSWORD));
    }
    assert_eq!(t.json(&["journal", "verify"], 0)["intact"], true);
    rt.block_on(store.close());
}

#[test]
fn users_are_managed_from_the_command_line_on_every_backend() {
    for t in Hygie::each() {
        lifecycle(&t);
    }
}

#[test]
fn a_password_is_never_an_argument_nor_stored_in_clear() {
    let t = Hygie::sqlite();
    t.add(&HOSPITAL);
    for flag in ["--password", "--pass", "-p"] {
        t.run(
            &[
                "users",
                "add",
                "--username",
                "x",
                "--name",
                "X",
                "--role",
                "administrator",
                flag,
                "secret passphrase here",
            ],
            2,
        );
    }
    // Without a terminal to ask on and without a file: refused, naming the file option.
    let err = t.stderr(
        &[
            "users",
            "add",
            "--username",
            "x",
            "--name",
            "X",
            "--role",
            "administrator",
        ],
        2,
    );
    assert!(err.contains("--password-file"), "{err}");
    let pw = t.file("pw", ADMIN_PASSWORD);
    t.run(
        &[
            "users",
            "add",
            "--username",
            "x",
            "--name",
            "X",
            "--role",
            "administrator",
            "--password-file",
            pw.to_str().unwrap(),
        ],
        0,
    );
    let mut bytes = Vec::new();
    for name in ["hygie.sqlite", "hygie.sqlite-wal"] {
        bytes.extend(std::fs::read(t.data().join(name)).unwrap_or_default());
    }
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains("$argon2id$"), "the store holds the hash");
    assert!(!text.contains(ADMIN_PASSWORD));
}

#[test]
fn tokens_are_printed_once_expire_and_are_revoked_from_the_command_line() {
    for t in Hygie::each() {
        t.add(&HOSPITAL);
        let made = t.json(
            &[
                "tokens",
                "create",
                "--name",
                "backup-agent",
                "--facility",
                FINESS,
                "--access",
                "write",
                "--expires-in",
                "30",
            ],
            0,
        );
        let secret = made["token"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("hyg_"), "{made}");
        let expires: jiff::Timestamp = made["expires_at"].as_str().unwrap().parse().unwrap();
        let days = expires.duration_since(jiff::Timestamp::now()).as_hours() / 24;
        assert!((29..=30).contains(&days), "{days}");
        let text = t.stdout(
            &[
                "tokens",
                "create",
                "--name",
                "other",
                "--facility",
                FINESS,
                "--access",
                "read",
            ],
            0,
        );
        assert!(text.contains("hyg_"), "{text}");
        for days in ["0", "366"] {
            t.run(
                &[
                    "tokens",
                    "create",
                    "--name",
                    "x",
                    "--facility",
                    FINESS,
                    "--access",
                    "read",
                    "--expires-in",
                    days,
                ],
                2,
            );
        }
        let unknown = common::finess("75000001");
        t.run(
            &[
                "tokens",
                "create",
                "--name",
                "x",
                "--facility",
                &unknown,
                "--access",
                "read",
            ],
            3,
        );
        let list = t.json(&["tokens", "list"], 0);
        let text = list.to_string();
        assert!(!text.contains(&secret), "the list never shows a secret");
        let rows = list.as_array().unwrap();
        assert_eq!(rows.len(), 2);
        let id = made["id"].as_str().unwrap();
        let row = rows.iter().find(|r| r["id"] == id).unwrap();
        assert!(row["created_by"].as_str().unwrap().starts_with("cli:"));
        assert!(row["expires_at"].is_string());
        let table = t.stdout(&["tokens", "list"], 0);
        assert!(table.contains("backup-agent"), "{table}");
        t.run(&["tokens", "revoke", id], 0);
        t.run(&["tokens", "revoke", "nope"], 3);
        let list = t.json(&["tokens", "list", "--facility", FINESS], 0);
        let row = list
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap();
        assert!(row["revoked_at"].is_string(), "{row}");
        let rt = runtime();
        let store = rt.block_on(Store::open(&t.database_url())).unwrap();
        let digest = hygie_web::auth::digest(&secret);
        assert!(rt.block_on(store.token_by_hash(&digest)).unwrap().is_none());
        rt.block_on(store.close());
    }
}
