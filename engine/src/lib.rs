//! DriftGuard's pure core: the policy compiler, the finding state machine, classification
//! and the audit-event vocabulary. Nothing in this crate performs I/O beyond reading the
//! environment through figment, and nothing depends on tokio or a cloud SDK (CI checks it).

pub mod audit;
pub mod catalogue;
pub mod drift;
pub mod finding;
pub mod identity;
pub mod import;
pub mod model;
pub mod next;
pub mod policy;
pub mod remediation;
pub mod report;
pub mod tfstate;
