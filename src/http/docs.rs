//! Swagger UI and the OpenAPI document, every asset served from the binary.
//!
//! The page lives at `/docs`, not `/docs/`, as in FastAPI: Swagger UI resolves the relative
//! `tokenUrl: "token"` against the page's address, so only from `/docs` does the Authorize
//! dialog post to `/token` (and, behind a proxy, from `/prefix/docs` to `/prefix/token`).
//! A `<base>` element points the page's own relative asset links into `docs/`.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::Config;

use crate::http::error::ApiError;

const SPEC_URL: &str = "/openapi.json";

pub(crate) fn routes<S: Clone + Send + Sync + 'static>(api: OpenApi) -> Router<S> {
    // Serialized once: the document never changes while the process runs.
    let document = Bytes::from(api.to_json().expect("the OpenAPI document serializes"));
    let config = Arc::new(Config::new([SPEC_URL]).persist_authorization(true));
    let index = Html(Bytes::from(index_page(&config)));
    Router::new()
        .route(
            SPEC_URL,
            get(move || async move { ([(header::CONTENT_TYPE, "application/json")], document) }),
        )
        .route("/docs", get(move || async move { index }))
        // Relative, so that behind a proxy `/prefix/docs/` leads to `/prefix/docs`.
        .route("/docs/", get(|| async { Redirect::temporary("../docs") }))
        .route("/docs/{*file}", get(move |file| asset(file, config)))
}

fn index_page(config: &Arc<Config<'static>>) -> String {
    let file = utoipa_swagger_ui::serve("index.html", Arc::clone(config))
        .ok()
        .flatten()
        .expect("the vendored Swagger UI has an index.html");
    String::from_utf8_lossy(&file.bytes)
        .replacen("<head>", "<head>\n  <base href=\"docs/\">", 1)
        .replacen("</body>", AUTHORIZE_FOCUS, 1)
}

/// Swagger UI focuses the first field of every scheme in the Authorize dialog as it opens
/// (React's `autoFocus`), so the last one wins, and with `/introspect`'s HTTP Basic scheme
/// documented the dialog opened scrolled past the password flow's form to a form the README
/// never mentions. This gives the focus back to the password flow's username.
const AUTHORIZE_FOCUS: &str = r#"<script>
  new MutationObserver(() => {
    const username = document.querySelector(".modal-ux #oauth_username");
    if (username && !username.dataset.focused) {
      username.dataset.focused = "yes";
      username.focus();
    }
  }).observe(document.body, { childList: true, subtree: true });
</script>
</body>"#;

async fn asset(Path(file): Path<String>, config: Arc<Config<'static>>) -> Response {
    match utoipa_swagger_ui::serve(&file, config) {
        Ok(Some(file)) => {
            let mut response = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, file.content_type)],
                file.bytes.into_owned(),
            )
                .into_response();
            if file.gzpipped {
                response.headers_mut().insert(
                    header::CONTENT_ENCODING,
                    header::HeaderValue::from_static("gzip"),
                );
            }
            response
        }
        Ok(None) => ApiError::NotFound.into_response(),
        // The vendored assets are compiled in; this is a broken build, not a client error.
        Err(err) => ApiError::Internal(err.to_string().into()).into_response(),
    }
}
