//! Keyed pseudonyms for reporters: `reporter_key` = truncated HMAC-SHA256 under a secret key.
//!
//! A plain hash of a phone number can be reversed by enumerating the ~10¹¹ numbers; an HMAC
//! under a key kept apart from the data cannot (without the key).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::{Error, Result};

/// The environment variable holding the key.
pub const KEY_ENV: &str = "WEAKSIGNAL_KEY";

/// A loaded pseudonymisation key.
#[derive(Clone)]
pub struct Pseudonymizer {
    mac: Hmac<Sha256>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymizer(<key hidden>)")
    }
}

impl Pseudonymizer {
    /// From raw key bytes (at least 16).
    ///
    /// # Errors
    /// [`Error::NoKey`] for a key shorter than 16 bytes.
    pub fn new(key: &[u8]) -> Result<Self> {
        if key.len() < 16 {
            return Err(Error::NoKey);
        }
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| Error::NoKey)?;
        Ok(Pseudonymizer { mac })
    }

    /// From `WEAKSIGNAL_KEY`, else the key file, else [`Error::NoKey`].
    ///
    /// # Errors
    /// No key anywhere, or an unreadable key file.
    pub fn load(key_file: Option<&std::path::Path>) -> Result<Self> {
        if let Ok(k) = std::env::var(KEY_ENV) {
            if !k.trim().is_empty() {
                return Self::new(k.trim().as_bytes());
            }
        }
        match key_file {
            Some(p) if p.exists() => {
                let k = std::fs::read(p).map_err(|source| Error::Io {
                    path: p.into(),
                    source,
                })?;
                let trimmed: Vec<u8> = k.trim_ascii().to_vec();
                Self::new(&trimmed)
            }
            _ => Err(Error::NoKey),
        }
    }

    /// The pseudonym of an identity (phone, openid, name): 16 hex digits (64 bits), or
    /// `None` for a blank identity. One household's mobile number has one pseudonym however
    /// a system wrote it: `138 1234 5678`, `(0)138-1234-5678`, `+86 13812345678`,
    /// `0086…`, `86…`, and `013812345678` (the trunk 0 a call from another city shows). A
    /// cell naming several people keys the first (see [`crate::names::reporter_names`]).
    pub fn key(&self, identity: &str) -> Option<crate::record::Str> {
        // The normalised identity without spaces, dashes and brackets (normalisation has
        // turned every whitespace into a space); copied only when it has them.
        let norm = crate::normalize::normalized(identity);
        // A register's cell naming several petitioners, or their number
        // (`王建国、李秀英等15人`), is the household of the first named: on a later visit the
        // same petitioner is written `王建国`.
        if !norm.is_ascii() {
            if let Some(first) = crate::names::reporter_names(&norm).first() {
                return self.tag(first);
            }
        }
        const SEPARATORS: [char; 4] = [' ', '-', '(', ')'];
        let joined: std::borrow::Cow<'_, str> = match norm.contains(SEPARATORS) {
            true => norm.split(SEPARATORS).collect::<String>().into(),
            false => norm.as_ref().into(),
        };
        self.tag(mobile_number(&joined).unwrap_or(&joined))
    }

    /// The pseudonym of a normalised identity; `None` when blank.
    fn tag(&self, identity: &str) -> Option<crate::record::Str> {
        if identity.is_empty() {
            return None;
        }
        let mut mac = self.mac.clone();
        mac.update(identity.as_bytes());
        let tag = mac.finalize().into_bytes();
        let mut hex = [0u8; 16];
        hex::encode_to_slice(&tag[..8], &mut hex).ok()?;
        std::str::from_utf8(&hex).ok().map(crate::record::Str::new)
    }

    /// A fingerprint of the key (16 hex digits: the SHA-256 of an HMAC of a fixed text
    /// under it, so no pseudonym): tells whether two runs used the same key, revealing
    /// neither the key nor a pseudonym.
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let mut mac = self.mac.clone();
        mac.update(b"weaksignal: fingerprint of the pseudonym key");
        hex::encode(&Sha256::digest(mac.finalize().into_bytes())[..8])
    }
}

/// The eleven digits of a mainland mobile number written with a country code (`+86`,
/// `0086`, `86`) or a trunk `0`; `None` for anything else (kept as written).
fn mobile_number(s: &str) -> Option<&str> {
    let s = s.strip_prefix('+').unwrap_or(s);
    let core = match s.len() {
        15 => s.strip_prefix("0086")?,
        13 => s.strip_prefix("86")?,
        12 => s.strip_prefix('0')?,
        _ => return None,
    };
    let b = core.as_bytes();
    let mobile = b.len() == 11
        && b[0] == b'1'
        && (b'3'..=b'9').contains(&b[1])
        && b.iter().all(u8::is_ascii_digit);
    mobile.then_some(core)
}

/// Creates a random 32-byte key file (hex) for the demo, readable by the owner only.
///
/// # Errors
/// I/O.
pub fn create_key_file(path: &std::path::Path) -> Result<()> {
    use rand::RngCore;
    let mut k = [0u8; 32];
    rand::rng().fill_bytes(&mut k);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.into(),
            source,
        })?;
    }
    std::fs::write(path, hex::encode(k)).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_keyed_and_normalised() {
        let a = Pseudonymizer::new(b"0123456789abcdef0123").unwrap();
        let b = Pseudonymizer::new(b"another-key-entirely").unwrap();
        let k1 = a.key("138 1234 5678").unwrap();
        assert_eq!(k1, a.key("13812345678").unwrap());
        assert_eq!(k1, a.key("１３８１２３４５６７８").unwrap());
        assert_ne!(k1, b.key("13812345678").unwrap());
        assert_eq!(k1.len(), 16);
        assert!(!k1.contains("1381234"));
        assert_eq!(a.key("  "), None);
        assert_eq!(a.key(" - "), None);
        assert_eq!(a.key("()"), None);
    }

    #[test]
    fn the_fingerprint_tells_keys_apart_and_is_no_pseudonym() {
        let a = Pseudonymizer::new(b"0123456789abcdef0123").unwrap();
        let b = Pseudonymizer::new(b"another-key-entirely").unwrap();
        let fa = a.fingerprint();
        assert_eq!(
            fa,
            Pseudonymizer::new(b"0123456789abcdef0123")
                .unwrap()
                .fingerprint()
        );
        assert_ne!(fa, b.fingerprint());
        assert_eq!(fa.len(), 16);
    }

    #[test]
    fn a_mobile_number_has_one_key_however_it_is_written() {
        let a = Pseudonymizer::new(b"0123456789abcdef0123").unwrap();
        let k = a.key("13812345678").unwrap();
        for written in [
            "+86 138 1234 5678",
            "+8613812345678",
            "0086-13812345678",
            "8613812345678",
            "013812345678",
            "(0)138-1234-5678",
            "＋８６　１３８１２３４５６７８",
        ] {
            assert_eq!(a.key(written).as_ref(), Some(&k), "{written}");
        }
        // Landlines keep their area code; other numbers, names and openids stay as written.
        assert_eq!(a.key("(010)87654321"), a.key("010-87654321"));
        for other in [
            "057188886666",
            "01087654321",
            "8612812345678",
            "23812345678",
            "0138123456789",
            "+86",
        ] {
            assert_ne!(a.key(other).as_ref(), Some(&k), "{other}");
        }
        assert_ne!(a.key("057188886666"), a.key("57188886666"));
    }

    #[test]
    fn a_petitioner_named_with_others_is_the_household_of_the_first() {
        let a = Pseudonymizer::new(b"0123456789abcdef0123").unwrap();
        let k = a.key("王建国").unwrap();
        for written in [
            "王建国、李秀英等15人",
            "王建国等",
            "王建国等3人",
            " 王建国 ",
            "王建国,李秀英",
        ] {
            assert_eq!(a.key(written).as_ref(), Some(&k), "{written}");
        }
        assert_ne!(a.key("李秀英"), a.key("王建国"));
        // Less common surnames and given names that start with `家` too.
        for (first, written) in [
            ("颜丽华", "颜丽华、倪红梅等5人"),
            ("张家豪", "张家豪、李秀英"),
        ] {
            assert_eq!(a.key(written), a.key(first), "{written}");
        }
        // What names no one is keyed as written.
        assert_ne!(a.key("王先生"), a.key("王先生等"));
        assert_ne!(a.key("匿名"), None);
    }

    #[test]
    fn matches_a_reference_hmac() {
        // Python: hmac.new(b"0123456789abcdef0123", b"13812345678", hashlib.sha256)
        // .hexdigest()[:16]
        let a = Pseudonymizer::new(b"0123456789abcdef0123").unwrap();
        for identity in [
            "13812345678",
            "138-1234-5678",
            "\t138 1234\u{3000}5678 ",
            "-13812345678-",
        ] {
            assert_eq!(
                a.key(identity).as_deref(),
                Some("1f755cc875684670"),
                "{identity:?}"
            );
        }
    }

    #[test]
    fn short_key_refused() {
        assert!(matches!(Pseudonymizer::new(b"short"), Err(Error::NoKey)));
    }
}
