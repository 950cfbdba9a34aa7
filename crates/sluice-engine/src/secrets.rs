//! Connector secrets at rest: a `CREATE ... CONNECTOR`'s secret values
//! (`connection.password`, any `*.password`: `sluice_connect::is_secret`)
//! go into the command log sealed with ChaCha20-Poly1305, as
//! `ENC[v1:<base64 of nonce and ciphertext>]`, and are opened again when
//! the log is replayed. The key is `ksql.connect.secrets.key` (base64 of 32
//! bytes; every server sharing a command topic sets the same), or, with a
//! command log file, a key file created beside it (`connect-secrets.key`,
//! readable by its owner only).

use std::path::Path;

use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

use crate::error::{EngineError, Result};

const PREFIX: &str = "ENC[v1:";

pub(crate) struct SecretBox {
    cipher: ChaCha20Poly1305,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl SecretBox {
    /// The key `ksql.connect.secrets.key` gives (base64 of 32 bytes).
    pub fn from_property(value: &str) -> Result<SecretBox> {
        let bytes = b64()
            .decode(value.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                EngineError::statement(
                "ksql.connect.secrets.key must be the base64 of 32 bytes (openssl rand -base64 32)",
            )
            })?;
        Ok(SecretBox {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)),
        })
    }

    /// The key in `path`, created (32 random bytes, mode 0600) when missing.
    pub fn load_or_create(path: &Path) -> Result<SecretBox> {
        let io = |e: std::io::Error| {
            EngineError::statement(format!("connector secrets key {}: {e}", path.display()))
        };
        if !path.exists() {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key)
                .map_err(|e| EngineError::statement(format!("no random bytes for a key: {e}")))?;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            use std::io::Write;
            let mut file = options.open(path).map_err(io)?;
            file.write_all(b64().encode(key).as_bytes()).map_err(io)?;
            file.sync_all().map_err(io)?;
        }
        Self::from_property(&std::fs::read_to_string(path).map_err(io)?)
    }

    pub fn seal(&self, plain: &str) -> String {
        let mut nonce = [0u8; 12];
        // a failing random source leaves a fixed nonce: refuse instead
        getrandom::fill(&mut nonce).expect("random bytes for a nonce");
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .expect("ChaCha20-Poly1305 encrypts any message");
        let mut all = nonce.to_vec();
        all.extend(sealed);
        format!("{PREFIX}{}]", b64().encode(all))
    }

    pub fn open(&self, sealed: &str) -> Result<String> {
        let bad = || {
            EngineError::statement("a connector secret in the command log cannot be opened with this server's key (ksql.connect.secrets.key)")
        };
        let body = sealed
            .strip_prefix(PREFIX)
            .and_then(|s| s.strip_suffix(']'))
            .ok_or_else(bad)?;
        let all = b64().decode(body).map_err(|_| bad())?;
        if all.len() < 12 {
            return Err(bad());
        }
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(&all[..12]), &all[12..])
            .map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }
}

pub(crate) fn is_sealed(value: &str) -> bool {
    value.starts_with(PREFIX) && value.ends_with(']')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_with_the_same_key_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let a = SecretBox::load_or_create(&path).unwrap();
        let sealed = a.seal("hunter2");
        assert!(
            is_sealed(&sealed) && !sealed.contains("hunter2"),
            "{sealed}"
        );
        assert_ne!(sealed, a.seal("hunter2"), "a fresh nonce every time");
        let again = SecretBox::load_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), "hunter2");
        let other = SecretBox::from_property(&b64().encode([7u8; 32])).unwrap();
        assert!(other.open(&sealed).is_err());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        assert!(SecretBox::from_property("short").is_err());
    }
}
