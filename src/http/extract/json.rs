//! JSON bodies of required string fields, refused in FastAPI's 422 shape: what a Pydantic
//! model of `str` fields answers for a body that is not JSON, not an object, or lacks one.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde_json::{Value, json};

use crate::http::error::{ApiError, ValidationIssue};

/// A JSON body that is not an object, as FastAPI refuses it.
pub(crate) fn not_an_object(input: Value) -> ApiError {
    ApiError::Validation(vec![ValidationIssue {
        kind: "model_attributes_type",
        loc: vec!["body".into()],
        msg: "Input should be a valid dictionary or object to extract fields from".into(),
        input,
        ctx: None,
    }])
}

/// The values of `fields`, in order, from a JSON object body. Like FastAPI, the body is read
/// as JSON whatever its `Content-Type`; a form body is therefore invalid JSON.
pub(crate) async fn string_fields<S: Send + Sync, const N: usize>(
    req: Request,
    state: &S,
    fields: [&'static str; N],
) -> Result<[String; N], ApiError> {
    let body = Bytes::from_request(req, state)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let value: Value = serde_json::from_slice(&body).map_err(|err| {
        ApiError::Validation(vec![ValidationIssue {
            kind: "json_invalid",
            loc: vec!["body".into(), err.column().to_string()],
            msg: "JSON decode error".into(),
            input: json!({}),
            ctx: Some(json!({ "error": err.to_string() })),
        }])
    })?;
    let Value::Object(object) = &value else {
        return Err(not_an_object(value));
    };
    let mut issues = Vec::new();
    let values = fields.map(|field| match object.get(field) {
        Some(Value::String(text)) => text.clone(),
        other => {
            issues.push(match other {
                None => ValidationIssue {
                    kind: "missing",
                    loc: vec!["body".into(), field.into()],
                    msg: "Field required".into(),
                    input: value.clone(),
                    ctx: None,
                },
                Some(wrong) => ValidationIssue {
                    kind: "string_type",
                    loc: vec!["body".into(), field.into()],
                    msg: "Input should be a valid string".into(),
                    input: wrong.clone(),
                    ctx: None,
                },
            });
            String::new()
        }
    });
    if issues.is_empty() {
        Ok(values)
    } else {
        Err(ApiError::Validation(issues))
    }
}
