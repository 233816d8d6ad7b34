"""Creates the IAM users DriftGuard's least-privilege tests run as, in a moto server whose
IAM enforcement is (or is about to be) on, and prints their access keys.

Users (all in moto's default account 123456789012):
- driftguard-admin: an inline policy allowing "*" on "*", for seeding and snapshots once
  enforcement is on;
- driftguard-detect: docs/iam/detect-only.json attached, as written, as a managed policy;
- driftguard-full: docs/iam/full.json attached the same way;
- driftguard-hub: docs/iam/hub.json (only sts:AssumeRole of member accounts' driftguard roles).

moto enforces IAM once it has served INITIAL_NO_AUTH_ACTION_COUNT requests (an environment
variable of the server process, read when moto is imported; unset means never). From then
on every AWS request must be signed with the access key of an IAM user moto knows, and is
checked against that user's policies. This fixture makes exactly UNAUTHENTICATED (3)
requests without a known key - CreateUser, PutUserPolicy and CreateAccessKey for the
admin - and signs every later one with the admin's new key. So either:
- start moto_server.py with INITIAL_NO_AUTH_ACTION_COUNT=3 and run this fixture before
  anything else talks to the server (later seeding must then use the admin key), or
- start it as usual (no enforcement), seed with the usual "testing" key, then run this
  fixture with --enforce: it turns enforcement on at the end (POST /moto-api/reset-auth
  with body 0, moto's own switch: it also zeroes the request count). --auth off|on turns
  it off and on again later, e.g. around a snapshot taken with the "testing" key.

--seed (enforcement off, after aws_fixture.py seed) adds what iam_selftest.py's runs read
and change beyond the usual fixtures: the user dg-alice (tags, a managed and an inline
policy, an access key, in group dg-devs), groups dg-devs (same) and dg-ops, an inline
policy on role dg-app, an OIDC and a SAML provider, the account's password policy, and on
dg-data-bucket a bucket policy, ownership controls, CORS, a website and access logging (to
dg-logs-bucket, whose policy lets the logging service write); a VPC with a subnet, an
attached internet gateway, a route table with a route to it, a network ACL with an entry,
an address, a key pair, a volume, an interface, a launch template, a flow log and an S3
endpoint; an Aurora cluster dg-cluster with parameter group dg-cpg, a DB parameter group
dg-pg and a snapshot dg-snap of dg-db.

Usage: iam_fixture.py --endpoint URL [--enforce]
       iam_fixture.py --endpoint URL --auth on|off
       iam_fixture.py --endpoint URL --seed
Prints {"detect": {"user", "access_key_id", "secret_access_key", "policy_arn"},
        "full": {...}, "admin": {"user", "access_key_id", "secret_access_key"}};
with --seed {"people_policy", "alice_key", "oidc", "saml", "vpc", "subnet", "route_table",
"network_acl", "interface", "launch_template"}.
"""

import argparse
import json
import sys
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "iam"
# The requests this fixture makes before it has a key moto knows.
UNAUTHENTICATED = 3
ADMIN = "driftguard-admin"
USERS = {"detect": ("driftguard-detect", "detect-only.json"), "full": ("driftguard-full", "full.json"),
         "hub": ("driftguard-hub", "hub.json")}
EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Sid": "Everything", "Effect": "Allow", "Action": "*", "Resource": "*"}]}
ACCOUNT = "123456789012"
LIST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
METADATA = ('<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            'entityID="https://idp.example.com/saml"><md:IDPSSODescriptor '
            'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>')
METADATA += "<!-- " + "padding " * 100 + "-->"  # the API takes at least 1000 characters


def iam(endpoint, key="testing", secret="testing"):
    return boto3.client("iam", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=key,
                        aws_secret_access_key=secret, config=Config(retries={"max_attempts": 12, "mode": "standard"}))


def set_auth(endpoint, on):
    """moto's switch: enforcement from the next request on (0), or never (inf)."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset-auth", data=b"0" if on else b"inf", method="POST",
                                     headers={"Content-Type": "text/plain"})  # form-encoded, moto would read no body
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def admin(endpoint):
    client = iam(endpoint)
    try:
        client.create_user(UserName=ADMIN)
        client.put_user_policy(UserName=ADMIN, PolicyName="everything", PolicyDocument=json.dumps(EVERYTHING))
        key = client.create_access_key(UserName=ADMIN)["AccessKey"]
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("InvalidClientTokenId", "AccessDenied", "SignatureDoesNotMatch"):
            sys.exit(f"iam_fixture: moto already enforces IAM ({code}): run this fixture first, with "
                     f"INITIAL_NO_AUTH_ACTION_COUNT={UNAUTHENTICATED} on the server, or before enforcement is on")
        raise
    return {"user": ADMIN, "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}


def user(client, name, document):
    text = (DOCS / document).read_text()
    arn = client.create_policy(PolicyName=name, PolicyDocument=text,
                               Description=f"docs/iam/{document}, as written")["Policy"]["Arn"]
    client.create_user(UserName=name)
    client.attach_user_policy(UserName=name, PolicyArn=arn)
    key = client.create_access_key(UserName=name)["AccessKey"]
    return {"user": name, "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"], "policy_arn": arn}


def seed(endpoint):
    make = lambda service: boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                                        aws_secret_access_key="testing", config=Config(s3={"addressing_style": "path"}))
    client, s3 = make("iam"), make("s3")
    text = json.dumps(LIST)
    people = client.create_policy(PolicyName="dg-people", PolicyDocument=text)["Policy"]["Arn"]
    client.put_role_policy(RoleName="dg-app", PolicyName="dg-app-inline", PolicyDocument=text)
    client.create_user(UserName="dg-alice", Tags=[{"Key": "Team", "Value": "platform"}, {"Key": "Owner", "Value": "alice"}])
    client.attach_user_policy(UserName="dg-alice", PolicyArn=people)
    client.put_user_policy(UserName="dg-alice", PolicyName="dg-alice-inline", PolicyDocument=text)
    key = client.create_access_key(UserName="dg-alice")["AccessKey"]["AccessKeyId"]
    for group in ("dg-devs", "dg-ops"):
        client.create_group(GroupName=group)
    client.attach_group_policy(GroupName="dg-devs", PolicyArn=people)
    client.put_group_policy(GroupName="dg-devs", PolicyName="dg-devs-inline", PolicyDocument=text)
    client.add_user_to_group(UserName="dg-alice", GroupName="dg-devs")
    oidc = client.create_open_id_connect_provider(Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"],
                                                  ThumbprintList=["6938fd4d98bab03faadb97b34396831e3780aea1"])
    saml = client.create_saml_provider(Name="dg-sso", SAMLMetadataDocument=METADATA)
    client.update_account_password_policy(MinimumPasswordLength=8, RequireSymbols=True, RequireNumbers=True,
                                          RequireUppercaseCharacters=True, RequireLowercaseCharacters=True,
                                          AllowUsersToChangePassword=True, MaxPasswordAge=90, PasswordReusePrevention=24)
    bucket = "dg-data-bucket"
    s3.create_bucket(Bucket="dg-logs-bucket")  # moto wants the logging service allowed on the target
    s3.put_bucket_policy(Bucket="dg-logs-bucket", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"}, "Action": "s3:PutObject",
        "Resource": "arn:aws:s3:::dg-logs-bucket/*"}]}))
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]}))
    s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]})
    s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "dg-logs-bucket", "TargetPrefix": "data/"}})
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["https://example.com"]}]})
    s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})
    out = {"people_policy": people, "alice_key": key, "oidc": oidc["OpenIDConnectProviderArn"], "saml": saml["SAMLProviderArn"]}
    out.update(seed_network(make("ec2")))
    seed_rds(make("rds"))
    return out


def seed_network(ec2):
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24", AvailabilityZone=f"{REGION}a")["Subnet"]["SubnetId"]
    gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    acl = ec2.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=100, Protocol="6", RuleAction="allow", Egress=False,
                                 CidrBlock="10.0.0.0/8", PortRange={"From": 443, "To": 443})
    ec2.allocate_address(Domain="vpc")
    ec2.create_key_pair(KeyName="dg-key")
    ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8)
    interface = ec2.create_network_interface(SubnetId=subnet)["NetworkInterface"]["NetworkInterfaceId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    template = ec2.create_launch_template(LaunchTemplateName="dg-lt", LaunchTemplateData={
        "ImageId": image, "InstanceType": "t3.micro"})["LaunchTemplate"]["LaunchTemplateId"]
    ec2.create_flow_logs(ResourceIds=[vpc], ResourceType="VPC", TrafficType="ALL", LogDestinationType="s3",
                         LogDestination="arn:aws:s3:::dg-logs-bucket")
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.{REGION}.s3", RouteTableIds=[table])
    return {"vpc": vpc, "subnet": subnet, "route_table": table, "network_acl": acl, "interface": interface, "launch_template": template}


def seed_rds(rds):
    """Beside aws_fixture.py's dg-db: an Aurora cluster with its parameter group, a DB parameter group, a snapshot of dg-db."""
    rds.create_db_parameter_group(DBParameterGroupName="dg-pg", DBParameterGroupFamily="postgres16", Description="dg")
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName="dg-cpg", DBParameterGroupFamily="aurora-postgresql16",
                                          Description="dg")
    rds.create_db_cluster(DBClusterIdentifier="dg-cluster", Engine="aurora-postgresql", MasterUsername="dgadmin",
                          MasterUserPassword="not-a-secret-1", DBClusterParameterGroupName="dg-cpg")
    rds.create_db_snapshot(DBSnapshotIdentifier="dg-snap", DBInstanceIdentifier="dg-db")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--enforce", action="store_true", help="turn enforcement on once the users exist")
    parser.add_argument("--auth", choices=["on", "off"], help="only turn enforcement on or off")
    parser.add_argument("--seed", action="store_true", help="only seed what iam_selftest.py's runs touch")
    args = parser.parse_args()
    endpoint = args.endpoint.rstrip("/")
    if args.auth:
        print(json.dumps(set_auth(endpoint, args.auth == "on")))
        return
    if args.seed:
        print(json.dumps(seed(endpoint), sort_keys=True))
        return
    out = {"admin": admin(endpoint)}
    client = iam(endpoint, out["admin"]["access_key_id"], out["admin"]["secret_access_key"])
    for role, (name, document) in USERS.items():
        out[role] = user(client, name, document)
    if args.enforce:
        set_auth(endpoint, True)
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
