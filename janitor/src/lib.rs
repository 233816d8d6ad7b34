//! The janitor's pure core: which resources may go (selection) and how many (caps).
//! Every rule here is a hard block; the cloud adapters and the two-phase nuke build on it
//! and can only ever delete what [`select`] returned as a candidate and [`apply_caps`] kept.

pub mod decide;
pub mod known;
pub mod machine;
pub mod plan;
pub mod rules;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use driftguard_engine::model::JanitorTarget;
use driftguard_engine::model::Provider;
use driftguard_engine::policy::Policy;
use driftguard_engine::policy::checks::parse_duration;
use serde::{Deserialize, Serialize};

/// A live resource as a provider lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// Cloud.
    pub provider: Provider,
    /// Account, project or subscription.
    pub account: String,
    /// Region or location.
    pub region: String,
    /// Type.
    pub resource_type: JanitorTarget,
    /// Cloud id.
    pub id: String,
    /// Name (the prefix applies to it).
    pub name: String,
    /// Tags or labels.
    pub tags: BTreeMap<String, String>,
    /// Creation time, when the cloud reports one.
    pub created_at: Option<DateTime<Utc>>,
    /// Whether any known Terraform state manages it.
    pub managed: bool,
    /// What the cloud itself says stands in the way of deleting it (listed with it, so
    /// that a resource the janitor can never delete is blocked at selection: never
    /// marked, planned, counted against a cap or failed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guards: Vec<Guard>,
}

/// A cloud-side reason a resource cannot simply be deleted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "guard")]
pub enum Guard {
    /// EC2 termination protection (`DisableApiTermination`) is on.
    TerminationProtection,
    /// RDS deletion protection is on.
    DeletionProtection,
    /// Another service owns it and would replace it (an Auto Scaling group, an EKS node
    /// group, a Spot request, an Aurora cluster); that owner, perhaps managed by
    /// Terraform under another type, is what to remove.
    OwnedBy {
        /// The owner, e.g. `Auto Scaling group web-asg`.
        owner: String,
    },
}

/// The resources a percentage cap is taken of: one type in one account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Population {
    /// Cloud.
    pub provider: Provider,
    /// Account, project or subscription.
    pub account: String,
    /// Type.
    pub resource_type: JanitorTarget,
}

impl Population {
    /// The population a resource belongs to.
    pub fn of(resource: &Resource) -> Self {
        Self { provider: resource.provider, account: resource.account.clone(), resource_type: resource.resource_type }
    }
}

impl Resource {
    /// Its store key: `provider/account/region/type/id`.
    pub fn key(&self) -> String {
        format!(
            "{}/{}/{}/{}/{}",
            self.provider.as_str(),
            self.account,
            self.region,
            self.resource_type.as_str(),
            self.id
        )
    }
}

/// Why a resource is not a candidate. Each is a hard block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Skip {
    /// The janitor is off.
    Disabled,
    /// Its type is not among `janitor.targets`.
    NotATarget,
    /// Its name lacks `protection.name_prefix`.
    NoPrefix,
    /// A protected tag.
    Protected {
        /// Tag key.
        key: String,
        /// Tag value.
        value: String,
    },
    /// A Terraform state manages it.
    Managed,
    /// Its account is not in `janitor.delete_allowlist`.
    NotAllowlisted,
    /// It has not expired yet.
    NotExpired {
        /// When it will.
        expires_at: DateTime<Utc>,
    },
    /// An expiry tag does not parse: never guess on a deletion.
    BadExpiryTag {
        /// The tag.
        tag: String,
        /// Its value.
        value: String,
    },
    /// No expiry tag and no creation time: its age is unknown.
    UnknownAge,
    /// Applying a reviewed plan: not one of its items.
    NotInPlan,
    /// EC2 termination protection is on and the policy does not lift it.
    TerminationProtection,
    /// RDS deletion protection is on and the policy does not lift it.
    DeletionProtection,
    /// Another service owns it (see [`Guard::OwnedBy`]).
    OwnedBy {
        /// The owner.
        owner: String,
    },
}

impl Skip {
    /// In words, for summaries and audit reasons.
    pub fn describe(&self) -> String {
        match self {
            Skip::Disabled => "the janitor is disabled".to_owned(),
            Skip::NotATarget => "not a janitor target type".to_owned(),
            Skip::NoPrefix => "name lacks the policy's prefix".to_owned(),
            Skip::Protected { key, value } => format!("protected by tag {key}={value}"),
            Skip::Managed => "managed by a known Terraform state".to_owned(),
            Skip::NotAllowlisted => "account not in janitor.delete_allowlist".to_owned(),
            Skip::NotExpired { expires_at } => format!("expires at {}", expires_at.to_rfc3339()),
            Skip::BadExpiryTag { tag, value } => format!("expiry tag {tag}={value:?} does not parse"),
            Skip::UnknownAge => "no expiry tag and no creation time".to_owned(),
            Skip::NotInPlan => "not in the applied plan".to_owned(),
            Skip::TerminationProtection => {
                "termination protection is on and janitor.ec2_disable_termination_protection is false".to_owned()
            }
            Skip::DeletionProtection => {
                "deletion protection is on and janitor.rds_disable_deletion_protection is false".to_owned()
            }
            Skip::OwnedBy { owner } => format!("owned by {owner}, which would replace it: remove the owner instead"),
        }
    }
}

/// The selection verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// May be marked (and, after the grace period, deleted).
    Candidate {
        /// When it expired.
        expired_at: DateTime<Utc>,
    },
    /// Must not be touched.
    Skip(Skip),
}

fn parse_expiry(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?.and_hms_opt(0, 0, 0).map(|time| time.and_utc())
}

/// Which instances' termination protection the last look at candidates must read: only
/// where it can decide something, for names with the prefix (no other is ever a
/// candidate) while the policy does not lift the protection ([`select`] blocks on it
/// then). `None`: read none.
pub fn termination_reads(policy: &Policy) -> Option<&str> {
    let prefix = policy.protection().name_prefix.as_deref().filter(|prefix| !prefix.is_empty())?;
    (!policy.janitor().ec2_disable_termination_protection).then_some(prefix)
}

/// Whether a resource qualifies for deletion. Checks run from the cheapest and most
/// fundamental block to the most specific; the first that blocks decides.
pub fn select(policy: &Policy, resource: &Resource, now: DateTime<Utc>) -> Verdict {
    let janitor = &policy.janitor();
    if !janitor.enabled {
        return Verdict::Skip(Skip::Disabled);
    }
    if !janitor.targets.contains(&resource.resource_type) {
        return Verdict::Skip(Skip::NotATarget);
    }
    // The compiler refuses an enabled janitor without a prefix; still, no prefix, no deletion.
    match &policy.protection().name_prefix {
        Some(prefix) if !prefix.is_empty() && resource.name.starts_with(prefix.as_str()) => {}
        _ => return Verdict::Skip(Skip::NoPrefix),
    }
    if let Some((key, value)) = policy.protection().protected_by(&resource.tags) {
        return Verdict::Skip(Skip::Protected { key, value });
    }
    if resource.managed {
        return Verdict::Skip(Skip::Managed);
    }
    // What the cloud would refuse, or undo, under this policy: known before anything is
    // written, so it is never marked, planned or counted against a cap.
    for guard in &resource.guards {
        match guard {
            Guard::TerminationProtection if !janitor.ec2_disable_termination_protection => {
                return Verdict::Skip(Skip::TerminationProtection);
            }
            Guard::DeletionProtection if !janitor.rds_disable_deletion_protection => {
                return Verdict::Skip(Skip::DeletionProtection);
            }
            Guard::OwnedBy { owner } => return Verdict::Skip(Skip::OwnedBy { owner: owner.clone() }),
            Guard::TerminationProtection | Guard::DeletionProtection => {}
        }
    }
    if !policy.allowlisted(resource.provider, &resource.account) {
        return Verdict::Skip(Skip::NotAllowlisted);
    }
    let expires_at = if let Some(text) = resource.tags.get(&janitor.expires_at_tag) {
        match parse_expiry(text) {
            Some(time) => time,
            None => {
                return Verdict::Skip(Skip::BadExpiryTag { tag: janitor.expires_at_tag.clone(), value: text.clone() });
            }
        }
    } else {
        let Some(created_at) = resource.created_at else { return Verdict::Skip(Skip::UnknownAge) };
        let ttl = match resource.tags.get(&janitor.ttl_tag) {
            Some(text) => match parse_duration(text) {
                Ok(ttl) => ttl,
                Err(_) => {
                    return Verdict::Skip(Skip::BadExpiryTag { tag: janitor.ttl_tag.clone(), value: text.clone() });
                }
            },
            None => janitor.default_ttl,
        };
        match chrono::Duration::from_std(ttl).ok().and_then(|ttl| created_at.checked_add_signed(ttl)) {
            Some(time) => time,
            // A TTL too large to represent never expires.
            None => return Verdict::Skip(Skip::NotExpired { expires_at: DateTime::<Utc>::MAX_UTC }),
        }
    };
    if expires_at > now {
        return Verdict::Skip(Skip::NotExpired { expires_at });
    }
    Verdict::Candidate { expired_at: expires_at }
}

/// Which cap held a candidate back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "cap")]
pub enum CapHit {
    /// `max_deletions_per_run`.
    PerRun {
        /// The cap.
        limit: u32,
    },
    /// `max_deletions_per_type`.
    PerType {
        /// The cap.
        limit: u32,
    },
    /// `max_delete_percent` of the type's prefixed resources in the account.
    Percent {
        /// The cap.
        percent: u8,
        /// Prefixed resources of the type in the account.
        prefixed: usize,
    },
}

/// The result of applying caps, in candidate order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capped<T> {
    /// Kept: at most the caps allow.
    pub kept: Vec<T>,
    /// Held back, with the cap that held each.
    pub held: Vec<(T, CapHit)>,
}

/// Applies the per-run, per-type and percentage caps. `prefixed` counts the prefixed
/// resources of each population (a type in an account) seen in the scan: the base of the
/// percentage, which applies only to a population of at least
/// `protection.percent_min_population` (a percentage of one or two resources means
/// nothing). When a population's candidates exceed the percentage, none of them is kept:
/// a cleanup that would remove most of a fleet is more likely a mistake than a cleanup.
pub fn apply_caps<T: Clone>(
    policy: &Policy,
    candidates: &[(Population, T)],
    prefixed: &BTreeMap<Population, usize>,
) -> Capped<T> {
    let protection = &policy.protection();
    let mut per_population: BTreeMap<&Population, usize> = BTreeMap::new();
    for (population, _) in candidates {
        *per_population.entry(population).or_default() += 1;
    }
    let mut kept = Vec::new();
    let mut held = Vec::new();
    let mut kept_per_type: BTreeMap<JanitorTarget, u32> = BTreeMap::new();
    for (population, item) in candidates {
        let total = per_population[population];
        let base = prefixed.get(population).copied().unwrap_or(0).max(total);
        let percent_ok = base < protection.percent_min_population
            || total * 100 <= usize::from(protection.max_delete_percent) * base;
        let target = population.resource_type;
        let type_limit = protection.max_deletions_per_type.get(target.as_str()).copied().unwrap_or(u32::MAX);
        let so_far = kept_per_type.get(&target).copied().unwrap_or(0);
        let hit = if !percent_ok {
            Some(CapHit::Percent { percent: protection.max_delete_percent, prefixed: base })
        } else if u32::try_from(kept.len()).unwrap_or(u32::MAX) >= protection.max_deletions_per_run {
            Some(CapHit::PerRun { limit: protection.max_deletions_per_run })
        } else if so_far >= type_limit {
            Some(CapHit::PerType { limit: type_limit })
        } else {
            None
        };
        if let Some(hit) = hit {
            held.push((item.clone(), hit));
        } else {
            kept.push(item.clone());
            *kept_per_type.entry(target).or_default() += 1;
        }
    }
    Capped { kept, held }
}

#[cfg(test)]
mod tests;
