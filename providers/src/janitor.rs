//! The janitor's view of a cloud: one trait, so the janitor logic (selection, marks,
//! phases, state machine, plans) is written once for every provider. Each adapter lists
//! the resources of the janitor's target types with their tags and creation time, writes
//! and removes the mark tag, says whether a resource still exists, and deletes one in
//! dependency order. Every call goes through [`crate::retry`]; NotFound while deleting
//! means deleted (idempotent).

use std::future::Future;
use std::pin::Pin;

use driftguard_engine::model::JanitorTarget;
use driftguard_engine::model::Provider;
use driftguard_janitor::Resource;

use crate::retry::CallError;

/// A boxed future: the trait is used as `dyn JanitorCloud` (one list of accounts of
/// every provider), and async trait methods are not object-safe on their own.
pub type CloudFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, CallError>> + Send + 'a>>;

/// The policy's switches for direct deletion.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeleteOptions {
    /// EC2: lift termination protection first (else it blocks).
    pub ec2_disable_termination_protection: bool,
    /// RDS: no final snapshot (else one is taken, named after the instance).
    pub rds_skip_final_snapshot: bool,
    /// RDS: lift deletion protection first (else it blocks).
    pub rds_disable_deletion_protection: bool,
}

/// One account (project, subscription) of one cloud, as the janitor sees it.
pub trait JanitorCloud: Send + Sync {
    /// The cloud.
    fn provider(&self) -> Provider;

    /// The account, project or subscription.
    fn account(&self) -> &str;

    /// Who this adapter's calls are made as, as verified at the start of the job (the
    /// `principal` of every audit record of its calls).
    fn principal(&self) -> Option<&str> {
        None
    }

    /// Every resource of these types in the adapter's scan scope (its regions), with
    /// `managed` false: the caller knows the Terraform states.
    fn inventory<'a>(&'a self, targets: &'a [JanitorTarget]) -> CloudFuture<'a, Vec<Resource>>;

    /// Writes (or overwrites) one tag or label.
    fn set_tag<'a>(&'a self, resource: &'a Resource, key: &'a str, value: &'a str) -> CloudFuture<'a, ()>;

    /// Removes one tag or label (absent is fine).
    fn remove_tag<'a>(&'a self, resource: &'a Resource, key: &'a str) -> CloudFuture<'a, ()>;

    /// Whether the resource still exists (a resource on its way out counts as gone).
    fn exists<'a>(&'a self, resource: &'a Resource) -> CloudFuture<'a, bool>;

    /// Deletes it and what it contains, in dependency order; NotFound is success.
    fn delete<'a>(&'a self, resource: &'a Resource, options: &'a DeleteOptions) -> CloudFuture<'a, ()>;

    /// The resources as they are now, read from each one right before the janitor acts on
    /// them: current tags and the guards that take a read of their own (EC2 termination
    /// protection); `None` for one that is gone. The inventory may come from a bulk,
    /// eventually consistent view (the Resource Groups Tagging API); this is the
    /// authoritative last look, made only for candidates. Default: a fresh inventory of
    /// their types.
    fn refresh<'a>(&'a self, resources: &'a [Resource]) -> CloudFuture<'a, Vec<Option<Resource>>> {
        Box::pin(async move {
            let mut types: Vec<JanitorTarget> = resources.iter().map(|r| r.resource_type).collect();
            types.sort_unstable();
            types.dedup();
            let listed = self.inventory(&types).await?;
            Ok(resources.iter().map(|wanted| listed.iter().find(|r| r.key() == wanted.key()).cloned()).collect())
        })
    }

    /// Writes one tag on many resources: one answer per resource, in order (a batch the
    /// cloud refuses as a whole is retried one by one, so that each answer is its own).
    /// Default: one [`JanitorCloud::set_tag`] each.
    fn set_tag_many<'a>(
        &'a self,
        resources: &'a [Resource],
        key: &'a str,
        value: &'a str,
    ) -> CloudFuture<'a, Vec<Result<(), CallError>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(resources.len());
            for resource in resources {
                out.push(self.set_tag(resource, key, value).await);
            }
            Ok(out)
        })
    }

    /// Deletes many resources of one type: one answer per resource, in order, NotFound
    /// being success. Default: one [`JanitorCloud::delete`] each.
    fn delete_many<'a>(
        &'a self,
        resources: &'a [Resource],
        options: &'a DeleteOptions,
    ) -> CloudFuture<'a, Vec<Result<(), CallError>>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(resources.len());
            for resource in resources {
                out.push(self.delete(resource, options).await);
            }
            Ok(out)
        })
    }

    /// Resources that deleting this one deletes too, as resources of their own (an Azure
    /// resource group's contents): each must pass the same hard blocks (protection,
    /// Terraform) as the resource itself. `id` is the cloud's full id (ARM id). Objects in
    /// a bucket are data, not resources: buckets have none.
    fn contents<'a>(&'a self, resource: &'a Resource) -> CloudFuture<'a, Vec<Resource>> {
        let _ = resource;
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// `Ok(())` for a NotFound: deleting what is already gone succeeds.
pub fn gone_is_done(result: Result<(), CallError>) -> Result<(), CallError> {
    match result {
        Err(error) if error.is_not_found() => Ok(()),
        other => other,
    }
}
