#!/usr/bin/env python3
"""Fake of Azure Resource Manager's resource-group wire API, for DriftGuard's integration tests.

THIS IS NOT AZURE. It is a small, project-owned HTTP server that imitates the parts of the Azure Resource
Manager (ARM) REST protocol that DriftGuard's Rust code drives through the `azure_mgmt_resources` 0.21 crate
(default feature `package-resources-2021-04`, which sends `api-version=2021-04-01`), pointed at it with
`ClientBuilder::endpoint("http://127.0.0.1:PORT")`. No Azure emulator exists, so the behaviour below was
written from ARM's published REST reference, the ARM RPC async-operation contract and the crate's generated
code. It has NOT been checked against real Azure: treat every detail as "believed faithful", not verified.

Python 3.11 standard library only. Binds 127.0.0.1 on an ephemeral port, prints exactly one line
`{"port": N}` on stdout once listening, then serves until killed.

ARM calls implemented (paths are case-insensitive, as in ARM; `resourceGroups` == `resourcegroups`)
--------------------------------------------------------------------------------------------------
  GET    /subscriptions/{sub}/resourcegroups[?$top=N]   ResourceGroups_List -> 200 {"value": [...], "nextLink"?}
  GET    /subscriptions/{sub}/resourcegroups/{name}      ResourceGroups_Get -> 200 group | 404 ResourceGroupNotFound
  PUT    /subscriptions/{sub}/resourcegroups/{name}      ResourceGroups_CreateOrUpdate -> 201 created | 200 updated
  PATCH  /subscriptions/{sub}/resourcegroups/{name}      ResourceGroups_Update -> 200 group | 404
  HEAD   /subscriptions/{sub}/resourcegroups/{name}      ResourceGroups_CheckExistence -> 204 | 404 (no body)
  DELETE /subscriptions/{sub}/resourcegroups/{name}      ResourceGroups_Delete -> 202 + Location + Retry-After | 404
  GET    /subscriptions/{sub}/resourcegroups/{name}/resources   Resources_ListByResourceGroup -> 200 {"value": [...]}
                                                        (one page; the resources a group holds, seeded with the group)
  GET    /subscriptions/{sub}/operationresults/{opid}    polling the DELETE's Location URL (see below)

Every ARM request must carry `Authorization: Bearer <anything>` (else 401 AuthenticationFailed) and an
`api-version` query parameter (else 400 MissingApiVersionParameter; a malformed or, with AZ_FAKE_API_VERSIONS
set, unlisted value gives 400 InvalidApiVersionParameter). The token is never checked, logged or stored.
Checks run in this order: route, auth, api-version, throttling, then the operation.

Wire details
  * Errors are ARM-shaped: {"error": {"code": ..., "message": ...}}, Content-Type application/json;
    charset=utf-8. Every ARM response has x-ms-request-id and x-ms-correlation-request-id headers (the latter
    echoes the client's header when it sent one).
  * Group JSON: id (/subscriptions/{sub}/resourceGroups/{name}), name, type "Microsoft.Resources/resourceGroups",
    location (normalised like ARM: lower case, spaces removed), managedBy only when set, tags only when the
    group has a tag object, properties.provisioningState. Names are matched case-insensitively; the
    casing from creation is kept.
  * createdTime is NOT part of the group JSON: ARM's `$expand=createdTime,changedTime` exists on the
    *resources* list, not on the resource-group list/get. The seed's created_time is kept in admin state only
    (GET /_fake/state).
  * Paging: page size AZ_FAKE_PAGE_SIZE (default 2, so paging is always exercised). `$top` caps the page size
    and is carried in the nextLink (the real service also answers `$top` with a nextLink). nextLink is absolute,
    built from the request's Host header and path, like
    http://127.0.0.1:PORT/subscriptions/{sub}/resourcegroups?api-version=2021-04-01&%24skiptoken=...
    (`$` percent-encoded as real ARM does; both spellings are accepted). It is left out of the last page.
    The skiptoken is opaque and holds the last name returned, so paging stays consistent when groups change.
    `$filter` is not implemented and answers 400 FakeUnsupportedParameter instead of being ignored.
  * PUT: body {"location", "tags"?, "managedBy"?}; no location -> 400 LocationRequired; a different location
    for an existing group -> 409 InvalidResourceGroupLocation; bad JSON -> 400 InvalidRequestContent.
    PATCH: a `tags` given replaces the whole tag set, and fields left out keep their values.
    PUT/PATCH on a group that is being deleted -> 409 ResourceGroupBeingDeleted.
  * Successful responses carry x-ms-ratelimit-remaining-subscription-{reads,writes,deletes} like ARM
    (constant values here).

DELETE as a long-running operation (ARM "202 Accepted and Location" pattern)
  * DELETE answers 202 with an empty body, `Location: http://HOST/subscriptions/{sub}/operationresults/{opid}
    ?api-version=...` and `Retry-After: AZ_FAKE_RETRY_AFTER` (default "0"; real ARM sends whole seconds, e.g. 15).
    The group stays visible (GET, HEAD and list) with provisioningState "Deleting". A second DELETE while it is
    being deleted answers 202 again with the same Location.
  * Each GET of the Location URL counts as one poll. The first AZ_FAKE_DELETE_POLLS polls (default 2) answer
    202 with Location + Retry-After and no body. The next poll finishes the operation: 200 with an empty
    body, and the group is gone (GET -> 404). Later polls repeat the final answer.
    The operation only moves forward when polled: a group nobody polls stays "Deleting".
  * Failure: a group tagged `fake-delete-fails=true` fails the operation. Under the Location pattern ARM says
    that a finished operation's poll returns "the exact same response that would have been returned had the
    operation been executed synchronously", so a failure is an error status with an ARM error body on the
    poll (not a 200 with a status field, which belongs to the Azure-AsyncOperation pattern). The fake answers
    409 Conflict with {"error": {"code": "ResourceGroupDeletionBlocked", "message": "Deletion of resource group
    '...' failed as resources with identifiers '...' could not be deleted. The provisioning state of the
    resource group will be rolled back. ..."}}. The group stays, back at provisioningState "Succeeded".
    (The code and message are real ARM text. The 409 status is a guess that has not been checked against Azure.)
  * Crate note: in azure_mgmt_resources 0.21 `resource_groups::delete` only has `send()` (no polling), so
    the caller polls Location itself. azure_core turns every non-2xx answer into an Err and retries 408, 429,
    500, 502, 503 and 504 by itself. A 409 fails at once.

Fault injection (for retry tests)
  * AZ_FAKE_THROTTLE_EVERY=N (0 = off): every N-th ARM request that passed auth and api-version answers
    429 with `Retry-After: AZ_FAKE_THROTTLE_RETRY_AFTER` (default "1") and error code TooManyRequests.
    (Real ARM throttling at subscription level may use code SubscriptionRequestsThrottled instead.)
  * POST /_fake/throttle {"next": K} answers 429 to the next K ARM requests. {"every": N} changes the periodic
    setting at run time.

Test/admin endpoints (no auth, never throttled, not counted in stats)
  POST /_fake/groups    {"subscription", "name", "location", "tags"?, "created_time"? (RFC 3339),
                         "resources"? [{"name", "type", "tags"?}] (what the group holds; a delete removes them),
                         "managed_by"?}  seeds a group (201 new, 200 replaced)
  GET  /_fake/state     {"groups": [...], "operations": [...]}, sorted so that snapshots compare equal
  GET  /_fake/stats     {"routes": {"METHOD /route/template": n}, "mutations": n, "throttled": n,
                         "api_versions": {...}, "total": n}. mutations counts PUT/PATCH/DELETE ARM requests
                         received, whatever the outcome (even 401/429), so a dry run must leave it at 0
  POST /_fake/throttle  {"next": K} and/or {"every": N}
  POST /_fake/reset     drops all groups, operations and stats, and restores the throttle settings from the env

Environment variables
  AZ_FAKE_PAGE_SIZE (2), AZ_FAKE_DELETE_POLLS (2), AZ_FAKE_RETRY_AFTER ("0"), AZ_FAKE_THROTTLE_EVERY (0),
  AZ_FAKE_THROTTLE_RETRY_AFTER ("1"), AZ_FAKE_API_VERSIONS (comma list; empty = any YYYY-MM-DD[-preview]),
  AZ_FAKE_VERBOSE (1 = log request lines to stderr; headers are never logged),
  AZ_FAKE_FORGET_OPERATIONS (1 = a delete completes at once and its operation is forgotten: polls answer 404).

Subscriptions and who may reach them (DriftGuard's identity check relies on this)
  GET    /subscriptions/{sub}                            Subscriptions_Get -> 200 {"id", "subscriptionId",
                                                        "displayName", "state": "Enabled", "tenantId"}
  * The fake knows the subscriptions of every group ever seeded, those in AZ_FAKE_SUBSCRIPTIONS (comma list)
    and those added with POST /_fake/subscriptions {"subscription"}. Every /subscriptions/{sub}... request for
    another one answers 404 SubscriptionNotFound ("The subscription '...' could not be found."), as ARM does
    for a subscription the caller's tenant does not have.
  * Service principals (the client-credentials grant of Microsoft Entra ID, which azure_identity's
    ClientSecretCredential sends to {AZURE_AUTHORITY_HOST}/{tenant}/oauth2/v2.0/token):
    AZ_FAKE_PRINCIPALS = {"TENANT/CLIENT": {"secret": "...", "subscriptions": ["..."]}}. A token request with a
    known tenant, client and secret answers {"token_type": "Bearer", "expires_in": 3600, "access_token":
    "fake-sp.TENANT.CLIENT"}; anything else 401 {"error": "invalid_client"}. ARM requests carrying such a token
    reach only that principal's subscriptions: another known subscription answers 403 AuthorizationFailed.
    Other bearer tokens (e.g. AZURE_ACCESS_TOKEN in tests) reach every known subscription. Unverified: real
    Entra answers, token formats and lifetimes differ; only the request shape is the real one.

Not modelled: $filter, export_template, resource locks, tag count/length limits, validation of group names,
real token signatures.
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
import threading
import uuid
from collections import Counter
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

JSON_CT = "application/json; charset=utf-8"
GROUP_TYPE = "Microsoft.Resources/resourceGroups"
FAIL_TAG = "fake-delete-fails"
MAX_BODY = 1 << 20
API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")

ROUTE_SUBSCRIPTION = "/subscriptions/{sub}"
ROUTE_LIST = "/subscriptions/{sub}/resourcegroups"
ROUTE_GROUP = "/subscriptions/{sub}/resourcegroups/{name}"
ROUTE_OPERATION = "/subscriptions/{sub}/operationresults/{opid}"
ROUTE_CONTENTS = "/subscriptions/{sub}/resourcegroups/{name}/resources"
ALLOWED_METHODS = {
    ROUTE_SUBSCRIPTION: ("GET",),
    ROUTE_LIST: ("GET",),
    ROUTE_GROUP: ("GET", "PUT", "PATCH", "HEAD", "DELETE"),
    ROUTE_OPERATION: ("GET",),
    ROUTE_CONTENTS: ("GET",),
}


def _env_int(name: str, default: int, minimum: int = 0) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        sys.exit(f"azure_arm_fake: {name} must be an integer, got {raw!r}")
    if value < minimum:
        sys.exit(f"azure_arm_fake: {name} must be >= {minimum}, got {value}")
    return value


class Config:
    def __init__(self) -> None:
        self.page_size = _env_int("AZ_FAKE_PAGE_SIZE", 2, minimum=1)
        self.delete_polls = _env_int("AZ_FAKE_DELETE_POLLS", 2)
        self.retry_after = os.environ.get("AZ_FAKE_RETRY_AFTER", "0").strip() or "0"
        self.throttle_every = _env_int("AZ_FAKE_THROTTLE_EVERY", 0)
        self.throttle_retry_after = os.environ.get("AZ_FAKE_THROTTLE_RETRY_AFTER", "1").strip() or "1"
        raw_versions = os.environ.get("AZ_FAKE_API_VERSIONS", "")
        self.api_versions = [v.strip() for v in raw_versions.split(",") if v.strip()]
        self.verbose = os.environ.get("AZ_FAKE_VERBOSE", "") == "1"
        # 1: a deletion completes at once and its operation is forgotten, so polling its
        # Location answers 404 OperationNotFound (operation records expire in real ARM).
        self.forget_operations = os.environ.get("AZ_FAKE_FORGET_OPERATIONS", "") == "1"
        raw_subscriptions = os.environ.get("AZ_FAKE_SUBSCRIPTIONS", "")
        self.subscriptions = {v.strip().lower() for v in raw_subscriptions.split(",") if v.strip()}
        self.principals = json.loads(os.environ.get("AZ_FAKE_PRINCIPALS", "") or "{}")


class ArmError(Exception):
    """An ARM error answer: HTTP status plus {"error": {"code", "message"}}."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def normalize_location(location: str) -> str:
    return location.replace(" ", "").lower()


def not_found(name: str) -> ArmError:
    return ArmError(404, "ResourceGroupNotFound", f"Resource group '{name}' could not be found.")


def being_deleted(name: str) -> ArmError:
    return ArmError(
        409,
        "ResourceGroupBeingDeleted",
        f"The resource group '{name}' is in deprovisioning state and cannot perform this operation.",
    )


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class State:
    """All mutable state of the fake, guarded by one lock."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        # Callers hold self.lock, except __init__.
        self.groups: dict[tuple[str, str], dict] = {}
        self.subscriptions: set[str] = set(self.config.subscriptions)
        self.operations: dict[str, dict] = {}
        self.routes: Counter[str] = Counter()
        self.api_versions: Counter[str] = Counter()
        self.mutations = 0
        self.throttled = 0
        self.total = 0
        self.throttle_every = self.config.throttle_every
        self.throttle_next = 0
        self.throttle_counter = 0

    # ---- helpers (caller holds the lock) -------------------------------------------------------------
    @staticmethod
    def key(sub: str, name: str) -> tuple[str, str]:
        return sub.lower(), name.lower()

    def new_group(self, sub: str, name: str, location: str, tags, managed_by, created_time: str) -> dict:
        return {
            "subscription": sub,
            "name": name,
            "location": normalize_location(location),
            "tags": dict(tags) if isinstance(tags, dict) else None,
            "managed_by": managed_by,
            "provisioning_state": "Succeeded",
            "created_time": created_time,
            "changed_time": created_time,
            "delete_operation": None,
        }

    @staticmethod
    def group_json(group: dict) -> dict:
        out = {
            "id": f"/subscriptions/{group['subscription']}/resourceGroups/{group['name']}",
            "name": group["name"],
            "type": GROUP_TYPE,
            "location": group["location"],
        }
        if group.get("managed_by"):
            out["managedBy"] = group["managed_by"]
        if group.get("tags") is not None:
            out["tags"] = dict(group["tags"])
        out["properties"] = {"provisioningState": group["provisioning_state"]}
        return out

    def snapshot(self) -> dict:
        groups = []
        for key in sorted(self.groups):
            g = self.groups[key]
            groups.append(
                {
                    "subscription": g["subscription"],
                    "name": g["name"],
                    "location": g["location"],
                    "tags": dict(g["tags"]) if g["tags"] is not None else None,
                    "managed_by": g["managed_by"],
                    "provisioning_state": g["provisioning_state"],
                    "created_time": g["created_time"],
                    "changed_time": g["changed_time"],
                }
            )
        operations = []
        for opid in sorted(self.operations):
            op = self.operations[opid]
            operations.append({k: v for k, v in op.items() if k != "group_key"})
        return {"groups": groups, "operations": operations}

    def stats(self) -> dict:
        return {
            "routes": dict(sorted(self.routes.items())),
            "mutations": self.mutations,
            "throttled": self.throttled,
            "api_versions": dict(sorted(self.api_versions.items())),
            "total": self.total,
        }


def validate_tags(tags) -> None:
    if tags is None:
        return
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise ArmError(
            400,
            "InvalidRequestContent",
            "The request content was invalid and could not be deserialized: 'tags' must be an object of strings.",
        )


def has_fail_tag(tags) -> bool:
    if not tags:
        return False
    return any(k.lower() == FAIL_TAG and str(v).lower() == "true" for k, v in tags.items())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DriftGuard-AzureArmFake/1.0"

    # Set on the class by main().
    state: State
    config: Config
    port: int

    # ---- plumbing --------------------------------------------------------------------------------------
    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - signature fixed by the base class
        if self.config.verbose:
            # Request line and status only; headers (and so the bearer token) are never logged.
            sys.stderr.write("azure_arm_fake: " + (format % args) + "\n")

    def do_GET(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ArmError(413, "RequestEntityTooLarge", "The request body is too large.")
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ArmError(413, "RequestEntityTooLarge", "The request body is too large.")
        return self.rfile.read(length) if length > 0 else b""

    def _host(self) -> str:
        return self.headers.get("Host") or f"127.0.0.1:{self.port}"

    def _send(self, status: int, body=None, headers: dict[str, str] | None = None, arm: bool = True) -> None:
        if body is None:
            payload = b""
        elif isinstance(body, bytes):
            payload = body
        else:
            payload = json.dumps(body, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", JSON_CT)
        if arm:
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Pragma", "no-cache")
            self.send_header("Expires", "-1")
            self.send_header("x-ms-request-id", str(uuid.uuid4()))
            correlation = self.headers.get("x-ms-correlation-request-id") or str(uuid.uuid4())
            self.send_header("x-ms-correlation-request-id", correlation)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        send_body = self.command != "HEAD" and status not in (204, 304)
        if status not in (204, 304):  # RFC 9110: no Content-Length on 204
            self.send_header("Content-Length", str(len(payload) if send_body else 0))
        self.end_headers()
        if send_body and payload:
            self.wfile.write(payload)

    def _send_error(self, err: ArmError, arm: bool = True) -> None:
        self._send(err.status, {"error": {"code": err.code, "message": err.message}}, err.headers, arm=arm)

    # ---- routing ---------------------------------------------------------------------------------------
    def _dispatch(self) -> None:
        try:
            parts = urlsplit(self.path)
            self.url_path = parts.path
            self.query = parse_qs(parts.query, keep_blank_values=True)
            body = self._read_body()
            segments = [unquote(s) for s in parts.path.split("/") if s]
            if segments and segments[0] == "_fake":
                self._admin(segments[1:], body)
            elif len(segments) == 4 and [x.lower() for x in segments[1:]] == ["oauth2", "v2.0", "token"]:
                self._token(segments[0], body)
            else:
                self._arm(segments, body)
        except ArmError as err:
            self._send_error(err, arm=not self.path.startswith("/_fake"))
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # pragma: no cover - a bug in the fake
            sys.stderr.write(f"azure_arm_fake: internal error: {exc!r}\n")
            self._send_error(ArmError(500, "FakeInternalError", f"The fake failed: {type(exc).__name__}."))

    def _route(self, segments: list[str]) -> tuple[str, dict[str, str]] | None:
        lower = [s.lower() for s in segments]
        if len(segments) == 2 and lower[0] == "subscriptions":
            return ROUTE_SUBSCRIPTION, {"sub": segments[1]}
        if len(segments) >= 3 and lower[0] == "subscriptions":
            if len(segments) == 3 and lower[2] == "resourcegroups":
                return ROUTE_LIST, {"sub": segments[1]}
            if len(segments) == 4 and lower[2] == "resourcegroups":
                return ROUTE_GROUP, {"sub": segments[1], "name": segments[3]}
            if len(segments) == 4 and lower[2] == "operationresults":
                return ROUTE_OPERATION, {"sub": segments[1], "opid": segments[3]}
            if len(segments) == 5 and lower[2] == "resourcegroups" and lower[4] == "resources":
                return ROUTE_CONTENTS, {"sub": segments[1], "name": segments[3]}
        return None

    def _arm(self, segments: list[str], body: bytes) -> None:
        method = self.command
        routed = self._route(segments)
        state = self.state
        with state.lock:
            label = f"{method} {routed[0] if routed else '<unmatched>'}"
            state.routes[label] += 1
            state.total += 1
            if method in ("PUT", "PATCH", "DELETE"):
                state.mutations += 1
        if routed is None:
            raise ArmError(404, "FakeRouteNotImplemented", f"The fake ARM server does not implement {self.url_path}.")
        route, params = routed
        if method not in ALLOWED_METHODS[route]:
            raise ArmError(405, "MethodNotAllowed", f"The requested method '{method}' is not allowed for {route}.")

        token = self._check_auth()
        api_version = self._check_api_version()
        self._check_subscription(params["sub"], token)
        self._maybe_throttle()

        if route == ROUTE_SUBSCRIPTION:
            self._subscription(params["sub"], token)
        elif route == ROUTE_LIST:
            self._list(params["sub"], api_version)
        elif route == ROUTE_OPERATION:
            self._poll(params["sub"], params["opid"], api_version)
        elif route == ROUTE_CONTENTS:
            self._contents(params["sub"], params["name"])
        elif method == "GET":
            self._get(params["sub"], params["name"])
        elif method == "HEAD":
            self._head(params["sub"], params["name"])
        elif method == "PUT":
            self._put(params["sub"], params["name"], body)
        elif method == "PATCH":
            self._patch(params["sub"], params["name"], body)
        else:
            self._delete(params["sub"], params["name"], api_version)

    def _check_subscription(self, sub: str, token: str) -> None:
        with self.state.lock:
            known = sub.lower() in self.state.subscriptions
        if not known:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")
        principal = self._principal(token)
        if principal is not None:
            granted = {s.lower() for s in self.config.principals.get(principal, {}).get("subscriptions", [])}
            if sub.lower() not in granted:
                client = principal.split("/", 1)[-1]
                raise ArmError(
                    403,
                    "AuthorizationFailed",
                    f"The client '{client}' with object id '{client}' does not have authorization to perform action "
                    f"'Microsoft.Resources/subscriptions/read' over scope '/subscriptions/{sub}' or the scope is invalid.",
                )

    @staticmethod
    def _principal(token: str) -> str | None:
        """`TENANT/CLIENT` of a token this fake issued, else None."""
        if not token.startswith("fake-sp."):
            return None
        parts = token.split(".")
        return f"{parts[1]}/{parts[2]}" if len(parts) == 3 else "unknown/unknown"

    def _subscription(self, sub: str, token: str) -> None:
        principal = self._principal(token)
        tenant = principal.split("/", 1)[0] if principal else "00000000-0000-0000-0000-00000000fa4e"
        self._send(
            200,
            {
                "id": f"/subscriptions/{sub}",
                "authorizationSource": "RoleBased",
                "subscriptionId": sub,
                "tenantId": tenant,
                "displayName": f"fake subscription {sub}",
                "state": "Enabled",
                "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "fake", "spendingLimit": "Off"},
            },
        )

    def _token(self, tenant: str, body: bytes) -> None:
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        client = form.get("client_id", "")
        principal = self.config.principals.get(f"{tenant}/{client}")
        if (
            form.get("grant_type") != "client_credentials"
            or principal is None
            or form.get("client_secret") != principal.get("secret")
        ):
            self._send(
                401,
                {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided (fake)."},
                arm=False,
            )
            return
        self._send(
            200,
            {"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600,
             "access_token": f"fake-sp.{tenant}.{client}"},
            arm=False,
        )

    def _check_auth(self) -> str:
        header = self.headers.get("Authorization")
        www = {
            "WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
            'error="invalid_token", error_description="The authentication failed."'
        }
        if header is None:
            raise ArmError(
                401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.", www
            )
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ArmError(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                www,
            )
        return token.strip()

    def _check_api_version(self) -> str:
        values = self.query.get("api-version")
        if not values or not values[0]:
            raise ArmError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        version = values[0]
        allowed = self.config.api_versions
        if not API_VERSION_RE.match(version) or (allowed and version not in allowed):
            supported = ", ".join(allowed) if allowed else "any YYYY-MM-DD[-preview] (fake)"
            raise ArmError(
                400,
                "InvalidApiVersionParameter",
                f"The api-version '{version}' is invalid. The supported versions are '{supported}'.",
            )
        with self.state.lock:
            self.state.api_versions[version] += 1
        return version

    def _maybe_throttle(self) -> None:
        state = self.state
        with state.lock:
            state.throttle_counter += 1
            throttle = False
            if state.throttle_next > 0:
                state.throttle_next -= 1
                throttle = True
            elif state.throttle_every > 0 and state.throttle_counter % state.throttle_every == 0:
                throttle = True
            if throttle:
                state.throttled += 1
        if throttle:
            raise ArmError(
                429,
                "TooManyRequests",
                "The request is being throttled as the limit has been reached for this subscription "
                f"(fake throttling). Please try again after '{self.config.throttle_retry_after}' seconds.",
                {"Retry-After": self.config.throttle_retry_after},
            )

    @staticmethod
    def _ratelimit(kind: str) -> dict[str, str]:
        value = {"reads": "11999", "writes": "1199", "deletes": "14999"}[kind]
        return {f"x-ms-ratelimit-remaining-subscription-{kind}": value}

    def _json_body(self, body: bytes) -> dict:
        try:
            data = json.loads(body.decode("utf-8") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ArmError(
                400, "InvalidRequestContent", f"The request content was invalid and could not be deserialized: {exc}."
            ) from None
        if not isinstance(data, dict):
            raise ArmError(
                400,
                "InvalidRequestContent",
                "The request content was invalid and could not be deserialized: expected an object.",
            )
        return data

    # ---- ARM operations ------------------------------------------------------------------------------
    def _list(self, sub: str, api_version: str) -> None:
        if "$filter" in self.query:
            raise ArmError(400, "FakeUnsupportedParameter", "The fake ARM server does not implement $filter.")
        top = None
        if "$top" in self.query:
            raw = self.query["$top"][0]
            if not raw.isdigit() or not 1 <= int(raw) <= 1000:
                raise ArmError(400, "InvalidTopInQueryString", f"The value '{raw}' of $top is invalid; use 1 to 1000.")
            top = int(raw)
        after = ""
        if "$skiptoken" in self.query:
            token = self.query["$skiptoken"][0]
            try:
                after = json.loads(b64url_decode(token))["after"]
                if not isinstance(after, str):
                    raise ValueError
            except (ValueError, KeyError, TypeError):
                raise ArmError(400, "InvalidSkipToken", "The skip token is invalid.") from None
        page_size = min(self.config.page_size, top) if top else self.config.page_size
        with self.state.lock:
            keys = sorted(k for k in self.state.groups if k[0] == sub.lower() and k[1] > after)
            page_keys = keys[:page_size]
            value = [State.group_json(self.state.groups[k]) for k in page_keys]
        result: dict = {"value": value}
        if len(keys) > page_size:
            query = {"api-version": api_version, "$skiptoken": b64url(json.dumps({"after": page_keys[-1][1]}).encode())}
            if top:
                query["$top"] = str(top)
            result["nextLink"] = f"http://{self._host()}{self.url_path}?{urlencode(query)}"
        self._send(200, result, self._ratelimit("reads"))

    def _get(self, sub: str, name: str) -> None:
        with self.state.lock:
            group = self.state.groups.get(State.key(sub, name))
            if group is None:
                raise not_found(name)
            body = State.group_json(group)
        self._send(200, body, self._ratelimit("reads"))

    def _contents(self, sub: str, name: str) -> None:
        with self.state.lock:
            group = self.state.groups.get(State.key(sub, name))
            if group is None:
                raise not_found(name)
            value = []
            for item in group.get("resources") or []:
                entry = {
                    "id": f"/subscriptions/{sub}/resourceGroups/{group['name']}/providers/{item['type']}/{item['name']}",
                    "name": item["name"],
                    "type": item["type"],
                    "location": group["location"],
                }
                if item.get("tags") is not None:
                    entry["tags"] = dict(item["tags"])
                value.append(entry)
        self._send(200, {"value": value}, self._ratelimit("reads"))

    def _head(self, sub: str, name: str) -> None:
        with self.state.lock:
            exists = State.key(sub, name) in self.state.groups
        if exists:
            self._send(204, None, self._ratelimit("reads"))
        else:
            self._send(404, None)

    def _put(self, sub: str, name: str, body: bytes) -> None:
        data = self._json_body(body)
        location = data.get("location")
        if not isinstance(location, str) or not location.strip():
            raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
        tags = data.get("tags")
        validate_tags(tags)
        managed_by = data.get("managedBy")
        if managed_by is not None and not isinstance(managed_by, str):
            raise ArmError(
                400, "InvalidRequestContent", "The request content was invalid: 'managedBy' must be a string."
            )
        now = now_rfc3339()
        with self.state.lock:
            key = State.key(sub, name)
            group = self.state.groups.get(key)
            if group is None:
                group = self.state.new_group(sub, name, location, tags, managed_by, now)
                self.state.groups[key] = group
                status = 201
            else:
                if group["provisioning_state"] == "Deleting":
                    raise being_deleted(group["name"])
                if normalize_location(location) != group["location"]:
                    raise ArmError(
                        409,
                        "InvalidResourceGroupLocation",
                        f"Invalid resource group location '{normalize_location(location)}'. "
                        f"The Resource group already exists in location '{group['location']}'.",
                    )
                group["tags"] = dict(tags) if isinstance(tags, dict) else None
                group["managed_by"] = managed_by
                group["changed_time"] = now
                status = 200
            out = State.group_json(group)
        self._send(status, out, self._ratelimit("writes"))

    def _patch(self, sub: str, name: str, body: bytes) -> None:
        data = self._json_body(body)
        tags = data.get("tags")
        validate_tags(tags)
        with self.state.lock:
            group = self.state.groups.get(State.key(sub, name))
            if group is None:
                raise not_found(name)
            if group["provisioning_state"] == "Deleting":
                raise being_deleted(group["name"])
            if "tags" in data:
                group["tags"] = dict(tags) if isinstance(tags, dict) else None
            if isinstance(data.get("managedBy"), str):
                group["managed_by"] = data["managedBy"]
            group["changed_time"] = now_rfc3339()
            out = State.group_json(group)
        self._send(200, out, self._ratelimit("writes"))

    def _operation_headers(self, op: dict) -> dict[str, str]:
        query = urlencode({"api-version": op["api_version"]})
        location = f"http://{self._host()}/subscriptions/{op['subscription']}/operationresults/{op['id']}?{query}"
        return {"Location": location, "Retry-After": self.config.retry_after}

    def _delete(self, sub: str, name: str, api_version: str) -> None:
        with self.state.lock:
            key = State.key(sub, name)
            group = self.state.groups.get(key)
            if group is None:
                raise not_found(name)
            existing = group.get("delete_operation")
            if group["provisioning_state"] == "Deleting" and existing in self.state.operations:
                op = self.state.operations[existing]
            else:
                job = f"RESOURCEGROUPDELETIONJOB-{group['name'].upper()}-{uuid.uuid4().hex[:8].upper()}"
                opid = b64url(json.dumps({"jobId": job, "jobLocation": group["location"]}).encode())
                op = {
                    "id": opid,
                    "kind": "delete",
                    "subscription": group["subscription"],
                    "group": group["name"],
                    "group_key": key,
                    "api_version": api_version,
                    "status": "InProgress",
                    "polls": 0,
                    "polls_required": self.config.delete_polls,
                    "will_fail": has_fail_tag(group["tags"]),
                    "started": now_rfc3339(),
                }
                if self.config.forget_operations:
                    del self.state.groups[key]
                else:
                    self.state.operations[opid] = op
                    group["provisioning_state"] = "Deleting"
                    group["delete_operation"] = opid
                    group["changed_time"] = op["started"]
            headers = self._operation_headers(op)
        headers.update(self._ratelimit("deletes"))
        self._send(202, None, headers)

    def _failure(self, op: dict) -> ArmError:
        group = op["group"]
        return ArmError(
            409,
            "ResourceGroupDeletionBlocked",
            f"Deletion of resource group '{group}' failed as resources with identifiers "
            f"'Microsoft.Fake/blockers/{group}-blocker' could not be deleted. The provisioning state of the "
            "resource group will be rolled back. (fake failure injected by the 'fake-delete-fails' tag)",
        )

    def _poll(self, sub: str, opid: str, api_version: str) -> None:
        with self.state.lock:
            op = self.state.operations.get(opid)
            if op is None or op["subscription"].lower() != sub.lower():
                raise ArmError(404, "OperationNotFound", f"The operation '{opid}' could not be found (fake).")
            if op["status"] == "InProgress":
                op["polls"] += 1
                if op["polls"] <= op["polls_required"]:
                    headers = self._operation_headers(op)
                    headers.update(self._ratelimit("reads"))
                    in_progress = True
                else:
                    in_progress = False
                    group = self.state.groups.get(op["group_key"])
                    ours = group is not None and group.get("delete_operation") == opid
                    op["finished"] = now_rfc3339()
                    if op["will_fail"]:
                        op["status"] = "Failed"
                        if ours:
                            group["provisioning_state"] = "Succeeded"
                            group["delete_operation"] = None
                            group["changed_time"] = op["finished"]
                    else:
                        op["status"] = "Succeeded"
                        if ours:
                            del self.state.groups[op["group_key"]]
            else:
                in_progress = False
            status = op["status"]
        if in_progress:
            self._send(202, None, headers)
        elif status == "Failed":
            raise self._failure(op)
        else:
            self._send(200, None, self._ratelimit("reads"))

    # ---- admin endpoints -----------------------------------------------------------------------------
    def _admin(self, segments: list[str], body: bytes) -> None:
        route = (self.command, "/".join(s.lower() for s in segments))
        state = self.state
        if route == ("GET", "state"):
            with state.lock:
                out = state.snapshot()
            self._send(200, out, arm=False)
        elif route == ("GET", "stats"):
            with state.lock:
                out = state.stats()
            self._send(200, out, arm=False)
        elif route == ("POST", "groups"):
            self._admin_seed(body)
        elif route == ("POST", "subscriptions"):
            data = self._json_body(body)
            if not isinstance(data.get("subscription"), str) or not data["subscription"].strip():
                raise ArmError(400, "InvalidRequestContent", "'subscription' is required and must be a string.")
            with state.lock:
                state.subscriptions.add(data["subscription"].strip().lower())
            self._send(201, {"subscription": data["subscription"]}, arm=False)
        elif route == ("POST", "throttle"):
            data = self._json_body(body)
            with state.lock:
                for field in ("next", "every"):
                    if field in data:
                        value = data[field]
                        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                            raise ArmError(400, "InvalidRequestContent", f"'{field}' must be a non-negative integer.")
                        if field == "next":
                            state.throttle_next = value
                        else:
                            state.throttle_every = value
                            state.throttle_counter = 0
                out = {"next": state.throttle_next, "every": state.throttle_every}
            self._send(200, out, arm=False)
        elif route == ("POST", "reset"):
            with state.lock:
                state.reset()
            self._send(200, {"reset": True}, arm=False)
        else:
            raise ArmError(404, "FakeRouteNotImplemented", f"No admin endpoint {self.command} {self.url_path}.")

    def _admin_seed(self, body: bytes) -> None:
        data = self._json_body(body)
        for field in ("subscription", "name", "location"):
            if not isinstance(data.get(field), str) or not data[field].strip():
                raise ArmError(400, "InvalidRequestContent", f"'{field}' is required and must be a string.")
        tags = data.get("tags")
        validate_tags(tags)
        created = data.get("created_time") or now_rfc3339()
        if not isinstance(created, str):
            raise ArmError(400, "InvalidRequestContent", "'created_time' must be an RFC 3339 string.")
        try:
            datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            raise ArmError(400, "InvalidRequestContent", f"'created_time' is not RFC 3339: {created!r}.") from None
        with self.state.lock:
            key = State.key(data["subscription"], data["name"])
            replaced = key in self.state.groups
            group = self.state.new_group(
                data["subscription"], data["name"], data["location"], tags, data.get("managed_by"), created
            )
            resources = data.get("resources") or []
            if not isinstance(resources, list) or not all(
                isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(r.get("type"), str) for r in resources
            ):
                raise ArmError(400, "InvalidRequestContent", "'resources' must be a list of {name, type, tags?}.")
            group["resources"] = [dict(r) for r in resources]
            self.state.groups[key] = group
            self.state.subscriptions.add(data["subscription"].lower())
            out = State.group_json(group)
        self._send(200 if replaced else 201, out, arm=False)


def main() -> None:
    config = Config()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Handler.config = config
    Handler.state = State(config)
    Handler.port = server.server_address[1]
    sys.stdout.write(json.dumps({"port": Handler.port}) + "\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
