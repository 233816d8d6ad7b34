//! The daemon's metrics (Prometheus text format, the `prometheus` crate) and its HTTP
//! listener: `/metrics`, `/healthz` (the main loop is alive), `/readyz` (a policy is in
//! force, the store is open, and the daemon is not draining).
//!
//! Metrics are derived from what jobs report as values (remediation calls by outcome,
//! janitor deletions, refused accounts, findings), cloud call attempts (the providers'
//! [`CallObserver`]), and job completions from the main loop.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use driftguard_engine::report::DriftReport;
use driftguard_providers::retry::{CallError, CallObserver};
use prometheus::{
    Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// How long the main loop may go without a heartbeat before `/healthz` says it is stuck.
const STALL_AFTER: Duration = Duration::from_secs(30);

/// Findings of one job's last report: (severity, kind, resource type) → count.
type FindingCounts = BTreeMap<(String, String, String), i64>;

/// Every metric of the process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    findings: IntGaugeVec,
    /// The last detect report of each job, so split jobs add up rather than overwrite.
    findings_by_job: Mutex<BTreeMap<String, FindingCounts>>,
    remediations: IntCounterVec,
    janitor_deletions: IntCounterVec,
    api_calls: IntCounterVec,
    api_retries: IntCounterVec,
    cycle_duration: HistogramVec,
    last_success: GaugeVec,
    jobs_skipped: IntCounterVec,
    policy_reloads: IntCounterVec,
    webhook_deliveries: IntCounterVec,
    account_refusals: IntCounterVec,
    unsupported: IntGaugeVec,
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let metric = IntCounterVec::new(Opts::new(name, help), labels).expect("metric names and labels are valid");
    registry.register(Box::new(metric.clone())).expect("each metric is registered once");
    metric
}

impl Metrics {
    /// A fresh registry with every metric.
    pub fn new() -> Self {
        let registry = Registry::new();
        let findings = IntGaugeVec::new(
            Opts::new("driftguard_findings", "Findings in the last detect cycle, by severity, kind and resource type."),
            &["severity", "kind", "resource_type"],
        )
        .expect("valid metric");
        registry.register(Box::new(findings.clone())).expect("registered once");
        let cycle_duration = HistogramVec::new(
            HistogramOpts::new("driftguard_cycle_duration_seconds", "Duration of job runs, by job and outcome.")
                .buckets(prometheus::exponential_buckets(0.25, 2.0, 14).expect("valid buckets")),
            &["job", "outcome"],
        )
        .expect("valid metric");
        registry.register(Box::new(cycle_duration.clone())).expect("registered once");
        let last_success = GaugeVec::new(
            Opts::new("driftguard_last_success_timestamp_seconds", "Unix time of the last successful run of each job."),
            &["job"],
        )
        .expect("valid metric");
        registry.register(Box::new(last_success.clone())).expect("registered once");
        Self {
            findings,
            findings_by_job: Mutex::new(BTreeMap::new()),
            remediations: counter(
                &registry,
                "driftguard_remediations_total",
                "Remediation calls, by outcome: attempted, succeeded, failed, unknown (simulated under dry-run).",
                &["outcome"],
            ),
            janitor_deletions: counter(
                &registry,
                "driftguard_janitor_deletions_total",
                "Janitor deletions, by phase (iac, api) and outcome.",
                &["phase", "outcome"],
            ),
            api_calls: counter(
                &registry,
                "driftguard_api_calls_total",
                "Cloud API call attempts, by provider, service and error code (ok for success).",
                &["provider", "service", "code"],
            ),
            api_retries: counter(
                &registry,
                "driftguard_api_retries_total",
                "Retries of transient cloud API failures, by provider, service and error code.",
                &["provider", "service", "code"],
            ),
            cycle_duration,
            last_success,
            jobs_skipped: counter(
                &registry,
                "driftguard_jobs_skipped_total",
                "Scheduled ticks that started nothing, by job and reason.",
                &["job", "reason"],
            ),
            policy_reloads: counter(
                &registry,
                "driftguard_policy_reloads_total",
                "Policy reloads (SIGHUP), by outcome: succeeded, rejected.",
                &["outcome"],
            ),
            webhook_deliveries: counter(
                &registry,
                "driftguard_webhook_deliveries_total",
                "Webhook messages, by webhook name and outcome.",
                &["webhook", "outcome"],
            ),
            account_refusals: counter(
                &registry,
                "driftguard_account_refusals_total",
                "Accounts refused for a job, by provider, account and reason (identity_mismatch, unreachable).",
                &["provider", "account", "reason"],
            ),
            unsupported: {
                let gauge = IntGaugeVec::new(
                    Opts::new(
                        "driftguard_unsupported_resources",
                        "Declared resources of Terraform types DriftGuard does not compare, in the last detect cycle.",
                    ),
                    &["resource_type"],
                )
                .expect("valid metric");
                registry.register(Box::new(gauge.clone())).expect("registered once");
                gauge
            },
            registry,
        }
    }

    /// A detect cycle's unsupported types replace the last ones.
    pub fn unsupported(&self, report: &DriftReport) {
        self.unsupported.reset();
        for (resource_type, count) in &report.unsupported {
            self.unsupported.with_label_values(&[resource_type]).set(i64::try_from(*count).unwrap_or(i64::MAX));
        }
    }

    /// The exposition, Prometheus text format 0.0.4.
    pub fn encode(&self) -> String {
        let mut buffer = Vec::new();
        // Encoding into memory cannot fail for these metric types.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buffer);
        String::from_utf8(buffer).unwrap_or_default()
    }

    /// A detect run's remediation calls, by outcome (`attempted`, `succeeded`, `failed`,
    /// `unknown`, `simulated`), as the run tallied them.
    pub fn remediations(&self, counts: &BTreeMap<&'static str, u64>) {
        for (outcome, count) in counts {
            self.remediations.with_label_values(&[outcome]).inc_by(*count);
        }
    }

    /// An account refused for a job.
    pub fn refused(&self, provider: &str, account: &str, reason: &str) {
        self.account_refusals.with_label_values(&[provider, account, reason]).inc();
    }

    /// Janitor deletions of one run, by (phase, outcome).
    pub fn deletions(&self, counts: &BTreeMap<(&'static str, &'static str), usize>) {
        for ((phase, outcome), count) in counts {
            self.janitor_deletions.with_label_values(&[phase, outcome]).inc_by(u64::try_from(*count).unwrap_or(0));
        }
    }

    /// A detect job's report replaces that job's findings.
    pub fn findings(&self, job: &str, report: &DriftReport) {
        let mut counts = FindingCounts::new();
        for finding in &report.findings {
            let severity = finding.severity.map_or("none", |s| s.as_str()).to_owned();
            *counts.entry((severity, finding.kind.as_str().to_owned(), finding.resource_type.clone())).or_default() +=
                1;
        }
        let mut by_job = self.findings_by_job.lock().unwrap_or_else(PoisonError::into_inner);
        by_job.insert(job.to_owned(), counts);
        self.findings.reset();
        for counts in by_job.values() {
            for ((severity, kind, resource_type), count) in counts {
                self.findings.with_label_values(&[severity, kind, resource_type]).add(*count);
            }
        }
    }

    /// A job run ended.
    pub fn cycle(&self, job: &str, outcome: &str, seconds: f64) {
        self.cycle_duration.with_label_values(&[job, outcome]).observe(seconds);
        if outcome == "succeeded" {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
            self.last_success.with_label_values(&[job]).set(now);
        }
    }

    /// A tick was skipped.
    pub fn skipped(&self, job: &str, reason: &str) {
        self.jobs_skipped.with_label_values(&[job, reason]).inc();
    }

    /// A reload ended.
    pub fn reload(&self, outcome: &str) {
        self.policy_reloads.with_label_values(&[outcome]).inc();
    }

    /// A webhook message ended.
    pub fn webhook(&self, name: &str, outcome: &str) {
        self.webhook_deliveries.with_label_values(&[name, outcome]).inc();
    }
}

fn service_of(operation: &str) -> &str {
    operation.split_once(':').map_or(operation, |(service, _)| service)
}

impl CallObserver for Metrics {
    fn attempt(&self, provider: &str, operation: &str, error: Option<&CallError>) {
        let code = error.map_or("ok", |error| error.code.as_str());
        self.api_calls.with_label_values(&[provider, service_of(operation), code]).inc();
    }

    fn retry(&self, provider: &str, operation: &str, error: &CallError) {
        self.api_retries.with_label_values(&[provider, service_of(operation), error.code.as_str()]).inc();
    }
}

/// What `/healthz` and `/readyz` answer from.
#[derive(Debug, Default)]
pub struct Health {
    /// Unix seconds of the main loop's last turn.
    heartbeat: AtomicU64,
    /// A policy is in force and the store is open.
    pub ready: AtomicBool,
    /// SIGTERM/SIGINT arrived.
    pub draining: AtomicBool,
    /// Accounts refused by their last job (`provider/account` → why): the daemon goes on
    /// with the others, but is not fully ready while any is refused.
    refused: Mutex<BTreeMap<String, String>>,
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

impl Health {
    /// The main loop turned.
    pub fn beat(&self) {
        self.heartbeat.store(unix_now(), Ordering::SeqCst);
    }

    fn live(&self) -> Result<(), String> {
        let age = unix_now().saturating_sub(self.heartbeat.load(Ordering::SeqCst));
        if age <= STALL_AFTER.as_secs() { Ok(()) } else { Err(format!("main loop silent for {age}s")) }
    }

    /// A job's identity checks: verified accounts are cleared, refused ones noted.
    pub fn accounts(&self, verified: &[(String, String)], refused: &[(String, String, String)]) {
        let mut map = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        for (provider, account) in verified {
            map.remove(&format!("{provider}/{account}"));
        }
        for (provider, account, why) in refused {
            map.insert(format!("{provider}/{account}"), why.clone());
        }
    }

    fn readiness(&self) -> Result<(), String> {
        if self.draining.load(Ordering::SeqCst) {
            return Err("draining".to_owned());
        }
        if !self.ready.load(Ordering::SeqCst) {
            return Err("starting".to_owned());
        }
        let refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
        if refused.is_empty() {
            Ok(())
        } else {
            let accounts: Vec<String> = refused.iter().map(|(account, why)| format!("{account} ({why})")).collect();
            Err(format!("degraded: account(s) refused: {}", accounts.join(", ")))
        }
    }
}

/// The HTTP listener: its own thread, so a busy or stuck async runtime cannot hide from
/// `/healthz`.
pub struct Listener {
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
    /// The bound address (the port is known even when the policy said 0).
    pub address: SocketAddr,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listener").field("address", &self.address).finish_non_exhaustive()
    }
}

impl Listener {
    /// Binds `address` and serves until [`Listener::stop`].
    pub fn start(address: SocketAddr, metrics: Arc<Metrics>, health: Arc<Health>) -> Result<Self, String> {
        let server = tiny_http::Server::http(address)
            .map_err(|error| format!("cannot listen on {address} (daemon.metrics_listen): {error}"))?;
        let bound = server.server_addr().to_ip().unwrap_or(address);
        let server = Arc::new(server);
        let serving = Arc::clone(&server);
        let thread = std::thread::Builder::new()
            .name("metrics".into())
            .spawn(move || serve(&serving, &metrics, &health))
            .map_err(|error| format!("cannot start the metrics thread: {error}"))?;
        Ok(Self { server, thread: Some(thread), address: bound })
    }

    /// Stops serving and waits for the thread.
    pub fn stop(mut self) {
        self.server.unblock();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(server: &tiny_http::Server, metrics: &Metrics, health: &Health) {
    let text = |status: u16, body: String, content_type: &str| {
        let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], content_type.as_bytes())
            .expect("static header is valid");
        tiny_http::Response::from_string(body).with_status_code(status).with_header(header)
    };
    while let Ok(request) = server.recv() {
        let path = request.url().split('?').next().unwrap_or_default().to_owned();
        let response = match (request.method(), path.as_str()) {
            (tiny_http::Method::Get, "/metrics") => text(200, metrics.encode(), prometheus::TEXT_FORMAT),
            (tiny_http::Method::Get, "/healthz") => match health.live() {
                Ok(()) => text(200, "ok\n".into(), "text/plain"),
                Err(why) => text(503, format!("{why}\n"), "text/plain"),
            },
            (tiny_http::Method::Get, "/readyz") => match health.readiness() {
                Ok(()) => text(200, "ready\n".into(), "text/plain"),
                Err(why) => text(503, format!("{why}\n"), "text/plain"),
            },
            (tiny_http::Method::Get, _) => text(404, "not found: /metrics, /healthz, /readyz\n".into(), "text/plain"),
            _ => text(405, "GET only\n".into(), "text/plain"),
        };
        let _ = request.respond(response);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_counted_by_service_and_code() {
        let metrics = Metrics::new();
        metrics.attempt("aws", "ec2:DescribeInstances", None);
        let throttled = CallError {
            operation: "ec2:DescribeInstances".into(),
            code: "RequestLimitExceeded".into(),
            message: String::new(),
            transient: true,
            retry_after: None,
        };
        metrics.attempt("aws", "ec2:DescribeInstances", Some(&throttled));
        metrics.retry("aws", "ec2:DescribeInstances", &throttled);
        let text = metrics.encode();
        assert!(text.contains(r#"driftguard_api_calls_total{code="ok",provider="aws",service="ec2"} 1"#), "{text}");
        assert!(
            text.contains(r#"driftguard_api_calls_total{code="RequestLimitExceeded",provider="aws",service="ec2"} 1"#)
        );
        assert!(
            text.contains(
                r#"driftguard_api_retries_total{code="RequestLimitExceeded",provider="aws",service="ec2"} 1"#
            )
        );
    }

    #[test]
    fn unsupported_types_of_the_last_cycle_replace_the_ones_before() {
        let metrics = Metrics::new();
        let report = |types: &[(&str, u64)]| {
            DriftReport::new("r", "h", true, chrono::Utc::now(), Vec::new())
                .with_coverage(types.iter().map(|(t, n)| ((*t).to_owned(), *n)).collect(), Vec::new())
        };
        metrics.unsupported(&report(&[("aws_lambda_function", 2), ("aws_sqs_queue", 1)]));
        metrics.unsupported(&report(&[("aws_lambda_function", 3)]));
        let text = metrics.encode();
        assert!(text.contains(r#"driftguard_unsupported_resources{resource_type="aws_lambda_function"} 3"#), "{text}");
        assert!(!text.contains("aws_sqs_queue"), "{text}");
    }

    #[test]
    fn health_reports_a_stalled_loop_and_draining() {
        let health = Health::default();
        assert!(health.live().is_err(), "no heartbeat yet");
        health.beat();
        assert!(health.live().is_ok());
        assert_eq!(health.readiness(), Err("starting".to_owned()));
        health.ready.store(true, Ordering::SeqCst);
        assert_eq!(health.readiness(), Ok(()));
        health.accounts(&[], &[("aws".into(), "333333333333".into(), "identity_mismatch".into())]);
        assert_eq!(
            health.readiness(),
            Err("degraded: account(s) refused: aws/333333333333 (identity_mismatch)".to_owned())
        );
        health.accounts(&[("aws".into(), "333333333333".into())], &[]);
        assert_eq!(health.readiness(), Ok(()), "verified again: ready again");
        health.draining.store(true, Ordering::SeqCst);
        assert_eq!(health.readiness(), Err("draining".to_owned()));
    }
}
