//! The policy: raw file types, the compiler, and the validated [`Policy`].

pub mod checks;
mod compile;
pub mod diag;
mod compiled;
mod semantic;
pub mod raw;
pub mod yaml;

pub use compile::{CliOverrides, ENV_PREFIX, ENV_SEPARATOR, compile, env_provider};
pub use compiled::*;
pub use diag::{Diagnostic, Diagnostics};
