use serde_json::{Value, json};

use super::*;
use crate::remediation::RemediationCall;

fn tag(key: &str, value: Option<&str>) -> Tag {
    Tag { key: key.to_owned(), value: value.map(str::to_owned) }
}

/// Every variant with the record it writes, as records were written before calls were
/// typed: stores and audit searches of earlier versions keep working.
fn table() -> Vec<(AwsCall, Value)> {
    let ssh = IpPermission {
        ip_protocol: "tcp".into(),
        from_port: Some(22),
        to_port: Some(22),
        ip_ranges: vec![IpRange { cidr_ip: "0.0.0.0/0".into() }],
        ipv6_ranges: vec![],
        user_id_group_pairs: vec![],
        prefix_list_ids: vec![],
    };
    let all_from_group = IpPermission {
        ip_protocol: "-1".into(),
        from_port: None,
        to_port: None,
        ip_ranges: vec![],
        ipv6_ranges: vec![Ipv6Range { cidr_ipv6: "::/0".into() }],
        user_id_group_pairs: vec![GroupPair { group_id: "sg-2".into() }],
        prefix_list_ids: vec![PrefixListRef { prefix_list_id: "pl-1".into() }],
    };
    let document = json!({"Version": "2012-10-17", "Statement": []});
    vec![
        (
            AwsCall::SecurityGroupRules {
                group_id: "sg-1".into(),
                change: RuleChange::Revoke,
                direction: Direction::Ingress,
                permissions: vec![ssh.clone()],
            },
            json!({"api": "ec2:RevokeSecurityGroupIngress", "target": "sg-1", "params": {"IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}}),
        ),
        (
            AwsCall::SecurityGroupRules {
                group_id: "sg-1".into(),
                change: RuleChange::Authorize,
                direction: Direction::Egress,
                permissions: vec![all_from_group],
            },
            json!({"api": "ec2:AuthorizeSecurityGroupEgress", "target": "sg-1", "params": {"IpPermissions": [
                {"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}], "UserIdGroupPairs": [{"GroupId": "sg-2"}],
                 "PrefixListIds": [{"PrefixListId": "pl-1"}]}]}}),
        ),
        (
            AwsCall::SecurityGroupRules {
                group_id: "sg-1".into(),
                change: RuleChange::Authorize,
                direction: Direction::Ingress,
                permissions: vec![ssh.clone()],
            },
            json!({"api": "ec2:AuthorizeSecurityGroupIngress", "target": "sg-1", "params": {"IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}}),
        ),
        (
            AwsCall::SecurityGroupRules {
                group_id: "sg-1".into(),
                change: RuleChange::Revoke,
                direction: Direction::Egress,
                permissions: vec![ssh],
            },
            json!({"api": "ec2:RevokeSecurityGroupEgress", "target": "sg-1", "params": {"IpPermissions": [
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}}),
        ),
        (
            AwsCall::Ec2Tag { resource_id: "i-1".into(), tag: tag("Team", Some("core")) },
            json!({"api": "ec2:CreateTags", "target": "i-1", "params": {"Key": "Team", "Value": "core"}}),
        ),
        (
            AwsCall::Ec2Tag { resource_id: "i-1".into(), tag: tag("Team", None) },
            json!({"api": "ec2:DeleteTags", "target": "i-1", "params": {"Key": "Team"}}),
        ),
        (
            AwsCall::InstanceAttribute {
                instance_id: "i-1".into(),
                change: InstanceChange::SecurityGroups(vec!["sg-1".into(), "sg-2".into()]),
            },
            json!({"api": "ec2:ModifyInstanceAttribute", "target": "i-1", "params": {"Groups": ["sg-1", "sg-2"]}}),
        ),
        (
            AwsCall::InstanceAttribute {
                instance_id: "i-1".into(),
                change: InstanceChange::DisableApiTermination(true),
            },
            json!({"api": "ec2:ModifyInstanceAttribute", "target": "i-1", "params": {"DisableApiTermination": true}}),
        ),
        (
            AwsCall::InstanceMonitoring { instance_id: "i-1".into(), enabled: true },
            json!({"api": "ec2:MonitorInstances", "target": "i-1", "params": {}}),
        ),
        (
            AwsCall::InstanceMonitoring { instance_id: "i-1".into(), enabled: false },
            json!({"api": "ec2:UnmonitorInstances", "target": "i-1", "params": {}}),
        ),
        (
            AwsCall::InstanceMetadataTokens { instance_id: "i-1".into(), http_tokens: "required".into() },
            json!({"api": "ec2:ModifyInstanceMetadataOptions", "target": "i-1", "params": {"HttpTokens": "required"}}),
        ),
        (
            AwsCall::BucketVersioning { bucket: "b".into(), status: "Enabled".into() },
            json!({"api": "s3:PutBucketVersioning", "target": "b", "params": {"Status": "Enabled"}}),
        ),
        (
            AwsCall::BucketPublicAccess { bucket: "b".into(), flag: PublicAccessFlag::IgnorePublicAcls, value: true },
            json!({"api": "s3:PutPublicAccessBlock", "target": "b", "params": {"ignore_public_acls": true}}),
        ),
        (
            AwsCall::BucketEncryption {
                bucket: "b".into(),
                setting: EncryptionSetting::SseAlgorithm("aws:kms".into()),
            },
            json!({"api": "s3:PutBucketEncryption", "target": "b", "params": {"rule.sse_algorithm": "aws:kms"}}),
        ),
        (
            AwsCall::BucketEncryption { bucket: "b".into(), setting: EncryptionSetting::KmsMasterKeyId("k".into()) },
            json!({"api": "s3:PutBucketEncryption", "target": "b", "params": {"rule.kms_master_key_id": "k"}}),
        ),
        (
            AwsCall::BucketTag { bucket: "b".into(), tag: tag("Team", Some("core")) },
            json!({"api": "s3:PutBucketTagging", "target": "b", "params": {"Key": "Team", "Value": "core"}}),
        ),
        (
            AwsCall::BucketTag { bucket: "b".into(), tag: tag("Team", None) },
            json!({"api": "s3:PutBucketTagging", "target": "b", "params": {"Key": "Team"}}),
        ),
        (
            AwsCall::DbInstance { db_instance_id: "db".into(), change: DbChange::PubliclyAccessible(false) },
            json!({"api": "rds:ModifyDBInstance", "target": "db",
                   "params": {"publicly_accessible": false, "ApplyImmediately": true}}),
        ),
        (
            AwsCall::DbInstance { db_instance_id: "db".into(), change: DbChange::DeletionProtection(true) },
            json!({"api": "rds:ModifyDBInstance", "target": "db",
                   "params": {"deletion_protection": true, "ApplyImmediately": true}}),
        ),
        (
            AwsCall::DbInstance { db_instance_id: "db".into(), change: DbChange::BackupRetentionPeriod(7) },
            json!({"api": "rds:ModifyDBInstance", "target": "db",
                   "params": {"backup_retention_period": 7, "ApplyImmediately": true}}),
        ),
        (
            AwsCall::DbTag { db_instance_id: "db".into(), tag: tag("Team", Some("core")) },
            json!({"api": "rds:AddTagsToResource", "target": "db", "params": {"Key": "Team", "Value": "core"}}),
        ),
        (
            AwsCall::DbTag { db_instance_id: "db".into(), tag: tag("Team", None) },
            json!({"api": "rds:RemoveTagsFromResource", "target": "db", "params": {"Key": "Team"}}),
        ),
        (
            AwsCall::RoleTrustPolicy { role_name: "r".into(), document: document.clone() },
            json!({"api": "iam:UpdateAssumeRolePolicy", "target": "r", "params": {"PolicyDocument": document}}),
        ),
        (
            AwsCall::RoleMaxSessionDuration { role_name: "r".into(), seconds: 7200 },
            json!({"api": "iam:UpdateRole", "target": "r", "params": {"MaxSessionDuration": 7200}}),
        ),
        (
            AwsCall::RoleTag { role_name: "r".into(), tag: tag("Team", Some("core")) },
            json!({"api": "iam:TagRole", "target": "r", "params": {"Key": "Team", "Value": "core"}}),
        ),
        (
            AwsCall::RoleTag { role_name: "r".into(), tag: tag("Team", None) },
            json!({"api": "iam:UntagRole", "target": "r", "params": {"Key": "Team"}}),
        ),
        (
            AwsCall::PolicyDocument { policy_arn: "arn:aws:iam::1:policy/p".into(), document: document.clone() },
            json!({"api": "iam:CreatePolicyVersion", "target": "arn:aws:iam::1:policy/p",
                   "params": {"PolicyDocument": document, "SetAsDefault": true}}),
        ),
    ]
    .into_iter()
    .chain(breadth(&document))
    .collect()
}

/// The calls of the types issue 14 added.
fn breadth(document: &Value) -> Vec<(AwsCall, Value)> {
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    let entry = AclEntry {
        rule_number: 110,
        egress: false,
        rule_action: "allow".into(),
        protocol: "tcp".into(),
        port_range: Some(PortRange { from: 3389, to: 3389 }),
        icmp_type_code: None,
        cidr_block: "0.0.0.0/0".into(),
    };
    let acl_params = json!({"RuleNumber": 110, "Egress": false, "RuleAction": "allow", "Protocol": "tcp",
                            "PortRange": {"From": 3389, "To": 3389}, "CidrBlock": "0.0.0.0/0"});
    let mut rows = Vec::new();
    for (principal, noun) in [(Principal::Role, "Role"), (Principal::User, "User"), (Principal::Group, "Group")] {
        for attach in [true, false] {
            let verb = if attach { "Attach" } else { "Detach" };
            rows.push((
                AwsCall::PolicyAttachment { principal, name: "p".into(), policy_arn: admin.into(), attach },
                json!({"api": format!("iam:{verb}{noun}Policy"), "target": "p", "params": {"PolicyArn": admin}}),
            ));
        }
        rows.push((
            AwsCall::InlinePolicy { principal, name: "p".into(), policy_name: "x".into(), document: Some(document.clone()) },
            json!({"api": format!("iam:Put{noun}Policy"), "target": "p", "params": {"PolicyName": "x", "PolicyDocument": document}}),
        ));
        rows.push((
            AwsCall::InlinePolicy { principal, name: "p".into(), policy_name: "x".into(), document: None },
            json!({"api": format!("iam:Delete{noun}Policy"), "target": "p", "params": {"PolicyName": "x"}}),
        ));
    }
    rows.extend([
        (
            AwsCall::GroupMembership { user_name: "u".into(), group_name: "g".into(), add: false },
            json!({"api": "iam:RemoveUserFromGroup", "target": "u", "params": {"GroupName": "g"}}),
        ),
        (
            AwsCall::GroupMembership { user_name: "u".into(), group_name: "g".into(), add: true },
            json!({"api": "iam:AddUserToGroup", "target": "u", "params": {"GroupName": "g"}}),
        ),
        (
            AwsCall::UserTag { user_name: "u".into(), tag: tag("Team", Some("a")) },
            json!({"api": "iam:TagUser", "target": "u", "params": {"Key": "Team", "Value": "a"}}),
        ),
        (
            AwsCall::AccessKeyStatus { access_key_id: "AKIA1".into(), status: "Active".into() },
            json!({"api": "iam:UpdateAccessKey", "target": "AKIA1", "params": {"Status": "Active"}}),
        ),
        (
            AwsCall::PasswordPolicy { change: PasswordChange::MinimumPasswordLength(14) },
            json!({"api": "iam:UpdateAccountPasswordPolicy", "target": "iam-account-password-policy",
                   "params": {"MinimumPasswordLength": 14}}),
        ),
        (
            AwsCall::OidcClientId { provider_arn: "arn:o".into(), client_id: "c".into(), add: false },
            json!({"api": "iam:RemoveClientIDFromOpenIDConnectProvider", "target": "arn:o", "params": {"ClientID": "c"}}),
        ),
        (
            AwsCall::BucketPolicy { bucket: "b".into(), document: document.clone() },
            json!({"api": "s3:PutBucketPolicy", "target": "b", "params": {"Policy": document}}),
        ),
        (
            AwsCall::BucketAclGrant { bucket: "b".into(), grant: "READ Group:http://x/AllUsers".into(), add: false },
            json!({"api": "s3:PutBucketAcl", "target": "b", "params": {"RemoveGrant": "READ Group:http://x/AllUsers"}}),
        ),
        (
            AwsCall::BucketOwnership { bucket: "b".into(), ownership: "BucketOwnerEnforced".into() },
            json!({"api": "s3:PutBucketOwnershipControls", "target": "b", "params": {"ObjectOwnership": "BucketOwnerEnforced"}}),
        ),
        (
            AwsCall::BucketLogging { bucket: "b".into(), setting: LoggingSetting::TargetPrefix("logs/".into()) },
            json!({"api": "s3:PutBucketLogging", "target": "b", "params": {"TargetPrefix": "logs/"}}),
        ),
        (
            AwsCall::VpcAttribute { vpc_id: "vpc-1".into(), flag: VpcFlag::EnableDnsHostnames, value: true },
            json!({"api": "ec2:ModifyVpcAttribute", "target": "vpc-1", "params": {"EnableDnsHostnames": true}}),
        ),
        (
            AwsCall::SubnetPublicIp { subnet_id: "subnet-1".into(), map_public_ip_on_launch: false },
            json!({"api": "ec2:ModifySubnetAttribute", "target": "subnet-1", "params": {"MapPublicIpOnLaunch": false}}),
        ),
        (
            AwsCall::DeleteRoute { route_table_id: "rtb-1".into(), destination: "10.99.0.0/16".into() },
            json!({"api": "ec2:DeleteRoute", "target": "rtb-1", "params": {"Destination": "10.99.0.0/16"}}),
        ),
        (
            AwsCall::NetworkAclEntry { network_acl_id: "acl-1".into(), entry: entry.clone(), create: false },
            json!({"api": "ec2:DeleteNetworkAclEntry", "target": "acl-1", "params": acl_params}),
        ),
        (
            AwsCall::NetworkAclEntry { network_acl_id: "acl-1".into(), entry, create: true },
            json!({"api": "ec2:CreateNetworkAclEntry", "target": "acl-1", "params": acl_params}),
        ),
        (
            AwsCall::EbsEncryptionByDefault { enabled: true },
            json!({"api": "ec2:EnableEbsEncryptionByDefault", "target": "ebs-encryption-by-default", "params": {}}),
        ),
        (
            AwsCall::InterfaceSourceDestCheck { network_interface_id: "eni-1".into(), enabled: true },
            json!({"api": "ec2:ModifyNetworkInterfaceAttribute", "target": "eni-1", "params": {"SourceDestCheck": true}}),
        ),
        (
            AwsCall::KeyPairTag { key_name: "k".into(), tag: tag("Name", Some("n")) },
            json!({"api": "ec2:CreateTags", "target": "k", "params": {"Key": "Name", "Value": "n", "ResourceType": "key-pair"}}),
        ),
        (
            AwsCall::DbCluster { cluster_id: "c".into(), change: DbChange::DeletionProtection(false) },
            json!({"api": "rds:ModifyDBCluster", "target": "c",
                   "params": {"deletion_protection": false, "ApplyImmediately": true}}),
        ),
        (
            AwsCall::DbParameter { cluster: true, group: "g".into(), name: "n".into(), value: Some("5".into()) },
            json!({"api": "rds:ModifyDBClusterParameterGroup", "target": "g",
                   "params": {"ParameterName": "n", "ParameterValue": "5", "ApplyMethod": "immediate"}}),
        ),
        (
            AwsCall::DbParameter { cluster: false, group: "g".into(), name: "n".into(), value: None },
            json!({"api": "rds:ResetDBParameterGroup", "target": "g", "params": {"ParameterName": "n"}}),
        ),
        (
            AwsCall::SnapshotRestore { snapshot_id: "s".into(), account: "all".into(), add: false },
            json!({"api": "rds:ModifyDBSnapshotAttribute", "target": "s",
                   "params": {"AttributeName": "restore", "ValuesToRemove": ["all"]}}),
        ),
        (
            AwsCall::OidcClientId { provider_arn: "arn:o".into(), client_id: "c".into(), add: true },
            json!({"api": "iam:AddClientIDToOpenIDConnectProvider", "target": "arn:o", "params": {"ClientID": "c"}}),
        ),
        (
            AwsCall::UserTag { user_name: "u".into(), tag: tag("Team", None) },
            json!({"api": "iam:UntagUser", "target": "u", "params": {"Key": "Team"}}),
        ),
        (
            AwsCall::EbsEncryptionByDefault { enabled: false },
            json!({"api": "ec2:DisableEbsEncryptionByDefault", "target": "ebs-encryption-by-default", "params": {}}),
        ),
        (
            AwsCall::DbParameter { cluster: false, group: "g".into(), name: "n".into(), value: Some("5".into()) },
            json!({"api": "rds:ModifyDBParameterGroup", "target": "g",
                   "params": {"ParameterName": "n", "ParameterValue": "5", "ApplyMethod": "immediate"}}),
        ),
        (
            AwsCall::DbParameter { cluster: true, group: "g".into(), name: "n".into(), value: None },
            json!({"api": "rds:ResetDBClusterParameterGroup", "target": "g", "params": {"ParameterName": "n"}}),
        ),
    ]);
    rows
}

#[test]
fn every_call_is_recorded_as_before_and_read_back_as_itself() {
    let table = table();
    for (call, recorded) in table {
        let call = RemediationCall::Aws(call);
        let written = serde_json::to_value(&call).unwrap();
        assert_eq!(written, recorded, "{call:?}");
        let read: RemediationCall = serde_json::from_value(recorded).unwrap();
        assert_eq!(read, call);
        assert_eq!(call.record().api, call.api());
        assert_eq!(call.record().target, call.target());
    }
}

#[test]
fn the_table_names_every_api_of_the_executor() {
    let mut apis: Vec<&str> = table().iter().map(|(call, _)| call.api()).collect();
    apis.sort_unstable();
    apis.dedup();
    assert_eq!(apis.len(), 60, "{apis:?}");
}

#[test]
fn a_group_named_self_in_an_old_record_is_the_target_group() {
    let old = json!({"api": "ec2:RevokeSecurityGroupIngress", "target": "sg-9",
                     "params": {"IpPermissions": [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                                   "UserIdGroupPairs": [{"GroupId": "self"}]}]}});
    let RemediationCall::Aws(AwsCall::SecurityGroupRules { permissions, .. }) = serde_json::from_value(old).unwrap()
    else {
        panic!("not a rule call")
    };
    assert_eq!(permissions[0].user_id_group_pairs, vec![GroupPair { group_id: "sg-9".into() }]);
}

#[test]
fn records_no_call_means_are_refused_naming_the_api_and_the_parameter() {
    let cases = [
        (json!({"api": "ec2:TerminateInstances", "target": "i-1", "params": {}}), "ec2:TerminateInstances: no AWS"),
        (json!({"api": "lambda:UpdateFunction", "target": "f", "params": {}}), "lambda:UpdateFunction: no remediation"),
        (json!({"api": "ec2:CreateTags", "target": "i-1", "params": {"Key": "k"}}), "parameter Value is missing"),
        (json!({"api": "iam:UpdateRole", "target": "r", "params": {"MaxSessionDuration": "1h"}}), "MaxSessionDuration"),
        (json!({"api": "iam:UpdateRole", "target": "r", "params": {"MaxSessionDuration": 1e12}}), "MaxSessionDuration"),
        (
            json!({"api": "s3:PutPublicAccessBlock", "target": "b",
                   "params": {"block_public_acls": true, "ignore_public_acls": true}}),
            "exactly one public access flag",
        ),
        (json!({"api": "s3:PutPublicAccessBlock", "target": "b", "params": {}}), "exactly one public access flag"),
        (json!({"api": "rds:ModifyDBInstance", "target": "db", "params": {"ApplyImmediately": true}}), "missing"),
        (json!({"api": "ec2:ModifyInstanceAttribute", "target": "i", "params": {"Groups": "sg-1"}}), "Groups"),
    ];
    for (record, expected) in cases {
        let error = serde_json::from_value::<RemediationCall>(record.clone()).unwrap_err().to_string();
        assert!(error.contains(expected), "{record}: {error}");
    }
}
