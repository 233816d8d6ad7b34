#!/usr/bin/env python3
"""A stand-in for the `terraform` CLI, for DriftGuard's tests. It is NOT Terraform.

No terraform binary exists on the machines this project tests on, so the janitor's phase 1 (run the
policy's IaC destroy command, then verify through the cloud API what is really gone) is tested against
this program instead. It mimics Terraform v1.9.8 with the hashicorp/aws provider v6.x and the local
backend, as seen from outside:

- the command line: global `-chdir=DIR`, `-help`, `-version`; subcommands `version` (also `-json`),
  `init`, `destroy`. destroy accepts Terraform's flags (`-auto-approve`, `-input=BOOL`, `-no-color`,
  `-lock=BOOL`, `-lock-timeout=DURATION`, `-refresh=BOOL`, `-parallelism=N`, `-target=ADDR`, `-var`,
  `-var-file`, `-state`, `-state-out`, `-backup`, `-compact-warnings`) with Go `flag` package parsing,
  and rejects unknown ones with Terraform's "Failed to parse command-line flags" diagnostic, exit 1;
- the local state: reads `terraform.tfstate` (format version 4) in the working directory, takes a real
  fcntl lock on it (as Terraform's local backend does, so two concurrent runs collide for real) and
  writes `.terraform.tfstate.lock.info` while it holds it, writes `terraform.tfstate.backup`, and
  rewrites the state in place with what remains (serial + 1);
- destroy: refreshes every managed resource ("Refreshing state..."; objects already gone are dropped
  from state and not counted, as Terraform does), prints the destroy plan, asks for approval unless
  `-auto-approve` (reading stdin even with `-input=false`, as Terraform 1.x does: a closed stdin gives
  "error asking for approval: EOF", anything but "yes" gives "Destroy cancelled."), then really deletes
  each resource from the AWS emulator (moto at `AWS_ENDPOINT_URL`) with boto3, the way the AWS provider
  does, printing "Destroying... / Destruction complete after Ns" and "Destroy complete! Resources: N
  destroyed."; API refusals (termination protection, RDS deletion protection, BucketNotEmpty,
  DeleteConflict) become provider-style errors, exit 1, and the failed resources stay in state;
- diagnostics exactly as Terraform renders them: plain with `-no-color` (the form automation parses),
  boxed and coloured without it; errors on stderr, progress on stdout;
- SIGINT/SIGTERM: "Interrupt received..." then a graceful stop (exit 1); SIGKILL kills it at once.

Supported resource types: aws_s3_bucket, aws_instance, aws_db_instance, aws_iam_role, and the few
sub-resources DriftGuard's fixtures hold (aws_s3_bucket_versioning, aws_s3_bucket_server_side_encryption_
configuration, aws_s3_bucket_public_access_block, aws_security_group, aws_vpc_security_group_ingress_rule,
aws_iam_policy, aws_iam_role_policy_attachment, aws_iam_instance_profile). Any other managed type fails
with an error saying the stand-in does not implement it (never a silent success).

Attributes and the provider's rules: when an attribute is present in state, the provider's own logic
applies (`force_destroy` on aws_s3_bucket, `force_detach_policies`/`managed_policy_arns`/`inline_policy`
on aws_iam_role, `skip_final_snapshot`/`final_snapshot_identifier`/`deletion_protection`/
`apply_immediately`/`delete_automated_backups` on aws_db_instance). Real Terraform always writes them;
when a hand-written state leaves them out, the stand-in is permissive: buckets are emptied (every object
version and delete marker) then deleted, roles are fully detached, DB instances skip the final snapshot.
aws_instance follows provider v6: termination protection blocks the destroy unless `force_destroy: true`.

Failure modes, for tests: a JSON object in `fake-terraform.json` in the working directory, or in the
environment variable DG_FAKE_TERRAFORM_MODE (which wins; it may also be a bare mode name):
  {"mode": "success"}   default: behave as above.
  {"mode": "fail"}      the provider fails to configure (STS InvalidClientTokenId, as Terraform prints it),
                        nothing is refreshed or deleted, exit 1. Override with "error": {"summary", "detail"}.
  {"mode": "lock"}      the state is locked by someone else: Terraform's "Error acquiring the state lock"
                        block (local backend: "resource temporarily unavailable" + Lock Info), exit 1,
                        nothing deleted. Simplification: the stand-in waits only when "lock_release_after"
                        (seconds) is given and is no longer than -lock-timeout; it then sleeps that long and
                        goes on as success. Otherwise it fails at once, where real Terraform would first
                        retry for the whole -lock-timeout ("wait_full_timeout": true restores that wait).
                        "lock_info": {"id","path","operation","who","version","created","info"} overrides
                        the holder shown. -lock=false bypasses the lock, as in Terraform.
  {"mode": "hang"}      starts destroying the first resource and never finishes ("Still destroying..."
                        every 10 s) for "hang_seconds" (default 3600), holding the state lock; nothing is
                        deleted. The caller's timeout must kill it: SIGINT/SIGTERM print Terraform's
                        interrupt message and stop within a second (exit 1); SIGKILL leaves the lock info
                        file behind, as a killed Terraform does.
  {"mode": "partial", "destroy_only": K}
                        destroys the first K resources in destroy order, then fails on the next one with an
                        AccessDenied API error in the provider's words (or "error"), leaves the rest, exit 1.

Every invocation appends one JSON line {"event": "invocation", argv, cwd, subcommand, mode, result,
exit_code, destroyed, failed, remaining, ...} to `fake-terraform.log` in the working directory (or to the
path in DG_FAKE_TERRAFORM_LOG); in hang mode that line is written when the hang starts (result
"hanging"), and a graceful interrupt adds an {"event": "interrupted"} line.

Run it as `<python with boto3> fake_terraform.py destroy -auto-approve ...`, or through the `terraform`
wrapper script beside it (which honours DG_FAKE_TERRAFORM_PYTHON).
"""

import base64
import errno
import fcntl
import getpass
import json
import os
import random
import re
import signal
import socket
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone

TERRAFORM_VERSION = "1.9.8"
PLATFORM = "linux_amd64"
AWS_PROVIDER_VERSION = "6.10.0"
PROVIDER_ADDR = 'provider["registry.terraform.io/hashicorp/aws"]'
STATE_FILE = "terraform.tfstate"
LOCK_INFO_FILE = ".terraform.tfstate.lock.info"
MODE_FILE = "fake-terraform.json"
LOG_FILE = "fake-terraform.log"
COLUMNS = 78  # what Terraform uses when its output is not a terminal

ESC = "\x1b["
COLORS = {"reset": "0", "bold": "1", "red": "31", "green": "32", "yellow": "33"}


class Interrupted(Exception):
    pass


# ------------------------------------------------------------------------------------------- output


class UI:
    """Terraform's streams: stdout for progress, stderr for error diagnostics."""

    def __init__(self, color):
        self.color = color

    def c(self, text):
        """colorstring: [bold], [red], [reset]... become escapes, or vanish under -no-color."""

        def sub(match):
            name = match.group(1)
            if name not in COLORS:
                return match.group(0)
            return "" if not self.color else ESC + COLORS[name] + "m"

        return re.sub(r"\[(\w+)\]", sub, text)

    def out(self, text="", end="\n"):
        sys.stdout.write(text + end)
        sys.stdout.flush()

    def err(self, text):
        sys.stderr.write(text)
        sys.stderr.flush()

    def diagnostic(self, diag, severity="Error"):
        text = render_diagnostic(diag, self.color, severity)
        if severity == "Error":
            self.err(text)
        else:
            self.out(text, end="")


def wrap(line, width):
    """mitchellh/go-wordwrap: break at spaces, never inside a word."""
    if len(line) <= width:
        return line
    out, current = [], ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > width:
            out.append(current)
            current = word
        else:
            current = word if not current else current + " " + word
    out.append(current)
    return "\n".join(out)


def render_diagnostic(diag, color, severity="Error"):
    """format.DiagnosticPlain (with -no-color) or format.Diagnostic (boxed, coloured)."""
    summary, detail = diag["summary"], diag.get("detail", "")
    body = ""
    if diag.get("address"):
        body += f"  with {diag['address']},\n"
    if diag.get("range"):
        filename, line, context, code = diag["range"]
        body += f"  on {filename} line {line}, in {context}:\n" if context else f"  on {filename} line {line}:\n"
        body += f"{line:4d}: {code}\n"
        body += "\n"
    if not color:
        width = COLUMNS
        text = f"\n{severity}: {summary}\n\n" + body
        if detail:
            for line in detail.split("\n"):
                text += (line if line.startswith(" ") else wrap(line, width - 1)) + "\n"
        return text
    hue = "31" if severity == "Error" else "33"
    text = f"{ESC}1m{ESC}{hue}m{severity}: {ESC}0m{ESC}1m{summary}{ESC}0m\n\n" + body
    if detail:
        for line in detail.split("\n"):
            text += (line if line.startswith(" ") else wrap(line, COLUMNS - 3)) + "\n"
    rule_line, rule_start, rule_end = f"{ESC}{hue}m│{ESC}0m ", f"{ESC}{hue}m╷{ESC}0m", f"{ESC}{hue}m╵{ESC}0m"
    out = rule_start + "\n"
    for line in text.split("\n")[:-1] if text.endswith("\n") else text.split("\n"):
        out += (rule_line.rstrip() if line == "" else rule_line) + line + "\n"
    return out + rule_end + "\n"


def help_prompt(ui, command):
    ui.err(f"\nFor more help on using this command, run:\n  terraform {command} -help\n")


# ------------------------------------------------------------------------------------ Go flag package


def parse_go_bool(value):
    if value in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if value in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ValueError("parse error")


DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_go_duration(value):
    """time.ParseDuration, in seconds."""
    text = value
    sign = 1
    if text[:1] in "+-" and text:
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    if text == "0":
        return 0.0
    if not text:
        raise ValueError(f'time: invalid duration "{value}"')
    total = 0.0
    for number, unit in re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)?", text):
        if not unit:
            raise ValueError(f'time: missing unit in duration "{value}"')
        total += float(number) * DURATION_UNITS[unit]
    if re.sub(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)", "", text):
        raise ValueError(f'time: invalid duration "{value}"')
    return sign * total


class FlagError(Exception):
    pass


def parse_flags(args, spec):
    """Go's flag.FlagSet.Parse with ContinueOnError. spec: name -> 'bool'|'string'|'int'|'duration'|'list'.
    Returns (values, positional)."""
    values = {}
    i = 0
    while i < len(args):
        arg = args[i]
        if len(arg) < 2 or arg[0] != "-":
            break
        num_minuses = 1
        if arg[1] == "-":
            num_minuses = 2
            if len(arg) == 2:  # "--" terminates the flags
                i += 1
                break
        name = arg[num_minuses:]
        if not name or name[0] in "-=":
            raise FlagError(f"bad flag syntax: {arg}")
        i += 1
        has_value, value = False, ""
        if "=" in name:
            name, value = name.split("=", 1)
            has_value = True
        if name not in spec:
            if name in ("help", "h"):
                raise FlagError("flag: help requested")
            raise FlagError(f"flag provided but not defined: -{name}")
        kind = spec[name]
        if kind == "bool":
            if has_value:
                try:
                    values[name] = parse_go_bool(value)
                except ValueError:
                    raise FlagError(f'invalid boolean value "{value}" for -{name}: parse error')
            else:
                values[name] = True
            continue
        if not has_value:
            if i >= len(args):
                raise FlagError(f"flag needs an argument: -{name}")
            value = args[i]
            i += 1
        if kind == "duration":
            try:
                values[name] = parse_go_duration(value)
            except ValueError:
                raise FlagError(f'invalid value "{value}" for flag -{name}: parse error')
        elif kind == "int":
            try:
                values[name] = int(value, 0)
            except ValueError:
                raise FlagError(f'invalid value "{value}" for flag -{name}: parse error')
        elif kind == "list":
            values.setdefault(name, []).append(value)
        else:
            values[name] = value
    return values, args[i:]


DESTROY_FLAGS = {
    "auto-approve": "bool", "input": "bool", "json": "bool", "destroy": "bool", "refresh-only": "bool",
    "refresh": "bool", "lock": "bool", "lock-timeout": "duration", "state": "string", "state-out": "string",
    "backup": "string", "parallelism": "int", "target": "list", "replace": "list", "var": "list",
    "var-file": "list", "policies": "list",
}

INIT_FLAGS = {
    "input": "bool", "lock": "bool", "lock-timeout": "duration", "upgrade": "bool", "reconfigure": "bool",
    "migrate-state": "bool", "force-copy": "bool", "backend": "bool", "backend-config": "list", "get": "bool",
    "plugin-dir": "list", "lockfile": "string", "from-module": "string", "json": "bool", "ignore-remote-version": "bool",
}

# ---------------------------------------------------------------------------------------- mode & log


def load_mode():
    raw = os.environ.get("DG_FAKE_TERRAFORM_MODE", "").strip()
    source = "env"
    if not raw and os.path.exists(MODE_FILE):
        with open(MODE_FILE) as handle:
            raw = handle.read().strip()
        source = MODE_FILE
    if not raw:
        return {"mode": "success"}, "default"
    if raw.startswith("{"):
        config = json.loads(raw)
    else:
        config = {"mode": raw}
    config.setdefault("mode", "success")
    if config["mode"] not in ("success", "fail", "lock", "hang", "partial"):
        raise SystemExit(f"fake terraform: unknown mode {config['mode']!r} in {source}")
    return config, source


class Log:
    def __init__(self, argv):
        self.record = {"event": "invocation", "argv": argv, "pid": os.getpid()}
        self.written = False
        self.path = None

    def bind(self, cwd):
        self.record["cwd"] = cwd
        self.path = os.environ.get("DG_FAKE_TERRAFORM_LOG") or os.path.join(cwd, LOG_FILE)

    def write(self, **fields):
        self.record.update(fields)
        self.record["time"] = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
        self._append(self.record)
        self.written = True

    def extra(self, **fields):
        entry = {"pid": os.getpid(), "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds")}
        entry.update(fields)
        self._append(entry)

    def _append(self, entry):
        if not self.path:
            return
        line = json.dumps(entry, sort_keys=True) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


# ------------------------------------------------------------------------------------------ state


def go_time(dt):
    """Go's time.Time.String() for a UTC time: 2024-10-25 12:00:00.123456 +0000 UTC."""
    frac = f"{dt.microsecond:06d}000".rstrip("0")
    return dt.strftime("%Y-%m-%d %H:%M:%S") + (f".{frac}" if frac else "") + " +0000 UTC"


def go_time_from_json(text):
    """RFC 3339 (as Go marshals a time.Time) back to time.Time.String(), keeping the nanoseconds."""
    match = re.match(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?Z$", text or "")
    if not match:
        return text
    frac = (match.group(3) or "").rstrip("0")
    return f"{match.group(1)} {match.group(2)}" + (f".{frac}" if frac else "") + " +0000 UTC"


def go_time_json(dt):
    frac = f"{dt.microsecond:06d}000".rstrip("0")
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def address(res, inst):
    addr = f"{res['type']}.{res['name']}"
    if res.get("mode") == "data":
        addr = "data." + addr
    if res.get("module"):
        addr = f"{res['module']}.{addr}"
    if "index_key" in inst:
        addr += f"[{json.dumps(inst['index_key'])}]"
    return addr


def resource_address(res):
    addr = f"{res['type']}.{res['name']}"
    return f"{res['module']}.{addr}" if res.get("module") else addr


class StateFile:
    """The local backend's state manager: fcntl lock on the state file, in-place writes."""

    def __init__(self, path, out_path, backup_path):
        self.path, self.out_path, self.backup_path = path, out_path, backup_path
        self.fd = None
        self.locked = False
        self.original_text = None
        self.backed_up = False

    def open(self):
        directory = os.path.dirname(self.out_path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        self.fd = os.open(self.out_path, os.O_RDWR | os.O_CREAT, 0o666)

    def try_lock(self):
        try:
            fcntl.lockf(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.locked = True
            return None
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return "resource temporarily unavailable"
            raise

    def write_lock_info(self, info):
        with open(LOCK_INFO_FILE, "w") as handle:
            json.dump(info, handle)

    def unlock(self):
        if self.locked:
            try:
                os.remove(LOCK_INFO_FILE)
            except FileNotFoundError:
                pass
            fcntl.lockf(self.fd, fcntl.LOCK_UN)
            self.locked = False

    def read(self):
        # Read through the locked descriptor: closing any other descriptor of this file would drop the
        # process's fcntl lock (POSIX semantics).
        text = ""
        if os.path.abspath(self.path) == os.path.abspath(self.out_path):
            os.lseek(self.fd, 0, os.SEEK_SET)
            chunks = []
            while True:
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
            text = b"".join(chunks).decode()
        elif os.path.exists(self.path):
            with open(self.path) as handle:
                text = handle.read()
        self.original_text = text
        if not text.strip():
            return None
        state = json.loads(text)
        if state.get("version") != 4:
            raise ValueError(f"unsupported state format version {state.get('version')!r} (the stand-in reads version 4)")
        return state

    def write(self, state):
        if not self.backed_up and self.backup_path != "-" and self.original_text and self.original_text.strip():
            with open(self.backup_path, "w") as handle:
                handle.write(self.original_text)
            self.backed_up = True
        data = json.dumps(state, indent=2) + "\n"
        os.lseek(self.fd, 0, os.SEEK_SET)
        os.ftruncate(self.fd, 0)
        os.write(self.fd, data.encode())
        os.fsync(self.fd)

    def close(self):
        self.unlock()
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# ------------------------------------------------------------------------------------------- config


def find_config_block(kind, *labels):
    """(filename, line, context, code) of `kind "l1" "l2" {` in the root module's *.tf, or None."""
    try:
        names = sorted(n for n in os.listdir(".") if n.endswith(".tf"))
    except OSError:
        return None
    pattern = re.compile(r"^\s*" + re.escape(kind) + "".join(r'\s+"' + re.escape(label) + '"' for label in labels) + r"\s*\{")
    for name in names:
        with open(name, errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                if pattern.match(line):
                    context = f"{kind} " + " ".join(f'"{label}"' for label in labels)
                    return name, number, context, line.rstrip("\n")
    return None


def has_config():
    try:
        return any(n.endswith((".tf", ".tf.json")) for n in os.listdir("."))
    except OSError:
        return False


# -------------------------------------------------------------------------------------------- AWS


class ApiError(Exception):
    """An error a provider function returns: the full message Terraform shows as the summary."""


def sdk_error(exc, service, operation):
    """The string aws-sdk-go-v2 gives for a failed call (smithy OperationError)."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        status = meta.get("HTTPStatusCode") or 400
        request_id = meta.get("RequestId") or str(uuid.uuid4())
        text = f"operation error {service}: {operation}, https response error StatusCode: {status}, RequestID: {request_id}"
        if service == "S3":
            host_id = meta.get("HostId") or base64.b64encode(os.urandom(48)).decode()
            text += f", HostID: {host_id}"
        return text + f", api error {err.get('Code', 'Unknown')}: {err.get('Message', '')}"
    return (f"operation error {service}: {operation}, exceeded maximum number of attempts, 25, "
            f"https response error StatusCode: 0, RequestID: , request send failed, {exc}")


def error_code(exc):
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "")
    return ""


class Aws:
    def __init__(self):
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            sys.stderr.write("fake terraform (a test stand-in, not Terraform): boto3 is not importable by "
                             f"{sys.executable}; set DG_FAKE_TERRAFORM_PYTHON to a Python that has it\n")
            raise SystemExit(1)

        self.endpoint = os.environ.get("AWS_ENDPOINT_URL") or None
        self.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
        self.config = Config(retries={"max_attempts": 10, "mode": "standard"}, connect_timeout=5, read_timeout=60,
                             s3={"addressing_style": "path"})
        self.session = boto3.session.Session(region_name=self.region)
        self.clients = {}
        self.account = "123456789012"

    def client(self, name):
        if name not in self.clients:
            self.clients[name] = self.session.client(name, endpoint_url=self.endpoint, config=self.config)
        return self.clients[name]

    def configure(self):
        """The provider's ConfigureProvider: validate credentials with sts:GetCallerIdentity."""
        from botocore.exceptions import NoCredentialsError

        try:
            self.account = self.client("sts").get_caller_identity()["Account"]
        except NoCredentialsError:
            return {"summary": "No valid credential sources found",
                    "detail": "Please see https://registry.terraform.io/providers/hashicorp/aws\n"
                              "for more information about providing credentials.\n\n"
                              "Error: failed to refresh cached credentials, no EC2 IMDS role found, operation error "
                              "ec2imds: GetMetadata, request canceled, context deadline exceeded\n"}
        except Exception as exc:  # noqa: BLE001 - any failure is a provider configuration error
            return {"summary": "Retrieving AWS account details: validating provider credentials: retrieving caller "
                               "identity from STS: " + sdk_error(exc, "STS", "GetCallerIdentity"), "detail": ""}
        return None


def wait_until(ui, addr, rid, started, predicate, timeout, what):
    """Polls like the provider's StateChangeConf, printing "Still destroying..." every 10 s."""
    next_note = 10
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        now = time.monotonic()
        if now >= deadline:
            raise ApiError(f"{what}: timeout while waiting for state to become 'deleted' (timeout: {int(timeout)}s)")
        elapsed = now - started
        if elapsed >= next_note:
            ui.out(still_line(ui, addr, rid, elapsed))
            next_note += 10
        time.sleep(0.5)


def attr(attrs, key, absent):
    """The attribute as the provider reads it (null is the zero value), or `absent` when a hand-written
    state leaves the key out altogether."""
    return attrs[key] if key in attrs else absent


def still_line(ui, addr, rid, elapsed):
    """views.UiHook's periodic line: "addr: Still destroying... [id=X, 10s elapsed]"."""
    ident = f"id={rid}, " if rid else ""
    return ui.c(f"[reset][bold]{addr}: Still destroying... [{ident}{format_elapsed(elapsed)} elapsed][reset]")


# Each refresh returns True if the object still exists; each destroy deletes it or raises ApiError.


def s3_bucket_name(attrs):
    return attrs.get("bucket") or attrs.get("id")


def refresh_s3_bucket(aws, attrs):
    try:
        aws.client("s3").head_bucket(Bucket=s3_bucket_name(attrs))
        return True
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) in ("404", "NoSuchBucket", "NotFound"):
            return False
        raise ApiError(f"reading S3 Bucket ({attrs.get('id')}): " + sdk_error(exc, "S3", "HeadBucket"))


def empty_bucket(aws, bucket, object_lock):
    s3 = aws.client("s3")
    deleted = 0
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        keys = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for start in range(0, len(keys), 1000):
            chunk = keys[start:start + 1000]
            kwargs = {"Bucket": bucket, "Delete": {"Objects": chunk, "Quiet": True}}
            if object_lock:
                kwargs["BypassGovernanceRetention"] = True
            result = s3.delete_objects(**kwargs)
            if result.get("Errors"):
                first = result["Errors"][0]
                raise RuntimeError(f"deleting S3 Bucket ({bucket}) object ({first.get('Key')}) version "
                                   f"({first.get('VersionId')}): {first.get('Code')}: {first.get('Message')}")
            deleted += len(chunk)
    return deleted


def destroy_s3_bucket(aws, attrs, ui, addr, started):
    bucket, rid = s3_bucket_name(attrs), attrs.get("id")
    force = bool(attr(attrs, "force_destroy", True))
    object_lock = bool(attrs.get("object_lock_enabled")) if "object_lock_enabled" in attrs else False
    s3 = aws.client("s3")
    for _ in range(10):
        try:
            s3.delete_bucket(Bucket=bucket)
        except Exception as exc:  # noqa: BLE001
            code = error_code(exc)
            if code == "NoSuchBucket":
                return
            if code == "BucketNotEmpty" and force:
                try:
                    empty_bucket(aws, bucket, object_lock)
                except Exception as empty_exc:  # noqa: BLE001
                    raise ApiError(f"emptying S3 Bucket ({rid}): " + (sdk_error(empty_exc, "S3", "DeleteObjects")
                                   if error_code(empty_exc) else str(empty_exc)))
                continue
            raise ApiError(f"deleting S3 Bucket ({rid}): " + sdk_error(exc, "S3", "DeleteBucket"))
        wait_until(ui, addr, rid, started, lambda: not refresh_s3_bucket(aws, attrs), 60, f"waiting for S3 Bucket ({rid}) delete")
        return
    raise ApiError(f"deleting S3 Bucket ({rid}): bucket still not empty after repeated emptying")


def instance_state(aws, iid):
    try:
        reservations = aws.client("ec2").describe_instances(InstanceIds=[iid])["Reservations"]
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) == "InvalidInstanceID.NotFound":
            return None
        raise ApiError(f"reading EC2 Instance ({iid}): " + sdk_error(exc, "EC2", "DescribeInstances"))
    for reservation in reservations:
        for instance in reservation["Instances"]:
            return instance["State"]["Name"]
    return None


def refresh_instance(aws, attrs):
    return instance_state(aws, attrs["id"]) not in (None, "terminated")


def destroy_instance(aws, attrs, ui, addr, started):
    iid = attrs["id"]
    ec2 = aws.client("ec2")
    if attrs.get("force_destroy"):
        for attribute in ("DisableApiTermination", "DisableApiStop"):
            try:
                ec2.modify_instance_attribute(InstanceId=iid, **{attribute: {"Value": False}})
            except Exception as exc:  # noqa: BLE001
                if error_code(exc) == "InvalidInstanceID.NotFound":
                    return
                raise ApiError(f"modifying EC2 Instance ({iid}) {attribute[0].lower() + attribute[1:]} attribute: "
                               + sdk_error(exc, "EC2", "ModifyInstanceAttribute"))
    try:
        ec2.terminate_instances(InstanceIds=[iid])
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) == "InvalidInstanceID.NotFound":
            return
        raise ApiError(f"terminating EC2 Instance ({iid}): " + sdk_error(exc, "EC2", "TerminateInstances"))
    wait_until(ui, addr, iid, started, lambda: instance_state(aws, iid) in (None, "terminated"), 1200,
               f"waiting for EC2 Instance ({iid}) delete")


def db_identifier(attrs):
    return attrs.get("identifier") or attrs.get("id")


def refresh_db_instance(aws, attrs):
    try:
        aws.client("rds").describe_db_instances(DBInstanceIdentifier=db_identifier(attrs))
        return True
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) == "DBInstanceNotFound":
            return False
        raise ApiError(f"reading RDS DB Instance ({db_identifier(attrs)}): " + sdk_error(exc, "RDS", "DescribeDBInstances"))


def destroy_db_instance(aws, attrs, ui, addr, started):
    ident = db_identifier(attrs)
    rds = aws.client("rds")
    kwargs = {"DBInstanceIdentifier": ident, "DeleteAutomatedBackups": bool(attr(attrs, "delete_automated_backups", True))}
    if attr(attrs, "skip_final_snapshot", True):
        kwargs["SkipFinalSnapshot"] = True
    else:
        kwargs["SkipFinalSnapshot"] = False
        if not attrs.get("final_snapshot_identifier"):
            raise ApiError("final_snapshot_identifier is required when skip_final_snapshot is false")
        kwargs["FinalDBSnapshotIdentifier"] = attrs["final_snapshot_identifier"]
    try:
        rds.delete_db_instance(**kwargs)
    except Exception as exc:  # noqa: BLE001
        code = error_code(exc)
        message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", ""))
        retried = False
        if code == "InvalidParameterCombination" and "disable deletion pro" in message:
            # The provider turns protection off only when the state says it should be off.
            if "deletion_protection" in attrs and not attrs.get("deletion_protection") and attrs.get("apply_immediately"):
                try:
                    rds.modify_db_instance(DBInstanceIdentifier=ident, DeletionProtection=False, ApplyImmediately=True)
                    rds.delete_db_instance(**kwargs)
                    retried = True
                except Exception as inner:  # noqa: BLE001
                    exc, code = inner, error_code(inner)
        if not retried:
            if code == "DBInstanceNotFound":
                return
            if not (code == "InvalidDBInstanceState" and "is already being deleted" in str(exc)):
                raise ApiError(f"deleting RDS DB Instance ({ident}): " + sdk_error(exc, "RDS", "DeleteDBInstance"))
    wait_until(ui, addr, ident, started, lambda: not refresh_db_instance(aws, attrs), 3600,
               f"waiting for RDS DB Instance ({ident}) delete")


def role_name(attrs):
    return attrs.get("name") or attrs.get("id")


def refresh_iam_role(aws, attrs):
    try:
        aws.client("iam").get_role(RoleName=role_name(attrs))
        return True
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) == "NoSuchEntity":
            return False
        raise ApiError(f"reading IAM Role ({attrs.get('id')}): " + sdk_error(exc, "IAM", "GetRole"))


def destroy_iam_role(aws, attrs, ui, addr, started):
    name = role_name(attrs)
    iam = aws.client("iam")
    force = bool(attr(attrs, "force_detach_policies", True))
    has_managed = bool(attrs.get("managed_policy_arns"))
    has_inline = bool(attrs.get("inline_policy"))
    try:
        for page in iam.get_paginator("list_instance_profiles_for_role").paginate(RoleName=name):
            for profile in page["InstanceProfiles"]:
                iam.remove_role_from_instance_profile(InstanceProfileName=profile["InstanceProfileName"], RoleName=name)
        if force or has_managed:
            for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=name):
                for policy in page["AttachedPolicies"]:
                    iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
        if force or has_inline:
            for page in iam.get_paginator("list_role_policies").paginate(RoleName=name):
                for policy in page["PolicyNames"]:
                    iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)
    except Exception as exc:  # noqa: BLE001
        if error_code(exc) == "NoSuchEntity":
            return
        operation = getattr(exc, "operation_name", "DeleteRole")
        raise ApiError(f"deleting IAM Role ({attrs.get('id')}): " + sdk_error(exc, "IAM", operation))


def simple(service, operation, prefix, call, gone_codes):
    """A destroy that is one API call, a NotFound that means done, and an optional refresh."""

    def destroy(aws, attrs, ui, addr, started):
        try:
            call(aws, attrs)
        except Exception as exc:  # noqa: BLE001
            if error_code(exc) in gone_codes:
                return
            raise ApiError(prefix(attrs) + ": " + sdk_error(exc, service, operation))

    return destroy


def gone_if(codes, service, operation, call, prefix):
    def refresh(aws, attrs):
        try:
            return call(aws, attrs)
        except Exception as exc:  # noqa: BLE001
            if error_code(exc) in codes:
                return False
            raise ApiError(prefix(attrs) + ": " + sdk_error(exc, service, operation))

    return refresh


def sg_exists(aws, attrs):
    return bool(aws.client("ec2").describe_security_groups(GroupIds=[attrs["id"]])["SecurityGroups"])


def sg_rule_exists(aws, attrs):
    return bool(aws.client("ec2").describe_security_group_rules(SecurityGroupRuleIds=[attrs["id"]])["SecurityGroupRules"])


def revoke_sg_rule(aws, attrs):
    aws.client("ec2").revoke_security_group_ingress(GroupId=attrs["security_group_id"], SecurityGroupRuleIds=[attrs["id"]])


def delete_policy(aws, attrs):
    iam = aws.client("iam")
    arn = attrs.get("arn") or attrs["id"]
    for version in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
        if not version["IsDefaultVersion"]:
            iam.delete_policy_version(PolicyArn=arn, VersionId=version["VersionId"])
    iam.delete_policy(PolicyArn=arn)


def delete_instance_profile(aws, attrs):
    iam = aws.client("iam")
    name = attrs.get("name") or attrs["id"]
    for role in iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Roles"]:
        iam.remove_role_from_instance_profile(InstanceProfileName=name, RoleName=role["RoleName"])
    iam.delete_instance_profile(InstanceProfileName=name)


RESOURCE_TYPES = {
    # type: (refresh, destroy, service, operation, error prefix, IAM action, ARN of the object)
    "aws_s3_bucket": (refresh_s3_bucket, destroy_s3_bucket, "S3", "DeleteBucket",
                      lambda a: f"deleting S3 Bucket ({a.get('id')})", "s3:DeleteBucket",
                      lambda aws, a: f"arn:aws:s3:::{s3_bucket_name(a)}"),
    "aws_instance": (refresh_instance, destroy_instance, "EC2", "TerminateInstances",
                     lambda a: f"terminating EC2 Instance ({a.get('id')})", "ec2:TerminateInstances",
                     lambda aws, a: f"arn:aws:ec2:{aws.region}:{aws.account}:instance/{a.get('id')}"),
    "aws_db_instance": (refresh_db_instance, destroy_db_instance, "RDS", "DeleteDBInstance",
                        lambda a: f"deleting RDS DB Instance ({db_identifier(a)})", "rds:DeleteDBInstance",
                        lambda aws, a: f"arn:aws:rds:{aws.region}:{aws.account}:db:{db_identifier(a)}"),
    "aws_iam_role": (refresh_iam_role, destroy_iam_role, "IAM", "DeleteRole",
                     lambda a: f"deleting IAM Role ({a.get('id')})", "iam:DeleteRole",
                     lambda aws, a: f"arn:aws:iam::{aws.account}:role/{role_name(a)}"),
    "aws_s3_bucket_versioning": (
        gone_if({"NoSuchBucket", "404"}, "S3", "HeadBucket", lambda aws, a: bool(aws.client("s3").head_bucket(Bucket=a["bucket"])),
                lambda a: f"reading S3 Bucket Versioning ({a.get('id')})"),
        simple("S3", "PutBucketVersioning", lambda a: f"deleting S3 Bucket Versioning ({a.get('id')})",
               lambda aws, a: aws.client("s3").put_bucket_versioning(
                   Bucket=a["bucket"], VersioningConfiguration={"Status": "Suspended"}), {"NoSuchBucket"}),
        "S3", "PutBucketVersioning", lambda a: f"deleting S3 Bucket Versioning ({a.get('id')})", "s3:PutBucketVersioning",
        lambda aws, a: f"arn:aws:s3:::{a.get('bucket')}"),
    "aws_s3_bucket_server_side_encryption_configuration": (
        gone_if({"NoSuchBucket", "ServerSideEncryptionConfigurationNotFoundError"}, "S3", "GetBucketEncryption",
                lambda aws, a: bool(aws.client("s3").get_bucket_encryption(Bucket=a["bucket"])),
                lambda a: f"reading S3 Bucket Server-side Encryption Configuration ({a.get('id')})"),
        simple("S3", "DeleteBucketEncryption", lambda a: f"deleting S3 Bucket Server-side Encryption Configuration ({a.get('id')})",
               lambda aws, a: aws.client("s3").delete_bucket_encryption(Bucket=a["bucket"]),
               {"NoSuchBucket", "ServerSideEncryptionConfigurationNotFoundError"}),
        "S3", "DeleteBucketEncryption", lambda a: f"deleting S3 Bucket Server-side Encryption Configuration ({a.get('id')})",
        "s3:PutEncryptionConfiguration", lambda aws, a: f"arn:aws:s3:::{a.get('bucket')}"),
    "aws_s3_bucket_public_access_block": (
        gone_if({"NoSuchBucket", "NoSuchPublicAccessBlockConfiguration"}, "S3", "GetPublicAccessBlock",
                lambda aws, a: bool(aws.client("s3").get_public_access_block(Bucket=a["bucket"])),
                lambda a: f"reading S3 Bucket Public Access Block ({a.get('id')})"),
        simple("S3", "DeletePublicAccessBlock", lambda a: f"deleting S3 Bucket Public Access Block ({a.get('id')})",
               lambda aws, a: aws.client("s3").delete_public_access_block(Bucket=a["bucket"]),
               {"NoSuchBucket", "NoSuchPublicAccessBlockConfiguration"}),
        "S3", "DeletePublicAccessBlock", lambda a: f"deleting S3 Bucket Public Access Block ({a.get('id')})",
        "s3:PutBucketPublicAccessBlock", lambda aws, a: f"arn:aws:s3:::{a.get('bucket')}"),
    "aws_security_group": (
        gone_if({"InvalidGroup.NotFound"}, "EC2", "DescribeSecurityGroups", sg_exists,
                lambda a: f"reading Security Group ({a.get('id')})"),
        simple("EC2", "DeleteSecurityGroup", lambda a: f"deleting Security Group ({a.get('id')})",
               lambda aws, a: aws.client("ec2").delete_security_group(GroupId=a["id"]), {"InvalidGroup.NotFound"}),
        "EC2", "DeleteSecurityGroup", lambda a: f"deleting Security Group ({a.get('id')})", "ec2:DeleteSecurityGroup",
        lambda aws, a: f"arn:aws:ec2:{aws.region}:{aws.account}:security-group/{a.get('id')}"),
    "aws_vpc_security_group_ingress_rule": (
        gone_if({"InvalidSecurityGroupRuleId.NotFound", "InvalidGroup.NotFound"}, "EC2", "DescribeSecurityGroupRules",
                sg_rule_exists, lambda a: f"reading VPC Security Group Ingress Rule ({a.get('id')})"),
        simple("EC2", "RevokeSecurityGroupIngress", lambda a: f"deleting VPC Security Group Ingress Rule ({a.get('id')})",
               revoke_sg_rule, {"InvalidSecurityGroupRuleId.NotFound", "InvalidGroup.NotFound", "InvalidPermission.NotFound"}),
        "EC2", "RevokeSecurityGroupIngress", lambda a: f"deleting VPC Security Group Ingress Rule ({a.get('id')})",
        "ec2:RevokeSecurityGroupIngress",
        lambda aws, a: f"arn:aws:ec2:{aws.region}:{aws.account}:security-group/{a.get('security_group_id')}"),
    "aws_iam_policy": (
        gone_if({"NoSuchEntity"}, "IAM", "GetPolicy",
                lambda aws, a: bool(aws.client("iam").get_policy(PolicyArn=a.get("arn") or a["id"])),
                lambda a: f"reading IAM Policy ({a.get('id')})"),
        simple("IAM", "DeletePolicy", lambda a: f"deleting IAM Policy ({a.get('id')})", delete_policy, {"NoSuchEntity"}),
        "IAM", "DeletePolicy", lambda a: f"deleting IAM Policy ({a.get('id')})", "iam:DeletePolicy",
        lambda aws, a: a.get("arn") or a.get("id")),
    "aws_iam_role_policy_attachment": (
        gone_if({"NoSuchEntity"}, "IAM", "ListAttachedRolePolicies",
                lambda aws, a: any(p["PolicyArn"] == a["policy_arn"] for p in
                                   aws.client("iam").list_attached_role_policies(RoleName=a["role"])["AttachedPolicies"]),
                lambda a: f"reading IAM Role Policy Attachment ({a.get('id')})"),
        simple("IAM", "DetachRolePolicy", lambda a: f"detaching IAM Policy ({a.get('policy_arn')}) from IAM Role ({a.get('role')})",
               lambda aws, a: aws.client("iam").detach_role_policy(RoleName=a["role"], PolicyArn=a["policy_arn"]), {"NoSuchEntity"}),
        "IAM", "DetachRolePolicy", lambda a: f"detaching IAM Policy ({a.get('policy_arn')}) from IAM Role ({a.get('role')})",
        "iam:DetachRolePolicy", lambda aws, a: f"arn:aws:iam::{aws.account}:role/{a.get('role')}"),
    "aws_iam_instance_profile": (
        gone_if({"NoSuchEntity"}, "IAM", "GetInstanceProfile",
                lambda aws, a: bool(aws.client("iam").get_instance_profile(InstanceProfileName=a.get("name") or a["id"])),
                lambda a: f"reading IAM Instance Profile ({a.get('id')})"),
        simple("IAM", "DeleteInstanceProfile", lambda a: f"deleting IAM Instance Profile ({a.get('id')})",
               delete_instance_profile, {"NoSuchEntity"}),
        "IAM", "DeleteInstanceProfile", lambda a: f"deleting IAM Instance Profile ({a.get('id')})",
        "iam:DeleteInstanceProfile", lambda aws, a: f"arn:aws:iam::{aws.account}:instance-profile/{a.get('name') or a.get('id')}"),
}

# Without recorded dependencies, what a real configuration's references would order: the things that
# hang off a parent go before it.
TYPE_ORDER = {
    "aws_vpc_security_group_ingress_rule": 0, "aws_s3_bucket_versioning": 0,
    "aws_s3_bucket_server_side_encryption_configuration": 0, "aws_s3_bucket_public_access_block": 0,
    "aws_iam_role_policy_attachment": 0, "aws_instance": 1, "aws_db_instance": 1, "aws_iam_instance_profile": 2,
    "aws_s3_bucket": 3, "aws_iam_role": 3, "aws_iam_policy": 4, "aws_security_group": 4,
}


def injected_error(aws, item):
    """Partial mode's failure: the AccessDenied a least-privilege role gets, in the provider's words."""
    spec = RESOURCE_TYPES.get(item["type"])
    principal = f"arn:aws:iam::{aws.account}:user/driftguard-ci"
    request_id = str(uuid.uuid4())
    if spec is None:
        return f"deleting {item['address']}: AccessDenied"
    _, _, service, operation, prefix, action, arn = spec
    resource = arn(aws, item["attrs"])
    if service == "EC2":
        encoded = base64.b64encode(os.urandom(96)).decode()
        return (prefix(item["attrs"]) + f": operation error EC2: {operation}, https response error StatusCode: 403, "
                f"RequestID: {request_id}, api error UnauthorizedOperation: You are not authorized to perform this "
                f"operation. User: {principal} is not authorized to perform: {action} on resource: {resource} because no "
                f"identity-based policy allows the {action} action. Encoded authorization failure message: {encoded}")
    host = f", HostID: {base64.b64encode(os.urandom(48)).decode()}" if service == "S3" else ""
    return (prefix(item["attrs"]) + f": operation error {service}: {operation}, https response error StatusCode: 403, "
            f"RequestID: {request_id}{host}, api error AccessDenied: User: {principal} is not authorized to perform: "
            f"{action} on resource: {resource} because no identity-based policy allows the {action} action")


# -------------------------------------------------------------------------------------------- plan


def hcl_scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False)


def is_scalar(value):
    return isinstance(value, (str, int, float, bool))


def is_block_list(value):
    return isinstance(value, list) and value and all(isinstance(v, dict) for v in value)


def render_attrs(ui, attrs, indent, sensitive):
    """The structured renderer's destroy view of an object: every non-null attribute `- k = v -> null`."""
    minus = ui.c("[red]-[reset]")
    lines = []
    plain = {k: v for k, v in attrs.items() if v is not None and not is_block_list(v)}
    blocks = {k: v for k, v in attrs.items() if is_block_list(v)}
    width = max((len(k) for k in plain), default=0)
    pad = " " * indent
    for key in sorted(plain):
        value = plain[key]
        head = f"{pad}{minus} {key.ljust(width)} = "
        if key in sensitive:
            lines.append(f"{head}(sensitive value) -> null")
        elif is_scalar(value):
            lines.append(f"{head}{hcl_scalar(value)} -> null")
        elif isinstance(value, dict):
            if not value:
                lines.append(f"{head}{{}} -> null")
                continue
            lines.append(head + "{")
            inner = max(len(json.dumps(k)) for k in value)
            for k in sorted(value):
                v = value[k]
                shown = hcl_scalar(v) if is_scalar(v) else ("null" if v is None else json.dumps(v))
                lines.append(f"{pad}    {minus} {json.dumps(k).ljust(inner)} = {shown}")
            lines.append(f"{pad}  }} -> null")
        elif isinstance(value, list):
            if not value:
                lines.append(f"{head}[] -> null")
                continue
            lines.append(head + "[")
            for v in value:
                shown = hcl_scalar(v) if is_scalar(v) else json.dumps(v)
                lines.append(f"{pad}    {minus} {shown},")
            lines.append(f"{pad}  ] -> null")
    for key in sorted(blocks):
        for block in blocks[key]:
            lines.append(f"{pad}{minus} {key} {{")
            lines.extend(render_attrs(ui, block, indent + 4, set()))
            lines.append(f"{pad}  }}")
    return lines


def render_plan(ui, items):
    ui.out()
    ui.out(wrap("Terraform used the selected providers to generate the following execution plan. Resource "
                "actions are indicated with the following symbols:", COLUMNS))
    ui.out(ui.c("  [red]-[reset] destroy"))
    ui.out()
    ui.out("Terraform will perform the following actions:")
    ui.out()
    for item in items:
        ui.out(ui.c(f"[bold]  # {item['address']}[reset] will be [bold][red]destroyed[reset]"))
        ui.out(ui.c(f'  [red]-[reset] resource "{item["type"]}" "{item["name"]}" {{'))
        sensitive = set()
        for path in item["instance"].get("sensitive_attributes") or []:
            if isinstance(path, list) and path and isinstance(path[0], dict) and path[0].get("type") == "get_attr":
                sensitive.add(path[0].get("value"))
        for line in render_attrs(ui, item["attrs"], 6, sensitive):
            ui.out(line)
        ui.out("    }")
        ui.out()
    ui.out(ui.c(f"[reset][bold]Plan:[reset] 0 to add, 0 to change, {len(items)} to destroy."))


def format_elapsed(seconds):
    """Go's time.Duration String() of a whole number of seconds."""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


def id_suffix(rid):
    if not rid:
        return ""
    rid = str(rid)
    if len(rid) > 80:  # views.truncateId
        rid = rid[:38] + "..." + rid[-39:]
    return f" [id={rid}]"


# ------------------------------------------------------------------------------------------ destroy


def destroy_order(items):
    """Reverse dependency order (an object goes only after everything recorded as depending on it),
    ties broken by TYPE_ORDER then state order."""
    import heapq

    by_address = {}
    for item in items:
        by_address.setdefault(item["resource_address"], []).append(item)
        if item["address"] != item["resource_address"]:
            by_address.setdefault(item["address"], []).append(item)
    pending = {id(item): 0 for item in items}
    for other in items:
        targets = {id(t): t for d in other["deps"] for t in by_address.get(d, []) if t is not other}
        for target_id in targets:
            pending[target_id] += 1
    key = {id(item): (TYPE_ORDER.get(item["type"], 2), item["position"]) for item in items}
    heap = [(key[id(item)], id(item)) for item in items if pending[id(item)] == 0]
    heapq.heapify(heap)
    lookup = {id(item): item for item in items}
    done, ordered = set(), []
    while len(ordered) < len(items):
        if not heap:  # a dependency cycle: take the next by the heuristic
            rest = min((key[i], i) for i in lookup if i not in done)
            heap.append(rest)
        _, chosen_id = heapq.heappop(heap)
        if chosen_id in done:
            continue
        done.add(chosen_id)
        chosen = lookup[chosen_id]
        ordered.append(chosen)
        targets = {id(t): t for d in chosen["deps"] for t in by_address.get(d, []) if t is not chosen}
        for target_id in targets:
            pending[target_id] -= 1
            if pending[target_id] == 0 and target_id not in done:
                heapq.heappush(heap, (key[target_id], target_id))
    return ordered


def collect(state, targets):
    items = []
    position = 0
    for res_index, res in enumerate(state.get("resources", []) if state else []):
        for inst_index, inst in enumerate(res.get("instances", [])):
            addr = address(res, inst)
            position += 1
            if res.get("mode", "managed") != "managed":
                continue
            if targets and not any(addr == t or addr.startswith(t + "[") or addr.startswith(t + ".") or
                                   resource_address(res) == t for t in targets):
                continue
            attrs = inst.get("attributes") or {}
            items.append({"address": addr, "resource_address": resource_address(res), "type": res["type"],
                          "name": res["name"], "res_index": res_index, "inst_index": inst_index, "instance": inst,
                          "attrs": attrs, "id": attrs.get("id"), "deps": set(inst.get("dependencies") or []),
                          "position": position})
    return items


def state_changed(old, new):
    strip = lambda s: {k: v for k, v in s.items() if k not in ("serial", "terraform_version")}  # noqa: E731
    return strip(old) != strip(new)


def remaining_state(state, removed_keys, drop_data):
    """The state without the removed (res_index, inst_index) instances; serial + 1."""
    new = json.loads(json.dumps(state))
    resources = []
    for res_index, res in enumerate(new.get("resources", [])):
        if drop_data and res.get("mode") == "data":
            continue
        res["instances"] = [inst for inst_index, inst in enumerate(res.get("instances", []))
                            if (res_index, inst_index) not in removed_keys]
        if res["instances"]:
            resources.append(res)
    new["resources"] = resources
    new["serial"] = int(new.get("serial", 0)) + 1
    new["terraform_version"] = TERRAFORM_VERSION
    new.setdefault("lineage", str(uuid.uuid4()))
    if drop_data:
        new["outputs"] = {}
    new.setdefault("check_results", None)
    return new


class Destroy:
    def __init__(self, ui, log, mode, opts):
        self.ui, self.log, self.mode, self.opts = ui, log, mode, opts
        self.destroyed, self.failed = [], []
        self.interrupts = 0

    def on_signal(self, signum, frame):
        self.interrupts += 1
        if self.interrupts == 1:
            raise Interrupted()
        self.ui.err("\nTwo interrupts received. Exiting immediately. Note that data loss may have occurred.\n")
        os._exit(1)

    def lock_info(self):
        now = datetime.now(timezone.utc)
        return {"ID": str(uuid.uuid4()), "Operation": "OperationTypeApply", "Info": "",
                "Who": f"{getpass.getuser()}@{socket.gethostname()}", "Version": TERRAFORM_VERSION,
                "Created": go_time_json(now), "Path": self.opts["state_path"]}

    def lock_error(self, err, holder):
        created = holder.get("created") or holder.get("Created") or ""
        detail = (f"Error message: {err}\n"
                  "Lock Info:\n"
                  f"  ID:        {holder.get('id', holder.get('ID', ''))}\n"
                  f"  Path:      {holder.get('path', holder.get('Path', ''))}\n"
                  f"  Operation: {holder.get('operation', holder.get('Operation', ''))}\n"
                  f"  Who:       {holder.get('who', holder.get('Who', ''))}\n"
                  f"  Version:   {holder.get('version', holder.get('Version', ''))}\n"
                  f"  Created:   {created}\n"
                  f"  Info:      {holder.get('info', holder.get('Info', ''))}\n"
                  "\n\n"
                  "Terraform acquires a state lock to protect the state from being written\n"
                  "by multiple users at the same time. Please resolve the issue above and try\n"
                  "again. For most commands, you can disable locking with the \"-lock=false\"\n"
                  "flag, but this is not recommended.")
        return {"summary": "Error acquiring the state lock", "detail": detail}

    def simulated_holder(self):
        given = self.mode.get("lock_info") or {}
        created = datetime.now(timezone.utc) - timedelta(minutes=3, microseconds=random.randint(0, 999999))
        return {"id": given.get("id", "9db590f1-b6fe-c5f2-2678-8804f089deba"),
                "path": given.get("path", self.opts["state_path"]),
                "operation": given.get("operation", "OperationTypeApply"),
                "who": given.get("who", "runner@ci-build-7"),
                "version": given.get("version", TERRAFORM_VERSION),
                "created": given.get("created", go_time(created)),
                "info": given.get("info", "")}

    def acquire(self, store):
        """clistate.Locker.Lock with LockWithContext's retry (1 s doubling to 16 s) until -lock-timeout."""
        timeout = self.opts["lock_timeout"]
        started = time.monotonic()
        announced = False
        if self.mode["mode"] == "lock":
            release = self.mode.get("lock_release_after")
            if timeout > 0:
                self.ui.out("Acquiring state lock. This may take a few moments...")
                announced = True
            if release is not None and float(release) <= timeout:
                time.sleep(float(release))
            else:
                if self.mode.get("wait_full_timeout"):
                    time.sleep(timeout)
                return self.lock_error("resource temporarily unavailable", self.simulated_holder())
        delay = 1.0
        while True:
            err = store.try_lock()
            if err is None:
                store.write_lock_info(self.lock_info())
                return None
            elapsed = time.monotonic() - started
            if elapsed >= timeout:
                holder = {}
                try:
                    with open(LOCK_INFO_FILE) as handle:
                        holder = json.load(handle)
                    holder["Created"] = go_time_from_json(holder.get("Created", ""))
                except (OSError, ValueError):
                    pass
                return self.lock_error(err, holder)
            if not announced and elapsed >= 0.4:
                self.ui.out("Acquiring state lock. This may take a few moments...")
                announced = True
            time.sleep(min(delay, max(0.0, timeout - elapsed)))
            delay = min(delay * 2, 16.0)

    def run(self):
        ui, opts, mode = self.ui, self.opts, self.mode
        for warning in opts["warnings"]:
            ui.diagnostic(warning, "Warning")
        store = StateFile(opts["state_path"], opts["state_out"], opts["backup"])
        store.open()
        signal.signal(signal.SIGINT, self.on_signal)
        signal.signal(signal.SIGTERM, self.on_signal)
        result = {"result": "error", "exit_code": 1}
        try:
            if opts["lock"]:
                diag = self.acquire(store)
                if diag:
                    ui.diagnostic(diag)
                    result = {"result": "locked", "exit_code": 1}
                    return 1
            code, result = self.operate(store)
            return code
        except Interrupted:
            ui.out("\nInterrupt received.\nPlease wait for Terraform to exit or data loss may occur.\nGracefully shutting down...\n")
            ui.out("\nStopping operation...")
            ui.diagnostic({"summary": "execution halted", "detail": ""})
            self.log.extra(event="interrupted", result="interrupted", exit_code=1, cwd=os.getcwd())
            result = {"result": "interrupted", "exit_code": 1}
            return 1
        finally:
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            store.close()
            if not self.log.written:
                self.log.write(mode=mode["mode"], destroyed=self.destroyed, failed=self.failed, **result)
            elif result.get("result") != "interrupted":
                self.log.extra(event="exit", cwd=os.getcwd(), destroyed=self.destroyed, failed=self.failed, **result)

    def operate(self, store):
        ui, opts, mode = self.ui, self.opts, self.mode
        try:
            state = store.read()
        except (ValueError, json.JSONDecodeError) as exc:
            ui.diagnostic({"summary": "Failed to load state", "detail": f"{exc}"})
            return 1, {"result": "error", "exit_code": 1}
        items = collect(state, opts["targets"])
        needs_provider = bool(items)

        aws = None
        if mode["mode"] == "fail":
            given = mode.get("error")
            if isinstance(given, str):
                diag = {"summary": given, "detail": ""}
            elif isinstance(given, dict):
                diag = {"summary": given.get("summary", "fake failure"), "detail": given.get("detail", "")}
            else:
                request_id = str(uuid.uuid4())
                diag = {"summary": "Retrieving AWS account details: validating provider credentials: retrieving caller "
                                   "identity from STS: operation error STS: GetCallerIdentity, https response error "
                                   f"StatusCode: 403, RequestID: {request_id}, api error InvalidClientTokenId: The "
                                   "security token included in the request is invalid.", "detail": ""}
            block = find_config_block("provider", "aws")
            if given is None and block:
                diag.update(address=PROVIDER_ADDR, range=block)
            ui.diagnostic(diag)
            return 1, {"result": "error", "exit_code": 1, "error": diag["summary"]}

        if needs_provider:
            aws = Aws()
            diag = aws.configure()
            if diag:
                block = find_config_block("provider", "aws")
                if block:
                    diag.update(address=PROVIDER_ADDR, range=block)
                ui.diagnostic(diag)
                return 1, {"result": "error", "exit_code": 1, "error": diag["summary"]}

        # Refresh: objects already gone leave the state and the plan.
        removed = set()
        live = []
        if opts["refresh"]:
            for item in items:
                ui.out(ui.c(f"[reset][bold]{item['address']}: Refreshing state...{id_suffix(item['id'])}[reset]"))
                spec = RESOURCE_TYPES.get(item["type"])
                if spec is None:
                    live.append(item)
                    continue
                try:
                    exists = spec[0](aws, item["attrs"])
                except ApiError as exc:
                    ui.diagnostic(self.resource_diag(item, str(exc)))
                    return 1, {"result": "error", "exit_code": 1, "error": str(exc)}
                if exists:
                    live.append(item)
                else:
                    removed.add((item["res_index"], item["inst_index"]))
        else:
            live = list(items)

        if not live:
            ui.out()
            ui.out(ui.c("[reset][bold][green]No changes.[reset][bold] No objects need to be destroyed.[reset]"))
            ui.out()
            ui.out(wrap("Either you have not created any objects yet or the existing objects were already deleted "
                        "outside of Terraform.", COLUMNS))
            if state is not None:
                new = remaining_state(state, removed, True)
                if state_changed(state, new):
                    store.write(new)
            else:
                store.write({"version": 4, "terraform_version": TERRAFORM_VERSION, "serial": 1,
                             "lineage": str(uuid.uuid4()), "outputs": {}, "resources": [], "check_results": None})
            ui.out(ui.c("[reset][bold][green]\nDestroy complete! Resources: 0 destroyed.[reset]"))
            return 0, {"result": "success", "exit_code": 0, "remaining": []}

        ordered = destroy_order(live)
        render_plan(ui, ordered)

        if not opts["auto_approve"]:
            query = ui.c("[reset][bold]\nDo you really want to destroy all resources?[reset]\n")
            ui.out(query + "  Terraform will destroy all your managed infrastructure, as shown above.\n"
                   "  There is no undo. Only 'yes' will be accepted to confirm.\n\n" + ui.c("  [bold]Enter a value:[reset] "), end="")
            line = sys.stdin.readline()
            if not line:
                ui.diagnostic({"summary": "error asking for approval: EOF", "detail": ""})
                return 1, {"result": "not_approved", "exit_code": 1}
            ui.out()
            if line.strip() != "yes":
                ui.out("\nDestroy cancelled.")
                return 1, {"result": "cancelled", "exit_code": 1}

        diags = []
        failed_resources = set()
        stop = False
        stop_reason = None
        destroy_only = int(mode.get("destroy_only", 0)) if mode["mode"] == "partial" else None
        try:
            for position, item in enumerate(ordered):
                if stop:
                    break
                # Terraform never destroys something whose dependent failed to go first.
                if any(other["resource_address"] in failed_resources and
                       (item["resource_address"] in other["deps"] or item["address"] in other["deps"])
                       for other in ordered):
                    continue
                started = time.monotonic()
                ui.out(ui.c(f"[reset][bold]{item['address']}: Destroying...{id_suffix(item['id'])}[reset]"))
                try:
                    if mode["mode"] == "hang":
                        stop_reason = "hang"
                        self.hang(item, started)
                    if destroy_only is not None and position >= destroy_only:
                        given = mode.get("error")
                        raise ApiError(given if isinstance(given, str) else
                                       (given or {}).get("summary") or injected_error(aws, item))
                    spec = RESOURCE_TYPES.get(item["type"])
                    if spec is None:
                        raise ApiError(f"fake terraform (a test stand-in, not Terraform) does not implement destroy for "
                                       f"resource type {item['type']}")
                    spec[1](aws, item["attrs"], ui, item["address"], started)
                except ApiError as exc:
                    diags.append(self.resource_diag(item, str(exc)))
                    self.failed.append(item["address"])
                    failed_resources.add(item["resource_address"])
                    if destroy_only is not None or stop_reason == "hang":
                        stop = True
                    continue
                removed.add((item["res_index"], item["inst_index"]))
                self.destroyed.append(item["address"])
                ui.out(ui.c(f"[reset][bold]{item['address']}: Destruction complete after "
                            f"{format_elapsed(time.monotonic() - started)}[reset]"))
        finally:
            if state is not None:
                new = remaining_state(state, removed, not diags and not stop_reason)
                if state_changed(state, new):
                    store.write(new)
        remaining = [i["address"] for i in items if (i["res_index"], i["inst_index"]) not in removed]
        if diags:
            for diag in diags:
                ui.diagnostic(diag)
            kind = "partial" if self.destroyed else "error"
            return 1, {"result": kind, "exit_code": 1, "remaining": remaining}
        ui.out(ui.c(f"[reset][bold][green]\nDestroy complete! Resources: {len(self.destroyed)} destroyed.[reset]"))
        return 0, {"result": "success", "exit_code": 0, "remaining": remaining}

    def hang(self, item, started):
        seconds = float(self.mode.get("hang_seconds", 3600))
        self.log.write(mode="hang", result="hanging", exit_code=None, destroyed=[], failed=[], hanging_on=item["address"])
        deadline = started + seconds
        next_note = started + 10
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            time.sleep(max(0.0, min(deadline, next_note) - now))
            now = time.monotonic()
            if next_note <= now < deadline:
                self.ui.out(still_line(self.ui, item["address"], item["id"], now - started))
                next_note += 10
        raise ApiError(f"waiting for {item['address']} delete: timeout while waiting for state to become 'deleted' "
                       f"(last state: 'deleting', timeout: {format_elapsed(seconds)})")

    def resource_diag(self, item, message):
        diag = {"summary": message, "detail": ""}
        if not item["resource_address"].startswith("module."):
            block = find_config_block("resource", item["type"], item["name"])
            if block:
                diag["address"] = item["address"]
                diag["range"] = block
        return diag


# ------------------------------------------------------------------------------------------ commands


def cmd_version(ui, args, log):
    try:
        flags, _ = parse_flags(args, {"json": "bool"})
    except FlagError:
        flags = {}
    if flags.get("json"):
        ui.out(json.dumps({"terraform_version": TERRAFORM_VERSION, "platform": PLATFORM, "provider_selections": {},
                           "terraform_outdated": False}, indent=2))
    else:
        ui.out(f"Terraform v{TERRAFORM_VERSION}\non {PLATFORM}")
    log.write(subcommand="version", mode=None, result="success", exit_code=0)
    return 0


def cmd_init(ui, args, log):
    args = [a for a in args if a != "-no-color"]
    try:
        parse_flags(args, INIT_FLAGS)
    except FlagError as exc:
        ui.diagnostic({"summary": "Failed to parse command-line flags", "detail": str(exc)})
        help_prompt(ui, "init")
        log.write(subcommand="init", mode=None, result="usage_error", exit_code=1)
        return 1
    if not has_config():
        ui.out(ui.c("[reset][bold]Terraform initialized in an empty directory![reset]\n\n"
                    "The directory has no Terraform configuration files. You may begin working\n"
                    "with Terraform immediately by creating Terraform configuration files."))
        log.write(subcommand="init", mode=None, result="success", exit_code=0)
        return 0
    ui.out(ui.c("[reset][bold]Initializing the backend...[reset]"))
    ui.out(ui.c("[reset][bold]Initializing provider plugins...[reset]"))
    lock_file = ".terraform.lock.hcl"
    created = not os.path.exists(lock_file)
    if created:
        ui.out("- Finding latest version of hashicorp/aws...")
        ui.out(f"- Installing hashicorp/aws v{AWS_PROVIDER_VERSION}...")
        ui.out(f"- Installed hashicorp/aws v{AWS_PROVIDER_VERSION} (signed by HashiCorp)")
        with open(lock_file, "w") as handle:
            handle.write('# This file is maintained automatically by "terraform init".\n'
                         "# Manual edits may be lost in future updates.\n\n"
                         'provider "registry.terraform.io/hashicorp/aws" {\n'
                         f'  version = "{AWS_PROVIDER_VERSION}"\n}}\n')
        ui.out("Terraform has created a lock file .terraform.lock.hcl to record the provider\n"
               "selections it made above. Include this file in your version control repository\n"
               "so that Terraform can guarantee to make the same selections by default when\n"
               'you run "terraform init" in the future.')
    else:
        ui.out("- Reusing previous version of hashicorp/aws from the dependency lock file")
        ui.out(f"- Using previously-installed hashicorp/aws v{AWS_PROVIDER_VERSION}")
    os.makedirs(os.path.join(".terraform", "providers"), exist_ok=True)
    ui.out()
    ui.out(ui.c("[reset][bold][green]Terraform has been successfully initialized![reset][green]"))
    ui.out(ui.c('\nYou may now begin working with Terraform. Try running "terraform plan" to see\n'
                "any changes that are required for your infrastructure. All Terraform commands\n"
                "should now work.\n\n"
                "If you ever set or change modules or backend configuration for Terraform,\n"
                "rerun this command to reinitialize your working directory. If you forget, other\n"
                "commands will detect it and remind you to do so if necessary.[reset]"))
    log.write(subcommand="init", mode=None, result="success", exit_code=0)
    return 0


DESTROY_HELP = """Usage: terraform [global options] destroy [options]

  Destroy Terraform-managed infrastructure.

  This command is a convenience alias for:
      terraform apply -destroy

  This command also accepts many of the plan-customization options accepted by
  the terraform plan command. For more information on those options, run:
      terraform plan -help"""


def cmd_destroy(ui, args, log):
    # arguments.ParseView: -no-color and -compact-warnings are taken out wherever they stand.
    no_color = "-no-color" in args
    ui.color = not no_color
    args = [a for a in args if a not in ("-no-color", "-compact-warnings")]
    try:
        mode, _ = load_mode()
    except (ValueError, json.JSONDecodeError) as exc:
        ui.err(f"fake terraform (test stand-in): bad {MODE_FILE} / DG_FAKE_TERRAFORM_MODE: {exc}\n")
        log.write(subcommand="destroy", mode=None, result="bad_mode", exit_code=1)
        return 1

    def usage_error(summary, detail):
        ui.diagnostic({"summary": summary, "detail": detail})
        help_prompt(ui, "destroy")
        log.write(subcommand="destroy", mode=mode["mode"], result="usage_error", exit_code=1, error=detail)
        return 1

    try:
        flags, positional = parse_flags(args, DESTROY_FLAGS)
    except FlagError as exc:
        if str(exc) == "flag: help requested":
            ui.out(DESTROY_HELP)
            log.write(subcommand="destroy", mode=mode["mode"], result="help", exit_code=0)
            return 0
        return usage_error("Failed to parse command-line flags", str(exc))
    if len(positional) > 1:
        return usage_error("Too many command line arguments", "Expected at most one positional argument.")
    if flags.get("destroy"):
        return usage_error("Invalid mode option", 'The -destroy option is not valid for "terraform destroy", because this '
                                                  "command always runs in destroy mode.")
    if flags.get("refresh-only"):
        return usage_error("Invalid mode option", 'The -refresh-only option is not valid for "terraform destroy".')
    if flags.get("json"):
        if not flags.get("auto-approve"):
            return usage_error("Plan file or auto-approve required",
                               "Terraform cannot ask for interactive approval when -json is set. You can either apply a "
                               "saved plan file, or enable the -auto-approve option.")
        ui.err("fake terraform (a test stand-in, not Terraform): -json output is not implemented\n")
        log.write(subcommand="destroy", mode=mode["mode"], result="unsupported", exit_code=1)
        return 1
    if positional:
        path = positional[0]
        if os.path.isdir(path):
            detail = ("The specified path is a directory, not a plan file. You can use the global -chdir flag to use "
                      "this directory as the configuration root.")
        elif os.path.exists(path):
            ui.diagnostic({"summary": "Destroy can't be called with a plan file",
                           "detail": f'If this plan was created using plan -destroy, apply it using:\n  terraform apply "{path}"'})
            log.write(subcommand="destroy", mode=mode["mode"], result="usage_error", exit_code=1)
            return 1
        else:
            detail = (f"Error: couldn't load the provided path as either a local plan file (open {path}: no such file or "
                      f"directory) or a saved cloud plan (open {path}: no such file or directory)")
        ui.diagnostic({"summary": f'Failed to load "{path}" as a plan file', "detail": detail})
        log.write(subcommand="destroy", mode=mode["mode"], result="usage_error", exit_code=1)
        return 1
    if flags.get("parallelism", 10) < 1:
        return usage_error("Invalid parallelism", "The parallelism must be greater than zero.")

    warnings = []
    if flags.get("state"):
        warnings.append({"summary": "Deprecated flag: -state",
                         "detail": 'Use the "path" attribute within the "local" backend to specify a file for state storage'})
    state_path = flags.get("state") or STATE_FILE
    state_out = flags.get("state-out") or state_path
    opts = {
        "auto_approve": flags.get("auto-approve", False),
        "input": flags.get("input", True),
        "lock": flags.get("lock", True),
        "lock_timeout": max(0.0, flags.get("lock-timeout", 0.0)),
        "refresh": flags.get("refresh", True),
        "targets": flags.get("target", []),
        "state_path": state_path,
        "state_out": state_out,
        "backup": flags.get("backup") or state_out + ".backup",
        "warnings": warnings,
    }
    log.record.update(subcommand="destroy", mode=mode["mode"], no_color=no_color,
                      aws_endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))
    return Destroy(ui, log, mode, opts).run()


MAIN_HELP = """Usage: terraform [global options] <subcommand> [args]

The available commands for execution are listed below.
The primary workflow commands are given first, followed by
less common or more advanced commands.

Main commands:
  init          Prepare your working directory for other commands
  destroy       Destroy previously-created infrastructure

All other commands:
  version       Show the current Terraform version

Global options (use these before the subcommand, if any):
  -chdir=DIR    Switch to a different working directory before executing the
                given subcommand.
  -help         Show this help output, or the help for a specified subcommand.
  -version      An alias for the "version" subcommand.

(This is fake_terraform.py, a test stand-in for the terraform CLI. It implements only the commands above.)"""


def main(argv):
    ui = UI(color=True)
    log = Log(argv)
    args = list(argv)
    chdir = None
    while args and args[0].startswith("-"):
        flag = args[0]
        if flag.startswith("-chdir=") or flag.startswith("--chdir="):
            chdir = flag.split("=", 1)[1]
            args.pop(0)
        elif flag in ("-chdir", "--chdir"):
            ui.err("Invalid -chdir option: must include an equals sign followed by a directory path, like -chdir=example\n")
            return 1
        elif flag in ("-v", "-version", "--version"):
            args[0] = "version"
        elif flag in ("-h", "-help", "--help"):
            ui.out(MAIN_HELP)
            return 0
        else:
            break
    if chdir is not None:
        try:
            os.chdir(chdir)
        except OSError as exc:
            ui.err(f"Error handling -chdir option: chdir {chdir}: {exc.strerror.lower() if exc.strerror else exc}\n")
            return 1
    log.bind(os.getcwd())
    if not args:
        ui.out(MAIN_HELP)
        return 127
    command, rest = args[0], args[1:]
    if command == "version":
        return cmd_version(ui, rest, log)
    if command == "init":
        ui.color = "-no-color" not in rest
        return cmd_init(ui, rest, log)
    if command == "destroy":
        return cmd_destroy(ui, rest, log)
    ui.err(f'Terraform has no command named "{command}".\n\nTo see all of Terraform\'s top-level commands, run:\n'
           "  terraform -help\n\n")
    log.write(subcommand=command, mode=None, result="unknown_command", exit_code=1)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
