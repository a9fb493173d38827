//! Evidence files served as downloads: never rendered by the browser (`attachment`, an opaque
//! content type, `nosniff` from the security headers), under their name written so that no name
//! can break the header or disguise itself.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// Serve `content` as a download named `name`.
pub(crate) fn attachment(name: &str, content: Vec<u8>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_DISPOSITION, content_disposition(name)),
        ],
        content,
    )
        .into_response()
}

/// `attachment; filename="..."; filename*=UTF-8''...` (RFC 6266 with RFC 8187): an ASCII
/// fallback for old clients, where a quote, a backslash and anything not printable ASCII become
/// `_`, and the exact name percent-encoded (UTF-8), which browsers prefer. Characters that could
/// disguise the name (controls, text-direction overrides: `hygie_core::is_disguising`) become `_`
/// in both; the store refuses them in new names, older ones may still hold them.
pub(crate) fn content_disposition(name: &str) -> String {
    let shown: String = name
        .chars()
        .map(|c| if hygie_core::is_disguising(c) { '_' } else { c })
        .collect();
    let shown = if shown.trim().is_empty() {
        "evidence".to_owned()
    } else {
        shown
    };
    let fallback: String = shown
        .chars()
        .map(|c| {
            if (c.is_ascii_graphic() || c == ' ') && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "attachment; filename=\"{fallback}\"; filename*=UTF-8''{}",
        crate::auth::percent_encode(&shown)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_name_gives_a_well_formed_header() {
        let table = [
            (
                "policy.pdf",
                "attachment; filename=\"policy.pdf\"; filename*=UTF-8''policy.pdf",
            ),
            (
                "Relevé \"final\".pdf",
                "attachment; filename=\"Relev_ _final_.pdf\"; filename*=UTF-8''Relev%C3%A9%20%22final%22.pdf",
            ),
            (
                "a\r\nSet-Cookie: x=1",
                "attachment; filename=\"a__Set-Cookie: x=1\"; filename*=UTF-8''a__Set-Cookie%3A%20x%3D1",
            ),
            (
                "gpj.\u{202e}exe",
                "attachment; filename=\"gpj._exe\"; filename*=UTF-8''gpj._exe",
            ),
            (
                "back\\slash;semi.txt",
                "attachment; filename=\"back_slash;semi.txt\"; filename*=UTF-8''back%5Cslash%3Bsemi.txt",
            ),
            (
                "",
                "attachment; filename=\"evidence\"; filename*=UTF-8''evidence",
            ),
        ];
        for (name, want) in table {
            let got = content_disposition(name);
            assert_eq!(got, want, "{name:?}");
            // Always a valid header value: visible ASCII and spaces only.
            assert!(axum::http::HeaderValue::from_str(&got).is_ok(), "{name:?}");
            assert!(got.bytes().all(|b| b == b' ' || b.is_ascii_graphic()));
        }
    }
}
