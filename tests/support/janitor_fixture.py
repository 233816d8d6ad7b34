"""Seeds a moto server with a sandbox account for the janitor's integration tests, and
snapshots what the janitor could touch.

The seeded estate holds one resource for every reason to delete or not to delete:
expired with each kind of dependency (versioned bucket with object versions and delete
markers, instance with termination protection, database with deletion protection, role
with attached and inline policies and an instance profile), not yet expired, protected,
unprefixed, managed by Terraform.

Usage: janitor_fixture.py ENDPOINT seed STATE_OUT | snapshot | tag TYPE ID KEY VALUE | create-bucket NAME EXPIRES
       | create-roles PREFIX COUNT EXPIRED
"""

import json
import sys

import boto3
from botocore.config import Config

ENDPOINT = sys.argv[1]
REGION = "us-east-1"
ACCOUNT = "123456789012"
EXPIRED = "2020-01-01"
FUTURE = "2999-01-01"
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def client(service):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"max_attempts": 12, "mode": "standard"}))


def tags(**pairs):
    return [{"Key": k.replace("_", "-"), "Value": v} for k, v in pairs.items()]


def bucket(name, tagset, versions=0):
    s3 = client("s3")
    s3.create_bucket(Bucket=name)
    if tagset:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tagset})
    if versions:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        for index in range(versions):
            s3.put_object(Bucket=name, Key="data/report.csv", Body=f"v{index}".encode())
        s3.delete_object(Bucket=name, Key="data/report.csv")  # a delete marker on top
        s3.put_object(Bucket=name, Key="other.txt", Body=b"x")


def seed(state_out):
    ec2, rds, iam = client("ec2"), client("rds"), client("iam")
    bucket("dg-old-bucket", tags(expires_at=EXPIRED, Team="data"), versions=3)
    bucket("dg-new-bucket", tags(expires_at=FUTURE))
    bucket("dg-prod-bucket", tags(expires_at=EXPIRED, Environment="Production"))
    bucket("scratch-bucket", tags(expires_at=EXPIRED))
    bucket("dg-managed-bucket", tags(expires_at=EXPIRED))
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    vm = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro", DisableApiTermination=True,
                           TagSpecifications=[{"ResourceType": "instance", "Tags": tags(Name="dg-old-vm", expires_at=EXPIRED)}])
    vm = vm["Instances"][0]["InstanceId"]
    # moto ignores RunInstances' DisableApiTermination: set it as a console user would.
    ec2.modify_instance_attribute(InstanceId=vm, DisableApiTermination={"Value": True})
    keep = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                             TagSpecifications=[{"ResourceType": "instance", "Tags": tags(Name="dg-keep-vm", Protected="true", expires_at=EXPIRED)}])
    keep = keep["Instances"][0]["InstanceId"]
    rds.create_db_instance(DBInstanceIdentifier="dg-old-db", DBInstanceClass="db.t3.micro", Engine="postgres",
                           MasterUsername="admin", MasterUserPassword="not-a-secret-1", AllocatedStorage=20,
                           DeletionProtection=True, Tags=tags(expires_at=EXPIRED))
    iam.create_role(RoleName="dg-old-role", AssumeRolePolicyDocument=json.dumps(TRUST), Tags=tags(expires_at=EXPIRED))
    policy = iam.create_policy(PolicyName="dg-old-policy", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="dg-old-role", PolicyArn=policy)
    iam.put_role_policy(RoleName="dg-old-role", PolicyName="inline", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    iam.create_instance_profile(InstanceProfileName="dg-old-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="dg-old-profile", RoleName="dg-old-role")
    state = {"version": 4, "terraform_version": "1.9.8", "serial": 3, "lineage": "janitor-test", "outputs": {}, "resources": [
        {"mode": "managed", "type": "aws_s3_bucket", "name": "managed", "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
         "instances": [{"schema_version": 0, "attributes": {"id": "dg-managed-bucket", "bucket": "dg-managed-bucket",
                                                            "arn": "arn:aws:s3:::dg-managed-bucket", "tags": {"expires-at": EXPIRED}}}]}]}
    with open(state_out, "w") as handle:
        json.dump(state, handle, indent=2)
    print(json.dumps({"vm": vm, "keep": keep}))


def create_bucket(name, expires):
    bucket(name, tags(expires_at=expires))


def create_roles(prefix, count, expired):
    """`count` roles PREFIX-00.., the first `expired` of them expired, the rest not."""
    iam = client("iam")
    for index in range(int(count)):
        expires = EXPIRED if index < int(expired) else FUTURE
        iam.create_role(RoleName=f"{prefix}-{index:02d}", AssumeRolePolicyDocument=json.dumps(TRUST),
                        Tags=tags(expires_at=expires))


def create_fleet(prefix, count, bystanders):
    """`count` expired candidates PREFIX-i-NN (instances) and PREFIX-b-NN (buckets, one
    object version each), and `bystanders` unprefixed instances and buckets beside them."""
    ec2 = client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    for index in range(int(count)):
        bucket(f"{prefix}-b-{index:02d}", tags(expires_at=EXPIRED), versions=1)
    for index in range(int(bystanders)):
        bucket(f"other-{prefix}-b-{index:02d}", tags(expires_at=EXPIRED))
    for name, number in [(prefix, int(count)), (f"other-{prefix}", int(bystanders))]:
        for index in range(number):
            ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                              TagSpecifications=[{"ResourceType": "instance",
                                                  "Tags": tags(Name=f"{name}-i-{index:02d}", expires_at=EXPIRED)}])


def tag(kind, ident, key, value):
    if kind == "bucket":
        s3 = client("s3")
        current = s3.get_bucket_tagging(Bucket=ident)["TagSet"]
        current = [t for t in current if t["Key"] != key] + [{"Key": key, "Value": value}]
        s3.put_bucket_tagging(Bucket=ident, Tagging={"TagSet": current})
    elif kind == "instance":
        client("ec2").create_tags(Resources=[ident], Tags=[{"Key": key, "Value": value}])


def snapshot():
    ec2, s3, rds, iam = client("ec2"), client("s3"), client("rds"), client("iam")
    out = {"buckets": {}, "instances": {}, "databases": {}, "roles": {}, "profiles": []}
    for entry in s3.list_buckets()["Buckets"]:
        name = entry["Name"]
        try:
            tagset = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
        except Exception:
            tagset = {}
        listing = s3.list_object_versions(Bucket=name)
        out["buckets"][name] = {"tags": tagset, "versions": len(listing.get("Versions", [])),
                                "markers": len(listing.get("DeleteMarkers", []))}
    for reservation in ec2.describe_instances()["Reservations"]:
        for instance in reservation["Instances"]:
            out["instances"][instance["InstanceId"]] = {
                "state": instance["State"]["Name"], "tags": {t["Key"]: t["Value"] for t in instance.get("Tags", [])}}
    for db in rds.describe_db_instances()["DBInstances"]:
        out["databases"][db["DBInstanceIdentifier"]] = {
            "protected": db["DeletionProtection"], "tags": {t["Key"]: t["Value"] for t in db.get("TagList", [])}}
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        out["roles"][name] = {"tags": {t["Key"]: t["Value"] for t in iam.get_role(RoleName=name)["Role"].get("Tags", [])},
                              "attached": len(iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"])}
    out["profiles"] = [{"name": p["InstanceProfileName"], "roles": [r["RoleName"] for r in p["Roles"]]}
                       for p in iam.list_instance_profiles()["InstanceProfiles"]]
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    command = sys.argv[2]
    if command == "seed":
        seed(sys.argv[3])
    elif command == "snapshot":
        snapshot()
    elif command == "tag":
        tag(*sys.argv[3:7])
    elif command == "create-bucket":
        create_bucket(sys.argv[3], sys.argv[4])
    elif command == "create-fleet":
        create_fleet(sys.argv[3], sys.argv[4], sys.argv[5])
    elif command == "create-roles":
        create_roles(sys.argv[3], sys.argv[4], sys.argv[5])
    else:
        sys.exit(f"unknown command {command}")
