//! DriftGuard's cloud adapters: the only crate that talks to cloud SDKs. The pure core
//! decides; this crate lists, reads and changes, every call classified and retried.

/// Sends a fluent SDK request with the policy's retries; `$op` names it in errors and logs.
#[macro_export]
#[doc(hidden)]
macro_rules! send {
    ($self:ident, $op:literal, $request:expr) => {{
        let request = $request;
        $crate::retry::call($self.calls(), $op, || {
            let request = request.clone();
            async move { request.send().await.map_err(|error| $crate::retry::classify($op, &error)) }
        })
        .await
    }};
}

pub mod aws;
pub mod azure;
pub mod gcp;
pub mod iac;
pub mod janitor;
pub mod pace;
pub mod retry;
