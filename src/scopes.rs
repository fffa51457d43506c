//! OAuth2 scopes: the permissions a token can carry and the ones each route demands.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Every scope passflow knows. The OpenAPI security scheme lists these, so Swagger UI's
/// Authorize dialog offers them as checkboxes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Me,
    Items,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::Me, Scope::Items];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Me => "me",
            Scope::Items => "items",
        }
    }

    pub const fn description(self) -> &'static str {
        match self {
            Scope::Me => "Read information about the current user.",
            Scope::Items => "Read items.",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope: {0}")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// A set of scopes, written on the wire as RFC 6749's space-separated `scope` string.
pub type ScopeSet = BTreeSet<Scope>;

/// Formats a scope set the way the `scope` claim and response field carry it: `"me items"`.
pub fn scope_string<'a>(scopes: impl IntoIterator<Item = &'a Scope>) -> String {
    scopes
        .into_iter()
        .map(|scope| scope.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The scopes a route demands, declared once as a marker type in the handler's signature
/// (`ActiveUser<ReadItems>`). The extractor enforces it and the OpenAPI operation's
/// security requirement is generated from it, so the two cannot drift apart.
pub trait RequiredScopes: Send + Sync + 'static {
    const SCOPES: &'static [Scope];
}

/// Any valid token will do.
pub struct AnyScope;
impl RequiredScopes for AnyScope {
    const SCOPES: &'static [Scope] = &[];
}

/// `GET /users/me/`.
pub struct ReadMe;
impl RequiredScopes for ReadMe {
    const SCOPES: &'static [Scope] = &[Scope::Me];
}

/// `GET /users/me/items/`.
pub struct ReadItems;
impl RequiredScopes for ReadItems {
    const SCOPES: &'static [Scope] = &[Scope::Me, Scope::Items];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_known_scopes_and_names_unknown_ones() {
        assert_eq!("me".parse::<Scope>(), Ok(Scope::Me));
        assert_eq!("items".parse::<Scope>(), Ok(Scope::Items));
        assert_eq!("ME".parse::<Scope>(), Err(UnknownScope("ME".into())));
    }

    #[test]
    fn scope_string_follows_declaration_order() {
        let set: ScopeSet = [Scope::Items, Scope::Me].into();
        assert_eq!(scope_string(&set), "me items");
        assert_eq!(scope_string(&ScopeSet::new()), "");
    }
}
