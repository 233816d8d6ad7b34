use serde_json::json;

use super::declared::declared;
use super::normalize::{RuleSource, policy_document, rule_atom, string_set};
use super::*;
use crate::tfstate::StateResource;

fn state(resource_type: &str, name: &str, attributes: Value) -> StateResource {
    StateResource {
        address: format!("{resource_type}.{name}"),
        module: String::new(),
        resource_type: resource_type.to_owned(),
        name: name.to_owned(),
        provider: "provider[\"registry.terraform.io/hashicorp/aws\"]".to_owned(),
        index: None,
        schema_version: 1,
        attributes: attributes.into(),
    }
}

fn scope() -> Location {
    Location { provider: Provider::Aws, account: "123456789012".into(), region: "us-east-1".into() }
}

fn none(_: &Normalized) -> bool {
    false
}

fn sg_state() -> StateResource {
    state(
        "aws_security_group",
        "web",
        json!({
            "id": "sg-1",
            "egress": [{"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 0, "ipv6_cidr_blocks": ["::/0"],
                        "prefix_list_ids": [], "protocol": "-1", "security_groups": [], "self": false, "to_port": 0}],
            "ingress": [{"cidr_blocks": ["10.100.0.0/16"], "description": "TLS from VPC", "from_port": 443,
                         "ipv6_cidr_blocks": [], "prefix_list_ids": [], "protocol": "tcp", "security_groups": [],
                         "self": false, "to_port": 443}],
            "tags": {"Team": "web"}, "tags_all": {"Team": "web", "ManagedBy": "terraform"}
        }),
    )
}

fn live_sg(extra_ingress: &[&str], tags: &[(&str, &str)]) -> Normalized {
    let mut ingress = vec![rule_atom("tcp", 443, 443, &RuleSource::Cidr("10.100.0.0/16".into()))];
    ingress.extend(extra_ingress.iter().map(|atom| (*atom).to_owned()));
    let mut attributes = Attributes::new();
    attributes.insert("name".into(), Value::Null);
    attributes.insert("ingress".into(), string_set(ingress));
    attributes.insert(
        "egress".into(),
        string_set([
            rule_atom("-1", -1, -1, &RuleSource::Cidr("0.0.0.0/0".into())),
            rule_atom("-1", -1, -1, &RuleSource::Cidr6("::/0".into())),
        ]),
    );
    for (key, value) in tags {
        attributes.insert(format!("tags.{key}"), json!(value));
    }
    Normalized { resource_type: "aws_security_group".into(), id: "sg-1".into(), address: String::new(), attributes }
}

#[test]
fn an_unchanged_security_group_has_no_drift() {
    let declared = declared(&sg_state()).unwrap();
    let live = live_sg(&[], &[("Team", "web"), ("ManagedBy", "terraform")]);
    assert_eq!(diff(&scope(), &[declared], &[live], &none), vec![]);
}

#[test]
fn an_added_world_open_ssh_rule_is_one_finding_with_a_revoke() {
    let declared = declared(&sg_state()).unwrap();
    let live = live_sg(&["tcp 22-22 from 0.0.0.0/0"], &[("Team", "web"), ("ManagedBy", "terraform")]);
    let findings = diff(&scope(), &[declared], &[live], &none);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let finding = &findings[0];
    assert_eq!(finding.kind, FindingKind::Modified);
    assert_eq!(finding.attribute.as_deref(), Some("ingress"));
    assert_eq!(finding.expected, None);
    assert_eq!(finding.actual, Some(json!("tcp 22-22 from 0.0.0.0/0")));
    assert_eq!(finding.address, "aws_security_group.web");
    assert_eq!(finding.actions.len(), 1);
    assert_eq!(finding.actions[0].api(), "ec2:RevokeSecurityGroupIngress");
    assert_eq!(
        finding.actions[0].record().params,
        json!({"IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]})
    );
}

type Row<'a> = (Option<&'a str>, Option<Value>, Option<Value>, &'a str);

#[test]
fn tag_drift_is_per_key_and_plans_tag_calls() {
    let declared = declared(&sg_state()).unwrap();
    let live = live_sg(&[], &[("Team", "payments"), ("ManagedBy", "terraform"), ("Owner", "bob")]);
    let findings = diff(&scope(), &[declared], &[live], &none);
    let summary: Vec<Row<'_>> = findings
        .iter()
        .map(|f| (f.attribute.as_deref(), f.expected.clone(), f.actual.clone(), f.actions[0].api()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Some("tags.Owner"), None, Some(json!("bob")), "ec2:DeleteTags"),
            (Some("tags.Team"), Some(json!("web")), Some(json!("payments")), "ec2:CreateTags"),
        ]
    );
}

#[test]
fn missing_and_unmanaged_resources_are_found_and_never_auto_fixed() {
    let declared = declared(&sg_state()).unwrap();
    let stray = Normalized {
        resource_type: "aws_security_group".into(),
        id: "sg-stray".into(),
        address: String::new(),
        attributes: Attributes::new(),
    };
    let all = |_: &Normalized| true;
    let findings = diff(&scope(), &[declared], std::slice::from_ref(&stray), &all);
    let kinds: Vec<(FindingKind, &str, usize)> =
        findings.iter().map(|f| (f.kind, f.resource_id.as_str(), f.actions.len())).collect();
    assert_eq!(kinds, vec![(FindingKind::Missing, "sg-1", 0), (FindingKind::Unmanaged, "sg-stray", 0)]);
    assert_eq!(diff(&scope(), &[], &[stray], &none), vec![], "out of unmanaged scope");
}

#[test]
fn an_unmanaged_bucket_is_one_finding_not_one_per_configuration_type() {
    let live = |resource_type: &str| Normalized {
        resource_type: resource_type.into(),
        id: "stray-bucket".into(),
        address: String::new(),
        attributes: Attributes::new(),
    };
    let listed = [
        live("aws_s3_bucket"),
        live("aws_s3_bucket_versioning"),
        live("aws_s3_bucket_server_side_encryption_configuration"),
        live("aws_s3_bucket_public_access_block"),
    ];
    // A policy whose unmanaged types are a glob over all of them (`aws_s3_*`).
    let all = |_: &Normalized| true;
    let findings = diff(&scope(), &[], &listed, &all);
    let kinds: Vec<(FindingKind, &str)> = findings.iter().map(|f| (f.kind, f.resource_type.as_str())).collect();
    assert_eq!(kinds, vec![(FindingKind::Unmanaged, "aws_s3_bucket")]);
}

#[test]
fn policy_documents_compare_as_values_and_url_encoding_is_undone() {
    let declared_text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":["ec2.amazonaws.com"]},"Action":"sts:AssumeRole"}]}"#;
    let live_text = "%7B%22Statement%22%3A%7B%22Action%22%3A%5B%22sts%3AAssumeRole%22%5D%2C%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ec2.amazonaws.com%22%7D%7D%2C%22Version%22%3A%222012-10-17%22%7D";
    assert_eq!(policy_document(declared_text), policy_document(live_text));
    let widened = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;
    assert_ne!(policy_document(declared_text), policy_document(widened));
    let reordered =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:List*"],"Resource":"*"}]}"#;
    let reordered2 =
        r#"{"Statement":[{"Resource":["*"],"Action":["s3:List*","s3:Get*"],"Effect":"Allow"}],"Version":"2012-10-17"}"#;
    assert_eq!(policy_document(reordered), policy_document(reordered2));
}

#[test]
fn null_and_empty_are_the_same_and_nested_blocks_are_read() {
    let instance = state(
        "aws_instance",
        "app",
        json!({"id": "i-1", "instance_type": "t3.micro", "iam_instance_profile": "", "vpc_security_group_ids": ["sg-2", "sg-1"],
               "disable_api_termination": null, "monitoring": false, "metadata_options": [{"http_tokens": "required"}],
               "tags": null, "tags_all": {}}),
    );
    let normalized = declared(&instance).unwrap();
    assert_eq!(normalized.attributes["iam_instance_profile"], Value::Null);
    assert_eq!(normalized.attributes["vpc_security_group_ids"], json!(["sg-1", "sg-2"]));
    assert_eq!(normalized.attributes["disable_api_termination"], json!(false));
    assert_eq!(normalized.attributes["metadata_options.http_tokens"], json!("required"));
    assert!(!normalized.attributes.keys().any(|key| key.starts_with("tags.")));
}

#[test]
fn instance_type_drift_is_escalated_not_fixed_and_fingerprints_are_stable() {
    let instance = state("aws_instance", "app", json!({"id": "i-1", "instance_type": "t3.micro"}));
    let want = declared(&instance).unwrap();
    let mut have = want.clone();
    have.attributes.insert("instance_type".into(), json!("m5.4xlarge"));
    let first = diff(&scope(), std::slice::from_ref(&want), std::slice::from_ref(&have), &none);
    let second = diff(&scope(), std::slice::from_ref(&want), &[have], &none);
    assert_eq!(first.len(), 1);
    assert!(first[0].actions.is_empty());
    assert_eq!(first[0].fingerprint(), second[0].fingerprint());
    let mut other = want.clone();
    other.attributes.insert("instance_type".into(), json!("m5.8xlarge"));
    let third = diff(&scope(), &[want], &[other], &none);
    assert_ne!(first[0].fingerprint(), third[0].fingerprint(), "a changed drift is a new fingerprint");
}

#[test]
fn every_supported_type_in_the_corpus_normalises() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/tfstate");
    if !dir.is_dir() {
        println!("SKIP: corpus absent");
        return;
    }
    let mut seen = std::collections::BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let Ok(state) = crate::tfstate::parse("c", std::fs::read(&path).unwrap()) else { continue };
        for resource in &state.resources {
            if declared::compared(&resource.resource_type) {
                let normalized =
                    declared(resource).unwrap_or_else(|| panic!("{}: {}", path.display(), resource.address));
                assert!(!normalized.id.is_empty());
                seen.insert(resource.resource_type.clone());
            }
        }
    }
    assert!(seen.len() >= 5, "{seen:?}");
}

#[test]
fn a_revoked_standalone_rule_is_one_missing_rule_not_also_a_group_change() {
    // Terraform records the standalone rule as its own resource and, refreshed, inside its group.
    let mut group = sg_state();
    let mut attributes = group.attributes.value();
    attributes["ingress"].as_array_mut().unwrap().push(json!({
        "cidr_blocks": ["10.1.0.0/16"], "description": "", "from_port": 5432, "ipv6_cidr_blocks": [],
        "prefix_list_ids": [], "protocol": "tcp", "security_groups": [], "self": false, "to_port": 5432}));
    group.attributes = attributes.into();
    let rule = state(
        "aws_vpc_security_group_ingress_rule",
        "db",
        json!({"id": "sgr-1", "security_group_id": "sg-1", "cidr_ipv4": "10.1.0.0/16", "ip_protocol": "tcp",
               "from_port": 5432, "to_port": 5432, "tags": null, "tags_all": {}}),
    );
    let declared_side = vec![declared(&group).unwrap(), declared(&rule).unwrap()];
    let tags = [("Team", "web"), ("ManagedBy", "terraform")];

    // Still there: no drift at all.
    let mut live_rule = declared(&rule).unwrap();
    live_rule.address = String::new();
    let live = vec![live_sg(&["tcp 5432-5432 from 10.1.0.0/16"], &tags), live_rule];
    assert_eq!(diff(&scope(), &declared_side, &live, &none), vec![]);

    // Revoked outside Terraform: one finding, the rule is missing.
    let findings = diff(&scope(), &declared_side, &[live_sg(&[], &tags)], &none);
    let kinds: Vec<_> = findings.iter().map(|f| (f.resource_type.as_str(), f.kind)).collect();
    assert_eq!(kinds, vec![("aws_vpc_security_group_ingress_rule", FindingKind::Missing)]);

    // A rule added next to it is still group drift.
    let findings = diff(&scope(), &declared_side, &[live_sg(&["tcp 22-22 from 0.0.0.0/0"], &tags)], &none);
    let kinds: Vec<_> = findings.iter().map(|f| (f.resource_type.as_str(), f.attribute.as_deref())).collect();
    assert_eq!(kinds, vec![("aws_security_group", Some("ingress")), ("aws_vpc_security_group_ingress_rule", None)]);
}
