//! What the user allowed which client, and taking it back (ASVS V10.7.3). Served with the
//! authorization-code flow (`TOKEN_ISSUER` an issuer URL).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::sessions::rfc3339;
use crate::auth::oauth::consent::{consents_of, revoke_consent};
use crate::http::error::ApiError;
use crate::http::extract::ActiveUser;
use crate::model::scopes::MeScope;
use crate::state::AppState;

/// One consent, as its user sees it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ConsentView {
    #[schema(example = "k3lWtq0p1mS2Yd9WmQp3AQ")]
    client_id: String,
    /// The client's name as registered; `null` if it has been removed since.
    #[schema(example = "Example App")]
    client_name: Option<String>,
    /// Every scope allowed, space-separated.
    #[schema(example = "me items")]
    scope: String,
    /// The latest consent.
    #[schema(value_type = String, format = DateTime, example = "2026-12-05T09:30:00Z")]
    granted_at: String,
}

/// The clients the current user has allowed, newest consent first.
#[utoipa::path(
    get,
    path = "/users/me/consents",
    tag = "sessions",
    responses((status = 200, description = "The user's consents", body = [ConsentView])),
)]
pub(crate) async fn read_own_consents(
    user: ActiveUser<MeScope>,
    State(state): State<AppState>,
) -> Result<Json<Vec<ConsentView>>, ApiError> {
    let consents = consents_of(&state.auth, &user.id).await?;
    Ok(Json(
        consents
            .into_iter()
            .map(|given| ConsentView {
                client_name: given.client.map(|client| client.name.clone()),
                client_id: given.consent.client_id,
                scope: given.consent.scope.to_string(),
                granted_at: rfc3339(given.consent.granted_at),
            })
            .collect(),
    ))
}

/// Take back a consent: the client must ask again, and the user's sessions of that client
/// end (their access tokens are refused from the next request, their refresh tokens die).
#[utoipa::path(
    delete,
    path = "/users/me/consents/{client_id}",
    tag = "sessions",
    params(("client_id" = String, Path, description = "A client id from the list")),
    responses(
        (status = 204, description = "The consent is gone and the client's sessions have ended"),
        (status = 404, description = "The user has not allowed this client", body = crate::http::error::ErrorDetail,
            example = json!(ApiError::NotFound.body())),
    ),
)]
pub(crate) async fn revoke_own_consent(
    user: ActiveUser<MeScope>,
    State(state): State<AppState>,
    Path(client_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if revoke_consent(&state.auth, &user.id, &client_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound)
    }
}
