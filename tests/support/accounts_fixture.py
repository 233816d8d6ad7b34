"""A hub-and-spoke AWS estate in one moto server, for DriftGuard's identity tests.

moto places calls made with assumed-role credentials in the role's account (see
shared/TEST-BACKENDS.md), so each member account is seeded, and later judged, with that
account's own credentials: `sts:AssumeRole` of arn:aws:iam::ACCOUNT:role/driftguard from the
base ("testing") credentials, which moto answers for any account. moto does not refuse
cross-account calls as AWS would, so a snapshot of one account is only trustworthy when
taken with that account's credentials, which is what `snapshot` does.

Usage:
  accounts_fixture.py ENDPOINT seed ACCOUNT [ACCOUNT...]
      In each account: the role `driftguard` (trusting the hub account 123456789012 with
      external id `dg-external`), an expired bucket dg-old-ACCOUNT, a bucket not yet expired
      dg-new-ACCOUNT, an expired instance named dg-old-vm-ACCOUNT.
  accounts_fixture.py ENDPOINT bucket ACCOUNT NAME EXPIRES
      One more bucket in ACCOUNT.
  accounts_fixture.py ENDPOINT attach ACCOUNT POLICY_FILE
      Creates POLICY_FILE (an IAM policy document, e.g. docs/iam/full.json) as a managed
      policy in ACCOUNT and attaches it to its driftguard role.
  accounts_fixture.py ENDPOINT snapshot ACCOUNT [ACCOUNT...]
      {ACCOUNT: {"caller": ARN, "buckets": {NAME: TAGS}, "instances": {NAME: {"state", "tags"}}}}
"""

import json
import sys

import boto3
from botocore.config import Config

ENDPOINT = sys.argv[1]
REGION = "us-east-1"
HUB = "123456789012"
EXPIRED = "2020-01-01"
FUTURE = "2999-01-01"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": "dg-external"}},
    }],
}
RETRIES = Config(retries={"max_attempts": 12, "mode": "standard"})


def base(service):
    return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=RETRIES)


def member(account):
    """A client factory with the credentials of `account`'s driftguard role."""
    answer = base("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/driftguard", RoleSessionName="fixture")
    credentials = answer["Credentials"]

    def client(service):
        return boto3.client(service, endpoint_url=ENDPOINT, region_name=REGION, config=RETRIES,
                            aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"])
    return client


def tags(**pairs):
    return [{"Key": k.replace("_", "-"), "Value": v} for k, v in pairs.items()]


def bucket(client, name, expires):
    s3 = client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tags(expires_at=expires)})


def seed(accounts):
    for account in accounts:
        client = member(account)
        client("iam").create_role(RoleName="driftguard", AssumeRolePolicyDocument=json.dumps(TRUST))
        bucket(client, f"dg-old-{account}", EXPIRED)
        bucket(client, f"dg-new-{account}", FUTURE)
        ec2 = client("ec2")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro", TagSpecifications=[
            {"ResourceType": "instance", "Tags": tags(Name=f"dg-old-vm-{account}", expires_at=EXPIRED)}])
    print(json.dumps({"seeded": accounts}))


def attach(account, path):
    iam = member(account)("iam")
    with open(path) as handle:
        document = handle.read()
    arn = iam.create_policy(PolicyName="driftguard", PolicyDocument=document)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="driftguard", PolicyArn=arn)
    print(json.dumps({"attached": arn}))


def snapshot(accounts):
    out = {}
    for account in accounts:
        client = member(account)
        s3, ec2 = client("s3"), client("ec2")
        buckets = {}
        for entry in s3.list_buckets()["Buckets"]:
            try:
                tagset = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=entry["Name"])["TagSet"]}
            except Exception:
                tagset = {}
            buckets[entry["Name"]] = tagset
        instances = {}
        for reservation in ec2.describe_instances()["Reservations"]:
            for instance in reservation["Instances"]:
                tagset = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
                instances[tagset.get("Name", instance["InstanceId"])] = {
                    "state": instance["State"]["Name"], "tags": tagset}
        caller = client("sts").get_caller_identity()["Arn"]
        out[account] = {"caller": caller, "buckets": buckets, "instances": instances}
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    command = sys.argv[2]
    if command == "seed":
        seed(sys.argv[3:])
    elif command == "bucket":
        bucket(member(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif command == "attach":
        attach(sys.argv[3], sys.argv[4])
    elif command == "snapshot":
        snapshot(sys.argv[3:])
    else:
        sys.exit(f"unknown command {command}")
