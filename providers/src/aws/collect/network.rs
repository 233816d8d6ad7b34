//! VPC networking and EBS in the normal form. AWS's own objects (the default VPC and its
//! subnets, main route tables, default ACLs, interfaces AWS manages or an instance was
//! launched with, volumes made with an instance) are listed only when a state declares
//! them: they are never unmanaged findings.

use driftguard_engine::catalogue::aws::{EBS_DEFAULT_ID, ROUTE_TARGETS, acl_atom, route_atom};
use driftguard_engine::drift::normalize::{insert_tags, policy_document, string_set};
use driftguard_engine::drift::{Attributes, Normalized, Wanted};
use serde_json::Value;

use super::{ec2_tags, next_page, normalized, text};
use crate::aws::AwsClient;
use crate::retry::CallError;

/// A live route as the provider records it: `None` for the ones it leaves out of a
/// table's `route` set (the local route, routes propagated from a virtual private gateway,
/// a gateway endpoint's prefix-list route).
fn route(route: &aws_sdk_ec2::types::Route) -> Option<String> {
    let gateway = route.gateway_id().unwrap_or_default();
    let propagated = route.origin().is_some_and(|o| o.as_str() == "EnableVgwRoutePropagation");
    if gateway == "local"
        || propagated
        || (route.destination_prefix_list_id().is_some() && gateway.starts_with("vpce-"))
    {
        return None;
    }
    let destination =
        route.destination_cidr_block().or(route.destination_ipv6_cidr_block()).or(route.destination_prefix_list_id())?;
    let targets = [
        route.gateway_id(),
        route.nat_gateway_id(),
        route.network_interface_id(),
        route.transit_gateway_id(),
        route.vpc_peering_connection_id(),
        route.egress_only_internet_gateway_id(),
        None, // vpc_endpoint_id: AWS names an endpoint as the gateway
        route.local_gateway_id(),
        route.carrier_gateway_id(),
        route.core_network_arn(),
        route.instance_id(),
    ];
    debug_assert_eq!(targets.len(), ROUTE_TARGETS.len());
    let target = targets.into_iter().flatten().find(|t| !t.is_empty()).unwrap_or_default();
    Some(route_atom(destination, target))
}

fn acl_entry(entry: &aws_sdk_ec2::types::NetworkAclEntry) -> Option<String> {
    let rule = i64::from(entry.rule_number()?);
    // The defaults every ACL has (deny all, IPv4 and IPv6): the provider leaves them out.
    if rule >= 32767 {
        return None;
    }
    let ports =
        entry.port_range().map_or((0, 0), |p| (i64::from(p.from().unwrap_or(0)), i64::from(p.to().unwrap_or(0))));
    let icmp = entry
        .icmp_type_code()
        .map_or((0, 0), |i| (i64::from(i.r#type().unwrap_or(0)), i64::from(i.code().unwrap_or(0))));
    let cidr = entry.cidr_block().or(entry.ipv6_cidr_block())?;
    Some(acl_atom(
        rule,
        entry.rule_action().map(aws_sdk_ec2::types::RuleAction::as_str).unwrap_or_default(),
        entry.protocol().unwrap_or("-1"),
        ports,
        icmp,
        cidr,
    ))
}

impl AwsClient {
    pub(super) async fn vpcs(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(self, "ec2:DescribeVpcs", self.ec2().describe_vpcs().set_next_token(token.clone()))?;
            for vpc in page.vpcs() {
                let Some(id) = vpc.vpc_id() else { continue };
                let declared = wanted.details("aws_vpc", id);
                if vpc.is_default() == Some(true) && !declared {
                    continue;
                }
                let mut a = Attributes::new();
                a.insert("cidr_block".into(), text(vpc.cidr_block()));
                a.insert(
                    "instance_tenancy".into(),
                    text(vpc.instance_tenancy().map(aws_sdk_ec2::types::Tenancy::as_str)),
                );
                if declared {
                    for (path, name) in [
                        ("enable_dns_support", aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport),
                        ("enable_dns_hostnames", aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames),
                    ] {
                        let read = send!(
                            self,
                            "ec2:DescribeVpcAttribute",
                            self.ec2().describe_vpc_attribute().vpc_id(id).attribute(name)
                        )?;
                        let value = match path {
                            "enable_dns_support" => read.enable_dns_support(),
                            _ => read.enable_dns_hostnames(),
                        };
                        a.insert(
                            path.into(),
                            Value::Bool(
                                value.and_then(aws_sdk_ec2::types::AttributeBooleanValue::value).unwrap_or(false),
                            ),
                        );
                    }
                }
                insert_tags(&mut a, ec2_tags(vpc.tags()));
                out.push(normalized("aws_vpc", id, a));
            }
            token = next_page(page.next_token());
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn subnets(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(self, "ec2:DescribeSubnets", self.ec2().describe_subnets().set_next_token(token.clone()))?;
            for subnet in page.subnets() {
                let Some(id) = subnet.subnet_id() else { continue };
                if subnet.default_for_az() == Some(true) && !wanted.details("aws_subnet", id) {
                    continue;
                }
                let mut a = Attributes::new();
                a.insert("vpc_id".into(), text(subnet.vpc_id()));
                a.insert("cidr_block".into(), text(subnet.cidr_block()));
                a.insert("availability_zone".into(), text(subnet.availability_zone()));
                a.insert(
                    "map_public_ip_on_launch".into(),
                    Value::Bool(subnet.map_public_ip_on_launch().unwrap_or(false)),
                );
                insert_tags(&mut a, ec2_tags(subnet.tags()));
                out.push(normalized("aws_subnet", id, a));
            }
            token = next_page(page.next_token());
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn internet_gateways(&self) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(
                self,
                "ec2:DescribeInternetGateways",
                self.ec2().describe_internet_gateways().set_next_token(token.clone())
            )?;
            for gateway in page.internet_gateways() {
                let Some(id) = gateway.internet_gateway_id() else { continue };
                let mut a = Attributes::new();
                a.insert("vpc_id".into(), text(gateway.attachments().first().and_then(|a| a.vpc_id())));
                insert_tags(&mut a, ec2_tags(gateway.tags()));
                out.push(normalized("aws_internet_gateway", id, a));
            }
            token = next_page(page.next_token());
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// Tables with their routes, and their explicit associations as resources of their own.
    pub(super) async fn route_tables(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(
                self,
                "ec2:DescribeRouteTables",
                self.ec2().describe_route_tables().set_next_token(token.clone())
            )?;
            for table in page.route_tables() {
                let Some(id) = table.route_table_id() else { continue };
                let main = table.associations().iter().any(|a| a.main() == Some(true));
                for association in table.associations().iter().filter(|a| a.main() != Some(true)) {
                    let Some(association_id) = association.route_table_association_id() else { continue };
                    let mut a = Attributes::new();
                    a.insert("route_table_id".into(), Value::from(id));
                    a.insert("subnet_id".into(), text(association.subnet_id()));
                    a.insert("gateway_id".into(), text(association.gateway_id()));
                    out.push(normalized("aws_route_table_association", association_id, a));
                }
                if main && !wanted.details("aws_route_table", id) {
                    continue;
                }
                let mut a = Attributes::new();
                a.insert("vpc_id".into(), text(table.vpc_id()));
                a.insert("route".into(), string_set(table.routes().iter().filter_map(route)));
                insert_tags(&mut a, ec2_tags(table.tags()));
                out.push(normalized("aws_route_table", id, a));
            }
            token = next_page(page.next_token());
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn network_acls(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(
                self,
                "ec2:DescribeNetworkAcls",
                self.ec2().describe_network_acls().set_next_token(token.clone())
            )?;
            for acl in page.network_acls() {
                let Some(id) = acl.network_acl_id() else { continue };
                if acl.is_default() == Some(true) && !wanted.details("aws_network_acl", id) {
                    continue;
                }
                let entries = |egress: bool| {
                    string_set(acl.entries().iter().filter(|e| e.egress() == Some(egress)).filter_map(acl_entry))
                };
                let mut a = Attributes::new();
                a.insert("vpc_id".into(), text(acl.vpc_id()));
                a.insert(
                    "subnet_ids".into(),
                    string_set(acl.associations().iter().filter_map(|a| a.subnet_id()).map(str::to_owned)),
                );
                a.insert("ingress".into(), entries(false));
                a.insert("egress".into(), entries(true));
                insert_tags(&mut a, ec2_tags(acl.tags()));
                out.push(normalized("aws_network_acl", id, a));
            }
            token = next_page(page.next_token());
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn addresses(&self) -> Result<Vec<Normalized>, CallError> {
        let page = send!(self, "ec2:DescribeAddresses", self.ec2().describe_addresses())?;
        let mut out = Vec::new();
        for address in page.addresses() {
            let Some(id) = address.allocation_id() else { continue };
            let mut a = Attributes::new();
            a.insert("domain".into(), text(address.domain().map(aws_sdk_ec2::types::DomainType::as_str)));
            a.insert("instance".into(), text(address.instance_id()));
            a.insert("network_interface".into(), text(address.network_interface_id()));
            insert_tags(&mut a, ec2_tags(address.tags()));
            out.push(normalized("aws_eip", id, a));
        }
        Ok(out)
    }

    pub(super) async fn key_pairs(&self) -> Result<Vec<Normalized>, CallError> {
        let page = send!(self, "ec2:DescribeKeyPairs", self.ec2().describe_key_pairs())?;
        let mut out = Vec::new();
        for key in page.key_pairs() {
            let Some(name) = key.key_name() else { continue };
            let mut a = Attributes::new();
            a.insert("fingerprint".into(), text(key.key_fingerprint()));
            insert_tags(&mut a, ec2_tags(key.tags()));
            out.push(normalized("aws_key_pair", name, a));
        }
        Ok(out)
    }

    pub(super) async fn volumes(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(self, "ec2:DescribeVolumes", self.ec2().describe_volumes().set_next_token(token.clone()))?;
            for volume in page.volumes() {
                let Some(id) = volume.volume_id() else { continue };
                // Made with an instance (its root or launch volumes): part of the instance.
                let with_instance = volume.attachments().iter().any(|a| a.delete_on_termination() == Some(true));
                if with_instance && !wanted.details("aws_ebs_volume", id) {
                    continue;
                }
                let mut a = Attributes::new();
                a.insert("availability_zone".into(), text(volume.availability_zone()));
                a.insert("size".into(), volume.size().map_or(Value::Null, Value::from));
                a.insert("type".into(), text(volume.volume_type().map(aws_sdk_ec2::types::VolumeType::as_str)));
                a.insert("encrypted".into(), Value::Bool(volume.encrypted().unwrap_or(false)));
                insert_tags(&mut a, ec2_tags(volume.tags()));
                out.push(normalized("aws_ebs_volume", id, a));
            }
            token = next_page(page.next_token());
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn ebs_encryption_by_default(&self) -> Result<Vec<Normalized>, CallError> {
        let read = send!(self, "ec2:GetEbsEncryptionByDefault", self.ec2().get_ebs_encryption_by_default())?;
        let mut a = Attributes::new();
        a.insert("enabled".into(), Value::Bool(read.ebs_encryption_by_default().unwrap_or(false)));
        Ok(vec![normalized("aws_ebs_encryption_by_default", EBS_DEFAULT_ID, a)])
    }

    pub(super) async fn network_interfaces(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(
                self,
                "ec2:DescribeNetworkInterfaces",
                self.ec2().describe_network_interfaces().set_next_token(token.clone())
            )?;
            for interface in page.network_interfaces() {
                let Some(id) = interface.network_interface_id() else { continue };
                // AWS's (load balancers, endpoints, NAT gateways) or an instance's own.
                let owned_elsewhere = interface.requester_managed() == Some(true)
                    || interface.interface_type().is_some_and(|t| t.as_str() != "interface")
                    || interface.attachment().is_some_and(|a| a.device_index() == Some(0));
                if owned_elsewhere && !wanted.details("aws_network_interface", id) {
                    continue;
                }
                let mut a = Attributes::new();
                a.insert("subnet_id".into(), text(interface.subnet_id()));
                a.insert("description".into(), text(interface.description()));
                a.insert(
                    "security_groups".into(),
                    string_set(interface.groups().iter().filter_map(|g| g.group_id()).map(str::to_owned)),
                );
                a.insert("source_dest_check".into(), Value::Bool(interface.source_dest_check().unwrap_or(true)));
                insert_tags(&mut a, ec2_tags(interface.tag_set()));
                out.push(normalized("aws_network_interface", id, a));
            }
            token = next_page(page.next_token());
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn launch_templates(&self, wanted: &Wanted) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(
                self,
                "ec2:DescribeLaunchTemplates",
                self.ec2().describe_launch_templates().set_next_token(token.clone())
            )?;
            for template in page.launch_templates() {
                let Some(id) = template.launch_template_id() else { continue };
                let mut a = Attributes::new();
                a.insert("name".into(), text(template.launch_template_name()));
                a.insert("default_version".into(), template.default_version_number().map_or(Value::Null, Value::from));
                // The provider reads the latest version's data into state, not the default's.
                if wanted.details("aws_launch_template", id) {
                    let versions = send!(
                        self,
                        "ec2:DescribeLaunchTemplateVersions",
                        self.ec2().describe_launch_template_versions().launch_template_id(id).versions("$Latest")
                    )?;
                    let data = versions.launch_template_versions().first().and_then(|v| v.launch_template_data());
                    a.insert("image_id".into(), text(data.and_then(|d| d.image_id())));
                    a.insert(
                        "instance_type".into(),
                        text(data.and_then(|d| d.instance_type()).map(aws_sdk_ec2::types::InstanceType::as_str)),
                    );
                }
                insert_tags(&mut a, ec2_tags(template.tags()));
                out.push(normalized("aws_launch_template", id, a));
            }
            token = next_page(page.next_token());
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn flow_logs(&self) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page =
                send!(self, "ec2:DescribeFlowLogs", self.ec2().describe_flow_logs().set_next_token(token.clone()))?;
            for log in page.flow_logs() {
                let Some(id) = log.flow_log_id() else { continue };
                let mut a = Attributes::new();
                a.insert("traffic_type".into(), text(log.traffic_type().map(aws_sdk_ec2::types::TrafficType::as_str)));
                a.insert("log_destination".into(), text(log.log_destination()));
                a.insert(
                    "log_destination_type".into(),
                    text(log.log_destination_type().map(aws_sdk_ec2::types::LogDestinationType::as_str)),
                );
                a.insert("resource_id".into(), text(log.resource_id()));
                insert_tags(&mut a, ec2_tags(log.tags()));
                out.push(normalized("aws_flow_log", id, a));
            }
            token = next_page(page.next_token());
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    pub(super) async fn vpc_endpoints(&self) -> Result<Vec<Normalized>, CallError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = send!(
                self,
                "ec2:DescribeVpcEndpoints",
                self.ec2().describe_vpc_endpoints().set_next_token(token.clone())
            )?;
            for endpoint in page.vpc_endpoints() {
                let Some(id) = endpoint.vpc_endpoint_id() else { continue };
                let mut a = Attributes::new();
                a.insert("vpc_id".into(), text(endpoint.vpc_id()));
                a.insert("service_name".into(), text(endpoint.service_name()));
                a.insert(
                    "vpc_endpoint_type".into(),
                    text(endpoint.vpc_endpoint_type().map(aws_sdk_ec2::types::VpcEndpointType::as_str)),
                );
                a.insert("route_table_ids".into(), string_set(endpoint.route_table_ids().iter().cloned()));
                a.insert("subnet_ids".into(), string_set(endpoint.subnet_ids().iter().cloned()));
                a.insert("policy".into(), endpoint.policy_document().map_or(Value::Null, policy_document));
                insert_tags(&mut a, ec2_tags(endpoint.tags()));
                out.push(normalized("aws_vpc_endpoint", id, a));
            }
            token = next_page(page.next_token());
            if token.is_none() {
                return Ok(out);
            }
        }
    }
}
