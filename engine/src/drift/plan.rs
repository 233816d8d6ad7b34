//! Remediation planning: for each finding, the explicit API calls that restore the declared
//! state. Drift with no safe automatic fix (instance type, instance profile, missing and
//! unmanaged resources, unknown attributes) gets no calls, so its flow escalates it.

use serde_json::{Value, json};

use super::normalize::{RuleParts, RuleSource, parse_rule_atom};
use crate::finding::Action;
use crate::model::FindingKind;
use crate::report::DetectedDrift;

fn action(api: &str, target: &str, params: Value) -> Action {
    Action { api: api.to_owned(), target: target.to_owned(), params }
}

fn rule_params(atom: &str) -> Option<Value> {
    let RuleParts { protocol, ports, source } = parse_rule_atom(atom)?;
    let mut permission = json!({"IpProtocol": protocol});
    if let Some((from, to)) = ports {
        permission["FromPort"] = json!(from);
        permission["ToPort"] = json!(to);
    }
    match source {
        RuleSource::Cidr(cidr) => permission["IpRanges"] = json!([{"CidrIp": cidr}]),
        RuleSource::Cidr6(cidr) => permission["Ipv6Ranges"] = json!([{"CidrIpv6": cidr}]),
        RuleSource::Group(group) => permission["UserIdGroupPairs"] = json!([{"GroupId": group}]),
        RuleSource::SelfGroup => permission["UserIdGroupPairs"] = json!([{"GroupId": "self"}]),
        RuleSource::PrefixList(list) => permission["PrefixListIds"] = json!([{"PrefixListId": list}]),
    }
    Some(permission)
}

/// Tag calls per service: (add api, remove api).
fn tag_apis(resource_type: &str) -> Option<(&'static str, &'static str)> {
    match resource_type {
        "aws_instance"
        | "aws_security_group"
        | "aws_vpc_security_group_ingress_rule"
        | "aws_vpc_security_group_egress_rule" => Some(("ec2:CreateTags", "ec2:DeleteTags")),
        "aws_s3_bucket" => Some(("s3:PutBucketTagging", "s3:PutBucketTagging")),
        "aws_db_instance" => Some(("rds:AddTagsToResource", "rds:RemoveTagsFromResource")),
        "aws_iam_role" => Some(("iam:TagRole", "iam:UntagRole")),
        _ => None,
    }
}

/// The calls that fix one finding (empty: no automatic fix).
pub fn actions(finding: &DetectedDrift) -> Vec<Action> {
    if finding.kind != FindingKind::Modified {
        return Vec::new();
    }
    let Some(attribute) = finding.attribute.as_deref() else { return Vec::new() };
    let id = finding.resource_id.as_str();
    let expected = finding.expected.clone().unwrap_or(Value::Null);
    if let Some(tag) = attribute.strip_prefix("tags.") {
        let Some((add, remove)) = tag_apis(&finding.resource_type) else { return Vec::new() };
        return vec![match &finding.expected {
            Some(value) => action(add, id, json!({"Key": tag, "Value": value})),
            None => action(remove, id, json!({"Key": tag})),
        }];
    }
    let calls = match (finding.resource_type.as_str(), attribute) {
        ("aws_security_group", "ingress" | "egress") => {
            let direction = if attribute == "ingress" { "Ingress" } else { "Egress" };
            match (&finding.expected, &finding.actual) {
                // A rule someone added: revoke it.
                (None, Some(Value::String(atom))) => rule_params(atom)
                    .map(|p| action(&format!("ec2:RevokeSecurityGroup{direction}"), id, json!({"IpPermissions": [p]}))),
                // A declared rule someone removed: authorise it again.
                (Some(Value::String(atom)), None) => rule_params(atom).map(|p| {
                    action(&format!("ec2:AuthorizeSecurityGroup{direction}"), id, json!({"IpPermissions": [p]}))
                }),
                _ => None,
            }
        }
        ("aws_instance", "disable_api_termination") => {
            Some(action("ec2:ModifyInstanceAttribute", id, json!({"DisableApiTermination": expected})))
        }
        ("aws_instance", "monitoring") => Some(if expected == Value::Bool(true) {
            action("ec2:MonitorInstances", id, json!({}))
        } else {
            action("ec2:UnmonitorInstances", id, json!({}))
        }),
        ("aws_instance", "metadata_options.http_tokens") if expected.is_string() => {
            Some(action("ec2:ModifyInstanceMetadataOptions", id, json!({"HttpTokens": expected})))
        }
        ("aws_instance", "vpc_security_group_ids") if expected.is_array() => {
            Some(action("ec2:ModifyInstanceAttribute", id, json!({"Groups": expected})))
        }
        ("aws_s3_bucket_versioning", "versioning_configuration.status") if expected.is_string() => {
            Some(action("s3:PutBucketVersioning", id, json!({"Status": expected})))
        }
        ("aws_s3_bucket_server_side_encryption_configuration", "rule.sse_algorithm" | "rule.kms_master_key_id") => {
            // The whole rule is one call; the parameters are filled from the declared
            // resource by the executor's caller (the finding carries only one attribute).
            expected.is_string().then(|| action("s3:PutBucketEncryption", id, json!({attribute: expected})))
        }
        ("aws_s3_bucket_public_access_block", key) => {
            Some(action("s3:PutPublicAccessBlock", id, json!({key: expected})))
        }
        ("aws_db_instance", "publicly_accessible" | "deletion_protection" | "backup_retention_period") => {
            Some(action("rds:ModifyDBInstance", id, json!({attribute: expected, "ApplyImmediately": true})))
        }
        ("aws_iam_role", "assume_role_policy") if expected.is_object() => {
            Some(action("iam:UpdateAssumeRolePolicy", id, json!({"PolicyDocument": expected})))
        }
        ("aws_iam_role", "max_session_duration") if expected.is_number() => {
            Some(action("iam:UpdateRole", id, json!({"MaxSessionDuration": expected})))
        }
        ("aws_iam_policy", "policy") if expected.is_object() => {
            Some(action("iam:CreatePolicyVersion", id, json!({"PolicyDocument": expected, "SetAsDefault": true})))
        }
        _ => None,
    };
    calls.into_iter().collect()
}
