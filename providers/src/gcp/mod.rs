//! Google Cloud: the janitor's adapter for Cloud Storage buckets (gRPC).

pub mod janitor;
