//! kill -9 during a web evidence upload (issue 25): a real `hygie serve`, a signed-in IT user
//! sending a 20 MiB multipart upload that also marks the measure implemented, the server killed
//! mid-body, once the upload reaches the store and at seeded delays after; each time the store
//! opens, `journal verify` passes, every evidence file is whole or absent, and no upload is kept
//! without its declaration (both are one transaction).

mod common;

use common::{FINESS, HOSPITAL, Hygie};
use hygie_store::{Actor, Binding, NewUser, Role, SessionStage, Store};
use sqlx::Row;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const MEASURE: &str = "BCK-06";
const UPLOADS: u64 = 6;
const SIZE: usize = 20 << 20;

/// A seeded xorshift: the kill points are the same on every run of the test.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// An IT user of the test hospital with a full session straight in the store: the cookie and
/// the CSRF token.
fn signed_in(h: &Hygie) -> (String, String) {
    let url = hygie_store::sqlite_url_in(&h.data());
    runtime().block_on(async {
        let store = Store::open(&url).await.expect("store");
        let f = hygie_core::Finess::parse(FINESS).expect("finess");
        let u = store
            .create_user(
                &NewUser {
                    username: "it".into(),
                    display_name: "IT".into(),
                    role: Role::ItStaff,
                    binding: Binding::Facilities {
                        facilities: vec![f],
                    },
                    password_hash: hygie_web::auth::hash_password("a long test password")
                        .expect("hash"),
                    lang: None,
                },
                &Actor("test".into()),
            )
            .await
            .expect("user");
        let id = hygie_web::auth::random_hex(32).expect("random");
        let csrf = hygie_web::auth::csrf_token(&id);
        let exp = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_hours(2))
            .expect("time");
        store
            .create_session(
                &hygie_web::auth::digest(&id),
                u.id,
                SessionStage::Full,
                exp,
                "127.0.0.0/24",
            )
            .await
            .expect("session");
        store.pool().close().await;
        (format!("{}={id}", hygie_web::SESSION_COOKIE), csrf)
    })
}

struct Server {
    child: Child,
    addr: String,
}

fn serve(h: &Hygie) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let server = Server {
        child: h
            .cmd()
            .args(["serve", "--listen", &addr])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve"),
        addr,
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let up = hygie_testkit::http::exchange(&server.addr, "GET", "/healthz", &[], "")
            .is_ok_and(|r| r.status == 200);
        if up {
            return server;
        }
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Server {
    /// SIGKILL, then reap it: what dropping it does.
    fn kill9(self) {
        drop(self);
    }
}

/// However the test ends, the server does not outlive it.
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Upload `i`'s file: its content depends on `i`.
fn content(i: u64) -> Vec<u8> {
    let mut rng = Rng(0xF11E_0000 + i);
    let mut bytes = Vec::with_capacity(SIZE);
    while bytes.len() < SIZE {
        bytes.extend_from_slice(&rng.next().to_le_bytes());
    }
    bytes.truncate(SIZE);
    bytes
}

/// The request of upload `i`: head and multipart body.
fn request(addr: &str, cookie: &str, csrf: &str, i: u64) -> (Vec<u8>, Vec<u8>) {
    let boundary = "hygieCrashBoundary7MA4YWxkTrZu0gW";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"implemented\"\r\n\r\n1\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"restore-{i}.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&content(i));
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST /facilities/{FINESS}/measures/{MEASURE}/evidence HTTP/1.1\r\nHost: {addr}\r\n\
         Connection: close\r\nCookie: {cookie}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    (head.into_bytes(), body)
}

/// Size and modification time of the store's WAL.
fn wal(h: &Hygie) -> Option<(u64, std::time::SystemTime)> {
    let m = std::fs::metadata(h.data().join("hygie.sqlite-wal")).ok()?;
    Some((m.len(), m.modified().ok()?))
}

/// The store holds only whole uploads: each blob one of the files sent, whole; each evidence
/// row with its blob; as many "implemented" declarations noting an upload as uploads kept.
fn whole_or_absent(h: &Hygie, sent: u64) -> i64 {
    h.run(&["journal", "verify"], 0);
    let db = h.data().join("hygie.sqlite");
    runtime().block_on(async {
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&db)
            .read_only(true);
        let pool = sqlx::SqlitePool::connect_with(opts).await.expect("open");
        let files: Vec<Vec<u8>> = (0..sent).map(content).collect();
        for r in sqlx::query("SELECT size, content FROM evidence_blobs")
            .fetch_all(&pool)
            .await
            .expect("blobs")
        {
            let bytes: Vec<u8> = r.get("content");
            let size: i64 = r.get("size");
            assert_eq!(bytes.len() as i64, size);
            assert!(files.contains(&bytes), "a blob that is no upload, whole");
        }
        let orphans: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM evidence e LEFT JOIN evidence_blobs b ON b.sha256 = e.sha256 \
             WHERE e.kind = 'file' AND b.sha256 IS NULL",
        )
        .fetch_one(&pool)
        .await
        .expect("count");
        assert_eq!(orphans, 0, "evidence rows without their file");
        let uploads: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM evidence WHERE actor = 'web:it' AND kind = 'file'",
        )
        .fetch_one(&pool)
        .await
        .expect("count");
        let declared: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM declarations WHERE actor = 'web:it' AND status = 'implemented' \
             AND note LIKE 'evidence: %'",
        )
        .fetch_one(&pool)
        .await
        .expect("count");
        assert_eq!(
            uploads, declared,
            "an upload kept without its declaration, or the reverse"
        );
        pool.close().await;
        uploads
    })
}

/// Send upload `i`; returns the answer's status if the server answered.
fn upload(addr: &str, cookie: &str, csrf: &str, i: u64, sent_share: Option<u64>) -> Option<u16> {
    let (head, body) = request(addr, cookie, csrf, i);
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(300))).ok()?;
    s.write_all(&head).ok()?;
    let cut = sent_share.map_or(body.len(), |p| body.len() * p as usize / 100);
    s.write_all(&body[..cut]).ok()?;
    if sent_share.is_some() {
        return None;
    }
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace().nth(1)?.parse().ok()
}

fn wait_changed(h: &Hygie, before: Option<(u64, std::time::SystemTime)>, bound: Duration) -> bool {
    let deadline = Instant::now() + bound;
    while Instant::now() < deadline {
        if wal(h) != before {
            return true;
        }
        std::thread::sleep(Duration::from_micros(500));
    }
    false
}

#[test]
fn kill_9_during_an_evidence_upload_keeps_it_whole_or_absent() {
    let h = Hygie::sqlite();
    h.add(&HOSPITAL);
    let (cookie, csrf) = signed_in(&h);
    let mut rng = Rng(0x0B10_BB0B_5EED_0001);

    // A clean upload first: it is kept with its declaration, and its duration spreads the kills.
    let server = serve(&h);
    let started = Instant::now();
    let status = upload(&server.addr, &cookie, &csrf, 0, None);
    let clean = started.elapsed();
    assert_eq!(status, Some(303), "the upload is accepted");
    server.kill9();
    whole_or_absent(&h, 1);

    for i in 1..=UPLOADS {
        let server = serve(&h);
        let addr = server.addr.clone();
        match i % 3 {
            // Mid-body: the server has part of the file in memory.
            0 => {
                let share = rng.between(10, 95);
                let _ = upload(&addr, &cookie, &csrf, i, Some(share));
                server.kill9();
            }
            // The whole body sent; killed as soon as the store starts writing, or after a
            // seeded share of the clean upload's duration.
            k => {
                let before = wal(&h);
                let (c, t) = (cookie.clone(), csrf.clone());
                let client = std::thread::spawn(move || upload(&addr, &c, &t, i, None));
                if k == 1 {
                    wait_changed(&h, before, Duration::from_secs(120));
                } else {
                    let ms = clean.as_millis() as u64 * rng.between(20, 120) / 100;
                    std::thread::sleep(Duration::from_millis(ms));
                }
                server.kill9();
                let _ = client.join();
            }
        }
        let kept = whole_or_absent(&h, i + 1);
        eprintln!("upload {i} (kill kind {}): {kept} uploads kept", i % 3);
    }
    // After the kills, an upload goes through as usual.
    let server = serve(&h);
    let status = upload(&server.addr, &cookie, &csrf, UPLOADS + 1, None);
    server.kill9();
    assert_eq!(status, Some(303));
    whole_or_absent(&h, UPLOADS + 2);
}
