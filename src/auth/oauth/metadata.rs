//! What passflow publishes about itself (RFC 8414, OAuth 2.0 Authorization Server Metadata):
//! its issuer, endpoints, grants and scopes, for clients and resource servers that configure
//! themselves from one URL. With OpenID Connect on and a client registered, the same
//! document is also `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4).

use serde::Serialize;
use url::Url;
use utoipa::ToSchema;

use crate::model::scopes::ScopeCatalog;

/// Why `TOKEN_ISSUER` cannot name a metadata document (it still works as the tokens' `iss`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAnIssuerUrl {
    #[error("it is not an absolute URL")]
    NotAbsolute,
    #[error("its scheme is not http or https")]
    Scheme,
    #[error("it has a query or a fragment (RFC 8414 §2)")]
    QueryOrFragment,
}

/// `TOKEN_ISSUER` as RFC 8414 §2 requires an issuer to be: an `http(s)` URL with no query
/// or fragment.
pub fn issuer_url(issuer: &str) -> Result<Url, NotAnIssuerUrl> {
    let url = Url::parse(issuer).map_err(|_| NotAnIssuerUrl::NotAbsolute)?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(NotAnIssuerUrl::Scheme);
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(NotAnIssuerUrl::QueryOrFragment);
    }
    Ok(url)
}

// What the metadata document (RFC 8414 §2) says, declared once: the wire shape and the
// OpenAPI schema derive from these fields. `issuer` is exactly `TOKEN_ISSUER`, the tokens'
// `iss`; each endpoint is the issuer with the route's path appended. The doc comments are
// the schema's descriptions; `//` comments are for readers of the code only.
/// The RFC 8414 metadata, as the OpenAPI document describes it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServerMetadata {
    /// Exactly `TOKEN_ISSUER`, and exactly the tokens' `iss`.
    #[schema(example = "https://auth.example.com")]
    pub issuer: String,
    /// Once a client is registered: the login page.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = String)]
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub revocation_endpoint: String,
    /// When introspection is on (`INTROSPECTION_CLIENTS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = String)]
    pub introspection_endpoint: Option<String>,
    pub grant_types_supported: Vec<&'static str>,
    pub scopes_supported: Vec<String>,
    // Without registered clients, no authorization endpoint: no response types.
    pub response_types_supported: Vec<&'static str>,
    // The password grant does not authenticate clients (`client_id` and `client_secret` are
    // accepted and ignored, as in the tutorial); the code grant does.
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    // `none` for the tutorial's sessions; a client's session is revoked by that client,
    // authenticated as at the token endpoint (RFC 7009 §2.1).
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = Vec<String>)]
    pub introspection_endpoint_auth_methods_supported: Option<[&'static str; 1]>,
    // RFC 7636 §6.2: `S256` only (ASVS V10.4.6).
    /// Once a client is registered: `["S256"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = Vec<String>)]
    pub code_challenge_methods_supported: Option<[&'static str; 1]>,
    /// Once a client is registered: `true` (RFC 9207).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = bool)]
    pub authorization_response_iss_parameter_supported: Option<bool>,
    // OpenID Connect Discovery 1.0 §3, once a client is registered with OpenID Connect on.
    // Not in the OpenAPI schema, which documents the document without sign-in.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub userinfo_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub end_session_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub response_modes_supported: Option<[&'static str; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub subject_types_supported: Option<[&'static str; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub id_token_signing_alg_values_supported: Option<[&'static str; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub claims_supported: Option<&'static [&'static str]>,
    // The identity scopes, listed once a client is registered; empty: OpenID Connect is off.
    #[serde(skip)]
    #[schema(ignore)]
    identity_scopes: Vec<String>,
}

/// Every claim an id_token or `/userinfo` may carry (Discovery §3 `claims_supported`).
pub const CLAIMS_SUPPORTED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "at_hash",
    "amr",
    "sid",
    "name",
    "preferred_username",
    "email",
    "email_verified",
];

impl ServerMetadata {
    /// The document for `issuer` (already checked by [`issuer_url`]); `introspection`:
    /// whether `/introspect` is served.
    pub fn new(issuer: &str, introspection: bool) -> Self {
        let endpoint = |path: &str| format!("{}{path}", issuer.trim_end_matches('/'));
        Self {
            issuer: issuer.to_owned(),
            token_endpoint: endpoint("/token"),
            jwks_uri: endpoint("/.well-known/jwks.json"),
            revocation_endpoint: endpoint("/revoke"),
            introspection_endpoint: introspection.then(|| endpoint("/introspect")),
            authorization_endpoint: None,
            grant_types_supported: vec!["password", "refresh_token"],
            scopes_supported: ScopeCatalog::default()
                .iter()
                .map(|(scope, _)| scope.to_string())
                .collect(),
            response_types_supported: Vec::new(),
            token_endpoint_auth_methods_supported: vec!["none"],
            revocation_endpoint_auth_methods_supported: vec!["none"],
            introspection_endpoint_auth_methods_supported: introspection
                .then_some(["client_secret_basic"]),
            code_challenge_methods_supported: None,
            authorization_response_iss_parameter_supported: None,
            userinfo_endpoint: None,
            end_session_endpoint: None,
            response_modes_supported: None,
            subject_types_supported: None,
            id_token_signing_alg_values_supported: None,
            claims_supported: None,
            identity_scopes: Vec::new(),
        }
    }

    /// Whether OpenID Connect is on: the identity scopes are offered.
    pub fn openid(&self) -> bool {
        !self.identity_scopes.is_empty()
    }

    /// The document once a client is registered: the authorization endpoint, the code
    /// grant, S256 PKCE, client authentication at the token endpoint, `iss` in responses;
    /// with OpenID Connect on, its discovery fields too (the RFC 8414 document and
    /// `openid-configuration` are one document).
    pub fn with_code_flow(&self) -> Self {
        let base = self.issuer.trim_end_matches('/');
        let endpoint = format!("{base}/authorize");
        let openid = self.openid();
        let mut scopes_supported = self.scopes_supported.clone();
        scopes_supported.extend(self.identity_scopes.iter().cloned());
        Self {
            scopes_supported,
            userinfo_endpoint: openid.then(|| format!("{base}/userinfo")),
            end_session_endpoint: openid.then(|| format!("{base}/end-session")),
            response_modes_supported: openid.then_some(["query"]),
            subject_types_supported: openid.then_some(["public"]),
            id_token_signing_alg_values_supported: openid.then_some(["RS256"]),
            claims_supported: openid.then_some(CLAIMS_SUPPORTED),
            authorization_endpoint: Some(endpoint),
            grant_types_supported: vec!["authorization_code", "password", "refresh_token"],
            response_types_supported: vec!["code"],
            token_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            revocation_endpoint_auth_methods_supported: vec![
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            code_challenge_methods_supported: Some(["S256"]),
            authorization_response_iss_parameter_supported: Some(true),
            ..self.clone()
        }
    }

    /// The same document listing the scopes `offered` (the tutorial's and `OFFERED_SCOPES`;
    /// the identity scopes once a client is registered).
    pub fn offering(self, offered: &ScopeCatalog) -> Self {
        Self {
            scopes_supported: offered.iter().map(|(scope, _)| scope.to_string()).collect(),
            ..self.identifying(offered)
        }
    }

    /// The same document with the identity scopes `offered` (none: OpenID Connect off).
    pub fn identifying(self, offered: &ScopeCatalog) -> Self {
        Self {
            identity_scopes: offered
                .identity()
                .map(|(scope, _)| scope.to_string())
                .collect(),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_must_be_http_urls_without_query_or_fragment() {
        assert!(issuer_url("https://auth.example.com").is_ok());
        assert!(issuer_url("http://127.0.0.1:8000/tenant/").is_ok());
        assert_eq!(issuer_url("passflow"), Err(NotAnIssuerUrl::NotAbsolute));
        assert_eq!(issuer_url("urn:passflow"), Err(NotAnIssuerUrl::Scheme));
        assert_eq!(issuer_url("ftp://example.com"), Err(NotAnIssuerUrl::Scheme));
        assert_eq!(
            issuer_url("https://example.com/?tenant=1"),
            Err(NotAnIssuerUrl::QueryOrFragment)
        );
        assert_eq!(
            issuer_url("https://example.com/#top"),
            Err(NotAnIssuerUrl::QueryOrFragment)
        );
    }

    #[test]
    fn endpoints_append_to_the_issuer_without_a_doubled_slash() {
        for issuer in [
            "https://auth.example.com/t1",
            "https://auth.example.com/t1/",
        ] {
            let metadata = ServerMetadata::new(issuer, true);
            assert_eq!(metadata.issuer, issuer);
            assert_eq!(metadata.token_endpoint, "https://auth.example.com/t1/token");
            assert_eq!(
                metadata.introspection_endpoint.as_deref(),
                Some("https://auth.example.com/t1/introspect")
            );
        }
    }
}
