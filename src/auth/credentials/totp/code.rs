//! RFC 6238 codes as authenticator apps make them: HMAC-SHA-1, 6 digits, 30-second steps,
//! computed by totp-rs. Only the choice of parameters and the enrolment URI live here.

use totp_rs::{Algorithm, Builder, Secret, Totp};
use url::Url;

/// 160 bits, the length RFC 4226 §4 recommends (and HMAC-SHA-1's block of output).
pub const SECRET_BYTES: usize = 20;
pub const STEP_SECONDS: u64 = 30;
pub const DIGITS: u8 = 6;

/// A TOTP secret in the clear: only ever in memory, and never printed.
pub struct TotpSecret(pub(super) Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(..)")
    }
}

impl TotpSecret {
    /// A new secret from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self(rand::random::<[u8; SECRET_BYTES]>().to_vec())
    }

    /// RFC 4648 base32 without padding, as authenticator apps take it.
    pub fn to_base32(&self) -> String {
        Secret::from(self.0.as_slice()).to_base32()
    }

    /// The time step `code` belongs to, if it is this secret's code for the step of `now`,
    /// the one before or the one after (RFC 6238 §5.2: one step of clock drift each way).
    /// Compared in constant time by totp-rs.
    pub fn matching_step(&self, code: &str, now: u64) -> Option<u64> {
        rfc6238(&self.0, DIGITS)?.check(code, now)
    }
}

fn rfc6238(secret: &[u8], digits: u8) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(digits)
        .with_skew(1)
        .with_step_duration(STEP_SECONDS)
        .with_secret(secret)
        .build()
        .ok()
}

/// The Key URI authenticator apps scan (Google Authenticator's `otpauth://` format): label
/// `issuer:username`, each part percent-encoded, and every parameter spelled out even where
/// it is the default, so no app has to guess.
pub fn otpauth_uri(issuer: &str, username: &str, secret: &TotpSecret) -> String {
    let mut uri = Url::parse("otpauth://totp/").expect("a valid base URI");
    uri.path_segments_mut()
        .expect("otpauth URIs have a path")
        .pop()
        .push(&format!("{issuer}:{username}"));
    uri.query_pairs_mut()
        .append_pair("secret", &secret.to_base32())
        .append_pair("issuer", issuer)
        .append_pair("algorithm", "SHA1")
        .append_pair("digits", &DIGITS.to_string())
        .append_pair("period", &STEP_SECONDS.to_string());
    uri.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, the SHA-1 rows: its seed is the ASCII "12345678901234567890".
    #[test]
    fn rfc_6238_test_vectors() {
        let seed = b"12345678901234567890";
        let vectors = [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        let eight = rfc6238(seed, 8).unwrap();
        for (time, code) in vectors {
            assert_eq!(eight.generate(time).to_string(), code, "T = {time}");
            // Six digits are the same truncation modulo 10^6 (RFC 4226 §5.3).
            let secret = TotpSecret(seed.to_vec());
            assert_eq!(
                secret.matching_step(&code[2..], time),
                Some(time / STEP_SECONDS),
                "T = {time}"
            );
        }
    }

    #[test]
    fn one_step_of_drift_each_way_and_no_more() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        let at_59 = "287082";
        assert_eq!(secret.matching_step(at_59, 59), Some(1));
        assert_eq!(secret.matching_step(at_59, 89), Some(1));
        assert_eq!(secret.matching_step(at_59, 29), Some(1));
        assert_eq!(secret.matching_step(at_59, 90), None);
        assert_eq!(secret.matching_step("000000", 59), None);
        assert_eq!(secret.matching_step("28708", 59), None);
    }

    #[test]
    fn the_uri_spells_out_every_parameter_and_encodes_the_label() {
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        assert_eq!(
            otpauth_uri("passflow", "john doe:x", &secret),
            "otpauth://totp/passflow:john%20doe:x?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=passflow&algorithm=SHA1&digits=6&period=30"
        );
    }
}
