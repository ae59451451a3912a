//! Turning stored text back into records, the same way in every back end.

use crate::{StoreError, StoreResult};

/// `value` as the JSON text a store keeps.
pub fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Backend(e.to_string()))
}

/// Stored JSON text back as a value; `what` names it in the error.
pub fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> StoreResult<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Backend(format!("stored {what} is not valid JSON: {e}")))
}

/// A stored code back as its enum; `what` names it in the error.
pub fn from_code<T>(text: &str, parse: fn(&str) -> Option<T>, what: &str) -> StoreResult<T> {
    parse(text).ok_or_else(|| StoreError::Backend(format!("stored {what} {text:?} is unknown")))
}
