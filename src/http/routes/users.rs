//! The routes behind a bearer token. Each one's user extractor says which scopes it needs.

use std::sync::Arc;

use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use super::{OK, Status};
use crate::http::extract::{ActiveUser, CurrentUser};
use crate::model::scopes::{AnyScope, ItemsScope, MeScope};
use crate::store::User;

/// The current user's profile.
#[utoipa::path(
    get,
    path = "/users/me/",
    tag = "users",
    responses((status = 200, description = "The current user", body = User)),
)]
pub(crate) async fn read_users_me(user: ActiveUser<MeScope>) -> Json<Arc<User>> {
    Json(Arc::clone(&user.profile))
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
        owner: user.username().to_owned(),
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
