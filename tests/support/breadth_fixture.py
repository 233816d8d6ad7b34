"""Seeds a moto server with families of related AWS resources, writes the Terraform state
(format 4) that `terraform apply` followed by `terraform refresh` with hashicorp/aws
provider v5 would hold for them, applies drift outside Terraform, and snapshots the live
values the drift touches, for DriftGuard's breadth tests (modelled on aws_fixture.py).

Every attribute is written from what moto answers to the describe calls the provider's
Read makes, shaped as the provider's v5 schema stores it: nested blocks as lists (one
element for MaxItems=1 blocks), sets as lists, unset nested strings as "", unset nested
numbers as 0, unset top-level optional attributes as null. A correct comparison right after
`seed` therefore sees no drift.

What moto 5.2.5 could NOT serve (checked against the server, so left out or worked around):
- ModifyDBSubnetGroup: moto pops the group from its backend and never stores it back, so
  the subnet group vanishes. The "subnet group description" drift is therefore NOT applied.
- aws_s3_bucket_acl with a multi-permission canned ACL: GetBucketAcl serialises only the
  first permission of a grant (log-delivery-write reads back as READ_ACP only). The ACL
  resource is kept with acl = "private" (owner FULL_CONTROL), which round-trips cleanly.
- PutBucketLogging needs the target to allow log delivery: moto checks the log-delivery
  group ACL (broken as above) or a bucket policy for logging.s3.amazonaws.com; the
  fixture therefore gives dg-log-bucket such a policy (an extra aws_s3_bucket_policy).
- GetBucketRequestPayment is not implemented (answers a ListObjects body): the bucket's
  request_payer reads back "" (AWS would say "BucketOwner").
- Launch template tags: CreateTags on a launch template is accepted but not shown by
  DescribeLaunchTemplates, and TagSpecifications on CreateLaunchTemplate leak into the
  version's LaunchTemplateData. aws_launch_template is kept, untagged (tags null).
- aws_flow_log to an S3 ARN with a key prefix (arn:aws:s3:::bucket/prefix/) is refused
  ("does not exist"); the flow log targets the bare bucket ARN of dg-flow-log-bucket,
  which the network family creates and manages itself (aws_s3_bucket in its state).
- aws_db_option_group: moto 5.2.5 answers DescribeOptionGroups without a name filter (the
  listing DriftGuard needs) with HTTP 500; replaced by aws_rds_cluster_parameter_group.
- GetEbsDefaultKmsKeyId and ModifyDBSnapshot answer HTTP 500 (neither is used here).
Served: create + describe of every type in the state; modify checked and working for VPC
and subnet attributes, ReplaceRoute / CreateRoute / DeleteRoute, ReplaceRouteTableAssociation,
Create/Replace/DeleteNetworkAclEntry, AssociateAddress (EIP), ModifyVolume, Enable/Disable
EbsEncryptionByDefault, Authorize/Revoke and UpdateSecurityGroupRuleDescriptions, ENI
SourceDestCheck and Description, CreateLaunchTemplateVersion + ModifyLaunchTemplate,
ModifyVpcEndpoint (policy), DeleteFlowLogs (flow logs have no modify API), every S3 Put*
used here, ModifyDBCluster, ModifyDBInstance, ModifyDBParameterGroup, ModifyOptionGroup,
ModifyDBSnapshotAttribute. aws_key_pair has no modify API (tags only).

moto answers that differ from AWS, written as moto answers them (so no drift after seed):
every DB instance has the same DbiResourceId "db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U" (hard-coded,
and it is the v5 aws_db_instance id); RDS KmsKeyId is "default_kms_key_id" (not an ARN); an
aurora-postgresql cluster's default parameter group is "default.aurora8.0" and its storage
type "gp2"; DhcpOptionsId is "default"; new network ACLs have no 32767 deny entries;
a gp3 volume has no Throughput (0); a Gateway endpoint has PrivateDnsEnabled true; the RDS
cluster HostedZoneId is random; latest_restorable_time moves on every describe.

Each family has read_<family>(ids): the resources terraform refresh would write now, read
from the live objects (resources that are gone drop out, as refresh drops them).

Usage: breadth_fixture.py ENDPOINT seed FAMILY STATE_OUT    (prints the ids JSON)
       breadth_fixture.py ENDPOINT mutate FAMILY IDS_JSON
       breadth_fixture.py ENDPOINT snapshot FAMILY           (prints sorted JSON)
FAMILY: s3 | network | rds | iam   (iam lives in breadth_iam.py)
"""

import json
import sys
import zlib

import breadth_iam
from datetime import datetime, timezone

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ENDPOINT = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:5000"
REGION = "us-east-1"
ACCOUNT = "123456789012"
PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'
# Schema versions of the provider v5 resources (the state records them per instance).
SCHEMA_VERSIONS = {
    "aws_vpc": 1, "aws_subnet": 1, "aws_security_group": 1, "aws_security_group_rule": 2,
    "aws_key_pair": 1, "aws_db_instance": 2,
}
# An RSA public key in OpenSSH form (imported by aws_key_pair; no private half is kept).
PUBLIC_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDPUqD+xu/N8nyCYyUL2DI+aANcx+YifzqmUE9SE1UmvH2XAvfU"
    "jV36ue1/NBShhj6319WEooBYWEfDYtAaeUydw73q3t9Wxi/TJ2MXZZvNcOrWsk68NxuIqxaicHdkpqCK+1GucU6n"
    "rVwoqaYeyGm4qs+3CSkTccPx+iIuwJ7o1qSIxJBjoWEL9ue39sYWfFsw56oVB9xbMDYBW3iwdzDERcgW1C8Tzyv7"
    "zIMclwQcLFjmusK8eYSINb2Laj/u8ENlWAkcNrXCIyKiQR0Jlf9iE8DGGs+gOPL2K+fSfqa0ayhTY98RabnF8I3H"
    "pqdBPl4RtgLV8Bu0owtUBQVt/ZDN dg-key"
)
DB_PASSWORD = "not-a-secret-1"


def client(service):
    return boto3.client(
        service,
        endpoint_url=ENDPOINT,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        # The fault-injecting layer fails up to a third of calls: retry generously.
        config=Config(retries={"max_attempts": 12, "mode": "standard"}),
    )


def resource(rtype, name, attributes, module=None, index_key=None, sensitive=()):
    out = {
        "mode": "managed",
        "type": rtype,
        "name": name,
        "provider": PROVIDER,
        "instances": [{"schema_version": SCHEMA_VERSIONS.get(rtype, 0), "attributes": attributes,
                       "sensitive_attributes": [[{"type": "get_attr", "value": s}] for s in sensitive],
                       "private": "bnVsbA=="}],
    }
    if module:
        out["module"] = module
    if index_key is not None:
        out["instances"][0]["index_key"] = index_key
    return out


def write_state(state_out, resources, lineage):
    state = {
        "version": 4,
        "terraform_version": "1.9.8",
        "serial": 7,
        "lineage": lineage,
        "outputs": {},
        "resources": resources,
    }
    with open(state_out, "w") as handle:
        json.dump(state, handle, indent=2)


# --- helpers mirroring the provider's own -------------------------------------------------

def hashcode(text):
    """terraform-provider-aws create.StringHashcode: crc32 (IEEE), non-negative."""
    return zlib.crc32(text.encode())


def unique_id(counter=1):
    """terraform-plugin-sdk id.UniqueId(): terraform-<UTC %Y%m%d%H%M%S + 4 fraction digits><%08x counter>."""
    now = datetime.now(timezone.utc)
    return f"terraform-{now.strftime('%Y%m%d%H%M%S')}{now.microsecond // 100:04d}{counter:08x}"


def tag_map(tags):
    return {t["Key"]: t["Value"] for t in (tags or [])}


def tag_spec(rtype, tags):
    return [{"ResourceType": rtype, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def tags_pair(tags):
    """tags and tags_all as the provider writes them (no default_tags): equal maps, or null/{} when untagged."""
    return {"tags": dict(tags) if tags else None, "tags_all": dict(tags)}


def rfc3339(value):
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def normalized_json(text):
    """structure.NormalizeJsonString: parse and re-marshal (Go sorts map keys, compact)."""
    return json.dumps(json.loads(text), separators=(",", ":"), sort_keys=True)


def arn(service, resource_path):
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource_path}"


def try_call(fn, *codes):
    try:
        return fn()
    except ClientError as err:
        if err.response["Error"]["Code"] in codes:
            return None
        raise


# --- family s3 ------------------------------------------------------------------------------

WEB, LOG = "dg-web-bucket", "dg-log-bucket"


def web_policy(principal):
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "ReadObjects", "Effect": "Allow", "Principal": principal,
        "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{WEB}/*"}]}


LOG_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "S3ServerAccessLogs", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
    "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{LOG}/*"}]}


def bucket_attributes(s3, name, tags):
    """aws_s3_bucket (v5) after refresh: the deprecated computed sub-configurations are read too."""
    policy = try_call(lambda: s3.get_bucket_policy(Bucket=name)["Policy"], "NoSuchBucketPolicy")
    acl = s3.get_bucket_acl(Bucket=name)
    grants = []
    for grant in acl.get("Grants", []):
        grantee = grant["Grantee"]
        key = (grantee["Type"], grantee.get("ID", ""), grantee.get("URI", ""))
        for existing in grants:
            if (existing["type"], existing["id"], existing["uri"]) == key:
                existing["permissions"].append(grant["Permission"])
                break
        else:
            grants.append({"id": key[1], "permissions": [grant["Permission"]], "type": key[0], "uri": key[2]})
    cors = try_call(lambda: s3.get_bucket_cors(Bucket=name)["CORSRules"], "NoSuchCORSConfiguration") or []
    website = try_call(lambda: s3.get_bucket_website(Bucket=name), "NoSuchWebsiteConfiguration")
    versioning = s3.get_bucket_versioning(Bucket=name)
    logging = s3.get_bucket_logging(Bucket=name).get("LoggingEnabled")
    encryption = try_call(lambda: s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"],
                          "ServerSideEncryptionConfigurationNotFoundError")
    lock = try_call(lambda: s3.get_object_lock_configuration(Bucket=name)["ObjectLockConfiguration"],
                    "ObjectLockConfigurationNotFoundError")
    region = s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"].get("x-amz-bucket-region", REGION)
    attributes = {
        "acceleration_status": s3.get_bucket_accelerate_configuration(Bucket=name).get("Status", ""),
        "acl": None,
        "arn": f"arn:aws:s3:::{name}",
        "bucket": name,
        "bucket_domain_name": f"{name}.s3.amazonaws.com",
        "bucket_prefix": "",
        "bucket_regional_domain_name": f"{name}.s3.{region}.amazonaws.com",
        "cors_rule": [{"allowed_headers": r.get("AllowedHeaders", []), "allowed_methods": r["AllowedMethods"],
                       "allowed_origins": r["AllowedOrigins"], "expose_headers": r.get("ExposeHeaders", []),
                       "max_age_seconds": r.get("MaxAgeSeconds", 0)} for r in cors],
        "force_destroy": False,
        "grant": grants,
        "hosted_zone_id": "Z3AQBSTGFYJSTF",
        "id": name,
        "lifecycle_rule": [],
        "logging": [{"target_bucket": logging["TargetBucket"], "target_prefix": logging.get("TargetPrefix", "")}] if logging else [],
        "object_lock_configuration": [],
        "object_lock_enabled": bool(lock and lock.get("ObjectLockEnabled") == "Enabled"),
        "policy": normalized_json(policy) if policy else "",
        "region": region,
        "replication_configuration": [],
        # moto 5.2.5 does not implement GetBucketRequestPayment (AWS answers "BucketOwner").
        "request_payer": s3.get_bucket_request_payment(Bucket=name).get("Payer", ""),
        "server_side_encryption_configuration": [{"rule": [{
            "apply_server_side_encryption_by_default": [{
                "kms_master_key_id": r["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID", ""),
                "sse_algorithm": r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]}],
            "bucket_key_enabled": r.get("BucketKeyEnabled", False)} for r in encryption["Rules"]]}] if encryption else [],
        "timeouts": None,
        "versioning": [{"enabled": versioning.get("Status") == "Enabled", "mfa_delete": versioning.get("MFADelete") == "Enabled"}],
        "website": [{"error_document": website.get("ErrorDocument", {}).get("Key", ""),
                     "index_document": website.get("IndexDocument", {}).get("Suffix", ""),
                     "redirect_all_requests_to": "", "routing_rules": ""}] if website else [],
        "website_domain": f"s3-website-{region}.amazonaws.com" if website else None,
        "website_endpoint": f"{name}.s3-website-{region}.amazonaws.com" if website else None,
    }
    attributes.update(tags_pair(tags))
    return attributes


def create_bucket(s3, name, tags):
    s3.create_bucket(Bucket=name, ACL="private")
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})


def seed_s3(state_out):
    s3 = client("s3")
    web_tags, log_tags = {"Name": WEB, "Team": "web"}, {"Name": LOG, "Team": "web"}
    create_bucket(s3, LOG, log_tags)
    create_bucket(s3, WEB, web_tags)
    s3.put_bucket_acl(Bucket=LOG, ACL="private")
    s3.put_bucket_policy(Bucket=LOG, Policy=json.dumps(LOG_POLICY))
    s3.put_bucket_policy(Bucket=WEB, Policy=json.dumps(web_policy({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})))
    s3.put_bucket_ownership_controls(Bucket=WEB, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    s3.put_bucket_logging(Bucket=WEB, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": LOG, "TargetPrefix": "logs/"}})
    s3.put_bucket_cors(Bucket=WEB, CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://example.com"], "MaxAgeSeconds": 3000}]})
    s3.put_bucket_website(Bucket=WEB, WebsiteConfiguration={
        "IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "error.html"}})
    ids = {"web_bucket": WEB, "log_bucket": LOG}
    write_state(state_out, read_s3(ids), "6f1d2c1e-6b7e-4c1a-9a36-0000000000b1")
    return ids


def read_s3(ids):
    """The state terraform refresh would write for the s3 family, read back from the live objects."""
    s3 = client("s3")
    web_tags, log_tags = (tag_map(s3.get_bucket_tagging(Bucket=b)["TagSet"]) for b in (WEB, LOG))
    resources = [
        resource("aws_s3_bucket", "web", bucket_attributes(s3, WEB, web_tags)),
        resource("aws_s3_bucket", "log", bucket_attributes(s3, LOG, log_tags)),
    ]
    for label, name in (("web", WEB), ("log", LOG)):
        resources.append(resource("aws_s3_bucket_policy", label, {
            "bucket": name, "id": name, "policy": normalized_json(s3.get_bucket_policy(Bucket=name)["Policy"])}))
    ownership = s3.get_bucket_ownership_controls(Bucket=WEB)["OwnershipControls"]["Rules"]
    resources.append(resource("aws_s3_bucket_ownership_controls", "web", {
        "bucket": WEB, "id": WEB, "rule": [{"object_ownership": r["ObjectOwnership"]} for r in ownership]}))
    logging = s3.get_bucket_logging(Bucket=WEB)["LoggingEnabled"]
    resources.append(resource("aws_s3_bucket_logging", "web", {
        "bucket": WEB, "expected_bucket_owner": "", "id": WEB, "target_bucket": logging["TargetBucket"],
        "target_grant": [], "target_object_key_format": [], "target_prefix": logging["TargetPrefix"]}))
    cors = s3.get_bucket_cors(Bucket=WEB)["CORSRules"]
    resources.append(resource("aws_s3_bucket_cors_configuration", "web", {
        "bucket": WEB, "expected_bucket_owner": "", "id": WEB,
        "cors_rule": [{"allowed_headers": r.get("AllowedHeaders", []), "allowed_methods": r["AllowedMethods"],
                       "allowed_origins": r["AllowedOrigins"], "expose_headers": r.get("ExposeHeaders", []),
                       "id": r.get("ID", ""), "max_age_seconds": r.get("MaxAgeSeconds", 0)} for r in cors]}))
    website = s3.get_bucket_website(Bucket=WEB)
    resources.append(resource("aws_s3_bucket_website_configuration", "web", {
        "bucket": WEB, "expected_bucket_owner": "", "id": WEB,
        "error_document": [{"key": website["ErrorDocument"]["Key"]}] if "ErrorDocument" in website else [],
        "index_document": [{"suffix": website["IndexDocument"]["Suffix"]}] if "IndexDocument" in website else [],
        "redirect_all_requests_to": [], "routing_rule": [], "routing_rules": "",
        "website_domain": f"s3-website-{REGION}.amazonaws.com",
        "website_endpoint": f"{WEB}.s3-website-{REGION}.amazonaws.com"}))
    acl = s3.get_bucket_acl(Bucket=LOG)
    resources.append(resource("aws_s3_bucket_acl", "log", {
        "access_control_policy": [{
            "grant": [{"grantee": [{"display_name": g["Grantee"].get("DisplayName", ""), "email_address": g["Grantee"].get("EmailAddress", ""),
                                    "id": g["Grantee"].get("ID", ""), "type": g["Grantee"]["Type"], "uri": g["Grantee"].get("URI", "")}],
                       "permission": g["Permission"]} for g in acl["Grants"]],
            "owner": [{"display_name": acl["Owner"].get("DisplayName", ""), "id": acl["Owner"]["ID"]}]}],
        "acl": "private", "bucket": LOG, "expected_bucket_owner": "", "id": f"{LOG},private"}))
    return resources


def mutate_s3(ids):
    s3 = client("s3")
    web = ids["web_bucket"]
    s3.put_bucket_policy(Bucket=web, Policy=json.dumps(web_policy("*")))
    s3.put_bucket_ownership_controls(Bucket=web, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    s3.put_bucket_logging(Bucket=web, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": ids["log_bucket"], "TargetPrefix": "other/"}})
    s3.put_bucket_cors(Bucket=web, CORSConfiguration={"CORSRules": [
        {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://example.com"], "MaxAgeSeconds": 10}]})
    s3.put_bucket_website(Bucket=web, WebsiteConfiguration={
        "IndexDocument": {"Suffix": "home.html"}, "ErrorDocument": {"Key": "error.html"}})
    # Everyone may list the log bucket: one grant added to its ACL.
    s3.put_bucket_acl(Bucket=ids["log_bucket"], ACL="public-read")


def snapshot_s3():
    s3 = client("s3")
    out = {}
    for name in (WEB, LOG):
        if try_call(lambda: s3.head_bucket(Bucket=name), "404", "NoSuchBucket") is None:
            out[name] = None
            continue
        policy = try_call(lambda: s3.get_bucket_policy(Bucket=name)["Policy"], "NoSuchBucketPolicy")
        ownership = try_call(lambda: s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
                             "OwnershipControlsNotFoundError")
        logging = s3.get_bucket_logging(Bucket=name).get("LoggingEnabled")
        cors = try_call(lambda: s3.get_bucket_cors(Bucket=name)["CORSRules"], "NoSuchCORSConfiguration")
        website = try_call(lambda: s3.get_bucket_website(Bucket=name), "NoSuchWebsiteConfiguration")
        if website:
            website.pop("ResponseMetadata", None)
        acl = s3.get_bucket_acl(Bucket=name)
        out[name] = {
            "policy": json.loads(policy) if policy else None,
            "ownership": ownership,
            "logging": {"target_bucket": logging["TargetBucket"], "target_prefix": logging.get("TargetPrefix", "")} if logging else None,
            "cors": cors,
            "website": website,
            "acl": sorted(((g["Grantee"].get("ID") or g["Grantee"].get("URI", ""), g["Permission"]) for g in acl["Grants"])),
        }
    return out


# --- family network -------------------------------------------------------------------------

NET_CIDR, SUBNET_CIDR = "10.20.0.0/16", "10.20.1.0/24"
FLOW_BUCKET = "dg-flow-log-bucket"


def find_vpc(ec2):
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["dg-net"]}])["Vpcs"]
    return vpcs[0] if vpcs else None


def vpc_attribute(ec2, vpc_id, name):
    key = name[0].upper() + name[1:]
    return ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=name)[key]["Value"]


def network_acl_entries(entries, egress):
    """aws_network_acl ingress/egress set: default rules (32767 and IPv6 32768) skipped,
    protocol recorded as its number, absent ports/ICMP as 0 and absent IPv6 CIDR as ""."""
    out = []
    for entry in entries:
        if entry["Egress"] != egress or entry["RuleNumber"] in (32767, 32768):
            continue
        out.append({
            "action": entry["RuleAction"], "cidr_block": entry.get("CidrBlock", ""),
            "from_port": entry.get("PortRange", {}).get("From", 0),
            "icmp_code": entry.get("IcmpTypeCode", {}).get("Code", 0), "icmp_type": entry.get("IcmpTypeCode", {}).get("Type", 0),
            "ipv6_cidr_block": entry.get("Ipv6CidrBlock", ""),
            "protocol": {"tcp": "6", "udp": "17", "icmp": "1", "all": "-1"}.get(entry["Protocol"], entry["Protocol"]),
            "rule_no": entry["RuleNumber"], "to_port": entry.get("PortRange", {}).get("To", 0)})
    return sorted(out, key=lambda e: e["rule_no"])


def table_routes(routes):
    """aws_route_table route set: local, VGW-propagated and VPC-endpoint prefix-list routes skipped."""
    out = []
    for route in routes:
        gateway = route.get("GatewayId", "")
        if gateway == "local" or route.get("Origin") == "EnableVgwRoutePropagation":
            continue
        if route.get("DestinationPrefixListId") and gateway.startswith("vpce-"):
            continue
        out.append({
            "carrier_gateway_id": route.get("CarrierGatewayId", ""), "cidr_block": route.get("DestinationCidrBlock", ""),
            "core_network_arn": route.get("CoreNetworkArn", ""), "destination_prefix_list_id": route.get("DestinationPrefixListId", ""),
            "egress_only_gateway_id": route.get("EgressOnlyInternetGatewayId", ""),
            "gateway_id": "" if gateway.startswith("vpce-") else gateway,
            "ipv6_cidr_block": route.get("DestinationIpv6CidrBlock", ""), "local_gateway_id": route.get("LocalGatewayId", ""),
            "nat_gateway_id": route.get("NatGatewayId", ""), "network_interface_id": route.get("NetworkInterfaceId", ""),
            "transit_gateway_id": route.get("TransitGatewayId", ""),
            "vpc_endpoint_id": gateway if gateway.startswith("vpce-") else "",
            "vpc_peering_connection_id": route.get("VpcPeeringConnectionId", "")})
    return sorted(out, key=lambda r: r["cidr_block"])


def group_rules(permissions):
    """aws_security_group ingress/egress set elements."""
    out = []
    for perm in permissions:
        cidrs = [r["CidrIp"] for r in perm.get("IpRanges", [])]
        descriptions = [r.get("Description", "") for r in perm.get("IpRanges", [])]
        out.append({
            "cidr_blocks": cidrs, "description": descriptions[0] if descriptions else "",
            "from_port": perm.get("FromPort", 0), "ipv6_cidr_blocks": [r["CidrIpv6"] for r in perm.get("Ipv6Ranges", [])],
            "prefix_list_ids": [p["PrefixListId"] for p in perm.get("PrefixListIds", [])],
            "protocol": perm["IpProtocol"], "security_groups": [p["GroupId"] for p in perm.get("UserIdGroupPairs", [])],
            "self": False, "to_port": perm.get("ToPort", 0)})
    return sorted(out, key=lambda r: (r["from_port"], r["protocol"], r["cidr_blocks"]))


def seed_network(state_out):
    ec2, s3 = client("ec2"), client("s3")
    net_tags = {"Name": "dg-net", "Environment": "sandbox"}
    vpc_id = ec2.create_vpc(CidrBlock=NET_CIDR, TagSpecifications=tag_spec("vpc", net_tags))["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock=SUBNET_CIDR, AvailabilityZone=f"{REGION}a",
                                  TagSpecifications=tag_spec("subnet", {"Name": "dg-net-a"}))["Subnet"]["SubnetId"]
    igw_id = ec2.create_internet_gateway(TagSpecifications=tag_spec("internet-gateway", {"Name": "dg-igw"}))["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    rtb_id = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=tag_spec("route-table", {"Name": "dg-public"}))["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    assoc_id = ec2.associate_route_table(RouteTableId=rtb_id, SubnetId=subnet_id)["AssociationId"]
    # The aws_route resource (outside the table's inline route block).
    ec2.create_route(RouteTableId=rtb_id, DestinationCidrBlock="10.30.0.0/16", GatewayId=igw_id)
    nacl_id = ec2.create_network_acl(VpcId=vpc_id, TagSpecifications=tag_spec("network-acl", {"Name": "dg-nacl"}))["NetworkAcl"]["NetworkAclId"]
    # The provider sends protocol numbers only.
    ec2.create_network_acl_entry(NetworkAclId=nacl_id, RuleNumber=100, Protocol="6", RuleAction="allow", Egress=False,
                                 CidrBlock="10.0.0.0/8", PortRange={"From": 443, "To": 443})
    ec2.create_network_acl_entry(NetworkAclId=nacl_id, RuleNumber=100, Protocol="-1", RuleAction="allow", Egress=True,
                                 CidrBlock="0.0.0.0/0", PortRange={"From": 0, "To": 0})
    # aws_network_acl_rule (configured with protocol = "tcp").
    ec2.create_network_acl_entry(NetworkAclId=nacl_id, RuleNumber=200, Protocol="6", RuleAction="allow", Egress=False,
                                 CidrBlock="10.1.0.0/16", PortRange={"From": 22, "To": 22})
    eip_id = ec2.allocate_address(Domain="vpc", TagSpecifications=tag_spec("elastic-ip", {"Name": "dg-eip"}))["AllocationId"]
    key_pair_id = ec2.import_key_pair(KeyName="dg-key", PublicKeyMaterial=PUBLIC_KEY.encode(),
                                      TagSpecifications=tag_spec("key-pair", {"Name": "dg-key"}))["KeyPairId"]
    volume_id = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8, VolumeType="gp3", Encrypted=True,
                                  TagSpecifications=tag_spec("volume", {"Name": "dg-data"}))["VolumeId"]
    ec2.enable_ebs_encryption_by_default()
    group_id = ec2.create_security_group(GroupName="dg-legacy", Description="legacy rules", VpcId=vpc_id,
                                         TagSpecifications=tag_spec("security-group", {"Name": "dg-legacy"}))["GroupId"]
    rule_id = ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "10.2.0.0/16"}]}])["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    eni_id = ec2.create_network_interface(SubnetId=subnet_id, Description="dg-eni", Groups=[group_id],
                                          TagSpecifications=tag_spec("network-interface", {"Name": "dg-eni"}))["NetworkInterface"]["NetworkInterfaceId"]
    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    lt_id = ec2.create_launch_template(LaunchTemplateName="dg-lt", LaunchTemplateData={"ImageId": image_id, "InstanceType": "t3.micro"})["LaunchTemplate"]["LaunchTemplateId"]
    flow_tags = {"Name": FLOW_BUCKET}
    create_bucket(s3, FLOW_BUCKET, flow_tags)
    flow_id = ec2.create_flow_logs(ResourceIds=[vpc_id], ResourceType="VPC", TrafficType="ALL", LogDestinationType="s3",
                                   LogDestination=f"arn:aws:s3:::{FLOW_BUCKET}", MaxAggregationInterval=600,
                                   TagSpecifications=tag_spec("vpc-flow-log", {"Name": "dg-flow"}))["FlowLogIds"][0]
    vpce_id = ec2.create_vpc_endpoint(VpcId=vpc_id, ServiceName=f"com.amazonaws.{REGION}.s3", VpcEndpointType="Gateway",
                                      RouteTableIds=[rtb_id], TagSpecifications=tag_spec("vpc-endpoint", {"Name": "dg-s3"}))["VpcEndpoint"]["VpcEndpointId"]
    route_id = f"r-{rtb_id}{hashcode('10.30.0.0/16')}"
    nacl_rule_id = f"nacl-{hashcode(f'{nacl_id}-200-false-tcp-')}"
    sg_rule_id = f"sgrule-{hashcode(f'{group_id}-8080-8080-tcp-ingress-10.2.0.0/16-')}"
    # An egress rule managed as its own resource (aws_vpc_security_group_egress_rule).
    egress_rule_id = ec2.authorize_security_group_egress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.3.0.0/16"}]}])["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    ids = {"vpc": vpc_id, "subnet": subnet_id, "internet_gateway": igw_id, "route_table": rtb_id,
           "route_table_association": assoc_id, "route": route_id, "network_acl": nacl_id, "network_acl_rule": nacl_rule_id,
           "eip": eip_id, "key_pair": "dg-key", "key_pair_id": key_pair_id, "volume": volume_id,
           "ebs_encryption_by_default": unique_id(), "security_group": group_id, "security_group_rule": sg_rule_id,
           "security_group_rule_id": rule_id, "egress_rule": egress_rule_id, "network_interface": eni_id, "launch_template": lt_id,
           "flow_log": flow_id, "flow_log_bucket": FLOW_BUCKET, "vpc_endpoint": vpce_id}
    write_state(state_out, read_network(ids), "6f1d2c1e-6b7e-4c1a-9a36-0000000000b2")
    return ids


def read_network(ids):
    """The state terraform refresh would write for the network family, read back from the live objects."""
    ec2, s3 = client("ec2"), client("s3")
    vpc_id, subnet_id, igw_id, rtb_id = ids["vpc"], ids["subnet"], ids["internet_gateway"], ids["route_table"]
    assoc_id, nacl_id, eip_id, volume_id = ids["route_table_association"], ids["network_acl"], ids["eip"], ids["volume"]
    group_id, rule_id, eni_id, lt_id = ids["security_group"], ids["security_group_rule_id"], ids["network_interface"], ids["launch_template"]
    flow_id, vpce_id = ids["flow_log"], ids["vpc_endpoint"]
    resources = []
    vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    main_rtb = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}])["RouteTables"][0]["RouteTableId"]
    default_nacl = ec2.describe_network_acls(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "default", "Values": ["true"]}])["NetworkAcls"][0]["NetworkAclId"]
    default_sg = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]
    attrs = {
        "arn": arn("ec2", f"vpc/{vpc_id}"), "assign_generated_ipv6_cidr_block": False, "cidr_block": vpc["CidrBlock"],
        "default_network_acl_id": default_nacl, "default_route_table_id": main_rtb, "default_security_group_id": default_sg,
        "dhcp_options_id": vpc["DhcpOptionsId"],
        "enable_dns_hostnames": vpc_attribute(ec2, vpc_id, "enableDnsHostnames"),
        "enable_dns_support": vpc_attribute(ec2, vpc_id, "enableDnsSupport"),
        "enable_network_address_usage_metrics": vpc_attribute(ec2, vpc_id, "enableNetworkAddressUsageMetrics"),
        "id": vpc_id, "instance_tenancy": vpc["InstanceTenancy"], "ipv4_ipam_pool_id": None, "ipv4_netmask_length": None,
        "ipv6_association_id": "", "ipv6_cidr_block": "", "ipv6_cidr_block_network_border_group": "", "ipv6_ipam_pool_id": "",
        "ipv6_netmask_length": 0, "main_route_table_id": main_rtb, "owner_id": vpc["OwnerId"]}
    attrs.update(tags_pair(tag_map(vpc.get("Tags"))))
    resources.append(resource("aws_vpc", "net", attrs))

    subnet = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
    dns = subnet.get("PrivateDnsNameOptionsOnLaunch", {})
    attrs = {
        "arn": subnet.get("SubnetArn", arn("ec2", f"subnet/{subnet_id}")),
        "assign_ipv6_address_on_creation": subnet.get("AssignIpv6AddressOnCreation", False),
        "availability_zone": subnet["AvailabilityZone"], "availability_zone_id": subnet.get("AvailabilityZoneId", ""),
        "cidr_block": subnet["CidrBlock"], "customer_owned_ipv4_pool": subnet.get("CustomerOwnedIpv4Pool", ""),
        "enable_dns64": subnet.get("EnableDns64", False), "enable_lni_at_device_index": subnet.get("EnableLniAtDeviceIndex", 0),
        "enable_resource_name_dns_a_record_on_launch": dns.get("EnableResourceNameDnsARecord", False),
        "enable_resource_name_dns_aaaa_record_on_launch": dns.get("EnableResourceNameDnsAAAARecord", False),
        "id": subnet_id, "ipv6_cidr_block": "", "ipv6_cidr_block_association_id": "", "ipv6_native": subnet.get("Ipv6Native", False),
        "map_customer_owned_ip_on_launch": subnet.get("MapCustomerOwnedIpOnLaunch", False),
        "map_public_ip_on_launch": subnet["MapPublicIpOnLaunch"], "outpost_arn": subnet.get("OutpostArn", ""),
        "owner_id": subnet["OwnerId"], "private_dns_hostname_type_on_launch": dns.get("HostnameType", ""),
        "timeouts": None, "vpc_id": subnet["VpcId"]}
    attrs.update(tags_pair(tag_map(subnet.get("Tags"))))
    resources.append(resource("aws_subnet", "a", attrs))

    igw = ec2.describe_internet_gateways(InternetGatewayIds=[igw_id])["InternetGateways"][0]
    attrs = {"arn": arn("ec2", f"internet-gateway/{igw_id}"), "id": igw_id, "owner_id": igw["OwnerId"], "timeouts": None,
             "vpc_id": igw["Attachments"][0]["VpcId"] if igw.get("Attachments") else ""}
    attrs.update(tags_pair(tag_map(igw.get("Tags"))))
    resources.append(resource("aws_internet_gateway", "net", attrs))

    table = ec2.describe_route_tables(RouteTableIds=[rtb_id])["RouteTables"][0]
    attrs = {"arn": arn("ec2", f"route-table/{rtb_id}"), "id": rtb_id, "owner_id": table["OwnerId"],
             "propagating_vgws": [g["GatewayId"] for g in table.get("PropagatingVgws", [])],
             # Refreshed, the table lists every non-local route, the aws_route's too.
             "route": table_routes(table["Routes"]), "timeouts": None, "vpc_id": table["VpcId"]}
    attrs.update(tags_pair(tag_map(table.get("Tags"))))
    resources.append(resource("aws_route_table", "public", attrs))

    association = next(a for a in table["Associations"] if a.get("RouteTableAssociationId") == assoc_id)
    resources.append(resource("aws_route_table_association", "a", {
        "gateway_id": association.get("GatewayId", ""), "id": assoc_id, "route_table_id": association["RouteTableId"],
        "subnet_id": association.get("SubnetId", ""), "timeouts": None}))

    # Gone resources drop out of the state, as terraform refresh drops them.
    route = next((r for r in table["Routes"] if r.get("DestinationCidrBlock") == "10.30.0.0/16"), None)
    if route:
        resources.append(resource("aws_route", "peer", {
            "carrier_gateway_id": route.get("CarrierGatewayId", ""), "core_network_arn": route.get("CoreNetworkArn", ""),
            "destination_cidr_block": route["DestinationCidrBlock"], "destination_ipv6_cidr_block": route.get("DestinationIpv6CidrBlock", ""),
            "destination_prefix_list_id": route.get("DestinationPrefixListId", ""),
            "egress_only_gateway_id": route.get("EgressOnlyInternetGatewayId", ""), "gateway_id": route.get("GatewayId", ""),
            "id": ids["route"], "instance_id": route.get("InstanceId", ""), "instance_owner_id": route.get("InstanceOwnerId", ""),
            "local_gateway_id": route.get("LocalGatewayId", ""), "nat_gateway_id": route.get("NatGatewayId", ""),
            "network_interface_id": route.get("NetworkInterfaceId", ""), "origin": route.get("Origin", ""),
            "route_table_id": rtb_id, "state": route.get("State", ""), "timeouts": None,
            "transit_gateway_id": route.get("TransitGatewayId", ""), "vpc_endpoint_id": "",
            "vpc_peering_connection_id": route.get("VpcPeeringConnectionId", "")}))

    nacl = ec2.describe_network_acls(NetworkAclIds=[nacl_id])["NetworkAcls"][0]
    attrs = {"arn": arn("ec2", f"network-acl/{nacl_id}"),
             # Refreshed, the ACL lists every non-default entry, the aws_network_acl_rule's too.
             "egress": network_acl_entries(nacl["Entries"], True), "id": nacl_id,
             "ingress": network_acl_entries(nacl["Entries"], False), "owner_id": nacl["OwnerId"],
             "subnet_ids": [a["SubnetId"] for a in nacl.get("Associations", [])], "vpc_id": nacl["VpcId"]}
    attrs.update(tags_pair(tag_map(nacl.get("Tags"))))
    resources.append(resource("aws_network_acl", "net", attrs))

    entry = next((e for e in nacl["Entries"] if e["RuleNumber"] == 200 and not e["Egress"]), None)
    if entry:
        resources.append(resource("aws_network_acl_rule", "ssh", {
            "cidr_block": entry.get("CidrBlock", ""), "egress": entry["Egress"], "from_port": entry["PortRange"]["From"],
            "icmp_code": None, "icmp_type": None, "id": ids["network_acl_rule"], "ipv6_cidr_block": entry.get("Ipv6CidrBlock", ""),
            "network_acl_id": nacl_id, "protocol": "6", "rule_action": entry["RuleAction"], "rule_number": entry["RuleNumber"],
            "to_port": entry["PortRange"]["To"]}))

    address = ec2.describe_addresses(AllocationIds=[eip_id])["Addresses"][0]
    public_ip = address["PublicIp"]
    attrs = {
        "address": None, "allocation_id": eip_id, "arn": arn("ec2", f"elastic-ip/{eip_id}"), "associate_with_private_ip": None,
        "association_id": address.get("AssociationId", ""), "carrier_ip": address.get("CarrierIp", ""),
        "customer_owned_ip": address.get("CustomerOwnedIp", ""), "customer_owned_ipv4_pool": address.get("CustomerOwnedIpv4Pool", ""),
        "domain": address["Domain"], "id": eip_id, "instance": address.get("InstanceId", ""), "ipam_pool_id": None,
        "network_border_group": address.get("NetworkBorderGroup", ""), "network_interface": address.get("NetworkInterfaceId", ""),
        "private_dns": None, "private_ip": address.get("PrivateIpAddress", ""), "ptr_record": "",
        "public_dns": f"ec2-{public_ip.replace('.', '-')}.compute-1.amazonaws.com", "public_ip": public_ip,
        "public_ipv4_pool": address.get("PublicIpv4Pool", ""), "timeouts": None, "vpc": address["Domain"] == "vpc"}
    attrs.update(tags_pair(tag_map(address.get("Tags"))))
    resources.append(resource("aws_eip", "nat", attrs))

    key = ec2.describe_key_pairs(KeyNames=["dg-key"])["KeyPairs"][0]
    attrs = {"arn": arn("ec2", "key-pair/dg-key"), "fingerprint": key["KeyFingerprint"], "id": "dg-key", "key_name": key["KeyName"],
             "key_name_prefix": "", "key_pair_id": key["KeyPairId"], "key_type": key.get("KeyType", ""), "public_key": PUBLIC_KEY.strip()}
    attrs.update(tags_pair(tag_map(key.get("Tags"))))
    resources.append(resource("aws_key_pair", "deploy", attrs))

    volume = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    attrs = {
        "arn": arn("ec2", f"volume/{volume_id}"), "availability_zone": volume["AvailabilityZone"],
        "create_time": rfc3339(volume.get("CreateTime")), "encrypted": volume["Encrypted"], "final_snapshot": False,
        "id": volume_id, "iops": volume.get("Iops", 0), "kms_key_id": volume.get("KmsKeyId", ""),
        "multi_attach_enabled": volume.get("MultiAttachEnabled", False), "outpost_arn": volume.get("OutpostArn", ""),
        "size": volume["Size"], "snapshot_id": volume.get("SnapshotId", ""),
        # moto 5.2.5 answers no Throughput for gp3 (AWS: 125).
        "throughput": volume.get("Throughput", 0), "timeouts": None, "type": volume["VolumeType"]}
    attrs.update(tags_pair(tag_map(volume.get("Tags"))))
    resources.append(resource("aws_ebs_volume", "data", attrs))

    resources.append(resource("aws_ebs_encryption_by_default", "this", {
        "enabled": ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"], "id": ids["ebs_encryption_by_default"]}))

    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    attrs = {"arn": arn("ec2", f"security-group/{group_id}"), "description": group["Description"],
             "egress": group_rules(group.get("IpPermissionsEgress", [])), "id": group_id,
             # Refreshed, the group lists the legacy aws_security_group_rule too.
             "ingress": group_rules(group.get("IpPermissions", [])), "name": group["GroupName"], "name_prefix": "",
             "owner_id": group["OwnerId"], "revoke_rules_on_delete": False, "timeouts": None, "vpc_id": group["VpcId"]}
    attrs.update(tags_pair(tag_map(group.get("Tags"))))
    resources.append(resource("aws_security_group", "legacy", attrs))

    permission = next(p for p in group["IpPermissions"] if p.get("FromPort") == 8080)
    group_rules_live = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])["SecurityGroupRules"]
    egress_rule = next((r for r in group_rules_live if r["SecurityGroupRuleId"] == ids["egress_rule"]), None)
    if egress_rule:
        resources.append(resource("aws_vpc_security_group_egress_rule", "https_out", {
            "arn": arn("ec2", f"security-group-rule/{ids['egress_rule']}"), "cidr_ipv4": egress_rule.get("CidrIpv4"),
            "cidr_ipv6": None, "description": None, "from_port": egress_rule["FromPort"], "id": ids["egress_rule"],
            "ip_protocol": egress_rule["IpProtocol"], "prefix_list_id": None, "referenced_security_group_id": None,
            "security_group_id": group_id, "security_group_rule_id": ids["egress_rule"], "tags": None, "tags_all": {},
            "to_port": egress_rule["ToPort"]}))
    resources.append(resource("aws_security_group_rule", "legacy_http", {
        "cidr_blocks": [r["CidrIp"] for r in permission["IpRanges"]],
        "description": (permission["IpRanges"][0].get("Description") or ""), "from_port": permission["FromPort"],
        "id": ids["security_group_rule"], "ipv6_cidr_blocks": None, "prefix_list_ids": [], "protocol": permission["IpProtocol"],
        "security_group_id": group_id, "security_group_rule_id": rule_id, "self": False,
        "source_security_group_id": None, "timeouts": None, "to_port": permission["ToPort"], "type": "ingress"}))

    eni = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"][0]
    private_ips = [p["PrivateIpAddress"] for p in eni.get("PrivateIpAddresses", [])]
    attrs = {
        "arn": arn("ec2", f"network-interface/{eni_id}"), "attachment": [], "description": eni.get("Description", ""),
        "enable_primary_ipv6": False, "id": eni_id, "interface_type": eni.get("InterfaceType", ""),
        "ipv4_prefix_count": len(eni.get("Ipv4Prefixes", [])), "ipv4_prefixes": [p["Ipv4Prefix"] for p in eni.get("Ipv4Prefixes", [])],
        "ipv6_address_count": len(eni.get("Ipv6Addresses", [])), "ipv6_address_list": [a["Ipv6Address"] for a in eni.get("Ipv6Addresses", [])],
        "ipv6_address_list_enabled": False, "ipv6_addresses": [a["Ipv6Address"] for a in eni.get("Ipv6Addresses", [])],
        "ipv6_prefix_count": len(eni.get("Ipv6Prefixes", [])), "ipv6_prefixes": [p["Ipv6Prefix"] for p in eni.get("Ipv6Prefixes", [])],
        "mac_address": eni.get("MacAddress", ""), "outpost_arn": eni.get("OutpostArn", ""), "owner_id": eni["OwnerId"],
        "private_dns_name": eni.get("PrivateDnsName", ""), "private_ip": eni.get("PrivateIpAddress", ""),
        "private_ip_list": private_ips, "private_ip_list_enabled": False, "private_ips": private_ips,
        "private_ips_count": len(private_ips) - 1, "security_groups": [g["GroupId"] for g in eni.get("Groups", [])],
        "source_dest_check": eni["SourceDestCheck"], "subnet_id": eni["SubnetId"]}
    attrs.update(tags_pair(tag_map(eni.get("TagSet"))))
    resources.append(resource("aws_network_interface", "app", attrs))

    template = ec2.describe_launch_templates(LaunchTemplateIds=[lt_id])["LaunchTemplates"][0]
    version = ec2.describe_launch_template_versions(LaunchTemplateId=lt_id, Versions=["$Default"])["LaunchTemplateVersions"][0]
    data = version["LaunchTemplateData"]
    attrs = {
        "arn": arn("ec2", f"launch-template/{lt_id}"), "block_device_mappings": [], "capacity_reservation_specification": [],
        "cpu_options": [], "credit_specification": [], "default_version": template["DefaultVersionNumber"],
        "description": version.get("VersionDescription", ""), "disable_api_stop": data.get("DisableApiStop", False),
        "disable_api_termination": data.get("DisableApiTermination", False), "ebs_optimized": "",
        "elastic_gpu_specifications": [], "elastic_inference_accelerator": [], "enclave_options": [],
        "hibernation_options": [], "iam_instance_profile": [], "id": lt_id, "image_id": data.get("ImageId", ""),
        "instance_initiated_shutdown_behavior": data.get("InstanceInitiatedShutdownBehavior", ""),
        "instance_market_options": [], "instance_requirements": [], "instance_type": data.get("InstanceType", ""),
        "kernel_id": data.get("KernelId", ""), "key_name": data.get("KeyName", ""), "latest_version": template["LatestVersionNumber"],
        "license_specification": [], "maintenance_options": [], "metadata_options": [], "monitoring": [],
        "name": template["LaunchTemplateName"], "name_prefix": "", "network_interfaces": [], "placement": [],
        "private_dns_name_options": [], "ram_disk_id": data.get("RamDiskId", ""), "security_group_names": None,
        "tag_specifications": [], "update_default_version": None, "user_data": data.get("UserData", ""),
        "vpc_security_group_ids": None}
    # Untagged on purpose: moto cannot tag a launch template faithfully (see the docstring).
    attrs.update(tags_pair(tag_map(template.get("Tags"))))
    resources.append(resource("aws_launch_template", "app", attrs))

    flow_tags = tag_map(s3.get_bucket_tagging(Bucket=FLOW_BUCKET)["TagSet"])
    resources.append(resource("aws_s3_bucket", "flow_logs", bucket_attributes(s3, FLOW_BUCKET, flow_tags)))
    flow = ec2.describe_flow_logs(FlowLogIds=[flow_id])["FlowLogs"][0]
    attrs = {
        "arn": arn("ec2", f"vpc-flow-log/{flow_id}"), "deliver_cross_account_role": flow.get("DeliverCrossAccountRole", ""),
        "deliver_logs_permission_arn": flow.get("DeliverLogsPermissionArn", ""), "destination_options": [],
        "eni_id": None, "iam_role_arn": flow.get("DeliverLogsPermissionArn", ""), "id": flow_id,
        "log_destination": flow.get("LogDestination", ""), "log_destination_type": flow.get("LogDestinationType", ""),
        "log_format": flow.get("LogFormat", ""), "log_group_name": flow.get("LogGroupName", ""),
        "max_aggregation_interval": flow.get("MaxAggregationInterval", 600), "subnet_id": None,
        "traffic_type": flow["TrafficType"], "transit_gateway_attachment_id": None, "transit_gateway_id": None,
        "vpc_id": flow["ResourceId"]}
    attrs.update(tags_pair(tag_map(flow.get("Tags"))))
    resources.append(resource("aws_flow_log", "vpc", attrs))

    endpoint = ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce_id])["VpcEndpoints"][0]
    prefix_lists = ec2.describe_prefix_lists(Filters=[{"Name": "prefix-list-name", "Values": [endpoint["ServiceName"]]}])["PrefixLists"]
    attrs = {
        "arn": arn("ec2", f"vpc-endpoint/{vpce_id}"), "auto_accept": None,
        "cidr_blocks": prefix_lists[0].get("Cidrs", []) if prefix_lists else [], "dns_entry": [], "dns_options": [],
        "id": vpce_id, "ip_address_type": endpoint.get("IpAddressType", ""),
        "network_interface_ids": endpoint.get("NetworkInterfaceIds", []), "owner_id": endpoint["OwnerId"],
        "policy": normalized_json(endpoint["PolicyDocument"]) if endpoint.get("PolicyDocument") else "",
        "prefix_list_id": prefix_lists[0]["PrefixListId"] if prefix_lists else "",
        # moto answers PrivateDnsEnabled=true for a Gateway endpoint (AWS: false).
        "private_dns_enabled": endpoint.get("PrivateDnsEnabled", False), "requester_managed": endpoint.get("RequesterManaged", False),
        "route_table_ids": endpoint.get("RouteTableIds", []), "security_group_ids": [g["GroupId"] for g in endpoint.get("Groups", [])],
        "service_name": endpoint["ServiceName"], "state": endpoint["State"], "subnet_configuration": [],
        "subnet_ids": endpoint.get("SubnetIds", []), "timeouts": None, "vpc_endpoint_type": endpoint["VpcEndpointType"],
        "vpc_id": endpoint["VpcId"]}
    attrs.update(tags_pair(tag_map(endpoint.get("Tags"))))
    resources.append(resource("aws_vpc_endpoint", "s3", attrs))
    return resources


def mutate_network(ids):
    ec2 = client("ec2")
    ec2.modify_vpc_attribute(VpcId=ids["vpc"], EnableDnsHostnames={"Value": False})
    ec2.modify_subnet_attribute(SubnetId=ids["subnet"], MapPublicIpOnLaunch={"Value": True})
    ec2.create_route(RouteTableId=ids["route_table"], DestinationCidrBlock="10.99.0.0/16", GatewayId=ids["internet_gateway"])
    ec2.delete_route(RouteTableId=ids["route_table"], DestinationCidrBlock="10.30.0.0/16")
    ec2.create_network_acl_entry(NetworkAclId=ids["network_acl"], RuleNumber=110, Protocol="6", RuleAction="allow", Egress=False,
                                 CidrBlock="0.0.0.0/0", PortRange={"From": 3389, "To": 3389})
    ec2.delete_network_acl_entry(NetworkAclId=ids["network_acl"], RuleNumber=200, Egress=False)
    ec2.authorize_security_group_ingress(GroupId=ids["security_group"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.disable_ebs_encryption_by_default()
    ec2.modify_network_interface_attribute(NetworkInterfaceId=ids["network_interface"], SourceDestCheck={"Value": False})
    ec2.create_tags(Resources=[ids["vpc"]], Tags=[{"Key": "Team", "Value": "intruder"}])
    # Every other kind of network drift, one per type.
    ec2.detach_internet_gateway(InternetGatewayId=ids["internet_gateway"], VpcId=ids["vpc"])
    ec2.disassociate_route_table(AssociationId=ids["route_table_association"])
    ec2.create_tags(Resources=[ids["eip"]], Tags=[{"Key": "Name", "Value": "renamed"}])
    ec2.create_tags(Resources=[ids["key_pair_id"]], Tags=[{"Key": "Name", "Value": "renamed"}])
    ec2.modify_volume(VolumeId=ids["volume"], Size=16)
    image = ec2.describe_images(Owners=["amazon"])["Images"][1]["ImageId"]
    ec2.create_launch_template_version(LaunchTemplateId=ids["launch_template"],
                                       LaunchTemplateData={"ImageId": image, "InstanceType": "m5.large"})
    ec2.modify_launch_template(LaunchTemplateId=ids["launch_template"], DefaultVersion="2")
    ec2.delete_flow_logs(FlowLogIds=[ids["flow_log"]])
    ec2.modify_vpc_endpoint(VpcEndpointId=ids["vpc_endpoint"], PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]}))
    ec2.revoke_security_group_ingress(GroupId=ids["security_group"], SecurityGroupRuleIds=[ids["security_group_rule_id"]])
    ec2.revoke_security_group_egress(GroupId=ids["security_group"], SecurityGroupRuleIds=[ids["egress_rule"]])


def snapshot_network():
    ec2 = client("ec2")
    vpc = find_vpc(ec2)
    if vpc is None:
        return {"vpc": None}
    vpc_id = vpc["VpcId"]
    in_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
    subnets = ec2.describe_subnets(Filters=in_vpc)["Subnets"]
    tables = ec2.describe_route_tables(Filters=in_vpc + [{"Name": "tag:Name", "Values": ["dg-public"]}])["RouteTables"]
    nacls = ec2.describe_network_acls(Filters=in_vpc + [{"Name": "tag:Name", "Values": ["dg-nacl"]}])["NetworkAcls"]
    groups = ec2.describe_security_groups(Filters=in_vpc + [{"Name": "group-name", "Values": ["dg-legacy"]}])["SecurityGroups"]
    enis = ec2.describe_network_interfaces(Filters=in_vpc + [{"Name": "description", "Values": ["dg-eni"]}])["NetworkInterfaces"]
    return {
        "vpc": {"enable_dns_support": vpc_attribute(ec2, vpc_id, "enableDnsSupport"),
                "enable_dns_hostnames": vpc_attribute(ec2, vpc_id, "enableDnsHostnames"),
                "tags": tag_map(vpc.get("Tags"))},
        "subnets": sorted(({"cidr_block": s["CidrBlock"], "map_public_ip_on_launch": s["MapPublicIpOnLaunch"]} for s in subnets),
                          key=lambda s: s["cidr_block"]),
        "routes": sorted(({"destination": r.get("DestinationCidrBlock") or r.get("DestinationPrefixListId", ""),
                           "target": r.get("GatewayId", ""), "origin": r.get("Origin", "")}
                          for t in tables for r in t["Routes"]), key=lambda r: r["destination"]),
        "nacl_entries": sorted(({"rule_number": e["RuleNumber"], "egress": e["Egress"], "protocol": e["Protocol"],
                                 "action": e["RuleAction"], "cidr_block": e.get("CidrBlock", ""),
                                 "ports": [e.get("PortRange", {}).get("From", 0), e.get("PortRange", {}).get("To", 0)]}
                                for n in nacls for e in n["Entries"]), key=lambda e: (e["egress"], e["rule_number"])),
        "group_rules": {"ingress": [r for g in groups for r in group_rules(g.get("IpPermissions", []))],
                        "egress": [r for g in groups for r in group_rules(g.get("IpPermissionsEgress", []))]},
        "ebs_encryption_by_default": ec2.get_ebs_encryption_by_default()["EbsEncryptionByDefault"],
        "eni_source_dest_check": [e["SourceDestCheck"] for e in enis],
    }


# --- family rds -----------------------------------------------------------------------------

RDS_CIDR = "10.40.0.0/16"


def rds_tags(rds, resource_arn):
    return tag_map(rds.list_tags_for_resource(ResourceName=resource_arn).get("TagList"))


def seed_rds(state_out):
    ec2, rds = client("ec2"), client("rds")
    vpc_id = ec2.create_vpc(CidrBlock=RDS_CIDR, TagSpecifications=tag_spec("vpc", {"Name": "dg-db-net"}))["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=f"{REGION}{az}",
                                 TagSpecifications=tag_spec("subnet", {"Name": f"dg-db-{az}"}))["Subnet"]["SubnetId"]
               for i, az in ((1, "a"), (2, "b"))]
    rds.create_db_subnet_group(DBSubnetGroupName="dg-db-subnets", DBSubnetGroupDescription="dg database subnets",
                               SubnetIds=subnets, Tags=[{"Key": "Name", "Value": "dg-db-subnets"}])
    rds.create_db_parameter_group(DBParameterGroupName="dg-pg", DBParameterGroupFamily="postgres16", Description="dg parameters",
                                  Tags=[{"Key": "Name", "Value": "dg-pg"}])
    rds.modify_db_parameter_group(DBParameterGroupName="dg-pg", Parameters=[
        {"ParameterName": "log_min_duration_statement", "ParameterValue": "500", "ApplyMethod": "immediate"}])
    rds.create_db_cluster(DBClusterIdentifier="dg-cluster", Engine="aurora-postgresql", EngineVersion="16.4",
                          MasterUsername="dgadmin", MasterUserPassword=DB_PASSWORD, DBSubnetGroupName="dg-db-subnets",
                          StorageEncrypted=True, DeletionProtection=False, BackupRetentionPeriod=7,
                          Tags=[{"Key": "Name", "Value": "dg-cluster"}])
    rds.create_db_instance(DBInstanceIdentifier="dg-cluster-1", DBClusterIdentifier="dg-cluster", Engine="aurora-postgresql",
                           DBInstanceClass="db.t4g.medium", Tags=[{"Key": "Name", "Value": "dg-cluster-1"}])
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName="dg-cpg", DBParameterGroupFamily="aurora-postgresql16",
                                          Description="dg cluster parameters", Tags=[{"Key": "Name", "Value": "dg-cpg"}])
    rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName="dg-cpg", Parameters=[
        {"ParameterName": "log_min_duration_statement", "ParameterValue": "500", "ApplyMethod": "immediate"}])
    rds.create_db_instance(DBInstanceIdentifier="dg-snap-src", DBInstanceClass="db.t3.micro", Engine="postgres", EngineVersion="16.3",
                           MasterUsername="dgadmin", MasterUserPassword=DB_PASSWORD, AllocatedStorage=20,
                           DBSubnetGroupName="dg-db-subnets", DBParameterGroupName="dg-pg", StorageEncrypted=True,
                           BackupRetentionPeriod=1, PubliclyAccessible=False, DeletionProtection=False,
                           Tags=[{"Key": "Name", "Value": "dg-snap-src"}])
    rds.create_db_snapshot(DBSnapshotIdentifier="dg-snap", DBInstanceIdentifier="dg-snap-src", Tags=[{"Key": "Name", "Value": "dg-snap"}])
    ids = {"vpc": vpc_id, "subnets": subnets, "db_subnet_group": "dg-db-subnets", "db_parameter_group": "dg-pg",
           "cluster": "dg-cluster", "cluster_instance": "dg-cluster-1", "cluster_parameter_group": "dg-cpg", "db_instance": "dg-snap-src",
           "db_instance_resource_id": rds.describe_db_instances(DBInstanceIdentifier="dg-snap-src")["DBInstances"][0]["DbiResourceId"],
           "db_snapshot": "dg-snap"}
    write_state(state_out, read_rds(ids), "6f1d2c1e-6b7e-4c1a-9a36-0000000000b3")
    return ids


def read_rds(ids):
    """The state terraform refresh would write for the rds family, read back from the live objects."""
    rds = client("rds")
    resources = []
    group = rds.describe_db_subnet_groups(DBSubnetGroupName="dg-db-subnets")["DBSubnetGroups"][0]
    attrs = {"arn": group["DBSubnetGroupArn"], "description": group["DBSubnetGroupDescription"], "id": group["DBSubnetGroupName"],
             "name": group["DBSubnetGroupName"], "name_prefix": "", "subnet_ids": sorted(s["SubnetIdentifier"] for s in group["Subnets"]),
             "supported_network_types": group.get("SupportedNetworkTypes", []), "vpc_id": group["VpcId"]}
    attrs.update(tags_pair(rds_tags(rds, group["DBSubnetGroupArn"])))
    resources.append(resource("aws_db_subnet_group", "db", attrs))

    pg = rds.describe_db_parameter_groups(DBParameterGroupName="dg-pg")["DBParameterGroups"][0]
    params = rds.describe_db_parameters(DBParameterGroupName="dg-pg", Source="user")["Parameters"]
    attrs = {"arn": pg["DBParameterGroupArn"], "description": pg["Description"], "family": pg["DBParameterGroupFamily"],
             "id": pg["DBParameterGroupName"], "name": pg["DBParameterGroupName"], "name_prefix": "",
             "parameter": sorted(({"apply_method": p.get("ApplyMethod", "immediate"), "name": p["ParameterName"],
                                   "value": p["ParameterValue"]} for p in params), key=lambda p: p["name"]),
             "skip_destroy": False}
    attrs.update(tags_pair(rds_tags(rds, pg["DBParameterGroupArn"])))
    resources.append(resource("aws_db_parameter_group", "pg", attrs))

    cluster = rds.describe_db_clusters(DBClusterIdentifier="dg-cluster")["DBClusters"][0]
    attrs = {
        "allocated_storage": cluster.get("AllocatedStorage", 0), "allow_major_version_upgrade": None, "apply_immediately": None,
        "arn": cluster["DBClusterArn"], "availability_zones": sorted(cluster.get("AvailabilityZones", [])),
        "backtrack_window": cluster.get("BacktrackWindow", 0), "backup_retention_period": cluster["BackupRetentionPeriod"],
        "ca_certificate_identifier": cluster.get("CertificateDetails", {}).get("CAIdentifier", ""),
        "ca_certificate_valid_till": rfc3339(cluster.get("CertificateDetails", {}).get("ValidTill")) or "",
        "cluster_identifier": cluster["DBClusterIdentifier"], "cluster_identifier_prefix": "",
        "cluster_members": sorted(m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])),
        "cluster_resource_id": cluster["DbClusterResourceId"], "cluster_scalability_type": cluster.get("ClusterScalabilityType", ""),
        "copy_tags_to_snapshot": cluster.get("CopyTagsToSnapshot", False), "database_insights_mode": cluster.get("DatabaseInsightsMode", ""),
        "database_name": cluster.get("DatabaseName", ""), "db_cluster_instance_class": cluster.get("DBClusterInstanceClass", ""),
        # moto names the default group "default.aurora8.0" even for aurora-postgresql.
        "db_cluster_parameter_group_name": cluster.get("DBClusterParameterGroup", ""), "db_instance_parameter_group_name": None,
        "db_subnet_group_name": cluster.get("DBSubnetGroup", ""), "db_system_id": cluster.get("DBSystemId", ""),
        "delete_automated_backups": True, "deletion_protection": cluster["DeletionProtection"], "domain": "",
        "domain_iam_role_name": "", "enable_global_write_forwarding": cluster.get("GlobalWriteForwardingRequested", False),
        "enable_http_endpoint": cluster.get("HttpEndpointEnabled", False),
        "enable_local_write_forwarding": cluster.get("LocalWriteForwardingStatus") == "enabled",
        "enabled_cloudwatch_logs_exports": cluster.get("EnabledCloudwatchLogsExports", []), "endpoint": cluster.get("Endpoint", ""),
        "engine": cluster["Engine"], "engine_lifecycle_support": cluster.get("EngineLifecycleSupport", ""),
        "engine_mode": cluster.get("EngineMode", ""), "engine_version": cluster["EngineVersion"],
        "engine_version_actual": cluster["EngineVersion"], "final_snapshot_identifier": None, "global_cluster_identifier": "",
        "hosted_zone_id": cluster.get("HostedZoneId", ""),
        "iam_database_authentication_enabled": cluster.get("IAMDatabaseAuthenticationEnabled", False),
        "iam_roles": [r["RoleArn"] for r in cluster.get("AssociatedRoles", [])], "id": cluster["DBClusterIdentifier"],
        "iops": cluster.get("Iops", 0), "kms_key_id": cluster.get("KmsKeyId", ""), "manage_master_user_password": None,
        "master_password": DB_PASSWORD, "master_user_secret": [], "master_user_secret_kms_key_id": None,
        "master_username": cluster["MasterUsername"], "monitoring_interval": cluster.get("MonitoringInterval", 0),
        "monitoring_role_arn": cluster.get("MonitoringRoleArn", ""), "network_type": cluster.get("NetworkType", ""),
        "performance_insights_enabled": cluster.get("PerformanceInsightsEnabled", False),
        "performance_insights_kms_key_id": cluster.get("PerformanceInsightsKMSKeyId", ""),
        "performance_insights_retention_period": cluster.get("PerformanceInsightsRetentionPeriod", 0),
        "port": cluster.get("Port", 0), "preferred_backup_window": cluster.get("PreferredBackupWindow", ""),
        "preferred_maintenance_window": cluster.get("PreferredMaintenanceWindow", ""), "reader_endpoint": cluster.get("ReaderEndpoint", ""),
        "replication_source_identifier": cluster.get("ReplicationSourceIdentifier", ""), "restore_to_point_in_time": [],
        "s3_import": [], "scaling_configuration": [], "serverlessv2_scaling_configuration": [], "skip_final_snapshot": True,
        "snapshot_identifier": None, "source_region": None, "storage_encrypted": cluster["StorageEncrypted"],
        "storage_type": cluster.get("StorageType", ""), "timeouts": None,
        "vpc_security_group_ids": sorted(g["VpcSecurityGroupId"] for g in cluster.get("VpcSecurityGroups", []))}
    attrs.update(tags_pair(rds_tags(rds, cluster["DBClusterArn"])))
    resources.append(resource("aws_rds_cluster", "main", attrs, sensitive=("master_password",)))

    member = rds.describe_db_instances(DBInstanceIdentifier="dg-cluster-1")["DBInstances"][0]
    attrs = {
        "apply_immediately": None, "arn": member["DBInstanceArn"], "auto_minor_version_upgrade": member.get("AutoMinorVersionUpgrade", True),
        "availability_zone": member.get("AvailabilityZone", ""), "ca_cert_identifier": member.get("CACertificateIdentifier", ""),
        "cluster_identifier": member["DBClusterIdentifier"], "copy_tags_to_snapshot": member.get("CopyTagsToSnapshot", False),
        "custom_iam_instance_profile": "",
        "db_parameter_group_name": (member.get("DBParameterGroups") or [{}])[0].get("DBParameterGroupName", ""),
        "db_subnet_group_name": member.get("DBSubnetGroup", {}).get("DBSubnetGroupName", cluster.get("DBSubnetGroup", "")),
        "dbi_resource_id": member["DbiResourceId"], "endpoint": member.get("Endpoint", {}).get("Address", ""),
        "engine": member["Engine"], "engine_version": member["EngineVersion"], "engine_version_actual": member["EngineVersion"],
        "id": member["DBInstanceIdentifier"], "identifier": member["DBInstanceIdentifier"], "identifier_prefix": "",
        "instance_class": member["DBInstanceClass"], "kms_key_id": member.get("KmsKeyId", ""),
        "monitoring_interval": member.get("MonitoringInterval", 0), "monitoring_role_arn": member.get("MonitoringRoleArn", ""),
        "network_type": member.get("NetworkType", ""), "performance_insights_enabled": member.get("PerformanceInsightsEnabled", False),
        "performance_insights_kms_key_id": member.get("PerformanceInsightsKMSKeyId", ""),
        "performance_insights_retention_period": member.get("PerformanceInsightsRetentionPeriod", 0),
        "port": member.get("Endpoint", {}).get("Port", 0), "preferred_backup_window": member.get("PreferredBackupWindow", ""),
        "preferred_maintenance_window": member.get("PreferredMaintenanceWindow", ""), "promotion_tier": member.get("PromotionTier", 0),
        "publicly_accessible": member.get("PubliclyAccessible", False), "storage_encrypted": member.get("StorageEncrypted", False),
        "timeouts": None,
        "writer": any(m.get("IsClusterWriter") for m in cluster.get("DBClusterMembers", []) if m["DBInstanceIdentifier"] == "dg-cluster-1")}
    attrs.update(tags_pair(rds_tags(rds, member["DBInstanceArn"])))
    resources.append(resource("aws_rds_cluster_instance", "main", attrs))

    cpg = rds.describe_db_cluster_parameter_groups(DBClusterParameterGroupName="dg-cpg")["DBClusterParameterGroups"][0]
    cparams = rds.describe_db_cluster_parameters(DBClusterParameterGroupName="dg-cpg", Source="user")["Parameters"]
    attrs = {"arn": cpg["DBClusterParameterGroupArn"], "description": cpg["Description"], "family": cpg["DBParameterGroupFamily"],
             "id": cpg["DBClusterParameterGroupName"], "name": cpg["DBClusterParameterGroupName"], "name_prefix": "",
             "parameter": sorted(({"apply_method": p.get("ApplyMethod", "immediate"), "name": p["ParameterName"],
                                   "value": p["ParameterValue"]} for p in cparams), key=lambda p: p["name"])}
    attrs.update(tags_pair(rds_tags(rds, cpg["DBClusterParameterGroupArn"])))
    resources.append(resource("aws_rds_cluster_parameter_group", "cluster", attrs))

    db = rds.describe_db_instances(DBInstanceIdentifier="dg-snap-src")["DBInstances"][0]
    endpoint = db.get("Endpoint", {})
    attrs = {
        "address": endpoint.get("Address", ""), "allocated_storage": db["AllocatedStorage"], "allow_major_version_upgrade": None,
        "apply_immediately": None, "arn": db["DBInstanceArn"], "auto_minor_version_upgrade": db.get("AutoMinorVersionUpgrade", True),
        "availability_zone": db.get("AvailabilityZone", ""), "backup_retention_period": db["BackupRetentionPeriod"],
        "backup_target": db.get("BackupTarget", ""), "backup_window": db.get("PreferredBackupWindow", ""), "blue_green_update": [],
        "ca_cert_identifier": db.get("CACertificateIdentifier", ""), "character_set_name": db.get("CharacterSetName", ""),
        "copy_tags_to_snapshot": db.get("CopyTagsToSnapshot", False), "custom_iam_instance_profile": "",
        "customer_owned_ip_enabled": db.get("CustomerOwnedIpEnabled", False), "database_insights_mode": db.get("DatabaseInsightsMode", ""),
        "db_name": db.get("DBName", ""), "db_subnet_group_name": db.get("DBSubnetGroup", {}).get("DBSubnetGroupName", ""),
        "dedicated_log_volume": db.get("DedicatedLogVolume", False), "delete_automated_backups": True,
        "deletion_protection": db.get("DeletionProtection", False), "domain": "", "domain_auth_secret_arn": "", "domain_dns_ips": [],
        "domain_fqdn": "", "domain_iam_role_name": "", "domain_ou": "",
        "enabled_cloudwatch_logs_exports": db.get("EnabledCloudwatchLogsExports", []),
        "endpoint": f"{endpoint.get('Address', '')}:{endpoint.get('Port', 0)}", "engine": db["Engine"],
        "engine_lifecycle_support": db.get("EngineLifecycleSupport", ""), "engine_version": db["EngineVersion"],
        "engine_version_actual": db["EngineVersion"], "final_snapshot_identifier": None,
        "hosted_zone_id": endpoint.get("HostedZoneId", ""),
        "iam_database_authentication_enabled": db.get("IAMDatabaseAuthenticationEnabled", False),
        # provider v5: the instance's id is its DBI resource id, not its identifier.
        "id": db["DbiResourceId"], "identifier": db["DBInstanceIdentifier"], "identifier_prefix": "",
        "instance_class": db["DBInstanceClass"], "iops": db.get("Iops", 0), "kms_key_id": db.get("KmsKeyId", ""),
        # Changes on every describe (moto's clock): not configuration.
        "latest_restorable_time": rfc3339(db.get("LatestRestorableTime")) or "",
        "license_model": db.get("LicenseModel", ""), "listener_endpoint": [],
        "maintenance_window": db.get("PreferredMaintenanceWindow", "").lower(), "manage_master_user_password": None,
        "master_user_secret": [], "master_user_secret_kms_key_id": "", "max_allocated_storage": db.get("MaxAllocatedStorage", 0),
        "monitoring_interval": db.get("MonitoringInterval", 0), "monitoring_role_arn": db.get("MonitoringRoleArn", ""),
        "multi_az": db.get("MultiAZ", False), "nchar_character_set_name": db.get("NcharCharacterSetName", ""),
        "network_type": db.get("NetworkType", ""),
        "option_group_name": (db.get("OptionGroupMemberships") or [{}])[0].get("OptionGroupName", ""),
        "parameter_group_name": (db.get("DBParameterGroups") or [{}])[0].get("DBParameterGroupName", ""),
        "password": DB_PASSWORD, "performance_insights_enabled": db.get("PerformanceInsightsEnabled", False),
        "performance_insights_kms_key_id": db.get("PerformanceInsightsKMSKeyId", ""),
        "performance_insights_retention_period": db.get("PerformanceInsightsRetentionPeriod", 0),
        "port": endpoint.get("Port", db.get("DbInstancePort", 0)), "publicly_accessible": db.get("PubliclyAccessible", False),
        "replica_mode": db.get("ReplicaMode", ""), "replicas": db.get("ReadReplicaDBInstanceIdentifiers", []),
        "replicate_source_db": db.get("ReadReplicaSourceDBInstanceIdentifier", ""), "resource_id": db["DbiResourceId"],
        "restore_to_point_in_time": [], "s3_import": [], "skip_final_snapshot": True, "snapshot_identifier": None,
        "status": db["DBInstanceStatus"], "storage_encrypted": db.get("StorageEncrypted", False),
        "storage_throughput": db.get("StorageThroughput", 0), "storage_type": db.get("StorageType", ""), "timeouts": None,
        "timezone": db.get("Timezone", ""), "upgrade_storage_config": None, "username": db["MasterUsername"],
        "vpc_security_group_ids": sorted(g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups", []))}
    attrs.update(tags_pair(rds_tags(rds, db["DBInstanceArn"])))
    resources.append(resource("aws_db_instance", "snap_src", attrs, sensitive=("password",)))

    snap = rds.describe_db_snapshots(DBSnapshotIdentifier="dg-snap")["DBSnapshots"][0]
    restore = rds.describe_db_snapshot_attributes(DBSnapshotIdentifier="dg-snap")["DBSnapshotAttributesResult"]["DBSnapshotAttributes"]
    attrs = {
        "allocated_storage": snap.get("AllocatedStorage", 0), "availability_zone": snap.get("AvailabilityZone", ""),
        "db_instance_identifier": snap["DBInstanceIdentifier"], "db_snapshot_arn": snap["DBSnapshotArn"],
        "db_snapshot_identifier": snap["DBSnapshotIdentifier"], "encrypted": snap.get("Encrypted", False), "engine": snap.get("Engine", ""),
        "engine_version": snap.get("EngineVersion", ""), "id": snap["DBSnapshotIdentifier"], "iops": snap.get("Iops", 0),
        "kms_key_id": snap.get("KmsKeyId", ""), "license_model": snap.get("LicenseModel", ""),
        "option_group_name": snap.get("OptionGroupName", ""), "port": snap.get("Port", 0),
        "shared_accounts": sorted(v for a in restore if a["AttributeName"] == "restore" for v in a.get("AttributeValues", [])),
        "snapshot_type": snap.get("SnapshotType", ""), "source_db_snapshot_identifier": snap.get("SourceDBSnapshotIdentifier", ""),
        "source_region": snap.get("SourceRegion", ""), "status": snap.get("Status", ""), "storage_type": snap.get("StorageType", ""),
        "timeouts": None, "vpc_id": snap.get("VpcId", "")}
    attrs.update(tags_pair(rds_tags(rds, snap["DBSnapshotArn"])))
    resources.append(resource("aws_db_snapshot", "src", attrs))
    return resources


def mutate_rds(ids):
    rds = client("rds")
    rds.modify_db_cluster(DBClusterIdentifier=ids["cluster"], DeletionProtection=True, BackupRetentionPeriod=1, ApplyImmediately=True)
    rds.modify_db_parameter_group(DBParameterGroupName=ids["db_parameter_group"], Parameters=[
        {"ParameterName": "log_min_duration_statement", "ParameterValue": "1000", "ApplyMethod": "immediate"}])
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier=ids["db_snapshot"], AttributeName="restore", ValuesToAdd=["all"])
    rds.modify_db_instance(DBInstanceIdentifier=ids["cluster_instance"], PubliclyAccessible=True, ApplyImmediately=True)
    # The only subnet-group drift moto can make (its ModifyDBSubnetGroup loses the group).
    rds.delete_db_subnet_group(DBSubnetGroupName=ids["db_subnet_group"])
    rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=ids["cluster_parameter_group"], Parameters=[
        {"ParameterName": "log_min_duration_statement", "ParameterValue": "-1", "ApplyMethod": "immediate"}])
    # No subnet-group description drift: moto 5.2.5's ModifyDBSubnetGroup deletes the group.


def snapshot_rds():
    rds = client("rds")
    cluster = try_call(lambda: rds.describe_db_clusters(DBClusterIdentifier="dg-cluster")["DBClusters"][0], "DBClusterNotFoundFault")
    params = try_call(lambda: rds.describe_db_parameters(DBParameterGroupName="dg-pg", Source="user")["Parameters"], "DBParameterGroupNotFound")
    restore = try_call(lambda: rds.describe_db_snapshot_attributes(DBSnapshotIdentifier="dg-snap")["DBSnapshotAttributesResult"]["DBSnapshotAttributes"],
                       "DBSnapshotNotFound")
    groups = rds.describe_db_subnet_groups()["DBSubnetGroups"]
    return {
        "cluster": {k: cluster.get(k) for k in ("DBClusterIdentifier", "Engine", "EngineVersion", "StorageEncrypted", "DeletionProtection",
                                                "BackupRetentionPeriod", "DBSubnetGroup")} if cluster else None,
        "parameters": {p["ParameterName"]: p["ParameterValue"] for p in params} if params is not None else None,
        "cluster_parameters": {p["ParameterName"]: p["ParameterValue"]
                               for p in rds.describe_db_cluster_parameters(DBClusterParameterGroupName="dg-cpg", Source="user")["Parameters"]},
        "snapshot_restore": sorted(v for a in restore if a["AttributeName"] == "restore" for v in a.get("AttributeValues", []))
        if restore is not None else None,
        "subnet_groups": {g["DBSubnetGroupName"]: g["DBSubnetGroupDescription"] for g in groups},
    }


# --- dispatch -------------------------------------------------------------------------------

def seed_iam(state_out):
    state = {"resources": []}
    ids = breadth_iam.seed(client, resource, state)
    write_state(state_out, state["resources"], "6f1d2c1e-6b7e-4c1a-9a36-0000000000a1")
    return ids


FAMILIES = {
    "s3": (seed_s3, mutate_s3, snapshot_s3),
    "network": (seed_network, mutate_network, snapshot_network),
    "rds": (seed_rds, mutate_rds, snapshot_rds),
    "iam": (seed_iam, lambda ids: breadth_iam.mutate(client, ids), lambda: breadth_iam.snapshot(client)),
}


def main(argv):
    command, family = argv[2], argv[3]
    seed, mutate, snapshot = FAMILIES[family]
    if command == "seed":
        print(json.dumps(seed(argv[4])))
    elif command == "mutate":
        mutate(json.loads(argv[4]))
    elif command == "snapshot":
        print(json.dumps(snapshot(), sort_keys=True, default=str))
    else:
        raise SystemExit(f"unknown command {command!r}")


if __name__ == "__main__":
    main(sys.argv)
