//! The janitor's runtime as a property: random inventories and policies, run against an
//! in-memory cloud that counts every mutation. Nothing here trusts `decide`: the
//! checks are written from the policy and the inventory directly.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use driftguard_engine::audit::AuditRecord;
use driftguard_engine::policy::{CliOverrides, compile};
use driftguard_janitor::Guard;
use driftguard_providers::janitor::{CloudFuture, DeleteOptions};
use driftguard_store::Store;
use proptest::prelude::*;

use super::*;

const ACCOUNT: &str = "111111111111";

/// An account held in memory: what the janitor lists, tags and deletes.
#[derive(Debug, Default)]
struct MemoryCloud {
    resources: Mutex<Vec<Resource>>,
    mutations: AtomicUsize,
    deleted: Mutex<Vec<Resource>>,
    /// The account its resources are listed in (default [`ACCOUNT`]).
    label: Option<String>,
    /// The key of every resource tagged, untagged or deleted.
    touched: Mutex<Vec<String>>,
}

impl MemoryCloud {
    fn edit(&self, resource: &Resource, change: impl FnOnce(&mut Resource)) {
        self.mutations.fetch_add(1, Ordering::SeqCst);
        self.touched.lock().unwrap().push(resource.key());
        let mut resources = self.resources.lock().unwrap();
        if let Some(found) = resources.iter_mut().find(|r| r.key() == resource.key()) {
            change(found);
        }
    }
}

impl JanitorCloud for MemoryCloud {
    fn provider(&self) -> Provider {
        Provider::Aws
    }

    fn account(&self) -> &str {
        self.label.as_deref().unwrap_or(ACCOUNT)
    }

    fn inventory<'a>(&'a self, targets: &'a [JanitorTarget]) -> CloudFuture<'a, Vec<Resource>> {
        let resources = self.resources.lock().unwrap();
        let listed: Vec<Resource> = resources.iter().filter(|r| targets.contains(&r.resource_type)).cloned().collect();
        drop(resources);
        Box::pin(async move { Ok(listed) })
    }

    fn set_tag<'a>(&'a self, resource: &'a Resource, key: &'a str, value: &'a str) -> CloudFuture<'a, ()> {
        self.edit(resource, |r| {
            r.tags.insert(key.to_owned(), value.to_owned());
        });
        Box::pin(async { Ok(()) })
    }

    fn remove_tag<'a>(&'a self, resource: &'a Resource, key: &'a str) -> CloudFuture<'a, ()> {
        self.edit(resource, |r| {
            r.tags.remove(key);
        });
        Box::pin(async { Ok(()) })
    }

    fn exists<'a>(&'a self, resource: &'a Resource) -> CloudFuture<'a, bool> {
        let present = self.resources.lock().unwrap().iter().any(|r| r.key() == resource.key());
        Box::pin(async move { Ok(present) })
    }

    fn delete<'a>(&'a self, resource: &'a Resource, _: &'a DeleteOptions) -> CloudFuture<'a, ()> {
        self.mutations.fetch_add(1, Ordering::SeqCst);
        self.touched.lock().unwrap().push(resource.key());
        let mut resources = self.resources.lock().unwrap();
        if let Some(index) = resources.iter().position(|r| r.key() == resource.key()) {
            self.deleted.lock().unwrap().push(resources.remove(index));
        }
        Box::pin(async { Ok(()) })
    }
}

fn policy(dry_run: bool, per_run: u32, protected_value: &str) -> Policy {
    let text = format!(
        "dry_run: {dry_run}\nflows:\n  - name: all\n    steps: [classify, plan, report]\nproviders:\n  aws:\n    - account: \"{ACCOUNT}\"\n      environment: sandbox\n      regions: [us-east-1]\nprotection:\n  name_prefix: dg-\n  tags:\n    - key: Environment\n      values: [\"{protected_value}\"]\n  caps:\n    max_deletions_per_run: {per_run}\n    max_delete_percent: 100\njanitor:\n  enabled: true\n  targets: [aws_s3_bucket, aws_instance]\n  default_ttl: 1h\n  grace_period: 0s\n  phases: [api]\n  revenant_check_after: 10m\n  delete_allowlist:\n    aws: [\"{ACCOUNT}\"]\n"
    );
    compile("p.yaml", &text, None, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn arb_resource() -> impl Strategy<Value = Resource> {
    (
        prop::sample::select(vec!["dg-a", "dg-b", "dg-c", "other", "DG-d"]),
        0..1000u32,
        prop::sample::select(vec![None, Some("production"), Some("PRODUCTION"), Some("sandbox")]),
        prop::sample::select(vec![None, Some("2020-01-01"), Some("2999-01-01"), Some("garbage")]),
        prop::option::of(0..200i64),
        any::<bool>(),
    )
        .prop_map(|(name, n, environment, expires, age, bucket)| {
            let mut tags = BTreeMap::new();
            if let Some(value) = environment {
                tags.insert("Environment".to_owned(), value.to_owned());
            }
            if let Some(value) = expires {
                tags.insert("expires-at".to_owned(), value.to_owned());
            }
            Resource {
                provider: Provider::Aws,
                account: ACCOUNT.to_owned(),
                region: "us-east-1".to_owned(),
                resource_type: if bucket { JanitorTarget::AwsS3Bucket } else { JanitorTarget::AwsInstance },
                id: format!("{name}-{n}"),
                name: name.to_owned(),
                tags,
                created_at: age.map(|hours| Utc::now() - chrono::Duration::hours(hours)),
                managed: false,
                guards: Vec::new(),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn dry_run_never_mutates_and_records_nothing(
        inventory in prop::collection::vec(arb_resource(), 0..25),
        per_run in 1..6u32,
        marked in any::<bool>(),
    ) {
        let policy = policy(true, per_run, "production");
        let mut inventory = inventory;
        if marked {
            for resource in &mut inventory {
                resource.tags.insert("driftguard-marked-at".into(), "2020-01-01T00:00:00Z".into());
            }
        }
        let cloud = std::sync::Arc::new(MemoryCloud { resources: Mutex::new(inventory.clone()), ..Default::default() });
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut store = Store::open_in_memory().unwrap();
        let clouds: Vec<Box<dyn JanitorCloud>> = vec![Box::new(Shared(std::sync::Arc::clone(&cloud)))];
        cycle(&policy, Bridge::Owned(&runtime), &AtomicBool::new(false), &clouds, &Known::default(), &mut store, "r", None, None).unwrap();
        prop_assert_eq!(cloud.mutations.load(Ordering::SeqCst), 0);
        prop_assert_eq!(&*cloud.resources.lock().unwrap(), &inventory);
        prop_assert!(store.janitor_items().unwrap().is_empty());
    }

    #[test]
    fn a_real_run_deletes_only_what_may_go_and_never_beyond_the_cap(
        inventory in prop::collection::vec(arb_resource(), 0..25),
        per_run in 1..6u32,
        managed_first in any::<bool>(),
    ) {
        let policy = policy(false, per_run, "production");
        let mut ids = BTreeSet::new();
        if managed_first && let Some(first) = inventory.first() {
            ids.insert((first.resource_type.as_str().to_owned(), first.id.clone()));
        }
        let known = Known { managed: Managed::from_ids(ids.clone()), ..Known::default() };
        let managed = &ids;
        let cloud = std::sync::Arc::new(MemoryCloud { resources: Mutex::new(inventory.clone()), ..Default::default() });
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut store = Store::open_in_memory().unwrap();
        let clouds: Vec<Box<dyn JanitorCloud>> = vec![Box::new(Shared(std::sync::Arc::clone(&cloud)))];
        let mut deleted_so_far = 0;
        for index in 0..3 {
            cycle(&policy, Bridge::Owned(&runtime), &AtomicBool::new(false), &clouds, &known, &mut store, &format!("r{index}"), None, None).unwrap();
            let deleted = cloud.deleted.lock().unwrap().len();
            prop_assert!(deleted - deleted_so_far <= per_run as usize, "cap broken in cycle {}", index);
            if index == 0 {
                prop_assert_eq!(deleted, 0, "the first cycle only marks");
            }
            deleted_so_far = deleted;
        }
        for gone in cloud.deleted.lock().unwrap().iter() {
            let original = inventory.iter().find(|r| r.key() == gone.key()).unwrap();
            prop_assert!(original.name.starts_with("dg-"), "unprefixed {original:?}");
            prop_assert!(!original.tags.get("Environment").is_some_and(|v| v.eq_ignore_ascii_case("production")), "protected {original:?}");
            prop_assert!(!managed.contains(&(original.resource_type.as_str().to_owned(), original.id.clone())), "managed {original:?}");
            let expired = match original.tags.get("expires-at").map(String::as_str) {
                Some("2020-01-01") => true,
                Some(_) => false,
                None => original.created_at.is_some_and(|t| t + chrono::Duration::hours(1) <= Utc::now()),
            };
            prop_assert!(expired, "unexpired {original:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The listing may come from a bulk view that lags (the Resource Groups Tagging API is
    /// eventually consistent) and lacks guards that take a read of their own (termination
    /// protection): whatever it leaves out, nothing protected or guarded in truth is
    /// marked, unmarked or deleted, because each candidate is read again from itself
    /// before anything is done to it.
    #[test]
    fn a_lagging_listing_never_outruns_the_last_look(
        inventory in prop::collection::vec(arb_resource(), 0..25),
        guarded in prop::collection::vec(any::<bool>(), 25),
        per_run in 1..6u32,
    ) {
        let policy = policy(false, per_run, "production");
        // One resource per key, as a cloud lists them.
        let mut keys = BTreeSet::new();
        let mut truth: Vec<Resource> = inventory.into_iter().filter(|r| keys.insert(r.key())).collect();
        for (resource, guard) in truth.iter_mut().zip(&guarded) {
            if *guard && resource.resource_type == JanitorTarget::AwsInstance {
                resource.guards.push(Guard::TerminationProtection);
            }
        }
        let cloud = std::sync::Arc::new(MemoryCloud { resources: Mutex::new(truth.clone()), ..Default::default() });
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut store = Store::open_in_memory().unwrap();
        let clouds: Vec<Box<dyn JanitorCloud>> = vec![Box::new(Lagging(std::sync::Arc::clone(&cloud)))];
        for index in 0..3 {
            cycle(&policy, Bridge::Owned(&runtime), &AtomicBool::new(false), &clouds, &Known::default(), &mut store, &format!("r{index}"), None, None).unwrap();
        }
        let touched = cloud.touched.lock().unwrap();
        for resource in &truth {
            let protected = resource.tags.get("Environment").is_some_and(|v| v.eq_ignore_ascii_case("production"));
            let blocked = protected || !resource.guards.is_empty();
            prop_assert!(!(blocked && touched.contains(&resource.key())), "touched {resource:?}");
        }
    }
}

/// A bulk listing that lags: it shows no protection tag and no guard; the last look
/// ([`JanitorCloud::refresh`]) reads the truth.
#[derive(Debug)]
struct Lagging(std::sync::Arc<MemoryCloud>);

impl JanitorCloud for Lagging {
    fn provider(&self) -> Provider {
        self.0.provider()
    }
    fn account(&self) -> &str {
        self.0.account()
    }
    fn inventory<'a>(&'a self, targets: &'a [JanitorTarget]) -> CloudFuture<'a, Vec<Resource>> {
        let listed: Vec<Resource> = self
            .0
            .resources
            .lock()
            .unwrap()
            .iter()
            .filter(|r| targets.contains(&r.resource_type))
            .map(|r| {
                let mut stale = r.clone();
                stale.tags.remove("Environment");
                stale.guards.clear();
                stale
            })
            .collect();
        Box::pin(async move { Ok(listed) })
    }
    fn refresh<'a>(&'a self, resources: &'a [Resource]) -> CloudFuture<'a, Vec<Option<Resource>>> {
        let truth = self.0.resources.lock().unwrap();
        let now = resources.iter().map(|wanted| truth.iter().find(|r| r.key() == wanted.key()).cloned()).collect();
        drop(truth);
        Box::pin(async move { Ok(now) })
    }
    fn set_tag<'a>(&'a self, resource: &'a Resource, key: &'a str, value: &'a str) -> CloudFuture<'a, ()> {
        self.0.set_tag(resource, key, value)
    }
    fn remove_tag<'a>(&'a self, resource: &'a Resource, key: &'a str) -> CloudFuture<'a, ()> {
        self.0.remove_tag(resource, key)
    }
    fn exists<'a>(&'a self, resource: &'a Resource) -> CloudFuture<'a, bool> {
        self.0.exists(resource)
    }
    fn delete<'a>(&'a self, resource: &'a Resource, options: &'a DeleteOptions) -> CloudFuture<'a, ()> {
        self.0.delete(resource, options)
    }
}

/// One policy account in the property below: its label, the account its credentials
/// really reach (or none), and whether the allowlist names it.
#[derive(Debug, Clone)]
struct Estate {
    label: &'static str,
    reaches: Option<&'static str>,
    allowlisted: bool,
}

fn arb_estate(label: &'static str) -> impl Strategy<Value = Estate> {
    (prop::sample::select(vec![Some(label), Some("999999999999"), None]), any::<bool>())
        .prop_map(move |(reaches, allowlisted)| Estate { label, reaches, allowlisted })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(120))]

    /// Whatever the credentials reach and the allowlist says: nothing is ever marked or
    /// deleted in an account that is not both verified (its credentials reach it) and
    /// allowlisted. The accounts go through the same admission as the real job
    /// ([`driftguard_engine::identity::judge`], then [`admit`]).
    #[test]
    fn nothing_is_marked_or_deleted_outside_verified_allowlisted_accounts(
        estates in (arb_estate("111111111111"), arb_estate("222222222222"), arb_estate("333333333333")),
        inventory in prop::collection::vec(arb_resource(), 1..12),
    ) {
        let mut estates = [estates.0, estates.1, estates.2];
        // The compiler refuses an enabled janitor that may delete nowhere.
        if !estates.iter().any(|e| e.allowlisted) {
            estates[0].allowlisted = true;
        }
        let allow: Vec<String> =
            estates.iter().filter(|e| e.allowlisted).map(|e| format!("\"{}\"", e.label)).collect();
        let mut text = String::from("dry_run: false\nflows:\n  - name: all\n    steps: [classify, plan, report]\nproviders:\n  aws:\n");
        for estate in &estates {
            text += &format!("    - account: \"{}\"\n      environment: sandbox\n      regions: [us-east-1]\n", estate.label);
        }
        text += "protection:\n  name_prefix: dg-\n  tags:\n    - key: Environment\n      values: [production]\n  caps:\n    max_deletions_per_run: 50\n    max_delete_percent: 100\njanitor:\n  enabled: true\n  targets: [aws_s3_bucket, aws_instance]\n  default_ttl: 1h\n  grace_period: 0s\n  phases: [api]\n  revenant_check_after: 10m\n  delete_allowlist:\n    aws: [";
        text += &allow.join(", ");
        text += "]\n";
        let policy = compile("p.yaml", &text, None, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let clouds: Vec<std::sync::Arc<MemoryCloud>> = estates
            .iter()
            .map(|estate| {
                // Each adapter lists its resources under its policy label (as the real
                // ones do): only verification can tell a mislabelled one.
                let resources = inventory
                    .iter()
                    .map(|r| Resource { account: estate.label.to_owned(), ..r.clone() })
                    .collect();
                std::sync::Arc::new(MemoryCloud {
                    resources: Mutex::new(resources),
                    label: Some(estate.label.to_owned()),
                    ..Default::default()
                })
            })
            .collect();
        let checks = estates
            .iter()
            .zip(&clouds)
            .map(|(estate, cloud)| {
                let answer = estate
                    .reaches
                    .map(|account| driftguard_engine::identity::Caller { account: account.to_owned(), principal: None })
                    .ok_or_else(|| "AccessDenied".to_owned());
                driftguard_engine::identity::judge(Provider::Aws, estate.label, answer).map(|verified| {
                    (Box::new(Shared(std::sync::Arc::clone(cloud))) as Box<dyn JanitorCloud>, verified)
                })
            })
            .collect();
        let (admitted, checked) = admit(&policy, "r0", checks);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let mut store = Store::open_in_memory().unwrap();
        for index in 0..2 {
            cycle(&policy, Bridge::Owned(&runtime), &AtomicBool::new(false), &admitted, &Known::default(), &mut store, &format!("r{index}"), None, None).unwrap();
        }
        for (estate, cloud) in estates.iter().zip(&clouds) {
            let verified = estate.reaches == Some(estate.label);
            prop_assert_eq!(checked.refused.iter().any(|r| r.account() == estate.label), !verified);
            if !(verified && estate.allowlisted) {
                prop_assert_eq!(cloud.mutations.load(Ordering::SeqCst), 0, "{:?} was touched", estate);
                prop_assert!(cloud.deleted.lock().unwrap().is_empty());
            }
        }
    }
}

#[test]
fn an_interrupted_destroy_is_judged_by_the_state_it_left() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| {
        let sub = dir.path().join(name);
        std::fs::create_dir(&sub).unwrap();
        sub
    };
    let empty = path("empty");
    std::fs::write(
        empty.join("terraform.tfstate"),
        r#"{"version": 4, "terraform_version": "1.9.8", "serial": 3, "lineage": "l", "resources": []}"#,
    )
    .unwrap();
    let (outcome, reason) = run::iac_verdict(empty.to_str().unwrap());
    assert_eq!(outcome, Outcome::Succeeded, "{reason}");
    let left = path("left");
    std::fs::write(
        left.join("terraform.tfstate"),
        r#"{"version": 4, "terraform_version": "1.9.8", "serial": 2, "lineage": "l", "resources": [{"mode": "managed", "type": "aws_s3_bucket", "name": "b", "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]", "instances": [{"attributes": {"id": "dg-b"}}]}]}"#,
    )
    .unwrap();
    let (outcome, reason) = run::iac_verdict(left.to_str().unwrap());
    assert_eq!(outcome, Outcome::Failed, "{reason}");
    assert!(reason.contains("still holds 1 resource(s)"), "{reason}");
    let (outcome, reason) = run::iac_verdict(path("none").to_str().unwrap());
    assert_eq!(outcome, Outcome::Unknown, "{reason}");
}

#[test]
fn records_in_doubt_are_settled_once_by_a_later_run_never_while_their_run_is_live() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("terraform.tfstate"),
        r#"{"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "l", "resources": []}"#,
    )
    .unwrap();
    let mut store = Store::open_in_memory().unwrap();
    let record =
        AuditRecord::new(AuditEventName::JanitorIac, "terraform destroy", Outcome::Succeeded, false, "x", "h", "p");
    let mut in_flight = record.clone();
    in_flight.run_id = "live-run".to_owned();
    let subject = crate::audit::OutboxSubject::Workdir(dir.path().display().to_string());
    let stopped = audit::begin(&mut store, &record, "phase 1", &subject).unwrap();
    let live = audit::LiveRun::enter("live-run");
    let flying = audit::begin(&mut store, &in_flight, "phase 1", &subject).unwrap();
    let policy = policy(false, 1, "production");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let clouds: Vec<Box<dyn JanitorCloud>> = vec![Box::new(MemoryCloud::default())];
    let run = |store: &mut Store, id: &str| {
        cycle(
            &policy,
            Bridge::Owned(&runtime),
            &AtomicBool::new(false),
            &clouds,
            &Known::default(),
            store,
            id,
            None,
            None,
        )
        .unwrap();
    };
    run(&mut store, "r");
    // The stopped run's record was settled and written; the live one is a call in flight.
    store.outbox_flush().unwrap();
    let left: Vec<String> = store.outbox().unwrap().into_iter().map(|entry| entry.event_id).collect();
    assert_eq!(left, std::slice::from_ref(&flying.event_id));
    assert_ne!(stopped.event_id, flying.event_id);
    drop(live);
    run(&mut store, "r2");
    store.outbox_flush().unwrap();
    assert!(store.outbox().unwrap().is_empty());
}

/// Shares one in-memory cloud between the test and the janitor.
#[derive(Debug)]
struct Shared(std::sync::Arc<MemoryCloud>);

impl JanitorCloud for Shared {
    fn provider(&self) -> Provider {
        self.0.provider()
    }
    fn account(&self) -> &str {
        self.0.account()
    }
    fn inventory<'a>(&'a self, targets: &'a [JanitorTarget]) -> CloudFuture<'a, Vec<Resource>> {
        self.0.inventory(targets)
    }
    fn set_tag<'a>(&'a self, resource: &'a Resource, key: &'a str, value: &'a str) -> CloudFuture<'a, ()> {
        self.0.set_tag(resource, key, value)
    }
    fn remove_tag<'a>(&'a self, resource: &'a Resource, key: &'a str) -> CloudFuture<'a, ()> {
        self.0.remove_tag(resource, key)
    }
    fn exists<'a>(&'a self, resource: &'a Resource) -> CloudFuture<'a, bool> {
        self.0.exists(resource)
    }
    fn delete<'a>(&'a self, resource: &'a Resource, options: &'a DeleteOptions) -> CloudFuture<'a, ()> {
        self.0.delete(resource, options)
    }
}
