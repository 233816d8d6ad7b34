"""Seeds a moto server with the head-to-head benchmark's inventory (bench/compare), writes
the Terraform state (format 4) of its managed part, applies drift, and writes a manifest
saying what each tool should find and delete.

The inventory, per type, in fixed shares (so two seeds of the same sizes are the same
estate, up to the ids moto draws):

- EC2 instances and S3 buckets (the janitor's targets): 30% managed (in the state, tag
  ManagedBy=terraform), 10% managed but also prefixed and expired (kept: managed), 10%
  expired but not prefixed (kept), 10% prefixed and expired but Protected=true (kept),
  10% prefixed, expiring in 2999 (kept), 30% prefixed, expired, unprotected, unmanaged:
  the candidates, which the cleanup phase must delete. Every prefixed resource carries an
  expires-at tag. Candidate buckets hold object versions (--objects).
- security groups, RDS instances, IAM roles: half managed, half not.

Drift, on managed resources only (a share of each type's managed part, at least one when
there is any), each a violation of one of the benchmark's rules:

  sg-open-ssh-rdp    ingress tcp 22 (or 3389) from 0.0.0.0/0 added
  s3-versioning      versioning suspended
  s3-public-block    public-access block weakened (BlockPublicAcls false)
  rds-public         instance made publicly accessible
  iam-trust-widened  trust policy principal widened to {"AWS": "*"}
  ec2-imdsv1         IMDSv1 re-enabled (HttpTokens optional)

Everything else complies (ingress 443 from 10.0.0.0/8, versioning on, public-access block
on, private databases, trust in ec2.amazonaws.com, IMDSv2 required), so that a rule on the
live configuration (Custodian's way) and a rule on drift from the state (DriftGuard's
way) must find the same resources. A violation on an unmanaged resource would be found by
Custodian and reported only as "unmanaged" by DriftGuard: the seed has none.

Usage: seed_inventory.py ENDPOINT OUT_DIR [--ec2 N] [--s3 N] [--sg N] [--rds N] [--iam N] [--objects N]
Writes OUT_DIR/terraform.tfstate and OUT_DIR/manifest.json; prints the manifest's counts.
"""

import argparse
import json
import os
import time

import boto3
from botocore.config import Config

REGION = "us-east-1"
ACCOUNT = "123456789012"
PREFIX = "dg-"
EXPIRED = "2020-01-01"
FUTURE = "2999-01-01"
PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'
TRUST = {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
WIDENED = {"Version": "2012-10-17",
           "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
FULL_BLOCK = {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
EGRESS_ALL = [{"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 0, "ipv6_cidr_blocks": [],
               "prefix_list_ids": [], "protocol": "-1", "security_groups": [], "self": False, "to_port": 0}]
INGRESS_TLS = [{"cidr_blocks": ["10.0.0.0/8"], "description": "", "from_port": 443, "ipv6_cidr_blocks": [],
                "prefix_list_ids": [], "protocol": "tcp", "security_groups": [], "self": False, "to_port": 443}]

# The janitor's targets: (category, share, name stem, managed, prefixed, expires-at, protected).
JANITOR_CATEGORIES = [
    ("managed", 0.30, "app", True, False, None, False),
    ("managed-prefixed-expired", 0.10, "dg-tf", True, True, EXPIRED, False),
    ("unprefixed-expired", 0.10, "tmp", False, False, EXPIRED, False),
    ("protected", 0.10, "dg-keep", False, True, EXPIRED, True),
    ("not-expired", 0.10, "dg-later", False, True, FUTURE, False),
    ("candidate", 0.30, "dg-old", False, True, EXPIRED, False),
]
# Shares of the managed part that drift, per rule (the rest stays clean).
DRIFT = {
    "ec2": [("ec2-imdsv1", 0.25)],
    "s3": [("s3-versioning", 0.25), ("s3-public-block", 0.25)],
    "sg": [("sg-open-ssh-rdp", 0.20), ("sg-open-ssh-rdp/3389", 0.10)],
    "rds": [("rds-public", 0.30)],
    "iam": [("iam-trust-widened", 0.20)],
}


def client(service, endpoint):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"max_attempts": 12, "mode": "standard"}))


def split(total, shares):
    """total items into len(shares) counts: one each first (in order, while any are left),
    then the rest by largest remainder. Deterministic."""
    counts = [0] * len(shares)
    left = total
    for index in range(len(shares)):
        if left and shares[index] > 0:
            counts[index] += 1
            left -= 1
    rest = [max(0.0, share * total - counts[index]) for index, share in enumerate(shares)]
    scale = sum(rest) or 1.0
    exact = [r * left / scale for r in rest]
    for index, value in enumerate(exact):
        counts[index] += int(value)
    remaining = left - sum(int(v) for v in exact)
    for index in sorted(range(len(shares)), key=lambda i: (-(exact[i] - int(exact[i])), i))[:remaining]:
        counts[index] += 1
    return counts


def drift_plan(kind, managed_names):
    """{name: rule} for the managed names that drift."""
    rules = DRIFT[kind]
    shares = [share for _, share in rules]
    counts = split(len(managed_names), shares + [max(0.0, 1 - sum(shares))])
    plan, position = {}, 0
    for (rule, _), count in zip(rules, counts):
        for name in managed_names[position:position + count]:
            plan[name] = rule
        position += count
    return plan


def tag_list(tags):
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def state_resource(rtype, name, attributes, index_key=None):
    instance = {"schema_version": 0, "attributes": attributes, "sensitive_attributes": [], "private": "bnVsbA=="}
    if index_key is not None:
        instance["index_key"] = index_key
    return {"mode": "managed", "type": rtype, "name": name, "provider": PROVIDER, "instances": [instance]}


def janitor_layout(total, noun):
    """[(name, category, managed, tags)] for a janitor target type."""
    counts = split(total, [c[1] for c in JANITOR_CATEGORIES])
    out, number = [], 0
    for (category, _, stem, managed, _prefixed, expires, protected), count in zip(JANITOR_CATEGORIES, counts):
        for _ in range(count):
            number += 1
            name = f"{stem}-{noun}-{number:04d}"
            tags = {"Team": "bench"}
            if managed:
                tags["ManagedBy"] = "terraform"
            if expires:
                tags["expires-at"] = expires
            if protected:
                tags["Protected"] = "true"
            out.append((name, category, managed, tags))
    return out


def plain_layout(total, noun):
    """Half managed (app-...), half not (dg-...)."""
    managed = total - total // 2
    out = []
    for number in range(1, total + 1):
        is_managed = number <= managed
        name = f"{'app' if is_managed else 'dg'}-{noun}-{number:04d}"
        tags = {"Team": "bench", **({"ManagedBy": "terraform"} if is_managed else {})}
        out.append((name, "managed" if is_managed else "unmanaged", is_managed, tags))
    return out


def seed(endpoint, out_dir, sizes, objects):
    started = time.monotonic()
    ec2, s3, rds, iam = (client(s, endpoint) for s in ("ec2", "s3", "rds", "iam"))
    resources, ids, expected = [], {"aws_instance": {}, "aws_security_group": {}}, {}
    janitor = {"aws_instance": {}, "aws_s3_bucket": {}}
    vpc = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    # Security groups.
    layout = plain_layout(sizes["sg"], "sg")
    drift = drift_plan("sg", [name for name, _, managed, _ in layout if managed])
    for name, _, managed, tags in layout:
        group = ec2.create_security_group(GroupName=name, Description="bench", VpcId=vpc, TagSpecifications=[
            {"ResourceType": "security-group", "Tags": tag_list(tags)}])["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
        ids["aws_security_group"][group] = name
        if managed:
            resources.append(state_resource("aws_security_group", name.replace("-", "_"), {
                "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group}", "id": group, "name": name,
                "description": "bench", "vpc_id": vpc, "owner_id": ACCOUNT, "ingress": INGRESS_TLS, "egress": EGRESS_ALL,
                "tags": tags, "tags_all": tags}))

    # EC2 instances (the janitor's name is the Name tag).
    layout = janitor_layout(sizes["ec2"], "vm")
    drift_ec2 = drift_plan("ec2", [name for name, _, managed, _ in layout if managed])
    instance_ids = {}
    for name, category, managed, tags in layout:
        tags = {"Name": name, **tags}
        instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                                     MetadataOptions={"HttpTokens": "required"},
                                     TagSpecifications=[{"ResourceType": "instance", "Tags": tag_list(tags)}])["Instances"][0]
        iid = instance["InstanceId"]
        instance_ids[name] = iid
        ids["aws_instance"][iid] = name
        janitor["aws_instance"][name] = category
        if managed:
            resources.append(state_resource("aws_instance", "vm", {
                "arn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{iid}", "id": iid, "ami": image, "instance_type": "t3.micro",
                "vpc_security_group_ids": [g["GroupId"] for g in instance.get("SecurityGroups", [])],
                "iam_instance_profile": "", "disable_api_termination": False, "monitoring": False,
                "metadata_options": [{"http_endpoint": "enabled", "http_tokens": "required", "http_put_response_hop_limit": 1,
                                      "instance_metadata_tags": "disabled"}],
                "tags": tags, "tags_all": tags}, index_key=name))

    # S3 buckets: versioning and public-access block on everywhere (compliant).
    layout = janitor_layout(sizes["s3"], "bucket")
    drift_s3 = drift_plan("s3", [name for name, _, managed, _ in layout if managed])
    versions = 0
    for name, category, managed, tags in layout:
        s3.create_bucket(Bucket=name)
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tag_list(tags)})
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=FULL_BLOCK)
        janitor["aws_s3_bucket"][name] = category
        if category == "candidate":
            keys = max(1, objects - 1)  # at least one key overwritten: an older version to delete too
            for index in range(objects):
                s3.put_object(Bucket=name, Key=f"data/part-{index % keys}.csv", Body=f"v{index}".encode())
                versions += 1
        if managed:
            key = name.replace("-", "_")
            resources.append(state_resource("aws_s3_bucket", key, {
                "arn": f"arn:aws:s3:::{name}", "bucket": name, "id": name, "force_destroy": False, "tags": tags, "tags_all": tags}))
            resources.append(state_resource("aws_s3_bucket_versioning", key, {
                "bucket": name, "id": name, "expected_bucket_owner": "", "mfa": None,
                "versioning_configuration": [{"mfa_delete": "", "status": "Enabled"}]}))
            resources.append(state_resource("aws_s3_bucket_public_access_block", key, {
                "bucket": name, "id": name, "block_public_acls": True, "block_public_policy": True,
                "ignore_public_acls": True, "restrict_public_buckets": True}))

    # RDS instances.
    layout = plain_layout(sizes["rds"], "db")
    drift_rds = drift_plan("rds", [name for name, _, managed, _ in layout if managed])
    for name, _, managed, tags in layout:
        rds.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres", MasterUsername="admin",
                               MasterUserPassword="not-a-secret-1", AllocatedStorage=20, PubliclyAccessible=False,
                               StorageEncrypted=True, BackupRetentionPeriod=7, DeletionProtection=False, Tags=tag_list(tags))
        if managed:
            resources.append(state_resource("aws_db_instance", name.replace("-", "_"), {
                "arn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{name}", "id": name, "identifier": name,
                "instance_class": "db.t3.micro", "engine": "postgres", "publicly_accessible": False, "storage_encrypted": True,
                "deletion_protection": False, "backup_retention_period": 7, "password": None, "tags": tags, "tags_all": tags}))

    # IAM roles.
    layout = plain_layout(sizes["iam"], "role")
    drift_iam = drift_plan("iam", [name for name, _, managed, _ in layout if managed])
    for name, _, managed, tags in layout:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST), MaxSessionDuration=3600, Tags=tag_list(tags))
        if managed:
            resources.append(state_resource("aws_iam_role", name.replace("-", "_"), {
                "arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "id": name, "name": name,
                "assume_role_policy": json.dumps(TRUST, separators=(",", ":")), "max_session_duration": 3600, "path": "/",
                "tags": tags, "tags_all": tags}))

    state = {"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "driftguard-bench-compare",
             "outputs": {}, "resources": resources}
    with open(os.path.join(out_dir, "terraform.tfstate"), "w") as handle:
        json.dump(state, handle)

    # Drift, applied after the state was written (as a console session would).
    by_name = {v: k for k, v in ids["aws_security_group"].items()}
    for name, rule in drift.items():
        port = 3389 if rule.endswith("/3389") else 22
        ec2.authorize_security_group_ingress(GroupId=by_name[name], IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        expected.setdefault("sg-open-ssh-rdp", []).append(name)
    for name in drift_ec2:
        ec2.modify_instance_metadata_options(InstanceId=instance_ids[name], HttpTokens="optional")
        expected.setdefault("ec2-imdsv1", []).append(name)
    for name, rule in drift_s3.items():
        if rule == "s3-versioning":
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Suspended"})
        else:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={**FULL_BLOCK, "BlockPublicAcls": False})
        expected.setdefault(rule, []).append(name)
    for name in drift_rds:
        rds.modify_db_instance(DBInstanceIdentifier=name, PubliclyAccessible=True, ApplyImmediately=True)
        expected.setdefault("rds-public", []).append(name)
    for name in drift_iam:
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(WIDENED))
        expected.setdefault("iam-trust-widened", []).append(name)

    manifest = {
        "sizes": sizes,
        "objects_per_candidate_bucket": objects,
        "object_versions": versions,
        "managed_in_state": len([r for r in resources if r["type"] in
                                 ("aws_instance", "aws_s3_bucket", "aws_security_group", "aws_db_instance", "aws_iam_role")]),
        "ids": ids,
        "expected_findings": {rule: sorted(names) for rule, names in sorted(expected.items())},
        "janitor": janitor,
        "expected_deleted": {rtype: sorted(n for n, c in cats.items() if c == "candidate") for rtype, cats in janitor.items()},
        "seconds": round(time.monotonic() - started, 1),
    }
    with open(os.path.join(out_dir, "manifest.json"), "w") as handle:
        json.dump(manifest, handle, indent=1)
    return manifest


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("endpoint")
    parser.add_argument("out_dir")
    for kind, default in (("ec2", 300), ("s3", 200), ("sg", 100), ("rds", 20), ("iam", 100)):
        parser.add_argument(f"--{kind}", type=int, default=default)
    parser.add_argument("--objects", type=int, default=3, help="object versions in each candidate bucket")
    args = parser.parse_args()
    sizes = {k: getattr(args, k) for k in ("ec2", "s3", "sg", "rds", "iam")}
    manifest = seed(args.endpoint, args.out_dir, sizes, args.objects)
    print(json.dumps({"sizes": sizes, "managed_in_state": manifest["managed_in_state"],
                      "expected_findings": {k: len(v) for k, v in manifest["expected_findings"].items()},
                      "expected_deleted": {k: len(v) for k, v in manifest["expected_deleted"].items()},
                      "seconds": manifest["seconds"]}))


if __name__ == "__main__":
    main()
