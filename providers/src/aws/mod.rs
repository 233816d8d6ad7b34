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
pub(crate) use client::{ListedBucket, on_its_way_out};

/// Per-resource reads (an instance's attribute, a bucket's documents or tags) in flight at
/// once in one collection or refresh; the account's pace bounds the request rate whatever
/// this is.
pub(crate) const READS_IN_FLIGHT: usize = 8;
