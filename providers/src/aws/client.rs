//! The AWS client of one account and region: the SDK clients built from an account's
//! session (verified, for everything but reading an S3 state backend, whose bucket may
//! live in an account of no job), the reads that drift collection and the janitor share,
//! and the S3 state backend. Every call goes through [`crate::retry`].

use crate::aws::identity::AwsSession;
use crate::retry::{CallError, Calls};

/// Clients for one account and region.
#[derive(Debug, Clone)]
pub struct AwsClient {
    ec2: aws_sdk_ec2::Client,
    s3: aws_sdk_s3::Client,
    rds: aws_sdk_rds::Client,
    iam: aws_sdk_iam::Client,
    /// The loaded configuration, for S3 clients of other regions (bucket calls must go
    /// to the bucket's own region: elsewhere AWS answers 301 PermanentRedirect).
    config: aws_config::SdkConfig,
    calls: Calls,
    /// The region.
    pub region: String,
}

impl AwsClient {
    /// Clients for one region of an account's session (its credentials and endpoint).
    pub fn connect(session: &AwsSession, region: &str, calls: Calls) -> Self {
        let config = session.config(region);
        let s3_config = aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build();
        Self {
            ec2: aws_sdk_ec2::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            rds: aws_sdk_rds::Client::new(&config),
            iam: aws_sdk_iam::Client::new(&config),
            config,
            calls,
            region: region.to_owned(),
        }
    }

    /// Every instance that is not on its way out (terminated, shutting-down), all pages:
    /// what drift collection and the janitor both start from.
    pub(crate) async fn live_instances(&self) -> Result<Vec<aws_sdk_ec2::types::Instance>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(
                self,
                "ec2:DescribeInstances",
                self.ec2.describe_instances().set_next_token(token.clone()).max_results(100)
            )?;
            for instance in page.reservations().iter().flat_map(aws_sdk_ec2::types::Reservation::instances) {
                let state = instance.state().and_then(|s| s.name()).map(|n| n.as_str().to_owned()).unwrap_or_default();
                if instance.instance_id().is_some() && state != "terminated" && state != "shutting-down" {
                    out.push(instance.clone());
                }
            }
            token = page.next_token().filter(|t| !t.is_empty()).map(str::to_owned);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Whether an instance's termination protection is on (`DescribeInstances` does not
    /// say): drift collection compares it, the janitor reads it before deciding and again
    /// before terminating.
    pub(crate) async fn termination_protected(&self, id: &str) -> Result<bool, CallError> {
        let answer = send!(
            self,
            "ec2:DescribeInstanceAttribute",
            self.ec2
                .describe_instance_attribute()
                .instance_id(id)
                .attribute(aws_sdk_ec2::types::InstanceAttributeName::DisableApiTermination)
        )?;
        Ok(answer.disable_api_termination().and_then(aws_sdk_ec2::types::AttributeBooleanValue::value).unwrap_or(false))
    }

    /// Every DB instance, all pages.
    pub(crate) async fn all_databases(&self) -> Result<Vec<aws_sdk_rds::types::DbInstance>, CallError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = send!(
                self,
                "rds:DescribeDBInstances",
                self.rds.describe_db_instances().set_marker(marker.clone()).max_records(100)
            )?;
            out.extend(page.db_instances().iter().cloned());
            marker = page.marker().filter(|m| !m.is_empty()).map(str::to_owned);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }
    /// Where a bucket lives. `GetBucketLocation` answers from any region; its legacy
    /// values are `null` for us-east-1 and `EU` for eu-west-1.
    pub async fn bucket_region(&self, name: &str) -> Result<String, CallError> {
        let location = send!(self, "s3:GetBucketLocation", self.s3.get_bucket_location().bucket(name))?;
        Ok(match location.location_constraint().map(aws_sdk_s3::types::BucketLocationConstraint::as_str) {
            None | Some("") => "us-east-1".to_owned(),
            Some("EU") => "eu-west-1".to_owned(),
            Some(other) => other.to_owned(),
        })
    }

    /// An S3 client for another region (same credentials, endpoint and settings).
    pub(crate) fn s3_in(&self, region: &str) -> aws_sdk_s3::Client {
        if region == self.region {
            return self.s3.clone();
        }
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.config)
                .region(aws_config::Region::new(region.to_owned()))
                .force_path_style(true)
                .build(),
        )
    }
    /// Reads a Terraform state from the S3 backend.
    pub async fn read_object(&self, bucket: &str, key: &str) -> Result<Vec<u8>, CallError> {
        let object = send!(self, "s3:GetObject", self.s3.get_object().bucket(bucket).key(key))?;
        object
            .body
            .collect()
            .await
            .map(|data| data.into_bytes().to_vec())
            .map_err(|error| CallError { transient: true, ..CallError::local("s3:GetObject", error.to_string()) })
    }

    pub(crate) fn ec2(&self) -> &aws_sdk_ec2::Client {
        &self.ec2
    }

    pub(crate) fn s3(&self) -> &aws_sdk_s3::Client {
        &self.s3
    }

    pub(crate) fn rds(&self) -> &aws_sdk_rds::Client {
        &self.rds
    }

    pub(crate) fn iam(&self) -> &aws_sdk_iam::Client {
        &self.iam
    }

    pub(crate) fn calls(&self) -> &Calls {
        &self.calls
    }
}
