"""A project-owned FAKE of Google Cloud Storage's gRPC wire API, for DriftGuard's tests.

This is not Google and not an emulator Google ships: it is a small in-memory imitation of the
`google.storage.v2.Storage` gRPC service, written by this project so that the official
`google-cloud-storage` Rust crate (its gRPC-only `StorageControl` client) can be tested on
127.0.0.1 without a cloud account. Where the real service's behaviour is known (its proto
comments, Google's storage-testbench), the fake follows it; where it is not, the choice is
marked "Unverified" below. A green test against it proves the client speaks the wire protocol
and handles the answers; it does not prove Google answers the same way.

RPCs served (everything else under any gRPC service answers UNIMPLEMENTED, and is counted):
  ListBuckets   parent "projects/{project id or number}", prefix, page_size, page_token,
                read_mask. Sorted by name; default page size GCS_FAKE_PAGE_SIZE (2) so that
                paging is exercised; at most 1000. Bucket.project is "projects/{number}" when
                the bucket was seeded with a project_number (as the real service answers),
                else "projects/{id}". Projects the fake knows are those of every bucket
                ever seeded and those added with POST /projects (a project whose buckets
                were all deleted is still known). Listing an unknown project answers
                PERMISSION_DENIED, as the real service does for a project the caller's
                credentials cannot list (unverified: for a project that does not exist at
                all the real service may answer another code). DriftGuard's identity check
                relies on this: a project the fake does not know is unreachable.
  GetBucket     name "projects/_/buckets/{bucket}", if_metageneration_[not_]match, read_mask.
  UpdateBucket  bucket.name + update_mask: "labels" (replace all), "labels.KEY" (set, or
                remove when absent from bucket.labels), "versioning"/"versioning.enabled",
                "storage_class", "*". Immutable fields: INVALID_ARGUMENT; other real but
                unmodelled fields: UNIMPLEMENTED. Labels validated as GCS does. Every
                successful update increments metageneration and sets update_time.
  DeleteBucket  NOT_FOUND if absent; FAILED_PRECONDITION while it holds any live or
                noncurrent object version; if_metageneration_[not_]match honoured.
  ListObjects   parent "projects/_/buckets/{bucket}", prefix, delimiter (-> prefixes),
                versions (all generations, name then generation ascending; noncurrent ones
                carry delete_time), lexicographic_start/end, page_size, page_token, read_mask.
  DeleteObject  bucket, object, optional generation, if_[meta]generation_[not_]match. With a
                generation, or on a bucket without versioning: the version is gone. Without a
                generation on a versioned bucket: the live version becomes noncurrent.
                NOT_FOUND if the bucket, object or generation is absent.

Status codes: NOT_FOUND for absent resources; INVALID_ARGUMENT for malformed names, masks,
tokens or labels; FAILED_PRECONDITION for a failed if_*_match and for deleting a non-empty
bucket; ABORTED for a failed if_metageneration_not_match on GetBucket (the testbench's 304
analogue). Unverified: the real service's code for "bucket not empty" (the JSON API answers
409 Conflict; Google's storage-testbench answers INVALID_ARGUMENT) and for not_match
failures on mutations.

Metadata: the Rust crate sends `x-goog-request-params` ("bucket=projects/_/buckets/NAME" or
"project=projects/ID", raw or percent-encoded) and `x-goog-api-client`; anonymous credentials
send no `authorization`. The fake records what arrived (GET /stats "last_metadata") and counts
a missing or mismatched routing header under "routing_problems"; with
GCS_FAKE_STRICT_ROUTING=1 it refuses such a call with INVALID_ARGUMENT.

Faults: GCS_FAKE_UNAVAILABLE_EVERY=N (0: off) fails every N-th gRPC call with UNAVAILABLE
before it touches state. POST /fail queues failures for one RPC (see below).

Admin side, plain HTTP/1.1 JSON on a second port (the gRPC port speaks only HTTP/2):
  POST /projects {"project"[, "project_number"]}  makes a project known (listable, empty)
  POST /buckets {"project", "name", "location", "labels", "create_time" (RFC 3339),
                 optional "project_number", "versioning" (bool), "storage_class"}
  POST /objects {"bucket", "name", "generations": n, optional "live" (default true: the
                 newest generation is live, the older ones noncurrent), "size", "create_time"}
                 (seeding does not require the bucket to have versioning, so a test can stage
                 noncurrent versions left from when versioning was on)
  GET  /state   every bucket and object version, for before/after snapshots
  GET  /stats   calls per RPC, "mutations" (mutating calls received, whatever their outcome),
                "mutations_applied", "faults", errors per code, routing problems
  POST /fail    {"rpc": "DeleteBucket", "code": "UNAVAILABLE", "times": 2,
                 optional "when": "before" (default) | "after" (the change is made, then the
                 answer is lost), "message"}
  POST /reset   forget all buckets, objects, queued faults and counters

On start it prints one JSON line to stdout, {"port": GRPC_PORT, "admin_port": ADMIN_PORT}, both
bound on 127.0.0.1 with ports chosen by the OS. Logs go to stderr only.

Requires (pinned, since google.cloud._storage_v2 is a private module of google-cloud-storage):
  grpcio==1.85.1  google-cloud-storage[grpc]==3.17.1  (the [grpc] extra brings proto-plus,
  protobuf, grpc-google-iam-v1 and grpcio-status, which the module's package imports).
"""

import base64
import binascii
import json
import os
import re
import signal
import sys
import threading
import traceback
from collections import Counter
from concurrent import futures
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import grpc
from google.cloud._storage_v2.types import storage as storage_types
from google.protobuf import empty_pb2, field_mask_pb2

SERVICE = "google.storage.v2.Storage"
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = int(os.environ.get("GCS_FAKE_PAGE_SIZE", "2"))
UNAVAILABLE_EVERY = int(os.environ.get("GCS_FAKE_UNAVAILABLE_EVERY", "0"))
STRICT_ROUTING = os.environ.get("GCS_FAKE_STRICT_ROUTING", "0") == "1"

# Raw protobuf classes behind the proto-plus wrappers: their SerializeToString/FromString are
# the wire bytes, and HasField tells an unset optional field from one set to 0.
Bucket = storage_types.Bucket.pb()
Object = storage_types.Object.pb()
ListBucketsResponse = storage_types.ListBucketsResponse.pb()
ListObjectsResponse = storage_types.ListObjectsResponse.pb()

BUCKET_NAME = re.compile(r"^projects/([^/]+)/buckets/([^/]+)$")
# GCS bucket naming, simplified: dotted names may be up to 222 characters.
BUCKET_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]$")
MULTI_REGIONS = {"US", "EU", "ASIA"}
DUAL_REGIONS = {"NAM4", "EUR4", "ASIA1", "EUR5", "EUR7", "EUR8", "US-EAST1-US-WEST1"}
BUCKET_IMMUTABLE = {"name", "bucket_id", "project", "metageneration", "location", "location_type",
                    "create_time", "update_time", "owner", "etag", "satisfies_pzs"}


class RpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(message):
    return RpcError(grpc.StatusCode.INVALID_ARGUMENT, message)


def not_found(message):
    return RpcError(grpc.StatusCode.NOT_FOUND, message)


def failed_precondition(message):
    return RpcError(grpc.StatusCode.FAILED_PRECONDITION, message)


def now():
    return datetime.now(timezone.utc)


def rfc3339(moment):
    return moment.isoformat().replace("+00:00", "Z")


def parse_time(text):
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def bucket_resource(bucket_id):
    return f"projects/_/buckets/{bucket_id}"


def location_type(location):
    if location in MULTI_REGIONS:
        return "multi-region"
    if location in DUAL_REGIONS:
        return "dual-region"
    return "region"


def label_problem(labels):
    """GCS label rules: at most 64; keys 1-63 characters of lowercase letters, digits, '_' and
    '-', starting with a lowercase letter; values 0-63 of the same. International lowercase
    letters are allowed, hence str.islower rather than [a-z]."""
    if len(labels) > 64:
        return "a bucket can have at most 64 labels"
    for key, value in labels.items():
        if not 1 <= len(key) <= 63 or not key[0].islower():
            return f"label key {key!r} must be 1-63 characters and start with a lowercase letter"
        if len(value) > 63:
            return f"label value {value!r} for key {key!r} is longer than 63 characters"
        for text in (key, value):
            if any(not (c.islower() or c.isdigit() or c in "_-") for c in text):
                return f"label {key!r}={value!r} may hold only lowercase letters, digits, '_' and '-'"
    return None


def encode_token(key):
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode()


def decode_token(token):
    if not token:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error) as error:
        raise invalid(f"invalid page_token {token!r}") from error


def page_size_of(request):
    if request.page_size < 0:
        raise invalid("page_size must not be negative")
    return min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def apply_read_mask(message, request):
    if not request.HasField("read_mask") or not request.read_mask.paths or "*" in request.read_mask.paths:
        return message
    masked = type(message)()
    try:
        field_mask_pb2.FieldMask(paths=list(request.read_mask.paths)).MergeMessage(message, masked)
    except (ValueError, KeyError) as error:
        raise invalid(f"invalid read_mask {list(request.read_mask.paths)}: {error}") from error
    return masked


class State:
    """Buckets and object versions, guarded by one lock; every method expects it held."""

    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        # Project ids and numbers the fake answers for.
        self.projects = set()
        self.buckets = {}
        # bucket id -> object name -> versions, oldest generation first.
        self.objects = {}
        self.last_generation = 0
        self.failures = {}
        self.stats = Counter()
        self.calls = Counter()
        self.errors = Counter()
        self.last_metadata = {}

    def next_generation(self, moment):
        # Real generations are microsecond timestamps; keep them unique and increasing.
        self.last_generation = max(self.last_generation + 1, int(moment.timestamp() * 1_000_000))
        return self.last_generation

    # Admin side.

    def add_bucket(self, spec):
        bucket_id = spec.get("name", "")
        project = spec.get("project", "")
        if not BUCKET_ID.match(bucket_id) or not project:
            raise ValueError("a bucket needs a 'project' and a valid 'name' (a-z 0-9 . _ -, 3 or more)")
        if bucket_id in self.buckets:
            raise KeyError(f"bucket {bucket_id} already exists")
        labels = dict(spec.get("labels") or {})
        problem = label_problem(labels)
        if problem:
            raise ValueError(problem)
        created = parse_time(spec["create_time"]) if spec.get("create_time") else now()
        # Real GCS reports locations in upper case whatever case they were created with.
        location = (spec.get("location") or "US").upper()
        self.buckets[bucket_id] = {
            "bucket_id": bucket_id,
            "project": project,
            "project_number": str(spec["project_number"]) if spec.get("project_number") else None,
            "location": location,
            "location_type": location_type(location),
            "storage_class": spec.get("storage_class", "STANDARD"),
            "labels": labels,
            "create_time": created,
            "update_time": created,
            "metageneration": 1,
            "versioning": bool(spec.get("versioning", False)),
        }
        self.objects[bucket_id] = {}
        self.add_project(spec)
        return self.bucket_json(self.buckets[bucket_id])

    def add_project(self, spec):
        project = spec.get("project", "")
        if not project:
            raise ValueError("a project needs a 'project' id")
        self.projects.add(project)
        if spec.get("project_number"):
            self.projects.add(str(spec["project_number"]))
        return {"project": project}

    def add_objects(self, spec):
        bucket_id = spec.get("bucket", "")
        name = spec.get("name", "")
        count = int(spec.get("generations", 1))
        if bucket_id not in self.buckets:
            raise LookupError(f"bucket {bucket_id} does not exist")
        if not name or count < 1:
            raise ValueError("an object needs a 'name' and 'generations' >= 1")
        live = bool(spec.get("live", True))
        versions = self.objects[bucket_id].setdefault(name, [])
        created = parse_time(spec["create_time"]) if spec.get("create_time") else now()
        for version in versions:
            if version["delete_time"] is None:
                version["delete_time"] = created
        made = []
        for index in range(count):
            newest = index == count - 1
            version = {
                "name": name,
                "generation": self.next_generation(created),
                "metageneration": 1,
                "size": int(spec.get("size", 0)),
                "storage_class": self.buckets[bucket_id]["storage_class"],
                "content_type": spec.get("content_type", "application/octet-stream"),
                "create_time": created,
                "update_time": created,
                # A noncurrent version records when it stopped being live.
                "delete_time": None if (newest and live) else created,
            }
            versions.append(version)
            made.append(self.object_json(version))
        return made

    def snapshot(self):
        return {
            "buckets": [self.bucket_json(self.buckets[b]) for b in sorted(self.buckets)],
            "objects": {
                b: [self.object_json(v) for name in sorted(self.objects[b]) for v in self.objects[b][name]]
                for b in sorted(self.objects)
            },
        }

    def stats_json(self):
        return {
            "calls": dict(sorted(self.calls.items())),
            "total_calls": sum(self.calls.values()),
            "mutations": self.stats["mutations"],
            "mutations_applied": self.stats["mutations_applied"],
            "faults": self.stats["faults"],
            "faults_by_rpc": {k[len("fault "):]: v for k, v in sorted(self.stats.items()) if k.startswith("fault ")},
            "errors": dict(sorted(self.errors.items())),
            "routing_problems": self.stats["routing_problems"],
            "last_metadata": self.last_metadata,
            "queued_failures": {rpc: list(queue) for rpc, queue in self.failures.items() if queue},
        }

    @staticmethod
    def bucket_json(b):
        return {
            "name": bucket_resource(b["bucket_id"]),
            "bucket_id": b["bucket_id"],
            "project": b["project"],
            "project_number": b["project_number"],
            "location": b["location"],
            "location_type": b["location_type"],
            "storage_class": b["storage_class"],
            "labels": dict(sorted(b["labels"].items())),
            "create_time": rfc3339(b["create_time"]),
            "update_time": rfc3339(b["update_time"]),
            "metageneration": b["metageneration"],
            "versioning": b["versioning"],
        }

    @staticmethod
    def object_json(v):
        return {
            "name": v["name"],
            "generation": v["generation"],
            "metageneration": v["metageneration"],
            "live": v["delete_time"] is None,
            "size": v["size"],
            "create_time": rfc3339(v["create_time"]),
            "delete_time": rfc3339(v["delete_time"]) if v["delete_time"] else None,
        }

    # Wire side.

    def bucket_pb(self, b):
        message = Bucket(
            name=bucket_resource(b["bucket_id"]),
            bucket_id=b["bucket_id"],
            etag=f"mg{b['metageneration']}",
            project=f"projects/{b['project_number'] or b['project']}",
            metageneration=b["metageneration"],
            location=b["location"],
            location_type=b["location_type"],
            storage_class=b["storage_class"],
            labels=b["labels"],
        )
        message.create_time.FromDatetime(b["create_time"])
        message.update_time.FromDatetime(b["update_time"])
        message.versioning.enabled = b["versioning"]
        return message

    def object_pb(self, bucket_id, v):
        message = Object(
            name=v["name"],
            bucket=bucket_resource(bucket_id),
            etag=f"g{v['generation']}m{v['metageneration']}",
            generation=v["generation"],
            metageneration=v["metageneration"],
            storage_class=v["storage_class"],
            size=v["size"],
            content_type=v["content_type"],
        )
        message.create_time.FromDatetime(v["create_time"])
        message.update_time.FromDatetime(v["update_time"])
        message.finalize_time.FromDatetime(v["create_time"])
        if v["delete_time"] is not None:
            message.delete_time.FromDatetime(v["delete_time"])
        return message

    def find_bucket(self, name, field="name"):
        if not name:
            raise invalid(f"{field} is required")
        match = BUCKET_NAME.match(name)
        if not match:
            raise invalid(f"{field} {name!r} is not of the form projects/_/buckets/BUCKET")
        bucket_id = match.group(2)
        if bucket_id not in self.buckets:
            raise not_found(f"The specified bucket does not exist: {name}")
        return self.buckets[bucket_id]


def check_metageneration(request, current, not_match_code):
    if request.HasField("if_metageneration_match") and request.if_metageneration_match != current:
        raise failed_precondition(
            f"if_metageneration_match validation failed: expected {request.if_metageneration_match}, actual {current}")
    if request.HasField("if_metageneration_not_match") and request.if_metageneration_not_match == current:
        raise RpcError(not_match_code, f"if_metageneration_not_match validation failed: metageneration is {current}")


class Storage:
    """The RPC bodies. Each takes the decoded request and returns the response message."""

    def __init__(self, state):
        self.state = state

    def ListBuckets(self, request):
        if not request.parent.startswith("projects/") or request.parent in ("projects/", "projects/_"):
            raise invalid(f"parent {request.parent!r} is not of the form projects/PROJECT")
        project = request.parent[len("projects/"):]
        if project not in self.state.projects:
            raise RpcError(grpc.StatusCode.PERMISSION_DENIED,
                           f"The caller does not have storage.buckets.list access to the Google Cloud project {project!r}.")
        size = page_size_of(request)
        after = decode_token(request.page_token)
        names = sorted(
            b["bucket_id"] for b in self.state.buckets.values()
            if project in (b["project"], b["project_number"]) and b["bucket_id"].startswith(request.prefix)
        )
        if after is not None:
            names = [n for n in names if n > after]
        page = names[:size]
        response = ListBucketsResponse(
            buckets=[apply_read_mask(self.state.bucket_pb(self.state.buckets[n]), request) for n in page])
        if len(names) > size:
            response.next_page_token = encode_token(page[-1])
        return response

    def GetBucket(self, request):
        bucket = self.state.find_bucket(request.name)
        check_metageneration(request, bucket["metageneration"], grpc.StatusCode.ABORTED)
        return apply_read_mask(self.state.bucket_pb(bucket), request)

    def UpdateBucket(self, request):
        if not request.HasField("bucket"):
            raise invalid("bucket is required")
        bucket = self.state.find_bucket(request.bucket.name, "bucket.name")
        paths = list(request.update_mask.paths)
        if not paths:
            raise invalid("update_mask is required and must name at least one field")
        check_metageneration(request, bucket["metageneration"], grpc.StatusCode.FAILED_PRECONDITION)
        wanted = request.bucket
        labels = dict(bucket["labels"])
        versioning = bucket["versioning"]
        storage_class = bucket["storage_class"]
        for path in paths:
            top = path.split(".", 1)[0]
            if path == "*":
                labels = dict(wanted.labels)
                versioning = wanted.versioning.enabled
                storage_class = wanted.storage_class or "STANDARD"
            elif path == "labels":
                labels = dict(wanted.labels)
            elif path.startswith("labels."):
                key = path[len("labels."):]
                if key in wanted.labels:
                    labels[key] = wanted.labels[key]
                else:
                    labels.pop(key, None)
            elif path in ("versioning", "versioning.enabled"):
                versioning = wanted.versioning.enabled
            elif path == "storage_class":
                storage_class = wanted.storage_class or "STANDARD"
            elif top in BUCKET_IMMUTABLE:
                raise invalid(f"UpdateBucket cannot modify the immutable field {path!r}")
            elif top in Bucket.DESCRIPTOR.fields_by_name:
                raise RpcError(grpc.StatusCode.UNIMPLEMENTED,
                               f"this fake of GCS does not model updates of {path!r}")
            else:
                raise invalid(f"update_mask names an unknown Bucket field {path!r}")
        problem = label_problem(labels)
        if problem:
            raise invalid(problem)
        bucket.update(labels=labels, versioning=versioning, storage_class=storage_class,
                      metageneration=bucket["metageneration"] + 1,
                      update_time=max(now(), bucket["update_time"]))
        return self.state.bucket_pb(bucket)

    def DeleteBucket(self, request):
        bucket = self.state.find_bucket(request.name)
        check_metageneration(request, bucket["metageneration"], grpc.StatusCode.FAILED_PRECONDITION)
        held = self.state.objects[bucket["bucket_id"]]
        if any(held.values()):
            raise failed_precondition("The bucket you tried to delete is not empty.")
        del self.state.buckets[bucket["bucket_id"]]
        del self.state.objects[bucket["bucket_id"]]
        return empty_pb2.Empty()

    def ListObjects(self, request):
        bucket = self.state.find_bucket(request.parent, "parent")
        for field in ("match_glob", "filter", "soft_deleted", "include_folders_as_prefixes",
                      "include_trailing_delimiter"):
            if getattr(request, field):
                raise RpcError(grpc.StatusCode.UNIMPLEMENTED, f"this fake of GCS does not support ListObjects.{field}")
        size = page_size_of(request)
        after = decode_token(request.page_token)
        prefix, delimiter = request.prefix, request.delimiter
        entries = {}
        for name, versions in self.state.objects[bucket["bucket_id"]].items():
            if not name.startswith(prefix) or name < request.lexicographic_start:
                continue
            if request.lexicographic_end and name >= request.lexicographic_end:
                continue
            cut = name.find(delimiter, len(prefix)) if delimiter else -1
            if cut >= 0:
                common = name[:cut + len(delimiter)]
                entries[(common, -1)] = ("prefix", common)
                continue
            for version in versions:
                if request.versions or version["delete_time"] is None:
                    entries[(name, version["generation"])] = ("object", version)
        keys = sorted(entries)
        if after is not None:
            keys = [k for k in keys if list(k) > after]
        page = keys[:size]
        response = ListObjectsResponse()
        for key in page:
            kind, value = entries[key]
            if kind == "prefix":
                response.prefixes.append(value)
            else:
                response.objects.append(apply_read_mask(self.state.object_pb(bucket["bucket_id"], value), request))
        if len(keys) > size:
            response.next_page_token = encode_token(list(page[-1]))
        return response

    def DeleteObject(self, request):
        bucket = self.state.find_bucket(request.bucket, "bucket")
        # proto-plus names field 2 "object_" in the descriptor it builds (the wire is unchanged).
        if not request.object_:
            raise invalid("object is required")
        versions = self.state.objects[bucket["bucket_id"]].get(request.object_, [])
        live = next((v for v in versions if v["delete_time"] is None), None)
        if request.generation:
            target = next((v for v in versions if v["generation"] == request.generation), None)
        else:
            target = live
        if target is None:
            raise not_found(f"No such object: {bucket['bucket_id']}/{request.object_}"
                            + (f"#{request.generation}" if request.generation else ""))
        if request.HasField("if_generation_match") and request.if_generation_match != target["generation"]:
            raise failed_precondition(f"if_generation_match validation failed: generation is {target['generation']}")
        if request.HasField("if_generation_not_match") and request.if_generation_not_match == target["generation"]:
            raise failed_precondition(f"if_generation_not_match validation failed: generation is {target['generation']}")
        check_metageneration(request, target["metageneration"], grpc.StatusCode.FAILED_PRECONDITION)
        if request.generation or not bucket["versioning"]:
            versions.remove(target)
            if not versions:
                del self.state.objects[bucket["bucket_id"]][request.object_]
        else:
            target["delete_time"] = now()
        return empty_pb2.Empty()


# name -> (request class, mutating, routing key, routing field getter).
RPCS = {
    "ListBuckets": (storage_types.ListBucketsRequest.pb(), False, "project", lambda r: r.parent),
    "GetBucket": (storage_types.GetBucketRequest.pb(), False, "bucket", lambda r: r.name),
    "UpdateBucket": (storage_types.UpdateBucketRequest.pb(), True, "bucket", lambda r: r.bucket.name),
    "DeleteBucket": (storage_types.DeleteBucketRequest.pb(), True, "bucket", lambda r: r.name),
    "ListObjects": (storage_types.ListObjectsRequest.pb(), False, "bucket", lambda r: r.parent),
    "DeleteObject": (storage_types.DeleteObjectRequest.pb(), True, "bucket", lambda r: r.bucket),
}


def routing_params(metadata):
    params = {}
    for part in metadata.get("x-goog-request-params", "").split("&"):
        if "=" in part:
            key, value = part.split("=", 1)
            params[unquote(key)] = unquote(value)
    return params


class Service:
    """Counting, fault injection and error mapping around Storage's RPC bodies."""

    def __init__(self, state):
        self.state = state
        self.storage = Storage(state)

    def take_fault(self, rpc):
        """Decides, under the lock, whether this call fails and how."""
        total = sum(self.state.calls.values())
        if UNAVAILABLE_EVERY > 0 and total % UNAVAILABLE_EVERY == 0:
            return {"code": "UNAVAILABLE", "when": "before", "message": "injected: GCS_FAKE_UNAVAILABLE_EVERY"}
        queue = self.state.failures.get(rpc)
        if queue:
            fault = queue[0]
            fault["times"] -= 1
            if fault["times"] <= 0:
                queue.pop(0)
            return fault
        return None

    def count(self, rpc, metadata):
        with self.state.lock:
            self.state.calls[rpc] += 1
            self.state.last_metadata[rpc] = {
                k: v for k, v in metadata.items()
                if k in ("x-goog-request-params", "x-goog-api-client", "user-agent", "authorization",
                         "grpc-timeout", "x-goog-user-project")
            }
            return self.take_fault(rpc)

    def fail(self, rpc, fault, context):
        with self.state.lock:
            self.state.stats["faults"] += 1
            self.state.stats[f"fault {rpc}"] += 1
        context.abort(getattr(grpc.StatusCode, fault["code"]), fault.get("message") or f"injected {fault['code']}")

    def handler(self, rpc):
        request_class, mutating, routing_key, routing_field = RPCS[rpc]
        body = getattr(self.storage, rpc)

        def handle(request, context):
            metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
            fault = self.count(rpc, metadata)
            if mutating:
                with self.state.lock:
                    self.state.stats["mutations"] += 1
            if fault and fault.get("when", "before") == "before":
                self.fail(rpc, fault, context)
            try:
                sent = routing_params(metadata).get(routing_key)
                if sent != routing_field(request):
                    with self.state.lock:
                        self.state.stats["routing_problems"] += 1
                    if STRICT_ROUTING:
                        raise invalid(f"x-goog-request-params must carry {routing_key}={routing_field(request)}, "
                                      f"got {metadata.get('x-goog-request-params')!r}")
                with self.state.lock:
                    response = body(request)
                    if mutating:
                        self.state.stats["mutations_applied"] += 1
            except RpcError as error:
                with self.state.lock:
                    self.state.errors[error.code.name] += 1
                context.abort(error.code, error.message)
            except Exception as error:  # A bug in the fake: say so loudly rather than as UNKNOWN.
                traceback.print_exc(file=sys.stderr)
                with self.state.lock:
                    self.state.errors["INTERNAL"] += 1
                context.abort(grpc.StatusCode.INTERNAL, f"gcs_fake bug in {rpc}: {error!r}")
            if fault:
                self.fail(rpc, fault, context)
            return response

        return grpc.unary_unary_rpc_method_handler(
            handle,
            request_deserializer=request_class.FromString,
            response_serializer=lambda message: message.SerializeToString(),
        )


def unimplemented_handler(service):
    """Answers every other method, of any service and any streaming shape, with UNIMPLEMENTED,
    after counting it, so that a test sees which RPC the client tried."""

    class Handler(grpc.GenericRpcHandler):
        def service(self, handler_call_details):
            method = handler_call_details.method
            rpc = method[len(f"/{SERVICE}/"):] if method.startswith(f"/{SERVICE}/") else method

            def refuse(_requests, context):
                metadata = {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}
                fault = service.count(rpc, metadata)
                if fault and fault.get("when", "before") == "before":
                    service.fail(rpc, fault, context)
                with service.state.lock:
                    service.state.errors["UNIMPLEMENTED"] += 1
                context.abort(grpc.StatusCode.UNIMPLEMENTED, f"this fake of GCS does not implement {method}")

            return grpc.stream_stream_rpc_method_handler(refuse)

    return Handler()


def admin_server(state):
    class Admin(BaseHTTPRequestHandler):
        def reply(self, status, payload):
            data = json.dumps(payload, sort_keys=True).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}") if length else {}

        def do_GET(self):
            with state.lock:
                if self.path == "/state":
                    return self.reply(200, state.snapshot())
                if self.path == "/stats":
                    return self.reply(200, state.stats_json())
            self.reply(404, {"error": f"no route GET {self.path}"})

        def do_POST(self):
            try:
                spec = self.body()
                with state.lock:
                    if self.path == "/projects":
                        return self.reply(201, state.add_project(spec))
                    if self.path == "/buckets":
                        return self.reply(201, state.add_bucket(spec))
                    if self.path == "/objects":
                        return self.reply(201, {"versions": state.add_objects(spec)})
                    if self.path == "/fail":
                        return self.reply(200, queue_failure(state, spec))
                    if self.path == "/reset":
                        state.reset()
                        return self.reply(200, {"reset": True})
                self.reply(404, {"error": f"no route POST {self.path}"})
            except KeyError as error:
                self.reply(409, {"error": str(error.args[0])})
            except LookupError as error:
                self.reply(404, {"error": str(error)})
            except (ValueError, TypeError) as error:
                self.reply(400, {"error": str(error)})

        def log_message(self, *_args):
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Admin)


def queue_failure(state, spec):
    rpc = spec.get("rpc", "")
    code = spec.get("code", "UNAVAILABLE")
    times = int(spec.get("times", 1))
    when = spec.get("when", "before")
    if not rpc or code not in grpc.StatusCode.__members__ or code == "OK" or times < 1:
        raise ValueError("POST /fail needs 'rpc', a gRPC status 'code' other than OK, and 'times' >= 1")
    if when not in ("before", "after"):
        raise ValueError("'when' is 'before' or 'after'")
    fault = {"code": code, "times": times, "when": when, "message": spec.get("message")}
    state.failures.setdefault(rpc, []).append(fault)
    return {"queued": {"rpc": rpc, **fault}}


def main():
    state = State()
    service = Service(state)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers([
        grpc.method_handlers_generic_handler(SERVICE, {rpc: service.handler(rpc) for rpc in RPCS}),
        unimplemented_handler(service),
    ])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    admin = admin_server(state)
    threading.Thread(target=admin.serve_forever, daemon=True).start()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(json.dumps({"port": port, "admin_port": admin.server_port}), flush=True)
    stop.wait()
    admin.shutdown()
    server.stop(grace=0.5).wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
