//! Library-level audit for benchmarks and debugging, without the store:
//!   ad_audit URL BIND_DN PASSWORD_FILE CA_PEM TLS_NAME > report.json
#![allow(clippy::unwrap_used)]
use hygie_ad::collect::{LdapOptions, Password, collect};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 6 {
        return Err("usage: ad_audit URL BIND_DN PASSWORD_FILE CA_PEM TLS_NAME".into());
    }
    let pw = std::fs::read_to_string(&a[3])?;
    let mut o = LdapOptions::new(&a[1], &a[2], Password::from(pw.trim_end_matches('\n')));
    o.ca_cert = Some(a[4].clone().into());
    o.tls_server_name = Some(a[5].clone());
    let snap = collect(&o).await?;
    let report = hygie_ad::audit(&snap, &Default::default(), jiff::Timestamp::now());
    serde_json::to_writer(std::io::stdout().lock(), &report)?;
    Ok(())
}
