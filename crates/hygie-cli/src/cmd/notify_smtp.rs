//! The reminders' SMTP adapter (lettre, rustls with the system's roots and `--smtp-ca-cert`): the configuration
//! from a TOML file and flags, the password from a file, one message sent at a time.
//!
//! `tls = "none"` is accepted only towards a loopback address: anything else would carry the
//! credentials and the messages in clear over a network.

use crate::exit;
use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    /// Plain connection upgraded by STARTTLS, which must succeed (port 587).
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No TLS: loopback only (a local relay, the tests).
    None,
}

impl std::str::FromStr for TlsMode {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<TlsMode> {
        match s.trim().to_ascii_lowercase().as_str() {
            "starttls" => Ok(TlsMode::Starttls),
            "tls" | "implicit" | "smtps" => Ok(TlsMode::Tls),
            "none" => Ok(TlsMode::None),
            other => Err(exit::invalid(format!(
                "--smtp-tls: '{other}' is not starttls, tls or none / '{other}' n'est pas starttls, tls ou none"
            ))),
        }
    }
}

/// The SMTP settings as the file gives them (every key optional; flags win).
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct SmtpFile {
    host: Option<String>,
    port: Option<u16>,
    tls: Option<TlsMode>,
    username: Option<String>,
    password_file: Option<PathBuf>,
    from: Option<String>,
    ca_cert: Option<PathBuf>,
}

/// SMTP flags of `hygie notify run` (and of `hygie serve`'s reminders).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct SmtpArgs {
    /// TOML file with the SMTP settings: host, port, tls, username, password_file, from, ca_cert (the
    /// flags below win over it).
    #[arg(long, env = "HYGIE_SMTP_CONFIG")]
    pub smtp_config: Option<PathBuf>,
    /// SMTP server host name.
    #[arg(long, env = "HYGIE_SMTP_HOST")]
    pub smtp_host: Option<String>,
    /// Port (default: 587 with starttls, 465 with tls, 25 with none).
    #[arg(long, env = "HYGIE_SMTP_PORT")]
    pub smtp_port: Option<u16>,
    /// starttls (default), tls (implicit TLS) or none (loopback only).
    #[arg(long, env = "HYGIE_SMTP_TLS")]
    pub smtp_tls: Option<String>,
    /// User name for SMTP authentication (with --smtp-password-file).
    #[arg(long, env = "HYGIE_SMTP_USER")]
    pub smtp_user: Option<String>,
    /// File holding the SMTP password (never given on the command line).
    #[arg(long, env = "HYGIE_SMTP_PASSWORD_FILE")]
    pub smtp_password_file: Option<PathBuf>,
    /// Sender address, e.g. "Hygie <hygie@ch.example>".
    #[arg(long, env = "HYGIE_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// CA certificate(s) (PEM) the server's certificate must chain to, besides the system's
    /// roots: a hospital's relay often has a certificate of its own CA.
    #[arg(long, env = "HYGIE_SMTP_CA_CERT", value_name = "PEM")]
    pub smtp_ca_cert: Option<PathBuf>,
}

/// A configured SMTP client.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// `host:port`, for messages.
    pub server: String,
}

fn is_loopback(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost")
        || h.parse::<std::net::IpAddr>().is_ok_and(|a| a.is_loopback())
}

fn read_password(p: &Path) -> anyhow::Result<SecretString> {
    super::secret_file("--smtp-password-file", "le fichier du mot de passe SMTP", p)
}

impl SmtpArgs {
    /// Read the file and the flags into a client; every problem names its flag or key.
    pub fn connect(&self) -> anyhow::Result<Smtp> {
        let file = match &self.smtp_config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| exit::invalid(format!("--smtp-config {}: {e}", p.display())))?;
                toml::from_str::<SmtpFile>(&text)
                    .map_err(|e| exit::invalid(format!("{}: {e}", p.display())))?
            }
            None => SmtpFile::default(),
        };
        let host = self.smtp_host.clone().or(file.host).ok_or_else(|| {
            exit::invalid(
                "no SMTP server: give --smtp-host (or host in --smtp-config), or --dry-run / aucun serveur SMTP : indiquez --smtp-host, ou --dry-run",
            )
        })?;
        let tls = match &self.smtp_tls {
            Some(t) => t.parse()?,
            None => file.tls.unwrap_or(TlsMode::Starttls),
        };
        if tls == TlsMode::None && !is_loopback(&host) {
            return Err(exit::invalid(format!(
                "--smtp-tls none is allowed only towards a loopback address, not {host} / sans TLS, seule une adresse de boucle locale est permise, pas {host}"
            )));
        }
        let port = self.smtp_port.or(file.port).unwrap_or(match tls {
            TlsMode::Starttls => 587,
            TlsMode::Tls => 465,
            TlsMode::None => 25,
        });
        let from_text = self.smtp_from.clone().or(file.from).ok_or_else(|| {
            exit::invalid("no sender: give --smtp-from (or from in --smtp-config) / aucun expéditeur : indiquez --smtp-from")
        })?;
        let from: Mailbox = from_text
            .parse()
            .map_err(|e| exit::invalid(format!("--smtp-from '{from_text}': {e}")))?;
        let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.clone())
            .port(port)
            .timeout(Some(Duration::from_secs(30)));
        b = match tls {
            TlsMode::None => b.tls(Tls::None),
            TlsMode::Starttls | TlsMode::Tls => {
                let mut params = TlsParameters::builder(host.clone());
                if let Some(ca) = self.smtp_ca_cert.as_ref().or(file.ca_cert.as_ref()) {
                    // Checked as the other outbound clients check theirs (lettre would take a
                    // file without any certificate and fail only at the handshake).
                    hygie_web::outbound::tls_config(Some(ca)).map_err(|e| {
                        exit::invalid(format!(
                            "--smtp-ca-cert {e} / certificat d'autorité inutilisable"
                        ))
                    })?;
                    let pem = std::fs::read(ca).map_err(|e| {
                        exit::invalid(format!(
                            "--smtp-ca-cert {}: {e} / certificat d'autorité illisible",
                            ca.display()
                        ))
                    })?;
                    let cert = Certificate::from_pem(&pem).map_err(|e| {
                        exit::invalid(format!(
                            "--smtp-ca-cert {}: {e} / pas un certificat PEM",
                            ca.display()
                        ))
                    })?;
                    params = params.add_root_certificate(cert);
                }
                let params = params
                    .build()
                    .map_err(|e| exit::invalid(format!("--smtp-host {host}: {e}")))?;
                b.tls(if tls == TlsMode::Tls {
                    Tls::Wrapper(params)
                } else {
                    Tls::Required(params)
                })
            }
        };
        let user = self.smtp_user.clone().or(file.username);
        let password_file = self.smtp_password_file.clone().or(file.password_file);
        match (user, password_file) {
            (Some(u), Some(p)) => {
                let password = read_password(&p)?;
                b = b.credentials(Credentials::new(u, password.expose_secret().to_owned()));
            }
            (None, None) => {}
            _ => {
                return Err(exit::invalid(
                    "SMTP authentication needs both --smtp-user and --smtp-password-file / l'authentification SMTP demande --smtp-user et --smtp-password-file",
                ));
            }
        }
        Ok(Smtp {
            transport: b.build(),
            from,
            server: format!("{host}:{port}"),
        })
    }
}

impl Smtp {
    /// Send one plain-text message; the error says what the server or the address refused.
    pub async fn send(
        &self,
        name: &str,
        email: &str,
        msg: &hygie_notify::Message,
    ) -> Result<(), String> {
        let to: Mailbox = format!(
            "{} <{email}>",
            name.replace(['<', '>', '"', '\r', '\n'], " ")
        )
        .parse()
        .map_err(|e| format!("address '{email}': {e}"))?;
        let mail = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&msg.subject)
            .header(ContentType::TEXT_PLAIN)
            .body(msg.body.clone())
            .map_err(|e| format!("message: {e}"))?;
        self.transport
            .send(mail)
            .await
            .map(|_| ())
            .map_err(|e| format!("{}: {e}", self.server))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_smtp_only_on_loopback() {
        let a = SmtpArgs {
            smtp_host: Some("smtp.example.org".into()),
            smtp_tls: Some("none".into()),
            smtp_from: Some("hygie@example.org".into()),
            ..SmtpArgs::default()
        };
        assert!(a.connect().is_err());
        let a = SmtpArgs {
            smtp_host: Some("127.0.0.1".into()),
            ..a
        };
        assert!(a.connect().is_ok());
        assert!(is_loopback("[::1]"));
    }
}
