//! Webhooks: escalated findings and janitor marks, one aggregated message per job run and
//! webhook, Slack-compatible or generic JSON, with retries (the policy's backoff) and a
//! per-webhook rate limit.
//!
//! A webhook URL is a secret (it is the credential): it comes from the environment
//! variable the policy names, and it never reaches a log line, an error or a metric. Errors
//! from the HTTP client are stripped of their URL before they are formatted.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use backon::Retryable;
use driftguard_engine::audit::{AuditEventName, AuditRecord, Outcome};
use driftguard_engine::model::{NotifyEvent, WebhookFormat};
use driftguard_engine::policy::Policy;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Serialize;
use serde_json::{Value, json};

use super::metrics::Metrics;
use crate::audit;

/// Items listed in one Slack message; the rest are counted.
const SLACK_ITEMS: usize = 20;
/// Longest wait a `Retry-After` may impose on one delivery attempt.
const MAX_RETRY_AFTER: Duration = Duration::from_mins(1);

/// One thing worth announcing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Why it is announced.
    pub event: NotifyEvent,
    /// Cloud.
    pub provider: String,
    /// Account, project or subscription.
    pub account: String,
    /// Resource type.
    pub resource_type: String,
    /// Resource id.
    pub resource_id: String,
    /// Severity (findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// One line for people.
    pub summary: String,
}

/// One job run's announcements.
#[derive(Debug, Clone, Serialize)]
pub struct Announcement {
    /// The job (`detect`, `janitor/111111111111`, ...).
    pub job: String,
    /// Its run.
    pub run_id: String,
    /// Whether the run was a simulation.
    pub dry_run: bool,
    /// The host.
    pub host: String,
    /// What to say.
    pub items: Vec<Item>,
}

/// A webhook URL: printed as its variable's name only.
#[derive(Clone)]
struct Secret(String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

struct Hook {
    name: String,
    format: WebhookFormat,
    url: Secret,
    events: Vec<NotifyEvent>,
    limiter: DefaultDirectRateLimiter,
}

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hook").field("name", &self.name).field("format", &self.format).finish_non_exhaustive()
    }
}

/// The policy's webhooks, ready to send.
#[derive(Debug, Clone)]
pub struct Webhooks {
    hooks: Vec<Arc<Hook>>,
    /// Built only when there is a webhook: a client loads its TLS root certificates, pages
    /// and parsing a daemon without webhooks never uses (1 MiB of its idle memory).
    client: Option<reqwest::Client>,
    retry: driftguard_engine::policy::Retry,
}

impl Webhooks {
    /// Resolves each webhook's URL from the environment. Every problem is listed (by the
    /// variable's name; a value is never printed): a webhook that cannot be reached by
    /// construction is a policy error, found at startup or reload, not at the first alert.
    pub fn from_policy(policy: &Policy, lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Vec<String>> {
        let mut hooks = Vec::new();
        let mut problems = Vec::new();
        for (index, webhook) in policy.webhooks().iter().enumerate() {
            let place = format!("{}: notifications.webhooks[{index}] ({})", policy.source(), webhook.name);
            let Some(url) = lookup(&webhook.url_env).filter(|url| !url.trim().is_empty()) else {
                problems.push(format!("{place}: environment variable {} is not set", webhook.url_env));
                continue;
            };
            match reqwest::Url::parse(url.trim()) {
                Ok(parsed) if matches!(parsed.scheme(), "http" | "https") && parsed.host().is_some() => {}
                _ => {
                    problems.push(format!(
                        "{place}: ${} does not hold an http(s) URL (its value is not shown: it is a secret)",
                        webhook.url_env
                    ));
                    continue;
                }
            }
            let per_minute = NonZeroU32::new(webhook.max_per_minute).unwrap_or(NonZeroU32::MIN);
            hooks.push(Arc::new(Hook {
                name: webhook.name.clone(),
                format: webhook.format,
                url: Secret(url.trim().to_owned()),
                events: webhook.events.clone(),
                limiter: RateLimiter::direct(Quota::per_minute(per_minute)),
            }));
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        let client = if hooks.is_empty() {
            None
        } else {
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|error| vec![format!("cannot build the webhook HTTP client: {}", error.without_url())])?;
            Some(client)
        };
        Ok(Self { hooks, client, retry: policy.retry() })
    }

    /// Whether any webhook is configured.
    pub fn is_empty(&self) -> bool {
        self.hooks.is_empty()
    }

    /// Sends the announcement to every webhook that wants some of its items, each in its
    /// own task (a slow webhook delays nothing else). The tasks go into `tasks` so that a
    /// draining daemon can wait for them.
    pub fn announce(
        &self,
        announcement: &Announcement,
        metrics: &Arc<Metrics>,
        tasks: &mut tokio::task::JoinSet<()>,
        policy_hash: &str,
    ) {
        let Some(client) = &self.client else { return };
        for hook in &self.hooks {
            let items: Vec<Item> =
                announcement.items.iter().filter(|item| hook.events.contains(&item.event)).cloned().collect();
            if items.is_empty() {
                continue;
            }
            let subset = Announcement { items, ..announcement.clone() };
            let body = match hook.format {
                WebhookFormat::Slack => slack_body(&subset),
                WebhookFormat::Generic => generic_body(&subset),
            };
            let hook = Arc::clone(hook);
            let client = client.clone();
            let retry = self.retry;
            let metrics = Arc::clone(metrics);
            let policy_hash = policy_hash.to_owned();
            tasks.spawn(async move {
                hook.limiter.until_ready().await;
                let result = deliver(&client, &hook, &body, &retry).await;
                let outcome = if result.is_ok() { Outcome::Succeeded } else { Outcome::Failed };
                metrics.webhook(&hook.name, if result.is_ok() { "succeeded" } else { "failed" });
                let mut record = AuditRecord::new(
                    AuditEventName::NotificationSent,
                    "webhook",
                    outcome,
                    subset.dry_run,
                    &subset.run_id,
                    &subset.host,
                    &policy_hash,
                );
                record.reason = Some(match &result {
                    Ok(status) => format!("webhook {}: {} item(s), HTTP {status}", hook.name, subset.items.len()),
                    Err(error) => {
                        format!("webhook {}: {} item(s) not delivered: {error}", hook.name, subset.items.len())
                    }
                });
                audit::emit(&record, &format!("webhook {}", hook.name));
            });
        }
    }
}

/// Why one attempt failed, and whether another may succeed.
#[derive(Debug)]
struct Attempt {
    message: String,
    transient: bool,
    retry_after: Option<Duration>,
}

async fn deliver(
    client: &reqwest::Client,
    hook: &Hook,
    body: &Value,
    retry: &driftguard_engine::policy::Retry,
) -> Result<u16, String> {
    let backoff = driftguard_providers::retry::backoff(retry);
    let once = || async {
        let response = client.post(&hook.url.0).json(body).send().await.map_err(|error| Attempt {
            // The client's errors name the URL: strip it, it is the secret.
            message: error.without_url().to_string(),
            transient: true,
            retry_after: None,
        })?;
        let status = response.status();
        if status.is_success() {
            return Ok(status.as_u16());
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
            .map(|seconds| Duration::from_secs(seconds).min(MAX_RETRY_AFTER));
        Err(Attempt {
            message: format!("HTTP {}", status.as_u16()),
            transient: status.as_u16() == 429 || status.is_server_error(),
            retry_after,
        })
    };
    once.retry(backoff)
        .when(|attempt: &Attempt| attempt.transient)
        .adjust(|attempt: &Attempt, delay| attempt.retry_after.or(delay))
        .notify(|attempt: &Attempt, delay: Duration| {
            tracing::warn!(
                event = "notification.retry",
                webhook = hook.name.as_str(),
                error = attempt.message.as_str(),
                delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                "webhook delivery failed; retrying"
            );
        })
        .await
        .map_err(|attempt| attempt.message)
}

fn count(announcement: &Announcement, event: NotifyEvent) -> usize {
    announcement.items.iter().filter(|i| i.event == event).count()
}

fn headline(announcement: &Announcement) -> String {
    let mut parts = Vec::new();
    let refused = count(announcement, NotifyEvent::AccountRefused);
    if refused > 0 {
        parts.push(format!("{refused} account(s) refused (identity not verified)"));
    }
    let escalated = count(announcement, NotifyEvent::Escalated);
    if escalated > 0 {
        parts.push(format!("{escalated} finding(s) escalated"));
    }
    let marked = count(announcement, NotifyEvent::JanitorMarked);
    if marked > 0 {
        parts.push(format!("{marked} resource(s) marked for deletion"));
    }
    format!(
        "DriftGuard {} on {}: {}{}",
        announcement.job,
        announcement.host,
        parts.join(", "),
        if announcement.dry_run { " (dry-run)" } else { "" }
    )
}

/// Slack incoming-webhook body: `text` (the fallback every client shows) and `blocks`.
pub fn slack_body(announcement: &Announcement) -> Value {
    let mut lines: Vec<String> = announcement
        .items
        .iter()
        .take(SLACK_ITEMS)
        .map(|item| {
            let severity = item.severity.as_deref().map(|s| format!("[{s}] ")).unwrap_or_default();
            format!("• {severity}`{}` {} — {}", item.resource_id, item.resource_type, item.summary)
        })
        .collect();
    if announcement.items.len() > SLACK_ITEMS {
        lines.push(format!("…and {} more (run {})", announcement.items.len() - SLACK_ITEMS, announcement.run_id));
    }
    let text = headline(announcement);
    json!({
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{text}*")}},
            {"type": "section", "text": {"type": "mrkdwn", "text": lines.join("\n")}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": format!("run `{}`", announcement.run_id)}]}
        ]
    })
}

/// Generic JSON body: everything, machine-readable.
pub fn generic_body(announcement: &Announcement) -> Value {
    json!({
        "source": "driftguard",
        "summary": headline(announcement),
        "job": announcement.job,
        "run_id": announcement.run_id,
        "host": announcement.host,
        "dry_run": announcement.dry_run,
        "counts": {
            "escalated": count(announcement, NotifyEvent::Escalated),
            "janitor_marked": count(announcement, NotifyEvent::JanitorMarked),
            "account_refused": count(announcement, NotifyEvent::AccountRefused),
        },
        "items": announcement.items,
    })
}

#[cfg(test)]
mod tests {
    use driftguard_engine::policy::{CliOverrides, compile};

    use super::*;

    fn policy() -> Policy {
        let text = "version: 1\nflows:\n  - name: all\n    steps: [classify, plan, report]\nnotifications:\n  webhooks:\n    - name: team\n      format: slack\n      url_env: DG_TEST_HOOK\n    - name: pager\n      url_env: DG_TEST_PAGER\n";
        compile("p.yaml", text, None, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_missing_or_bad_url_is_named_by_its_variable_never_its_value() {
        let problems = Webhooks::from_policy(&policy(), |name| {
            (name == "DG_TEST_HOOK").then(|| "ftp://secret-token@example.invalid/x".to_owned())
        })
        .unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].contains("$DG_TEST_HOOK does not hold an http(s) URL"), "{problems:?}");
        assert!(problems[1].contains("DG_TEST_PAGER is not set"), "{problems:?}");
        assert!(problems.iter().all(|p| !p.contains("secret-token")));
    }

    #[test]
    fn each_webhook_has_its_own_per_minute_budget() {
        let text = "version: 1\nflows:\n  - name: all\n    steps: [classify, plan, report]\nnotifications:\n  webhooks:\n    - name: slow\n      url_env: A\n      max_per_minute: 2\n    - name: fast\n      url_env: B\n      max_per_minute: 5\n";
        let policy = compile("p.yaml", text, None, &CliOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
        let hooks = Webhooks::from_policy(&policy, |_| Some("http://127.0.0.1:9/hook".to_owned())).unwrap();
        let allowed = |hook: &Hook| (0..10).filter(|_| hook.limiter.check().is_ok()).count();
        assert_eq!(allowed(&hooks.hooks[0]), 2, "a third message within the minute waits its turn");
        assert_eq!(allowed(&hooks.hooks[1]), 5);
    }

    #[test]
    fn bodies_aggregate_every_item_of_a_run() {
        let item = |n: usize| Item {
            event: if n.is_multiple_of(2) { NotifyEvent::Escalated } else { NotifyEvent::JanitorMarked },
            provider: "aws".into(),
            account: "111111111111".into(),
            resource_type: "aws_instance".into(),
            resource_id: format!("i-{n}"),
            severity: Some("high".into()),
            summary: "x".into(),
        };
        let announcement = Announcement {
            job: "detect".into(),
            run_id: "r1".into(),
            dry_run: true,
            host: "h".into(),
            items: (0..25).map(item).collect(),
        };
        let slack = slack_body(&announcement);
        assert!(slack["text"].as_str().unwrap().contains("13 finding(s) escalated, 12 resource(s) marked"));
        assert!(slack["blocks"][1]["text"]["text"].as_str().unwrap().contains("…and 5 more"));
        let generic = generic_body(&announcement);
        assert_eq!(generic["items"].as_array().unwrap().len(), 25);
        assert_eq!(generic["counts"]["janitor_marked"], 12);
    }
}
