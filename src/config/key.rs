//! The CARP key exactly as OPNsense hands it to the kernel.
//!
//! OPNsense removes every space from `<password>`, escapes it the way PHP's `addslashes` does
//! (a backslash before `'`, `"`, `\`, and NUL written as `\0`), and passes the result to
//! `ifconfig … pass`, which copies at most 19 bytes plus a terminating NUL into the 20-byte key.
//! A peer configured by OPNsense authenticates with those bytes, so carpd must derive the same.

use super::model::{CarpKey, KEY_LEN};

/// Bytes ifconfig keeps of a passphrase (`strlcpy` into `CARP_KEY_LEN` leaves room for the NUL).
pub const MAX_PASSWORD_BYTES: usize = KEY_LEN - 1;

/// The key and what happened to the password on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DerivedKey {
    pub key: CarpKey,
    /// Length of the escaped password before truncation.
    pub escaped_len: usize,
    /// The escaped password was longer than [`MAX_PASSWORD_BYTES`] and was cut.
    pub truncated: bool,
    /// Spaces were removed.
    pub spaces_removed: bool,
}

/// Derive the 20-byte key from a `<password>` value.
pub fn derive_key(password: &str) -> DerivedKey {
    let mut escaped = Vec::with_capacity(password.len() + 4);
    let mut spaces_removed = false;
    for &b in password.as_bytes() {
        match b {
            b' ' => spaces_removed = true,
            b'\'' | b'"' | b'\\' => escaped.extend_from_slice(&[b'\\', b]),
            0 => escaped.extend_from_slice(b"\\0"),
            _ => escaped.push(b),
        }
    }
    let mut key = [0u8; KEY_LEN];
    let used = escaped.len().min(MAX_PASSWORD_BYTES);
    key[..used].copy_from_slice(&escaped[..used]);
    DerivedKey {
        key: CarpKey(key),
        escaped_len: escaped.len(),
        truncated: escaped.len() > MAX_PASSWORD_BYTES,
        spaces_removed,
    }
}

/// ucarp's key from `--pass` / `--passfile`: the bytes exactly as given, nothing removed or
/// escaped, copied with their terminating NUL into the 20-byte key, so at most 19 bytes
/// (ucarp's `docarp` refuses longer ones with "Password too long"). A carpd node run as ucarp
/// and a real ucarp given the same password authenticate each other.
pub fn ucarp_key(password: &[u8]) -> Result<CarpKey, UcarpKeyError> {
    if password.is_empty() {
        return Err(UcarpKeyError::Empty);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(UcarpKeyError::TooLong {
            len: password.len(),
        });
    }
    if password.contains(&0) {
        return Err(UcarpKeyError::Nul);
    }
    let mut key = [0u8; KEY_LEN];
    key[..password.len()].copy_from_slice(password);
    Ok(CarpKey(key))
}

/// Why a ucarp password cannot be a key. The messages never contain the password.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum UcarpKeyError {
    #[error("the password is empty")]
    Empty,
    #[error(
        "the password is {len} bytes; ucarp and carp(4) keep at most {MAX_PASSWORD_BYTES} (ucarp refuses it as \"Password too long\")"
    )]
    TooLong { len: usize },
    #[error("the password contains a NUL byte")]
    Nul,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn padded(bytes: &[u8]) -> [u8; KEY_LEN] {
        let mut k = [0u8; KEY_LEN];
        k[..bytes.len()].copy_from_slice(bytes);
        k
    }

    #[test]
    fn empty_password_is_twenty_zero_bytes() {
        let d = derive_key("");
        assert_eq!(d.key.0, [0u8; KEY_LEN]);
        assert!(d.key.is_empty());
        assert!(!d.truncated);
    }

    #[test]
    fn spaces_are_removed() {
        let d = derive_key(" my secret key ");
        assert_eq!(d.key.0, padded(b"mysecretkey"));
        assert!(d.spaces_removed);
        // Only the space character: a tab is kept, as str_replace(' ', '') keeps it.
        assert_eq!(derive_key("a\tb").key.0, padded(b"a\tb"));
    }

    #[test]
    fn quotes_and_backslashes_are_escaped() {
        assert_eq!(derive_key(r#"it's"\"#).key.0, padded(br#"it\'s\"\\"#));
        assert_eq!(derive_key("a\0b").key.0, padded(b"a\\0b"));
    }

    #[test]
    fn nineteen_bytes_fit_twenty_and_more_are_cut() {
        let p19 = "abcdefghijklmnopqrs";
        let d = derive_key(p19);
        assert_eq!(d.key.0, padded(p19.as_bytes()));
        assert_eq!(d.key.used_len(), 19);
        assert!(!d.truncated);

        let d = derive_key("abcdefghijklmnopqrst");
        assert_eq!(d.key.0, padded(p19.as_bytes()));
        assert!(d.truncated);
        assert_eq!(d.escaped_len, 20);

        let d = derive_key("abcdefghijklmnopqrstuvwxy");
        assert_eq!(d.key.0, padded(p19.as_bytes()));
        assert_eq!(d.escaped_len, 25);
    }

    #[test]
    fn ucarp_keys_are_the_bytes_as_given() {
        // No OPNsense processing: spaces and quotes stay.
        assert_eq!(ucarp_key(b"my 'pass").unwrap().0, padded(b"my 'pass"));
        assert_eq!(
            ucarp_key(b"abcdefghijklmnopqrs").unwrap().0,
            padded(b"abcdefghijklmnopqrs")
        );
        assert_eq!(
            ucarp_key(b"abcdefghijklmnopqrst"),
            Err(UcarpKeyError::TooLong { len: 20 })
        );
        assert_eq!(ucarp_key(b""), Err(UcarpKeyError::Empty));
        assert!(
            !UcarpKeyError::TooLong { len: 20 }
                .to_string()
                .contains("abc")
        );
    }

    #[test]
    fn escaping_counts_towards_the_limit() {
        // 18 letters and a quote: the escape makes it 20 bytes, the quote itself is cut off.
        let d = derive_key("abcdefghijklmnopqr'");
        assert_eq!(d.key.0, padded(b"abcdefghijklmnopqr\\"));
        assert!(d.truncated);
    }
}
