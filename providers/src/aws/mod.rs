//! AWS: the session of an account (`identity`), its client per region (`client`), live
//! collection in the normal form (`collect`), remediation calls (`execute`) and the
//! janitor's adapter (`janitor`). The arrows run one way: everything builds on `client`,
//! and only `janitor` also uses `execute` (its marks are tag calls).

mod client;
pub mod collect;
pub mod execute;
pub mod identity;
pub mod janitor;

pub use client::AwsClient;
