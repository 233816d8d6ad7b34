"""Head-to-head: DriftGuard versus Cloud Custodian (c7n) on the same moto inventory.

Run through bench/compare (which prepares both venvs). Two phases, each tool on a freshly
started and freshly seeded moto server (tests/support/moto_server.py, 127.0.0.1 only):

  A  inventory and filter: Custodian policies listing ec2, s3, security-group, rds and
     iam-role and filtering them as the benchmark's DriftGuard classification rules do,
     versus `driftguard detect --once` (dry run) over the seeded Terraform state;
  B  cleanup: Custodian policies terminating and deleting (remove-contents) the expired,
     prefixed, unprotected, unmanaged instances and buckets, versus `driftguard janitor
     --once` run twice (the first run marks, the second deletes: grace_period 0s), the
     two runs measured together.

For each run: wall time, client CPU (user + sys of the tool's process tree, from wait4),
peak RSS (ru_maxrss), API calls and mutations counted at the emulator, the emulator's
own CPU. The results are checked against each other and against the seed's manifest; a
phase whose tools disagree gets no speed figure. Writes one markdown file and prints it.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import boto3

from benchlib import launched, usage_of

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ACCOUNT = "123456789012"
REGION = "us-east-1"
DEFAULT_SIZES = {"ec2": 300, "s3": 200, "sg": 100, "rds": 20, "iam": 100}
RULES = ["sg-open-ssh-rdp", "s3-versioning", "s3-public-block", "rds-public", "iam-trust-widened", "ec2-imdsv1"]

# Phase A: DriftGuard's classification rules, one control id per benchmark rule.
DG_RULES = """classification:
  default_severity: low
  rules:
    - name: sg-open-ssh-rdp
      match:
        resource_type: ["aws_security_group", "aws_vpc_security_group_ingress_rule"]
        attribute: ["ingress*", "cidr_ipv4", "cidr_ipv6"]
        actual_matches: '(tcp (22-22|3389-3389|0-65535)|-1 all) from (0\\.0\\.0\\.0/0|::/0)'
      severity: critical
      controls: ["bench:sg-open-ssh-rdp"]
    - name: s3-public-block
      match:
        resource_type: [aws_s3_bucket_public_access_block]
      severity: critical
      controls: ["bench:s3-public-block"]
    - name: s3-versioning
      match:
        resource_type: [aws_s3_bucket_versioning]
      severity: high
      controls: ["bench:s3-versioning"]
    - name: rds-public
      match:
        resource_type: [aws_db_instance]
        attribute: [publicly_accessible]
      severity: critical
      controls: ["bench:rds-public"]
    - name: iam-trust-widened
      match:
        resource_type: [aws_iam_role]
        attribute: [assume_role_policy]
      severity: high
      controls: ["bench:iam-trust-widened"]
    - name: ec2-imdsv1
      match:
        resource_type: [aws_instance]
        attribute: [metadata_options.http_tokens]
      severity: high
      controls: ["bench:ec2-imdsv1"]
"""

# Phase A: the same rules as Custodian filters on the live configuration. Both s3
# policies name the same augment keys: Custodian's resource cache is keyed without them,
# so the second policy reuses the first one's listing only when both fetch the same.
C7N_FILTER = """policies:
  - name: sg-open-ssh-rdp
    resource: security-group
    filters:
      - or:
          - {type: ingress, Ports: [22, 3389], Cidr: {value: "0.0.0.0/0"}}
          - {type: ingress, Ports: [22, 3389], CidrV6: {value: "::/0"}}
          - {type: ingress, IpProtocol: "-1", Cidr: {value: "0.0.0.0/0"}}
  - name: s3-versioning
    resource: s3
    query:
      - augment-keys: [Versioning]
    filters:
      - {type: value, key: Versioning.Status, op: ne, value: Enabled}
  - name: s3-public-block
    resource: s3
    query:
      - augment-keys: [Versioning]
    filters:
      - type: check-public-block
  - name: rds-public
    resource: rds
    filters:
      - PubliclyAccessible: true
  - name: iam-trust-widened
    resource: iam-role
    filters:
      - {type: value, key: "AssumeRolePolicyDocument.Statement[].Principal.AWS", op: contains, value: "*"}
  - name: ec2-imdsv1
    resource: ec2
    filters:
      - {type: value, key: MetadataOptions.HttpTokens, value: optional}
"""

# Phase B: the janitor's hard blocks as Custodian filters. Custodian cannot read a
# Terraform state: "managed" is the ManagedBy=terraform tag the seed puts on exactly the
# resources its state declares (what provider default_tags give a real estate). The s3
# delete needs the Versioning augment to empty versioned buckets (without it, it lists
# current objects only and the bucket delete fails as BucketNotEmpty, logged, not raised).
C7N_JANITOR_FILTERS = """      - {type: value, key: "tag:expires-at", value_type: expiration, op: less-than, value: 0}
      - {type: value, key: "tag:Protected", value_type: normalize, op: ne, value: "true"}
      - {"tag:ManagedBy": absent}
"""
C7N_CLEANUP = f"""policies:
  - name: janitor-ec2
    resource: ec2
    filters:
      - {{type: value, key: "tag:Name", op: regex, value: "^dg-"}}
{C7N_JANITOR_FILTERS}    actions:
      - type: terminate
  - name: janitor-s3
    resource: s3
    query:
      - augment-keys: [Versioning]
    filters:
      - {{type: value, key: Name, op: regex, value: "^dg-"}}
{C7N_JANITOR_FILTERS}    actions:
      - type: delete
        remove-contents: true
"""


def dg_policy(work, endpoint, rps, janitor, revenant="0s"):
    head = f"""version: 1
dry_run: {"false" if janitor else "true"}
store:
  path: {work}/driftguard.db
logging:
  format: json
terraform:
  states:
    - name: bench
      backend: local
      paths: ["{work}/terraform.tfstate"]
providers:
  aws:
    - account: "{ACCOUNT}"
      environment: sandbox
      regions: [{REGION}]
      endpoint: {endpoint}
      max_requests_per_second: {rps}
flows:
  - name: report
    steps: [classify, plan, report]
"""
    if not janitor:
        return head + DG_RULES
    return head + f"""protection:
  tags:
    - key: Protected
      values: ["true"]
  name_prefix: dg-
  caps:
    max_deletions_per_run: 1000000
    max_delete_percent: 100
janitor:
  enabled: true
  targets: [aws_s3_bucket, aws_instance]
  default_ttl: 3650d
  grace_period: 0s
  phases: [api]
  revenant_check_after: {revenant}
  delete_allowlist:
    aws: ["{ACCOUNT}"]
"""


class Moto:
    """One moto server (tests/support/moto_server.py) on 127.0.0.1."""

    def __init__(self, python, log):
        self.process = subprocess.Popen([python, os.path.join(ROOT, "tests/support/moto_server.py")],
                                        stdout=subprocess.PIPE, stderr=open(log, "w"), text=True,
                                        env={k: v for k, v in os.environ.items() if not k.startswith("DG_FAULT")})
        self.port = json.loads(self.process.stdout.readline())["port"]
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def stats(self):
        with urllib.request.urlopen(f"{self.endpoint}/_driftguard/stats") as response:
            return json.load(response)

    def cpu(self):
        fields = open(f"/proc/{self.process.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def client(self, service):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")


def measure(moto, cmd, env, log, timeout):
    """Runs cmd to its end: wall, CPU (user + sys of it and every descendant it reaped),
    peak RSS, exit code, and the calls the emulator counted meanwhile."""
    before, emu_before = moto.stats(), moto.cpu()
    # Through measured_run.py: forked from this process (boto3, the seeded data), the tool
    # would report this process's resident set as its own peak.
    usage_file = log + ".usage.json"
    with open(log + ".out", "w") as out, open(log + ".err", "w") as err:
        started = time.monotonic()
        process = subprocess.Popen(launched(cmd, usage_file), env=env, stdout=out, stderr=err, start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(process.pid, signal.SIGKILL))
        timer.start()
        os.wait4(process.pid, 0)
        wall = time.monotonic() - started
        timer.cancel()
    if os.path.exists(usage_file):
        process.returncode, cpu, rss = usage_of(usage_file)
    else:  # killed at the timeout, before the launcher could write
        process.returncode, cpu, rss = -signal.SIGKILL, 0.0, 0.0
    after, emu_after = moto.stats(), moto.cpu()
    ops = {k[5:]: after[k] - before.get(k, 0) for k in after if k.startswith("call ") and after[k] != before.get(k, 0)}
    return {"wall": wall, "cpu": cpu, "rss": rss,
            "code": process.returncode, "calls": after.get("calls", 0) - before.get("calls", 0),
            "mutations": after.get("mutations", 0) - before.get("mutations", 0), "emulator_cpu": emu_after - emu_before,
            "ops": ops}


def combine(runs):
    """Runs measured together: times and calls add up, the peak RSS is the larger."""
    ops = {}
    for run in runs:
        for op, count in run["ops"].items():
            ops[op] = ops.get(op, 0) + count
    return {"wall": sum(r["wall"] for r in runs), "cpu": sum(r["cpu"] for r in runs), "rss": max(r["rss"] for r in runs),
            "code": max(r["code"] for r in runs), "calls": sum(r["calls"] for r in runs),
            "mutations": sum(r["mutations"] for r in runs), "emulator_cpu": sum(r["emulator_cpu"] for r in runs),
            "ops": ops, "runs": runs}


def median_run(runs):
    return sorted(runs, key=lambda r: r["wall"])[len(runs) // 2]


class Bench:
    def __init__(self, args):
        self.args = args
        self.work = args.work or tempfile.mkdtemp(prefix="dg-compare-")
        os.makedirs(self.work, exist_ok=True)
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DRIFTGUARD_"))}
        self.dg_env = {**clean, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true"}
        self.c7n_env = {**clean, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION, "AWS_EC2_METADATA_DISABLED": "true",
                        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}

    def fresh(self, name):
        """A fresh moto server seeded with the inventory; its work directory and manifest."""
        work = os.path.join(self.work, name)
        os.makedirs(work, exist_ok=True)
        moto = Moto(sys.executable, os.path.join(work, "moto.log"))
        sizes = [f"--{k}={v}" for k, v in self.args.sizes.items()]
        seeded = subprocess.run([sys.executable, os.path.join(ROOT, "bench/seed_inventory.py"), moto.endpoint, work, *sizes,
                                 f"--objects={self.args.objects}"], capture_output=True, text=True)
        if seeded.returncode:
            moto.stop()
            sys.exit(f"seeding failed:\n{seeded.stderr}")
        with open(os.path.join(work, "manifest.json")) as handle:
            manifest = json.load(handle)
        print(f"  {name}: seeded in {manifest['seconds']} s ({moto.endpoint})", file=sys.stderr)
        return moto, work, manifest

    def custodian(self, moto, work, policy_text, tag):
        policy = os.path.join(work, f"custodian-{tag}.yaml")
        with open(policy, "w") as handle:
            handle.write(policy_text)
        out = os.path.join(work, f"custodian-{tag}-out")
        shutil.rmtree(out, ignore_errors=True)
        cache = os.path.join(work, f"custodian-{tag}.cache")
        if os.path.exists(cache):
            os.remove(cache)
        env = {**self.c7n_env, "AWS_ENDPOINT_URL": moto.endpoint}
        cmd = [self.args.custodian, "run", "-s", out, "--cache", cache, "-r", REGION, policy]
        result = measure(moto, cmd, env, os.path.join(work, f"custodian-{tag}"), self.args.timeout)
        result["out"] = out
        return result

    def driftguard(self, moto, work, command, tag, janitor):
        policy = os.path.join(work, "driftguard.yaml")
        with open(policy, "w") as handle:
            handle.write(dg_policy(work, moto.endpoint, self.args.dg_rps, janitor, self.args.dg_revenant))
        cmd = [self.args.binary, *command, "--policy", policy]
        return measure(moto, cmd, self.dg_env, os.path.join(work, f"driftguard-{tag}"), self.args.timeout)

    # Phase A ---------------------------------------------------------------------------

    def phase_a(self):
        print("phase A: inventory and filter", file=sys.stderr)
        moto, work, manifest = self.fresh("a-custodian")
        try:
            runs = [self.custodian(moto, work, C7N_FILTER, f"filter-{i}") for i in range(self.args.runs)]
            c7n = median_run(runs)
            c7n["found"] = custodian_matches(c7n["out"], manifest)
        finally:
            moto.stop()
        moto, work, manifest = self.fresh("a-driftguard")
        try:
            runs = []
            for index in range(self.args.runs):
                for leftover in ("driftguard.db", "driftguard.db-wal", "driftguard.db-shm"):
                    if os.path.exists(os.path.join(work, leftover)):
                        os.remove(os.path.join(work, leftover))
                report = os.path.join(work, f"report-{index}.json")
                run = self.driftguard(moto, work, ["detect", "--once", "--report", report], f"detect-{index}", False)
                run["report"] = report
                runs.append(run)
            dg = median_run(runs)
            dg["found"], dg["other"] = driftguard_matches(dg["report"], manifest)
        finally:
            moto.stop()
        return {"custodian": c7n, "driftguard": dg, "expected": manifest["expected_findings"], "manifest": manifest}

    # Phase B ---------------------------------------------------------------------------

    def phase_b(self):
        print("phase B: cleanup", file=sys.stderr)
        moto, work, manifest = self.fresh("b-custodian")
        try:
            c7n = self.custodian(moto, work, C7N_CLEANUP, "cleanup")
            c7n["deleted"] = deleted(moto, manifest)
        finally:
            moto.stop()
        moto, work, manifest = self.fresh("b-driftguard")
        try:
            first = self.driftguard(moto, work, ["janitor", "--once"], "janitor-1", True)
            second = self.driftguard(moto, work, ["janitor", "--once"], "janitor-2", True)
            dg = combine([first, second])
            dg["deleted"] = deleted(moto, manifest)
        finally:
            moto.stop()
        return {"custodian": c7n, "driftguard": dg, "expected": manifest["expected_deleted"], "manifest": manifest}


def custodian_matches(out, manifest):
    """{rule: sorted names} from each Custodian policy's resources.json."""
    found = {}
    for rule in RULES:
        path = os.path.join(out, rule, "resources.json")
        resources = json.load(open(path)) if os.path.exists(path) else []
        names = []
        for r in resources:
            if "GroupName" in r:
                names.append(r["GroupName"])
            elif "DBInstanceIdentifier" in r:
                names.append(r["DBInstanceIdentifier"])
            elif "RoleName" in r:
                names.append(r["RoleName"])
            elif "InstanceId" in r:
                names.append(next((t["Value"] for t in r.get("Tags", []) if t["Key"] == "Name"), r["InstanceId"]))
            else:
                names.append(r["Name"])
        found[rule] = sorted(set(names))
    return found


def driftguard_matches(report, manifest):
    """{rule: sorted names} from the report's findings by control id; and the count of
    every other finding by (resource type, kind, attribute)."""
    with open(report) as handle:
        findings = json.load(handle)["findings"]
    ids = {**manifest["ids"]["aws_instance"], **manifest["ids"]["aws_security_group"]}
    found = {rule: set() for rule in RULES}
    other = {}
    for finding in findings:
        rules = [c.split(":", 1)[1] for c in finding["controls"] if c.startswith("bench:")]
        for rule in rules:
            found[rule].add(ids.get(finding["resource_id"], finding["resource_id"]))
        if not rules:
            key = f"{finding['resource_type']} {finding['kind']}" + (f" {finding['attribute']}" if finding.get("attribute") else "")
            other[key] = other.get(key, 0) + 1
    return {rule: sorted(names) for rule, names in found.items()}, other


def deleted(moto, manifest):
    """{type: sorted names} of the seeded janitor targets no longer there (instances:
    terminated or gone; a bucket that could not be emptied is still there)."""
    s3, ec2 = moto.client("s3"), moto.client("ec2")
    buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
    live = set()
    for page in ec2.get_paginator("describe_instances").paginate():
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                if instance["State"]["Name"] not in ("terminated", "shutting-down"):
                    live.update(t["Value"] for t in instance.get("Tags", []) if t["Key"] == "Name")
    gone = {"aws_instance": sorted(n for n in manifest["janitor"]["aws_instance"] if n not in live),
            "aws_s3_bucket": sorted(n for n in manifest["janitor"]["aws_s3_bucket"] if n not in buckets)}
    return gone


# Report ------------------------------------------------------------------------------


def fmt_time(seconds):
    return f"{seconds:.2f} s"


def ratio(a, b):
    return f"{a / b:.2f}×" if b else "n/a"


def version_of(cmd, env=None):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine():
    model = "unknown"
    memory = ""
    with open("/proc/cpuinfo") as handle:
        for line in handle:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    return {"nproc": len(os.sched_getaffinity(0)), "model": model, "memory": memory,
            "load": " ".join(open("/proc/loadavg").read().split()[:3]), "kernel": platform.release()}


def build_label(binary):
    if os.environ.get("BENCH_BUILD"):
        return os.environ["BENCH_BUILD"]
    if f"{os.sep}debug{os.sep}" in binary:
        return "debug build"
    if f"{os.sep}release{os.sep}" in binary:
        return "release build"
    return "build unknown"


def top_ops(ops, limit=40):
    items = sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{op} {count}" for op, count in items[:limit])
    if len(items) > limit:
        shown += f", … ({len(items) - limit} more operations, {sum(c for _, c in items[limit:])} calls)"
    return shown


def render(args, info, a, b):
    lines = []
    now = info["date"]
    lines.append(f"# DriftGuard versus Cloud Custodian: {now:%Y-%m-%d %H:%M} UTC")
    lines.append("")
    m = info["machine"]
    lines.append(f"- **Command:** `{info['command']}`")
    lines.append(f"- **Machine:** {m['nproc']} CPUs (nproc), {m['model']}, {m['memory']} RAM, Linux {m['kernel']}; "
                 f"load average {info['load_before']} at the start, {info['load_after']} at the end")
    lines.append(f"- **DriftGuard:** {info['dg_version']}, **{info['build']}** (`{args.binary}`); "
                 f"`max_requests_per_second: {args.dg_rps}` (the one-shot default of 20 would measure the pacer); janitor "
                 f"`revenant_check_after: {args.dg_revenant}`")
    lines.append(f"- **Cloud Custodian:** c7n {info['c7n_version']} ({info['c7n_libs']}), "
                 f"resource cache in a fresh file per run")
    lines.append(f"- **Emulator:** moto {info['moto_version']} server (tests/support/moto_server.py), a fresh server "
                 f"seeded by bench/seed_inventory.py for each tool and phase")
    sizes = args.sizes
    manifest = a["manifest"]
    expected_findings = sum(len(v) for v in manifest["expected_findings"].values())
    lines.append(f"- **Inventory:** {sizes['ec2']} EC2 instances, {sizes['s3']} S3 buckets, {sizes['sg']} security groups, "
                 f"{sizes['rds']} RDS instances, {sizes['iam']} IAM roles; {manifest['managed_in_state']} of them in the "
                 f"Terraform state; {expected_findings} seeded violations (drift); cleanup candidates "
                 f"{len(manifest['expected_deleted']['aws_instance'])} instances and "
                 f"{len(manifest['expected_deleted']['aws_s3_bucket'])} buckets "
                 f"({manifest['objects_per_candidate_bucket']} object versions each)")
    if args.runs > 1:
        lines.append(f"- Phase A: median of {args.runs} runs (by wall time) on one seeded server per tool")
    lines.append("")
    lines.append("| phase | tool | wall | client CPU (user+sys) | peak RSS | API calls (at the emulator) | emulator CPU | result |")
    lines.append("| --- | --- | --- | --- | --- | --- | --- | --- |")

    def rows(title, phase, dg_label, agree, summary):
        c, d = phase["custodian"], phase["driftguard"]
        entries = [("Cloud Custodian", c), (dg_label, d)]
        for label, run in entries:
            if agree:
                lines.append(f"| {title} | {label} | {fmt_time(run['wall'])} | {fmt_time(run['cpu'])} | {run['rss']:.1f} MiB | "
                             f"{run['calls']} | {fmt_time(run['emulator_cpu'])} | {summary[label]} |")
            else:
                lines.append(f"| {title} | {label} | — | — | — | — | — | {summary[label]} |")
        if agree:
            lines.append(f"| {title} | **ratio Custodian / DriftGuard** | **{ratio(c['wall'], d['wall'])}** | "
                         f"**{ratio(c['cpu'], d['cpu'])}** | **{ratio(c['rss'], d['rss'])}** | "
                         f"**{ratio(c['calls'], d['calls'])}** | {ratio(c['emulator_cpu'], d['emulator_cpu'])} | |")
        else:
            lines.append(f"| {title} | **no comparison** | | | | | | **results disagree or a run failed: see below** |")

    # Phase A verdict.
    c_found, d_found = a["custodian"]["found"], a["driftguard"]["found"]
    a_agree = all(c_found[r] == d_found[r] for r in RULES) and a["custodian"]["code"] == 0 and a["driftguard"]["code"] in (0, 2)
    a_expected = all(d_found[r] == sorted(a["expected"].get(r, [])) for r in RULES)
    count_c, count_d = sum(len(v) for v in c_found.values()), sum(len(v) for v in d_found.values())
    unmanaged = sum(v for k, v in a["driftguard"]["other"].items() if " unmanaged" in k)
    a_summary = {
        "Cloud Custodian": f"{count_c} matches in {len(RULES)} policies (exit {a['custodian']['code']})",
        "DriftGuard `detect --once`": f"{count_d} findings on the {len(RULES)} rules, + {unmanaged} unmanaged "
                                      f"(exit {a['driftguard']['code']})",
    }
    rows("A: inventory and filter", a, "DriftGuard `detect --once`", a_agree, a_summary)

    # Phase B verdict.
    c_del, d_del = b["custodian"]["deleted"], b["driftguard"]["deleted"]
    b_agree = c_del == d_del and b["custodian"]["code"] == 0 and b["driftguard"]["code"] == 0
    b_expected = d_del == b["expected"]

    def del_text(gone, code):
        return f"deleted {len(gone['aws_instance'])} instances, {len(gone['aws_s3_bucket'])} buckets (exit {code})"

    b_summary = {"Cloud Custodian": del_text(c_del, b["custodian"]["code"]),
                 "DriftGuard `janitor --once` ×2": del_text(d_del, b["driftguard"]["code"])}
    rows("B: cleanup", b, "DriftGuard `janitor --once` ×2", b_agree, b_summary)
    lines.append("")

    lines.append("Ratios above 1× mean Custodian used more. Client CPU and peak RSS come from `wait4` on the tool's "
                 "process (its reaped descendants included), forked from a small launcher (bench/measured_run.py) so "
                 "that the driver's own memory is not counted; API calls are every AWS request the emulator served "
                 "during the run; emulator CPU is the moto server's own CPU time meanwhile.")
    lines.append("")
    lines.append("## Agreement")
    lines.append("")
    a_same = all(c_found[r] == d_found[r] for r in RULES)
    c_expected = all(c_found[r] == sorted(a["expected"].get(r, [])) for r in RULES)
    lines.append(f"Phase A: the tools {'**agree** on every rule' if a_same else '**disagree** (rules marked no)'}; "
                 f"Custodian {'matches' if c_expected else '**does not match**'} and DriftGuard "
                 f"{'matches' if a_expected else '**does not match**'} the seeded violations; exit codes: Custodian "
                 f"{a['custodian']['code']} (0 expected), DriftGuard {a['driftguard']['code']} (2: drift found).")
    lines.append("")
    lines.append("| rule | seeded | Custodian | DriftGuard | same resources |")
    lines.append("| --- | --- | --- | --- | --- |")
    mismatches = []
    for rule in RULES:
        seeded = sorted(a["expected"].get(rule, []))
        same = "yes" if c_found[rule] == d_found[rule] else "**no**"
        lines.append(f"| {rule} | {len(seeded)} | {len(c_found[rule])} | {len(d_found[rule])} | {same} |")
        if c_found[rule] != d_found[rule]:
            only_c = sorted(set(c_found[rule]) - set(d_found[rule]))
            only_d = sorted(set(d_found[rule]) - set(c_found[rule]))
            mismatches.append(f"- {rule}: only Custodian: {', '.join(only_c) or '-'}; only DriftGuard: {', '.join(only_d) or '-'}")
    if mismatches:
        lines.append("")
        lines.extend(mismatches)
    other = a["driftguard"]["other"]
    if other:
        lines.append("")
        lines.append("DriftGuard's other findings (no Custodian counterpart: Custodian does not read Terraform state): "
                     + ", ".join(f"{k}: {v}" for k, v in sorted(other.items())) + ".")
    lines.append("")
    b_same = c_del == d_del
    lines.append(f"Phase B: the tools {'**agree**' if b_same else '**disagree**'} on what was deleted; Custodian "
                 f"{'deleted exactly' if c_del == b['expected'] else '**did not delete exactly**'} and DriftGuard "
                 f"{'deleted exactly' if b_expected else '**did not delete exactly**'} the seeded candidates; exit codes: "
                 f"Custodian {b['custodian']['code']}, DriftGuard {', '.join(str(r['code']) for r in b['driftguard']['runs'])} "
                 f"(0 expected).")
    lines.append("")
    lines.append("| type | candidates | deleted by Custodian | deleted by DriftGuard | same resources |")
    lines.append("| --- | --- | --- | --- | --- |")
    mismatches = []
    for rtype in ("aws_instance", "aws_s3_bucket"):
        same = "yes" if c_del[rtype] == d_del[rtype] else "**no**"
        lines.append(f"| {rtype} | {len(b['expected'][rtype])} | {len(c_del[rtype])} | {len(d_del[rtype])} | {same} |")
        if c_del[rtype] != d_del[rtype]:
            only_c = sorted(set(c_del[rtype]) - set(d_del[rtype]))
            only_d = sorted(set(d_del[rtype]) - set(c_del[rtype]))
            mismatches.append(f"- {rtype}: only Custodian deleted: {', '.join(only_c) or '-'}; "
                              f"only DriftGuard deleted: {', '.join(only_d) or '-'}")
    if mismatches:
        lines.append("")
        lines.extend(mismatches)
    lines.append("")

    lines.append("## Details")
    lines.append("")
    runs = b["driftguard"]["runs"]
    for index, (label, run) in enumerate(zip(("mark", "delete"), runs), start=1):
        lines.append(f"- DriftGuard janitor run {index} ({label}){'' if b_agree else ' (**not a comparison**)'}: "
                     f"{fmt_time(run['wall'])} wall, {fmt_time(run['cpu'])} CPU, "
                     f"{run['rss']:.1f} MiB, {run['calls']} calls ({run['mutations']} mutations), exit {run['code']}: "
                     f"{top_ops(run['ops'])}")
    for title, phase in (("A", a), ("B", b)):
        for label, run in (("Custodian", phase["custodian"]), ("DriftGuard", phase["driftguard"])):
            if not (a_agree if title == "A" else b_agree):
                lines.append(f"- Phase {title}, {label} (measured, **not a comparison**: the results disagree): "
                             f"{fmt_time(run['wall'])} wall, {fmt_time(run['cpu'])} CPU, {run['rss']:.1f} MiB, {run['calls']} calls")
            lines.append(f"- Phase {title}, {label}, calls by operation ({run['calls']}, {run['mutations']} mutations): "
                         f"{top_ops(run['ops'])}")
    lines.append("")
    lines.append("Caveats: wall time is mostly the emulator's (moto answers each request in Python, a few ms each; on "
                 "AWS, latency and throttling would dominate instead), so the API-call and client-CPU columns carry "
                 "more of the comparison than wall time. DriftGuard's janitor marks on its first run and deletes on a "
                 "later one (grace_period 0s here): both runs are in its figures, Custodian deletes in one. "
                 "DriftGuard's detect diffs every managed attribute against the state and reports unmanaged "
                 "resources as well; Custodian evaluates only the filters it is given.")
    return "\n".join(lines) + "\n", a_agree and b_agree


def main():
    parser = argparse.ArgumentParser(description="DriftGuard versus Cloud Custodian on moto; see bench/README.md.")
    parser.add_argument("--binary", default=os.environ.get("BENCH_BIN", os.path.join(ROOT, "target/release/driftguard")))
    parser.add_argument("--custodian", default=os.environ.get("BENCH_CUSTODIAN", "custodian"))
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")),
                        help="multiplies every default size (e.g. 0.1)")
    for kind in DEFAULT_SIZES:
        env = os.environ.get(f"BENCH_{kind.upper()}")
        parser.add_argument(f"--{kind}", type=int, default=int(env) if env else None,
                            help=f"{kind} count (default {DEFAULT_SIZES[kind]} × scale; env BENCH_{kind.upper()})")
    parser.add_argument("--objects", type=int, default=int(os.environ.get("BENCH_OBJECTS", "3")),
                        help="object versions in each cleanup candidate bucket")
    parser.add_argument("--runs", type=int, default=int(os.environ.get("BENCH_RUNS", "1")),
                        help="phase A runs per tool (median by wall time); phase B runs once")
    parser.add_argument("--dg-rps", type=int, default=int(os.environ.get("BENCH_DG_RPS", "100000")),
                        help="DriftGuard's max_requests_per_second for the emulator account")
    parser.add_argument("--dg-revenant", default=os.environ.get("BENCH_DG_REVENANT", "0s"),
                        help="the janitor's revenant_check_after: 0s re-lists at once after deleting; over 5m leaves it "
                             "to a later run (no re-listing in the measured runs)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds before a tool run is killed")
    parser.add_argument("--out", help="markdown file (default bench/results/compare-<date>.md)")
    parser.add_argument("--work", help="keep the runs' files here (default: a temporary directory, removed)")
    args = parser.parse_args()
    args.sizes = {k: getattr(args, k) if getattr(args, k) is not None else max(1, round(v * args.scale))
                  for k, v in DEFAULT_SIZES.items()}
    keep = args.work is not None
    info = {"date": datetime.datetime.now(datetime.timezone.utc), "machine": machine(),
            "load_before": " ".join(open("/proc/loadavg").read().split()[:3]),
            "command": os.environ.get("BENCH_INVOCATION", " ".join(sys.argv)),
            "dg_version": version_of([args.binary, "--version"]), "build": build_label(args.binary),
            "c7n_version": version_of([args.custodian, "version"]),
            "moto_version": version_of([sys.executable, "-c", "import moto; print(moto.__version__)"])}
    c7n_python = os.path.join(os.path.dirname(args.custodian), "python")
    info["c7n_libs"] = version_of([c7n_python, "-c", "import boto3, botocore, sys; print(f'boto3 {boto3.__version__}, "
                                   "botocore {botocore.__version__}, Python {sys.version.split()[0]}')"])
    bench = Bench(args)
    try:
        a = bench.phase_a()
        b = bench.phase_b()
        with open(os.path.join(bench.work, "results.json"), "w") as handle:
            json.dump({"a": a, "b": b}, handle, indent=1)
    finally:
        if not keep:
            shutil.rmtree(bench.work, ignore_errors=True)
    info["load_after"] = " ".join(open("/proc/loadavg").read().split()[:3])
    text, agree = render(args, info, a, b)
    out = args.out or os.path.join(ROOT, "bench/results", f"compare-{info['date']:%Y-%m-%d-%H%M}.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as handle:
        handle.write(text)
    print(text)
    print(f"written to {os.path.relpath(out, os.getcwd())}" + (f"; run files kept in {bench.work}" if keep else ""),
          file=sys.stderr)
    return 0 if agree else 3


if __name__ == "__main__":
    sys.exit(main())
