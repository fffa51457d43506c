//! The pages' HTML, from the templates beside this file, through minijinja: every value is
//! escaped for HTML on the way in (ASVS V1.2.1), so a client name or a `state` cannot
//! become markup. The security headers every page carries are here too.

use std::sync::LazyLock;

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use minijinja::Environment;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

/// The one stylesheet, inline: allowed by its hash, so the policy needs no `'unsafe-inline'`.
const STYLE: &str = include_str!("style.css");

static TEMPLATES: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in [
        ("base.html", include_str!("templates/base.html")),
        ("hidden.html", include_str!("templates/hidden.html")),
        ("login.html", include_str!("templates/login.html")),
        ("totp.html", include_str!("templates/totp.html")),
        ("consent.html", include_str!("templates/consent.html")),
        ("sign_out.html", include_str!("templates/sign_out.html")),
        ("signed_out.html", include_str!("templates/signed_out.html")),
        (
            "stayed_signed_in.html",
            include_str!("templates/stayed_signed_in.html"),
        ),
        ("error.html", include_str!("templates/error.html")),
    ] {
        env.add_template(name, source)
            .expect("the templates are checked by the tests");
    }
    env.add_global("style", STYLE);
    env
});

/// `Content-Security-Policy` of every page: nothing but the inline style; no scripts, no
/// frames around it (clickjacking, ASVS V3.4.6), no `<base>`. No `form-action`: browsers
/// apply it to the redirect back to the client after a form is posted.
static CONTENT_SECURITY_POLICY: LazyLock<HeaderValue> = LazyLock::new(|| {
    let hash = STANDARD.encode(Sha256::digest(STYLE.as_bytes()));
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{hash}'; frame-ancestors 'none'; \
         base-uri 'none'"
    );
    HeaderValue::from_str(&policy).expect("a hash is a valid header value")
});

/// The headers on every answer of the pages, redirects included: never cached (they carry
/// codes and CSRF tokens), never framed, never leaking the URL (with `state` and codes) to
/// another site as a referrer.
pub(super) fn security_headers() -> [(HeaderName, HeaderValue); 4] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY.clone(),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// A request's parameter, carried through a form as a hidden field (the templates' `hidden`),
/// so the step that posts it continues the same request.
#[derive(Serialize)]
pub(super) struct Hidden<'a> {
    name: &'a str,
    value: &'a str,
}

impl<'a> Hidden<'a> {
    pub(super) fn fields(pairs: Vec<(&'a str, &'a str)>) -> Vec<Self> {
        pairs
            .into_iter()
            .map(|(name, value)| Hidden { name, value })
            .collect()
    }
}

/// A rendered page and its status; `Retry-After` when it asks the user to wait.
#[derive(Debug)]
pub(super) struct Page {
    pub(super) status: StatusCode,
    pub(super) html: String,
    pub(super) retry_after: Option<u64>,
}

impl Page {
    pub(super) fn render(status: StatusCode, template: &str, context: impl Serialize) -> Self {
        let html = TEMPLATES
            .get_template(template)
            .and_then(|template| template.render(context))
            .expect("the templates are checked by the tests");
        Self {
            status,
            html,
            retry_after: None,
        }
    }

    pub(super) fn retry_after(self, seconds: u64) -> Self {
        Self {
            retry_after: Some(seconds),
            ..self
        }
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, Html(self.html)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
