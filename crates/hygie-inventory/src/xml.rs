//! A small streaming walk over an XML document (quick-xml underneath): the stack of open
//! elements, each with its attributes, text and line, is handed to the reader at every opening
//! and closing tag. Readers keep only what they need, so a 2-million-package inventory is never
//! held as a tree. Every error names the file, the line and the element being read; a document
//! that ends with elements still open is reported as truncated.

use crate::InventoryError;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// One open element.
#[derive(Debug, Clone)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// Its text so far (entity and character references resolved, CDATA included).
    pub text: String,
    pub line: u64,
}

impl Element {
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// What the reader is told.
pub enum Visit<'a> {
    /// The last element of the stack was just opened.
    Open(&'a [Element]),
    /// The last element of the stack is being closed, with its whole text.
    Close(&'a [Element]),
}

/// Walk `bytes` (UTF-8 XML), calling `on` at every opening and closing; `on` may refuse with a
/// message, reported at the current element's line.
pub fn walk(
    file: &str,
    bytes: &[u8],
    mut on: impl FnMut(Visit<'_>) -> Result<(), String>,
) -> Result<(), InventoryError> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut buf = Vec::new();
    let mut line = 1u64;
    let mut counted = 0usize;
    let mut seen_root = false;
    loop {
        let before = reader.buffer_position() as usize;
        let ev = reader.read_event_into(&mut buf);
        // The line where the event starts: newlines counted once, incrementally.
        let start = before.min(bytes.len());
        line += count_newlines(&bytes[counted.min(start)..start]);
        counted = counted.max(start);
        let at = |stack: &[Element], message: String| {
            InventoryError::at_element(file, line, stack.last().map(|e| e.name.as_str()), message)
        };
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                let e = e.to_string();
                // A file cut inside a tag ends the input where the syntax needed more.
                let what = if e.contains("end of input") {
                    "truncated file"
                } else {
                    "malformed XML"
                };
                return Err(at(&stack, format!("{what}: {e}")));
            }
        };
        match ev {
            Event::Start(s) => {
                let el = element(&s, line).map_err(|m| at(&stack, m))?;
                seen_root = true;
                stack.push(el);
                on(Visit::Open(&stack)).map_err(|m| at(&stack, m))?;
            }
            Event::Empty(s) => {
                let el = element(&s, line).map_err(|m| at(&stack, m))?;
                seen_root = true;
                stack.push(el);
                on(Visit::Open(&stack)).map_err(|m| at(&stack, m))?;
                on(Visit::Close(&stack)).map_err(|m| at(&stack, m))?;
                stack.pop();
            }
            Event::End(_) => {
                on(Visit::Close(&stack)).map_err(|m| at(&stack, m))?;
                stack.pop();
            }
            Event::Text(t) => {
                let t = t
                    .decode()
                    .map_err(|e| at(&stack, format!("not valid UTF-8: {e}")))?;
                push_text(&mut stack, &t, file, line)?;
            }
            Event::CData(t) => {
                let t = t
                    .decode()
                    .map_err(|e| at(&stack, format!("not valid UTF-8: {e}")))?;
                push_text(&mut stack, &t, file, line)?;
            }
            Event::GeneralRef(r) => {
                let c = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => {
                        let name = r
                            .decode()
                            .map_err(|e| at(&stack, format!("not valid UTF-8: {e}")))?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .ok_or_else(|| at(&stack, format!("unknown entity '&{name};'")))?
                            .to_owned()
                    }
                    Err(e) => return Err(at(&stack, format!("bad character reference: {e}"))),
                };
                push_text(&mut stack, &c, file, line)?;
            }
            Event::Eof => {
                if let Some(open) = stack.last() {
                    return Err(InventoryError::at_element(
                        file,
                        line,
                        Some(&open.name),
                        format!(
                            "truncated file: <{}> opened at line {} is never closed",
                            open.name, open.line
                        ),
                    ));
                }
                if !seen_root {
                    return Err(InventoryError::at(file, Some(line), "no XML element found"));
                }
                return Ok(());
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
        buf.clear();
    }
}

fn count_newlines(b: &[u8]) -> u64 {
    b.iter().filter(|c| **c == b'\n').count() as u64
}

fn push_text(stack: &mut [Element], t: &str, file: &str, line: u64) -> Result<(), InventoryError> {
    match stack.last_mut() {
        Some(e) => e.text.push_str(t),
        None if t.trim().is_empty() => {}
        None => {
            return Err(InventoryError::at(
                file,
                Some(line),
                "text outside the root element",
            ));
        }
    }
    Ok(())
}

fn element(s: &BytesStart<'_>, line: u64) -> Result<Element, String> {
    let name = std::str::from_utf8(s.name().as_ref())
        .map_err(|e| format!("element name is not UTF-8: {e}"))?
        .to_owned();
    let mut attrs = Vec::new();
    for a in s.attributes() {
        let a = a.map_err(|e| format!("<{name}>: bad attribute: {e}"))?;
        let k = std::str::from_utf8(a.key.as_ref())
            .map_err(|e| format!("<{name}>: attribute name is not UTF-8: {e}"))?
            .to_owned();
        let v = a
            .unescape_value()
            .map_err(|e| format!("<{name}>: attribute '{k}': {e}"))?
            .into_owned();
        attrs.push((k, v));
    }
    Ok(Element {
        name,
        attrs,
        text: String::new(),
        line,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(xml: &str) -> Result<Vec<String>, InventoryError> {
        let mut out = Vec::new();
        walk("t.xml", xml.as_bytes(), |v| {
            if let Visit::Close(s) = v {
                let e = s.last().expect("open");
                out.push(format!("{}={}", e.name, e.text.trim()));
            }
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn text_references_and_cdata() {
        let n = names("<A>\n<B>x &amp; y&#233;</B><C><![CDATA[<z>]]></C><D k=\"v\"/></A>").unwrap();
        assert_eq!(n, ["B=x & yé", "C=<z>", "D=", "A="]);
    }

    #[test]
    fn errors_name_file_line_and_element() {
        let e = names("<A>\n<B>\n<C>x</B>\n</A>").unwrap_err().to_string();
        assert!(e.starts_with("t.xml:3:"), "{e}");
        assert!(e.contains("<C>"), "{e}");
        let e = names("<A>\n<B>x</B>\n<B>y").unwrap_err().to_string();
        assert!(e.contains("truncated") && e.contains("<B>"), "{e}");
        let e = names("  ").unwrap_err().to_string();
        assert!(e.contains("no XML element"), "{e}");
        let e = names("<A>&bogus;</A>").unwrap_err().to_string();
        assert!(e.contains("bogus"), "{e}");
    }
}
