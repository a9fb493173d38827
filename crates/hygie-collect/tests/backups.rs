//! Backups against real restic and borg repositories made in a temporary directory.

#![allow(clippy::unwrap_used)]

mod common;
use common::*;
use hygie_collect::backups::{BackupInputs, Backups};
use std::process::Command;

fn restic(repo: &std::path::Path) -> Command {
    let mut c = Command::new("restic");
    c.arg("-r").arg(repo).arg("--no-cache").arg("-q");
    // A throwaway repository made by the test: its password is no secret, and never on the command line.
    c.env("RESTIC_PASSWORD", "hygie-test-repository");
    c
}

fn borg() -> Command {
    let mut c = Command::new("borg");
    c.env("BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK", "yes")
        .env("BORG_RELOCATED_REPO_ACCESS_IS_OK", "yes");
    c
}

const INVENTORY: &str = "asset,critical,rpo_hours\nsrv-dpi,yes,\nsrv-old,yes,\nsrv-pacs,yes,\nsrv-lab,yes,\nsrv-none,yes,\npc-01,no,\n";

#[test]
fn real_restic_and_borg_repositories_and_generic_csv() {
    if !tool("restic", "restic") || !tool("borg", "borgbackup") {
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let data = d.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::write(data.join("dossier.txt"), "données de test").unwrap();
    let now = jiff::Timestamp::now();
    let stale = ago(now, 24 * 10).strftime("%Y-%m-%d %H:%M:%S").to_string();

    // restic: one fresh snapshot (tagged immutable and offsite), one ten days old.
    let repo = d.path().join("restic");
    run(restic(&repo).arg("init"));
    run(restic(&repo)
        .args([
            "backup",
            "--host",
            "srv-dpi",
            "--tag",
            "immutable",
            "--tag",
            "offsite",
        ])
        .arg(&data));
    run(restic(&repo)
        .args(["backup", "--host", "srv-old", "--time", &stale])
        .arg(&data));
    let restic_json = write(
        d.path(),
        "restic.json",
        &run(restic(&repo).args(["snapshots", "--json"])),
    );

    // borg: a fresh archive of srv-pacs, a five-day-old one of srv-lab.
    let brepo = d.path().join("borg");
    run(borg().args(["init", "-e", "none"]).arg(&brepo));
    run(borg()
        .arg("create")
        .arg(format!("{}::srv-pacs-{{now}}", brepo.display()))
        .arg(&data));
    let five = ago(now, 24 * 5).strftime("%Y-%m-%dT%H:%M:%S").to_string();
    run(borg()
        .args(["create", "--timestamp", &five])
        .arg(format!("{}::srv-lab-2020-01-01", brepo.display()))
        .arg(&data));
    let borg_json = write(
        d.path(),
        "borg.json",
        &run(borg().args(["list", "--json"]).arg(&brepo)),
    );

    // The imported records carry the real hosts and times.
    let recs = hygie_collect::backups::parse_restic(
        &restic_json,
        &std::fs::read_to_string(&restic_json).unwrap(),
        None,
    )
    .unwrap();
    let old = recs.iter().find(|r| r.asset == "srv-old").unwrap();
    let age = now.as_second() - old.last_success.unwrap().as_second();
    assert!(
        (age - 240 * 3600).abs() < 120,
        "restic --time honoured: {age}"
    );
    let brecs = hygie_collect::backups::parse_borg(
        &borg_json,
        &std::fs::read_to_string(&borg_json).unwrap(),
        None,
    )
    .unwrap();
    let mut assets: Vec<&str> = brecs.iter().map(|r| r.asset.as_str()).collect();
    assets.sort();
    assert_eq!(assets, ["srv-lab", "srv-pacs"]);

    let day = |h: i64| ago(now, h).strftime("%Y-%m-%d %H:%M").to_string();
    let csv = format!(
        "asset,job,last_success,type,immutable,offline,offsite,last_restore_test,status,auth\n\
srv-dpi,veeam-dpi,{},full,no,no,no,{},success,independent\n\
srv-old,veeam-old,{},full,no,no,yes,{},failed,independent\n\
srv-pacs,veeam-pacs,{},incremental,yes,no,yes,{},failed,independent\n\
srv-lab,tape-lab,{},full,no,yes,yes,{},success,production_ad\n",
        day(2),
        day(24 * 30),
        day(24 * 10),
        day(24 * 60),
        day(1),
        day(24 * 100),
        day(24 * 5),
        day(24 * 700),
    );
    let mut i = BackupInputs::new(write(d.path(), "inventory.csv", INVENTORY));
    i.restic = vec![(None, restic_json.clone())];
    i.borg = vec![(None, borg_json.clone())];
    i.csv = vec![write(d.path(), "veeam.csv", &csv)];
    let r = hygie_collect::run(&Backups, &i, now).unwrap();
    assert_eq!(names(&r, "BCK-RPO"), ["srv-lab", "srv-none", "srv-old"]);
    assert_eq!(names(&r, "BCK-IMMUTABLE"), ["srv-none", "srv-old"]);
    assert_eq!(names(&r, "BCK-OFFSITE"), ["srv-none"]);
    assert_eq!(names(&r, "BCK-RESTORE-TEST"), ["srv-lab", "srv-none"]);
    assert_eq!(failed(&r, "BCK-FAILING-JOBS").len(), 1);
    assert!(failed(&r, "BCK-FAILING-JOBS")[0].starts_with("srv-old/veeam-old"));
    assert_eq!(failed(&r, "BCK-AD-AUTH").len(), 1);
    assert!(failed(&r, "BCK-AD-AUTH")[0].starts_with("srv-lab/tape-lab"));
    let cr = r.check_run("x".into());
    assert_eq!(cr.source, "backups");
    assert_eq!(cr.results.len(), 6);

    // Compliant: every critical asset fresh, with immutable off-site copies and recent tests.
    let repo2 = d.path().join("restic2");
    run(restic(&repo2).arg("init"));
    for h in ["srv-dpi", "srv-old", "srv-pacs", "srv-lab", "srv-none"] {
        run(restic(&repo2)
            .args([
                "backup",
                "--host",
                h,
                "--tag",
                "immutable",
                "--tag",
                "offsite",
            ])
            .arg(&data));
    }
    let good_json = write(
        d.path(),
        "restic2.json",
        &run(restic(&repo2).args(["snapshots", "--json"])),
    );
    let mut good_csv = String::from("asset,job,last_success,last_restore_test,status,auth\n");
    for h in ["srv-dpi", "srv-old", "srv-pacs", "srv-lab", "srv-none"] {
        good_csv.push_str(&format!(
            "{h},veeam,{},{},success,independent\n",
            day(3),
            day(24 * 90)
        ));
    }
    let mut g = BackupInputs::new(write(d.path(), "inventory.csv", INVENTORY));
    g.restic = vec![(None, good_json)];
    g.csv = vec![write(d.path(), "good.csv", &good_csv)];
    let r = hygie_collect::run(&Backups, &g, now).unwrap();
    assert_eq!(r.findings.len(), 6);
    assert_eq!(r.failed().count(), 0, "{:#?}", r.findings);

    // Only restic, no tags: the copy, restore and auth rules are not evaluated, and say why.
    let mut o = BackupInputs::new(write(d.path(), "inventory.csv", INVENTORY));
    o.borg = vec![(None, borg_json)];
    let r = hygie_collect::run(&Backups, &o, now).unwrap();
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.not_evaluated.len(), 5);
}

#[test]
fn malformed_inputs_name_file_and_line() {
    let d = tempfile::tempdir().unwrap();
    let mut i = BackupInputs::new(write(d.path(), "inv.csv", INVENTORY));
    i.csv = vec![write(
        d.path(),
        "bad.csv",
        "asset,last_success\nsrv-dpi,2026-01-01\nsrv-old,last tuesday\n",
    )];
    let e = hygie_collect::run(&Backups, &i, jiff::Timestamp::now())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("bad.csv:3:") && e.contains("last tuesday"),
        "{e}"
    );
    let mut i = BackupInputs::new(write(d.path(), "inv.csv", INVENTORY));
    i.restic = vec![(None, write(d.path(), "r.json", "[\n{\"time\": 3}\n]"))];
    let e = hygie_collect::run(&Backups, &i, jiff::Timestamp::now())
        .unwrap_err()
        .to_string();
    assert!(e.contains("r.json:2:"), "{e}");
}
