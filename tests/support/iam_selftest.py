"""Proves docs/iam/detect-only.json and docs/iam/full.json against moto's IAM enforcement,
through tests/support/moto_server.py and tests/support/iam_fixture.py, with boto3.

1. Every AWS operation DriftGuard's code sends (every send!(_, "service:Operation", _) in
   every .rs file under providers/src/aws, recursively) is in OPERATIONS below, and the
   IAM actions OPERATIONS says they need are exactly the actions of each file.
2. INITIAL_NO_AUTH_ACTION_COUNT=3 is enough for iam_fixture.py, 2 is not; --enforce works
   on a server started without it; the "testing" key is refused once enforcement is on.
3. detect: every detect operation is allowed; every other operation (the writes, and the
   reads only remediation or the janitor make) is denied. full: every operation is allowed, in order, on the
   seeded resources (aws_fixture.py, janitor_fixture.py, iam_fixture.py --seed), and the
   deletions happen.
4. Necessity: for each action of each file, a user with that file minus that one action is
   denied the operations that need it (harmless probes on missing targets). Actions moto
   cannot check are listed, not claimed.
5. moto's semantics the README relies on: which Resource and Condition elements it honours.

Usage: iam_selftest.py (run it with scripts/emulator-venv's python). Exit 0 when all hold.
"""

import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.parsers import ResponseParserError

SUPPORT = Path(__file__).resolve().parent
ROOT = SUPPORT.parents[1]
DOCS = ROOT / "docs" / "iam"
SOURCES = sorted((ROOT / "providers" / "src" / "aws").rglob("*.rs"))
REGION = "us-east-1"
ACCOUNT = "123456789012"
DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "403", "Forbidden"}
FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
        print(f"  FAIL {message}")
    return condition


# --- the server and its users ---------------------------------------------------------

class Server:
    def __init__(self, no_auth=None):
        env = dict(os.environ)
        env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
        if no_auth is not None:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(no_auth)
        self.process = subprocess.Popen([sys.executable, str(SUPPORT / "moto_server.py")], stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=env)
        self.endpoint = f"http://127.0.0.1:{json.loads(self.process.stdout.readline())['port']}"

    def script(self, name, *args, positional=True, check_rc=True):
        argv = [sys.executable, str(SUPPORT / name)] + ([self.endpoint] if positional else ["--endpoint", self.endpoint])
        result = subprocess.run(argv + list(args), capture_output=True, text=True)
        if check_rc and result.returncode != 0:
            raise RuntimeError(f"{name} {args}: {result.stderr}")
        return result

    def fixture(self, *args, check_rc=True):
        return self.script("iam_fixture.py", *args, positional=False, check_rc=check_rc)

    def stop(self):
        self.process.kill()
        self.process.wait()


class Clients:
    def __init__(self, endpoint, key):
        config = Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"})
        self.make = lambda service: boto3.client(service, endpoint_url=endpoint, region_name=REGION, config=config,
                                                 aws_access_key_id=key["access_key_id"],
                                                 aws_secret_access_key=key["secret_access_key"])
        self.ec2, self.s3, self.rds, self.iam = (self.make(s) for s in ("ec2", "s3", "rds", "iam"))
        self.tag = self.make("resourcegroupstaggingapi")


TESTING = {"access_key_id": "testing", "secret_access_key": "testing"}


def outcome(call):
    """(allowed, detail): allowed unless the answer is a denial."""
    try:
        response = call()
    except ResponseParserError:
        return True, "authorized; moto's answer is not parseable (moto lacks this operation)"
    except ClientError as error:
        code = error.response["Error"]["Code"]
        status = error.response["ResponseMetadata"]["HTTPStatusCode"]
        return code not in DENIED, f"{code} HTTP {status}"
    errors = [e["Code"] for e in response.get("Errors", [])] if isinstance(response, dict) else []  # DeleteObjects: per key
    if errors:
        return not set(errors) & DENIED, f"per-key errors {sorted(set(errors))} HTTP {response['ResponseMetadata']['HTTPStatusCode']}"
    return True, "ok"


# --- every operation DriftGuard sends --------------------------------------------------
#
# (job, "service:SdkOperation", IAM actions AWS requires, of which moto 5.2.5 checks (with
# moto_server.py's S3 fix), run(clients, ids): one call on the seeded resources,
# probe(clients): the same call on a missing target (harmless) or None when run is a read).

def json_doc(statement_action, principal=None):
    statement = {"Effect": "Allow", "Action": statement_action}
    statement["Principal"] = principal or {"Service": "ec2.amazonaws.com"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def perm(port, cidr):
    return [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}]


OFF, ON = {"Value": False}, {"Value": True}
MISSING_SG, MISSING_I = "sg-0000000000000000f", "i-0000000000000000f"
MISSING_DB_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:dg-missing-db"
MISSING_VPC, MISSING_SUBNET, MISSING_RTB = "vpc-0000000000000000f", "subnet-0000000000000000f", "rtb-0000000000000000f"
MISSING_ACL, MISSING_ENI = "acl-0000000000000000f", "eni-0000000000000000f"
ACL_ENTRY = {"RuleNumber": 100, "Protocol": "6", "RuleAction": "allow", "Egress": False, "CidrBlock": "10.0.0.0/8",
             "PortRange": {"From": 443, "To": 443}}
PARAMETER = [{"ParameterName": "log_min_duration_statement", "ParameterValue": "500", "ApplyMethod": "immediate"}]
RESET = [{"ParameterName": "log_min_duration_statement", "ApplyMethod": "immediate"}]
READ_DOC = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
MISSING_POLICY, MISSING_KEY = f"arn:aws:iam::{ACCOUNT}:policy/dg-missing", "AKIA0000000000000000"
MISSING_OIDC = f"arn:aws:iam::{ACCOUNT}:oidc-provider/dg-missing.example.com"
BUCKET_POLICY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                                                   "Action": "s3:GetObject", "Resource": "arn:aws:s3:::dg-data-bucket/*"}]})
OWNERSHIP = {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
LOGGING = {"LoggingEnabled": {"TargetBucket": "dg-logs-bucket", "TargetPrefix": "dg-data/"}}
# Every setting, as DriftGuard writes them (the API resets what a request leaves out).
PASSWORD = {"MinimumPasswordLength": 14, "RequireSymbols": True, "RequireNumbers": True, "RequireUppercaseCharacters": True,
            "RequireLowercaseCharacters": True, "AllowUsersToChangePassword": True, "MaxPasswordAge": 90, "PasswordReusePrevention": 24}


def same_acl(s3, bucket):
    """The bucket's ACL as read, to write back (DriftGuard writes the grants read, one changed)."""
    acl = s3.get_bucket_acl(Bucket=bucket)
    return {"Owner": acl["Owner"], "Grants": acl["Grants"]}


def op(job, name, actions, run, probe=None, moto=None):
    return {"job": job, "op": name, "actions": actions, "moto": actions if moto is None else moto, "run": run, "probe": probe}


OPERATIONS = [
    # detect: Terraform state from the S3 backend, then live collection (aws/client.rs, aws/collect.rs).
    op("detect", "s3:GetObject", ["s3:GetObject"],
       lambda c, i: c.s3.get_object(Bucket="dg-state", Key="prod/terraform.tfstate")["Body"].read()),
    op("detect", "ec2:DescribeInstances", ["ec2:DescribeInstances"], lambda c, i: c.ec2.describe_instances(MaxResults=100)),
    op("detect", "ec2:DescribeInstanceAttribute", ["ec2:DescribeInstanceAttribute"],
       lambda c, i: c.ec2.describe_instance_attribute(InstanceId=i["instance"], Attribute="disableApiTermination")),
    op("detect", "ec2:DescribeSecurityGroups", ["ec2:DescribeSecurityGroups"], lambda c, i: c.ec2.describe_security_groups(MaxResults=100)),
    op("detect", "ec2:DescribeSecurityGroupRules", ["ec2:DescribeSecurityGroupRules"],
       lambda c, i: c.ec2.describe_security_group_rules(MaxResults=1000)),
    op("detect", "rds:DescribeDBInstances", ["rds:DescribeDBInstances"], lambda c, i: c.rds.describe_db_instances(MaxRecords=100)),
    op("detect", "s3:ListBuckets", ["s3:ListAllMyBuckets"], lambda c, i: c.s3.list_buckets(BucketRegion=REGION)),
    # moto names the action after the API's signing name (tagging:GetResources), AWS's IAM
    # after its service prefix (tag:GetResources): under the documents moto denies it, and
    # DriftGuard reads bucket tags one bucket at a time instead (client.rs, bucket_tags_in).
    op("detect", "tag:GetResources", ["tag:GetResources"],
       lambda c, i: c.tag.get_resources(ResourceTypeFilters=["s3:bucket"], ResourcesPerPage=100),
       moto=["tagging:GetResources"]),
    op("detect", "s3:GetBucketLocation", ["s3:GetBucketLocation"], lambda c, i: c.s3.get_bucket_location(Bucket="dg-data-bucket")),
    op("detect", "s3:GetBucketTagging", ["s3:GetBucketTagging"], lambda c, i: c.s3.get_bucket_tagging(Bucket="dg-data-bucket")),
    op("detect", "s3:GetBucketVersioning", ["s3:GetBucketVersioning"], lambda c, i: c.s3.get_bucket_versioning(Bucket="dg-data-bucket")),
    op("detect", "s3:GetBucketEncryption", ["s3:GetEncryptionConfiguration"],
       lambda c, i: c.s3.get_bucket_encryption(Bucket="dg-data-bucket")),
    op("detect", "s3:GetPublicAccessBlock", ["s3:GetBucketPublicAccessBlock"],
       lambda c, i: c.s3.get_public_access_block(Bucket="dg-data-bucket")),
    op("detect", "iam:ListRoles", ["iam:ListRoles"], lambda c, i: c.iam.list_roles(MaxItems=100)),
    op("detect", "iam:GetRole", ["iam:GetRole"], lambda c, i: c.iam.get_role(RoleName="dg-app")),
    op("detect", "iam:GetAccountAuthorizationDetails", ["iam:GetAccountAuthorizationDetails"],
       lambda c, i: c.iam.get_account_authorization_details(Filter=["Role"], MaxItems=1000)),
    op("detect", "iam:ListPolicies", ["iam:ListPolicies"], lambda c, i: c.iam.list_policies(Scope="Local")),
    op("detect", "iam:GetPolicyVersion", ["iam:GetPolicyVersion"],
       lambda c, i: c.iam.get_policy_version(PolicyArn=i["policy"], VersionId="v1")),
    # A bucket's configuration documents (aws/collect/s3.rs), read when a state declares them.
    # GetBucketLogging is remediation's read too (PutBucketLogging keeps the other field).
    op("detect", "s3:GetBucketPolicy", ["s3:GetBucketPolicy"], lambda c, i: c.s3.get_bucket_policy(Bucket="dg-data-bucket")),
    op("detect", "s3:GetBucketOwnershipControls", ["s3:GetBucketOwnershipControls"],
       lambda c, i: c.s3.get_bucket_ownership_controls(Bucket="dg-data-bucket")),
    op("detect", "s3:GetBucketLogging", ["s3:GetBucketLogging"], lambda c, i: c.s3.get_bucket_logging(Bucket="dg-data-bucket")),
    op("detect", "s3:GetBucketCors", ["s3:GetBucketCORS"], lambda c, i: c.s3.get_bucket_cors(Bucket="dg-data-bucket")),
    op("detect", "s3:GetBucketWebsite", ["s3:GetBucketWebsite"], lambda c, i: c.s3.get_bucket_website(Bucket="dg-data-bucket")),
    # IAM principals, providers and settings (aws/collect/iam.rs); a principal's attachments,
    # inline policies and groups only when a state declares it. The janitor lists a role's
    # policies with the same two calls before it deletes the role.
    op("detect", "iam:ListAttachedRolePolicies", ["iam:ListAttachedRolePolicies"],
       lambda c, i: c.iam.list_attached_role_policies(RoleName="dg-app")),
    op("detect", "iam:ListRolePolicies", ["iam:ListRolePolicies"], lambda c, i: c.iam.list_role_policies(RoleName="dg-app")),
    op("detect", "iam:GetRolePolicy", ["iam:GetRolePolicy"],
       lambda c, i: c.iam.get_role_policy(RoleName="dg-app", PolicyName="dg-app-inline")),
    op("detect", "iam:ListUsers", ["iam:ListUsers"], lambda c, i: c.iam.list_users()),
    op("detect", "iam:GetUser", ["iam:GetUser"], lambda c, i: c.iam.get_user(UserName="dg-alice")),
    op("detect", "iam:ListAttachedUserPolicies", ["iam:ListAttachedUserPolicies"],
       lambda c, i: c.iam.list_attached_user_policies(UserName="dg-alice")),
    op("detect", "iam:ListUserPolicies", ["iam:ListUserPolicies"], lambda c, i: c.iam.list_user_policies(UserName="dg-alice")),
    op("detect", "iam:GetUserPolicy", ["iam:GetUserPolicy"],
       lambda c, i: c.iam.get_user_policy(UserName="dg-alice", PolicyName="dg-alice-inline")),
    op("detect", "iam:ListGroupsForUser", ["iam:ListGroupsForUser"], lambda c, i: c.iam.list_groups_for_user(UserName="dg-alice")),
    op("detect", "iam:ListAccessKeys", ["iam:ListAccessKeys"], lambda c, i: c.iam.list_access_keys(UserName="dg-alice")),
    op("detect", "iam:ListGroups", ["iam:ListGroups"], lambda c, i: c.iam.list_groups()),
    op("detect", "iam:ListAttachedGroupPolicies", ["iam:ListAttachedGroupPolicies"],
       lambda c, i: c.iam.list_attached_group_policies(GroupName="dg-devs")),
    op("detect", "iam:ListGroupPolicies", ["iam:ListGroupPolicies"], lambda c, i: c.iam.list_group_policies(GroupName="dg-devs")),
    op("detect", "iam:GetGroupPolicy", ["iam:GetGroupPolicy"],
       lambda c, i: c.iam.get_group_policy(GroupName="dg-devs", PolicyName="dg-devs-inline")),
    op("detect", "iam:ListInstanceProfiles", ["iam:ListInstanceProfiles"], lambda c, i: c.iam.list_instance_profiles()),
    op("detect", "iam:ListOpenIDConnectProviders", ["iam:ListOpenIDConnectProviders"],
       lambda c, i: c.iam.list_open_id_connect_providers()),
    op("detect", "iam:GetOpenIDConnectProvider", ["iam:GetOpenIDConnectProvider"],
       lambda c, i: c.iam.get_open_id_connect_provider(OpenIDConnectProviderArn=i["oidc"])),
    op("detect", "iam:ListSAMLProviders", ["iam:ListSAMLProviders"], lambda c, i: c.iam.list_saml_providers()),
    op("detect", "iam:GetSAMLProvider", ["iam:GetSAMLProvider"], lambda c, i: c.iam.get_saml_provider(SAMLProviderArn=i["saml"])),
    # Remediation reads it too: UpdateAccountPasswordPolicy must restate every setting.
    op("detect", "iam:GetAccountPasswordPolicy", ["iam:GetAccountPasswordPolicy"], lambda c, i: c.iam.get_account_password_policy()),
    # Networks, volumes, templates (aws/collect/network.rs). Remediation finds a key pair's id
    # with DescribeKeyPairs before tagging it.
    op("detect", "ec2:DescribeVpcs", ["ec2:DescribeVpcs"], lambda c, i: c.ec2.describe_vpcs()),
    op("detect", "ec2:DescribeVpcAttribute", ["ec2:DescribeVpcAttribute"],
       lambda c, i: c.ec2.describe_vpc_attribute(VpcId=i["vpc"], Attribute="enableDnsHostnames")),
    op("detect", "ec2:DescribeSubnets", ["ec2:DescribeSubnets"], lambda c, i: c.ec2.describe_subnets()),
    op("detect", "ec2:DescribeInternetGateways", ["ec2:DescribeInternetGateways"], lambda c, i: c.ec2.describe_internet_gateways()),
    op("detect", "ec2:DescribeRouteTables", ["ec2:DescribeRouteTables"], lambda c, i: c.ec2.describe_route_tables()),
    op("detect", "ec2:DescribeNetworkAcls", ["ec2:DescribeNetworkAcls"], lambda c, i: c.ec2.describe_network_acls()),
    op("detect", "ec2:DescribeAddresses", ["ec2:DescribeAddresses"], lambda c, i: c.ec2.describe_addresses()),
    op("detect", "ec2:DescribeKeyPairs", ["ec2:DescribeKeyPairs"], lambda c, i: c.ec2.describe_key_pairs()),
    op("detect", "ec2:DescribeVolumes", ["ec2:DescribeVolumes"], lambda c, i: c.ec2.describe_volumes()),
    op("detect", "ec2:GetEbsEncryptionByDefault", ["ec2:GetEbsEncryptionByDefault"], lambda c, i: c.ec2.get_ebs_encryption_by_default()),
    op("detect", "ec2:DescribeNetworkInterfaces", ["ec2:DescribeNetworkInterfaces"], lambda c, i: c.ec2.describe_network_interfaces()),
    op("detect", "ec2:DescribeLaunchTemplates", ["ec2:DescribeLaunchTemplates"], lambda c, i: c.ec2.describe_launch_templates()),
    op("detect", "ec2:DescribeLaunchTemplateVersions", ["ec2:DescribeLaunchTemplateVersions"],
       lambda c, i: c.ec2.describe_launch_template_versions(LaunchTemplateId=i["launch_template"], Versions=["$Default"])),
    op("detect", "ec2:DescribeFlowLogs", ["ec2:DescribeFlowLogs"], lambda c, i: c.ec2.describe_flow_logs()),
    op("detect", "ec2:DescribeVpcEndpoints", ["ec2:DescribeVpcEndpoints"], lambda c, i: c.ec2.describe_vpc_endpoints()),
    # Clusters, groups, snapshots (aws/collect/rds.rs).
    op("detect", "rds:DescribeDBClusters", ["rds:DescribeDBClusters"], lambda c, i: c.rds.describe_db_clusters()),
    op("detect", "rds:DescribeDBSubnetGroups", ["rds:DescribeDBSubnetGroups"], lambda c, i: c.rds.describe_db_subnet_groups()),
    op("detect", "rds:DescribeDBParameterGroups", ["rds:DescribeDBParameterGroups"], lambda c, i: c.rds.describe_db_parameter_groups()),
    op("detect", "rds:DescribeDBParameters", ["rds:DescribeDBParameters"],
       lambda c, i: c.rds.describe_db_parameters(DBParameterGroupName="dg-pg", Source="user")),
    op("detect", "rds:DescribeDBClusterParameterGroups", ["rds:DescribeDBClusterParameterGroups"],
       lambda c, i: c.rds.describe_db_cluster_parameter_groups()),
    op("detect", "rds:DescribeDBClusterParameters", ["rds:DescribeDBClusterParameters"],
       lambda c, i: c.rds.describe_db_cluster_parameters(DBClusterParameterGroupName="dg-cpg", Source="user")),
    op("detect", "rds:DescribeDBSnapshots", ["rds:DescribeDBSnapshots"], lambda c, i: c.rds.describe_db_snapshots(SnapshotType="manual")),
    op("detect", "rds:DescribeDBSnapshotAttributes", ["rds:DescribeDBSnapshotAttributes"],
       lambda c, i: c.rds.describe_db_snapshot_attributes(DBSnapshotIdentifier="dg-snap")),
    # A bucket's ACL (aws/collect/s3.rs); remediation reads it too, to write back all but one grant.
    op("detect", "s3:GetBucketAcl", ["s3:GetBucketAcl"], lambda c, i: c.s3.get_bucket_acl(Bucket="dg-data-bucket")),
    # remediate (aws/execute.rs): reads above, plus these writes.
    op("remediate", "ec2:RevokeSecurityGroupIngress", ["ec2:RevokeSecurityGroupIngress"],
       lambda c, i: c.ec2.revoke_security_group_ingress(GroupId=i["group"], IpPermissions=perm(443, "10.0.0.0/8")),
       lambda c: c.ec2.revoke_security_group_ingress(GroupId=MISSING_SG, IpPermissions=perm(443, "10.0.0.0/8"))),
    op("remediate", "ec2:AuthorizeSecurityGroupIngress", ["ec2:AuthorizeSecurityGroupIngress"],
       lambda c, i: c.ec2.authorize_security_group_ingress(GroupId=i["group"], IpPermissions=perm(443, "10.0.0.0/8")),
       lambda c: c.ec2.authorize_security_group_ingress(GroupId=MISSING_SG, IpPermissions=perm(443, "10.0.0.0/8"))),
    op("remediate", "ec2:AuthorizeSecurityGroupEgress", ["ec2:AuthorizeSecurityGroupEgress"],
       lambda c, i: c.ec2.authorize_security_group_egress(GroupId=i["group"], IpPermissions=perm(8443, "10.9.0.0/16")),
       lambda c: c.ec2.authorize_security_group_egress(GroupId=MISSING_SG, IpPermissions=perm(8443, "10.9.0.0/16"))),
    op("remediate", "ec2:RevokeSecurityGroupEgress", ["ec2:RevokeSecurityGroupEgress"],
       lambda c, i: c.ec2.revoke_security_group_egress(GroupId=i["group"], IpPermissions=perm(8443, "10.9.0.0/16")),
       lambda c: c.ec2.revoke_security_group_egress(GroupId=MISSING_SG, IpPermissions=perm(8443, "10.9.0.0/16"))),
    op("remediate", "ec2:CreateTags", ["ec2:CreateTags"],
       lambda c, i: c.ec2.create_tags(Resources=[i["instance"]], Tags=[{"Key": "Team", "Value": "web"}]),
       lambda c: c.ec2.create_tags(Resources=[MISSING_I], Tags=[{"Key": "Team", "Value": "web"}])),
    op("remediate", "ec2:DeleteTags", ["ec2:DeleteTags"],
       lambda c, i: c.ec2.delete_tags(Resources=[i["instance"]], Tags=[{"Key": "Team"}]),
       lambda c: c.ec2.delete_tags(Resources=[MISSING_I], Tags=[{"Key": "Team"}])),
    op("remediate", "ec2:ModifyInstanceAttribute", ["ec2:ModifyInstanceAttribute"],
       lambda c, i: c.ec2.modify_instance_attribute(InstanceId=i["instance"], DisableApiTermination=OFF),
       lambda c: c.ec2.modify_instance_attribute(InstanceId=MISSING_I, DisableApiTermination=OFF)),
    op("remediate", "ec2:ModifyInstanceMetadataOptions", ["ec2:ModifyInstanceMetadataOptions"],
       lambda c, i: c.ec2.modify_instance_metadata_options(InstanceId=i["instance"], HttpTokens="required"),
       lambda c: c.ec2.modify_instance_metadata_options(InstanceId=MISSING_I, HttpTokens="required")),
    op("remediate", "ec2:MonitorInstances", ["ec2:MonitorInstances"],
       lambda c, i: c.ec2.monitor_instances(InstanceIds=[i["instance"]]),
       lambda c: c.ec2.monitor_instances(InstanceIds=[MISSING_I])),
    op("remediate", "ec2:UnmonitorInstances", ["ec2:UnmonitorInstances"],
       lambda c, i: c.ec2.unmonitor_instances(InstanceIds=[i["instance"]]),
       lambda c: c.ec2.unmonitor_instances(InstanceIds=[MISSING_I])),
    op("remediate", "s3:PutBucketVersioning", ["s3:PutBucketVersioning"],
       lambda c, i: c.s3.put_bucket_versioning(Bucket="dg-data-bucket", VersioningConfiguration={"Status": "Enabled"}),
       lambda c: c.s3.put_bucket_versioning(Bucket="dg-missing-bucket", VersioningConfiguration={"Status": "Enabled"})),
    op("remediate", "s3:PutPublicAccessBlock", ["s3:PutBucketPublicAccessBlock"],
       lambda c, i: c.s3.put_public_access_block(Bucket="dg-data-bucket", PublicAccessBlockConfiguration={
           "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}),
       lambda c: c.s3.put_public_access_block(Bucket="dg-missing-bucket", PublicAccessBlockConfiguration={"BlockPublicAcls": True})),
    op("remediate", "s3:PutBucketEncryption", ["s3:PutEncryptionConfiguration"],
       lambda c, i: c.s3.put_bucket_encryption(Bucket="dg-data-bucket", ServerSideEncryptionConfiguration={
           "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}),
       lambda c: c.s3.put_bucket_encryption(Bucket="dg-missing-bucket", ServerSideEncryptionConfiguration={
           "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})),
    op("remediate", "s3:PutBucketTagging", ["s3:PutBucketTagging"],
       lambda c, i: c.s3.put_bucket_tagging(Bucket="dg-data-bucket", Tagging={"TagSet": [{"Key": "Team", "Value": "data"}]}),
       lambda c: c.s3.put_bucket_tagging(Bucket="dg-missing-bucket", Tagging={"TagSet": [{"Key": "Team", "Value": "data"}]})),
    op("remediate", "s3:DeleteBucketTagging", ["s3:PutBucketTagging"],
       lambda c, i: c.s3.delete_bucket_tagging(Bucket="dg-new-bucket"),
       lambda c: c.s3.delete_bucket_tagging(Bucket="dg-missing-bucket")),
    op("remediate", "rds:ModifyDBInstance", ["rds:ModifyDBInstance"],
       lambda c, i: c.rds.modify_db_instance(DBInstanceIdentifier="dg-db", BackupRetentionPeriod=7, ApplyImmediately=True),
       lambda c: c.rds.modify_db_instance(DBInstanceIdentifier="dg-missing-db", BackupRetentionPeriod=7, ApplyImmediately=True)),
    op("remediate", "rds:AddTagsToResource", ["rds:AddTagsToResource"],
       lambda c, i: c.rds.add_tags_to_resource(ResourceName=f"arn:aws:rds:{REGION}:{ACCOUNT}:db:dg-db", Tags=[{"Key": "Owner", "Value": "dba"}]),
       lambda c: c.rds.add_tags_to_resource(ResourceName=MISSING_DB_ARN, Tags=[{"Key": "Owner", "Value": "dba"}])),
    op("remediate", "rds:RemoveTagsFromResource", ["rds:RemoveTagsFromResource"],
       lambda c, i: c.rds.remove_tags_from_resource(ResourceName=f"arn:aws:rds:{REGION}:{ACCOUNT}:db:dg-db", TagKeys=["Owner"]),
       lambda c: c.rds.remove_tags_from_resource(ResourceName=MISSING_DB_ARN, TagKeys=["Owner"])),
    op("remediate", "iam:UpdateAssumeRolePolicy", ["iam:UpdateAssumeRolePolicy"],
       lambda c, i: c.iam.update_assume_role_policy(RoleName="dg-app", PolicyDocument=json_doc("sts:AssumeRole")),
       lambda c: c.iam.update_assume_role_policy(RoleName="dg-missing-role", PolicyDocument=json_doc("sts:AssumeRole"))),
    op("remediate", "iam:UpdateRole", ["iam:UpdateRole"],
       lambda c, i: c.iam.update_role(RoleName="dg-app", MaxSessionDuration=3600),
       lambda c: c.iam.update_role(RoleName="dg-missing-role", MaxSessionDuration=3600)),
    op("remediate", "iam:TagRole", ["iam:TagRole"],
       lambda c, i: c.iam.tag_role(RoleName="dg-app", Tags=[{"Key": "Team", "Value": "platform"}]),
       lambda c: c.iam.tag_role(RoleName="dg-missing-role", Tags=[{"Key": "Team", "Value": "platform"}])),
    op("remediate", "iam:UntagRole", ["iam:UntagRole"],
       lambda c, i: c.iam.untag_role(RoleName="dg-app", TagKeys=["Owner"]),
       lambda c: c.iam.untag_role(RoleName="dg-missing-role", TagKeys=["Owner"])),
    op("remediate", "iam:CreatePolicyVersion", ["iam:CreatePolicyVersion"],
       lambda c, i: c.iam.create_policy_version(PolicyArn=i["policy"], PolicyDocument=READ_DOC, SetAsDefault=True),
       lambda c: c.iam.create_policy_version(PolicyArn=MISSING_POLICY, PolicyDocument=READ_DOC, SetAsDefault=True)),
    op("remediate", "s3:PutBucketPolicy", ["s3:PutBucketPolicy"],
       lambda c, i: c.s3.put_bucket_policy(Bucket="dg-data-bucket", Policy=BUCKET_POLICY),
       lambda c: c.s3.put_bucket_policy(Bucket="dg-missing-bucket", Policy=BUCKET_POLICY)),
    op("remediate", "s3:PutBucketOwnershipControls", ["s3:PutBucketOwnershipControls"],
       lambda c, i: c.s3.put_bucket_ownership_controls(Bucket="dg-data-bucket", OwnershipControls=OWNERSHIP),
       lambda c: c.s3.put_bucket_ownership_controls(Bucket="dg-missing-bucket", OwnershipControls=OWNERSHIP)),
    op("remediate", "s3:PutBucketLogging", ["s3:PutBucketLogging"],
       lambda c, i: c.s3.put_bucket_logging(Bucket="dg-data-bucket", BucketLoggingStatus=LOGGING),
       lambda c: c.s3.put_bucket_logging(Bucket="dg-missing-bucket", BucketLoggingStatus=LOGGING)),
    # aws/execute/iam.rs. DetachRolePolicy and DeleteRolePolicy are remediation's too: their
    # rows are the janitor's below (same actions, one row per operation).
    op("remediate", "iam:AttachRolePolicy", ["iam:AttachRolePolicy"],
       lambda c, i: c.iam.attach_role_policy(RoleName="dg-app", PolicyArn=i["policy"]),
       lambda c: c.iam.attach_role_policy(RoleName="dg-missing-role", PolicyArn=MISSING_POLICY)),
    op("remediate", "iam:AttachUserPolicy", ["iam:AttachUserPolicy"],
       lambda c, i: c.iam.attach_user_policy(UserName="dg-alice", PolicyArn=i["policy"]),
       lambda c: c.iam.attach_user_policy(UserName="dg-missing-user", PolicyArn=MISSING_POLICY)),
    op("remediate", "iam:AttachGroupPolicy", ["iam:AttachGroupPolicy"],
       lambda c, i: c.iam.attach_group_policy(GroupName="dg-devs", PolicyArn=i["policy"]),
       lambda c: c.iam.attach_group_policy(GroupName="dg-missing-group", PolicyArn=MISSING_POLICY)),
    op("remediate", "iam:DetachUserPolicy", ["iam:DetachUserPolicy"],
       lambda c, i: c.iam.detach_user_policy(UserName="dg-alice", PolicyArn=i["people_policy"]),
       lambda c: c.iam.detach_user_policy(UserName="dg-missing-user", PolicyArn=MISSING_POLICY)),
    op("remediate", "iam:DetachGroupPolicy", ["iam:DetachGroupPolicy"],
       lambda c, i: c.iam.detach_group_policy(GroupName="dg-devs", PolicyArn=i["people_policy"]),
       lambda c: c.iam.detach_group_policy(GroupName="dg-missing-group", PolicyArn=MISSING_POLICY)),
    op("remediate", "iam:PutRolePolicy", ["iam:PutRolePolicy"],
       lambda c, i: c.iam.put_role_policy(RoleName="dg-app", PolicyName="dg-app-inline", PolicyDocument=READ_DOC),
       lambda c: c.iam.put_role_policy(RoleName="dg-missing-role", PolicyName="inline", PolicyDocument=READ_DOC)),
    op("remediate", "iam:PutUserPolicy", ["iam:PutUserPolicy"],
       lambda c, i: c.iam.put_user_policy(UserName="dg-alice", PolicyName="dg-alice-inline", PolicyDocument=READ_DOC),
       lambda c: c.iam.put_user_policy(UserName="dg-missing-user", PolicyName="inline", PolicyDocument=READ_DOC)),
    op("remediate", "iam:PutGroupPolicy", ["iam:PutGroupPolicy"],
       lambda c, i: c.iam.put_group_policy(GroupName="dg-devs", PolicyName="dg-devs-inline", PolicyDocument=READ_DOC),
       lambda c: c.iam.put_group_policy(GroupName="dg-missing-group", PolicyName="inline", PolicyDocument=READ_DOC)),
    op("remediate", "iam:DeleteUserPolicy", ["iam:DeleteUserPolicy"],
       lambda c, i: c.iam.delete_user_policy(UserName="dg-alice", PolicyName="dg-alice-inline"),
       lambda c: c.iam.delete_user_policy(UserName="dg-missing-user", PolicyName="inline")),
    op("remediate", "iam:DeleteGroupPolicy", ["iam:DeleteGroupPolicy"],
       lambda c, i: c.iam.delete_group_policy(GroupName="dg-devs", PolicyName="dg-devs-inline"),
       lambda c: c.iam.delete_group_policy(GroupName="dg-missing-group", PolicyName="inline")),
    op("remediate", "iam:AddUserToGroup", ["iam:AddUserToGroup"],
       lambda c, i: c.iam.add_user_to_group(UserName="dg-alice", GroupName="dg-ops"),
       lambda c: c.iam.add_user_to_group(UserName="dg-missing-user", GroupName="dg-missing-group")),
    op("remediate", "iam:RemoveUserFromGroup", ["iam:RemoveUserFromGroup"],
       lambda c, i: c.iam.remove_user_from_group(UserName="dg-alice", GroupName="dg-devs"),
       lambda c: c.iam.remove_user_from_group(UserName="dg-missing-user", GroupName="dg-missing-group")),
    op("remediate", "iam:TagUser", ["iam:TagUser"],
       lambda c, i: c.iam.tag_user(UserName="dg-alice", Tags=[{"Key": "Team", "Value": "data"}]),
       lambda c: c.iam.tag_user(UserName="dg-missing-user", Tags=[{"Key": "Team", "Value": "data"}])),
    op("remediate", "iam:UntagUser", ["iam:UntagUser"],
       lambda c, i: c.iam.untag_user(UserName="dg-alice", TagKeys=["Owner"]),
       lambda c: c.iam.untag_user(UserName="dg-missing-user", TagKeys=["Owner"])),
    # A key's status is changed as its own user, found from the key: a read only remediation makes.
    op("remediate", "iam:GetAccessKeyLastUsed", ["iam:GetAccessKeyLastUsed"],
       lambda c, i: c.iam.get_access_key_last_used(AccessKeyId=i["alice_key"])),
    op("remediate", "iam:UpdateAccessKey", ["iam:UpdateAccessKey"],
       lambda c, i: c.iam.update_access_key(UserName="dg-alice", AccessKeyId=i["alice_key"], Status="Inactive"),
       lambda c: c.iam.update_access_key(UserName="dg-missing-user", AccessKeyId=MISSING_KEY, Status="Inactive")),
    # The account's one password policy has no missing target: the probe writes what the run wrote.
    op("remediate", "iam:UpdateAccountPasswordPolicy", ["iam:UpdateAccountPasswordPolicy"],
       lambda c, i: c.iam.update_account_password_policy(**PASSWORD),
       lambda c: c.iam.update_account_password_policy(**PASSWORD)),
    op("remediate", "iam:AddClientIDToOpenIDConnectProvider", ["iam:AddClientIDToOpenIDConnectProvider"],
       lambda c, i: c.iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=i["oidc"], ClientID="dg-client"),
       lambda c: c.iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=MISSING_OIDC, ClientID="dg-client")),
    op("remediate", "iam:RemoveClientIDFromOpenIDConnectProvider", ["iam:RemoveClientIDFromOpenIDConnectProvider"],
       lambda c, i: c.iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=i["oidc"], ClientID="sts.amazonaws.com"),
       lambda c: c.iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=MISSING_OIDC, ClientID="dg-client")),
    # Networks, EBS, clusters, parameters, snapshots, ACLs (aws/execute.rs).
    op("remediate", "ec2:ModifyVpcAttribute", ["ec2:ModifyVpcAttribute"],
       lambda c, i: c.ec2.modify_vpc_attribute(VpcId=i["vpc"], EnableDnsHostnames=ON),
       lambda c: c.ec2.modify_vpc_attribute(VpcId=MISSING_VPC, EnableDnsHostnames=ON)),
    op("remediate", "ec2:ModifySubnetAttribute", ["ec2:ModifySubnetAttribute"],
       lambda c, i: c.ec2.modify_subnet_attribute(SubnetId=i["subnet"], MapPublicIpOnLaunch=OFF),
       lambda c: c.ec2.modify_subnet_attribute(SubnetId=MISSING_SUBNET, MapPublicIpOnLaunch=OFF)),
    op("remediate", "ec2:DeleteRoute", ["ec2:DeleteRoute"],
       lambda c, i: c.ec2.delete_route(RouteTableId=i["route_table"], DestinationCidrBlock="0.0.0.0/0"),
       lambda c: c.ec2.delete_route(RouteTableId=MISSING_RTB, DestinationCidrBlock="0.0.0.0/0")),
    op("remediate", "ec2:DeleteNetworkAclEntry", ["ec2:DeleteNetworkAclEntry"],
       lambda c, i: c.ec2.delete_network_acl_entry(NetworkAclId=i["network_acl"], RuleNumber=100, Egress=False),
       lambda c: c.ec2.delete_network_acl_entry(NetworkAclId=MISSING_ACL, RuleNumber=100, Egress=False)),
    op("remediate", "ec2:CreateNetworkAclEntry", ["ec2:CreateNetworkAclEntry"],
       lambda c, i: c.ec2.create_network_acl_entry(NetworkAclId=i["network_acl"], **ACL_ENTRY),
       lambda c: c.ec2.create_network_acl_entry(NetworkAclId=MISSING_ACL, **ACL_ENTRY)),
    # The account's one setting has no missing target: the probe writes what the run wrote.
    op("remediate", "ec2:EnableEbsEncryptionByDefault", ["ec2:EnableEbsEncryptionByDefault"],
       lambda c, i: c.ec2.enable_ebs_encryption_by_default(), lambda c: c.ec2.enable_ebs_encryption_by_default()),
    op("remediate", "ec2:DisableEbsEncryptionByDefault", ["ec2:DisableEbsEncryptionByDefault"],
       lambda c, i: c.ec2.disable_ebs_encryption_by_default(), lambda c: c.ec2.disable_ebs_encryption_by_default()),
    op("remediate", "ec2:ModifyNetworkInterfaceAttribute", ["ec2:ModifyNetworkInterfaceAttribute"],
       lambda c, i: c.ec2.modify_network_interface_attribute(NetworkInterfaceId=i["interface"], SourceDestCheck=ON),
       lambda c: c.ec2.modify_network_interface_attribute(NetworkInterfaceId=MISSING_ENI, SourceDestCheck=ON)),
    op("remediate", "rds:ModifyDBCluster", ["rds:ModifyDBCluster"],
       lambda c, i: c.rds.modify_db_cluster(DBClusterIdentifier="dg-cluster", BackupRetentionPeriod=7, ApplyImmediately=True),
       lambda c: c.rds.modify_db_cluster(DBClusterIdentifier="dg-missing-cluster", BackupRetentionPeriod=7, ApplyImmediately=True)),
    op("remediate", "rds:ModifyDBParameterGroup", ["rds:ModifyDBParameterGroup"],
       lambda c, i: c.rds.modify_db_parameter_group(DBParameterGroupName="dg-pg", Parameters=PARAMETER),
       lambda c: c.rds.modify_db_parameter_group(DBParameterGroupName="dg-missing-pg", Parameters=PARAMETER)),
    op("remediate", "rds:ResetDBParameterGroup", ["rds:ResetDBParameterGroup"],
       lambda c, i: c.rds.reset_db_parameter_group(DBParameterGroupName="dg-pg", Parameters=RESET),
       lambda c: c.rds.reset_db_parameter_group(DBParameterGroupName="dg-missing-pg", Parameters=RESET)),
    op("remediate", "rds:ModifyDBClusterParameterGroup", ["rds:ModifyDBClusterParameterGroup"],
       lambda c, i: c.rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName="dg-cpg", Parameters=PARAMETER),
       lambda c: c.rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName="dg-missing-cpg", Parameters=PARAMETER)),
    op("remediate", "rds:ResetDBClusterParameterGroup", ["rds:ResetDBClusterParameterGroup"],
       lambda c, i: c.rds.reset_db_cluster_parameter_group(DBClusterParameterGroupName="dg-cpg", Parameters=RESET),
       lambda c: c.rds.reset_db_cluster_parameter_group(DBClusterParameterGroupName="dg-missing-cpg", Parameters=RESET)),
    op("remediate", "rds:ModifyDBSnapshotAttribute", ["rds:ModifyDBSnapshotAttribute"],
       lambda c, i: c.rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="dg-snap", AttributeName="restore", ValuesToRemove=["210987654321"]),
       lambda c: c.rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="dg-missing-snapshot", AttributeName="restore",
                                                    ValuesToRemove=["210987654321"])),
    op("remediate", "s3:PutBucketAcl", ["s3:PutBucketAcl"],
       lambda c, i: c.s3.put_bucket_acl(Bucket="dg-data-bucket", AccessControlPolicy=same_acl(c.s3, "dg-data-bucket")),
       lambda c: c.s3.put_bucket_acl(Bucket="dg-missing-bucket", AccessControlPolicy={"Owner": {"ID": "dg-missing"}, "Grants": []})),
    # janitor (aws/janitor.rs): inventory reads above; marks are the tag calls above; then:
    op("janitor", "s3:ListObjectVersions", ["s3:ListBucketVersions"],
       lambda c, i: c.s3.list_object_versions(Bucket="dg-old-bucket", MaxKeys=1000),
       lambda c: c.s3.list_object_versions(Bucket="dg-missing-bucket", MaxKeys=1000)),
    # AWS checks s3:DeleteObjectVersion for each key given with a VersionId (DriftGuard
    # always gives one); moto checks s3:DeleteObject on the bucket only.
    op("janitor", "s3:DeleteObjects", ["s3:DeleteObject", "s3:DeleteObjectVersion"],
       lambda c, i: c.s3.delete_objects(Bucket="dg-old-bucket", Delete={"Quiet": True, "Objects": i["old_versions"]}),
       lambda c: c.s3.delete_objects(Bucket="dg-new-bucket", Delete={"Quiet": True, "Objects": [{"Key": "dg-missing-key"}]}),
       moto=["s3:DeleteObject"]),
    op("janitor", "s3:DeleteBucket", ["s3:DeleteBucket"],
       lambda c, i: c.s3.delete_bucket(Bucket="dg-old-bucket"),
       lambda c: c.s3.delete_bucket(Bucket="dg-missing-bucket")),
    op("janitor", "s3:HeadBucket", ["s3:ListBucket"],
       lambda c, i: c.s3.head_bucket(Bucket="dg-data-bucket"),
       lambda c: c.s3.head_bucket(Bucket="dg-missing-bucket")),
    op("janitor", "ec2:TerminateInstances", ["ec2:TerminateInstances"],
       lambda c, i: c.ec2.terminate_instances(InstanceIds=[i["vm"]]),
       lambda c: c.ec2.terminate_instances(InstanceIds=[MISSING_I])),
    # With a final snapshot (the policy's default, rds_skip_final_snapshot: false) AWS also
    # checks rds:CreateDBSnapshot (since 2024) and, with CopyTagsToSnapshot,
    # rds:AddTagsToResource on the snapshot; moto checks rds:DeleteDBInstance only.
    op("janitor", "rds:DeleteDBInstance", ["rds:DeleteDBInstance", "rds:CreateDBSnapshot"],
       lambda c, i: c.rds.delete_db_instance(DBInstanceIdentifier="dg-old-db", SkipFinalSnapshot=False,
                                             FinalDBSnapshotIdentifier="dg-old-db-driftguard-final-20260101000000"),
       lambda c: c.rds.delete_db_instance(DBInstanceIdentifier="dg-missing-db", SkipFinalSnapshot=True),
       moto=["rds:DeleteDBInstance"]),
    # The role's policies, listed with ListAttachedRolePolicies / ListRolePolicies (detect
    # reads above), off before the role goes. Remediation detaches and deletes with these too.
    op("janitor", "iam:DetachRolePolicy", ["iam:DetachRolePolicy"],
       lambda c, i: c.iam.detach_role_policy(RoleName="dg-old-role", PolicyArn=i["old_policy"]),
       lambda c: c.iam.detach_role_policy(RoleName="dg-missing-role", PolicyArn=MISSING_POLICY)),
    op("janitor", "iam:DeleteRolePolicy", ["iam:DeleteRolePolicy"],
       lambda c, i: c.iam.delete_role_policy(RoleName="dg-old-role", PolicyName="inline"),
       lambda c: c.iam.delete_role_policy(RoleName="dg-missing-role", PolicyName="inline")),
    op("janitor", "iam:ListInstanceProfilesForRole", ["iam:ListInstanceProfilesForRole"],
       lambda c, i: c.iam.list_instance_profiles_for_role(RoleName="dg-old-role"),
       lambda c: c.iam.list_instance_profiles_for_role(RoleName="dg-missing-role")),
    op("janitor", "iam:RemoveRoleFromInstanceProfile", ["iam:RemoveRoleFromInstanceProfile"],
       lambda c, i: c.iam.remove_role_from_instance_profile(InstanceProfileName="dg-old-profile", RoleName="dg-old-role"),
       lambda c: c.iam.remove_role_from_instance_profile(InstanceProfileName="dg-missing-profile", RoleName="dg-missing-role")),
    op("janitor", "iam:DeleteRole", ["iam:DeleteRole"],
       lambda c, i: c.iam.delete_role(RoleName="dg-old-role"),
       lambda c: c.iam.delete_role(RoleName="dg-missing-role")),
]
# Calls the janitor makes that are already above, run again in its order on its targets.
JANITOR_PREP = [
    ("ec2:DescribeInstanceAttribute", lambda c, i: c.ec2.describe_instance_attribute(InstanceId=i["vm"], Attribute="disableApiTermination")),
    ("ec2:ModifyInstanceAttribute", lambda c, i: c.ec2.modify_instance_attribute(InstanceId=i["vm"], DisableApiTermination=OFF)),
    ("rds:DescribeDBInstances", lambda c, i: c.rds.describe_db_instances(DBInstanceIdentifier="dg-old-db")),
    ("rds:ModifyDBInstance", lambda c, i: c.rds.modify_db_instance(DBInstanceIdentifier="dg-old-db", DeletionProtection=False, ApplyImmediately=True)),
]


def code_operations():
    """Every "service:Operation" DriftGuard's AWS adapter sends."""
    found = set()
    for path in SOURCES:
        found |= set(re.findall(r'send!\(\s*\w+\s*,\s*"([a-z0-9]+:[A-Za-z0-9]+)"', path.read_text()))
    return found


def doc_actions(name):
    document = json.loads((DOCS / name).read_text())
    actions = []
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow" and statement["Resource"] == "*", statement
        actions += statement["Action"]
    return document, actions


# --- the checks ------------------------------------------------------------------------

def check_inventory():
    print("1. operations in the code vs OPERATIONS vs docs/iam")
    in_code, in_table = code_operations(), {o["op"] for o in OPERATIONS}
    check(in_code == in_table, f"code sends {sorted(in_code - in_table)} not in OPERATIONS; OPERATIONS has {sorted(in_table - in_code)} the code does not send")
    _, detect = doc_actions("detect-only.json")
    _, full = doc_actions("full.json")
    check(len(detect) == len(set(detect)) and len(full) == len(set(full)), "an action is listed twice")
    need_detect = {a for o in OPERATIONS if o["job"] == "detect" for a in o["actions"]}
    need_full = {a for o in OPERATIONS for a in o["actions"]}
    check(set(detect) == need_detect, f"detect-only.json: extra {sorted(set(detect) - need_detect)}, missing {sorted(need_detect - set(detect))}")
    check(set(full) == need_full, f"full.json: extra {sorted(set(full) - need_full)}, missing {sorted(need_full - set(full))}")
    print(f"  {len(in_code)} operations in the code; detect-only.json {len(detect)} actions, full.json {len(full)} actions")


def check_recipes():
    print("2. enabling enforcement")
    report = {}
    server = Server(no_auth=2)
    try:
        result = server.fixture(check_rc=False)
        check(result.returncode != 0, "INITIAL_NO_AUTH_ACTION_COUNT=2 should not be enough")
        report["INITIAL_NO_AUTH_ACTION_COUNT=2"] = f"fixture exit {result.returncode}: {result.stderr.strip()[:160]}"
    finally:
        server.stop()
    server = Server()
    try:
        keys = json.loads(server.fixture("--enforce").stdout)
        allowed, detail = outcome(lambda: Clients(server.endpoint, TESTING).ec2.describe_instances())
        check(not allowed or detail.startswith("AuthFailure"), "after --enforce the testing key still works")
        allowed, detail = outcome(lambda: Clients(server.endpoint, keys["detect"]).ec2.describe_instances())
        check(allowed, f"after --enforce the detect key is refused: {detail}")
        report["no env, fixture --enforce"] = "testing key refused, detect key accepted"
    finally:
        server.stop()
    for line in report.items():
        print("  %s: %s" % line)


def seed(server, admin):
    """Enforcement is on: off for the usual fixtures (testing key), on again."""
    ids = json.loads(server.script("aws_fixture.py", "seed", "/dev/null").stdout)
    ids.update(json.loads(server.script("janitor_fixture.py", "seed", "/dev/null").stdout))
    ids.update(json.loads(server.fixture("--seed").stdout))
    state = SUPPORT / "iam_selftest.tfstate.tmp"
    state.write_text(json.dumps({"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "iam", "outputs": {}, "resources": []}))
    try:
        server.script("aws_fixture.py", "upload", "dg-state", "prod/terraform.tfstate", str(state))
    finally:
        state.unlink()
    c = Clients(server.endpoint, admin)
    listing = c.s3.list_object_versions(Bucket="dg-old-bucket")
    ids["old_versions"] = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in listing.get("Versions", []) + listing.get("DeleteMarkers", [])]
    ids["old_policy"] = c.iam.list_attached_role_policies(RoleName="dg-old-role")["AttachedPolicies"][0]["PolicyArn"]
    return ids


def misnamed(o):
    """Whether moto checks this operation under an action name AWS does not use."""
    return any(action.split(":")[0] != o["op"].split(":")[0] for action in o["moto"])


def check_users(server, keys, ids):
    print("3. the detect user and the full user on the seeded account")
    codes = defaultdict(lambda: defaultdict(list))
    detect, full = Clients(server.endpoint, keys["detect"]), Clients(server.endpoint, keys["full"])
    refused = Clients(server.endpoint, TESTING)
    unknown = {}
    for service, call in [("ec2", lambda: refused.ec2.describe_instances()), ("s3", lambda: refused.s3.list_buckets()),
                          ("rds", lambda: refused.rds.describe_db_instances()), ("iam", lambda: refused.iam.list_roles())]:
        allowed, detail = outcome(call)
        check(not allowed or "InvalidClientTokenId" in detail or "AuthFailure" in detail or "InvalidAccessKeyId" in detail,
              f"{service}: the testing key is accepted under enforcement")
        unknown[service] = detail
    for o in OPERATIONS:
        allowed, detail = outcome(lambda: o["run"](detect, ids))
        if misnamed(o):
            check(not allowed, f"moto allowed {o['op']}, which it checks as {o['moto']} ({detail})")
            print(f"    {o['op']}: moto checks it as {', '.join(o['moto'])}: denied under the documents ({detail})")
        elif o["job"] == "detect":
            check(allowed, f"detect user denied {o['op']}: {detail}")
        else:
            check(not allowed, f"detect user allowed {o['op']} ({detail})")
            codes[o["op"].split(":")[0]][detail].append(o["op"].split(":")[1])
    print(f"  detect user: {sum(o['job'] == 'detect' and not misnamed(o) for o in OPERATIONS)} detect operations allowed, "
          f"{sum(o['job'] != 'detect' for o in OPERATIONS)} others denied")
    for service in sorted(codes):
        for detail, names in sorted(codes[service].items()):
            shown = ", ".join(names) if len(codes[service]) > 1 else f"all {len(names)}"
            print(f"    {service} denial: {detail} ({shown})")
    for service, detail in unknown.items():
        print(f"    unknown key (testing) on {service}: {detail}")
    notes = {}
    by_name = {o["op"]: o for o in OPERATIONS}
    for o in OPERATIONS:
        if o["job"] == "janitor" and o["op"] == "s3:ListObjectVersions":
            for name, call in JANITOR_PREP:  # protection off before the deletions, as the janitor does
                allowed, detail = outcome(lambda: call(full, ids))
                check(allowed and name in by_name, f"full user denied {name} (janitor): {detail}")
        allowed, detail = outcome(lambda: o["run"](full, ids))
        check(allowed != misnamed(o), f"full user {'allowed' if allowed else 'denied'} {o['op']}: {detail}")
        if detail != "ok":
            notes[o["op"]] = detail
    admin = Clients(server.endpoint, keys["admin"])
    gone = {
        "bucket dg-old-bucket": "dg-old-bucket" not in [b["Name"] for b in admin.s3.list_buckets()["Buckets"]],
        "role dg-old-role": "dg-old-role" not in [r["RoleName"] for r in admin.iam.list_roles()["Roles"]],
        "instance dg-old-vm": all(i["State"]["Name"] in ("shutting-down", "terminated") for r in
                                  admin.ec2.describe_instances(InstanceIds=[ids["vm"]])["Reservations"] for i in r["Instances"]),
        "database dg-old-db": all(d["DBInstanceIdentifier"] != "dg-old-db" or d["DBInstanceStatus"] == "deleting"
                                  for d in admin.rds.describe_db_instances()["DBInstances"]),
        "final snapshot": any(s["DBSnapshotIdentifier"].startswith("dg-old-db-driftguard-final-")
                              for s in admin.rds.describe_db_snapshots()["DBSnapshots"]),
    }
    for what, done in gone.items():
        check(done, f"full user: {what} not deleted/created")
    print(f"  full user: all {sum(not misnamed(o) for o in OPERATIONS)} operations moto names as AWS does allowed; "
          f"janitor deletions done: {sorted(gone)}")
    for name, detail in notes.items():
        print(f"    {name}: {detail}")


def check_necessity(server, keys, ids):
    print("4. necessity: each file minus one action")
    client = Clients(server.endpoint, keys["admin"]).iam
    unprovable = defaultdict(list)
    for name in ("detect-only.json", "full.json"):
        document, actions = doc_actions(name)
        scope = [o for o in OPERATIONS if name == "full.json" or o["job"] == "detect"]
        proven = []
        for index, action in enumerate(actions):
            needing = [o for o in scope if action in o["moto"]]
            if not needing:
                unprovable[action].append(name)
                continue
            reduced = json.loads(json.dumps(document))
            for statement in reduced["Statement"]:
                statement["Action"] = [a for a in statement["Action"] if a != action]
            reduced["Statement"] = [s for s in reduced["Statement"] if s["Action"]]
            user = f"minus-{name.split('.')[0]}-{index}"
            arn = client.create_policy(PolicyName=user, PolicyDocument=json.dumps(reduced))["Policy"]["Arn"]
            client.create_user(UserName=user)
            client.attach_user_policy(UserName=user, PolicyArn=arn)
            key = client.create_access_key(UserName=user)["AccessKey"]
            reduced_clients = Clients(server.endpoint, {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]})
            full_clients = Clients(server.endpoint, keys["full"])
            for o in needing:
                probe = o["probe"] or (lambda c, o=o: o["run"](c, ids))
                without, detail = outcome(lambda: probe(reduced_clients))
                check(not without, f"{name} without {action}: {o['op']} still allowed ({detail})")
                with_it, detail_with = outcome(lambda: probe(full_clients))
                check(with_it, f"{name}: probe {o['op']} denied even with the action ({detail_with})")
            proven.append(action)
        print(f"  {name}: {len(proven)} of {len(actions)} actions each shown necessary")
    for action, files in sorted(unprovable.items()):
        print(f"  not checkable in moto 5.2.5 (no operation makes moto check it): {action} ({', '.join(files)})")


def check_semantics(server, keys, ids):
    print("5. moto's semantics (what a test can and cannot prove)")
    client = Clients(server.endpoint, keys["admin"]).iam
    client.create_role(RoleName="other-role", AssumeRolePolicyDocument=json_doc("sts:AssumeRole"))
    cases = {
        "s3-bucket-prefix": {"Action": ["s3:GetBucketTagging"], "Resource": ["arn:aws:s3:::dg-*"]},
        "iam-role-prefix": {"Action": ["iam:GetRole"], "Resource": ["arn:aws:iam::*:role/dg-*"]},
        "ec2-instance-arn": {"Action": ["ec2:DescribeInstances", "ec2:CreateTags"], "Resource": ["arn:aws:ec2:*:*:instance/*"]},
        "rds-db-arn": {"Action": ["rds:DescribeDBInstances"], "Resource": ["arn:aws:rds:*:*:db:dg-*"]},
        "condition-never-true": {"Action": ["ec2:DescribeInstances"], "Resource": "*",
                                 "Condition": {"StringEquals": {"aws:ResourceTag/Environment": "no-such-value"}}},
        "deny-with-condition": [{"Action": ["ec2:DescribeInstances"], "Resource": "*"},
                                {"Effect": "Deny", "Action": ["ec2:DescribeInstances"], "Resource": "*",
                                 "Condition": {"StringEquals": {"aws:ResourceTag/Protected": "true"}}}],
    }
    results = {}
    for name, statements in cases.items():
        statements = statements if isinstance(statements, list) else [statements]
        document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **s} for s in statements]}
        client.create_user(UserName=f"sem-{name}")
        client.put_user_policy(UserName=f"sem-{name}", PolicyName="p", PolicyDocument=json.dumps(document))
        key = client.create_access_key(UserName=f"sem-{name}")["AccessKey"]
        results[name] = Clients(server.endpoint, {"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]})

    def show(label, call, expect):
        allowed, detail = outcome(call)
        print(f"  {label}: {'allowed' if allowed else 'denied'} ({detail})")
        check(allowed == expect, f"moto semantics changed: {label}")

    c = results["s3-bucket-prefix"]
    show("s3 Resource arn:aws:s3:::dg-*, GetBucketTagging dg-data-bucket", lambda: c.s3.get_bucket_tagging(Bucket="dg-data-bucket"), True)
    show("s3 Resource arn:aws:s3:::dg-*, GetBucketTagging scratch-bucket", lambda: c.s3.get_bucket_tagging(Bucket="scratch-bucket"), False)
    c = results["iam-role-prefix"]
    show("iam Resource role/dg-*, GetRole dg-app", lambda: c.iam.get_role(RoleName="dg-app"), True)
    show("iam Resource role/dg-*, GetRole other-role", lambda: c.iam.get_role(RoleName="other-role"), False)
    show("iam Resource role/dg-*, GetRole dg-missing (AWS: NoSuchEntity)", lambda: c.iam.get_role(RoleName="dg-missing"), False)
    c = results["ec2-instance-arn"]
    show("ec2 Resource instance/*, DescribeInstances (moto checks Resource '*')", lambda: c.ec2.describe_instances(), False)
    show("ec2 Resource instance/*, CreateTags on an instance", lambda: c.ec2.create_tags(Resources=[ids["instance"]], Tags=[{"Key": "k", "Value": "v"}]), False)
    c = results["rds-db-arn"]
    show("rds Resource db:dg-*, DescribeDBInstances dg-db", lambda: c.rds.describe_db_instances(DBInstanceIdentifier="dg-db"), False)
    c = results["condition-never-true"]
    show("Allow with a Condition that cannot hold (ignored by moto)", lambda: c.ec2.describe_instances(), True)
    c = results["deny-with-condition"]
    show("Deny with a Condition that does not hold (moto denies)", lambda: c.ec2.describe_instances(), False)


def main():
    started = time.time()
    check_inventory()
    check_recipes()
    server = Server(no_auth=3)
    try:
        keys = json.loads(server.fixture().stdout)
        admin = Clients(server.endpoint, keys["admin"])
        check(outcome(lambda: admin.s3.create_bucket(Bucket="dg-admin-seeded"))[0], "admin key cannot seed under enforcement")
        server.fixture("--auth", "off")
        ids = seed(server, keys["admin"])
        server.fixture("--auth", "on")
        print("   (INITIAL_NO_AUTH_ACTION_COUNT=3: fixture ok, admin key seeds; --auth off/on around the usual fixtures)")
        check_users(server, keys, ids)
        check_necessity(server, keys, ids)
        check_semantics(server, keys, ids)
    finally:
        server.stop()
    print(f"{'FAILED: ' + str(len(FAILURES)) if FAILURES else 'ok'} ({time.time() - started:.0f}s)")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
