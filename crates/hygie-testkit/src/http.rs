//! A blocking HTTP/1.1 client for tests that drive a real server process (`hygie serve`) over
//! loopback, as a browser or an API client would: one request per connection, cookies and
//! headers read from the answer. Enough for forms, JSON and redirects; no TLS.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// One answer: status code, headers (names in lower case) and body as text.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Response {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The value a `Set-Cookie` header gives the cookie `name`, if the answer sets it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .filter_map(|(_, v)| v.split(';').next()?.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }

    /// The `value` of the first `<input name="NAME" value="...">` (or `id=`) in an HTML body,
    /// or the text of the element with that id (`<code id="NAME">text</code>`).
    pub fn field(&self, name: &str) -> Option<String> {
        for attr in [format!("name=\"{name}\""), format!("id=\"{name}\"")] {
            let Some(at) = self.body.find(&attr) else {
                continue;
            };
            let tag_start = self.body[..at].rfind('<')?;
            let tag_end = at + self.body[at..].find('>')?;
            let tag = &self.body[tag_start..tag_end];
            if let Some(v) = tag.find("value=\"") {
                let rest = &tag[v + 7..];
                return rest.find('"').map(|e| rest[..e].to_owned());
            }
            let rest = &self.body[tag_end + 1..];
            return rest.find('<').map(|e| rest[..e].trim().to_owned());
        }
        None
    }
}

/// Send one request to `addr` ("127.0.0.1:PORT") and read the whole answer. `headers` are sent
/// as given (a `Cookie`, a `Content-Type`, a CSRF header); the body's length is added.
pub fn exchange(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<Response> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse(&raw).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "{method} {path}: not an HTTP answer: {}",
                String::from_utf8_lossy(&raw[..raw.len().min(200)])
            ),
        )
    })
}

/// A form body, `application/x-www-form-urlencoded`.
pub fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// An answer read whole from the wire (status line, headers, body by length or chunked).
pub fn parse(raw: &[u8]) -> Option<Response> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        dechunk(rest)?
    } else {
        rest.to_vec()
    };
    Some(Response {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// Undo `Transfer-Encoding: chunked`.
pub fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..eol]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(rest.get(..size)?);
        rest = rest.get(size + 2..)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_length_and_chunked_answers_and_reads_fields() {
        let r = parse(b"HTTP/1.1 303 See Other\r\nSet-Cookie: hygie_session=abc; Path=/; HttpOnly\r\nLocation: /\r\nContent-Length: 5\r\n\r\nhello").unwrap();
        assert_eq!(r.status, 303);
        assert_eq!(r.cookie("hygie_session").as_deref(), Some("abc"));
        assert_eq!(r.header("location"), Some("/"));
        assert_eq!(r.body, "hello");
        let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for part in [
            "<inpu",
            "t name=\"csrf\" value=\"c1\"><co",
            "de id=\"totp-secret\">K2</co",
            "de>",
        ] {
            chunked.extend_from_slice(format!("{:x}\r\n{part}\r\n", part.len()).as_bytes());
        }
        chunked.extend_from_slice(b"0\r\n\r\n");
        let r = parse(&chunked).unwrap();
        assert_eq!(r.field("csrf").as_deref(), Some("c1"));
        assert_eq!(r.field("totp-secret").as_deref(), Some("K2"));
        assert_eq!(r.field("missing"), None);
        assert!(parse(b"garbage").is_none());
        assert_eq!(form(&[("a b", "é&=")]), "a%20b=%C3%A9%26%3D");
    }
}
