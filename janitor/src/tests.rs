use proptest::prelude::*;

use super::*;
use driftguard_engine::policy::{CliOverrides, compile};

const ACCOUNTS: [&str; 3] = ["111111111111", "222222222222", "333333333333"];

/// A random but valid policy: prefix, protected tags, allowlist, TTL and caps vary.
#[derive(Debug, Clone)]
struct PolicyParams {
    prefix: String,
    protected: Vec<(String, Vec<String>)>,
    allow: Vec<usize>,
    default_ttl_hours: u32,
    per_run: u32,
    per_type: Option<u32>,
    percent: u8,
    /// `percent_min_population` (the compiler's default when `None`).
    floor: Option<usize>,
    /// `ec2_disable_termination_protection`, `rds_disable_deletion_protection`.
    lift: (bool, bool),
}

fn policy_text(p: &PolicyParams) -> String {
    let mut text = String::from("flows:\n  - name: all\n    steps: [classify, plan, report]\nproviders:\n  aws:\n");
    for account in ACCOUNTS {
        text += &format!("    - account: \"{account}\"\n      environment: sandbox\n      regions: [us-east-1]\n");
    }
    text += &format!("protection:\n  name_prefix: \"{}\"\n  tags:\n", p.prefix);
    for (key, values) in &p.protected {
        text += &format!(
            "    - key: \"{key}\"\n      values: [{}]\n",
            values.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ")
        );
    }
    text += &format!("  caps:\n    max_deletions_per_run: {}\n    max_delete_percent: {}\n", p.per_run, p.percent);
    if let Some(floor) = p.floor {
        text += &format!("    percent_min_population: {floor}\n");
    }
    if let Some(per_type) = p.per_type {
        text += &format!("    max_deletions_per_type:\n      aws_instance: {per_type}\n");
    }
    text += "janitor:\n  enabled: true\n  targets: [aws_s3_bucket, aws_instance, aws_iam_role]\n";
    text += &format!(
        "  ec2_disable_termination_protection: {}\n  rds_disable_deletion_protection: {}\n",
        p.lift.0, p.lift.1
    );
    text += &format!("  default_ttl: {}h\n  delete_allowlist:\n    aws: [", p.default_ttl_hours);
    text += &p.allow.iter().map(|i| format!("\"{}\"", ACCOUNTS[*i])).collect::<Vec<_>>().join(", ");
    text += "]\n";
    text
}

fn arb_policy() -> impl Strategy<Value = PolicyParams> {
    (
        prop::sample::select(vec!["dg-", "tmp-", "sandbox-x"]),
        prop::collection::vec(
            (
                prop::sample::select(vec!["Environment", "Protected", "Keep"]),
                prop::collection::vec(prop::sample::select(vec!["production", "true", "Prod"]), 0..3),
            ),
            1..3,
        ),
        prop::collection::btree_set(0..3usize, 1..3),
        1..200u32,
        1..20u32,
        prop::option::of(1..5u32),
        1..=100u8,
    )
        .prop_map(|(prefix, protected, allow, default_ttl_hours, per_run, per_type, percent)| PolicyParams {
            prefix: prefix.to_owned(),
            protected: protected
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
                .collect(),
            allow: allow.into_iter().collect(),
            default_ttl_hours,
            per_run,
            per_type,
            percent,
            floor: None,
            lift: (false, false),
        })
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z").unwrap().with_timezone(&Utc)
}

fn arb_resource() -> impl Strategy<Value = Resource> {
    let tag_keys = prop::sample::select(vec!["Environment", "Protected", "Keep", "Owner", "expires-at", "ttl"]);
    let tag_values = prop::sample::select(vec![
        "production",
        "PRODUCTION",
        "true",
        "prod",
        "sandbox",
        "2026-01-01",
        "2030-01-01T00:00:00Z",
        "48h",
        "soon",
        "",
    ]);
    (
        0..3usize,
        prop::sample::select(vec![
            JanitorTarget::AwsS3Bucket,
            JanitorTarget::AwsInstance,
            JanitorTarget::AwsIamRole,
            JanitorTarget::AwsDbInstance,
        ]),
        prop::sample::select(vec!["dg-a", "dg-b", "tmp-c", "sandbox-xy", "prod-db", "DG-upper"]),
        prop::collection::btree_map(tag_keys, tag_values, 0..4),
        prop::option::of(0..2000i64),
        any::<bool>(),
    )
        .prop_map(|(account, resource_type, name, tags, age_hours, managed)| Resource {
            provider: Provider::Aws,
            account: ACCOUNTS[account].to_owned(),
            region: "us-east-1".to_owned(),
            resource_type,
            id: format!("{name}-{account}"),
            name: name.to_owned(),
            tags: tags.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
            created_at: age_hours.map(|hours| now() - chrono::Duration::hours(hours)),
            managed,
            guards: Vec::new(),
        })
}

/// Prefix `dg-`, one protected tag, the first account allowlisted, generous caps.
fn simple_params(protected_key: &str, protected_value: &str, default_ttl_hours: u32) -> PolicyParams {
    PolicyParams {
        prefix: "dg-".into(),
        protected: vec![(protected_key.into(), vec![protected_value.into()])],
        allow: vec![0],
        default_ttl_hours,
        per_run: 10,
        per_type: None,
        percent: 100,
        floor: None,
        lift: (false, false),
    }
}

/// `dg-x`, a bucket in the first account, created ten hours before [`now`].
fn bucket_ten_hours_old() -> Resource {
    Resource {
        provider: Provider::Aws,
        account: ACCOUNTS[0].into(),
        region: "us-east-1".into(),
        resource_type: JanitorTarget::AwsS3Bucket,
        id: "dg-x".into(),
        name: "dg-x".into(),
        tags: BTreeMap::new(),
        created_at: Some(now() - chrono::Duration::hours(10)),
        managed: false,
        guards: Vec::new(),
    }
}

fn compiled(params: &PolicyParams) -> Policy {
    compile("random.yaml", &policy_text(params), None, &CliOverrides::default())
        .unwrap_or_else(|errors| panic!("generated policy refused:\n{errors}\n{}", policy_text(params)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Written independently of `select`: what must never be a candidate.
    #[test]
    fn nothing_protected_unprefixed_managed_unexpired_or_off_allowlist_is_selected(
        params in arb_policy(),
        resources in prop::collection::vec(arb_resource(), 1..20),
    ) {
        let policy = compiled(&params);
        for resource in &resources {
            if let Verdict::Candidate { expired_at } = select(&policy, resource, now()) {
                prop_assert!(resource.name.starts_with(&params.prefix), "unprefixed {resource:?}");
                prop_assert!(!resource.managed, "managed {resource:?}");
                prop_assert!(params.allow.iter().any(|i| ACCOUNTS[*i] == resource.account), "not allowlisted {resource:?}");
                prop_assert!(resource.resource_type != JanitorTarget::AwsDbInstance, "not a target {resource:?}");
                for (key, values) in &params.protected {
                    if let Some(value) = resource.tags.get(key) {
                        let protected = values.is_empty() || values.iter().any(|v| v.to_lowercase() == value.to_lowercase());
                        prop_assert!(!protected, "protected {key}={value} selected: {resource:?}");
                    }
                }
                prop_assert!(expired_at <= now(), "unexpired {resource:?}");
                prop_assert!(resource.created_at.is_some() || resource.tags.contains_key("expires-at"));
            }
        }
    }

    #[test]
    fn caps_always_hold(
        params in arb_policy(),
        candidates in prop::collection::vec((0..3usize, prop::sample::select(vec![JanitorTarget::AwsS3Bucket, JanitorTarget::AwsInstance, JanitorTarget::AwsIamRole])), 0..60),
        extra_prefixed in 0..40usize,
        floor in 1..30usize,
    ) {
        let policy = compiled(&PolicyParams { floor: Some(floor), ..params.clone() });
        let population = |(account, resource_type): (usize, JanitorTarget)| Population {
            provider: Provider::Aws,
            account: ACCOUNTS[account].to_owned(),
            resource_type,
        };
        let candidates: Vec<(Population, usize)> = candidates.iter().copied().map(population).zip(0..).collect();
        let mut prefixed: BTreeMap<Population, usize> = BTreeMap::new();
        for (population, _) in &candidates {
            *prefixed.entry(population.clone()).or_default() += 1;
        }
        for count in prefixed.values_mut() {
            *count += extra_prefixed;
        }
        let capped = apply_caps(&policy, &candidates, &prefixed);
        prop_assert_eq!(capped.kept.len() + capped.held.len(), candidates.len(), "nothing lost");
        prop_assert!(capped.kept.len() <= params.per_run as usize);
        let kept_instances =
            capped.kept.iter().filter(|i| candidates[**i].0.resource_type == JanitorTarget::AwsInstance).count();
        if let Some(per_type) = params.per_type {
            prop_assert!(kept_instances <= per_type as usize);
        }
        for (population, base) in &prefixed {
            let kept = capped.kept.iter().filter(|i| &candidates[**i].0 == population).count();
            let total = candidates.iter().filter(|(p, _)| p == population).count();
            if kept > 0 && *base >= floor {
                prop_assert!(total * 100 <= usize::from(params.percent) * base, "percentage cap broken for {population:?}");
            }
        }
    }

    /// Whatever the policy, a guarded resource is never a candidate unless the policy
    /// lifts that guard, and an owned one never.
    #[test]
    fn guarded_resources_are_candidates_only_where_the_policy_lifts_the_guard(
        params in arb_policy(),
        resources in prop::collection::vec(arb_resource(), 1..20),
        guard in prop::sample::select(vec![Guard::TerminationProtection, Guard::DeletionProtection, Guard::OwnedBy { owner: "Auto Scaling group x".into() }]),
        lift_ec2 in any::<bool>(),
        lift_rds in any::<bool>(),
    ) {
        let policy = compiled(&PolicyParams { lift: (lift_ec2, lift_rds), ..params.clone() });
        for mut resource in resources {
            resource.guards.push(guard.clone());
            if let Verdict::Candidate { .. } = select(&policy, &resource, now()) {
                let lifted = match &guard {
                    Guard::TerminationProtection => lift_ec2,
                    Guard::DeletionProtection => lift_rds,
                    Guard::OwnedBy { .. } => false,
                };
                prop_assert!(lifted, "guarded by {guard:?} yet selected: {resource:?}");
            }
        }
    }
}

#[test]
fn the_percentage_cap_needs_a_population() {
    let mut params = simple_params("Environment", "production", 1);
    params.percent = 50;
    params.per_run = 100;
    let policy = compiled(&params);
    assert_eq!(policy.protection().percent_min_population, 10, "the default floor");
    let role = |_: usize| Population {
        provider: Provider::Aws,
        account: ACCOUNTS[0].into(),
        resource_type: JanitorTarget::AwsIamRole,
    };
    // One expired role in an account holding one: below the floor, it goes.
    let one = apply_caps(&policy, &[(role(0), 0)], &BTreeMap::from([(role(0), 1)]));
    assert_eq!(one.kept, [0]);
    // Two of three instances: still below the floor.
    let few: Vec<(Population, usize)> = (0..2).map(|i| (role(i), i)).collect();
    assert_eq!(apply_caps(&policy, &few, &BTreeMap::from([(role(0), 3)])).kept, [0, 1]);
    // 15 of 20 prefixed at 50%: held, as before.
    let many: Vec<(Population, usize)> = (0..15).map(|i| (role(i), i)).collect();
    let capped = apply_caps(&policy, &many, &BTreeMap::from([(role(0), 20)]));
    assert!(capped.kept.is_empty());
    assert_eq!(capped.held.len(), 15);
    assert_eq!(capped.held[0].1, CapHit::Percent { percent: 50, prefixed: 20 });
    // The floor is per account: 15 candidates across two accounts of 8 each are two
    // populations below the floor.
    let other = Population { account: ACCOUNTS[1].into(), ..role(0) };
    let split: Vec<(Population, usize)> = (0..15).map(|i| (if i < 8 { role(i) } else { other.clone() }, i)).collect();
    let capped = apply_caps(&policy, &split, &BTreeMap::from([(role(0), 8), (other, 8)]));
    assert_eq!(capped.kept.len(), 15);
}

#[test]
fn guards_block_at_selection_with_their_reason() {
    let params = simple_params("Environment", "production", 1);
    let policy = compiled(&params);
    let lifting = compiled(&PolicyParams { lift: (true, false), ..params.clone() });
    let mut instance = bucket_ten_hours_old();
    instance.resource_type = JanitorTarget::AwsInstance;
    assert!(matches!(select(&policy, &instance, now()), Verdict::Candidate { .. }));
    instance.guards = vec![Guard::TerminationProtection];
    assert_eq!(select(&policy, &instance, now()), Verdict::Skip(Skip::TerminationProtection));
    assert!(matches!(select(&lifting, &instance, now()), Verdict::Candidate { .. }));
    instance.guards = vec![Guard::DeletionProtection];
    assert_eq!(select(&policy, &instance, now()), Verdict::Skip(Skip::DeletionProtection));
    instance.guards = vec![Guard::OwnedBy { owner: "Auto Scaling group web".into() }];
    let Verdict::Skip(skip) = select(&policy, &instance, now()) else { panic!("owned instances never go") };
    assert_eq!(skip.describe(), "owned by Auto Scaling group web, which would replace it: remove the owner instead");
    // An unprefixed one is not the janitor's business at all: no reason worth a record.
    instance.name = "web-1".into();
    assert_eq!(select(&policy, &instance, now()), Verdict::Skip(Skip::NoPrefix));
}

#[test]
fn expiry_comes_from_tags_then_ttl_then_default() {
    let params = simple_params("Environment", "production", 72);
    let policy = compiled(&params);
    let base = bucket_ten_hours_old();
    let with = |key: &str, value: &str| {
        let mut resource = base.clone();
        resource.tags.insert(key.into(), value.into());
        resource
    };
    assert!(matches!(select(&policy, &base, now()), Verdict::Skip(Skip::NotExpired { .. })), "default 72h not reached");
    assert!(matches!(select(&policy, &with("ttl", "5h"), now()), Verdict::Candidate { .. }));
    assert!(matches!(select(&policy, &with("expires-at", "2026-11-01"), now()), Verdict::Candidate { .. }));
    assert!(matches!(
        select(&policy, &with("expires-at", "2027-01-01T00:00:00Z"), now()),
        Verdict::Skip(Skip::NotExpired { .. })
    ));
    assert_eq!(
        select(&policy, &with("expires-at", "next tuesday"), now()),
        Verdict::Skip(Skip::BadExpiryTag { tag: "expires-at".into(), value: "next tuesday".into() })
    );
    assert_eq!(
        select(&policy, &with("Environment", "Production"), now()),
        Verdict::Skip(Skip::Protected { key: "Environment".into(), value: "Production".into() })
    );
    let mut unknown_age = with("ttl", "1h");
    unknown_age.created_at = None;
    assert_eq!(select(&policy, &unknown_age, now()), Verdict::Skip(Skip::UnknownAge));
}

mod decisions {
    use super::*;
    use crate::decide::{Decision, Mode, decide, fingerprint};
    use crate::machine::{ItemEffect, ItemEvent, ItemState, step};

    /// Random inventories also carry marks: none, fresh, old, unparsable.
    fn arb_marked_resource() -> impl Strategy<Value = Resource> {
        (arb_resource(), prop::sample::select(vec![None, Some(1i64), Some(30), Some(500), Some(-1)])).prop_map(
            |(mut resource, mark)| {
                match mark {
                    Some(-1) => {
                        resource.tags.insert("driftguard-marked-at".into(), "yesterday".into());
                    }
                    Some(hours) => {
                        let at = now() - chrono::Duration::hours(hours);
                        resource.tags.insert("driftguard-marked-at".into(), at.to_rfc3339());
                    }
                    None => {}
                }
                resource
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The whole run, not one predicate: a delete decision only for a selected
        /// candidate, marked at least a grace period (24h by default) ago, under the caps.
        #[test]
        fn a_run_deletes_only_marked_candidates_past_grace_and_within_caps(
            params in arb_policy(),
            inventory in prop::collection::vec(arb_marked_resource(), 0..40),
            mode_pick in 0..3u8,
            chosen in prop::collection::btree_set(0..40usize, 0..20),
        ) {
            let policy = compiled(&params);
            let reviewed = mode_pick > 0;
            let mode = match mode_pick {
                0 => Mode::Scheduled,
                1 => Mode::Plan,
                _ => Mode::Apply(&chosen),
            };
            let decisions = decide(&policy, &inventory, now(), mode);
            prop_assert_eq!(decisions.len(), inventory.len());
            let mut deletions = 0usize;
            let mut per_type: BTreeMap<JanitorTarget, usize> = BTreeMap::new();
            for (resource, decision) in inventory.iter().zip(&decisions) {
                let selected = matches!(select(&policy, resource, now()), Verdict::Candidate { .. });
                match decision {
                    Decision::Delete { .. } => {
                        prop_assert!(selected, "deleting a non-candidate {resource:?}");
                        if let Mode::Apply(chosen) = mode {
                            let index = inventory.iter().position(|r| std::ptr::eq(r, resource)).unwrap();
                            prop_assert!(chosen.contains(&index), "deleting outside the applied plan");
                        }
                        prop_assert!(!resource.managed && resource.name.starts_with(&params.prefix));
                        prop_assert!(policy.protection().protected_by(&resource.tags).is_none());
                        if !reviewed {
                            let mark = resource.tags.get("driftguard-marked-at").expect("deleted without a mark");
                            let at = DateTime::parse_from_rfc3339(mark).expect("deleted on an unparsable mark");
                            prop_assert!(at.with_timezone(&Utc) + chrono::Duration::hours(24) <= now(), "grace not over");
                        }
                        deletions += 1;
                        *per_type.entry(resource.resource_type).or_default() += 1;
                    }
                    Decision::Mark => prop_assert!(!reviewed && selected && !resource.tags.contains_key("driftguard-marked-at")),
                    Decision::Unmark { .. } => prop_assert!(!reviewed && !selected && resource.tags.contains_key("driftguard-marked-at")),
                    _ => {}
                }
            }
            prop_assert!(deletions <= params.per_run as usize, "per-run cap");
            if let Some(limit) = params.per_type {
                prop_assert!(per_type.get(&JanitorTarget::AwsInstance).copied().unwrap_or(0) <= limit as usize);
            }
        }

        /// Every path through the machine: deletion is reached only through a delete
        /// event, and a deleted item never starts deleting again.
        #[test]
        fn the_item_machine_never_deletes_twice(events in prop::collection::vec(0..12usize, 1..30), dry_run in any::<bool>()) {
            let all = [
                ItemEvent::Marked,
                ItemEvent::Delete { phase1: true },
                ItemEvent::Delete { phase1: false },
                ItemEvent::IacSucceeded,
                ItemEvent::IacFailed { reason: "lock".into() },
                ItemEvent::Gone,
                ItemEvent::StillThere,
                ItemEvent::ApiDeleted,
                ItemEvent::ApiFailed { reason: "denied".into() },
                ItemEvent::Held { reason: "cap".into() },
                ItemEvent::Reappeared,
                ItemEvent::Unmarked { reason: "protected".into() },
            ];
            let mut state = None;
            for index in events {
                let Ok((next, effect)) = step(state, &all[index], dry_run) else { continue };
                prop_assert!(!(dry_run && effect.is_mutating()), "a simulation got {effect:?}");
                if matches!(effect, ItemEffect::RunIac | ItemEffect::DeleteViaApi | ItemEffect::WouldRunIac | ItemEffect::WouldDeleteViaApi) {
                    prop_assert!(state != Some(ItemState::Deleted), "deleting again from deleted");
                    prop_assert!(state != Some(ItemState::Revenant), "a revenant is marked again first");
                }
                if next == ItemState::Deleted {
                    prop_assert!(state.is_some_and(ItemState::in_flight), "deleted without a deletion: {state:?}");
                }
                state = Some(next);
            }
        }
    }

    #[test]
    fn the_machine_table() {
        use ItemEvent as E;
        use ItemState as S;
        let ok = |s: Option<S>, e: E| step(s, &e, false).unwrap();
        assert_eq!(ok(None, E::Marked), (S::Marked, ItemEffect::Rest));
        assert_eq!(ok(Some(S::Marked), E::Delete { phase1: true }), (S::Phase1, ItemEffect::RunIac));
        assert_eq!(ok(Some(S::Marked), E::Delete { phase1: false }), (S::Phase2, ItemEffect::DeleteViaApi));
        assert_eq!(ok(Some(S::Phase1), E::IacSucceeded), (S::Verifying, ItemEffect::CheckGone));
        assert_eq!(ok(Some(S::Phase1), E::IacFailed { reason: "x".into() }), (S::Phase2, ItemEffect::DeleteViaApi));
        assert_eq!(ok(Some(S::Verifying), E::Gone), (S::Deleted, ItemEffect::Rest));
        assert_eq!(ok(Some(S::Verifying), E::StillThere), (S::Phase2, ItemEffect::DeleteViaApi));
        assert_eq!(ok(Some(S::Phase2), E::ApiDeleted), (S::Deleted, ItemEffect::Rest));
        assert_eq!(ok(Some(S::Phase2), E::ApiFailed { reason: "x".into() }), (S::Failed, ItemEffect::Rest));
        assert_eq!(ok(Some(S::Failed), E::Delete { phase1: false }), (S::Phase2, ItemEffect::DeleteViaApi));
        assert_eq!(ok(Some(S::Deleted), E::Reappeared), (S::Revenant, ItemEffect::Rest));
        assert!(step(Some(S::Deleted), &E::Delete { phase1: false }, false).is_err());
        assert!(step(Some(S::Phase2), &E::Marked, false).is_err());
        assert!(step(None, &E::IacSucceeded, false).is_err());
        for state in ItemState::ALL {
            assert_eq!(ItemState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn marks_are_read_back_in_both_forms() {
        use crate::decide::{mark_value, marked_at};
        let params = simple_params("Protected", "true", 1);
        let policy = compiled(&params);
        let at = now() - chrono::Duration::hours(30);
        for provider in [Provider::Aws, Provider::Gcp, Provider::Azure] {
            let mut resource = Resource {
                provider,
                account: ACCOUNTS[0].into(),
                region: "r".into(),
                resource_type: JanitorTarget::AwsS3Bucket,
                id: "dg-x".into(),
                name: "dg-x".into(),
                tags: BTreeMap::new(),
                created_at: None,
                managed: false,
                guards: Vec::new(),
            };
            let value = mark_value(provider, at);
            if provider == Provider::Gcp {
                assert!(value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()), "{value}");
            }
            resource.tags.insert("driftguard-marked-at".into(), value);
            assert_eq!(marked_at(&policy, &resource, now()), Some(at));
        }
    }

    #[test]
    fn fingerprints_change_with_what_review_saw_but_not_with_the_mark() {
        let params = simple_params("Environment", "production", 1);
        let policy = compiled(&params);
        let base = bucket_ten_hours_old();
        let print = fingerprint(&policy, &base);
        let mut marked = base.clone();
        marked.tags.insert("driftguard-marked-at".into(), now().to_rfc3339());
        assert_eq!(fingerprint(&policy, &marked), print);
        let mut protected = base.clone();
        protected.tags.insert("Environment".into(), "production".into());
        assert_ne!(fingerprint(&policy, &protected), print);
        let mut managed = base.clone();
        managed.managed = true;
        assert_ne!(fingerprint(&policy, &managed), print);
    }

    #[test]
    fn a_simulation_runs_the_same_machine_without_a_mutating_effect() {
        use ItemEvent as E;
        use ItemState as S;
        let sim = |s: Option<S>, e: E| step(s, &e, true).unwrap();
        assert_eq!(sim(Some(S::Marked), E::Delete { phase1: true }), (S::Phase1, ItemEffect::WouldRunIac));
        assert_eq!(sim(Some(S::Marked), E::Delete { phase1: false }), (S::Phase2, ItemEffect::WouldDeleteViaApi));
        assert_eq!(sim(Some(S::Phase1), E::IacSucceeded), (S::Verifying, ItemEffect::Rest), "nothing to check");
        assert_eq!(
            sim(Some(S::Phase1), E::IacFailed { reason: "x".into() }),
            (S::Phase2, ItemEffect::WouldDeleteViaApi)
        );
    }
}

mod rules {
    use super::*;
    use crate::decide::Decision;
    use crate::known::Managed;
    use crate::machine::{ItemEvent, ItemState};
    use crate::rules::{Call, Recheck, Resume, WorkdirFacts, phase1_allowed, recheck, resume, settle, trusted_mark};
    use driftguard_engine::audit::Outcome;

    fn state(resources: &[(&str, &str)]) -> driftguard_engine::tfstate::StateFile {
        let resources: Vec<serde_json::Value> = resources
            .iter()
            .map(|(name, id)| {
                serde_json::json!({"mode": "managed", "type": "aws_s3_bucket", "name": name,
                "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": [{"attributes": {"id": id, "bucket": id}}]})
            })
            .collect();
        let json = serde_json::json!({"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "l", "resources": resources});
        driftguard_engine::tfstate::parse("t", json.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn a_resource_is_managed_when_any_identifying_value_of_its_type_is_in_a_state() {
        let json = serde_json::json!({"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "l",
            "resources": [
                {"mode": "managed", "type": "aws_s3_bucket", "name": "logs",
                 "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                 "instances": [{"attributes": {"id": "dg-logs", "bucket": "dg-logs", "arn": "arn:aws:s3:::dg-logs"}}]},
                {"mode": "managed", "type": "aws_iam_role", "name": "ci",
                 "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                 "instances": [{"attributes": {"id": "dg-ci", "name": "dg-ci", "unique_id": "AROA1"}}]},
                {"mode": "managed", "type": "azurerm_resource_group", "name": "rg",
                 "provider": "provider[\"registry.terraform.io/hashicorp/azurerm\"]",
                 "instances": [{"attributes": {"id": "/subscriptions/x/resourceGroups/dg-rg", "name": "dg-rg"}}]}]});
        let states = [driftguard_engine::tfstate::parse("t", json.to_string().as_bytes()).unwrap()];
        let managed = Managed::of(&states);
        let resource = |resource_type, id: &str, name: &str| Resource {
            resource_type,
            id: id.to_owned(),
            name: name.to_owned(),
            ..bucket_ten_hours_old()
        };
        for (resource, expected) in [
            (resource(JanitorTarget::AwsS3Bucket, "dg-logs", "dg-logs"), true),
            // By name alone (an IAM role is listed by name, its id is AWS's unique id).
            (resource(JanitorTarget::AwsIamRole, "AROA9", "dg-ci"), true),
            (resource(JanitorTarget::AwsIamRole, "AROA1", "other"), false),
            // Same value, another type: not this one.
            (resource(JanitorTarget::AwsIamRole, "dg-logs", "dg-logs"), false),
            (resource(JanitorTarget::AwsS3Bucket, "dg-logs2", "dg-logs2"), false),
            (resource(JanitorTarget::AzurermResourceGroup, "/subscriptions/x/resourceGroups/dg-rg", "dg-rg"), true),
        ] {
            assert_eq!(managed.manages(&resource), expected, "{resource:?}");
        }
        // What a resource group holds is matched by its ARM id, whatever the case.
        assert!(managed.holds("/SUBSCRIPTIONS/X/RESOURCEGROUPS/DG-RG"));
        assert!(!managed.holds("/subscriptions/x/resourceGroups/dg-other"));
        assert!(!Managed::default().manages(&bucket_ten_hours_old()));
    }

    #[test]
    fn a_plan_applies_exactly_its_unchanged_items_in_verified_accounts() {
        use crate::plan::{Refusal, check, make};
        let policy = compiled(&simple_params("Environment", "production", 1));
        let named = |id: &str, account: &str| Resource {
            id: id.to_owned(),
            name: id.to_owned(),
            account: account.to_owned(),
            ..bucket_ten_hours_old()
        };
        let listed = [
            named("dg-a", ACCOUNTS[0]),
            named("dg-b", ACCOUNTS[0]),
            named("dg-c", ACCOUNTS[0]),
            named("dg-d", ACCOUNTS[1]),
        ];
        let delete = Decision::Delete { workdir: None };
        let held = Decision::Held { cap: crate::CapHit::PerRun { limit: 4 } };
        let plan = make(&policy, &listed, &[delete.clone(), delete.clone(), delete.clone(), delete], now());
        assert_eq!(plan.items.len(), 4);
        assert_eq!(plan.policy_hash, policy.hash());
        let with_held = make(&policy, &listed[..1], &[held], now());
        assert!(with_held.items.is_empty());
        assert_eq!(with_held.held.len(), 1, "a held candidate is shown, never planned");

        // Now: dg-a unchanged; dg-b retagged as protected; dg-c gone; dg-d's account refused.
        let mut protected = named("dg-b", ACCOUNTS[0]);
        protected.tags.insert("Environment".into(), "production".into());
        let now_listed = [named("dg-a", ACCOUNTS[0]), protected];
        let reached = |resource: &Resource| resource.account == ACCOUNTS[0];
        let (chosen, refused) = check(&policy, &plan, &now_listed, reached);
        assert_eq!(chosen.into_iter().collect::<Vec<_>>(), vec![0]);
        let refused: Vec<(String, Refusal)> =
            refused.into_iter().map(|(item, refusal)| (item.resource.id, refusal)).collect();
        assert_eq!(
            refused,
            vec![
                ("dg-b".to_owned(), Refusal::Changed(1)),
                ("dg-c".to_owned(), Refusal::Gone),
                ("dg-d".to_owned(), Refusal::AccountRefused),
            ]
        );
    }

    #[test]
    fn a_mark_counts_only_when_the_store_made_it() {
        for (state, trusted) in [
            (None, false),
            (Some(ItemState::Marked), true),
            (Some(ItemState::Blocked), true),
            (Some(ItemState::Failed), true),
            (Some(ItemState::Phase2), true),
            (Some(ItemState::Unmarked), false),
            (Some(ItemState::Deleted), false),
            (Some(ItemState::Revenant), false),
        ] {
            assert_eq!(trusted_mark(state), trusted, "{state:?}");
        }
    }

    #[test]
    fn phase1_runs_only_where_it_destroys_nothing_but_candidates() {
        let only = state(&[("a", "dg-a")]);
        let mixed = state(&[("a", "dg-a"), ("prod", "prod-data")]);
        let facts = |listed, known_state, state| WorkdirFacts {
            listed,
            state_path: "/w/terraform.tfstate",
            known_state,
            state,
        };
        assert_eq!(phase1_allowed("/w", &facts(true, false, Ok(&only)), &["dg-a"]), Ok(()));
        assert_eq!(
            phase1_allowed("/w", &facts(false, false, Ok(&only)), &["dg-a"]),
            Err("working directory /w is not one of janitor.iac.workdirs".to_owned())
        );
        assert_eq!(
            phase1_allowed("/w", &facts(true, true, Ok(&only)), &["dg-a"]),
            Err("/w/terraform.tfstate is one of terraform.states: never destroyed".to_owned())
        );
        assert_eq!(
            phase1_allowed("/w", &facts(true, false, Ok(&mixed)), &["dg-a"]),
            Err("its state also holds aws_s3_bucket.prod (not candidates of this run)".to_owned())
        );
        assert_eq!(
            phase1_allowed("/w", &facts(true, false, Err("no readable local state")), &["dg-a"]),
            Err("no readable local state".to_owned())
        );
    }

    #[test]
    fn the_recheck_before_deletion_sees_every_hard_block_again() {
        let policy = compiled(&simple_params("Environment", "production", 1));
        let planned = bucket_ten_hours_old();
        let managed = Managed::default();
        assert_eq!(recheck(&policy, &planned, None, None, &managed, now()), Recheck::Gone);
        assert_eq!(recheck(&policy, &planned, Some(&planned), None, &managed, now()), Recheck::Proceed);
        let mut protected = planned.clone();
        protected.tags.insert("Environment".into(), "production".into());
        assert_eq!(
            recheck(&policy, &planned, Some(&protected), None, &managed, now()),
            Recheck::Block("protected by tag Environment=production".into())
        );
        let mut relabelled = planned.clone();
        relabelled.tags.insert("Owner".into(), "bob".into());
        assert_eq!(
            recheck(&policy, &planned, Some(&relabelled), None, &managed, now()),
            Recheck::Block("changed during this run (tags, protection or managed state)".into())
        );
        let inner = Resource { id: "/subscriptions/x/vault".into(), name: "kv".into(), ..protected.clone() };
        assert_eq!(
            recheck(&policy, &planned, Some(&planned), Some(&Ok(vec![inner])), &managed, now()),
            Recheck::Block("it holds kv protected by tag Environment=production".into())
        );
        let held = Managed::from_ids([("aws_s3_bucket".to_owned(), "/SUBSCRIPTIONS/X/DB".to_owned())].into());
        let inner = Resource { id: "/subscriptions/x/db".into(), name: "db".into(), ..planned.clone() };
        assert_eq!(
            recheck(&policy, &planned, Some(&planned), Some(&Ok(vec![inner])), &held, now()),
            Recheck::Block("it holds db, managed by a known Terraform state".into())
        );
        assert_eq!(
            recheck(&policy, &planned, Some(&planned), Some(&Err("503".into())), &managed, now()),
            Recheck::Block("its contents could not be listed: 503".into())
        );
    }

    #[test]
    fn an_interrupted_deletion_resumes_only_while_it_still_qualifies() {
        let delete = Decision::Delete { workdir: None };
        assert_eq!(
            resume(ItemState::Phase1, &delete),
            Resume::Finish(Some(ItemEvent::IacFailed { reason: "interrupted".into() }))
        );
        assert_eq!(resume(ItemState::Verifying, &delete), Resume::Finish(Some(ItemEvent::StillThere)));
        assert_eq!(resume(ItemState::Phase2, &delete), Resume::Finish(None));
        let held = Decision::Held { cap: crate::CapHit::PerRun { limit: 1 } };
        assert_eq!(resume(ItemState::Phase2, &held), Resume::Hold("interrupted deletion held back: held".into()));
        assert_eq!(resume(ItemState::Phase2, &Decision::Skip { skip: Skip::Managed }), Resume::Unmark(Skip::Managed));
    }

    #[test]
    fn calls_left_in_doubt_are_settled_from_what_the_cloud_shows() {
        let mark = Call::of_record("tag:mark", Some("driftguard-marked-at=2026-01-01T00:00:00Z")).unwrap();
        assert_eq!(mark.action(), "tag:mark");
        assert_eq!(Call::of_record("delete:aws_s3_bucket", None), Some(Call::Delete(JanitorTarget::AwsS3Bucket)));
        assert_eq!(
            Call::of_record("tag:unmark", Some("driftguard-marked-at")),
            Some(Call::Unmark { tag: "driftguard-marked-at".into() })
        );
        assert_eq!(Call::of_record("s3:PutBucketTagging", None), None);
        let mut listed = bucket_ten_hours_old();
        assert_eq!(settle(&mark, Some(&listed), true, None).unwrap().0, Outcome::Failed, "the tag is not there");
        listed.tags.insert("driftguard-marked-at".into(), "2026-01-01T00:00:00Z".into());
        assert_eq!(settle(&mark, Some(&listed), true, None).unwrap().0, Outcome::Succeeded);
        assert_eq!(settle(&mark, None, true, None).unwrap().0, Outcome::Unknown);
        let delete = Call::Delete(JanitorTarget::AwsS3Bucket);
        assert_eq!(settle(&delete, Some(&listed), true, None).unwrap().0, Outcome::Failed);
        assert_eq!(settle(&delete, None, true, Some(false)).unwrap().0, Outcome::Succeeded);
        assert_eq!(settle(&delete, None, true, Some(true)).unwrap().0, Outcome::Failed);
        assert_eq!(settle(&delete, None, true, None), None, "no answer: asked again next run");
        assert_eq!(settle(&delete, None, false, None).unwrap().0, Outcome::Unknown);
    }
}

mod metrics {
    use crate::machine::{INTERRUPTED, ItemEvent, ItemState, deletion_outcome};

    #[test]
    fn each_settled_deletion_counts_once_by_phase_and_outcome() {
        let failed = |reason: &str| ItemEvent::IacFailed { reason: reason.to_owned() };
        let api_failed = ItemEvent::ApiFailed { reason: "AccessDenied".to_owned() };
        let cases = [
            (Some(ItemState::Verifying), ItemEvent::Gone, Some(("iac", "succeeded"))),
            (Some(ItemState::Phase1), ItemEvent::Gone, Some(("iac", "succeeded"))),
            (Some(ItemState::Phase1), failed("exit 1"), Some(("iac", "failed"))),
            (Some(ItemState::Phase1), failed(INTERRUPTED), None),
            (Some(ItemState::Phase2), ItemEvent::Gone, Some(("api", "succeeded"))),
            (Some(ItemState::Phase2), ItemEvent::ApiDeleted, Some(("api", "succeeded"))),
            (Some(ItemState::Phase2), api_failed, Some(("api", "failed"))),
            (Some(ItemState::Marked), ItemEvent::Gone, None),
            (None, ItemEvent::Marked, None),
        ];
        for (from, event, expected) in cases {
            assert_eq!(deletion_outcome(from, &event), expected, "{from:?} {event:?}");
        }
    }
}
