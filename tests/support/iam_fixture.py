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

Usage: iam_fixture.py --endpoint URL [--enforce]
       iam_fixture.py --endpoint URL --auth on|off
Prints {"detect": {"user", "access_key_id", "secret_access_key", "policy_arn"},
        "full": {...}, "admin": {"user", "access_key_id", "secret_access_key"}}.
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--enforce", action="store_true", help="turn enforcement on once the users exist")
    parser.add_argument("--auth", choices=["on", "off"], help="only turn enforcement on or off")
    args = parser.parse_args()
    endpoint = args.endpoint.rstrip("/")
    if args.auth:
        print(json.dumps(set_auth(endpoint, args.auth == "on")))
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
