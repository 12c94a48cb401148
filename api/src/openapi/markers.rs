//! Names for handlers' `#[utoipa::path]` attributes of what `super` states by hand:
//!
//! - reusable responses: `(status = 404, response = ActionNotFound)` becomes a `$ref` to the
//!   component of that name, whose content `super::responses` states (and whose status a test
//!   checks);
//! - request bodies: `request_body = ActionCreate` (required) or `Option<ExecuteRequest>` (not
//!   required) becomes a `$ref` to the schema `super::bodies` states, which replaces the
//!   placeholder these types give.

use utoipa::openapi::schema::{Object, Schema};
use utoipa::openapi::{RefOr, Response};

macro_rules! markers {
    ($($name:ident),+ $(,)?) => {
        $(
            pub struct $name;

            impl<'r> utoipa::ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    (stringify!($name), RefOr::T(Response::new("")))
                }
            }
        )+

        /// Every marker's name.
        #[cfg(test)]
        pub const ALL: &[&str] = &[$(stringify!($name)),+];
    };
}

markers!(
    NameConflict,
    ActionNotFound,
    ActionNotFoundOrCannotExecute,
    ActionNotFoundOrNoExecutions,
    ExecutionNotFound,
    ExecutionAlreadyFinished,
    RerunNotFound,
    RateLimited,
    SecretNotFound,
    SecretsOff,
);

macro_rules! bodies {
    ($($name:ident),+ $(,)?) => {
        $(
            pub struct $name;

            impl utoipa::PartialSchema for $name {
                fn schema() -> RefOr<Schema> {
                    RefOr::T(Schema::Object(Object::new()))
                }
            }

            impl utoipa::ToSchema for $name {}
        )+

        /// Every body's name: their placeholder schemas are replaced.
        pub const BODIES: &[&str] = &[$(stringify!($name)),+];
    };
}

bodies!(
    ActionCreate,
    ActionUpdate,
    ExecuteRequest,
    CancelFilter,
    BulkFilter,
    StorableJson,
    SecretPut
);
