#!/usr/bin/env python3
"""Self-test of fake_terraform.py, the terraform CLI stand-in (not Terraform) for DriftGuard's tests.

Starts the moto server (moto_server.py beside this file), seeds real resources with boto3, writes the
Terraform state they would have, and runs the stand-in through the `terraform` wrapper script in every
mode, checking what really happened in the emulator, the exit codes, the exact stderr, the state file and
the invocation log. Run it with a Python that has moto and boto3:

    ~/.cache/driftguard/venv-emu/bin/python tests/support/fake_terraform_selftest.py

Prints "N passed, 0 failed" and exits 0 when everything holds.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback

import boto3
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))
WRAPPER = os.path.join(HERE, "terraform")
REGION = "us-east-1"
PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}'

LOCK_TEXT = re.compile(
    r"\A\nError: Error acquiring the state lock\n\n"
    r"Error message: resource temporarily unavailable\n"
    r"Lock Info:\n"
    r"  ID:        (?P<id>[^\n]+)\n"
    r"  Path:      terraform\.tfstate\n"
    r"  Operation: OperationTypeApply\n"
    r"  Who:       (?P<who>[^\n]+)\n"
    r"  Version:   1\.9\.8\n"
    r"  Created:   \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC\n"
    r"  Info:      \n"
    r"\n\n"
    r"Terraform acquires a state lock to protect the state from being written\n"
    r"by multiple users at the same time\. Please resolve the issue above and try\n"
    r"again\. For most commands, you can disable locking with the \"-lock=false\"\n"
    r"flag, but this is not recommended\.\n\Z")


class Env:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "moto_server.py")], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.port = json.loads(self.proc.stdout.readline())["port"]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.root = tempfile.mkdtemp(prefix="fake-terraform-selftest-")
        self.env = dict(os.environ, AWS_ENDPOINT_URL=self.endpoint, AWS_ACCESS_KEY_ID="testing",
                        AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=REGION, DG_FAKE_TERRAFORM_PYTHON=sys.executable,
                        PYTHONDONTWRITEBYTECODE="1", PATH=HERE + os.pathsep + os.environ.get("PATH", ""))
        for key in ("DG_FAKE_TERRAFORM_MODE", "DG_FAKE_TERRAFORM_LOG", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
            self.env.pop(key, None)
        kw = dict(endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id="testing",
                  aws_secret_access_key="testing")
        self.s3, self.ec2, self.iam, self.rds = (boto3.client(s, **kw) for s in ("s3", "ec2", "iam", "rds"))
        self.ami = self.ec2.describe_images()["Images"][0]["ImageId"]
        self.count = 0

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def workdir(self, resources, mode=None, main_tf=True):
        self.count += 1
        path = os.path.join(self.root, f"w{self.count}")
        os.makedirs(path)
        state = {"version": 4, "terraform_version": "1.9.8", "serial": 7, "lineage": f"lineage-{self.count}",
                 "outputs": {"name": {"value": "x", "type": "string"}}, "resources": resources, "check_results": None}
        with open(os.path.join(path, "terraform.tfstate"), "w") as handle:
            json.dump(state, handle, indent=2)
        if main_tf:
            blocks = ['provider "aws" {\n  region = "us-east-1"\n}\n']
            for res in resources:
                blocks.append(f'resource "{res["type"]}" "{res["name"]}" {{\n  # ...\n}}\n')
            with open(os.path.join(path, "main.tf"), "w") as handle:
                handle.write("\n".join(blocks))
        if mode is not None:
            with open(os.path.join(path, "fake-terraform.json"), "w") as handle:
                json.dump(mode, handle)
        return path

    def terraform(self, cwd, *args, timeout=60, stdin=subprocess.DEVNULL, env=None):
        return subprocess.run(["terraform", *args], cwd=cwd, env=env or self.env, stdin=stdin, capture_output=True,
                              text=True, timeout=timeout)

    # --- seeding ---

    def bucket(self, name, versions=0):
        self.s3.create_bucket(Bucket=name)
        if versions:
            self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
            for index in range(versions):
                self.s3.put_object(Bucket=name, Key="data.txt", Body=f"v{index}".encode())
            self.s3.put_object(Bucket=name, Key="other.txt", Body=b"o")
            self.s3.delete_object(Bucket=name, Key="data.txt")  # a delete marker on top
        return resource("aws_s3_bucket", name.replace("-", "_"), {"id": name, "bucket": name, "arn": f"arn:aws:s3:::{name}"})

    def instance(self, name, protected=False):
        iid = self.ec2.run_instances(ImageId=self.ami, MinCount=1, MaxCount=1, InstanceType="t3.micro")["Instances"][0]["InstanceId"]
        if protected:
            self.ec2.modify_instance_attribute(InstanceId=iid, DisableApiTermination={"Value": True})
        return resource("aws_instance", name, {"id": iid, "ami": self.ami, "instance_type": "t3.micro",
                                               "disable_api_termination": protected, "tags": {"Name": name}})

    def role(self, name):
        self.iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
        arn = self.iam.create_policy(PolicyName=f"{name}-read", PolicyDocument=POLICY)["Policy"]["Arn"]
        self.iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        self.iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=POLICY)
        self.iam.create_instance_profile(InstanceProfileName=f"{name}-profile")
        self.iam.add_role_to_instance_profile(InstanceProfileName=f"{name}-profile", RoleName=name)
        return resource("aws_iam_role", name.replace("-", "_"), {"id": name, "name": name, "arn": f"arn:aws:iam::123456789012:role/{name}"})

    def db(self, ident, protected=False, **attrs):
        self.rds.create_db_instance(DBInstanceIdentifier=ident, DBInstanceClass="db.t3.micro", Engine="postgres",
                                    MasterUsername="admin1", MasterUserPassword="password-password", AllocatedStorage=20,
                                    DeletionProtection=protected)
        base = {"id": "db-" + ident.upper().replace("-", "")[:20], "identifier": ident, "engine": "postgres",
                "deletion_protection": protected}
        base.update(attrs)
        return resource("aws_db_instance", ident.replace("-", "_"), base)

    # --- probing ---

    def bucket_exists(self, name):
        try:
            self.s3.head_bucket(Bucket=name)
            return True
        except ClientError:
            return False

    def instance_state(self, iid):
        return self.ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"]

    def role_exists(self, name):
        try:
            self.iam.get_role(RoleName=name)
            return True
        except ClientError:
            return False

    def db_exists(self, ident):
        try:
            self.rds.describe_db_instances(DBInstanceIdentifier=ident)
            return True
        except ClientError:
            return False


def resource(rtype, name, attributes):
    return {"mode": "managed", "type": rtype, "name": name, "provider": PROVIDER,
            "instances": [{"schema_version": 0, "attributes": attributes, "sensitive_attributes": []}]}


def read(path, name):
    with open(os.path.join(path, name)) as handle:
        return handle.read()


def log_lines(path):
    return [json.loads(line) for line in read(path, "fake-terraform.log").splitlines()]


def check(condition, message):
    if not condition:
        raise AssertionError(message)


DESTROY = ("destroy", "-auto-approve", "-input=false", "-no-color")


def test_version(env):
    out = env.terraform(env.root, "version")
    check(out.returncode == 0 and out.stdout == "Terraform v1.9.8\non linux_amd64\n", repr(out))


def test_init(env):
    path = env.workdir([])
    out = env.terraform(path, "init", "-input=false", "-no-color")
    check(out.returncode == 0, repr(out))
    check("Terraform has been successfully initialized!" in out.stdout, out.stdout)
    check(os.path.exists(os.path.join(path, ".terraform.lock.hcl")), "no lock file")
    again = env.terraform(path, "init", "-input=false", "-no-color")
    check(again.returncode == 0 and "Reusing previous version of hashicorp/aws" in again.stdout, again.stdout)


def test_success(env):
    bucket = env.bucket("dg-success-logs", versions=3)
    instance = env.instance("web")
    role = env.role("dg-success-role")
    db = env.db("dg-success-db", skip_final_snapshot=True)
    gone = resource("aws_s3_bucket", "gone", {"id": "dg-never-existed", "bucket": "dg-never-existed"})
    path = env.workdir([bucket, instance, role, db, gone])
    before = read(path, "terraform.tfstate")
    out = env.terraform(path, *DESTROY)
    check(out.returncode == 0, out.stdout + out.stderr)
    check(out.stderr == "", out.stderr)
    iid = instance["instances"][0]["attributes"]["id"]
    for line in ("aws_s3_bucket.gone: Refreshing state... [id=dg-never-existed]",
                 "Plan: 0 to add, 0 to change, 4 to destroy.",
                 "aws_s3_bucket.dg_success_logs: Destroying... [id=dg-success-logs]",
                 "aws_s3_bucket.dg_success_logs: Destruction complete after 0s",
                 f"aws_instance.web: Destroying... [id={iid}]",
                 "aws_iam_role.dg_success_role: Destruction complete after 0s"):
        check(line + "\n" in out.stdout, f"missing {line!r} in:\n{out.stdout}")
    check(out.stdout.endswith("\nDestroy complete! Resources: 4 destroyed.\n"), out.stdout[-200:])
    check("aws_s3_bucket.gone: Destroying" not in out.stdout, "a vanished object was destroyed")
    check(not env.bucket_exists("dg-success-logs"), "bucket still there")
    check(env.instance_state(iid) == "terminated", "instance not terminated")
    check(not env.role_exists("dg-success-role"), "role still there")
    check(not env.db_exists("dg-success-db"), "db still there")
    state = json.loads(read(path, "terraform.tfstate"))
    check(state["resources"] == [] and state["serial"] == 8 and state["lineage"].startswith("lineage-"), state)
    check(state["outputs"] == {}, state["outputs"])
    check(read(path, "terraform.tfstate.backup") == before, "backup is not the prior state")
    check(not os.path.exists(os.path.join(path, ".terraform.tfstate.lock.info")), "lock info left behind")
    (entry,) = log_lines(path)
    check(entry["argv"] == list(DESTROY) and entry["result"] == "success" and entry["exit_code"] == 0, entry)
    check(entry["cwd"] == os.path.realpath(path) and entry["mode"] == "success", entry)
    check(len(entry["destroyed"]) == 4 and entry["remaining"] == [], entry)


def test_chdir_and_final_snapshot(env):
    db = env.db("dg-snap-db", skip_final_snapshot=False, final_snapshot_identifier="dg-snap-final")
    path = env.workdir([db])
    out = env.terraform(env.root, f"-chdir={path}", *DESTROY)
    check(out.returncode == 0, out.stdout + out.stderr)
    check(not env.db_exists("dg-snap-db"), "db still there")
    snaps = [s["DBSnapshotIdentifier"] for s in env.rds.describe_db_snapshots()["DBSnapshots"]]
    check("dg-snap-final" in snaps, snaps)
    check(log_lines(path)[0]["argv"][0] == f"-chdir={path}", "log not in the -chdir directory")


def test_fail(env):
    bucket = env.bucket("dg-fail-bucket")
    path = env.workdir([bucket], mode={"mode": "fail"})
    before = read(path, "terraform.tfstate")
    out = env.terraform(path, *DESTROY)
    check(out.returncode == 1, repr(out))
    check(out.stdout == "", out.stdout)
    pattern = (r"\A\nError: Retrieving AWS account details: validating provider credentials: retrieving caller identity "
               r"from STS: operation error STS: GetCallerIdentity, https response error StatusCode: 403, RequestID: "
               r"[0-9a-f-]{36}, api error InvalidClientTokenId: The security token included in the request is "
               r"invalid\.\n\n"
               r"  with provider\[\"registry\.terraform\.io/hashicorp/aws\"\],\n"
               r"  on main\.tf line 1, in provider \"aws\":\n"
               r"   1: provider \"aws\" \{\n\n\Z")
    check(re.match(pattern, out.stderr), repr(out.stderr))
    check(env.bucket_exists("dg-fail-bucket"), "fail mode deleted the bucket")
    check(read(path, "terraform.tfstate") == before, "fail mode touched the state")
    check(log_lines(path)[0]["result"] == "error", log_lines(path))


def test_lock(env):
    bucket = env.bucket("dg-lock-bucket")
    path = env.workdir([bucket], mode={"mode": "lock", "lock_info": {"who": "alice@laptop"}})
    before = read(path, "terraform.tfstate")
    started = time.monotonic()
    out = env.terraform(path, *DESTROY, "-lock-timeout=30s")
    check(time.monotonic() - started < 10, "lock mode waited without lock_release_after")
    check(out.returncode == 1, repr(out))
    check(out.stdout == "Acquiring state lock. This may take a few moments...\n", repr(out.stdout))
    match = LOCK_TEXT.match(out.stderr)
    check(match and match.group("who") == "alice@laptop", repr(out.stderr))
    check(env.bucket_exists("dg-lock-bucket"), "lock mode deleted the bucket")
    check(read(path, "terraform.tfstate") == before, "lock mode touched the state")
    check(log_lines(path)[0]["result"] == "locked", log_lines(path))
    # -lock-timeout=0s (Terraform's default): no "Acquiring" line either
    out = env.terraform(path, *DESTROY)
    check(out.returncode == 1 and out.stdout == "" and LOCK_TEXT.match(out.stderr), repr(out))
    # -lock=false skips the lock altogether, as in Terraform
    out = env.terraform(path, *DESTROY, "-lock=false")
    check(out.returncode == 0 and not env.bucket_exists("dg-lock-bucket"), out.stdout + out.stderr)


def test_lock_released_in_time(env):
    bucket = env.bucket("dg-lock-release")
    path = env.workdir([bucket], mode={"mode": "lock", "lock_release_after": 1})
    started = time.monotonic()
    out = env.terraform(path, *DESTROY, "-lock-timeout=5s")
    check(out.returncode == 0 and time.monotonic() - started >= 1, out.stdout + out.stderr)
    check(out.stdout.startswith("Acquiring state lock. This may take a few moments...\n"), out.stdout[:200])
    check(not env.bucket_exists("dg-lock-release"), "bucket still there")
    # released later than the timeout: fails like a held lock
    bucket = env.bucket("dg-lock-late")
    path = env.workdir([bucket], mode={"mode": "lock", "lock_release_after": 10})
    out = env.terraform(path, *DESTROY, "-lock-timeout=1s")
    check(out.returncode == 1 and LOCK_TEXT.match(out.stderr), repr(out))
    check(env.bucket_exists("dg-lock-late"), "bucket deleted")


def test_hang_killed_by_timeout(env):
    bucket = env.bucket("dg-hang-bucket")
    path = env.workdir([bucket], mode={"mode": "hang"})
    before = read(path, "terraform.tfstate")
    started = time.monotonic()
    try:
        env.terraform(path, *DESTROY, timeout=4)
        raise AssertionError("hang mode returned")
    except subprocess.TimeoutExpired as exc:  # subprocess.run killed it (SIGKILL)
        output = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
    check(time.monotonic() - started < 10, "the kill was not prompt")
    check("aws_s3_bucket.dg_hang_bucket: Destroying... [id=dg-hang-bucket]\n" in output, output)
    check(env.bucket_exists("dg-hang-bucket"), "hang mode deleted the bucket")
    check(read(path, "terraform.tfstate") == before, "hang mode touched the state")
    entry = log_lines(path)[0]
    check(entry["result"] == "hanging" and entry["hanging_on"] == "aws_s3_bucket.dg_hang_bucket", entry)
    # a SIGKILLed Terraform leaves its lock info file behind; the fcntl lock died with it
    check(os.path.exists(os.path.join(path, ".terraform.tfstate.lock.info")), "lock info vanished")


def test_hang_sigterm_and_real_lock(env):
    bucket = env.bucket("dg-hang-term")
    path = env.workdir([bucket], mode={"mode": "hang"})
    proc = subprocess.Popen(["terraform", *DESTROY], cwd=path, env=env.env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if os.path.exists(os.path.join(path, "fake-terraform.log")):
            break
        time.sleep(0.1)
    check(os.path.exists(os.path.join(path, "fake-terraform.log")), "the hang never started")
    holder = json.loads(read(path, ".terraform.tfstate.lock.info"))
    # A second run meets the first one's real fcntl lock (mode forced to success for it).
    second = env.terraform(path, *DESTROY, env=dict(env.env, DG_FAKE_TERRAFORM_MODE="success"))
    match = LOCK_TEXT.match(second.stderr)
    check(second.returncode == 1 and match and match.group("id") == holder["ID"], repr(second))
    check(env.bucket_exists("dg-hang-term"), "bucket deleted under a held lock")
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=10)
    check(time.monotonic() - started < 5, "SIGTERM was not prompt")
    check(proc.returncode == 1, proc.returncode)
    check("\nInterrupt received.\nPlease wait for Terraform to exit or data loss may occur.\nGracefully shutting down...\n"
          in stdout, stdout)
    check(stderr == "\nError: execution halted\n\n", repr(stderr))
    check(env.bucket_exists("dg-hang-term"), "interrupted hang deleted the bucket")
    check(not os.path.exists(os.path.join(path, ".terraform.tfstate.lock.info")), "graceful stop left the lock info")
    events = [entry["event"] for entry in log_lines(path)]
    check(events.count("interrupted") == 1, events)


def test_partial(env):
    resources = [env.bucket(f"dg-partial-{index}") for index in range(3)]
    path = env.workdir(resources, mode={"mode": "partial", "destroy_only": 1})
    out = env.terraform(path, *DESTROY)
    check(out.returncode == 1, repr(out))
    check(out.stdout.count("Destruction complete after") == 1, out.stdout)
    check("Destroy complete!" not in out.stdout, out.stdout)
    pattern = (r"\A\nError: deleting S3 Bucket \(dg-partial-1\): operation error S3: DeleteBucket, https response error "
               r"StatusCode: 403, RequestID: [0-9a-f-]{36}, HostID: [A-Za-z0-9+/=]+, api error AccessDenied: User: "
               r"arn:aws:iam::123456789012:user/driftguard-ci is not authorized to perform: s3:DeleteBucket on resource: "
               r"arn:aws:s3:::dg-partial-1 because no identity-based policy allows the s3:DeleteBucket action\n\n"
               r"  with aws_s3_bucket\.dg_partial_1,\n"
               r"  on main\.tf line 9, in resource \"aws_s3_bucket\" \"dg_partial_1\":\n"
               r"   9: resource \"aws_s3_bucket\" \"dg_partial_1\" \{\n\n\Z")
    check(re.match(pattern, out.stderr), repr(out.stderr))
    check(not env.bucket_exists("dg-partial-0"), "first bucket not deleted")
    check(env.bucket_exists("dg-partial-1") and env.bucket_exists("dg-partial-2"), "partial deleted too much")
    state = json.loads(read(path, "terraform.tfstate"))
    names = [res["name"] for res in state["resources"]]
    check(names == ["dg_partial_1", "dg_partial_2"] and state["serial"] == 8, state)
    entry = log_lines(path)[0]
    check(entry["result"] == "partial" and entry["destroyed"] == ["aws_s3_bucket.dg_partial_0"], entry)
    check(entry["failed"] == ["aws_s3_bucket.dg_partial_1"], entry)


def test_protection(env):
    instance = env.instance("guarded", protected=True)
    db = env.db("dg-guarded-db", protected=True, skip_final_snapshot=True)
    bucket = env.bucket("dg-unguarded")
    path = env.workdir([instance, db, bucket])
    out = env.terraform(path, *DESTROY)
    iid = instance["instances"][0]["attributes"]["id"]
    check(out.returncode == 1, repr(out))
    check(f"\nError: terminating EC2 Instance ({iid}): operation error EC2: TerminateInstances, https response error "
          "StatusCode: 400, RequestID: " in out.stderr, out.stderr)
    check(f"api error OperationNotPermitted: The instance '{iid}' may not be terminated. Modify its "
          "'disableApiTermination' instance attribute and try again.\n\n  with aws_instance.guarded,\n" in out.stderr, out.stderr)
    check("\nError: deleting RDS DB Instance (dg-guarded-db): operation error RDS: DeleteDBInstance, https response error "
          "StatusCode: 400" in out.stderr, out.stderr)
    check("api error InvalidParameterCombination: Cannot delete protected DB Instance, please disable deletion protection "
          "and try again.\n" in out.stderr, out.stderr)
    # Terraform carries on with what does not depend on the failures
    check("aws_s3_bucket.dg_unguarded: Destruction complete after" in out.stdout, out.stdout)
    check(not env.bucket_exists("dg-unguarded"), "unguarded bucket not deleted")
    check(env.instance_state(iid) == "running" and env.db_exists("dg-guarded-db"), "protection ignored")
    state = json.loads(read(path, "terraform.tfstate"))
    check(sorted(res["type"] for res in state["resources"]) == ["aws_db_instance", "aws_instance"], state)
    # the provider's own rule: force_destroy lifts termination protection
    instance["instances"][0]["attributes"]["force_destroy"] = True
    path = env.workdir([instance])
    out = env.terraform(path, *DESTROY)
    check(out.returncode == 0 and env.instance_state(iid) == "terminated", out.stdout + out.stderr)


def test_no_auto_approve(env):
    bucket = env.bucket("dg-approve")
    path = env.workdir([bucket])
    before = read(path, "terraform.tfstate")
    out = env.terraform(path, "destroy", "-input=false", "-no-color")
    check(out.returncode == 1, repr(out))
    check(out.stdout.endswith("\nDo you really want to destroy all resources?\n"
                              "  Terraform will destroy all your managed infrastructure, as shown above.\n"
                              "  There is no undo. Only 'yes' will be accepted to confirm.\n\n  Enter a value: "), out.stdout)
    check(out.stderr == "\nError: error asking for approval: EOF\n\n", repr(out.stderr))
    check(env.bucket_exists("dg-approve") and read(path, "terraform.tfstate") == before, "destroyed without approval")
    out = subprocess.run(["terraform", "destroy", "-no-color"], cwd=path, env=env.env, input="no\n",
                         capture_output=True, text=True, timeout=60)
    check(out.returncode == 1 and out.stdout.endswith("\nDestroy cancelled.\n"), repr(out))
    check(env.bucket_exists("dg-approve"), "destroyed after 'no'")
    out = subprocess.run(["terraform", "destroy", "-no-color"], cwd=path, env=env.env, input="yes\n",
                         capture_output=True, text=True, timeout=60)
    check(out.returncode == 0 and not env.bucket_exists("dg-approve"), repr(out))


def test_usage_errors(env):
    path = env.workdir([])
    out = env.terraform(path, "destroy", "-force", "-no-color")
    check(out.returncode == 1 and out.stdout == "", repr(out))
    check(out.stderr == "\nError: Failed to parse command-line flags\n\nflag provided but not defined: -force\n\n"
                        "For more help on using this command, run:\n  terraform destroy -help\n", repr(out.stderr))
    out = env.terraform(path, "destroy", "-lock-timeout=soon", "-no-color")
    check(out.returncode == 1 and "invalid value \"soon\" for flag -lock-timeout: parse error\n" in out.stderr, repr(out))
    out = env.terraform(path, "destroy", "-auto-approve", "-destroy", "-no-color")
    check(out.returncode == 1 and "\nError: Invalid mode option\n" in out.stderr, repr(out))
    out = env.terraform(path, "frobnicate")
    check(out.returncode == 1 and 'Terraform has no command named "frobnicate".' in out.stderr, repr(out))
    check([entry["result"] for entry in log_lines(path)] == ["usage_error"] * 3 + ["unknown_command"], log_lines(path))


TESTS = [test_version, test_init, test_success, test_chdir_and_final_snapshot, test_fail, test_lock,
         test_lock_released_in_time, test_hang_killed_by_timeout, test_hang_sigterm_and_real_lock, test_partial,
         test_protection, test_no_auto_approve, test_usage_errors]


def main():
    env = Env()
    passed, failed = 0, 0
    try:
        for test in TESTS:
            started = time.monotonic()
            try:
                test(env)
                passed += 1
                print(f"ok   {test.__name__} ({time.monotonic() - started:.1f}s)", flush=True)
            except Exception:  # noqa: BLE001 - report every failing test, then fail the run
                failed += 1
                print(f"FAIL {test.__name__}", flush=True)
                traceback.print_exc()
    finally:
        env.close()
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
