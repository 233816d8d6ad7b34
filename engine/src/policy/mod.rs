//! The policy: raw file types, the compiler, and the validated [`Policy`].

mod build;
pub mod checks;
mod compile;
mod compiled;
pub mod diag;
pub(crate) mod raw;
mod semantic;
pub mod yaml;

pub use checks::Glob;
pub use compile::{CliOverrides, ENV_PREFIX, ENV_SEPARATOR, compile, env_provider};
pub use compiled::*;
pub use diag::{Diagnostic, Diagnostics};

/// The JSON schema of the policy file (`schemas/policy.schema.json`), generated from the
/// file's types: editors complete and document keys from it.
pub fn file_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(raw::PolicyFile)).unwrap_or_default()
}
