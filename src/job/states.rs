//! The Terraform states of a job: local files and globs, or the S3 backend. Every source is
//! read and parsed before anything else happens, and every failure is listed: what a state
//! manages is what detect compares and what the janitor never touches.

use std::path::{Path, PathBuf};

use driftguard_engine::model::Provider;
use driftguard_engine::policy::{Policy, StateSource};
use driftguard_engine::tfstate::{self, StateFile};
use driftguard_providers::aws::AwsClient;
use driftguard_providers::aws::identity::AwsSession;
use driftguard_providers::retry::Calls;

use super::{Bridge, JobEnv};

fn expand(pattern: &str) -> Result<Vec<PathBuf>, String> {
    let matches: Vec<PathBuf> = glob::glob(pattern)
        .map_err(|error| format!("state path {pattern:?}: {error}"))?
        .filter_map(Result::ok)
        .collect();
    if matches.is_empty() {
        return Err(format!("state path {pattern:?} matches no file"));
    }
    Ok(matches)
}

fn read_local(path: &Path) -> Result<StateFile, String> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| format!("{name}: cannot read: {error}"))?;
    tfstate::parse(&name, bytes).map_err(|error| error.to_string())
}

/// Reads every state: `--state` paths when given, else the policy's sources.
pub fn load_states(
    runtime: Bridge<'_>,
    env: &JobEnv,
    policy: &Policy,
    overrides: &[PathBuf],
) -> Result<Vec<StateFile>, Vec<String>> {
    let mut states = Vec::new();
    let mut errors = Vec::new();
    let local = |pattern: &str, states: &mut Vec<StateFile>, errors: &mut Vec<String>| match expand(pattern) {
        Ok(paths) => {
            for path in paths {
                match read_local(&path) {
                    Ok(state) => states.push(state),
                    Err(error) => errors.push(error),
                }
            }
        }
        Err(error) => errors.push(error),
    };
    if overrides.is_empty() {
        for source in policy.states() {
            match source {
                StateSource::Local { paths, .. } => {
                    for pattern in paths {
                        local(pattern, &mut states, &mut errors);
                    }
                }
                StateSource::S3 { bucket, key, region, .. } => {
                    let endpoint =
                        policy.accounts().iter().find(|a| a.provider == Provider::Aws).and_then(|a| a.endpoint.clone());
                    // The state bucket may live in an account the policy does not scan: it
                    // is read with the ambient credentials, observed but not paced as one of
                    // the policy's accounts.
                    let calls = Calls::new(policy.retry(), "aws").observed(env.observer.clone());
                    let name = format!("s3://{bucket}/{key}");
                    let result = runtime.block_on(async {
                        let session = AwsSession::ambient(region, endpoint.as_deref()).await;
                        AwsClient::connect(&session, region, calls).read_object(bucket, key).await
                    });
                    match result {
                        Ok(bytes) => match tfstate::parse(&name, bytes) {
                            Ok(state) => states.push(state),
                            Err(error) => errors.push(error.to_string()),
                        },
                        Err(error) => errors.push(format!("{name}: {error}")),
                    }
                }
            }
        }
    } else {
        for path in overrides {
            local(&path.display().to_string(), &mut states, &mut errors);
        }
    }
    if errors.is_empty() { Ok(states) } else { Err(errors) }
}
