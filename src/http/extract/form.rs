//! The `/token` body, urlencoded or multipart: FastAPI's `OAuth2PasswordRequestForm`, or a
//! refresh-token grant.

use std::collections::HashMap;
use std::fmt;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{HeaderMap, StatusCode};
use axum_extra::headers::{ContentType, HeaderMapExt};
use mime::Mime;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AllOfBuilder, AnyOfBuilder, ObjectBuilder, Schema, Type};

use crate::http::error::{ApiError, OAuthError, ValidationIssue};
use crate::model::description::naming;

/// The `/token` body: FastAPI's password grant, or the refresh-token grant (RFC 6749 §6)
/// when `grant_type` is `refresh_token`.
#[derive(Debug)]
pub enum TokenRequest {
    Password(OAuth2PasswordRequestForm),
    RefreshToken(RefreshTokenForm),
    /// `grant_type=authorization_code`: the form's fields as sent, since where no client is
    /// registered the request is answered exactly as before the grant existed (the password
    /// form's 422).
    AuthorizationCode(GrantFields),
    /// Any other `grant_type`: the fields as sent. A registered client's request is
    /// `unsupported_grant_type` (RFC 6749 §5.2); anyone else's the password form's 422, as
    /// FastAPI answers it.
    Other(GrantFields),
}

/// The fields of a client's grant request, as sent. `Debug` names them, never their values.
pub struct GrantFields(Fields);

impl fmt::Debug for GrantFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.values.keys()).finish()
    }
}

/// The authorization-code grant's request (RFC 6749 §4.1.3, RFC 7636 §4.5). Empty values
/// count as absent.
pub struct CodeForm {
    pub code: String,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl GrantFields {
    /// The client credentials of the form: `client_id` and `client_secret`, empty as absent.
    pub fn client(&self) -> (Option<&str>, Option<&str>) {
        let field = |name| self.0.get(name).filter(|value| !value.is_empty());
        (field("client_id"), field("client_secret"))
    }

    /// The `grant_type` sent.
    pub fn grant_type(&self) -> Option<&str> {
        self.0.get("grant_type")
    }

    /// The answer where the grant is off: the password form's 422, whose first issue is the
    /// `grant_type` that is not `password`.
    pub fn password_form_refusal(self) -> ApiError {
        OAuth2PasswordRequestForm::from_fields(self.0)
            .err()
            .unwrap_or_else(missing_credentials)
    }

    /// The code grant's fields; `invalid_request` without a `code`, or with a field repeated.
    pub fn into_form(mut self) -> Result<CodeForm, ApiError> {
        self.0
            .refuse_repeats()
            .map_err(|description| ApiError::Protocol {
                error: OAuthError::InvalidRequest,
                description,
            })?;
        let mut take = |name: &str| self.0.remove(name).filter(|value| !value.is_empty());
        let code = take("code");
        let form = CodeForm {
            redirect_uri: take("redirect_uri"),
            code_verifier: take("code_verifier"),
            client_id: take("client_id"),
            client_secret: take("client_secret"),
            code: String::new(),
        };
        match code {
            Some(code) => Ok(CodeForm { code, ..form }),
            None => Err(ApiError::Protocol {
                error: OAuthError::InvalidRequest,
                description: "Missing code".into(),
            }),
        }
    }
}

/// The `/token` form as the OpenAPI document describes it: both grants' fields, and which
/// of them each grant requires. OpenAPI 3.1 schemas are JSON Schema 2020-12, so the rule the
/// server enforces is stated as an `anyOf` of the two grants beside the fields (`allOf`):
/// Swagger UI still renders one form from the fields, and generators and validators learn
/// that a login without `username` and `password` is not one.
pub(crate) struct TokenRequestForm;

impl utoipa::ToSchema for TokenRequestForm {}

impl utoipa::PartialSchema for TokenRequestForm {
    fn schema() -> RefOr<Schema> {
        let password_grant = ObjectBuilder::new()
            .description(Some("The password grant (RFC 6749 §4.3.2)"))
            .property("grant_type", string().enum_values(Some(["password", ""])))
            // Empty counts as missing, as in FastAPI.
            .property("username", string().min_length(Some(1)))
            .property("password", string().min_length(Some(1)))
            .required("username")
            .required("password");
        let refresh_grant = ObjectBuilder::new()
            .description(Some("The refresh-token grant (RFC 6749 §6)"))
            .property("grant_type", string().enum_values(Some(["refresh_token"])))
            .property("refresh_token", string().min_length(Some(1)))
            .required("grant_type")
            .required("refresh_token");
        AllOfBuilder::new()
            .description(Some(
                "The `/token` form: the password grant, or the refresh-token grant when \
                 `grant_type` is `refresh_token`.",
            ))
            .item(TokenFormFields::schema())
            .item(AnyOfBuilder::new().item(password_grant).item(refresh_grant))
            .into()
    }
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// Every field either grant reads, with its description and example.
#[derive(ToSchema)]
#[allow(dead_code)] // only its schema is used
struct TokenFormFields {
    /// `password` (or absent, or empty, as FastAPI reads it) for the password grant;
    /// `refresh_token` for the refresh grant.
    // The example is what Try it out fills in: without one, Swagger UI fills in a random
    // string matching the pattern, sometimes `refresh_token`.
    #[schema(
        pattern = "^(password|refresh_token)?$",
        example = "password",
        nullable = false
    )]
    grant_type: Option<String>,
    /// Password grant: required.
    #[schema(example = "johndoe", nullable = false)]
    username: Option<String>,
    /// Password grant: required.
    #[schema(format = Password, example = "secret", nullable = false)]
    password: Option<String>,
    /// Refresh grant: required; the `refresh_token` of an earlier token response.
    #[schema(format = Password, nullable = false)]
    refresh_token: Option<String>,
    /// Space-separated scopes to request. Password grant: empty asks for all the user may
    /// have. Refresh grant: any subset of the session's; empty keeps them all.
    #[schema(default = "", required = false)]
    scope: String,
    #[schema(nullable = false)]
    client_id: Option<String>,
    #[schema(format = Password, nullable = false)]
    client_secret: Option<String>,
    /// Password grant, for users with TOTP on: the authenticator's current 6-digit code, or
    /// one of the recovery codes. Ignored for other users and by the refresh grant.
    #[schema(format = Password, example = "123456", nullable = false)]
    totp: Option<String>,
}

/// The OAuth2 password grant request (RFC 6749 §4.3.2), with FastAPI's validation rules:
/// `username` and `password` required (an empty value counts as missing), `grant_type`
/// optional but `password` when given, everything else optional.
pub struct OAuth2PasswordRequestForm {
    pub grant_type: Option<String>,
    pub username: String,
    pub password: String,
    pub scope: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// The second factor's code, when the user has TOTP on.
    pub totp: Option<String>,
}

/// The refresh-token grant request (RFC 6749 §6). Its `Debug` hides the token.
pub struct RefreshTokenForm {
    pub refresh_token: String,
    pub scope: String,
    /// A registered client's id (and secret, `client_secret_post`): checked only when the
    /// session belongs to a client.
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl fmt::Debug for RefreshTokenForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RefreshTokenForm")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

// Never print the password, client secret or TOTP code, whatever logs this.
impl fmt::Debug for OAuth2PasswordRequestForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2PasswordRequestForm")
            .field("grant_type", &self.grant_type)
            .field("username", &self.username)
            .field("scope", &self.scope)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl<S: Send + Sync> FromRequest<S> for TokenRequest {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let mut fields = form_fields(req, state).await?;
        match fields.get("grant_type") {
            Some("refresh_token") => {}
            Some("authorization_code") => {
                return Ok(TokenRequest::AuthorizationCode(GrantFields(fields)));
            }
            None | Some("password") => {
                return OAuth2PasswordRequestForm::from_fields(fields).map(TokenRequest::Password);
            }
            Some(_) => return Ok(TokenRequest::Other(GrantFields(fields))),
        }
        fields.refuse_repeats().map_err(|detail| ApiError::OAuth {
            error: OAuthError::InvalidRequest,
            detail,
        })?;
        let scope = fields.remove("scope").unwrap_or_default();
        let mut take = |name: &str| fields.remove(name).filter(|value| !value.is_empty());
        let client_id = take("client_id");
        let client_secret = take("client_secret");
        match take("refresh_token") {
            Some(refresh_token) => Ok(TokenRequest::RefreshToken(RefreshTokenForm {
                refresh_token,
                scope,
                client_id,
                client_secret,
            })),
            None => Err(ApiError::missing_field("refresh_token")),
        }
    }
}

/// A form body's fields, urlencoded or multipart. Like Starlette, a body of any other type
/// (JSON, none) is read as an empty form, so the client learns which fields are missing
/// instead of getting a 415.
pub(crate) async fn form_fields<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<Fields, ApiError> {
    match form_type(req.headers()) {
        Some(FormType::UrlEncoded) => urlencoded_fields(req, state).await,
        Some(FormType::Multipart) => multipart_fields(req, state).await,
        None => Ok(Fields::default()),
    }
}

/// Field name → value. A repeated field keeps its last value, as Starlette's form does (the
/// tutorial's password grant reads it so), and the first name sent twice is remembered: a
/// client's grant refuses it (RFC 6749 §3.2).
#[derive(Default)]
pub(crate) struct Fields {
    values: HashMap<String, String>,
    repeated: Option<String>,
}

impl Fields {
    fn insert(&mut self, name: String, value: String) {
        if self.repeated.is_none() && self.values.contains_key(&name) {
            self.repeated = Some(name.clone());
        }
        self.values.insert(name, value);
    }

    pub(crate) fn remove(&mut self, name: &str) -> Option<String> {
        self.values.remove(name)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    /// The first field sent more than once, if any.
    fn repeated(&self) -> Option<&str> {
        self.repeated.as_deref()
    }

    /// `invalid_request` for a repeated field, naming it where RFC 6749 allows.
    fn refuse_repeats(&self) -> Result<(), String> {
        match self.repeated() {
            Some(name) => Err(naming("A parameter is repeated", name)),
            None => Ok(()),
        }
    }
}

impl FromIterator<(String, String)> for Fields {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        let mut fields = Fields::default();
        for (name, value) in pairs {
            fields.insert(name, value);
        }
        fields
    }
}

enum FormType {
    UrlEncoded,
    Multipart,
}

fn form_type(headers: &HeaderMap) -> Option<FormType> {
    let mime = Mime::from(headers.typed_get::<ContentType>()?);
    match mime.essence_str() {
        e if e == mime::APPLICATION_WWW_FORM_URLENCODED.essence_str() => Some(FormType::UrlEncoded),
        e if e == mime::MULTIPART_FORM_DATA.essence_str() => Some(FormType::Multipart),
        _ => None,
    }
}

async fn urlencoded_fields<S: Send + Sync>(req: Request, state: &S) -> Result<Fields, ApiError> {
    let body = Bytes::from_request(req, state)
        .await
        .map_err(|rejection| body_error(rejection.status()))?;
    Ok(form_urlencoded::parse(&body).into_owned().collect())
}

async fn multipart_fields<S: Send + Sync>(req: Request, state: &S) -> Result<Fields, ApiError> {
    // A multipart body that cannot be parsed (no boundary, truncated, malformed) is treated
    // like a body that is not a form at all: its fields are missing.
    let Ok(mut multipart) = Multipart::from_request(req, state).await else {
        return Ok(Fields::default());
    };
    let mut fields = Fields::default();
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => {
                let Some(name) = field.name().map(str::to_owned) else {
                    continue;
                };
                match field.text().await {
                    Ok(value) => fields.insert(name, value),
                    Err(err) => return broken_multipart(err.status()),
                };
            }
            Ok(None) => return Ok(fields),
            Err(err) => return broken_multipart(err.status()),
        }
    }
}

fn broken_multipart(status: StatusCode) -> Result<Fields, ApiError> {
    match body_error(status) {
        ApiError::PayloadTooLarge => Err(ApiError::PayloadTooLarge),
        _ => Ok(Fields::default()),
    }
}

/// Reading the body failed: too large is its own answer, anything else is an unreadable form.
fn body_error(status: StatusCode) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge
    } else {
        missing_credentials()
    }
}

/// A password-grant form with neither `username` nor `password`, as FastAPI answers it.
pub(crate) fn missing_credentials() -> ApiError {
    ApiError::Validation(vec![missing("username"), missing("password")])
}

impl OAuth2PasswordRequestForm {
    fn from_fields(mut fields: Fields) -> Result<Self, ApiError> {
        // FastAPI treats an empty form value as absent.
        let mut take = |name: &str| fields.remove(name).filter(|value| !value.is_empty());
        let grant_type = take("grant_type");
        let username = take("username");
        let password = take("password");
        let scope = take("scope").unwrap_or_default();
        let client_id = take("client_id");
        let client_secret = take("client_secret");
        let totp = take("totp");

        // Reported in FastAPI's field order: grant_type, username, password.
        let mut issues = Vec::new();
        if let Some(value) = grant_type.as_deref().filter(|&v| v != "password") {
            issues.push(ValidationIssue {
                kind: "string_pattern_mismatch",
                loc: loc("grant_type"),
                msg: "String should match pattern '^password$'".into(),
                input: Value::String(value.to_owned()),
                ctx: Some(json!({ "pattern": "^password$" })),
            });
        }
        if username.is_none() {
            issues.push(missing("username"));
        }
        if password.is_none() {
            issues.push(missing("password"));
        }
        match (username, password) {
            (Some(username), Some(password)) if issues.is_empty() => Ok(Self {
                grant_type,
                username,
                password,
                scope,
                client_id,
                client_secret,
                totp,
            }),
            _ => Err(ApiError::Validation(issues)),
        }
    }
}

fn loc(field: &str) -> Vec<String> {
    vec!["body".into(), field.into()]
}

fn missing(field: &str) -> ValidationIssue {
    ValidationIssue {
        kind: "missing",
        loc: loc(field),
        msg: "Field required".into(),
        input: Value::Null,
        ctx: None,
    }
}
