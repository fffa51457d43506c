//! The routes behind a bearer token. Each one's user extractor says which scopes it needs.

use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use super::{OK, Status};
use crate::http::extract::{ActiveUser, CurrentUser};
use crate::model::scopes::{AnyScope, ItemsScope, MeScope};
use crate::store::UserRecord;

/// What `/users/me/` returns: the tutorial's `User` model, never the hash.
/// Field order is the JSON key order FastAPI clients see.
#[derive(Serialize, ToSchema)]
#[schema(as = User)]
pub(crate) struct UserResponse<'a> {
    #[schema(example = "johndoe")]
    username: &'a str,
    #[schema(example = "johndoe@example.com")]
    email: Option<&'a str>,
    #[schema(example = "John Doe")]
    full_name: Option<&'a str>,
    #[schema(example = false)]
    disabled: bool,
}

// Borrowed from the stored record: a response copies no string.
impl<'a> From<&'a UserRecord> for UserResponse<'a> {
    fn from(user: &'a UserRecord) -> Self {
        let profile = &user.profile;
        Self {
            username: &profile.username,
            email: profile.email.as_deref(),
            full_name: profile.full_name.as_deref(),
            disabled: profile.disabled,
        }
    }
}

/// The current user's profile.
#[utoipa::path(
    get,
    path = "/users/me/",
    tag = "users",
    responses((status = 200, description = "The current user", body = UserResponse)),
)]
pub(crate) async fn read_users_me(user: ActiveUser<MeScope>) -> Response {
    Json(UserResponse::from(&**user)).into_response()
}

/// One of the current user's items.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Item {
    #[schema(example = "Foo")]
    pub(crate) item_id: &'static str,
    #[schema(example = "johndoe")]
    pub(crate) owner: String,
}

/// The current user's items.
#[utoipa::path(
    get,
    path = "/users/me/items/",
    tag = "users",
    responses((status = 200, description = "The current user's items", body = [Item])),
)]
pub(crate) async fn read_own_items(user: ActiveUser<ItemsScope>) -> Json<[Item; 1]> {
    Json([Item {
        item_id: "Foo",
        owner: user.username().to_string(),
    }])
}

/// Whether the service is up, for any valid token (the scopes chapter's `/status/`).
#[utoipa::path(
    get,
    path = "/status/",
    tag = "users",
    responses((status = 200, description = "The service is up", body = Status)),
)]
pub(crate) async fn read_system_status(_user: CurrentUser<AnyScope>) -> Json<Status> {
    Json(OK)
}
