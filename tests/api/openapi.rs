//! The OpenAPI document and Swagger UI: what the docs promise is what the routes do.

use std::collections::BTreeSet;

use crate::helpers::*;
use axum::body::Body;
use axum::http::{Method, Request};
use passflow::http::openapi::document;
use passflow::router;
use serde_json::{Value, json};

/// The document of the default configuration: no optional route.
fn doc() -> Value {
    serde_json::to_value(document(&default_state())).unwrap()
}

/// The document with every optional route live.
fn every_route_doc() -> Value {
    serde_json::to_value(document(&every_route_state())).unwrap()
}

#[test]
fn the_document_matches_its_snapshot_in_both_configurations() {
    insta::assert_json_snapshot!("openapi_default", doc());
    insta::assert_json_snapshot!("openapi_every_route", every_route_doc());
}

#[tokio::test]
async fn openapi_json_serves_the_document_of_its_configuration() {
    let reply = get(&app(), "/openapi.json", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), doc());
    let reply = get(&router(every_route_state()), "/openapi.json", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), every_route_doc());
}

fn paths_of(doc: &Value) -> BTreeSet<&str> {
    doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

/// The routes a setting turns on: documented exactly where served.
const OPTIONAL_PATHS: [&str; 4] = [
    "/introspect",
    "/.well-known/oauth-authorization-server",
    "/users/me/consents",
    "/users/me/consents/{client_id}",
];

#[test]
fn each_operation_appears_once_and_trailing_slash_twins_are_hidden() {
    let doc = doc();
    let paths = paths_of(&doc);
    let mut every_route = paths.clone();
    every_route.extend(OPTIONAL_PATHS);
    assert_eq!(paths_of(&every_route_doc()), every_route);
    assert_eq!(
        paths,
        BTreeSet::from([
            "/token",
            "/users/me/",
            "/users/me/items/",
            "/users/me/password",
            "/users/me/activity",
            "/users/me/totp",
            "/users/me/totp/confirm",
            "/status/",
            "/users/me/sessions/",
            "/users/me/sessions/{id}",
            "/logout",
            "/logout/all",
            "/revoke",
            "/.well-known/jwks.json",
            "/health",
            "/ready"
        ])
    );
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["info"]["title"], "passflow");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn a_route_that_is_not_documented_is_not_served() {
    let app = app();
    for path in OPTIONAL_PATHS {
        for method in [Method::GET, Method::POST] {
            let request = Request::builder().method(method).uri(path);
            send(&app, request.body(Body::empty()).unwrap())
                .await
                .assert(404, r#"{"detail":"Not Found"}"#, None);
        }
    }
}

#[test]
fn the_security_scheme_is_fastapis_password_flow_with_relative_token_and_refresh_urls() {
    let password_flow = json!({
        "type": "oauth2",
        "flows": {"password": {
            "tokenUrl": "token",
            "refreshUrl": "token",
            "scopes": {
                "items": "Read items.",
                "me": "Read information about the current user.",
            },
        }},
    });
    assert_eq!(
        doc()["components"]["securitySchemes"],
        json!({"OAuth2PasswordBearer": password_flow})
    );
    let every_route = every_route_doc();
    let schemes = &every_route["components"]["securitySchemes"];
    assert_eq!(schemes["OAuth2PasswordBearer"], password_flow);
    assert_eq!(
        schemes["ResourceServer"],
        json!({"type": "http", "scheme": "basic",
               "description": "For `/introspect` only: a resource server's id and secret from `INTROSPECTION_CLIENTS`"})
    );
    // Swagger UI's Authorize dialog lists the schemes in the document's order: the password
    // flow first, so the dialog opens on the form the README points to.
    let order: Vec<&String> = schemes.as_object().unwrap().keys().collect();
    assert_eq!(order, ["OAuth2PasswordBearer", "ResourceServer"]);
    let served = every_route.to_string();
    assert!(
        served.find("OAuth2PasswordBearer\":{") < served.find("ResourceServer\":{"),
        "{served}"
    );
}

#[test]
fn the_token_form_is_documented_for_both_encodings() {
    let doc = doc();
    let body = &doc["paths"]["/token"]["post"]["requestBody"]["content"];
    for encoding in ["application/x-www-form-urlencoded", "multipart/form-data"] {
        assert_eq!(
            body[encoding]["schema"]["$ref"],
            "#/components/schemas/TokenRequestForm"
        );
    }
    let form = &doc["components"]["schemas"]["TokenRequestForm"];
    let [fields, grants] = form["allOf"].as_array().unwrap().as_slice() else {
        panic!("{form}");
    };
    // No field is required by itself: which ones are depends on the grant.
    assert_eq!(fields.get("required"), None);
    assert_eq!(
        fields["properties"]["grant_type"]["pattern"],
        "^(password|refresh_token)?$"
    );
    let names: Vec<&str> = fields["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        names,
        [
            "grant_type",
            "username",
            "password",
            "refresh_token",
            "scope",
            "client_id",
            "client_secret",
            "totp"
        ]
    );
    let rule: Vec<(&Value, &Value)> = grants["anyOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|grant| {
            (
                &grant["properties"]["grant_type"]["enum"],
                &grant["required"],
            )
        })
        .collect();
    assert_eq!(
        rule,
        [
            (&json!(["password", ""]), &json!(["username", "password"])),
            (
                &json!(["refresh_token"]),
                &json!(["grant_type", "refresh_token"])
            ),
        ]
    );
}

/// For every documented operation, ask the router what it really demands: with no token, and
/// with a valid token holding no scopes. The answers must match the document's `security`.
#[tokio::test]
async fn documented_security_is_what_the_routes_enforce() {
    documented_security_is_enforced(&app(), &doc()).await;
    documented_security_is_enforced(&router(every_route_state()), &every_route_doc()).await;
}

async fn documented_security_is_enforced(app: &axum::Router, doc: &Value) {
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let call = |token: Option<&str>| {
                let mut request = Request::builder().method(method.clone()).uri(path.as_str());
                if let Some(token) = token {
                    request = request.header("authorization", format!("Bearer {token}"));
                }
                send(app, request.body(Body::empty()).unwrap())
            };
            let Some(security) = operation.get("security") else {
                let reply = call(None).await;
                assert_ne!(reply.status, 401, "{method} {path} is documented as open");
                continue;
            };
            if security[0].get("ResourceServer").is_some() {
                // HTTP Basic for a registered client, not a user's token: tests/api/introspection.rs.
                assert_eq!(path, "/introspect");
                continue;
            }
            let scopes: Vec<&str> = security[0]["OAuth2PasswordBearer"]
                .as_array()
                .unwrap_or_else(|| panic!("{method} {path}: {security}"))
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            call(None)
                .await
                .assert(401, r#"{"detail":"Not authenticated"}"#, Some("Bearer"));
            let reply = call(Some(tokens::SCOPE_EMPTY)).await;
            if scopes.is_empty() {
                assert!(reply.status.is_success(), "{method} {path}");
            } else {
                let header = format!(r#"Bearer scope="{}""#, scopes.join(" "));
                reply.assert(401, r#"{"detail":"Not enough permissions"}"#, Some(&header));
            }
            let responses = &operation["responses"];
            assert!(responses.get("401").is_some(), "{method} {path}");
            assert_eq!(
                responses["401"]["content"]["application/json"]["schema"]["$ref"],
                "#/components/schemas/ErrorDetail"
            );
            assert!(
                responses["401"]["headers"]
                    .get("WWW-Authenticate")
                    .is_some()
            );
        }
    }
}

#[tokio::test]
async fn routes_for_active_users_document_the_inactive_user_answer() {
    let doc = doc();
    for path in ["/users/me/", "/users/me/items/"] {
        let inactive = &doc["paths"][path]["get"]["responses"]["400"];
        assert_eq!(inactive["description"], "Inactive user", "{path}");
    }
    assert!(
        doc["paths"]["/status/"]["get"]["responses"]
            .get("400")
            .is_none()
    );
}

#[test]
#[ignore = "needs Python with openapi-spec-validator (PASSFLOW_PYTHON); cargo test -- --ignored"]
fn the_document_is_valid_openapi() {
    let python = python_with("openapi_spec_validator");
    for doc in [doc(), every_route_doc()] {
        let file = tempfile::NamedTempFile::new().unwrap();
        serde_json::to_writer(&file, &doc).unwrap();
        let output = std::process::Command::new(&python)
            .args(["-m", "openapi_spec_validator"])
            .arg(file.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[tokio::test]
async fn swagger_ui_is_served_from_the_binary_and_points_at_our_document() {
    let app = app();
    // At /docs, as in FastAPI, so the relative tokenUrl resolves to /token.
    let page = get(&app, "/docs", None).await;
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(
        page.text().contains(r#"<base href="docs/">"#),
        "{}",
        page.text()
    );
    assert!(
        page.text().contains("./swagger-ui-bundle.js"),
        "{}",
        page.text()
    );
    // The Authorize dialog's focus goes to the password flow's username (e2e/ drives it).
    assert!(
        page.text()
            .contains(r#"querySelector(".modal-ux #oauth_username")"#),
        "{}",
        page.text()
    );
    let slash = get(&app, "/docs/", None).await;
    assert_eq!(slash.status, 307);
    assert_eq!(slash.header("location"), Some("../docs"));
    get(&app, "/docs/nope.js", None)
        .await
        .assert(404, r#"{"detail":"Not Found"}"#, None);
    for asset in [
        "/docs/swagger-ui.css",
        "/docs/swagger-ui-bundle.js",
        "/docs/swagger-ui-standalone-preset.js",
    ] {
        let reply = get(&app, asset, None).await;
        assert_eq!(reply.status, 200, "{asset}");
        assert!(reply.body.len() > 1000, "{asset}");
    }
    let initializer = get(&app, "/docs/swagger-initializer.js", None).await;
    assert_eq!(initializer.status, 200);
    let script = initializer.text();
    assert!(script.contains("/openapi.json"), "{script}");
    assert!(!script.contains("https://"), "{script}");
    assert!(
        script.contains(r#""persistAuthorization": true"#),
        "{script}"
    );
}
