//! VPC networking and EBS: VPCs, subnets, gateways, route tables and their routes and
//! associations, network ACLs and their rules, legacy security group rules, addresses,
//! key pairs, volumes and the region's default encryption, interfaces, launch templates,
//! flow logs and endpoints.
//!
//! Routes and ACL entries are atoms of their table's or ACL's set, as security group rules
//! are of their group's: a route or entry added outside Terraform is one finding on its
//! parent, removed by one call; a standalone `aws_route` / `aws_network_acl_rule` /
//! `aws_security_group_rule` is compared through its parent (present, or missing).
//! AWS's own objects (the default VPC, its subnets, main route tables, default ACLs, the
//! primary interfaces of instances) are listed only when a state declares them.

use serde_json::Value;

use super::{Attribute, EC2_TAGS, Entry, Fix, Listing, Shape, expected_flag};
use crate::catalogue::{Element, PartOf, Through};
use crate::drift::normalize::{
    RuleSource, boolean, number, policy_document, protocol, rule_atom, string_set, strings, text,
};
use crate::drift::types::Normalized;
use crate::model::Provider;
use crate::remediation::RemediationCall;
use crate::remediation::aws::{AclEntry, AwsCall, IcmpTypeCode, PortRange, VpcFlag};

/// What every entry of this file shares.
const EC2: Entry = Entry { service: "ec2", tags: Some(EC2_TAGS), ..Entry::blank(Provider::Aws, &["id"]) };

/// A boolean whose provider default is true.
fn true_by_default(a: &Value, key: &str) -> Value {
    Value::Bool(a.get(key).and_then(Value::as_bool).unwrap_or(true))
}

fn vpc_flag(f: &Fix<'_>, flag: VpcFlag) -> Option<RemediationCall> {
    Some(AwsCall::VpcAttribute { vpc_id: f.id.to_owned(), flag, value: expected_flag(f)? }.into())
}

const VPC: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "cidr_block", declared: |a| text(a, &["cidr_block"]), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "instance_tenancy",
        declared: |a| text(a, &["instance_tenancy"]),
        fix: None,
    },
    Attribute {
        shape: Shape::Value,
        path: "enable_dns_support",
        declared: |a| true_by_default(a, "enable_dns_support"),
        fix: Some(|f| vpc_flag(f, VpcFlag::EnableDnsSupport)),
    },
    Attribute {
        shape: Shape::Value,
        path: "enable_dns_hostnames",
        declared: |a| boolean(a.get("enable_dns_hostnames")),
        fix: Some(|f| vpc_flag(f, VpcFlag::EnableDnsHostnames)),
    },
];

const SUBNET: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "vpc_id", declared: |a| text(a, &["vpc_id"]), fix: None },
    Attribute { shape: Shape::Value, path: "cidr_block", declared: |a| text(a, &["cidr_block"]), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "availability_zone",
        declared: |a| text(a, &["availability_zone"]),
        fix: None,
    },
    Attribute {
        shape: Shape::Value,
        path: "map_public_ip_on_launch",
        declared: |a| boolean(a.get("map_public_ip_on_launch")),
        fix: Some(|f| {
            Some(
                AwsCall::SubnetPublicIp { subnet_id: f.id.to_owned(), map_public_ip_on_launch: expected_flag(f)? }
                    .into(),
            )
        }),
    },
];

const INTERNET_GATEWAY: &[Attribute] =
    &[Attribute { shape: Shape::Value, path: "vpc_id", declared: |a| text(a, &["vpc_id"]), fix: None }];

/// The fields of a route's target, in the provider's names (and the API's, snake_cased).
pub const ROUTE_TARGETS: [&str; 11] = [
    "gateway_id",
    "nat_gateway_id",
    "network_interface_id",
    "transit_gateway_id",
    "vpc_peering_connection_id",
    "egress_only_gateway_id",
    "vpc_endpoint_id",
    "local_gateway_id",
    "carrier_gateway_id",
    "core_network_arn",
    "instance_id",
];

/// A route as an atom: `DESTINATION -> TARGET` (`0.0.0.0/0 -> igw-1`).
pub fn route_atom(destination: &str, target: &str) -> String {
    format!("{destination} -> {target}")
}

/// A route's destination and target from provider-shaped fields (`cidr_block` in a
/// table's `route` block, `destination_cidr_block` in an `aws_route`).
fn route_of(route: &Value, cidr: &str, ipv6: &str) -> Option<String> {
    let field = |key: &str| route.get(key).and_then(Value::as_str).filter(|v| !v.is_empty());
    let destination = field(cidr).or_else(|| field(ipv6)).or_else(|| field("destination_prefix_list_id"))?;
    // An instance route also names the instance's interface: the interface is the target.
    let target = ROUTE_TARGETS.iter().find_map(|key| field(key)).unwrap_or_default();
    Some(route_atom(destination, target))
}

const ROUTE_TABLE: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "vpc_id", declared: |a| text(a, &["vpc_id"]), fix: None },
    Attribute {
        shape: Shape::Set,
        path: "route",
        declared: |a| {
            let routes = a.get("route").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            string_set(routes.iter().filter_map(|route| route_of(route, "cidr_block", "ipv6_cidr_block")))
        },
        // A route to a destination the table does not declare is deleted. A repointed one
        // (its destination declared, to another target) is escalated: deleting the new
        // atom alone would cut the subnet off. A declared one that went missing needs its
        // target, which may be gone too (and the table's own copy may be stale): escalated.
        fix: Some(|f| {
            let (None, Some(Value::String(atom))) = (f.expected, f.actual) else { return None };
            let (destination, _) = atom.split_once(" -> ")?;
            let repointed = f.declared.and_then(Value::as_array).is_some_and(|atoms| {
                atoms
                    .iter()
                    .filter_map(Value::as_str)
                    .any(|a| a.split_once(" -> ").map(|(d, _)| d) == Some(destination))
            });
            if repointed {
                return None;
            }
            Some(AwsCall::DeleteRoute { route_table_id: f.id.to_owned(), destination: destination.to_owned() }.into())
        }),
    },
];

const ROUTE: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "route_table_id", declared: |a| text(a, &["route_table_id"]), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "route",
        declared: |a| {
            route_of(a, "destination_cidr_block", "destination_ipv6_cidr_block").map_or(Value::Null, Value::from)
        },
        fix: None,
    },
];

fn route_elements(part: &Normalized) -> Vec<Element> {
    let field = |key: &str| part.attributes.get(key).and_then(Value::as_str).map(str::to_owned);
    match (field("route_table_id"), field("route")) {
        (Some(parent), Some(key)) => vec![Element { parent, attribute: "route", key }],
        _ => Vec::new(),
    }
}

const ROUTE_TABLE_ASSOCIATION: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "route_table_id", declared: |a| text(a, &["route_table_id"]), fix: None },
    Attribute { shape: Shape::Value, path: "subnet_id", declared: |a| text(a, &["subnet_id"]), fix: None },
    Attribute { shape: Shape::Value, path: "gateway_id", declared: |a| text(a, &["gateway_id"]), fix: None },
];

/// An ACL entry as an atom: `RULE ACTION PROTOCOL PORTS CIDR` (`100 allow tcp 443-443
/// 10.0.0.0/8`); all traffic has no ports (`all`), ICMP its type and code (`icmp:8:-1`).
pub fn acl_atom(
    rule: i64,
    action: &str,
    protocol_name: &str,
    ports: (i64, i64),
    icmp: (i64, i64),
    cidr: &str,
) -> String {
    let protocol_name = protocol(protocol_name);
    let ports = match protocol_name.as_str() {
        "-1" => "all".to_owned(),
        "icmp" | "icmpv6" => format!("icmp:{}:{}", icmp.0, icmp.1),
        _ => format!("{}-{}", ports.0, ports.1),
    };
    format!("{rule} {} {protocol_name} {ports} {cidr}", action.to_ascii_lowercase())
}

/// An ACL atom taken apart, for the calls that add or remove it.
pub fn parse_acl_atom(atom: &str, egress: bool) -> Option<AclEntry> {
    let mut words = atom.split(' ');
    let rule_number = words.next()?.parse().ok()?;
    let action = words.next()?.to_owned();
    let protocol_name = words.next()?.to_owned();
    let ports = words.next()?;
    let cidr_block = words.next()?.to_owned();
    let (mut port_range, mut icmp_type_code) = (None, None);
    if let Some(icmp_fields) = ports.strip_prefix("icmp:") {
        let (kind, code) = icmp_fields.split_once(':')?;
        icmp_type_code = Some(IcmpTypeCode { r#type: kind.parse().ok()?, code: code.parse().ok()? });
    } else if ports != "all" {
        let (from, to) = ports.split_once('-')?;
        port_range = Some(PortRange { from: from.parse().ok()?, to: to.parse().ok()? });
    }
    if words.next().is_some() {
        return None;
    }
    Some(AclEntry {
        rule_number,
        egress,
        rule_action: action,
        protocol: protocol_name,
        port_range,
        icmp_type_code,
        cidr_block,
    })
}

/// One entry in provider shape (`rule_no` in an ACL's block, `rule_number` in a rule).
fn acl_entry_atom(entry: &Value, rule_key: &str, action_key: &str) -> Option<String> {
    let number = |key: &str| entry.get(key).and_then(Value::as_i64).unwrap_or(0);
    let cidr = ["cidr_block", "ipv6_cidr_block"]
        .iter()
        .find_map(|key| entry.get(*key).and_then(Value::as_str).filter(|v| !v.is_empty()))?;
    Some(acl_atom(
        entry.get(rule_key)?.as_i64()?,
        entry.get(action_key)?.as_str()?,
        entry.get("protocol")?.as_str()?,
        (number("from_port"), number("to_port")),
        (number("icmp_type"), number("icmp_code")),
        cidr,
    ))
}

fn acl_entries(a: &Value, key: &str) -> Value {
    let entries = a.get(key).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    string_set(entries.iter().filter_map(|entry| acl_entry_atom(entry, "rule_no", "action")))
}

/// An entry added outside Terraform (a rule number the ACL does not declare) is
/// deleted. A changed entry is escalated: it is one atom removed and one added for the same
/// rule number, and deleting the new one alone would leave the rule out. A declared entry
/// missing live is not re-created from the ACL's own copy (stale once an
/// `aws_network_acl_rule` was destroyed).
fn acl_fix(f: &Fix<'_>, egress: bool, declared_rules: Option<&Value>) -> Option<RemediationCall> {
    let (None, Some(Value::String(atom))) = (f.expected, f.actual) else { return None };
    let entry = parse_acl_atom(atom, egress)?;
    let number = entry.rule_number.to_string();
    let renumbered = declared_rules
        .and_then(Value::as_array)
        .is_some_and(|atoms| atoms.iter().filter_map(Value::as_str).any(|a| a.split(' ').next() == Some(&number)));
    if renumbered {
        return None;
    }
    Some(AwsCall::NetworkAclEntry { network_acl_id: f.id.to_owned(), entry, create: false }.into())
}

const NETWORK_ACL: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "vpc_id", declared: |a| text(a, &["vpc_id"]), fix: None },
    Attribute {
        shape: Shape::Set,
        path: "subnet_ids",
        declared: |a| string_set(strings(a.get("subnet_ids"))),
        fix: None,
    },
    Attribute {
        shape: Shape::Set,
        path: "ingress",
        declared: |a| acl_entries(a, "ingress"),
        fix: Some(|f| acl_fix(f, false, f.declared)),
    },
    Attribute {
        shape: Shape::Set,
        path: "egress",
        declared: |a| acl_entries(a, "egress"),
        fix: Some(|f| acl_fix(f, true, f.declared)),
    },
];

const NETWORK_ACL_RULE: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "network_acl_id", declared: |a| text(a, &["network_acl_id"]), fix: None },
    Attribute { shape: Shape::Value, path: "egress", declared: |a| boolean(a.get("egress")), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "entry",
        declared: |a| acl_entry_atom(a, "rule_number", "rule_action").map_or(Value::Null, Value::from),
        fix: None,
    },
];

fn acl_rule_elements(part: &Normalized) -> Vec<Element> {
    let parent = part.attributes.get("network_acl_id").and_then(Value::as_str);
    let key = part.attributes.get("entry").and_then(Value::as_str);
    let attribute = if part.attributes.get("egress") == Some(&Value::Bool(true)) { "egress" } else { "ingress" };
    match (parent, key) {
        (Some(parent), Some(key)) => vec![Element { parent: parent.to_owned(), attribute, key: key.to_owned() }],
        _ => Vec::new(),
    }
}

/// The legacy `aws_security_group_rule`: every atom it declares (one per source).
const LEGACY_RULE: &[Attribute] = &[
    Attribute {
        shape: Shape::Value,
        path: "security_group_id",
        declared: |a| text(a, &["security_group_id"]),
        fix: None,
    },
    Attribute { shape: Shape::Value, path: "type", declared: |a| text(a, &["type"]), fix: None },
    Attribute {
        shape: Shape::Set,
        path: "atoms",
        declared: |a| {
            let protocol_name = a.get("protocol").and_then(Value::as_str).unwrap_or("-1");
            let port = |key: &str| a.get(key).and_then(Value::as_i64).unwrap_or(0);
            let group = a.get("security_group_id").and_then(Value::as_str).unwrap_or_default();
            let mut sources: Vec<RuleSource> =
                strings(a.get("cidr_blocks")).into_iter().map(RuleSource::Cidr).collect();
            sources.extend(strings(a.get("ipv6_cidr_blocks")).into_iter().map(RuleSource::Cidr6));
            sources.extend(strings(a.get("prefix_list_ids")).into_iter().map(RuleSource::PrefixList));
            if let Some(other) = a.get("source_security_group_id").and_then(Value::as_str).filter(|g| !g.is_empty()) {
                sources.push(if other == group { RuleSource::SelfGroup } else { RuleSource::Group(other.to_owned()) });
            }
            if a.get("self").and_then(Value::as_bool) == Some(true) {
                sources.push(RuleSource::SelfGroup);
            }
            string_set(
                sources.iter().map(|source| rule_atom(protocol_name, port("from_port"), port("to_port"), source)),
            )
        },
        fix: None,
    },
];

fn legacy_rule_elements(part: &Normalized) -> Vec<Element> {
    let Some(parent) = part.attributes.get("security_group_id").and_then(Value::as_str) else { return Vec::new() };
    let attribute =
        if part.attributes.get("type").and_then(Value::as_str) == Some("egress") { "egress" } else { "ingress" };
    strings(part.attributes.get("atoms"))
        .into_iter()
        .map(|key| Element { parent: parent.to_owned(), attribute, key })
        .collect()
}

const EIP: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "domain", declared: |a| text(a, &["domain"]), fix: None },
    Attribute { shape: Shape::Value, path: "instance", declared: |a| text(a, &["instance"]), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "network_interface",
        declared: |a| text(a, &["network_interface"]),
        fix: None,
    },
];

const KEY_PAIR: &[Attribute] =
    &[Attribute { shape: Shape::Value, path: "fingerprint", declared: |a| text(a, &["fingerprint"]), fix: None }];

const VOLUME: &[Attribute] = &[
    Attribute {
        shape: Shape::Value,
        path: "availability_zone",
        declared: |a| text(a, &["availability_zone"]),
        fix: None,
    },
    Attribute { shape: Shape::Value, path: "size", declared: |a| number(a, &["size"]), fix: None },
    Attribute { shape: Shape::Value, path: "type", declared: |a| text(a, &["type"]), fix: None },
    Attribute { shape: Shape::Value, path: "encrypted", declared: |a| boolean(a.get("encrypted")), fix: None },
];

/// The region's one setting has no id of its own: this is it, in every state.
pub const EBS_DEFAULT_ID: &str = crate::remediation::aws::EBS_DEFAULT_TARGET;

const EBS_ENCRYPTION_BY_DEFAULT: &[Attribute] = &[Attribute {
    shape: Shape::Value,
    path: "enabled",
    declared: |a| true_by_default(a, "enabled"),
    fix: Some(|f| Some(AwsCall::EbsEncryptionByDefault { enabled: expected_flag(f)? }.into())),
}];

const NETWORK_INTERFACE: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "subnet_id", declared: |a| text(a, &["subnet_id"]), fix: None },
    Attribute { shape: Shape::Value, path: "description", declared: |a| text(a, &["description"]), fix: None },
    Attribute {
        shape: Shape::Set,
        path: "security_groups",
        declared: |a| string_set(strings(a.get("security_groups"))),
        fix: None,
    },
    Attribute {
        shape: Shape::Value,
        path: "source_dest_check",
        declared: |a| true_by_default(a, "source_dest_check"),
        fix: Some(|f| {
            let enabled = expected_flag(f)?;
            Some(AwsCall::InterfaceSourceDestCheck { network_interface_id: f.id.to_owned(), enabled }.into())
        }),
    },
];

const LAUNCH_TEMPLATE: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "name", declared: |a| text(a, &["name"]), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "default_version",
        declared: |a| number(a, &["default_version"]),
        fix: None,
    },
    Attribute { shape: Shape::Value, path: "image_id", declared: |a| text(a, &["image_id"]), fix: None },
    Attribute { shape: Shape::Value, path: "instance_type", declared: |a| text(a, &["instance_type"]), fix: None },
];

const FLOW_LOG: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "traffic_type", declared: |a| text(a, &["traffic_type"]), fix: None },
    Attribute { shape: Shape::Value, path: "log_destination", declared: |a| text(a, &["log_destination"]), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "log_destination_type",
        declared: |a| text(a, &["log_destination_type"]),
        fix: None,
    },
    Attribute {
        shape: Shape::Value,
        path: "resource_id",
        // One of these names what the log watches.
        declared: |a| {
            ["vpc_id", "subnet_id", "eni_id", "transit_gateway_id", "transit_gateway_attachment_id"]
                .iter()
                .find_map(|key| a.get(*key).and_then(Value::as_str).filter(|v| !v.is_empty()))
                .map_or(Value::Null, Value::from)
        },
        fix: None,
    },
];

const VPC_ENDPOINT: &[Attribute] = &[
    Attribute { shape: Shape::Value, path: "vpc_id", declared: |a| text(a, &["vpc_id"]), fix: None },
    Attribute { shape: Shape::Value, path: "service_name", declared: |a| text(a, &["service_name"]), fix: None },
    Attribute {
        shape: Shape::Value,
        path: "vpc_endpoint_type",
        declared: |a| text(a, &["vpc_endpoint_type"]),
        fix: None,
    },
    Attribute {
        shape: Shape::Set,
        path: "route_table_ids",
        declared: |a| string_set(strings(a.get("route_table_ids"))),
        fix: None,
    },
    Attribute {
        shape: Shape::Set,
        path: "subnet_ids",
        declared: |a| string_set(strings(a.get("subnet_ids"))),
        fix: None,
    },
    Attribute {
        shape: Shape::Value,
        path: "policy",
        declared: |a| {
            a.get("policy").and_then(Value::as_str).filter(|p| !p.is_empty()).map_or(Value::Null, policy_document)
        },
        fix: None,
    },
];

/// Every VPC and EBS type.
pub(super) static ENTRIES: &[Entry] = &[
    Entry {
        resource_type: "aws_vpc",
        listing: Some(Listing::Ec2Vpcs),
        details: &["ec2:DescribeVpcAttribute (DNS support and hostnames, declared VPCs)"],
        attributes: VPC,
        unmanaged: true,
        ..EC2
    },
    Entry {
        resource_type: "aws_subnet",
        listing: Some(Listing::Ec2Subnets),
        attributes: SUBNET,
        unmanaged: true,
        ..EC2
    },
    Entry {
        resource_type: "aws_internet_gateway",
        listing: Some(Listing::Ec2InternetGateways),
        attributes: INTERNET_GATEWAY,
        unmanaged: true,
        ..EC2
    },
    Entry {
        resource_type: "aws_route_table",
        listing: Some(Listing::Ec2RouteTables),
        attributes: ROUTE_TABLE,
        unmanaged: true,
        ..EC2
    },
    Entry {
        resource_type: "aws_route",
        // The provider's import id: `TABLE_DESTINATION`.
        composite_id: Some(|a| {
            let table = a.get("route_table_id")?.as_str()?;
            let destination = ["destination_cidr_block", "destination_ipv6_cidr_block", "destination_prefix_list_id"]
                .iter()
                .find_map(|key| a.get(*key).and_then(Value::as_str).filter(|v| !v.is_empty()))?;
            Some(format!("{table}_{destination}"))
        }),
        listing: Some(Listing::Ec2RouteTables),
        attributes: ROUTE,
        part_of: Some(PartOf {
            parent: "aws_route_table",
            elements: route_elements,
            through_parent: Some(Through::Presence),
        }),
        tags: None,
        ..EC2
    },
    Entry {
        resource_type: "aws_route_table_association",
        listing: Some(Listing::Ec2RouteTables),
        attributes: ROUTE_TABLE_ASSOCIATION,
        tags: None,
        ..EC2
    },
    Entry {
        resource_type: "aws_network_acl",
        listing: Some(Listing::Ec2NetworkAcls),
        attributes: NETWORK_ACL,
        unmanaged: true,
        ..EC2
    },
    Entry {
        resource_type: "aws_network_acl_rule",
        // The provider's import id: `ACL:RULE:PROTOCOL:EGRESS`.
        composite_id: Some(|a| {
            let protocol_name = protocol(a.get("protocol")?.as_str()?);
            Some(format!(
                "{}:{}:{protocol_name}:{}",
                a.get("network_acl_id")?.as_str()?,
                a.get("rule_number")?.as_i64()?,
                a.get("egress").and_then(Value::as_bool).unwrap_or(false)
            ))
        }),
        listing: Some(Listing::Ec2NetworkAcls),
        attributes: NETWORK_ACL_RULE,
        part_of: Some(PartOf {
            parent: "aws_network_acl",
            elements: acl_rule_elements,
            through_parent: Some(Through::Presence),
        }),
        tags: None,
        ..EC2
    },
    Entry {
        resource_type: "aws_security_group_rule",
        listing: Some(Listing::Ec2SecurityGroups),
        attributes: LEGACY_RULE,
        part_of: Some(PartOf {
            parent: "aws_security_group",
            elements: legacy_rule_elements,
            through_parent: Some(Through::Presence),
        }),
        tags: None,
        ..EC2
    },
    Entry {
        resource_type: "aws_eip",
        identity: &["allocation_id", "id"],
        listing: Some(Listing::Ec2Addresses),
        attributes: EIP,
        unmanaged: true,
        ..EC2
    },
    Entry {
        resource_type: "aws_key_pair",
        identity: &["key_name", "id"],
        listing: Some(Listing::Ec2KeyPairs),
        attributes: KEY_PAIR,
        tags: Some(|id, key, value| {
            AwsCall::KeyPairTag { key_name: id.to_owned(), tag: super::tag(key, value) }.into()
        }),
        unmanaged: true,
        ..EC2
    },
    Entry {
        resource_type: "aws_ebs_volume",
        listing: Some(Listing::Ec2Volumes),
        attributes: VOLUME,
        unmanaged: true,
        ..EC2
    },
    Entry {
        resource_type: "aws_ebs_encryption_by_default",
        composite_id: Some(|_| Some(EBS_DEFAULT_ID.to_owned())),
        listing: Some(Listing::Ec2EbsEncryptionByDefault),
        attributes: EBS_ENCRYPTION_BY_DEFAULT,
        tags: None,
        ..EC2
    },
    Entry {
        resource_type: "aws_network_interface",
        listing: Some(Listing::Ec2NetworkInterfaces),
        attributes: NETWORK_INTERFACE,
        unmanaged: true,
        ..EC2
    },
    Entry {
        resource_type: "aws_launch_template",
        listing: Some(Listing::Ec2LaunchTemplates),
        details: &["ec2:DescribeLaunchTemplateVersions (the latest version, declared templates)"],
        attributes: LAUNCH_TEMPLATE,
        unmanaged: true,
        ..EC2
    },
    Entry {
        resource_type: "aws_flow_log",
        listing: Some(Listing::Ec2FlowLogs),
        attributes: FLOW_LOG,
        unmanaged: true,
        ..EC2
    },
    Entry {
        resource_type: "aws_vpc_endpoint",
        listing: Some(Listing::Ec2VpcEndpoints),
        attributes: VPC_ENDPOINT,
        unmanaged: true,
        ..EC2
    },
];

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fix(entry: &str, path: &str, actual: &str, declared: &Value) -> Option<RemediationCall> {
        let attribute = crate::catalogue::entry(entry).unwrap().attribute(path).unwrap();
        let finding =
            Fix { id: "x-1", key: None, expected: None, actual: Some(&json!(actual)), declared: Some(declared) };
        (attribute.fix.unwrap())(&finding)
    }

    #[test]
    fn only_what_was_added_is_removed_never_what_was_repointed_or_renumbered() {
        let routes = json!(["0.0.0.0/0 -> igw-1", "10.30.0.0/16 -> igw-1"]);
        let added = fix("aws_route_table", "route", "10.99.0.0/16 -> igw-1", &routes).unwrap();
        assert_eq!(added.record().api, "ec2:DeleteRoute");
        assert_eq!(fix("aws_route_table", "route", "0.0.0.0/0 -> nat-2", &routes), None, "repointed: escalated");
        let entries = json!(["100 allow tcp 443-443 10.0.0.0/8"]);
        let added = fix("aws_network_acl", "ingress", "110 allow tcp 3389-3389 0.0.0.0/0", &entries).unwrap();
        assert_eq!(added.record().api, "ec2:DeleteNetworkAclEntry");
        let changed = fix("aws_network_acl", "ingress", "100 allow tcp 3389-3389 0.0.0.0/0", &entries);
        assert_eq!(changed, None, "a changed rule number: escalated");
    }
}
