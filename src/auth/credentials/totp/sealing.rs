//! TOTP secrets sealed at rest with AES-256-GCM (RustCrypto `aes-gcm`): a copy of the
//! database without `TOTP_ENCRYPTION_KEY` yields no codes. The username is the associated
//! data, so a sealed secret copied to another user's row does not open.

use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Key, KeyInit, Nonce};

use super::code::TotpSecret;
use crate::model::username::Username;

/// Sealed layout: version byte, 96-bit random nonce, ciphertext and 128-bit tag.
const VERSION: u8 = 1;
const NONCE_BYTES: usize = 12;

/// Why `TOTP_ENCRYPTION_KEY` cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("TOTP_ENCRYPTION_KEY must be 32 bytes written as 64 hex digits (`passflow gen-secret`)")]
pub struct BadKey;

/// A sealed secret that does not open with this key: another key sealed it, or it was
/// altered.
#[derive(Debug, thiserror::Error)]
#[error("a stored TOTP secret does not open with this TOTP_ENCRYPTION_KEY")]
pub struct Unsealable;

#[derive(Clone)]
pub struct SecretCipher(Aes256Gcm);

impl std::fmt::Debug for SecretCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretCipher(..)")
    }
}

impl SecretCipher {
    pub fn from_hex(key: &str) -> Result<Self, BadKey> {
        let bytes: [u8; 32] = hex::decode(key.trim())
            .map_err(|_| BadKey)?
            .try_into()
            .map_err(|_| BadKey)?;
        Ok(Self::from_bytes(bytes))
    }

    /// A key made up at start, for secrets that live in memory only.
    pub fn random() -> Self {
        Self::from_bytes(rand::random())
    }

    fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(Aes256Gcm::new(&Key::<Aes256Gcm>::from(bytes)))
    }

    pub fn seal(&self, username: &Username, secret: &TotpSecret) -> Vec<u8> {
        let nonce: [u8; NONCE_BYTES] = rand::random();
        let payload = Payload {
            msg: &secret.0,
            aad: username.as_bytes(),
        };
        let ciphertext = self
            .0
            .encrypt(&Nonce::from(nonce), payload)
            .expect("AES-GCM seals any message this short");
        let mut sealed = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
        sealed.push(VERSION);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&ciphertext);
        sealed
    }

    pub fn open(&self, username: &Username, sealed: &[u8]) -> Result<TotpSecret, Unsealable> {
        let Some((&VERSION, rest)) = sealed.split_first() else {
            return Err(Unsealable);
        };
        let (nonce, ciphertext) = rest.split_at_checked(NONCE_BYTES).ok_or(Unsealable)?;
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().map_err(|_| Unsealable)?;
        let payload = Payload {
            msg: ciphertext,
            aad: username.as_bytes(),
        };
        self.0
            .decrypt(&Nonce::from(nonce), payload)
            .map(TotpSecret)
            .map_err(|_| Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn opens_what_it_sealed_for_that_user_only() {
        let cipher = SecretCipher::from_hex(KEY).unwrap();
        let secret = TotpSecret::generate();
        let sealed = cipher.seal(&Username::from("johndoe"), &secret);
        assert!(!sealed.windows(secret.0.len()).any(|part| part == secret.0));
        assert_eq!(
            cipher.open(&Username::from("johndoe"), &sealed).unwrap().0,
            secret.0
        );
        assert!(cipher.open(&Username::from("alice"), &sealed).is_err());
        assert!(
            SecretCipher::random()
                .open(&Username::from("johndoe"), &sealed)
                .is_err()
        );
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(cipher.open(&Username::from("johndoe"), &altered).is_err());
        assert!(
            cipher
                .open(&Username::from("johndoe"), &sealed[..10])
                .is_err()
        );
    }

    #[test]
    fn the_key_is_exactly_32_hex_bytes() {
        assert!(SecretCipher::from_hex(&KEY[2..]).is_err());
        assert!(SecretCipher::from_hex(&format!("{KEY}00")).is_err());
        assert!(SecretCipher::from_hex(&KEY.replace('0', "g")).is_err());
        assert!(SecretCipher::from_hex(&format!(" {KEY}\n")).is_ok());
    }
}
