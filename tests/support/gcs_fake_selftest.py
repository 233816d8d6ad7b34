"""Self-test of gcs_fake.py, the project's fake of Google Cloud Storage's gRPC API (not Google).

Usage: gcs_fake_selftest.py [PYTHON]   (PYTHON defaults to this interpreter; it must have the
fake's pinned packages: grpcio==1.85.1, google-cloud-storage[grpc]==3.17.1).

Starts the fake as a subprocess, reads its {"port", "admin_port"} line, and drives every RPC
with generic gRPC stubs (channel.unary_unary on "/google.storage.v2.Storage/METHOD"), encoding
requests and decoding responses through the proto-plus types' serialize/deserialize, and
sending the x-goog-request-params header as the Rust crate does. Prints one line per check and
a closing "N passed, M failed"; exits 0 only when every check passed.
"""

import json
import os
import subprocess
import sys
import time
import traceback
import urllib.error
import urllib.request
from datetime import datetime, timezone
from urllib.parse import quote

import grpc
from google.cloud._storage_v2.types import storage as t
from google.protobuf import empty_pb2, field_mask_pb2

HERE = os.path.dirname(os.path.abspath(__file__))
FAKE = os.path.join(HERE, "gcs_fake.py")
SERVICE = "google.storage.v2.Storage"

RESPONSES = {
    "ListBuckets": t.ListBucketsResponse,
    "GetBucket": t.Bucket,
    "UpdateBucket": t.Bucket,
    "DeleteBucket": None,
    "ListObjects": t.ListObjectsResponse,
    "DeleteObject": None,
    "CreateBucket": t.Bucket,
}

# Which request field the Rust crate copies into x-goog-request-params, under which key.
ROUTING = {
    "ListBuckets": ("project", lambda r: r.parent),
    "GetBucket": ("bucket", lambda r: r.name),
    "UpdateBucket": ("bucket", lambda r: r.bucket.name),
    "DeleteBucket": ("bucket", lambda r: r.name),
    "ListObjects": ("bucket", lambda r: r.parent),
    "DeleteObject": ("bucket", lambda r: r.bucket),
    "CreateBucket": ("project", lambda r: r.bucket.project),
}


class Fake:
    def __init__(self, python, env=None):
        self.process = subprocess.Popen(
            [python, FAKE], stdout=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})},
        )
        try:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError(f"the fake exited before printing its ports (code {self.process.wait()})")
            ports = json.loads(line)
            assert set(ports) == {"port", "admin_port"}, ports
            self.port, self.admin_port = ports["port"], ports["admin_port"]
            self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
            grpc.channel_ready_future(self.channel).result(timeout=10)
        except BaseException:
            self.process.kill()
            self.process.wait()
            raise

    def call(self, rpc, request, routing="raw"):
        """routing: "raw" as the Rust crate sends it, "encoded" as Python's gapic does, None: no header."""
        response_type = RESPONSES[rpc]
        stub = self.channel.unary_unary(
            f"/{SERVICE}/{rpc}",
            request_serializer=type(request).serialize,
            response_deserializer=response_type.deserialize if response_type else empty_pb2.Empty.FromString,
        )
        metadata = [("x-goog-api-client", "gl-python/selftest")]
        if routing:
            key, field = ROUTING[rpc]
            value = field(request)
            metadata.append(("x-goog-request-params", f"{key}={quote(value, safe='') if routing == 'encoded' else value}"))
        return stub(request, metadata=metadata, timeout=10)

    def admin(self, method, path, payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.admin_port}{path}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def ok(self, method, path, payload=None):
        status, body = self.admin(method, path, payload)
        assert status in (200, 201), (method, path, status, body)
        return body

    def stop(self):
        self.channel.close()
        self.process.terminate()
        code = self.process.wait(timeout=10)
        assert code == 0, f"fake exited with {code} on SIGTERM"


def expect_code(code, function, *args, **kwargs):
    try:
        function(*args, **kwargs)
    except grpc.RpcError as error:
        assert error.code() == code, f"expected {code.name}, got {error.code().name}: {error.details()}"
        return error
    raise AssertionError(f"expected {code.name}, the call succeeded")


def bucket(name):
    return f"projects/_/buckets/{name}"


def list_all_buckets(fake, parent, **kwargs):
    names, pages, token = [], 0, ""
    while True:
        response = fake.call("ListBuckets", t.ListBucketsRequest(parent=parent, page_token=token, **kwargs))
        pages += 1
        names += [b.bucket_id for b in response.buckets]
        token = response.next_page_token
        if not token:
            return names, pages


def list_all_objects(fake, bucket_id, **kwargs):
    objects, prefixes, pages, token = [], [], 0, ""
    while True:
        response = fake.call("ListObjects", t.ListObjectsRequest(parent=bucket(bucket_id), page_token=token, **kwargs))
        pages += 1
        objects += list(response.objects)
        prefixes += list(response.prefixes)
        token = response.next_page_token
        if not token:
            return objects, prefixes, pages


def seed(fake):
    fake.ok("POST", "/buckets", {"project": "acme", "name": "b-alpha", "location": "us-central1",
                                 "labels": {"env": "dev"}, "create_time": "2020-01-01T00:00:00Z"})
    fake.ok("POST", "/buckets", {"project": "acme", "name": "b-bravo", "location": "EU", "versioning": True})
    for name in ("b-charlie", "b-delta", "b-echo"):
        fake.ok("POST", "/buckets", {"project": "acme", "name": name, "location": "us-east1"})
    fake.ok("POST", "/buckets", {"project": "other", "project_number": 123456789, "name": "o-one"})
    fake.ok("POST", "/objects", {"bucket": "b-bravo", "name": "logs/a.txt", "generations": 3})
    fake.ok("POST", "/objects", {"bucket": "b-bravo", "name": "logs/b.txt", "generations": 1})
    fake.ok("POST", "/objects", {"bucket": "b-bravo", "name": "readme", "generations": 1})
    # Only noncurrent versions: the live one was deleted on a versioned bucket.
    fake.ok("POST", "/objects", {"bucket": "b-charlie", "name": "old", "generations": 2, "live": False})


def main_checks(fake):
    checks = []

    def check(function):
        checks.append(function)
        return function

    @check
    def list_buckets_pages_with_default_page_size():
        before = fake.ok("GET", "/stats")["calls"].get("ListBuckets", 0)
        names, pages = list_all_buckets(fake, "projects/acme")
        assert names == ["b-alpha", "b-bravo", "b-charlie", "b-delta", "b-echo"], names
        assert pages == 3, pages
        assert fake.ok("GET", "/stats")["calls"]["ListBuckets"] - before == 3

    @check
    def list_buckets_page_size_and_prefix():
        response = fake.call("ListBuckets", t.ListBucketsRequest(parent="projects/acme", page_size=10))
        assert len(response.buckets) == 5 and response.next_page_token == ""
        response = fake.call("ListBuckets", t.ListBucketsRequest(parent="projects/acme", prefix="b-c"))
        assert [b.bucket_id for b in response.buckets] == ["b-charlie"]
        expect_code(grpc.StatusCode.PERMISSION_DENIED, fake.call, "ListBuckets",
                    t.ListBucketsRequest(parent="projects/nobody"))
        fake.ok("POST", "/projects", {"project": "empty-project"})
        response = fake.call("ListBuckets", t.ListBucketsRequest(parent="projects/empty-project"))
        assert len(response.buckets) == 0 and response.next_page_token == ""

    @check
    def list_buckets_by_project_id_or_number():
        for parent in ("projects/other", "projects/123456789"):
            response = fake.call("ListBuckets", t.ListBucketsRequest(parent=parent))
            assert [(b.bucket_id, b.project) for b in response.buckets] == [("o-one", "projects/123456789")], response

    @check
    def list_buckets_rejects_bad_parent_and_token():
        expect_code(grpc.StatusCode.INVALID_ARGUMENT, fake.call, "ListBuckets", t.ListBucketsRequest(parent="acme"), None)
        expect_code(grpc.StatusCode.INVALID_ARGUMENT, fake.call, "ListBuckets",
                    t.ListBucketsRequest(parent="projects/acme", page_token="%%%not-a-token"))

    @check
    def bucket_carries_every_field():
        b = fake.call("GetBucket", t.GetBucketRequest(name=bucket("b-alpha")))
        assert b.name == "projects/_/buckets/b-alpha" and b.bucket_id == "b-alpha", b
        assert b.project == "projects/acme" and b.location == "US-CENTRAL1" and b.location_type == "region", b
        assert dict(b.labels) == {"env": "dev"}, b.labels
        assert b.create_time == datetime(2020, 1, 1, tzinfo=timezone.utc), b.create_time
        assert b.update_time == b.create_time and b.metageneration == 1, b
        assert "versioning" in b and not b.versioning.enabled, b
        assert b.storage_class == "STANDARD"
        b = fake.call("GetBucket", t.GetBucketRequest(name=bucket("b-bravo")), routing="encoded")
        assert b.versioning.enabled and b.location == "EU" and b.location_type == "multi-region", b

    @check
    def get_bucket_errors_and_read_mask():
        expect_code(grpc.StatusCode.NOT_FOUND, fake.call, "GetBucket", t.GetBucketRequest(name=bucket("missing")))
        expect_code(grpc.StatusCode.INVALID_ARGUMENT, fake.call, "GetBucket", t.GetBucketRequest(name="b-alpha"))
        b = fake.call("GetBucket", t.GetBucketRequest(name=bucket("b-alpha"),
                                                      read_mask=field_mask_pb2.FieldMask(paths=["labels"])))
        assert b.name == "" and dict(b.labels) == {"env": "dev"}, b

    @check
    def get_bucket_metageneration_preconditions():
        fake.call("GetBucket", t.GetBucketRequest(name=bucket("b-alpha"), if_metageneration_match=1))
        expect_code(grpc.StatusCode.FAILED_PRECONDITION, fake.call, "GetBucket",
                    t.GetBucketRequest(name=bucket("b-alpha"), if_metageneration_match=7))
        expect_code(grpc.StatusCode.ABORTED, fake.call, "GetBucket",
                    t.GetBucketRequest(name=bucket("b-alpha"), if_metageneration_not_match=1))

    @check
    def reads_mutate_nothing():
        state, stats = fake.ok("GET", "/state"), fake.ok("GET", "/stats")
        list_all_buckets(fake, "projects/acme")
        for name in ("b-alpha", "b-bravo", "b-charlie"):
            fake.call("GetBucket", t.GetBucketRequest(name=bucket(name)))
            list_all_objects(fake, name, versions=True)
        assert fake.ok("GET", "/state") == state
        after = fake.ok("GET", "/stats")
        assert after["mutations"] == stats["mutations"] and after["mutations_applied"] == stats["mutations_applied"]

    @check
    def update_bucket_labels():
        created = fake.call("GetBucket", t.GetBucketRequest(name=bucket("b-alpha")))
        mask = field_mask_pb2.FieldMask(paths=["labels"])
        b = fake.call("UpdateBucket", t.UpdateBucketRequest(
            bucket=t.Bucket(name=bucket("b-alpha"), labels={"owner": "team-a", "cost-center": "42"}), update_mask=mask))
        assert dict(b.labels) == {"owner": "team-a", "cost-center": "42"}, b.labels
        assert b.metageneration == 2 and b.update_time > created.update_time and b.create_time == created.create_time
        b = fake.call("UpdateBucket", t.UpdateBucketRequest(
            bucket=t.Bucket(name=bucket("b-alpha"), labels={"env": "prod"}), if_metageneration_match=2,
            update_mask=field_mask_pb2.FieldMask(paths=["labels.env", "labels.owner"])))
        assert dict(b.labels) == {"env": "prod", "cost-center": "42"}, b.labels
        assert b.metageneration == 3
        got = fake.call("GetBucket", t.GetBucketRequest(name=bucket("b-alpha")))
        assert dict(got.labels) == dict(b.labels) and got.metageneration == 3
        state = {s["bucket_id"]: s for s in fake.ok("GET", "/state")["buckets"]}
        assert state["b-alpha"]["labels"] == {"cost-center": "42", "env": "prod"}

    @check
    def update_bucket_errors_change_nothing():
        before = fake.ok("GET", "/state")
        target = t.Bucket(name=bucket("b-alpha"), labels={"env": "x"})
        cases = [
            (grpc.StatusCode.INVALID_ARGUMENT, t.UpdateBucketRequest(bucket=target)),
            (grpc.StatusCode.INVALID_ARGUMENT, t.UpdateBucketRequest(
                bucket=target, update_mask=field_mask_pb2.FieldMask(paths=["location"]))),
            (grpc.StatusCode.INVALID_ARGUMENT, t.UpdateBucketRequest(
                bucket=t.Bucket(name=bucket("b-alpha"), labels={"Env": "x"}),
                update_mask=field_mask_pb2.FieldMask(paths=["labels"]))),
            (grpc.StatusCode.INVALID_ARGUMENT, t.UpdateBucketRequest(
                bucket=t.Bucket(name=bucket("b-alpha"), labels={"env": "Has Space"}),
                update_mask=field_mask_pb2.FieldMask(paths=["labels"]))),
            (grpc.StatusCode.FAILED_PRECONDITION, t.UpdateBucketRequest(
                bucket=target, if_metageneration_match=1, update_mask=field_mask_pb2.FieldMask(paths=["labels"]))),
            (grpc.StatusCode.NOT_FOUND, t.UpdateBucketRequest(
                bucket=t.Bucket(name=bucket("missing")), update_mask=field_mask_pb2.FieldMask(paths=["labels"]))),
            (grpc.StatusCode.UNIMPLEMENTED, t.UpdateBucketRequest(
                bucket=target, update_mask=field_mask_pb2.FieldMask(paths=["lifecycle"]))),
        ]
        for code, request in cases:
            expect_code(code, fake.call, "UpdateBucket", request)
        assert fake.ok("GET", "/state") == before

    @check
    def delete_bucket_refused_while_it_holds_versions():
        expect_code(grpc.StatusCode.FAILED_PRECONDITION, fake.call, "DeleteBucket", t.DeleteBucketRequest(name=bucket("b-bravo")))
        # Noncurrent versions alone still keep a bucket from being deleted.
        error = expect_code(grpc.StatusCode.FAILED_PRECONDITION, fake.call, "DeleteBucket",
                            t.DeleteBucketRequest(name=bucket("b-charlie")))
        assert "not empty" in error.details()
        expect_code(grpc.StatusCode.FAILED_PRECONDITION, fake.call, "DeleteBucket",
                    t.DeleteBucketRequest(name=bucket("b-delta"), if_metageneration_match=5))
        expect_code(grpc.StatusCode.NOT_FOUND, fake.call, "DeleteBucket", t.DeleteBucketRequest(name=bucket("missing")))
        names = [b["bucket_id"] for b in fake.ok("GET", "/state")["buckets"]]
        assert {"b-bravo", "b-charlie", "b-delta"} <= set(names)

    @check
    def list_objects_live_versions_and_pages():
        objects, prefixes, pages = list_all_objects(fake, "b-bravo")
        assert [o.name for o in objects] == ["logs/a.txt", "logs/b.txt", "readme"] and pages == 2 and not prefixes
        assert all(o.bucket == bucket("b-bravo") and o.generation > 0 and "delete_time" not in o for o in objects)
        objects, _, pages = list_all_objects(fake, "b-bravo", versions=True)
        assert [o.name for o in objects] == ["logs/a.txt"] * 3 + ["logs/b.txt", "readme"] and pages == 3
        generations = [o.generation for o in objects[:3]]
        assert generations == sorted(generations) and len(set(generations)) == 3
        assert ["delete_time" in o for o in objects] == [True, True, False, False, False]
        objects, _, _ = list_all_objects(fake, "b-charlie")
        assert objects == []
        objects, _, _ = list_all_objects(fake, "b-charlie", versions=True)
        assert len(objects) == 2

    @check
    def list_objects_prefix_delimiter_and_errors():
        objects, prefixes, _ = list_all_objects(fake, "b-bravo", delimiter="/", page_size=10)
        assert prefixes == ["logs/"] and [o.name for o in objects] == ["readme"], (prefixes, objects)
        objects, _, _ = list_all_objects(fake, "b-bravo", prefix="logs/")
        assert [o.name for o in objects] == ["logs/a.txt", "logs/b.txt"]
        expect_code(grpc.StatusCode.NOT_FOUND, fake.call, "ListObjects", t.ListObjectsRequest(parent=bucket("missing")))
        expect_code(grpc.StatusCode.UNIMPLEMENTED, fake.call, "ListObjects",
                    t.ListObjectsRequest(parent=bucket("b-bravo"), match_glob="**.txt"))

    @check
    def delete_object_semantics():
        # Versioned bucket, no generation: the live version becomes noncurrent.
        fake.call("DeleteObject", t.DeleteObjectRequest(bucket=bucket("b-bravo"), object_="readme"))
        live, _, _ = list_all_objects(fake, "b-bravo")
        assert "readme" not in [o.name for o in live]
        every, _, _ = list_all_objects(fake, "b-bravo", versions=True)
        readme = [o for o in every if o.name == "readme"]
        assert len(readme) == 1 and "delete_time" in readme[0]
        expect_code(grpc.StatusCode.NOT_FOUND, fake.call, "DeleteObject",
                    t.DeleteObjectRequest(bucket=bucket("b-bravo"), object_="readme"))
        expect_code(grpc.StatusCode.NOT_FOUND, fake.call, "DeleteObject",
                    t.DeleteObjectRequest(bucket=bucket("b-bravo"), object_="nothing"))
        expect_code(grpc.StatusCode.NOT_FOUND, fake.call, "DeleteObject",
                    t.DeleteObjectRequest(bucket=bucket("b-bravo"), object_="readme", generation=1))
        expect_code(grpc.StatusCode.NOT_FOUND, fake.call, "DeleteObject",
                    t.DeleteObjectRequest(bucket=bucket("missing"), object_="readme"))
        expect_code(grpc.StatusCode.FAILED_PRECONDITION, fake.call, "DeleteObject",
                    t.DeleteObjectRequest(bucket=bucket("b-bravo"), object_="logs/b.txt", if_generation_match=1))
        # Unversioned bucket: gone at once.
        fake.ok("POST", "/objects", {"bucket": "b-echo", "name": "x", "generations": 1})
        fake.call("DeleteObject", t.DeleteObjectRequest(bucket=bucket("b-echo"), object_="x"))
        assert fake.ok("GET", "/state")["objects"]["b-echo"] == []

    @check
    def delete_every_version_then_the_bucket():
        for name in ("b-bravo", "b-charlie"):
            versions, _, _ = list_all_objects(fake, name, versions=True)
            assert versions
            for o in versions:
                fake.call("DeleteObject", t.DeleteObjectRequest(bucket=o.bucket, object_=o.name, generation=o.generation))
            assert list_all_objects(fake, name, versions=True)[0] == []
            fake.call("DeleteBucket", t.DeleteBucketRequest(name=bucket(name)))
            expect_code(grpc.StatusCode.NOT_FOUND, fake.call, "GetBucket", t.GetBucketRequest(name=bucket(name)))
            expect_code(grpc.StatusCode.NOT_FOUND, fake.call, "DeleteBucket", t.DeleteBucketRequest(name=bucket(name)))
        names, _ = list_all_buckets(fake, "projects/acme")
        assert names == ["b-alpha", "b-delta", "b-echo"], names
        # An empty bucket deletes with a matching metageneration precondition.
        fake.call("DeleteBucket", t.DeleteBucketRequest(name=bucket("b-echo"), if_metageneration_match=1))

    @check
    def other_rpcs_are_unimplemented_and_counted():
        expect_code(grpc.StatusCode.UNIMPLEMENTED, fake.call, "CreateBucket",
                    t.CreateBucketRequest(parent="projects/_", bucket_id="new", bucket=t.Bucket(project="projects/acme")))
        assert fake.ok("GET", "/stats")["calls"]["CreateBucket"] == 1

    @check
    def injected_failures_before_the_change():
        faults = fake.ok("GET", "/stats")["faults"]
        fake.ok("POST", "/fail", {"rpc": "DeleteBucket", "code": "UNAVAILABLE", "times": 2})
        request = t.DeleteBucketRequest(name=bucket("b-delta"))
        for _ in range(2):
            expect_code(grpc.StatusCode.UNAVAILABLE, fake.call, "DeleteBucket", request)
            assert "b-delta" in [b["bucket_id"] for b in fake.ok("GET", "/state")["buckets"]]
        fake.call("DeleteBucket", request)
        stats = fake.ok("GET", "/stats")
        assert stats["faults"] == faults + 2 and stats["faults_by_rpc"]["DeleteBucket"] == 2
        assert "b-delta" not in [b["bucket_id"] for b in fake.ok("GET", "/state")["buckets"]]

    @check
    def injected_failure_after_the_change():
        fake.ok("POST", "/objects", {"bucket": "b-alpha", "name": "gone", "generations": 1})
        fake.ok("POST", "/fail", {"rpc": "DeleteObject", "code": "UNAVAILABLE", "when": "after"})
        request = t.DeleteObjectRequest(bucket=bucket("b-alpha"), object_="gone")
        expect_code(grpc.StatusCode.UNAVAILABLE, fake.call, "DeleteObject", request)
        assert fake.ok("GET", "/state")["objects"]["b-alpha"] == []
        expect_code(grpc.StatusCode.NOT_FOUND, fake.call, "DeleteObject", request)

    @check
    def mutation_counters():
        stats = fake.ok("GET", "/stats")
        assert stats["mutations"] > stats["mutations_applied"] > 0, stats
        assert stats["errors"]["NOT_FOUND"] > 0 and stats["errors"]["FAILED_PRECONDITION"] > 0

    @check
    def routing_header_recorded():
        stats = fake.ok("GET", "/stats")
        assert stats["routing_problems"] == 1, stats["routing_problems"]  # the one call sent without it
        assert stats["last_metadata"]["GetBucket"]["x-goog-request-params"].startswith("bucket=projects/_/buckets/")
        fake.call("GetBucket", t.GetBucketRequest(name=bucket("b-alpha")), routing=None)
        assert fake.ok("GET", "/stats")["routing_problems"] == 2

    @check
    def admin_routes_refuse_bad_input():
        assert fake.admin("POST", "/buckets", {"project": "acme", "name": "b-alpha"})[0] == 409
        assert fake.admin("POST", "/buckets", {"project": "acme", "name": "Bad_Name!"})[0] == 400
        assert fake.admin("POST", "/objects", {"bucket": "missing", "name": "x"})[0] == 404
        assert fake.admin("POST", "/fail", {"rpc": "GetBucket", "code": "NOPE"})[0] == 400
        assert fake.admin("GET", "/nowhere")[0] == 404
        assert fake.ok("POST", "/reset") == {"reset": True}
        assert fake.ok("GET", "/state") == {"buckets": [], "objects": {}}
        assert fake.ok("GET", "/stats")["total_calls"] == 0

    return checks


def env_checks(python):
    checks = []

    def check(function):
        checks.append(function)
        return function

    @check
    def unavailable_every_third_call_and_strict_routing():
        fake = Fake(python, {"GCS_FAKE_UNAVAILABLE_EVERY": "3", "GCS_FAKE_STRICT_ROUTING": "1",
                             "GCS_FAKE_PAGE_SIZE": "5"})
        try:
            fake.ok("POST", "/buckets", {"project": "p", "name": "only-one"})
            request = t.ListBucketsRequest(parent="projects/p")
            outcomes = []
            for _ in range(6):
                try:
                    outcomes.append(len(fake.call("ListBuckets", request).buckets))
                except grpc.RpcError as error:
                    outcomes.append(error.code().name)
            assert outcomes == [1, 1, "UNAVAILABLE", 1, 1, "UNAVAILABLE"], outcomes
            assert fake.ok("GET", "/stats")["faults"] == 2
            expect_code(grpc.StatusCode.INVALID_ARGUMENT, fake.call, "ListBuckets", request, None)
            fake.call("ListBuckets", request, routing="encoded")
        finally:
            fake.stop()

    return checks


def run(checks):
    passed = failed = 0
    for function in checks:
        started = time.monotonic()
        try:
            function()
            passed += 1
            print(f"ok   {function.__name__} ({time.monotonic() - started:.2f}s)")
        except Exception:  # noqa: BLE001 - a failed check is reported, and the run goes on.
            failed += 1
            print(f"FAIL {function.__name__}")
            traceback.print_exc(file=sys.stdout)
    return passed, failed


def main():
    python = sys.argv[1] if len(sys.argv) > 1 else sys.executable
    fake = Fake(python)
    try:
        seed(fake)
        passed, failed = run(main_checks(fake))
    finally:
        fake.stop()
    more_passed, more_failed = run(env_checks(python))
    passed, failed = passed + more_passed, failed + more_failed
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
