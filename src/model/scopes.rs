//! OAuth2 scopes: the permissions a token can carry, the ones each route demands, and the
//! ones a deployment offers.
//!
//! A scope is a name (RFC 6749 §3.3), so the set is open: a deployment offers the tutorial's
//! `me` and `items` and whatever its `SCOPES` setting adds ([`ScopeCatalog`]), each with its
//! description. Whether a name is offered is the catalogue's to say, where a client asks for
//! scopes (a login, a refresh, the `users` commands, a users file); names already recorded (a
//! stored user, a token's claim) are read as they are.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// One scope: its name, as the `scope` parameter and claim carry it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Scope(Cow<'static, str>);

impl Scope {
    /// The current user's own profile (the tutorial's `me`).
    pub const ME: Scope = Scope(Cow::Borrowed("me"));
    /// The current user's items (the tutorial's `items`).
    pub const ITEMS: Scope = Scope(Cow::Borrowed("items"));
    /// The tutorial's scopes, in its order: offered by every deployment.
    pub const TUTORIAL: [Scope; 2] = [Scope::ME, Scope::ITEMS];
    /// OpenID Connect: the client signs the user in (an id_token, `/userinfo`).
    pub const OPENID: Scope = Scope(Cow::Borrowed("openid"));
    /// OpenID Connect Core §5.4: the user's name and username at `/userinfo`.
    pub const PROFILE: Scope = Scope(Cow::Borrowed("profile"));
    /// OpenID Connect Core §5.4: the user's email address at `/userinfo`.
    pub const EMAIL: Scope = Scope(Cow::Borrowed("email"));
    /// OpenID Connect Core §11: a refresh token, for use while the user is away.
    pub const OFFLINE_ACCESS: Scope = Scope(Cow::Borrowed("offline_access"));
    /// OpenID Connect's scopes: who the user is, not what they may do. Any active user may
    /// grant them to a client; none is a permission of the API.
    pub const IDENTITY: [Scope; 4] = [
        Scope::OPENID,
        Scope::PROFILE,
        Scope::EMAIL,
        Scope::OFFLINE_ACCESS,
    ];

    /// A scope of this name, if it is a scope-token (RFC 6749 §3.3: printable ASCII without
    /// space, `"` or `\`). The tutorial's names come back without a copy.
    pub fn new(name: &str) -> Result<Self, UnknownScope> {
        if let Some(known) = Scope::TUTORIAL.iter().find(|scope| scope.as_str() == name) {
            return Ok(known.clone());
        }
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
        if valid {
            Ok(Scope(Cow::Owned(name.to_owned())))
        } else {
            Err(UnknownScope(name.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Where the scope stands in a `scope` string: the tutorial's first, in its order
    /// (`"me items"`, as FastAPI clients read it), then the others by name.
    fn rank(&self) -> usize {
        Scope::TUTORIAL
            .iter()
            .position(|scope| scope.0 == self.0)
            .unwrap_or(Scope::TUTORIAL.len())
    }
}

impl Ord for Scope {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank()
            .cmp(&other.rank())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for Scope {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a scope: not offered here, or not a scope-token at all. A protocol
/// answer repeats the name only where RFC 6749 allows it ([`crate::model::description`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scope: {0}")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::new(s)
    }
}

impl TryFrom<String> for Scope {
    type Error = UnknownScope;

    fn try_from(name: String) -> Result<Self, Self::Error> {
        Scope::new(&name)
    }
}

impl From<Scope> for String {
    fn from(scope: Scope) -> Self {
        scope.0.into_owned()
    }
}

/// A set of scopes. It owns the wire format, RFC 6749 §3.3's space-separated `scope`
/// string (`"me items"`: see [`Scope`]'s order), both ways.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeSet(BTreeSet<Scope>);

impl ScopeSet {
    /// `me` and `items`: what a user may have when nothing else is said (the demo users, a
    /// users file without `scopes`, `passflow users add`).
    pub fn tutorial() -> Self {
        Self::from(Scope::TUTORIAL)
    }

    pub fn contains(&self, scope: &Scope) -> bool {
        self.0.contains(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Scope> + '_ {
        self.0.iter()
    }

    /// The scopes of this set that `other` holds too.
    pub fn intersection(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.intersection(&other.0).cloned().collect())
    }

    /// The scopes of either set.
    pub fn union(&self, other: &ScopeSet) -> ScopeSet {
        Self(self.0.union(&other.0).cloned().collect())
    }

    /// Whether every scope of `other` is in this set.
    pub fn includes(&self, other: &ScopeSet) -> bool {
        other.0.is_subset(&self.0)
    }

    /// Reads a `scope` string as it was recorded (a stored user's or session's): every name
    /// must be a scope-token; whether it is offered was checked when it was written.
    pub fn read(scope: &str) -> Result<Self, UnknownScope> {
        scope.split_whitespace().map(Scope::new).collect()
    }

    /// Reads the `scope` claim of a token that passed signature checks, keeping every
    /// well-formed name: a name the user is not allowed grants nothing anyway, since the
    /// user's allowed scopes are the other half of every check.
    pub fn from_claim(scope: &str) -> Self {
        scope
            .split_whitespace()
            .filter_map(|name| Scope::new(name).ok())
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
        scopes.iter().cloned().collect()
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

/// The scopes a deployment offers, each with the description Swagger UI's Authorize dialog
/// and a consent page show: the tutorial's two, then those of the `SCOPES` setting. With
/// sign-in, also OpenID Connect's identity scopes, kept apart: authorization requests may
/// ask for them, but they are no permission of the API (not in the Authorize dialog, not
/// for the password grant, never a user's to be allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeCatalog {
    offered: Vec<(Scope, Cow<'static, str>)>,
    identity: Vec<(Scope, Cow<'static, str>)>,
}

/// What a consent page says of each identity scope unless `OFFERED_SCOPES` says otherwise.
const IDENTITY_DESCRIPTIONS: [&str; 4] = [
    "Sign you in with your account.",
    "See your name and username.",
    "See your email address.",
    "Keep access while you are away.",
];

impl Default for ScopeCatalog {
    fn default() -> Self {
        Self {
            offered: vec![
                (
                    Scope::ME,
                    Cow::Borrowed("Read information about the current user."),
                ),
                (Scope::ITEMS, Cow::Borrowed("Read items.")),
            ],
            identity: Vec::new(),
        }
    }
}

/// Why a catalogue of scopes cannot be built; the start is refused, naming the setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("{0:?} is not a scope name (RFC 6749 §3.3: printable ASCII, no space, `\"` or `\\`)")]
    Name(String),
    #[error("{0:?} is listed twice")]
    Duplicate(String),
    #[error("{0:?} has no description")]
    NoDescription(String),
}

impl ScopeCatalog {
    /// The tutorial's scopes and `extra`, each a name and its description.
    pub fn with<'a>(
        extra: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, CatalogError> {
        let mut catalog = Self::default();
        for (name, description) in extra {
            let scope = Scope::new(name).map_err(|_| CatalogError::Name(name.to_owned()))?;
            if catalog.offers(&scope) {
                return Err(CatalogError::Duplicate(name.to_owned()));
            }
            if description.trim().is_empty() {
                return Err(CatalogError::NoDescription(name.to_owned()));
            }
            let description = Cow::Owned(description.trim().to_owned());
            catalog.offered.push((scope, description));
        }
        Ok(catalog)
    }

    /// The catalogue with OpenID Connect's identity scopes, for a deployment with sign-in:
    /// each with the description `OFFERED_SCOPES` gave it, if it named it, else its own.
    pub fn with_identity(mut self) -> Self {
        self.identity = Scope::IDENTITY
            .into_iter()
            .zip(IDENTITY_DESCRIPTIONS)
            .map(|(scope, default)| {
                let named = self
                    .offered
                    .iter()
                    .position(|(offered, _)| *offered == scope);
                let description = match named {
                    Some(index) => self.offered.remove(index).1,
                    None => Cow::Borrowed(default),
                };
                (scope, description)
            })
            .collect();
        self
    }

    /// Whether the API offers `scope` (identity scopes are not the API's).
    pub fn offers(&self, scope: &Scope) -> bool {
        self.offered.iter().any(|(offered, _)| offered == scope)
    }

    /// Whether `scope` is an identity scope this deployment offers.
    pub fn is_identity(&self, scope: &Scope) -> bool {
        self.identity.iter().any(|(offered, _)| offered == scope)
    }

    /// The identity scopes offered (none without sign-in) and their descriptions.
    pub fn identity(&self) -> impl Iterator<Item = (&Scope, &str)> + '_ {
        self.identity
            .iter()
            .map(|(scope, description)| (scope, description.as_ref()))
    }

    /// Reads an authorization request's `scope`: every name offered, by the API or as an
    /// identity scope.
    pub fn parse_request(&self, scope: &str) -> Result<ScopeSet, UnknownScope> {
        scope
            .split_whitespace()
            .map(|name| {
                Scope::new(name)
                    .ok()
                    .filter(|scope| self.offers(scope) || self.is_identity(scope))
                    .ok_or_else(|| UnknownScope(name.to_owned()))
            })
            .collect()
    }

    /// What a user allowed `allowed` may grant of `asked`: the API scopes they are allowed,
    /// and any identity scope.
    pub fn grantable(&self, asked: &ScopeSet, allowed: &ScopeSet) -> ScopeSet {
        asked
            .iter()
            .filter(|scope| allowed.contains(scope) || self.is_identity(scope))
            .cloned()
            .collect()
    }

    /// Every scope offered and its description, the tutorial's first.
    pub fn iter(&self) -> impl Iterator<Item = (&Scope, &str)> + '_ {
        self.offered
            .iter()
            .map(|(scope, description)| (scope, description.as_ref()))
    }

    /// What a user is told a scope allows (the consent page); `None` if it is not offered.
    pub fn description(&self, scope: &Scope) -> Option<&str> {
        self.iter()
            .chain(self.identity())
            .find(|(offered, _)| *offered == scope)
            .map(|(_, description)| description)
    }

    /// Reads a `scope` string a client sent: every name must be offered here.
    pub fn parse(&self, scope: &str) -> Result<ScopeSet, UnknownScope> {
        scope
            .split_whitespace()
            .map(|name| {
                Scope::new(name)
                    .ok()
                    .filter(|scope| self.offers(scope))
                    .ok_or_else(|| UnknownScope(name.to_owned()))
            })
            .collect()
    }

    /// The scopes of `scopes` offered here: what a user may still be granted once a scope
    /// is withdrawn from `OFFERED_SCOPES`.
    pub fn restrict(&self, scopes: &ScopeSet) -> ScopeSet {
        scopes
            .iter()
            .filter(|scope| self.offers(scope))
            .cloned()
            .collect()
    }

    /// The first scope of `scopes` not offered here.
    pub fn first_unknown<'a>(&self, scopes: &'a ScopeSet) -> Option<&'a Scope> {
        scopes.iter().find(|scope| !self.offers(scope))
    }
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
    const SCOPES: &'static [Scope] = &[Scope::ME];
}

/// Scopes `me` and `items`: the current user's items (`GET /users/me/items/`).
pub struct ItemsScope;
impl RequiredScopes for ItemsScope {
    const SCOPES: &'static [Scope] = &[Scope::ME, Scope::ITEMS];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offered_scopes_and_names_unknown_ones() {
        let catalog = ScopeCatalog::default();
        assert_eq!("me".parse::<Scope>(), Ok(Scope::ME));
        assert_eq!("items".parse::<Scope>(), Ok(Scope::ITEMS));
        assert_eq!(catalog.parse("ME"), Err(UnknownScope("ME".into())));
        assert_eq!("a b".parse::<Scope>(), Err(UnknownScope("a b".into())));
        assert_eq!("".parse::<Scope>(), Err(UnknownScope("".into())));
    }

    #[test]
    fn the_wire_format_follows_declaration_order_without_repeats() {
        let catalog = ScopeCatalog::default();
        let set = ScopeSet::from([Scope::ITEMS, Scope::ME, Scope::ITEMS]);
        assert_eq!(set.to_string(), "me items");
        assert_eq!(ScopeSet::default().to_string(), "");
        assert_eq!(catalog.parse("  items me "), Ok(set.clone()));
        assert_eq!(catalog.parse("me admin"), Err(UnknownScope("admin".into())));
        assert!(set.includes(&ScopeSet::from([Scope::ME])));
        assert!(!ScopeSet::from([Scope::ME]).includes(&set));
    }

    #[test]
    fn a_catalog_offers_more_scopes_after_the_tutorials() {
        let catalog =
            ScopeCatalog::with([("openid", "Sign you in"), ("email", "Read your email")]).unwrap();
        let set = catalog.parse("openid items email me").unwrap();
        // The tutorial's first, in its order, then the others by name.
        assert_eq!(set.to_string(), "me items email openid");
        let names: Vec<&str> = catalog.iter().map(|(scope, _)| scope.as_str()).collect();
        assert_eq!(names, ["me", "items", "openid", "email"]);
        assert_eq!(
            ScopeCatalog::with([("me", "again")]),
            Err(CatalogError::Duplicate("me".into()))
        );
        assert_eq!(
            ScopeCatalog::with([("a\"b", "x")]),
            Err(CatalogError::Name("a\"b".into()))
        );
        assert_eq!(
            ScopeCatalog::with([("ok", " ")]),
            Err(CatalogError::NoDescription("ok".into()))
        );
    }

    #[test]
    fn a_claim_keeps_every_well_formed_name() {
        // An unknown name grants nothing: the user's allowed scopes are the other half of
        // every check (`Claims::grants`).
        assert_eq!(
            ScopeSet::from_claim("admin me"),
            ScopeSet::from([Scope::ME, Scope::new("admin").unwrap()])
        );
    }

    #[test]
    fn a_users_file_lists_scopes_by_name() {
        let set: ScopeSet = serde_json::from_str(r#"["items", "me"]"#).unwrap();
        assert_eq!(set, ScopeSet::tutorial());
        assert_eq!(serde_json::to_string(&set).unwrap(), r#"["me","items"]"#);
        assert!(serde_json::from_str::<ScopeSet>(r#"["a b"]"#).is_err());
    }
}
