//! The security event log: every refused authentication or authorisation is one `warn` line
//! under the target `hygie::security`, with a stable event name (`login_failed`,
//! `totp_failed`, `account_locked`, `csrf_rejected`, `access_denied`, `token_refused`,
//! `session_refused`, `setup_refused`, `login_throttled`, `password_refused`, `passkey_failed`),
//! the user when
//! known, the class of the client's address, the route and a short reason. Never a password, a
//! code, a token, a cookie or a CSRF token: the fields are built from names the code chooses,
//! usernames of existing accounts and public token ids. A username typed at the login form is
//! not logged when no such account exists (it is often a password typed in the wrong field).
//!
//! The code that refuses attaches a [`Refusals`] extension to its response (`WebError` does it
//! for its refusals, the login flow for its own); the `observe` middleware, which knows the
//! route and the client, writes the lines. The caller's name, when the refusal comes after the
//! caller was identified, is read from the [`Who`] slot the `Caller` extractor fills.
//! Account events (lockouts, lifecycle changes) are journalled besides, by the store.

use axum::response::Response;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The kinds of security event; their names are stable (log searches rely on them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    LoginFailed,
    TotpFailed,
    AccountLocked,
    CsrfRejected,
    AccessDenied,
    TokenRefused,
    SessionRefused,
    SetupRefused,
    LoginThrottled,
    PasswordRefused,
    PasskeyFailed,
}

impl Event {
    pub fn name(self) -> &'static str {
        match self {
            Event::LoginFailed => "login_failed",
            Event::TotpFailed => "totp_failed",
            Event::AccountLocked => "account_locked",
            Event::CsrfRejected => "csrf_rejected",
            Event::AccessDenied => "access_denied",
            Event::TokenRefused => "token_refused",
            Event::SessionRefused => "session_refused",
            Event::SetupRefused => "setup_refused",
            Event::LoginThrottled => "login_throttled",
            Event::PasswordRefused => "password_refused",
            Event::PasskeyFailed => "passkey_failed",
        }
    }
}

/// One refusal: what, about whom (an existing account's name, `token:ID`), and why (a word the
/// code chose, never input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub event: Event,
    pub user: Option<String>,
    pub reason: &'static str,
}

/// The refusals of one response, as a response extension.
#[derive(Debug, Clone, Default)]
pub struct Refusals(pub Vec<Refusal>);

/// Attach a refusal to a response (the middleware logs it).
pub fn refuse(
    mut res: Response,
    event: Event,
    user: Option<&str>,
    reason: &'static str,
) -> Response {
    let r = Refusal {
        event,
        user: user.map(str::to_owned),
        reason,
    };
    match res.extensions_mut().get_mut::<Refusals>() {
        Some(list) => list.0.push(r),
        None => {
            res.extensions_mut().insert(Refusals(vec![r]));
        }
    }
    res
}

/// Who the request turned out to come from (a username or `token:ID`), written by the `Caller`
/// extractor, read by the middleware after the handler: a request extension shared by both.
#[derive(Debug, Clone, Default)]
pub struct Who(Arc<Mutex<Option<String>>>);

impl Who {
    pub fn set(&self, who: String) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(who);
        }
    }
    fn get(&self) -> Option<String> {
        self.0.lock().ok().and_then(|s| s.clone())
    }
}

/// The class of an address as logs and session lists show it: its /24 for IPv4, its /64 for
/// IPv6 (one host or one site), never the address itself. An IPv4 address written as IPv6 is
/// shown as IPv4.
pub fn address_class(ip: Option<IpAddr>) -> String {
    match ip {
        None => "unknown".into(),
        Some(IpAddr::V4(v4)) => v4_class(v4),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_class(v4),
            None => {
                let net = std::net::Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1));
                format!("{net}/64")
            }
        },
    }
}

fn v4_class(v4: std::net::Ipv4Addr) -> String {
    let [a, b, c, _] = v4.octets();
    format!("{a}.{b}.{c}.0/24")
}

/// Write the response's refusals, if any, as warn lines (the `observe` middleware calls this).
pub fn log(res: &Response, who: &Who, client: &str, route: &str) {
    let Some(list) = res.extensions().get::<Refusals>() else {
        return;
    };
    for r in &list.0 {
        let user = r.user.clone().or_else(|| who.get());
        tracing::warn!(
            target: "hygie::security",
            event = r.event.name(),
            user = user.as_deref().unwrap_or(""),
            client,
            route,
            reason = r.reason,
            "security event"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_classes_hide_the_host() {
        let class = |s: &str| address_class(Some(s.parse().unwrap_or(IpAddr::from([0u8; 4]))));
        assert_eq!(class("192.0.2.77"), "192.0.2.0/24");
        assert_eq!(class("::ffff:192.0.2.77"), "192.0.2.0/24");
        assert_eq!(class("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(address_class(None), "unknown");
    }
}
