//! The OpenAPI document: generated from the handlers' `utoipa::path` attributes, the
//! schemas' derives, and, for protected routes, from the type of their user extractor.

use utoipa::OpenApi;
use utoipa::openapi::example::ExampleBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{
    Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes, SecurityRequirement,
    SecurityScheme,
};
use utoipa::openapi::{
    Content, ContentBuilder, ObjectBuilder, Ref, RefOr, header::HeaderBuilder, schema::Type,
};
use utoipa_axum::router::UtoipaMethodRouter;

use crate::http::error::{ApiError, ErrorDetail, ValidationErrorBody, ValidationIssue};
use crate::http::extract::{ActiveUser, CurrentUser};
use crate::model::scopes::{RequiredScopes, Scope, ScopeCatalog};
use crate::state::AppState;

/// The document `/openapi.json` serves for `state`'s configuration: every route it serves,
/// and no other.
pub fn document(state: &AppState) -> utoipa::openapi::OpenApi {
    super::api_routes(state).into_openapi()
}

/// The security scheme's name, as FastAPI calls it.
pub(crate) const SECURITY_SCHEME: &str = "OAuth2PasswordBearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "passflow",
        description = "OAuth2 password flow with JWT bearer tokens: FastAPI's security tutorial, \
                       ported to Rust and axum. Click **Authorize**, log in as `johndoe` / \
                       `secret`, then try `GET /users/me/`.",
    ),
    components(schemas(ErrorDetail, ValidationErrorBody, ValidationIssue)),
    tags(
        (name = "auth", description = "Get a token"),
        (name = "users", description = "Routes that need a bearer token"),
        (name = "sessions", description = "See and end sessions"),
        (name = "keys", description = "Public keys and metadata, for services that verify tokens"),
        (name = "operations", description = "Probes for operators"),
    ),
)]
pub(crate) struct ApiDoc;

/// FastAPI's `OAuth2PasswordBearer(tokenUrl="token", refreshUrl="token", scopes=...)`, with
/// the scopes this deployment offers, so Swagger UI's Authorize dialog lists each with its
/// description. The token URL is relative, so the document keeps working behind a proxy that
/// adds a path prefix.
pub(crate) fn add_password_scheme(openapi: &mut utoipa::openapi::OpenApi, offered: &ScopeCatalog) {
    let scopes = Scopes::from_iter(
        offered
            .iter()
            .map(|(scope, description)| (scope.as_str(), description)),
    );
    // `refreshUrl` as FastAPI's `OAuth2PasswordBearer(refreshUrl=...)` writes it: the same
    // endpoint, with `grant_type=refresh_token`.
    let scheme = SecurityScheme::OAuth2(OAuth2::new([Flow::Password(Password::with_refresh_url(
        "token", scopes, "token",
    ))]));
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(SECURITY_SCHEME, scheme);
}

/// `/introspect`'s security scheme: a resource server's `INTROSPECTION_CLIENTS` id and
/// secret (RFC 7662 §2.1).
pub(crate) const RESOURCE_SERVER_SCHEME: &str = "ResourceServer";

/// Adds [`RESOURCE_SERVER_SCHEME`], documented only where `/introspect` is served. Schemes
/// are listed by name, and Swagger UI's Authorize dialog shows them in that order: the name
/// sorts after [`SECURITY_SCHEME`], so the dialog opens on the password flow's form.
pub(crate) fn add_resource_server_scheme(openapi: &mut utoipa::openapi::OpenApi) {
    let basic = HttpBuilder::new()
        .scheme(HttpAuthScheme::Basic)
        .description(Some(
            "For `/introspect` only: a resource server's id and secret from \
             `INTROSPECTION_CLIENTS`",
        ))
        .build();
    let components = openapi.components.get_or_insert_with(Default::default);
    components.add_security_scheme(RESOURCE_SERVER_SCHEME, SecurityScheme::Http(basic));
}

/// A user extractor, as the OpenAPI document sees it: the scopes it demands and whether it
/// refuses disabled users.
pub(crate) trait UserGuard {
    const SCOPES: &'static [Scope];
    const REFUSES_INACTIVE: bool;
}

impl<R: RequiredScopes> UserGuard for CurrentUser<R> {
    const SCOPES: &'static [Scope] = R::SCOPES;
    const REFUSES_INACTIVE: bool = false;
}

impl<R: RequiredScopes> UserGuard for ActiveUser<R> {
    const SCOPES: &'static [Scope] = R::SCOPES;
    const REFUSES_INACTIVE: bool = true;
}

/// A handler that takes the user extractor `G` among its (up to three) arguments, or first of
/// four. `M` records
/// where, and is inferred: only one position can hold a [`UserGuard`].
pub(crate) trait GuardedHandler<G, M> {}

/// Positions of the user extractor among a handler's arguments.
pub(crate) enum First {}
pub(crate) enum Second {}
pub(crate) enum Third {}

impl<F, Fut, G: UserGuard> GuardedHandler<G, (First, ())> for F where F: FnOnce(G) -> Fut {}
impl<F, Fut, G: UserGuard, A> GuardedHandler<G, (First, (A,))> for F where F: FnOnce(G, A) -> Fut {}
impl<F, Fut, G: UserGuard, A> GuardedHandler<G, (Second, (A,))> for F where F: FnOnce(A, G) -> Fut {}
impl<F, Fut, G: UserGuard, A, B> GuardedHandler<G, (First, (A, B))> for F where
    F: FnOnce(G, A, B) -> Fut
{
}
impl<F, Fut, G: UserGuard, A, B> GuardedHandler<G, (Second, (A, B))> for F where
    F: FnOnce(A, G, B) -> Fut
{
}
impl<F, Fut, G: UserGuard, A, B> GuardedHandler<G, (Third, (A, B))> for F where
    F: FnOnce(A, B, G) -> Fut
{
}
impl<F, Fut, G: UserGuard, A, B, C> GuardedHandler<G, (First, (A, B, C))> for F where
    F: FnOnce(G, A, B, C) -> Fut
{
}

/// `routes!` for a protected handler, naming it once: its OpenAPI operation gets the
/// security requirement and failure answers of the user extractor in its signature.
macro_rules! guarded_routes {
    ($handler:ident) => {
        $crate::http::openapi::guarded(::utoipa_axum::routes!($handler), $handler)
    };
}
pub(crate) use guarded_routes;

/// Documents a protected route from its handler's extractor type: the security requirement
/// with the extractor's scopes, and the 401 (and 400 Inactive user) answers it can give.
pub(crate) fn guarded<G: UserGuard, M, H: GuardedHandler<G, M>>(
    (schemas, mut paths, router): UtoipaMethodRouter<AppState>,
    _handler: H,
) -> UtoipaMethodRouter<AppState> {
    for item in paths.paths.values_mut() {
        for operation in operations_mut(item) {
            let scopes = G::SCOPES.iter().map(|scope| scope.as_str());
            operation.security = Some(vec![SecurityRequirement::new(SECURITY_SCHEME, scopes)]);
            let responses = &mut operation.responses.responses;
            responses.insert("401".into(), unauthorized(G::SCOPES).into());
            if G::REFUSES_INACTIVE {
                match responses.get_mut("400") {
                    // The route's own 400s (a wrong password, say) stay beside this one.
                    Some(RefOr::T(own)) => add_error_example(own, &ApiError::InactiveUser),
                    _ => {
                        let inactive = error_response("Inactive user", &[ApiError::InactiveUser]);
                        responses.insert("400".into(), inactive.into());
                    }
                }
            }
            responses.insert("503".into(), unavailable().into());
        }
    }
    (schemas, paths, router)
}

fn operations_mut(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .filter_map(Option::as_mut)
}

/// `ErrorDetail` content whose examples are the bodies of `errors`, named by their detail
/// (one example when there is one error, so Swagger UI shows it without a menu).
fn error_body(errors: &[ApiError]) -> Content {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorDetail")));
    match errors {
        [only] => content.example(Some(only.body())),
        many => content.examples_from_iter(many.iter().map(|error| {
            let example = ExampleBuilder::new().value(Some(error.body()));
            (error.to_string(), example)
        })),
    }
    .build()
}

/// Adds `error` to a documented error response as one more named example.
fn add_error_example(response: &mut Response, error: &ApiError) {
    response.description = format!("{}; or \"{}\"", response.description, error);
    let Some(RefOr::T(content)) = response.content.get_mut("application/json") else {
        return;
    };
    if let Some(lone) = content.example.take() {
        let name = lone["detail"].as_str().unwrap_or("Example").to_owned();
        let lone = ExampleBuilder::new().value(Some(lone)).build();
        content.examples.insert(name, lone.into());
    }
    let example = ExampleBuilder::new().value(Some(error.body())).build();
    content.examples.insert(error.to_string(), example.into());
}

fn error_response(description: &str, errors: &[ApiError]) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", error_body(errors))
        .build()
}

fn retry_after() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::Integer)))
        .description(Some("Seconds to wait"))
        .build()
}

/// A protected route reads the user store (through a 500 ms cache) and the view of ended
/// sessions, either of which can be out of reach.
fn unavailable() -> Response {
    ResponseBuilder::new()
        .description("The user store is out of reach, or the view of ended sessions is stale")
        .content(
            "application/json",
            error_body(&[ApiError::SessionViewStale]),
        )
        .header("Retry-After", retry_after())
        .build()
}

/// The 401 answers of a route demanding `scopes`: "Not enough permissions" only where there
/// are scopes to lack.
fn unauthorized(scopes: &'static [Scope]) -> Response {
    let mut errors = vec![ApiError::NotAuthenticated, ApiError::InvalidToken];
    if !scopes.is_empty() {
        errors.push(ApiError::NotEnoughPermissions { required: scopes });
    }
    let www_authenticate = HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(
            "`Bearer`; `Bearer scope=\"...\"` naming the required scopes when they are missing",
        ))
        .build();
    ResponseBuilder::new()
        .description("Not authenticated, Could not validate credentials, or Not enough permissions")
        .content("application/json", error_body(&errors))
        .header("WWW-Authenticate", www_authenticate)
        .build()
}
