//! LDIF content records as `ldapsearch` writes them (RFC 2849): `attr: value`, base64 `attr::`
//! values, folded lines, comments, and ldapsearch's trailing `search:`/`result:` record (a
//! non-zero result means the dump is incomplete and is refused). Streaming: one entry at a time.
//! `scripts/ad-ldif-export.sh` writes such exports with the attributes the audit reads.

use crate::raw::RawEntry;
use base64::Engine;
use std::io::BufRead;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LdifError {
    pub line: usize,
    pub message: String,
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, LdifError> {
    Err(LdifError {
        line,
        message: message.into(),
    })
}

/// Reads entries from LDIF text.
pub struct LdifReader<R> {
    input: R,
    /// Physical line number of the last line read.
    line_no: usize,
    /// A physical line read ahead while looking for continuations.
    pending: Option<(usize, String)>,
    done: bool,
    first_record: bool,
}

impl<R: BufRead> LdifReader<R> {
    pub fn new(input: R) -> Self {
        Self {
            input,
            line_no: 0,
            pending: None,
            done: false,
            first_record: true,
        }
    }

    fn physical(&mut self) -> Result<Option<(usize, String)>, LdifError> {
        if let Some(p) = self.pending.take() {
            return Ok(Some(p));
        }
        let mut buf = Vec::new();
        let n = self
            .input
            .read_until(b'\n', &mut buf)
            .map_err(|e| LdifError {
                line: self.line_no + 1,
                message: format!("read error: {e}"),
            })?;
        if n == 0 {
            return Ok(None);
        }
        self.line_no += 1;
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        match String::from_utf8(buf) {
            Ok(s) => Ok(Some((self.line_no, s))),
            Err(_) => err(
                self.line_no,
                "not valid UTF-8 (binary values must be base64 with '::')",
            ),
        }
    }

    /// The next logical line (continuations joined), with the number of its first physical line.
    fn logical(&mut self) -> Result<Option<(usize, String)>, LdifError> {
        let Some((no, mut line)) = self.physical()? else {
            return Ok(None);
        };
        if line.is_empty() {
            return Ok(Some((no, line)));
        }
        loop {
            match self.physical()? {
                Some((_, next)) if next.starts_with(' ') => line.push_str(&next[1..]),
                Some(other) => {
                    self.pending = Some(other);
                    break;
                }
                None => break,
            }
        }
        Ok(Some((no, line)))
    }

    fn read_record(&mut self) -> Result<Option<RawEntry>, LdifError> {
        loop {
            // Skip blank lines and comments between records.
            let mut lines: Vec<(usize, String)> = Vec::new();
            loop {
                match self.logical()? {
                    None => break,
                    Some((_, l)) if l.is_empty() => {
                        if lines.is_empty() {
                            continue;
                        }
                        break;
                    }
                    Some((_, l)) if l.starts_with('#') => continue,
                    Some(x) => lines.push(x),
                }
            }
            if lines.is_empty() {
                return Ok(None);
            }
            let first = self.first_record;
            self.first_record = false;
            let mut iter = lines.into_iter().peekable();
            if first
                && let Some((no, l)) = iter.peek()
                && let Some(v) = l.strip_prefix("version:")
            {
                if v.trim() != "1" {
                    return err(*no, format!("unsupported LDIF version '{}'", v.trim()));
                }
                iter.next();
                if iter.peek().is_none() {
                    continue;
                }
            }
            let mut entry: Option<RawEntry> = None;
            let mut trailer_result: Option<(usize, String)> = None;
            let mut is_trailer = false;
            for (no, l) in iter {
                let (name, value) = parse_line(no, &l)?;
                if entry.is_none() && !is_trailer {
                    if name.eq_ignore_ascii_case("dn") {
                        let dn = String::from_utf8(value).map_err(|_| LdifError {
                            line: no,
                            message: "DN is not valid UTF-8".into(),
                        })?;
                        entry = Some(RawEntry::new(dn));
                        continue;
                    }
                    if name.eq_ignore_ascii_case("search") {
                        is_trailer = true;
                        continue;
                    }
                    return err(
                        no,
                        format!("expected 'dn:' to start a record, found '{name}:'"),
                    );
                }
                if is_trailer {
                    if name.eq_ignore_ascii_case("result") {
                        trailer_result = Some((no, String::from_utf8_lossy(&value).into_owned()));
                    }
                    continue;
                }
                if name.eq_ignore_ascii_case("changetype") {
                    return err(
                        no,
                        "change records are not supported: give an ldapsearch export",
                    );
                }
                if let Some(e) = entry.as_mut() {
                    e.push(&name, value);
                }
            }
            if is_trailer {
                if let Some((no, r)) = trailer_result {
                    let code = r.split_whitespace().next().unwrap_or("");
                    if code != "0" {
                        return err(
                            no,
                            format!("ldapsearch reported 'result: {r}': the export is incomplete"),
                        );
                    }
                }
                continue;
            }
            return Ok(entry);
        }
    }
}

fn parse_line(no: usize, l: &str) -> Result<(String, Vec<u8>), LdifError> {
    let Some(colon) = l.find(':') else {
        return err(
            no,
            format!("expected 'attribute: value', found '{}'", truncate(l)),
        );
    };
    let name = &l[..colon];
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b';' || b == b'.' || b == b'=')
    {
        return err(no, format!("invalid attribute name '{}'", truncate(name)));
    }
    let rest = &l[colon + 1..];
    if let Some(b64) = rest.strip_prefix(':') {
        let v = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| LdifError {
                line: no,
                message: format!("attribute '{name}': invalid base64 value: {e}"),
            })?;
        Ok((name.to_string(), v))
    } else if rest.starts_with('<') {
        err(
            no,
            format!("attribute '{name}': URL values ':<' are not supported"),
        )
    } else {
        Ok((
            name.to_string(),
            rest.strip_prefix(' ').unwrap_or(rest).as_bytes().to_vec(),
        ))
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

impl<R: BufRead> Iterator for LdifReader<R> {
    type Item = Result<RawEntry, LdifError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.read_record() {
            Ok(Some(e)) => Some(Ok(e)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<RawEntry>, LdifError> {
        LdifReader::new(s.as_bytes()).collect()
    }

    #[test]
    fn reads_plain_base64_and_folded_values() {
        let text = "version: 1\n\n# extended LDIF\n# comment\n dn folded comment\ndn: CN=alice,CN=Users,DC=chu,DC=test\nobjectClass: top\nobjectClass: user\nsAMAccountName: al\n ice\nobjectSid:: AQUAAAAAAAUVAAAA\n\ndn:: Q049w6lsb2Rp\ncn: x\n\n# search result\nsearch: 2\nresult: 0 Success\n\n# numResponses: 3\n";
        let v = parse(text).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].dn, "CN=alice,CN=Users,DC=chu,DC=test");
        assert_eq!(v[0].strings("objectclass"), vec!["top", "user"]);
        assert_eq!(v[0].str("samaccountname").unwrap(), "alice");
        assert_eq!(
            v[0].first("objectSid").unwrap(),
            &[1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0]
        );
        assert_eq!(v[1].dn, "CN=élodi");
    }

    #[test]
    fn crlf_line_endings() {
        let v = parse("dn: CN=a\r\ncn: a\r\n\r\n").unwrap();
        assert_eq!(v[0].str("cn").unwrap(), "a");
    }

    #[test]
    fn malformed_input_names_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "dn: CN=a\ncn: a\nthis line has no colon\n",
                3,
                "expected 'attribute: value'",
            ),
            ("cn: a\n", 1, "expected 'dn:'"),
            ("dn: CN=a\nobjectSid:: !!!notbase64\n", 2, "invalid base64"),
            ("dn: CN=a\ncn:< file:///etc/passwd\n", 2, "URL values"),
            ("dn: CN=a\nchangetype: add\n", 2, "change records"),
            (
                "dn: CN=a\ncn: a\n\nsearch: 2\nresult: 4 Size limit exceeded\n",
                5,
                "incomplete",
            ),
            ("version: 2\n\ndn: CN=a\n", 1, "unsupported LDIF version"),
            ("dn: CN=a\nbad name: x\n", 2, "invalid attribute name"),
        ];
        for (text, line, msg) in cases {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, *line, "{text:?}: {e}");
            assert!(e.message.contains(msg), "{text:?}: {e}");
        }
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        let mut bytes = b"dn: CN=a\ncn: ".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe, b'\n']);
        let e: Result<Vec<_>, _> = LdifReader::new(bytes.as_slice()).collect();
        assert_eq!(e.unwrap_err().line, 2);
    }
}
