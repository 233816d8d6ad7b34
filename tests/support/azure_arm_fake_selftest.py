#!/usr/bin/env python3
"""Self-test for azure_arm_fake.py (the fake of Azure Resource Manager's resource-group API; not Azure).

Starts the fake as a subprocess, drives every route with urllib, asserts the wire behaviour and exits 0.
Run: /usr/bin/python3 tests/support/azure_arm_fake_selftest.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FAKE = Path(__file__).with_name("azure_arm_fake.py")
API = "2021-04-01"
SUB = "00000000-0000-0000-0000-000000000001"
OTHER_SUB = "00000000-0000-0000-0000-000000000002"
TOKEN = "selftest-secret-token-do-not-store"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Response:
    def __init__(self, status: int, headers, body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # never follow; 202 + Location is not a redirect anyway
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def request(method: str, url: str, body=None, headers: dict[str, str] | None = None) -> Response:
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with OPENER.open(req, timeout=10) as resp:
            return Response(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, err.headers, err.read())


class Fake:
    def __init__(self, **env: str) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("AZ_FAKE_")}
        full_env.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, str(FAKE)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            text=True,
        )
        line_holder: list[str] = []
        reader = threading.Thread(target=lambda: line_holder.append(self.proc.stdout.readline()), daemon=True)
        reader.start()
        reader.join(10)
        if not line_holder or not line_holder[0].strip():
            self.stop()
            raise AssertionError(f"fake did not report its port; stderr: {self.proc.stderr.read()}")
        first = line_holder[0]
        self.port = json.loads(first)["port"]
        assert set(json.loads(first)) == {"port"}, first
        self.base = f"http://127.0.0.1:{self.port}"

    def arm(self, method: str, path: str, body=None, api: str | None = API, auth: bool = True, **extra) -> Response:
        url = self.base + path
        if api is not None:
            url += ("&" if "?" in url else "?") + f"api-version={api}"
        headers = dict(AUTH) if auth else {}
        headers.update(extra.get("headers", {}))
        return request(method, url, body, headers)

    def admin(self, method: str, path: str, body=None) -> Response:
        return request(method, self.base + "/_fake/" + path, body)

    def seed(self, name: str, sub: str = SUB, location: str = "westeurope", tags=None, created=None) -> None:
        body = {"subscription": sub, "name": name, "location": location}
        if tags is not None:
            body["tags"] = tags
        if created:
            body["created_time"] = created
        r = self.admin("POST", "groups", body)
        assert r.status in (200, 201), (r.status, r.body)

    def stop(self) -> str:
        self.proc.terminate()
        try:
            _, err = self.proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        return err or ""


def assert_arm_error(r: Response, status: int, code: str) -> dict:
    assert r.status == status, (r.status, status, r.body)
    assert r.header("Content-Type") == "application/json; charset=utf-8", r.header("Content-Type")
    assert r.header("x-ms-request-id"), "missing x-ms-request-id"
    body = r.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return body["error"]


def rg(name: str, sub: str = SUB, casing: str = "resourcegroups") -> str:
    return f"/subscriptions/{sub}/{casing}/{name}"


def list_all(fake: Fake, path: str) -> list[list[dict]]:
    pages = []
    r = fake.arm("GET", path)
    while True:
        assert r.status == 200, (r.status, r.body)
        assert r.header("x-ms-request-id")
        body = r.json()
        pages.append(body["value"])
        link = body.get("nextLink")
        if not link:
            assert "nextLink" not in body, body
            break
        parts = urlsplit(link)
        assert parts.scheme == "http" and parts.netloc == f"127.0.0.1:{fake.port}", link
        q = parse_qs(parts.query)
        assert q["api-version"] == [API] and "$skiptoken" in q, link
        assert "%24skiptoken=" in link, link
        # The crate joins the absolute nextLink onto the endpoint and does not add api-version again.
        r = request("GET", link, headers=AUTH)
    return pages


def check_auth_and_api_version(fake: Fake) -> None:
    r = fake.arm("GET", f"/subscriptions/{SUB}/resourcegroups", auth=False)
    err = assert_arm_error(r, 401, "AuthenticationFailed")
    assert "missing" in err["message"], err
    r = fake.arm("GET", f"/subscriptions/{SUB}/resourcegroups", auth=False, headers={"Authorization": "Basic abc"})
    assert_arm_error(r, 401, "AuthenticationFailed")
    assert (r.header("WWW-Authenticate") or "").startswith("Bearer "), r.header("WWW-Authenticate")
    r = fake.arm("GET", f"/subscriptions/{SUB}/resourcegroups", api=None)
    assert_arm_error(r, 400, "MissingApiVersionParameter")
    assert_arm_error(fake.arm("GET", rg("x"), api="banana"), 400, "InvalidApiVersionParameter")
    # HEAD errors carry no body but keep the status.
    r = fake.arm("HEAD", rg("x"), auth=False)
    assert r.status == 401 and r.body == b"", (r.status, r.body)
    r = fake.arm("GET", f"/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines")
    assert_arm_error(r, 404, "FakeRouteNotImplemented")


def check_paging(fake: Fake) -> None:
    names = ["rg-e", "rg-a", "rg-c", "RG-B", "rg-d"]
    for i, name in enumerate(names):
        fake.seed(name, tags={"owner": f"team{i}"}, created=f"2024-01-0{i + 1}T00:00:00Z")
    fake.seed("other-sub-group", sub=OTHER_SUB)

    pages = list_all(fake, f"/subscriptions/{SUB}/resourcegroups")
    assert [len(p) for p in pages] == [2, 2, 1], [len(p) for p in pages]
    listed = [g["name"] for p in pages for g in p]
    assert listed == sorted(names, key=str.lower), listed
    for g in (g for p in pages for g in p):
        assert "createdTime" not in g, g
        assert g["type"] == "Microsoft.Resources/resourceGroups", g

    # camel-cased path works the same.
    pages2 = list_all(fake, f"/subscriptions/{SUB}/resourceGroups")
    assert [g["name"] for p in pages2 for g in p] == listed

    # $top acts as a page-size cap and is carried in nextLink.
    r = fake.arm("GET", f"/subscriptions/{SUB}/resourcegroups?$top=1")
    assert len(r.json()["value"]) == 1 and "%24top=1" in r.json()["nextLink"], r.json()
    pages3 = list_all(fake, f"/subscriptions/{SUB}/resourcegroups?$top=1")
    assert [len(p) for p in pages3] == [1, 1, 1, 1, 1], pages3
    assert_arm_error(fake.arm("GET", f"/subscriptions/{SUB}/resourcegroups?$top=0"), 400, "InvalidTopInQueryString")
    assert_arm_error(fake.arm("GET", f"/subscriptions/{SUB}/resourcegroups?$skiptoken=!!"), 400, "InvalidSkipToken")
    r = fake.arm("GET", f"/subscriptions/{SUB}/resourcegroups?$filter=tagName%20eq%20%27a%27")
    assert_arm_error(r, 400, "FakeUnsupportedParameter")

    # An unknown subscription does not exist for the caller: 404 SubscriptionNotFound,
    # on its own path and on everything under it (DriftGuard's identity check relies on it).
    for path in ("", "/resourcegroups"):
        r = fake.arm("GET", f"/subscriptions/ffffffff-0000-0000-0000-000000000000{path}")
        assert_arm_error(r, 404, "SubscriptionNotFound")
    # A known one answers for itself.
    r = fake.arm("GET", f"/subscriptions/{SUB}")
    assert r.status == 200 and r.json()["subscriptionId"] == SUB, r.body


def check_get_put_patch_head(fake: Fake) -> None:
    r = fake.arm("GET", rg("rg-a"))
    assert r.status == 200, r.body
    assert r.header("Content-Type") == "application/json; charset=utf-8"
    assert r.json() == {
        "id": f"/subscriptions/{SUB}/resourceGroups/rg-a",
        "name": "rg-a",
        "type": "Microsoft.Resources/resourceGroups",
        "location": "westeurope",
        "tags": {"owner": "team1"},
        "properties": {"provisioningState": "Succeeded"},
    }, r.json()
    # Names are case-insensitive; the stored casing is returned.
    r = fake.arm("GET", rg("rg-b", casing="resourceGroups"))
    assert r.status == 200 and r.json()["name"] == "RG-B", r.body

    err = assert_arm_error(fake.arm("GET", rg("nope")), 404, "ResourceGroupNotFound")
    assert err["message"] == "Resource group 'nope' could not be found.", err

    r = fake.arm("PUT", rg("new-rg"), {"location": "East US", "tags": {"env": "dev"}})
    assert r.status == 201, (r.status, r.body)
    assert r.json()["location"] == "eastus" and r.json()["tags"] == {"env": "dev"}, r.json()
    assert r.header("x-ms-ratelimit-remaining-subscription-writes")
    r = fake.arm("PUT", rg("new-rg"), {"location": "eastus", "tags": {"env": "prod"}})
    assert r.status == 200 and r.json()["tags"] == {"env": "prod"}, r.body
    r = fake.arm("PUT", rg("no-tags"), {"location": "eastus"})
    assert r.status == 201 and "tags" not in r.json() and "managedBy" not in r.json(), r.body
    assert_arm_error(fake.arm("PUT", rg("new-rg"), {"tags": {}}), 400, "LocationRequired")
    assert_arm_error(fake.arm("PUT", rg("new-rg"), {"location": "westus"}), 409, "InvalidResourceGroupLocation")
    r = request("PUT", fake.base + rg("new-rg") + f"?api-version={API}", None, AUTH)
    assert_arm_error(r, 400, "InvalidRequestContent")

    r = fake.arm("PATCH", rg("new-rg"), {"tags": {"owner": "ops"}})
    assert r.status == 200 and r.json()["tags"] == {"owner": "ops"}, r.body
    r = fake.arm("PATCH", rg("new-rg"), {"managedBy": "/subscriptions/x/providers/Foo/bar"})
    assert r.status == 200 and r.json()["tags"] == {"owner": "ops"}, r.body
    assert r.json()["managedBy"] == "/subscriptions/x/providers/Foo/bar", r.body
    assert_arm_error(fake.arm("PATCH", rg("nope"), {"tags": {}}), 404, "ResourceGroupNotFound")

    r = fake.arm("HEAD", rg("rg-a"))
    assert r.status == 204 and r.body == b"", (r.status, r.body)
    assert r.header("x-ms-request-id")
    r = fake.arm("HEAD", rg("nope"))
    assert r.status == 404 and r.body == b"", (r.status, r.body)


def poll(fake: Fake, location: str) -> Response:
    return request("GET", location, headers=AUTH)


def check_delete(fake: Fake) -> None:
    assert_arm_error(fake.arm("DELETE", rg("nope")), 404, "ResourceGroupNotFound")

    r = fake.arm("DELETE", rg("rg-c"))
    assert r.status == 202 and r.body == b"", (r.status, r.body)
    location = r.header("Location")
    assert r.header("Retry-After") == "0", r.header("Retry-After")
    parts = urlsplit(location)
    assert parts.netloc == f"127.0.0.1:{fake.port}", location
    assert parts.path.startswith(f"/subscriptions/{SUB}/operationresults/"), location
    assert parse_qs(parts.query)["api-version"] == [API], location

    r = fake.arm("GET", rg("rg-c"))
    assert r.status == 200 and r.json()["properties"]["provisioningState"] == "Deleting", r.body
    listed = [g for p in list_all(fake, f"/subscriptions/{SUB}/resourcegroups") for g in p]
    assert any(g["name"] == "rg-c" and g["properties"]["provisioningState"] == "Deleting" for g in listed)
    assert_arm_error(fake.arm("PUT", rg("rg-c"), {"location": "westeurope"}), 409, "ResourceGroupBeingDeleted")
    assert_arm_error(fake.arm("PATCH", rg("rg-c"), {"tags": {}}), 409, "ResourceGroupBeingDeleted")
    r = fake.arm("DELETE", rg("rg-c"))
    assert r.status == 202 and r.header("Location") == location, (r.status, r.header("Location"), location)

    state = fake.admin("GET", "state").json()
    pending = [op for op in state["operations"] if op["status"] == "InProgress"]
    assert len(pending) == 1 and pending[0]["group"] == "rg-c", state["operations"]

    for _ in range(2):
        r = poll(fake, location)
        assert r.status == 202 and r.body == b"", (r.status, r.body)
        assert r.header("Location") == location and r.header("Retry-After") == "0"
        assert fake.arm("GET", rg("rg-c")).status == 200
    r = poll(fake, location)
    assert r.status == 200 and r.body in (b"", b"{}"), (r.status, r.body)
    assert_arm_error(fake.arm("GET", rg("rg-c")), 404, "ResourceGroupNotFound")
    assert fake.arm("HEAD", rg("rg-c")).status == 404
    assert poll(fake, location).status == 200  # the final answer repeats

    bogus = f"{fake.base}/subscriptions/{SUB}/operationresults/doesnotexist?api-version={API}"
    assert_arm_error(poll(fake, bogus), 404, "OperationNotFound")
    r = request("GET", location)  # polls need auth too
    assert_arm_error(r, 401, "AuthenticationFailed")


def check_delete_failure(fake: Fake) -> None:
    fake.seed("rg-blocked", tags={"fake-delete-fails": "true"})
    r = fake.arm("DELETE", rg("rg-blocked"))
    assert r.status == 202, r.body
    location = r.header("Location")
    assert poll(fake, location).status == 202
    assert poll(fake, location).status == 202
    err = assert_arm_error(poll(fake, location), 409, "ResourceGroupDeletionBlocked")
    assert "rg-blocked" in err["message"], err
    r = fake.arm("GET", rg("rg-blocked"))
    assert r.status == 200 and r.json()["properties"]["provisioningState"] == "Succeeded", r.body
    assert_arm_error(poll(fake, location), 409, "ResourceGroupDeletionBlocked")
    ops = fake.admin("GET", "state").json()["operations"]
    assert any(op["group"] == "rg-blocked" and op["status"] == "Failed" for op in ops), ops


def check_throttle_admin(fake: Fake) -> None:
    before = fake.admin("GET", "stats").json()["throttled"]
    r = fake.admin("POST", "throttle", {"next": 2})
    assert r.status == 200 and r.json()["next"] == 2, r.body
    for _ in range(2):
        r = fake.arm("GET", rg("rg-a"))
        err = assert_arm_error(r, 429, "TooManyRequests")
        assert r.header("Retry-After") == "1", r.header("Retry-After")
        assert err["message"]
    assert fake.arm("GET", rg("rg-a")).status == 200
    assert fake.admin("GET", "stats").json()["throttled"] == before + 2


def check_state_and_stats(fake: Fake) -> None:
    # A read-only pass must not change the state snapshot (what a dry-run test relies on).
    snap = fake.admin("GET", "state").json()
    stats = fake.admin("GET", "stats").json()
    list_all(fake, f"/subscriptions/{SUB}/resourcegroups")
    fake.arm("GET", rg("rg-a"))
    fake.arm("HEAD", rg("rg-a"))
    assert fake.admin("GET", "state").json() == snap
    after = fake.admin("GET", "stats").json()
    assert after["mutations"] == stats["mutations"], (after, stats)

    groups = {g["name"]: g for g in snap["groups"]}
    assert groups["rg-a"]["created_time"] == "2024-01-02T00:00:00Z", groups["rg-a"]
    assert "rg-c" not in groups and "other-sub-group" in groups

    routes = after["routes"]
    for key in (
        "GET /subscriptions/{sub}/resourcegroups",
        "GET /subscriptions/{sub}/resourcegroups/{name}",
        "PUT /subscriptions/{sub}/resourcegroups/{name}",
        "PATCH /subscriptions/{sub}/resourcegroups/{name}",
        "HEAD /subscriptions/{sub}/resourcegroups/{name}",
        "DELETE /subscriptions/{sub}/resourcegroups/{name}",
        "GET /subscriptions/{sub}/operationresults/{opid}",
    ):
        assert routes.get(key, 0) > 0, (key, routes)
    mutating = sum(v for k, v in routes.items() if k.split()[0] in ("PUT", "PATCH", "DELETE"))
    assert after["mutations"] == mutating, (after["mutations"], mutating)
    assert after["api_versions"].get(API, 0) > 0, after
    assert TOKEN not in json.dumps(snap) and TOKEN not in json.dumps(after)

    r = fake.admin("POST", "reset")
    assert r.status == 200
    assert fake.admin("GET", "state").json() == {"groups": [], "operations": []}
    assert fake.admin("GET", "stats").json()["total"] == 0


def check_throttle_every() -> None:
    fake = Fake(
        AZ_FAKE_THROTTLE_EVERY="3",
        AZ_FAKE_THROTTLE_RETRY_AFTER="2",
        AZ_FAKE_PAGE_SIZE="10",
        AZ_FAKE_DELETE_POLLS="0",
        AZ_FAKE_RETRY_AFTER="7",
        AZ_FAKE_API_VERSIONS=API,
    )
    try:
        fake.seed("g1")
        statuses = [fake.arm("GET", rg("g1")).status for _ in range(6)]
        assert statuses == [200, 200, 429, 200, 200, 429], statuses
        for _ in range(3):
            r = fake.arm("GET", rg("g1"))
        assert r.status == 429 and r.header("Retry-After") == "2", (r.status, r.header("Retry-After"))
        assert fake.admin("POST", "throttle", {"every": 0}).json() == {"next": 0, "every": 0}
        # Auth/api-version failures are answered before throttling and do not advance the counter.
        assert_arm_error(fake.arm("GET", rg("g1"), api="2020-06-01"), 400, "InvalidApiVersionParameter")
        # AZ_FAKE_DELETE_POLLS=0: the first poll completes; Retry-After comes from AZ_FAKE_RETRY_AFTER.
        r = fake.arm("DELETE", rg("g1"))
        assert r.status == 202 and r.header("Retry-After") == "7", r.header("Retry-After")
        assert poll(fake, r.header("Location")).status == 200
        assert fake.arm("GET", rg("g1")).status == 404
        assert fake.admin("GET", "stats").json()["throttled"] == 3
    finally:
        fake.stop()


def main() -> int:
    fake = Fake(AZ_FAKE_PAGE_SIZE="2", AZ_FAKE_DELETE_POLLS="2", AZ_FAKE_RETRY_AFTER="0", AZ_FAKE_THROTTLE_EVERY="0")
    try:
        check_auth_and_api_version(fake)
        check_paging(fake)
        check_get_put_patch_head(fake)
        check_delete(fake)
        check_delete_failure(fake)
        check_throttle_admin(fake)
        check_state_and_stats(fake)
    finally:
        stderr = fake.stop()
    assert TOKEN not in stderr, "token leaked to stderr"
    check_throttle_every()
    print("azure_arm_fake self-test: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
