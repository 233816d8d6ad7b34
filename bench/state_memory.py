"""Peak memory of reading a large Terraform state, two ways:
- the reader alone (parse + index): `engine/examples/state_memory.rs`, built with
  `cargo build --release -p driftguard-engine --example state_memory` and given as READER;
- a whole run: `driftguard detect --once --state FILE` with a generated state of N
  resources, against the same command with a 3-resource state.

The state has the shape of `engine/benches/drift.rs`'s: a third each of security groups
with inline rules (in modules), instances (count) and buckets (for_each). The policy's one
AWS account points at 127.0.0.1:9, where nothing listens: the run reads and places every
state resource, then stops at the account's identity check, so the figure is the state's
cost, not the cloud's. Peak RSS comes from wait4's ru_maxrss. The states are written by
a child process of their own: ru_maxrss counts the pages a child shares with its parent
between fork and exec, so a parent holding the generated state would inflate the figure.
Figures are reported, never asserted.

Usage: python bench/state_memory.py BINARY READER [RESOURCES]  (default 100,000)
"""

import json
import os
import subprocess
import sys
import tempfile

from benchlib import aws_policy, bench_env, measured

PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'


def resource(index):
    if index % 3 == 0:
        rule = {"description": "", "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": False}
        return {"module": f"module.net{index % 50}", "mode": "managed", "type": "aws_security_group", "name": f"sg{index}",
                "provider": PROVIDER, "instances": [{"schema_version": 1, "attributes": {
                    "arn": f"arn:aws:ec2:us-east-1:123456789012:security-group/sg-{index:017x}", "id": f"sg-{index:017x}",
                    "name": f"sg{index}", "description": "managed", "vpc_id": "vpc-1",
                    "ingress": [dict(rule, cidr_blocks=["10.0.0.0/8"], from_port=443, protocol="tcp", to_port=443)],
                    "egress": [dict(rule, cidr_blocks=["0.0.0.0/0"], from_port=0, protocol="-1", to_port=0)],
                    "tags": {"Team": "net"}, "tags_all": {"Team": "net"}}}]}
    if index % 3 == 1:
        return {"mode": "managed", "type": "aws_instance", "name": f"app{index}", "provider": PROVIDER,
                "instances": [{"index_key": index % 7, "schema_version": 1, "attributes": {
                    "arn": f"arn:aws:ec2:us-east-1:123456789012:instance/i-{index:017x}", "id": f"i-{index:017x}",
                    "ami": "ami-1", "instance_type": "t3.micro", "vpc_security_group_ids": ["sg-1", "sg-2"],
                    "iam_instance_profile": "", "disable_api_termination": False, "monitoring": False,
                    "metadata_options": [{"http_tokens": "required"}],
                    "tags": {"Name": f"app{index}"}, "tags_all": {"Name": f"app{index}"}}}]}
    return {"mode": "managed", "type": "aws_s3_bucket", "name": f"b{index}", "provider": PROVIDER,
            "instances": [{"index_key": f"k{index}", "schema_version": 0, "attributes": {
                "arn": f"arn:aws:s3:::bucket-{index}", "bucket": f"bucket-{index}", "id": f"bucket-{index}",
                "tags": {"Team": "data"}, "tags_all": {"Team": "data"}}}]}


def write_state(path, count):
    state = {"version": 4, "terraform_version": "1.9.8", "serial": 1, "lineage": "l", "outputs": {},
             "resources": [resource(index) for index in range(count)]}
    with open(path, "w") as handle:
        json.dump(state, handle, separators=(",", ":"))


def peak(binary, policy, state):
    code, wall, _, rss = measured([binary, "detect", "--once", "--policy", policy, "--state", state], bench_env())
    return rss, wall, code


def main():
    if sys.argv[1] == "--write":
        write_state(sys.argv[2], int(sys.argv[3]))
        return
    binary, reader = sys.argv[1], sys.argv[2]
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    work = tempfile.mkdtemp(prefix="dg-state-")
    policy = os.path.join(work, "policy.yaml")
    with open(policy, "w") as handle:
        handle.write(aws_policy(work, "http://127.0.0.1:9"))
    small, big = os.path.join(work, "small.tfstate"), os.path.join(work, "big.tfstate")
    for path, resources in ((small, 3), (big, count)):
        subprocess.run([sys.executable, __file__, "--write", path, str(resources)], check=True)
    size = os.path.getsize(big)
    base_rss, base_wall, base_exit = peak(binary, policy, small)
    rss, wall, code = peak(binary, policy, big)
    mib = size / 2**20
    print(f"| state | file | peak RSS | over the 3-resource run | (over) / file | wall | exit |")
    print(f"| --- | --- | --- | --- | --- | --- | --- |")
    print(f"| 3 resources | - | {base_rss:.1f} MiB | - | - | {base_wall:.2f} s | {base_exit} |")
    print(f"| {count:,} resources | {mib:.1f} MiB | {rss:.1f} MiB | {rss - base_rss:.1f} MiB "
          f"| {(rss - base_rss) / mib:.2f}x | {wall:.2f} s | {code} |")
    print(f"whole run: peak RSS / file size: {rss / mib:.2f}x")
    output = subprocess.run([reader, big], check=True, capture_output=True, text=True).stdout
    fields = dict(field.split("=") for field in output.split())
    reader_peak = int(fields["peak_kib"]) / 1024
    print(f"reader alone (parse + index of {int(fields['resources']):,} resources): peak RSS {reader_peak:.1f} MiB, "
          f"{reader_peak / mib:.2f}x the file")


if __name__ == "__main__":
    main()
