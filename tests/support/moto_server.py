"""moto's AWS emulator behind a small WSGI layer for DriftGuard's tests.

The layer (not product code) does the following, each visible in its own function:
- binds 127.0.0.1 on a free port and prints {"port": N} once ready (no port races);
- counts requests per service and operation, and mutations apart, served at
  GET /_driftguard/stats (so tests can prove dry-run sends no write), and the arrival time
  of every call at GET /_driftguard/times (so tests can prove a client-side rate limit);
- works around moto 5.2.5 answering GetBucketVersioning with the root element
  <GetBucketVersioningResponse> instead of <VersioningConfiguration>, which aws-sdk-s3
  cannot parse (see shared/TEST-BACKENDS.md);
- optionally injects faults (DG_FAULT_RATE, DG_FAULT_SEED): throttling and 5xx in each
  protocol's own error envelope, so the SDK sees real error codes; with DG_FAULT_LOST=1 a
  third kind, a lost answer (the call is carried out, then answered 500, as when a
  connection drops after the service acted); DG_FAULT_LATENCY_MS adds a random delay of up
  to that many milliseconds to every call;
- lets a test arm faults after seeding: GET /_driftguard/faults?rate=0.3&latency_ms=20&lost=1
  (seeding itself must not meet lost answers: a lost RunInstances would create twice);
- records every completed mutation with its target (one entry per resource of a batch)
  at GET /_driftguard/mutations
  ([service, operation, target]), so tests can prove nothing was changed or deleted twice;
- on request, stages a race (GET /_driftguard/vanish-on/ModifyDBInstance arms it): the next
  such call finds its DB instance deleted just before it arrives (really deleted in moto,
  through moto's own API), as when someone deletes a resource between DriftGuard's
  collection and its fix;
- on request, holds one call in flight so a test can kill the client during it
  (GET /_driftguard/hold-on/ModifyInstanceMetadataOptions?when=after arms it): with
  when=after the call is carried out and recorded, then its answer is held; with
  when=before it is held before being carried out and, once released, refused with a
  500 without being carried out. GET /_driftguard/wait-held/<operation> answers once such
  a call is held (the test's synchronisation, no polling); GET /_driftguard/release lets
  every held call go;
- makes moto's IAM enforcement (INITIAL_NO_AUTH_ACTION_COUNT, POST /moto-api/reset-auth)
  check the S3 actions AWS documents where moto 5.2.5 checks wrong ones (see
  real_s3_action_names), so docs/iam/*.json are tested as written.
"""

import io
import json
import os
import random
import re
import sys
import threading
import time
from collections import Counter
from urllib.parse import parse_qs

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

READ_PREFIXES = ("Describe", "List", "Get")
LOCK = threading.Lock()
COUNTS = Counter()
FAULT_RATE = float(os.environ.get("DG_FAULT_RATE", "0"))
RANDOM = random.Random(int(os.environ.get("DG_FAULT_SEED", "1")))
VANISH_ON = set()
HOLDS = {}  # operation -> {"when": "before"|"after", "arrived": Event, "release": Event}
TIMES = []  # (monotonic seconds, service, operation) of every AWS call, for pace tests
LATENCY_MS = float(os.environ.get("DG_FAULT_LATENCY_MS", "0"))
LOST = os.environ.get("DG_FAULT_LOST") == "1"
MUTATIONS = []  # [service, operation, target] of every mutation the emulator carried out
TARGET_KEYS = ("InstanceId", "InstanceId.1", "GroupId", "DBInstanceIdentifier", "RoleName", "PolicyArn",
               "ResourceId.1", "ResourceName", "UserName")


def service_of(environ):
    match = re.search(r"Credential=[^/]+/\d+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else "unknown"


def operation_of(environ, service, body):
    if service == "s3":
        query = environ.get("QUERY_STRING", "")
        sub = query.split("&")[0].split("=")[0] if query else ""
        return f"{environ['REQUEST_METHOD']} {sub or ('object' if environ.get('PATH_INFO', '/').count('/') > 1 else 'bucket')}"
    # JSON protocols (the Resource Groups Tagging API) name the operation in a header.
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return target.rsplit(".", 1)[-1]
    params = parse_qs(environ.get("QUERY_STRING", ""))
    params.update(parse_qs(body.decode("utf-8", "replace")))
    return params.get("Action", ["unknown"])[0]


def is_mutation(service, operation):
    if service == "s3":
        return not operation.startswith(("GET", "HEAD"))
    return not operation.startswith(READ_PREFIXES)


def targets_of(environ, service, body):
    """The resources a mutation is about: the bucket for S3; else every id of a batch
    (EC2's InstanceId.N, ResourceId.N: one CreateTags or TerminateInstances may name up
    to 1,000), else the first id parameter."""
    if service == "s3":
        return [environ.get("PATH_INFO", "/").lstrip("/").split("/")[0]]
    params = parse_qs(environ.get("QUERY_STRING", ""))
    params.update(parse_qs(body.decode("utf-8", "replace")))
    for batch in ("InstanceId", "ResourceId"):
        numbered = sorted((int(key.split(".")[1]), values[0]) for key, values in params.items()
                          if key.startswith(f"{batch}.") and key.split(".")[1].isdigit())
        if numbered:
            return [value for _, value in numbered]
    for key in TARGET_KEYS:
        if key in params:
            return [params[key][0]]
    return [""]


def fault(service, start_response, kind=None):
    if kind is None:
        with LOCK:
            kind = RANDOM.choice(["throttle", "server"])
    if service == "s3":
        code, status = ("SlowDown", "503 Slow Down") if kind == "throttle" else ("InternalError", "500 Internal Server Error")
        body = f"<Error><Code>{code}</Code><Message>injected</Message></Error>"
    elif service == "ec2":
        code, status = ("RequestLimitExceeded", "503 Service Unavailable") if kind == "throttle" else ("InternalError", "500 Internal Server Error")
        body = f"<Response><Errors><Error><Code>{code}</Code><Message>injected</Message></Error></Errors><RequestID>x</RequestID></Response>"
    else:
        code, status = ("Throttling", "400 Bad Request") if kind == "throttle" else ("InternalFailure", "500 Internal Server Error")
        body = f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error><RequestId>x</RequestId></ErrorResponse>"
    data = body.encode()
    start_response(status, [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
    with LOCK:
        COUNTS[f"fault {service} {code}"] += 1
    return [data]


def make_app(inner):
    def app(environ, start_response):
        if environ.get("PATH_INFO") == "/_driftguard/stats":
            with LOCK:
                data = json.dumps(dict(COUNTS), sort_keys=True).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
            return [data]
        if environ.get("PATH_INFO") == "/_driftguard/faults":
            global FAULT_RATE, LATENCY_MS, LOST
            params = parse_qs(environ.get("QUERY_STRING", ""))
            with LOCK:
                FAULT_RATE = float(params.get("rate", ["0"])[0])
                LATENCY_MS = float(params.get("latency_ms", ["0"])[0])
                LOST = params.get("lost", ["0"])[0] == "1"
            start_response("204 No Content", [])
            return [b""]
        if environ.get("PATH_INFO") == "/_driftguard/mutations":
            with LOCK:
                data = json.dumps(MUTATIONS).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
            return [data]
        if environ.get("PATH_INFO") == "/_driftguard/times":
            with LOCK:
                data = json.dumps(TIMES).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
            return [data]
        if environ.get("PATH_INFO", "").startswith("/_driftguard/hold-on/"):
            when = parse_qs(environ.get("QUERY_STRING", "")).get("when", ["after"])[0]
            with LOCK:
                HOLDS[environ["PATH_INFO"].rsplit("/", 1)[1]] = {
                    "when": when, "arrived": threading.Event(), "release": threading.Event()}
            start_response("204 No Content", [])
            return [b""]
        if environ.get("PATH_INFO", "").startswith("/_driftguard/wait-held/"):
            with LOCK:
                hold = HOLDS.get(environ["PATH_INFO"].rsplit("/", 1)[1])
            held = hold is not None and hold["arrived"].wait(120)
            data = b"held" if held else b"not held"
            start_response("200 OK" if held else "504 Gateway Timeout", [("Content-Length", str(len(data)))])
            return [data]
        if environ.get("PATH_INFO") == "/_driftguard/release":
            with LOCK:
                for hold in HOLDS.values():
                    hold["release"].set()
            start_response("204 No Content", [])
            return [b""]
        if environ.get("PATH_INFO", "").startswith("/_driftguard/vanish-on/"):
            with LOCK:
                VANISH_ON.add(environ["PATH_INFO"].rsplit("/", 1)[1])
            start_response("204 No Content", [])
            return [b""]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        service = service_of(environ)
        operation = operation_of(environ, service, body)
        if service != "unknown":
            with LOCK:
                TIMES.append((time.monotonic(), service, operation))
        if service != "unknown" and LATENCY_MS > 0:
            with LOCK:
                delay = RANDOM.uniform(0, LATENCY_MS) / 1000
            time.sleep(delay)
        lost = False
        if service != "unknown" and FAULT_RATE > 0:
            with LOCK:
                faulty = RANDOM.random() < FAULT_RATE
                lost = faulty and LOST and RANDOM.random() < 1 / 3
            if faulty and not lost:
                return fault(service, start_response)
        with LOCK:
            COUNTS[f"call {service} {operation}"] += 1
            if service != "unknown" and is_mutation(service, operation):
                COUNTS[f"mutation {service} {operation}"] += 1
                COUNTS["mutations"] += 1
            COUNTS["calls"] += 1
        if operation in VANISH_ON:
            with LOCK:
                VANISH_ON.discard(operation)
            vanish(environ, operation, body)
        if service == "s3" and operation == "GET versioning":
            return fix_versioning(inner, environ, start_response)
        mutation = service != "unknown" and is_mutation(service, operation)
        with LOCK:
            hold = HOLDS.get(operation) if mutation and not HOLDS.get(operation, {}).get("taken") else None
            if hold:
                hold["taken"] = True
        if hold and hold["when"] == "before":
            hold["arrived"].set()
            hold["release"].wait(120)
            return fault(service, start_response, kind="server")
        if not mutation and not lost:
            return inner(environ, start_response)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda _: None

        data = b"".join(inner(environ, capture))
        if mutation and int(captured["status"].split()[0]) < 400:
            with LOCK:
                MUTATIONS.extend([service, operation, target] for target in targets_of(environ, service, body))
        if lost:
            with LOCK:
                COUNTS[f"lost {service} {operation}"] += 1
            return fault(service, start_response, kind="server")
        if hold:
            hold["arrived"].set()
            hold["release"].wait(120)
        start_response(captured["status"], captured["headers"])
        return [data]

    return app


def vanish(environ, operation, body):
    """Deletes the target of this request first, through this same server."""
    import boto3  # only the race needs it

    params = parse_qs(environ.get("QUERY_STRING", ""))
    params.update(parse_qs(body.decode("utf-8", "replace")))
    endpoint = f"http://127.0.0.1:{os.environ['MOTO_PORT']}"
    if operation == "ModifyDBInstance":
        rds = boto3.client("rds", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        name = params["DBInstanceIdentifier"][0]
        rds.modify_db_instance(DBInstanceIdentifier=name, DeletionProtection=False, ApplyImmediately=True)
        rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
    with LOCK:
        COUNTS[f"vanished {operation}"] += 1


def fix_versioning(inner, environ, start_response):
    captured = {}

    def capture(status, headers, exc_info=None):
        captured["status"], captured["headers"] = status, headers
        return lambda _: None

    data = b"".join(inner(environ, capture))
    data = data.replace(b"GetBucketVersioningResponse", b"VersioningConfiguration")
    headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(data))))
    start_response(captured["status"], headers)
    return [data]


def real_s3_action_names():
    """moto 5.2.5 authorizes S3 calls by its ACTION_MAP, whose keys "public_access_block"
    never match the "publicAccessBlock" query and which lacks "encryption" and
    "ownershipControls": those calls fall
    to the method's default, so GetPublicAccessBlock and GetBucketEncryption are checked as
    s3:ListBucket, PutPublicAccessBlock and PutBucketEncryption as s3:CreateBucket; and
    HeadBucket as s3:HeadBucket, which is no IAM action. These are the actions AWS checks
    (docs/iam/README.md). The names only feed the IAM check: handlers set their own.
    """
    from moto.s3.responses import ACTION_MAP

    bucket = ACTION_MAP["BUCKET"]
    bucket["HEAD"]["DEFAULT"] = "ListBucket"
    bucket["GET"]["publicAccessBlock"] = "GetBucketPublicAccessBlock"
    bucket["GET"]["encryption"] = "GetEncryptionConfiguration"
    bucket["PUT"]["publicAccessBlock"] = "PutBucketPublicAccessBlock"
    bucket["PUT"]["encryption"] = "PutEncryptionConfiguration"
    bucket["DELETE"]["publicAccessBlock"] = "PutBucketPublicAccessBlock"
    bucket["DELETE"]["encryption"] = "PutEncryptionConfiguration"
    bucket["GET"]["ownershipControls"] = "GetBucketOwnershipControls"
    bucket["PUT"]["ownershipControls"] = "PutBucketOwnershipControls"


def main():
    real_s3_action_names()
    inner = DomainDispatcherApplication(create_backend_app)
    server = make_server("127.0.0.1", 0, make_app(inner), threaded=True, request_handler=MotoRequestHandler)
    os.environ["MOTO_PORT"] = str(server.server_port)
    print(json.dumps({"port": server.server_port}), flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
