//! Azure: the janitor's adapter for resource groups, through Resource Manager.

mod arm;
mod http;
pub mod janitor;

pub use arm::{ServicePrincipal, TOKEN_ENV};
