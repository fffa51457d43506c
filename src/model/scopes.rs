//! OAuth2 scopes: the permissions a token can carry and the ones each route demands.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

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

/// A set of scopes. It owns the wire format, RFC 6749 §3.3's space-separated `scope`
/// string (`"me items"`, in declaration order), both ways.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    pub fn all() -> Self {
        Self::from(Scope::ALL.as_slice())
    }

    pub fn contains(&self, scope: Scope) -> bool {
        self.0.contains(&scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }

    /// Whether every scope of `other` is in this set.
    pub fn includes(&self, other: &ScopeSet) -> bool {
        other.0.is_subset(&self.0)
    }

    /// Reads a `scope` string strictly: every name must be a known scope.
    pub fn parse(scope: &str) -> Result<Self, UnknownScope> {
        scope.split_whitespace().map(str::parse).collect()
    }

    /// Reads the `scope` claim of a token that passed signature checks. Names this version
    /// does not know grant nothing, so a token from a newer release is not refused outright.
    pub fn from_claim(scope: &str) -> Self {
        scope
            .split_whitespace()
            .filter_map(|name| name.parse().ok())
            .collect()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, scope) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(scope.as_str())?;
        }
        Ok(())
    }
}

impl FromIterator<Scope> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl From<&[Scope]> for ScopeSet {
    fn from(scopes: &[Scope]) -> Self {
        scopes.iter().copied().collect()
    }
}

impl<const N: usize> From<[Scope; N]> for ScopeSet {
    fn from(scopes: [Scope; N]) -> Self {
        scopes.into_iter().collect()
    }
}

/// Deserializes a space-separated `scope` string (a token claim) with [`ScopeSet::from_claim`].
pub(crate) fn deserialize_claim<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<ScopeSet>, D::Error> {
    let claim = Option::<String>::deserialize(deserializer)?;
    Ok(claim.as_deref().map(ScopeSet::from_claim))
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

/// Scope `me`: the current user's own profile (`GET /users/me/`).
pub struct MeScope;
impl RequiredScopes for MeScope {
    const SCOPES: &'static [Scope] = &[Scope::Me];
}

/// Scopes `me` and `items`: the current user's items (`GET /users/me/items/`).
pub struct ItemsScope;
impl RequiredScopes for ItemsScope {
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
    fn the_wire_format_follows_declaration_order_without_repeats() {
        let set = ScopeSet::from([Scope::Items, Scope::Me, Scope::Items]);
        assert_eq!(set.to_string(), "me items");
        assert_eq!(ScopeSet::default().to_string(), "");
        assert_eq!(ScopeSet::parse("  items me "), Ok(set.clone()));
        assert_eq!(
            ScopeSet::parse("me admin"),
            Err(UnknownScope("admin".into()))
        );
        assert_eq!(
            ScopeSet::from_claim("admin me"),
            ScopeSet::from([Scope::Me])
        );
        assert!(set.includes(&ScopeSet::from([Scope::Me])));
        assert!(!ScopeSet::from([Scope::Me]).includes(&set));
    }

    #[test]
    fn a_users_file_lists_scopes_by_name() {
        let set: ScopeSet = serde_json::from_str(r#"["items", "me"]"#).unwrap();
        assert_eq!(set, ScopeSet::all());
        assert_eq!(serde_json::to_string(&set).unwrap(), r#"["me","items"]"#);
    }
}
