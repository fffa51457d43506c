//! Registered clients (RFC 6749 §2): the apps that send their users to passflow to sign in,
//! where passflow may send those users back, and what each may ask for.

use std::fmt;
use std::net::IpAddr;

use url::{Host, Url};

use super::scopes::ScopeSet;

/// A redirect URI as registered: absolute, without a fragment (RFC 6749 §3.1.2), `https`, or
/// `http` on a loopback address (RFC 8252 §7.3, §8.3). Kept as typed: it is compared with
/// what a client sends as an exact string (ASVS V10.4.1), never after normalizing.
#[derive(Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("redirect URI {0:?} is not an absolute URI")]
    NotAbsolute(String),
    #[error("redirect URI {0:?} has a fragment (RFC 6749 §3.1.2)")]
    Fragment(String),
    #[error("redirect URI {0:?} carries credentials")]
    Credentials(String),
    #[error(
        "redirect URI {0:?} is neither https nor http on a loopback address (127.0.0.1, [::1] \
         or localhost)"
    )]
    Insecure(String),
}

impl RedirectUri {
    pub fn parse(uri: &str) -> Result<Self, RedirectUriError> {
        let url = Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute(uri.to_owned()))?;
        if uri.contains('#') {
            return Err(RedirectUriError::Fragment(uri.to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RedirectUriError::Credentials(uri.to_owned()));
        }
        match url.scheme() {
            "https" if url.host().is_some() => Ok(Self(uri.to_owned())),
            "http" if is_loopback(&url) => Ok(Self(uri.to_owned())),
            _ => Err(RedirectUriError::Insecure(uri.to_owned())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `presented` names this URI: the same string; or, for a native app (a public
    /// client) registered on a loopback IP literal without a port, the same URI on any port,
    /// which the app picks when it starts listening (RFC 8252 §7.3).
    pub fn admits(&self, presented: &str, public: bool) -> bool {
        if self.0 == presented {
            return true;
        }
        if !public {
            return false;
        }
        let (Ok(registered), Ok(mut presented)) = (Url::parse(&self.0), Url::parse(presented))
        else {
            return false;
        };
        let ip_literal = matches!(registered.host(), Some(Host::Ipv4(_) | Host::Ipv6(_)));
        if registered.scheme() != "http" || !ip_literal || registered.port().is_some() {
            return false;
        }
        if presented.set_port(None).is_err() || presented.as_str().contains('#') {
            return false;
        }
        presented == registered
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

impl fmt::Debug for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for RedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether a client must prove its code with PKCE (RFC 7636). Public clients always must
/// (RFC 9700 §2.1.1); confidential ones by default, unless registered `optional`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PkcePolicy {
    #[default]
    Required,
    Optional,
}

impl PkcePolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            PkcePolicy::Required => "required",
            PkcePolicy::Optional => "optional",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "required" => Some(PkcePolicy::Required),
            "optional" => Some(PkcePolicy::Optional),
            _ => None,
        }
    }
}

/// A registered client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    /// Random, printed at registration: what the client sends as `client_id`.
    pub id: String,
    /// Shown to users on the consent page.
    pub name: String,
    pub redirect_uris: Vec<RedirectUri>,
    /// Where it may send its users after they sign out (RP-Initiated Logout 1.0 §3), each
    /// compared exactly.
    pub post_logout_redirect_uris: Vec<RedirectUri>,
    /// SHA-256 of the client secret, for a confidential client; `None`: a public client
    /// (a SPA, a native app), which cannot keep one (RFC 6749 §2.1).
    pub secret_sha256: Option<[u8; 32]>,
    /// An app of the same operator: its users are not asked for consent.
    pub first_party: bool,
    /// The scopes it may ask for; `None`: any the deployment offers.
    pub scopes: Option<ScopeSet>,
    pub pkce: PkcePolicy,
    /// Whether it is registered for the refresh grant: its code exchanges return a
    /// refresh token.
    pub refresh: bool,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret_sha256.is_none()
    }

    /// Whether an authorization request without a PKCE challenge is refused.
    pub fn requires_pkce(&self) -> bool {
        self.is_public() || self.pkce == PkcePolicy::Required
    }

    /// The redirect URI an authorization request means: the registered one it names, or,
    /// when it names none, the only one registered (RFC 6749 §3.1.2.3). `None`: the request
    /// cannot be answered by a redirect at all.
    pub fn redirect_uri<'a>(&self, presented: Option<&'a str>) -> Option<RedirectTarget<'a>> {
        match presented {
            Some(uri) => self
                .redirect_uris
                .iter()
                .any(|registered| registered.admits(uri, self.is_public()))
                .then_some(RedirectTarget::Presented(uri)),
            None => match self.redirect_uris.as_slice() {
                [only] => Some(RedirectTarget::Registered(only.as_str().to_owned())),
                _ => None,
            },
        }
    }
}

/// Where an authorization answer goes: a URI the request named (and the client registered),
/// or the one the client registered when the request named none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectTarget<'a> {
    Presented(&'a str),
    Registered(String),
}

impl RedirectTarget<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            RedirectTarget::Presented(uri) => uri,
            RedirectTarget::Registered(uri) => uri,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_refuses_fragments_credentials_and_plain_http_elsewhere() {
        for (uri, refused) in [
            ("https://app.example/cb", false),
            ("http://127.0.0.1/cb", false),
            ("http://[::1]:8080/cb", false),
            ("http://localhost:3000/cb", false),
            ("https://app.example/cb#frag", true),
            ("https://user:pw@app.example/cb", true),
            ("http://app.example/cb", true),
            ("com.example.app:/cb", true),
            ("/cb", true),
        ] {
            assert_eq!(RedirectUri::parse(uri).is_err(), refused, "{uri}");
        }
    }

    #[test]
    fn uris_compare_as_exact_strings() {
        let registered = RedirectUri::parse("https://app.example/cb").unwrap();
        assert!(registered.admits("https://app.example/cb", true));
        for other in [
            "https://app.example/cb/",
            "https://APP.example/cb",
            "https://app.example/cb?x=1",
            "https://app.example:443/cb",
        ] {
            assert!(!registered.admits(other, true), "{other}");
            assert!(!registered.admits(other, false), "{other}");
        }
    }

    #[test]
    fn a_native_app_on_loopback_may_pick_its_port() {
        let registered = RedirectUri::parse("http://127.0.0.1/cb").unwrap();
        assert!(registered.admits("http://127.0.0.1:51004/cb", true));
        assert!(!registered.admits("http://127.0.0.1:51004/cb", false));
        assert!(!registered.admits("http://127.0.0.1:51004/other", true));
        assert!(!registered.admits("http://127.0.0.1:51004/cb#x", true));
        let v6 = RedirectUri::parse("http://[::1]/cb").unwrap();
        assert!(v6.admits("http://[::1]:4000/cb", true));
        // Only IP literals: a name could resolve anywhere (RFC 8252 §8.3).
        let named = RedirectUri::parse("http://localhost/cb").unwrap();
        assert!(!named.admits("http://localhost:4000/cb", true));
        let with_port = RedirectUri::parse("http://127.0.0.1:9000/cb").unwrap();
        assert!(!with_port.admits("http://127.0.0.1:9001/cb", true));
    }

    #[test]
    fn an_omitted_redirect_uri_means_the_only_one_registered() {
        let mut client = Client {
            post_logout_redirect_uris: Vec::new(),
            id: "c".into(),
            name: "App".into(),
            redirect_uris: vec![RedirectUri::parse("https://app.example/cb").unwrap()],
            secret_sha256: Some([0; 32]),
            first_party: false,
            scopes: None,
            pkce: PkcePolicy::Optional,
            refresh: false,
        };
        assert_eq!(
            client.redirect_uri(None).unwrap().as_str(),
            "https://app.example/cb"
        );
        assert!(!client.requires_pkce());
        client
            .redirect_uris
            .push(RedirectUri::parse("https://app.example/other").unwrap());
        assert_eq!(client.redirect_uri(None), None);
        assert_eq!(client.redirect_uri(Some("https://evil.example/cb")), None);
        client.secret_sha256 = None;
        assert!(client.requires_pkce());
    }
}
