"""Seeds a moto server with one resource of every type DriftGuard compares, writes the
Terraform state (format 4) those resources would have, mutates them (drift), and takes
snapshots of everything described, for DriftGuard's integration tests.

The state is shaped as Terraform's AWS provider writes it (compare
shared/corpus/tfstate): nested blocks as one-element lists, tags and tags_all, ARNs,
module addresses, count and for_each instances.

Usage: aws_fixture.py ENDPOINT seed STATE_OUT | mutate IDS | snapshot | upload BUCKET KEY FILE | delete-policy ARN
"""

import json
import sys

import boto3
from botocore.config import Config

ENDPOINT = sys.argv[1]
REGION = "us-east-1"
ACCOUNT = "123456789012"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
READ_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"}],
}


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


def resource(rtype, name, attributes, module=None, index_key=None):
    out = {
        "mode": "managed",
        "type": rtype,
        "name": name,
        "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
        "instances": [{"schema_version": 0, "attributes": attributes, "sensitive_attributes": [], "private": "bnVsbA=="}],
    }
    if module:
        out["module"] = module
    if index_key is not None:
        out["instances"][0]["index_key"] = index_key
    return out


def seed(state_out):
    ec2, s3, iam, rds = client("ec2"), client("s3"), client("iam"), client("rds")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    group = ec2.create_security_group(GroupName="dg-web", Description="web", VpcId=vpc,
                                      TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": "Team", "Value": "web"}]}])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8", "Description": "tls"}]}])
    # A rule managed as its own resource (aws_vpc_security_group_ingress_rule).
    db_rule = ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}])["SecurityGroupRules"][0]["SecurityGroupRuleId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro", SecurityGroupIds=[group],
                                 MetadataOptions={"HttpTokens": "required"},
                                 TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "dg-app"}, {"Key": "Environment", "Value": "sandbox"}]}])["Instances"][0]["InstanceId"]
    bucket = "dg-data-bucket"
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "Team", "Value": "data"}]})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True})
    # A bucket in another region: outside a policy that scans us-east-1 only.
    s3.create_bucket(Bucket="dg-eu-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    iam.create_role(RoleName="dg-app", AssumeRolePolicyDocument=json.dumps(TRUST), MaxSessionDuration=3600,
                    Tags=[{"Key": "Team", "Value": "platform"}])
    policy_arn = iam.create_policy(PolicyName="dg-read", PolicyDocument=json.dumps(READ_POLICY))["Policy"]["Arn"]
    rds.create_db_instance(DBInstanceIdentifier="dg-db", DBInstanceClass="db.t3.micro", Engine="postgres", MasterUsername="admin",
                           MasterUserPassword="not-a-secret-1", AllocatedStorage=20, PubliclyAccessible=False, StorageEncrypted=True,
                           BackupRetentionPeriod=7, DeletionProtection=False, Tags=[{"Key": "Team", "Value": "data"}])
    state = {
        "version": 4,
        "terraform_version": "1.9.8",
        "serial": 7,
        "lineage": "6f1d2c1e-6b7e-4c1a-9a36-000000000001",
        "outputs": {},
        "resources": [
            {"mode": "data", "type": "aws_vpc", "name": "default", "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
             "instances": [{"schema_version": 0, "attributes": {"id": vpc, "default": True}}]},
            resource("aws_security_group", "web", {
                "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group}", "id": group, "name": "dg-web",
                "description": "web", "vpc_id": vpc, "owner_id": ACCOUNT, "revoke_rules_on_delete": False, "name_prefix": "",
                # Refreshed, the group lists every rule, the standalone one's too.
                "ingress": [{"cidr_blocks": ["10.0.0.0/8"], "description": "tls", "from_port": 443, "ipv6_cidr_blocks": [],
                             "prefix_list_ids": [], "protocol": "tcp", "security_groups": [], "self": False, "to_port": 443},
                            {"cidr_blocks": ["10.1.0.0/16"], "description": "", "from_port": 5432, "ipv6_cidr_blocks": [],
                             "prefix_list_ids": [], "protocol": "tcp", "security_groups": [], "self": False, "to_port": 5432}],
                "egress": [{"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 0, "ipv6_cidr_blocks": [],
                            "prefix_list_ids": [], "protocol": "-1", "security_groups": [], "self": False, "to_port": 0}],
                "tags": {"Team": "web"}, "tags_all": {"Team": "web"}, "timeouts": None}, module="module.network"),
            resource("aws_vpc_security_group_ingress_rule", "postgres", {
                "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group-rule/{db_rule}", "id": db_rule,
                "security_group_rule_id": db_rule, "security_group_id": group, "cidr_ipv4": "10.1.0.0/16", "cidr_ipv6": None,
                "description": None, "from_port": 5432, "to_port": 5432, "ip_protocol": "tcp", "prefix_list_id": None,
                "referenced_security_group_id": None, "tags": None, "tags_all": {}}, module="module.network"),
            resource("aws_instance", "app", {
                "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance}", "id": instance, "ami": image,
                "instance_type": "t3.micro", "vpc_security_group_ids": [group], "iam_instance_profile": "",
                "disable_api_termination": False, "monitoring": False,
                "metadata_options": [{"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1,
                                      "instance_metadata_tags": "disabled"}],
                "tags": {"Name": "dg-app", "Environment": "sandbox"}, "tags_all": {"Name": "dg-app", "Environment": "sandbox"}},
                index_key=0),
            resource("aws_s3_bucket", "data", {
                "arn": f"arn:aws:s3:::{bucket}", "bucket": bucket, "id": bucket, "force_destroy": False,
                "tags": {"Team": "data"}, "tags_all": {"Team": "data"}}, index_key="data"),
            resource("aws_s3_bucket_versioning", "data", {
                "bucket": bucket, "id": bucket, "expected_bucket_owner": "", "mfa": None,
                "versioning_configuration": [{"mfa_delete": "", "status": "Enabled"}]}),
            resource("aws_s3_bucket_server_side_encryption_configuration", "data", {
                "bucket": bucket, "id": bucket, "expected_bucket_owner": "",
                "rule": [{"apply_server_side_encryption_by_default": [{"kms_master_key_id": "", "sse_algorithm": "AES256"}],
                          "bucket_key_enabled": False}]}),
            resource("aws_s3_bucket_public_access_block", "data", {
                "bucket": bucket, "id": bucket, "block_public_acls": True, "block_public_policy": True,
                "ignore_public_acls": True, "restrict_public_buckets": True}),
            resource("aws_iam_role", "app", {
                "arn": f"arn:aws:iam::{ACCOUNT}:role/dg-app", "id": "dg-app", "name": "dg-app",
                "assume_role_policy": json.dumps(TRUST, separators=(",", ":")), "max_session_duration": 3600, "path": "/",
                "tags": {"Team": "platform"}, "tags_all": {"Team": "platform"}}),
            resource("aws_iam_policy", "read", {
                "arn": policy_arn, "id": policy_arn, "name": "dg-read", "path": "/",
                "policy": json.dumps(READ_POLICY, separators=(",", ":")), "tags": {}, "tags_all": {}}),
            resource("aws_db_instance", "db", {
                "arn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:dg-db", "id": "db-ABCDEFGHIJKLMNOP", "identifier": "dg-db",
                "instance_class": "db.t3.micro", "engine": "postgres", "publicly_accessible": False, "storage_encrypted": True,
                "deletion_protection": False, "backup_retention_period": 7, "password": None,
                "tags": {"Team": "data"}, "tags_all": {"Team": "data"}}),
        ],
    }
    with open(state_out, "w") as handle:
        json.dump(state, handle, indent=2)
    print(json.dumps({"group": group, "instance": instance, "bucket": bucket, "policy": policy_arn, "rule": db_rule}))


def mutate(ids):
    ids = json.loads(ids)
    ec2, s3, iam, rds = client("ec2"), client("s3"), client("iam"), client("rds")
    ec2.authorize_security_group_ingress(GroupId=ids["group"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.create_tags(Resources=[ids["group"]], Tags=[{"Key": "Team", "Value": "intruder"}])
    ec2.modify_instance_attribute(InstanceId=ids["instance"], InstanceType={"Value": "m5.large"})
    s3.put_bucket_versioning(Bucket=ids["bucket"], VersioningConfiguration={"Status": "Suspended"})
    s3.put_public_access_block(Bucket=ids["bucket"], PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True})
    widened = json.loads(json.dumps(TRUST))
    widened["Statement"][0]["Principal"] = {"AWS": "*"}
    iam.update_assume_role_policy(RoleName="dg-app", PolicyDocument=json.dumps(widened))
    rds.modify_db_instance(DBInstanceIdentifier="dg-db", PubliclyAccessible=True, DeletionProtection=True,
                           BackupRetentionPeriod=1, ApplyImmediately=True)
    s3.create_bucket(Bucket="dg-stray-bucket")
    # Everything else a console session can change (moto has no MonitorInstances).
    ec2.revoke_security_group_ingress(GroupId=ids["group"], SecurityGroupRuleIds=[ids["rule"]])
    ec2.modify_instance_attribute(InstanceId=ids["instance"], DisableApiTermination={"Value": True})
    ec2.modify_instance_metadata_options(InstanceId=ids["instance"], HttpTokens="optional")
    s3.delete_bucket_encryption(Bucket=ids["bucket"])
    iam.update_role(RoleName="dg-app", MaxSessionDuration=43200)
    admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.create_policy_version(PolicyArn=ids["policy"], PolicyDocument=json.dumps(admin), SetAsDefault=True)


def bulk(count, state_out):
    """count resources in thirds: security groups, buckets, instances; and their state."""
    ec2, s3 = client("ec2"), client("s3")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    third = max(1, count // 3)
    resources = []
    for index in range(third):
        group = ec2.create_security_group(GroupName=f"bench-{index}", Description="bench", VpcId=vpc)["GroupId"]
        resources.append(resource("aws_security_group", f"g{index}", {
            "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group}", "id": group, "name": f"bench-{index}",
            "ingress": [], "egress": [{"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 0, "ipv6_cidr_blocks": [],
                                       "prefix_list_ids": [], "protocol": "-1", "security_groups": [], "self": False, "to_port": 0}],
            "tags": {}, "tags_all": {}}))
        name = f"bench-bucket-{index}"
        s3.create_bucket(Bucket=name)
        resources.append(resource("aws_s3_bucket", f"b{index}", {"arn": f"arn:aws:s3:::{name}", "bucket": name, "id": name, "tags": {}, "tags_all": {}}))
    # One RunInstances per instance, as Terraform's aws_instance launches them (MinCount =
    # MaxCount = 1): each is its own reservation. moto counts reservations, not instances,
    # against DescribeInstances' MaxResults, so one reservation of them all would come back
    # as one answer, which no Terraform-declared estate of this shape gives.
    instances = [ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0]
                 for _ in range(third)]
    for index, instance in enumerate(instances):
        iid = instance["InstanceId"]
        resources.append(resource("aws_instance", "i", {
            "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{iid}", "id": iid, "instance_type": "t3.micro",
            "vpc_security_group_ids": [g["GroupId"] for g in instance.get("SecurityGroups", [])], "iam_instance_profile": "",
            "disable_api_termination": False, "monitoring": False,
            "metadata_options": [{"http_tokens": instance.get("MetadataOptions", {}).get("HttpTokens", "optional")}],
            "tags": {}, "tags_all": {}}, index_key=index))
    with open(state_out, "w") as handle:
        json.dump({"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "bench", "outputs": {}, "resources": resources}, handle)


def upload(bucket, key, path):
    s3 = client("s3")
    s3.create_bucket(Bucket=bucket)
    with open(path, "rb") as handle:
        s3.put_object(Bucket=bucket, Key=key, Body=handle.read())


def delete_policy(arn):
    client("iam").delete_policy(PolicyArn=arn)


def snapshot():
    ec2, s3, iam, rds = client("ec2"), client("s3"), client("iam"), client("rds")
    out = {
        "groups": ec2.describe_security_groups()["SecurityGroups"],
        "instances": [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]],
        "buckets": [],
        "roles": [iam.get_role(RoleName=r["RoleName"])["Role"] for r in iam.list_roles()["Roles"]],
        "policies": iam.list_policies(Scope="Local")["Policies"],
        # LatestRestorableTime is moto's clock, not state: it moves on every describe.
        "databases": [{k: v for k, v in db.items() if k != "LatestRestorableTime"} for db in rds.describe_db_instances()["DBInstances"]],
    }
    for instance in out["instances"]:
        instance["DisableApiTermination"] = ec2.describe_instance_attribute(
            InstanceId=instance["InstanceId"], Attribute="disableApiTermination")["DisableApiTermination"]["Value"]
    out["policy_documents"] = {
        p["PolicyName"]: iam.get_policy_version(PolicyArn=p["Arn"], VersionId=p["DefaultVersionId"])["PolicyVersion"]["Document"]
        for p in out["policies"]}
    out["rules"] = ec2.describe_security_group_rules()["SecurityGroupRules"]
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        entry = {"name": name, "versioning": s3.get_bucket_versioning(Bucket=name).get("Status")}
        try:
            rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
            entry["encryption"] = rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
        except Exception:
            entry["encryption"] = None
        try:
            entry["tags"] = s3.get_bucket_tagging(Bucket=name)["TagSet"]
        except Exception:
            entry["tags"] = None
        try:
            entry["block"] = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        except Exception:
            entry["block"] = None
        out["buckets"].append(entry)
    print(json.dumps(out, sort_keys=True, default=str))


if __name__ == "__main__":
    command = sys.argv[2]
    if command == "seed":
        seed(sys.argv[3])
    elif command == "mutate":
        mutate(sys.argv[3])
    elif command == "snapshot":
        snapshot()
    elif command == "bulk":
        bulk(int(sys.argv[3]), sys.argv[4])
    elif command == "upload":
        upload(sys.argv[3], sys.argv[4], sys.argv[5])
    elif command == "delete-policy":
        delete_policy(sys.argv[3])
