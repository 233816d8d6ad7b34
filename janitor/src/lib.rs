//! The janitor's pure core: which resources may go (selection) and how many (caps).
//! Every rule here is a hard block; the cloud adapters and the two-phase nuke build on it
//! and can only ever delete what [`select`] returned as a candidate and [`apply_caps`] kept.

pub mod decide;
pub mod machine;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use driftguard_engine::model::Provider;
use driftguard_engine::policy::Policy;
use driftguard_engine::policy::checks::parse_duration;
use driftguard_engine::policy::raw::JanitorTarget;
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

/// Whether a resource qualifies for deletion. Checks run from the cheapest and most
/// fundamental block to the most specific; the first that blocks decides.
pub fn select(policy: &Policy, resource: &Resource, now: DateTime<Utc>) -> Verdict {
    let janitor = &policy.janitor;
    if !janitor.enabled {
        return Verdict::Skip(Skip::Disabled);
    }
    if !janitor.targets.contains(&resource.resource_type) {
        return Verdict::Skip(Skip::NotATarget);
    }
    // The compiler refuses an enabled janitor without a prefix; still, no prefix, no deletion.
    match &policy.protection.name_prefix {
        Some(prefix) if !prefix.is_empty() && resource.name.starts_with(prefix.as_str()) => {}
        _ => return Verdict::Skip(Skip::NoPrefix),
    }
    if let Some((key, value)) = policy.protection.protected_by(&resource.tags) {
        return Verdict::Skip(Skip::Protected { key, value });
    }
    if resource.managed {
        return Verdict::Skip(Skip::Managed);
    }
    let allowlist = &janitor.delete_allowlist;
    let allowed = match resource.provider {
        Provider::Aws => &allowlist.aws,
        Provider::Gcp => &allowlist.gcp,
        Provider::Azure => &allowlist.azure,
    };
    if !allowed.contains(&resource.account) {
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
    /// `max_delete_percent` of the type's prefixed resources.
    Percent {
        /// The cap.
        percent: u8,
        /// Prefixed resources of the type.
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
/// resources of each type seen in the scan (the base of the percentage). When the
/// candidates of a type exceed the percentage, none of that type is kept: a cleanup
/// that would remove most of a fleet is more likely a mistake than a cleanup.
pub fn apply_caps<T: Clone>(
    policy: &Policy,
    candidates: &[(JanitorTarget, T)],
    prefixed: &BTreeMap<JanitorTarget, usize>,
) -> Capped<T> {
    let protection = &policy.protection;
    let mut per_type_total: BTreeMap<JanitorTarget, usize> = BTreeMap::new();
    for (target, _) in candidates {
        *per_type_total.entry(*target).or_default() += 1;
    }
    let mut kept = Vec::new();
    let mut held = Vec::new();
    let mut kept_per_type: BTreeMap<JanitorTarget, u32> = BTreeMap::new();
    for (target, item) in candidates {
        let base = prefixed.get(target).copied().unwrap_or(0).max(per_type_total[target]);
        let percent_ok = per_type_total[target] * 100 <= usize::from(protection.max_delete_percent) * base;
        let type_limit = protection.max_deletions_per_type.get(target.as_str()).copied().unwrap_or(u32::MAX);
        let so_far = kept_per_type.get(target).copied().unwrap_or(0);
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
            *kept_per_type.entry(*target).or_default() += 1;
        }
    }
    Capped { kept, held }
}

#[cfg(test)]
mod tests;
