//! Signing keys for tokens other services verify without the secret: EdDSA (Ed25519,
//! RFC 8037), ES256 (P-256) and RS256 (RFC 7518 §3.3–3.4), each published as a JWK (RFC 7517)
//! whose `kid` is its RFC 7638 thumbprint.
//!
//! Keys are parsed, generated and used through aws-lc-rs (jsonwebtoken's `aws_lc_rs`
//! backend). Its RSA is constant-time; the `rsa` crate, whose RSA leaks the private key
//! through timing (RUSTSEC-2023-0071), is not in the build.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
};
use jsonwebtoken::jwk::{Jwk, PublicKeyUse, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

/// `TOKEN_ALGORITHM`: how access tokens are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TokenAlgorithm {
    /// HMAC with `SECRET_KEY`, the tutorial's: only holders of the secret can verify, and
    /// every one of them can mint.
    #[default]
    Hs256,
    /// Ed25519: small keys, fast, deterministic signatures. The choice for new systems.
    EdDsa,
    /// ECDSA on P-256.
    Es256,
    /// RSA PKCS#1 v1.5 with SHA-256, for consumers that accept nothing else.
    Rs256,
}

/// An unknown `TOKEN_ALGORITHM`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("TOKEN_ALGORITHM: unknown algorithm {0:?}; use HS256, EdDSA, ES256 or RS256")]
pub struct UnknownAlgorithm(pub String);

impl FromStr for TokenAlgorithm {
    type Err = UnknownAlgorithm;

    /// The JOSE names (RFC 7518 §3.1, RFC 8037 §3.1), exactly as tokens carry them.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "HS256" => Ok(Self::Hs256),
            "EdDSA" => Ok(Self::EdDsa),
            "ES256" => Ok(Self::Es256),
            "RS256" => Ok(Self::Rs256),
            other => Err(UnknownAlgorithm(other.to_owned())),
        }
    }
}

impl fmt::Display for TokenAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Hs256 => "HS256",
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        })
    }
}

impl TokenAlgorithm {
    pub fn jwt(self) -> Algorithm {
        match self {
            Self::Hs256 => Algorithm::HS256,
            Self::EdDsa => Algorithm::EdDSA,
            Self::Es256 => Algorithm::ES256,
            Self::Rs256 => Algorithm::RS256,
        }
    }

    /// What a key file must hold for this algorithm, as an error names it.
    fn needs(self) -> &'static str {
        match self {
            Self::Hs256 => "no key file",
            Self::EdDsa => "an Ed25519 key",
            Self::Es256 => "a P-256 key",
            Self::Rs256 => "an RSA key of at least 2048 bits",
        }
    }
}

/// The smallest RSA modulus accepted (RFC 7518 §3.3 requires 2048 bits or more).
pub const MIN_RSA_BITS: usize = 2048;

/// The size `passflow keys generate --algorithm RS256` makes (NIST SP 800-57: 128-bit
/// security).
const GENERATED_RSA: aws_lc_rs::rsa::KeySize = aws_lc_rs::rsa::KeySize::Rsa3072;

/// A private key of an asymmetric algorithm: it signs, and its public half (as a JWK)
/// verifies and is published. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct SigningKey {
    algorithm: Algorithm,
    kid: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    public: Jwk,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// What a PEM file turned out to hold, in the DER form jsonwebtoken signs with.
enum PrivateKey {
    Ed25519 { pkcs8_v1: Vec<u8> },
    Ec { curve: &'static str, pkcs8: Vec<u8> },
    Rsa { bits: usize, pem: Vec<u8> },
}

impl PrivateKey {
    fn describe(&self) -> String {
        match self {
            Self::Ed25519 { .. } => "an Ed25519 key".into(),
            Self::Ec { curve, .. } => format!("a {curve} key"),
            Self::Rsa { bits, .. } => format!("a {bits}-bit RSA key"),
        }
    }

    fn parse(text: &[u8]) -> Option<Self> {
        let pem = pem::parse(text).ok()?;
        let der = pem.contents();
        if let Some(bits) = rsa_bits(pem.tag(), der) {
            return Some(Self::Rsa {
                bits,
                pem: text.to_vec(),
            });
        }
        match pem.tag() {
            "PRIVATE KEY" => {
                if let Ok(pair) = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
                    // jsonwebtoken reads Ed25519 keys in PKCS#8 v1; OpenSSL writes v1, other
                    // tools v2 (with the public key): store v1 either way.
                    let pkcs8_v1 = pair.to_pkcs8v1().ok()?.as_ref().to_vec();
                    return Some(Self::Ed25519 { pkcs8_v1 });
                }
                let curves = [
                    ("P-256", &ECDSA_P256_SHA256_FIXED_SIGNING),
                    ("P-384", &ECDSA_P384_SHA384_FIXED_SIGNING),
                    ("P-521", &ECDSA_P521_SHA512_FIXED_SIGNING),
                ];
                curves.into_iter().find_map(|(curve, algorithm)| {
                    EcdsaKeyPair::from_pkcs8(algorithm, der)
                        .ok()
                        .map(|_| Self::Ec {
                            curve,
                            pkcs8: der.to_vec(),
                        })
                })
            }
            _ => None,
        }
    }
}

/// The modulus size of an RSA private key (PKCS#1, or inside PKCS#8), read from its ASN.1
/// alone: aws-lc-rs refuses to load keys under 2048 bits, and the refusal should say how
/// large the key is.
fn rsa_bits(tag: &str, der: &[u8]) -> Option<usize> {
    let pkcs1_der = match tag {
        "RSA PRIVATE KEY" => der,
        "PRIVATE KEY" => {
            let info = pkcs8::PrivateKeyInfo::try_from(der).ok()?;
            if info.algorithm.oid != pkcs1::ALGORITHM_OID {
                return None;
            }
            info.private_key
        }
        _ => return None,
    };
    let modulus = pkcs1::RsaPrivateKey::try_from(pkcs1_der).ok()?.modulus;
    let bytes = modulus.as_bytes();
    let leading = bytes
        .first()
        .map_or(0, |byte| byte.leading_zeros() as usize);
    Some(bytes.len() * 8 - leading)
}

impl SigningKey {
    /// A key from a PEM text (a file's contents: start-up reads it), for `algorithm`.
    pub fn from_pem(algorithm: TokenAlgorithm, text: &[u8]) -> Result<Self, Refusal> {
        let key = PrivateKey::parse(text).ok_or(Refusal::NotPem)?;
        let wrong = || Refusal::WrongType {
            found: key.describe(),
            algorithm,
        };
        let encoding = match (&key, algorithm) {
            (PrivateKey::Ed25519 { pkcs8_v1 }, TokenAlgorithm::EdDsa) => {
                EncodingKey::from_ed_der(pkcs8_v1)
            }
            (
                PrivateKey::Ec {
                    curve: "P-256",
                    pkcs8,
                },
                TokenAlgorithm::Es256,
            ) => EncodingKey::from_ec_der(pkcs8),
            (PrivateKey::Rsa { bits, .. }, TokenAlgorithm::Rs256) if *bits < MIN_RSA_BITS => {
                return Err(Refusal::WeakRsa { bits: *bits });
            }
            (PrivateKey::Rsa { pem, .. }, TokenAlgorithm::Rs256) => {
                // Parsed for its size only so far: aws-lc-rs checks the key itself here.
                let key = EncodingKey::from_rsa_pem(pem).map_err(|_| Refusal::NotPem)?;
                aws_lc_rs::signature::RsaKeyPair::from_der(key.as_bytes())
                    .map_err(|_| Refusal::NotPem)?;
                key
            }
            _ => return Err(wrong()),
        };
        Self::from_encoding_key(algorithm.jwt(), encoding).ok_or(Refusal::NotPem)
    }

    fn from_encoding_key(algorithm: Algorithm, encoding: EncodingKey) -> Option<Self> {
        let mut public = Jwk::from_encoding_key(&encoding, algorithm).ok()?;
        let kid = public.thumbprint(ThumbprintHash::SHA256).ok()?;
        public.common.key_id = Some(kid.clone());
        public.common.public_key_use = Some(PublicKeyUse::Signature);
        let decoding = DecodingKey::from_jwk(&public).ok()?;
        Some(Self {
            algorithm,
            kid,
            encoding,
            decoding,
            public,
        })
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The RFC 7638 SHA-256 thumbprint of the public key, base64url: the `kid` of every
    /// token this key signs.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    pub fn decoding(&self) -> &DecodingKey {
        &self.decoding
    }

    /// The public JWK: `kty`, the curve or modulus members, `kid`, `alg`, `use: "sig"`;
    /// never a private member.
    pub fn public_jwk(&self) -> &Jwk {
        &self.public
    }
}

/// What is wrong with a PEM text as a signing key; start-up names the file and the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "is not a PEM private key (PKCS#8 `PRIVATE KEY`, or PKCS#1 `RSA PRIVATE KEY`); make \
         one with `passflow keys generate --algorithm ALG`"
    )]
    NotPem,
    #[error("holds {found}; {algorithm} needs {}", algorithm.needs())]
    WrongType {
        found: String,
        algorithm: TokenAlgorithm,
    },
    #[error("holds a {bits}-bit RSA key; RS256 needs at least {MIN_RSA_BITS} bits")]
    WeakRsa { bits: usize },
}

/// A new private key for `algorithm` as a PKCS#8 PEM (`passflow keys generate`); `None`
/// for HS256, whose key is `SECRET_KEY`.
pub fn generate(algorithm: TokenAlgorithm) -> Option<String> {
    let random = SystemRandom::new();
    let der: Vec<u8> = match algorithm {
        TokenAlgorithm::Hs256 => return None,
        TokenAlgorithm::EdDsa => Ed25519KeyPair::generate_pkcs8v1(&random)
            .ok()?
            .as_ref()
            .to_vec(),
        TokenAlgorithm::Es256 => {
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &random)
                .ok()?
                .as_ref()
                .to_vec()
        }
        TokenAlgorithm::Rs256 => {
            let pair = aws_lc_rs::rsa::KeyPair::generate(GENERATED_RSA).ok()?;
            let der: aws_lc_rs::encoding::Pkcs8V1Der<'_> = pair.as_der().ok()?;
            der.as_ref().to_vec()
        }
    };
    let unix_lines = pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF);
    Some(pem::encode_config(
        &pem::Pem::new("PRIVATE KEY", der),
        unix_lines,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_load_for_their_algorithm_only() {
        for algorithm in [
            TokenAlgorithm::EdDsa,
            TokenAlgorithm::Es256,
            TokenAlgorithm::Rs256,
        ] {
            let pem = generate(algorithm).unwrap();
            assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
            let key = SigningKey::from_pem(algorithm, pem.as_bytes()).unwrap();
            assert_eq!(key.algorithm(), algorithm.jwt());
            assert_eq!(key.kid().len(), 43, "SHA-256, base64url without padding");
            for other in [
                TokenAlgorithm::EdDsa,
                TokenAlgorithm::Es256,
                TokenAlgorithm::Rs256,
            ] {
                if other != algorithm {
                    assert!(
                        matches!(
                            SigningKey::from_pem(other, pem.as_bytes()),
                            Err(Refusal::WrongType { .. })
                        ),
                        "{algorithm} key accepted for {other}"
                    );
                }
            }
        }
    }

    #[test]
    fn algorithm_names_are_the_jose_ones() {
        for name in ["HS256", "EdDSA", "ES256", "RS256"] {
            assert_eq!(name.parse::<TokenAlgorithm>().unwrap().to_string(), name);
        }
        assert_eq!(
            "eddsa".parse::<TokenAlgorithm>(),
            Err(UnknownAlgorithm("eddsa".into()))
        );
    }
}
