//! Helpers shared by the integration tests and the benchmark (`#[path]`-included there).

/// The NT hash of `pw` in lowercase hex, as a pwdump line carries it. Computed with MD4 here on
/// purpose: the crate has no hex accessor for `NtHash`, so that a hash is never printed.
pub fn nt_hex(pw: &str) -> String {
    use md4::{Digest, Md4};
    let utf16: Vec<u8> = pw.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    Md4::digest(&utf16)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
