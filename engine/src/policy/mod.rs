//! The policy: raw file types, the compiler, and the validated [`Policy`].

pub mod checks;
mod compile;
mod compiled;
pub mod diag;
pub mod raw;
mod semantic;
pub mod yaml;

pub use compile::{CliOverrides, ENV_PREFIX, ENV_SEPARATOR, compile, env_provider};
pub use compiled::*;
pub use diag::{Diagnostic, Diagnostics};
