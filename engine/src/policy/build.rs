//! The builder: turns a checked [`PolicyFile`] into a [`Policy`]. It is the only code that
//! constructs one (the fields are `pub(super)`, visible to this module and no further).

use std::time::Duration;

use sha2::{Digest, Sha256};

use super::checks::{Glob, parse_duration, parse_glob};
use super::compiled::{
    Account, AssumeRole, Classification, ClassificationRule, DaemonSettings, Detection, Flow, IacCommand, Identity,
    Janitor, Matcher, Policy, Protection, Remediation, Retry, Schedule, StateSource, Webhook,
    default_requests_per_second,
};
use super::diag::Seg;
use super::raw::{self, PolicyFile, StateBackend};
use crate::model::{JobSplit, Provider};

type Problems = Vec<(Vec<Seg>, String)>;

struct Builder {
    problems: Problems,
}

impl Builder {
    fn duration(&mut self, path: &[&str], text: &str) -> Duration {
        parse_duration(text).unwrap_or_else(|message| {
            self.problems.push((path.iter().map(|p| Seg::Key((*p).to_owned())).collect(), message));
            Duration::ZERO
        })
    }

    fn globs(&mut self, base: &[Seg], field: &str, texts: &[String]) -> Vec<Glob> {
        texts
            .iter()
            .enumerate()
            .filter_map(|(index, text)| match parse_glob(text) {
                Ok(glob) => Some(glob),
                Err(message) => {
                    let mut path = base.to_vec();
                    path.push(Seg::Key(field.to_owned()));
                    path.push(Seg::Index(index));
                    self.problems.push((path, message));
                    None
                }
            })
            .collect()
    }

    fn matcher(&mut self, base: &[Seg], raw: &raw::Matcher) -> Matcher {
        Matcher {
            providers: raw.provider.clone(),
            resource_types: self.globs(base, "resource_type", &raw.resource_type),
            attributes: self.globs(base, "attribute", &raw.attribute),
            kinds: raw.kind.clone(),
            environments: raw.environment.clone(),
            severities: raw.severity.clone(),
            tags: raw.tags.clone(),
            actual: raw.actual_matches.as_ref().and_then(|text| text.parsed().ok().cloned()),
        }
    }

    fn accounts(file: &PolicyFile) -> Vec<Account> {
        let allow = &file.janitor.delete_allowlist;
        let rate = |provider: Provider, set: Option<u32>| set.unwrap_or_else(|| default_requests_per_second(provider));
        let mut out = Vec::new();
        for account in &file.providers.aws {
            let assume_role = account.assume_role.as_ref().map(|role| AssumeRole {
                role_arn: role.role_arn.clone().unwrap_or_default(),
                external_id: role.external_id.clone(),
                session_name: role.session_name.clone().unwrap_or_else(|| AssumeRole::DEFAULT_SESSION_NAME.to_owned()),
                // Checked by garde already (the same parser).
                duration: role.duration.as_deref().and_then(|text| parse_duration(text).ok()),
            });
            out.push(Account {
                provider: Provider::Aws,
                id: account.account.clone(),
                environment: account.environment.clone(),
                allowlisted: allow.aws.contains(&account.account),
                rate: rate(Provider::Aws, account.max_requests_per_second),
                regions: account.regions.clone(),
                endpoint: account.endpoint.clone(),
                identity: Identity::Aws { profile: account.profile.clone(), assume_role },
            });
        }
        for project in &file.providers.gcp {
            out.push(Account {
                provider: Provider::Gcp,
                id: project.project.clone(),
                environment: project.environment.clone(),
                allowlisted: allow.gcp.contains(&project.project),
                rate: rate(Provider::Gcp, project.max_requests_per_second),
                regions: Vec::new(),
                endpoint: project.endpoint.clone(),
                identity: Identity::Gcp { impersonate_service_account: project.impersonate_service_account.clone() },
            });
        }
        for subscription in &file.providers.azure {
            let service_principal = subscription.tenant_id.clone().zip(subscription.client_id.clone());
            out.push(Account {
                provider: Provider::Azure,
                id: subscription.subscription.clone(),
                environment: subscription.environment.clone(),
                allowlisted: allow.azure.contains(&subscription.subscription),
                rate: rate(Provider::Azure, subscription.max_requests_per_second),
                regions: Vec::new(),
                endpoint: subscription.endpoint.clone(),
                identity: Identity::Azure {
                    service_principal,
                    client_secret_env: subscription.client_secret_env.clone(),
                },
            });
        }
        out
    }

    fn schedule(&mut self, name: &str, raw: &raw::Schedule) -> Schedule {
        let cron = match raw.cron.parsed() {
            Ok(normalised) => normalised.clone(),
            Err(message) => {
                self.problems.push((
                    vec![Seg::Key("schedules".into()), Seg::Key(name.into()), Seg::Key("cron".into())],
                    message,
                ));
                String::new()
            }
        };
        if name == "janitor" && raw.split == JobSplit::Region {
            self.problems.push((
                vec![Seg::Key("schedules".into()), Seg::Key(name.into()), Seg::Key("split".into())],
                "the janitor splits by account at most (its caps and phases work per account): use all or account"
                    .to_owned(),
            ));
        }
        Schedule { cron, jitter: self.duration(&["schedules", name, "jitter"], &raw.jitter), split: raw.split }
    }
}

fn clamp_u32(value: i64) -> u32 {
    u32::try_from(value.max(0)).unwrap_or(u32::MAX)
}

/// Builds the validated policy from a checked [`PolicyFile`]. The checks ran already;
/// any problem here is reported rather than trusted away.
pub(crate) fn build(source: &str, text: &str, file: &PolicyFile) -> Result<Policy, Problems> {
    let mut builder = Builder { problems: Vec::new() };
    let classification = Classification {
        default_severity: file.classification.default_severity,
        environment_tag: file.classification.environment_tag.clone(),
        rules: file
            .classification
            .rules
            .iter()
            .enumerate()
            .map(|(index, rule)| {
                let base = [
                    Seg::Key("classification".into()),
                    Seg::Key("rules".into()),
                    Seg::Index(index),
                    Seg::Key("match".into()),
                ];
                ClassificationRule {
                    name: rule.name.clone(),
                    matcher: builder.matcher(&base, &rule.matcher),
                    severity: rule.severity.unwrap_or_default(),
                    controls: rule.controls.clone(),
                }
            })
            .collect(),
        ignore: file
            .classification
            .ignore
            .iter()
            .filter_map(|rule| Some((parse_glob(&rule.resource_type).ok()?, parse_glob(&rule.attribute).ok()?)))
            .collect(),
    };
    let detection_base = [Seg::Key("detection".into()), Seg::Key("unmanaged".into())];
    let detection = Detection {
        unmanaged_enabled: file.detection.unmanaged.enabled,
        unmanaged_types: builder.globs(&detection_base, "resource_types", &file.detection.unmanaged.resource_types),
        exclude_names: builder.globs(&detection_base, "exclude_names", &file.detection.unmanaged.exclude_names),
        exclude_tags: file.detection.unmanaged.exclude_tags.clone(),
        concurrency: usize::try_from(file.detection.concurrency.clamp(1, 64)).unwrap_or(4),
    };
    let flows = file
        .flows
        .iter()
        .enumerate()
        .map(|(index, flow)| {
            let base = [Seg::Key("flows".into()), Seg::Index(index), Seg::Key("match".into())];
            Flow {
                name: flow.name.clone(),
                matcher: builder.matcher(&base, &flow.matcher),
                steps: flow.steps.clone(),
                max_attempts: flow.max_attempts,
            }
        })
        .collect();
    let states = file
        .terraform
        .states
        .iter()
        .map(|state| match state.backend {
            StateBackend::Local => StateSource::Local { name: state.name.clone(), paths: state.paths.clone() },
            StateBackend::S3 => StateSource::S3 {
                name: state.name.clone(),
                bucket: state.bucket.clone().unwrap_or_default(),
                key: state.key.clone().unwrap_or_default(),
                region: state.region.clone().unwrap_or_default(),
            },
        })
        .collect();
    let caps = &file.protection.caps;
    let protection = Protection {
        tags: file
            .protection
            .tags
            .iter()
            .map(|tag| (tag.key.clone(), tag.values.iter().map(|v| v.to_lowercase()).collect()))
            .collect(),
        name_prefix: file.protection.name_prefix.clone().filter(|prefix| !prefix.is_empty()),
        max_remediations_per_run: clamp_u32(caps.max_remediations_per_run),
        max_deletions_per_run: clamp_u32(caps.max_deletions_per_run),
        max_deletions_per_type: caps.max_deletions_per_type.iter().map(|(k, v)| (k.clone(), clamp_u32(*v))).collect(),
        max_delete_percent: u8::try_from(caps.max_delete_percent.clamp(0, 100)).unwrap_or(100),
        percent_min_population: usize::try_from(caps.percent_min_population.max(1)).unwrap_or(1),
    };
    let j = &file.janitor;
    let janitor = Janitor {
        enabled: j.enabled,
        targets: j.targets.clone(),
        expires_at_tag: j.ttl_tags.expires_at.clone(),
        ttl_tag: j.ttl_tags.ttl.clone(),
        default_ttl: builder.duration(&["janitor", "default_ttl"], &j.default_ttl),
        grace_period: builder.duration(&["janitor", "grace_period"], &j.grace_period),
        mark_tag: j.mark_tag.clone(),
        phases: j.phases.clone(),
        iac: IacCommand {
            command: j.iac.command.clone(),
            args: j.iac.args.clone(),
            workdir_tag: j.iac.workdir_tag.clone().filter(|tag| !tag.is_empty()),
            env: j.iac.env.clone(),
        },
        iac_timeout: builder.duration(&["janitor", "iac", "timeout"], &j.iac.timeout),
        iac_workdirs: j
            .iac
            .workdirs
            .iter()
            .filter_map(|(glob, dir)| Some((parse_glob(glob).ok()?, dir.clone())))
            .collect(),
        ec2_disable_termination_protection: j.ec2_disable_termination_protection,
        rds_skip_final_snapshot: j.rds_skip_final_snapshot,
        rds_disable_deletion_protection: j.rds_disable_deletion_protection,
        revenant_check_after: builder.duration(&["janitor", "revenant_check_after"], &j.revenant_check_after),
    };
    let accounts = Builder::accounts(file);
    let retry = Retry {
        max_attempts: clamp_u32(file.retry.max_attempts),
        base_delay: builder.duration(&["retry", "base_delay"], &file.retry.base_delay),
        max_delay: builder.duration(&["retry", "max_delay"], &file.retry.max_delay),
        jitter: file.retry.jitter,
    };
    let detect_schedule = builder.schedule("detect", &file.schedules.detect);
    let janitor_schedule = builder.schedule("janitor", &file.schedules.janitor);
    let remediation = Remediation {
        allow: file.remediation.allow.iter().map(|a| (a.environment.clone(), a.severity.clone())).collect(),
        verify_after: builder.duration(&["remediation", "verify_after"], &file.remediation.verify_after),
    };
    let metrics_listen = match file.daemon.metrics_listen.trim() {
        "" => None,
        text => {
            let parsed = text.parse::<std::net::SocketAddr>().ok();
            if parsed.is_none() {
                builder.problems.push((
                    vec![Seg::Key("daemon".into()), Seg::Key("metrics_listen".into())],
                    format!("{text:?} is not an address with a port, e.g. 127.0.0.1:9464 or [::1]:9464"),
                ));
            }
            parsed
        }
    };
    let daemon = DaemonSettings {
        shutdown_timeout: builder.duration(&["daemon", "shutdown_timeout"], &file.daemon.shutdown_timeout),
        metrics_listen,
        report_path: Some(file.daemon.report_path.trim()).filter(|p| !p.is_empty()).map(std::path::PathBuf::from),
    };
    let mut webhook_names = std::collections::BTreeSet::new();
    for (index, webhook) in file.notifications.webhooks.iter().enumerate() {
        if !webhook.name.is_empty() && !webhook_names.insert(webhook.name.as_str()) {
            builder.problems.push((
                vec![
                    Seg::Key("notifications".into()),
                    Seg::Key("webhooks".into()),
                    Seg::Index(index),
                    Seg::Key("name".into()),
                ],
                format!("duplicate webhook name {:?}: names identify webhooks in logs and metrics", webhook.name),
            ));
        }
    }
    if !builder.problems.is_empty() {
        return Err(builder.problems);
    }
    Ok(Policy {
        source: source.to_owned(),
        hash: hex::encode(Sha256::digest(text.as_bytes())),
        dry_run: file.dry_run,
        store_path: file.store.path.clone(),
        log_format: file.logging.format,
        log_level: file.logging.level,
        states,
        accounts,
        detect_schedule,
        janitor_schedule,
        detection,
        classification,
        flows,
        remediation,
        protection,
        janitor,
        retry,
        daemon,
        webhooks: file
            .notifications
            .webhooks
            .iter()
            .map(|webhook| Webhook {
                name: webhook.name.clone(),
                format: webhook.format,
                url_env: webhook.url_env.clone(),
                events: webhook.events.clone(),
                max_per_minute: webhook.max_per_minute,
            })
            .collect(),
    })
}
