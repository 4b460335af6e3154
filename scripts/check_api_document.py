#!/usr/bin/env python3
"""Checks the API document against a running OrderFlow.

1. The document is valid OpenAPI, and every request example matches its own schema (patterns
   and lengths included).
2. Every request example works: each is sent, in a fixed order, to `orderflow demo` on a fresh
   database, and must get a 2xx whose body matches the documented response schema.
3. The documented order example is what the order request example really produces (every field
   but the times), so the numbers in the document are true.
4. The event stream answers its documented query with the frames the document shows: a reset
   for an ID from another run, then a new order's event with the documented event's members.
   Every frame read, and every frame of the documented example, matches the documented schema
   of one event, its `data` the `contentSchema`.

Usage: check_api_document.py PATH-TO-ORDERFLOW-BINARY
"""
import http.client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import jsonschema
import referencing
import referencing.jsonschema
import yaml
from openapi_spec_validator import validate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCUMENT = os.path.join(ROOT, "Sources", "OrderFlowAPI", "openapi.yaml")

# The order in which the examples are sent: later ones depend on earlier ones.
SEQUENCE = [
    "getHealth", "login", "refreshToken", "logout", "register", "getMe", "updateMe",
    "listLocations", "createLocation", "listProducts", "createProduct", "getProduct",
    "createOrder", "getOrder", "searchOrders", "changeOrderLine", "cancelOrder",
    "getInventory", "setStock", "reserveInventory", "releaseInventory",
    "postShipEvent", "putDeliveryStatus", "listDeadLetters", "getDeadLetter", "replayDeadLetter", "discardDeadLetter",
    "listUsers", "createUser", "updateUser", "resetPassword",
    "listAPIKeys", "createAPIKey", "updateAPIKey", "revokeAPIKey", "listAudit",
    "seedMockData", "getRecentOrders", "getMonitorSummary", "searchTransmissions", "getOrderTrace", "listChannelHealth",
    "postAcknowledgements", "listAckInconsistencies", "linkAcknowledgement",
    "listAlertRules", "createAlertRule", "updateAlertRule", "listAlerts", "getAlert", "acknowledgeAlert", "resolveAlert", "deleteAlertRule",
    "listSilences", "createSilence", "expireSilence", "exportOrders", "exportTransmissions",
    "getInvoiceStream", "startInvoiceStream", "getInvoiceStats", "listInvoices", "stopInvoiceStream", "streamEvents",
]
# Secrets and generated IDs cannot stand in the document: its examples name them in words, and
# these fill them in from the running server (operation -> body field or path parameter -> source).
SUBSTITUTE = {
    ("login", "password"): "admin_password",
    ("refreshToken", "refreshToken"): "refresh_token",
    ("logout", "refreshToken"): "other_refresh_token",
    ("updateUser", "userId"): "user_id",
    ("resetPassword", "userId"): "user_id",
    ("revokeAPIKey", "keyId"): "key_id",
    ("updateAPIKey", "keyId"): "key_id",
    ("changeOrderLine", "orderId"): "open_order",
    ("cancelOrder", "orderId"): "open_order",
    ("getDeadLetter", "deadLetterId"): "dead_letter",
    ("replayDeadLetter", "deadLetterId"): "dead_letter",
    ("discardDeadLetter", "deadLetterId"): "second_dead_letter",
    ("linkAcknowledgement", "ackId"): "unmatched_ack",
    ("linkAcknowledgement", "transmissionId"): "commerce_transmission",
    ("updateAlertRule", "ruleId"): "rule_id",
    ("deleteAlertRule", "ruleId"): "rule_id",
    ("getAlert", "alertId"): "alert_id",
    ("acknowledgeAlert", "alertId"): "alert_id",
    ("resolveAlert", "alertId"): "alert_id",
    ("expireSilence", "silenceId"): "silence_id",
}
TIME_FIELDS = {"createdAt", "updatedAt", "at", "releasedAt"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(method, url, body=None, headers=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method.upper(), headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            raw = response.read()
            if "json" not in response.headers.get("Content-Type", "json"):
                return response.status, raw.decode()
            return response.status, json.loads(raw or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def read_frames(response, count):
    """The next `count` server-sent events of an open response, as {field: value} (comments skipped)."""
    frames, frame = [], {}
    while len(frames) < count:
        line = response.readline()
        if not line:
            raise SystemExit(f"the event stream ended after {frames}")
        line = line.decode().rstrip("\r\n")
        if not line:
            if frame:
                frames.append(frame)
            frame = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(":")
            frame[name] = value[1:] if value.startswith(" ") else value
    return frames


def check_stream(port, token, operation, create_order, check_schema):
    """streamEvents: the documented example's frames parse, the documented query gets a reset
    (its `after` is from no run of this server), and a new order arrives with the members the
    document shows. Every frame matches the document's schema of one event."""
    media = operation["responses"]["200"]["content"]["text/event-stream"]
    example = media["example"]
    documented = [json.loads(line[len("data: "):]) for line in example.splitlines() if line.startswith("data: ")]
    if not documented or any(not {"id", "topic", "type", "committedAt"} <= set(event) for event in documented):
        raise SystemExit(f"streamEvents: the documented events lack id, topic, type or committedAt: {documented}")

    def check_frame(frame, where):
        """One event as an event-stream client hands it over, then its data as JSON."""
        check_schema(media["schema"], frame, where)
        data = json.loads(frame["data"])
        check_schema(media["schema"]["properties"]["data"]["contentSchema"], data, where + " data")
        if frame["event"] != "reset" and (data["id"] != frame["id"] or data["topic"] != frame["event"]):
            raise SystemExit(f"{where}: data's id and topic differ from the frame's: {frame}")

    for block in example.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "data" in fields:
            check_frame(fields, "streamEvents (documented example)")
    query = "&".join(f"{p['name']}={p['example']}" for p in operation["parameters"] if p.get("in") == "query" and "example" in p)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        connection.request("GET", "/api/v1/stream?" + query, headers={"Authorization": "Bearer " + token, "Accept": "text/event-stream"})
        response = connection.getresponse()
        if response.status != 200 or not response.getheader("Content-Type", "").startswith("text/event-stream"):
            raise SystemExit(f"streamEvents: {response.status} {response.getheader('Content-Type')}")
        retry, reset = read_frames(response, 2)
        if retry.get("retry") != "2000" or reset.get("event") != "reset" or "reason" not in json.loads(reset["data"]):
            raise SystemExit(f"streamEvents: expected a retry and a reset first, got {retry} {reset}")
        check_frame(reset, "streamEvents (reset)")
        order_id = create_order()
        while True:
            frame = read_frames(response, 1)[0]
            check_frame(frame, f"streamEvents ({frame.get('event')})")
            event = json.loads(frame["data"])
            if frame.get("event") == "order" and event.get("orderId") == order_id and event["type"] == "order.created":
                break
        expected = set(next(e for e in documented if e["topic"] == "order"))
        if set(event) != expected or event["id"] != frame.get("id"):
            raise SystemExit(f"streamEvents: the order event has {sorted(event)}, the document shows {sorted(expected)}")
    finally:
        connection.close()


def without_times(value):
    if isinstance(value, dict):
        return {k: without_times(v) for k, v in value.items() if k not in TIME_FIELDS}
    if isinstance(value, list):
        return [without_times(v) for v in value]
    return value


def main():
    binary = sys.argv[1]
    with open(DOCUMENT) as f:
        document = yaml.safe_load(f)
    validate(document)
    print("document: valid OpenAPI", document["openapi"])

    resource = referencing.Resource.from_contents(document, default_specification=referencing.jsonschema.DRAFT202012)
    registry = referencing.Registry().with_resource("urn:orderflow-api", resource)

    def anchored(node):
        """The schema with its document-relative references made absolute."""
        if isinstance(node, dict):
            return {k: ("urn:orderflow-api" + v if k == "$ref" and v.startswith("#") else anchored(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [anchored(v) for v in node]
        return node

    def check_schema(schema, instance, where):
        validator = jsonschema.Draft202012Validator(anchored(schema), registry=registry)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            raise SystemExit(f"{where}: does not match the document: {errors[0].message} at {list(errors[0].path)}")

    operations = {}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            operations[operation["operationId"]] = (method, path, operation)
    missing = set(operations) - set(SEQUENCE)
    if missing:
        raise SystemExit(f"operations without a place in SEQUENCE: {sorted(missing)}")

    def resolve(node):
        while isinstance(node, dict) and "$ref" in node:
            target = document
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    # Examples a client would copy must keep to the rules they illustrate. Those that name a
    # secret or a generated ID in words are filled in from the running server instead.
    for operation_id, (method, path, operation) in operations.items():
        for parameter in map(resolve, operation.get("parameters", [])):
            if "example" in parameter and (operation_id, parameter["name"]) not in SUBSTITUTE:
                check_schema(parameter["schema"], parameter["example"], f"{operation_id} (example of {parameter['name']})")
        media = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if media and "example" in media:
            example = {k: v for k, v in media["example"].items() if (operation_id, k) not in SUBSTITUTE}
            schema = resolve(media["schema"])
            schema = dict(schema, required=[name for name in schema.get("required", []) if name in example])
            check_schema(schema, example, f"{operation_id} (request example)")
    print("document: every request example matches its schema")

    port = free_port()
    workdir = tempfile.mkdtemp(prefix="orderflow-apidoc-")
    log = open(os.path.join(workdir, "server.log"), "w")
    known = {"admin_password": secrets.token_urlsafe(18)}
    environment = dict(os.environ, ORDERFLOW_ADMIN_PASSWORD=known["admin_password"], ORDERFLOW_ALLOW_REGISTRATION="true",
                       ORDERFLOW_RATE_LIMIT="0", ORDERFLOW_ANONYMOUS_RATE_LIMIT="0", ORDERFLOW_ALERT_EVALUATION_SECONDS="1")
    simulator_port = free_port()
    server = subprocess.Popen(
        [binary, "demo", "--port", str(port), "--database", f"sqlite:{workdir}/demo.sqlite", "--simulator-port", str(simulator_port),
         "--order-rate", "0", "--advance-seconds", "0", "--decline-rate", "0", "--commerce-failure-rate", "0"],
        stdout=log, stderr=subprocess.STDOUT, env=environment)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if request("get", base + "/api/v1/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            raise SystemExit("orderflow demo did not become healthy; see " + log.name)

        status, signed_in = request("post", base + "/api/auth/login", {"username": "admin", "password": known["admin_password"]})
        if status != 200:
            raise SystemExit(f"cannot sign in as admin: {status} {signed_in}")
        token = signed_in["accessToken"]
        known["refresh_token"] = signed_in["refreshToken"]

        def until(description, probe, seconds=30):
            deadline = time.time() + seconds
            while time.time() < deadline:
                value = probe()
                if value:
                    return value
                time.sleep(0.1)
            raise SystemExit(f"timed out waiting for {description}")

        def prepare(operation_id):
            """Puts the server where an example needs it: released orders, a shipped one, dead letters."""
            order_example = operations["createOrder"][2]["requestBody"]["content"]["application/json"]["example"]
            def place(order_id, store="QC-BKK-001"):
                body = dict(order_example, orderId=order_id, shipFromLocationId=store)
                status, answer = request("post", base + "/api/orders", body, None, token)
                if status != 201:
                    raise SystemExit(f"preparing {order_id}: {status} {answer}")
            def status_of(order_id):
                return request("get", base + f"/api/orders/{order_id}", None, None, token)[1].get("status")
            if operation_id == "logout":
                # Signing out ends that sign-in's access tokens too, so it ends a second sign-in, not the one in use.
                status, other = request("post", base + "/api/auth/login", {"username": "admin", "password": known["admin_password"]})
                if status != 200:
                    raise SystemExit(f"cannot sign in a second time: {status} {other}")
                known["other_refresh_token"] = other["refreshToken"]
            if operation_id == "changeOrderLine":
                # Lines change only before release: a card order waits at 2000 while the provider is down.
                request("post", f"http://127.0.0.1:{simulator_port}/control", {"paymentsDown": True})
                body = dict(order_example, orderId="ORD-20261122-0005", shipFromLocationId="STD-BKK-DC1", paymentMethod="card", isForceAllocation=False)
                if request("post", base + "/api/orders", body, None, token)[0] != 201:
                    raise SystemExit("preparing ORD-20261122-0005 failed")
                until("ORD-20261122-0005 allocated", lambda: status_of("ORD-20261122-0005") == 2000)
                known["open_order"] = "ORD-20261122-0005"
            if operation_id == "postShipEvent":
                request("post", f"http://127.0.0.1:{simulator_port}/control", {"paymentsDown": False})
                place("ORD-20261122-0002")
                until("ORD-20261122-0002 released", lambda: status_of("ORD-20261122-0002") == 3000)
            if operation_id == "putDeliveryStatus":
                place("ORD-20261122-0003")
                until("ORD-20261122-0003 released", lambda: status_of("ORD-20261122-0003") == 3000)
                shipped = {"eventId": "prepare-shipped", "orderId": "ORD-20261122-0003", "type": "shipped", "trackingId": "TRK-7F3A9C2D10", "carrier": "grab"}
                if request("post", base + "/api/fulfillment/ship-events", shipped, None, token)[0] != 200:
                    raise SystemExit("preparing ORD-20261122-0003: ship event refused")
            if operation_id == "linkAcknowledgement":
                unmatched = {"acknowledgements": [{"channel": "commerce", "reference": "CE-778900", "status": "accepted", "orderId": "X-99"}]}
                status, answer = request("post", base + "/api/v1/acks", unmatched, None, token)
                if status != 200:
                    raise SystemExit(f"preparing an unmatched acknowledgement: {status} {answer}")
                known["unmatched_ack"] = answer["results"][0]["id"]
                items = request("get", base + "/api/v1/monitor/transmissions?channel=commerce&orderId=ORD-20261122-0002", None, None, token)[1]["items"]
                known["commerce_transmission"] = items[-1]["id"]
            if operation_id == "listAlerts":
                # A rule that holds at once (there are dead letters by now), evaluated within seconds.
                rule = {"name": "DeadLettersExist", "kind": "dead_letter_growth", "threshold": 0, "windowSeconds": 86400, "forSeconds": 0, "severity": "warning"}
                if request("post", base + "/api/v1/alert-rules", rule, None, token)[0] != 201:
                    raise SystemExit("preparing an alert rule failed")
                known["alert_id"] = until("an alert", lambda: (request("get", base + "/api/v1/alerts", None, None, token)[1].get("items") or [{}])[0].get("id"), 60)
            if operation_id == "listDeadLetters":
                # The simulated commerce engine refuses the events of a store it does not know.
                request("post", f"http://127.0.0.1:{simulator_port}/control", {"commerceUnknownStores": ["QC-BKK-002"]})
                place("ORD-20261122-0004", store="QC-BKK-002")
                letters = until("two dead letters", lambda: [item["id"] for item in request(
                    "get", base + "/api/dead-letters?state=open", None, None, token)[1].get("items", [])][:2] if len(request(
                    "get", base + "/api/dead-letters?state=open", None, None, token)[1].get("items", [])) >= 2 else None)
                known["dead_letter"], known["second_dead_letter"] = letters[1], letters[0]

        for operation_id in SEQUENCE:
            prepare(operation_id)
            method, path, operation = operations[operation_id]
            if operation_id == "streamEvents":
                order_example = operations["createOrder"][2]["requestBody"]["content"]["application/json"]["example"]
                def create_order():
                    body = dict(order_example, orderId="ORD-20261122-0099")
                    if request("post", base + "/api/orders", body, None, token)[0] != 201:
                        raise SystemExit("preparing ORD-20261122-0099 failed")
                    return "ORD-20261122-0099"
                check_stream(port, token, operation, create_order, check_schema)
                print(f"ok  {operation_id:18} {method.upper():6} {path} -> 200 (reset, then the new order's event)")
                continue
            url_path = path
            query = []
            headers = {}
            for parameter in operation.get("parameters", []):
                parameter = resolve(parameter)
                if "example" not in parameter:
                    continue
                value = parameter["example"]
                if (operation_id, parameter["name"]) in SUBSTITUTE:
                    value = known[SUBSTITUTE[(operation_id, parameter["name"])]]
                if parameter["in"] == "path":
                    url_path = url_path.replace("{" + parameter["name"] + "}", str(value))
            body = None
            request_body = operation.get("requestBody")
            if request_body:
                media = request_body["content"]["application/json"]
                if "example" not in media:
                    raise SystemExit(f"{operation_id}: request body has no example")
                body = dict(media["example"])
                for field in body:
                    if (operation_id, field) in SUBSTITUTE:
                        body[field] = known[SUBSTITUTE[(operation_id, field)]]
            public = operation.get("security") == []
            status, payload = request(method, base + url_path, body, headers, None if public else token)
            if not 200 <= status < 300:
                raise SystemExit(f"{operation_id}: {method.upper()} {url_path} -> {status} {json.dumps(payload)[:500]}")
            if operation_id == "refreshToken":
                known["refresh_token"] = payload["refreshToken"]
            if operation_id == "createUser":
                known["user_id"] = payload["user"]["id"]
            if operation_id == "createAPIKey":
                known["key_id"] = payload["apiKey"]["id"]
            if operation_id == "createAlertRule":
                known["rule_id"] = payload["id"]
            if operation_id == "createSilence":
                known["silence_id"] = payload["id"]
            response = resolve(operation["responses"][str(status)])
            if "content" not in response:
                print(f"ok  {operation_id:18} {method.upper():6} {url_path} -> {status}")
                continue
            if "text/csv" in response["content"]:
                header = response["content"]["text/csv"]["example"].splitlines()[0]
                if payload.splitlines()[0] != header:
                    raise SystemExit(f"{operation_id}: the CSV header differs from the document: {payload.splitlines()[0]}")
                print(f"ok  {operation_id:18} {method.upper():6} {url_path} -> {status} ({len(payload.splitlines()) - 1} rows)")
                continue
            media = response["content"]["application/json"]
            check_schema(media["schema"], payload, operation_id)
            examples = [media["example"]] if "example" in media else [resolve(e)["value"] for e in media.get("examples", {}).values()]
            if not examples:
                raise SystemExit(f"{operation_id}: response {status} has no example")
            for example in examples:
                check_schema(media["schema"], example, operation_id + " (documented example)")
            if operation_id == "createOrder":
                documented = without_times(examples[0])
                actual = without_times(payload)
                if documented != actual:
                    raise SystemExit("createOrder: the documented Order example differs from the real response:\n"
                                     + json.dumps(actual, indent=1, sort_keys=True))
            print(f"ok  {operation_id:18} {method.upper():6} {url_path} -> {status}")
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()
    print("every request example works and every response matches the document")


if __name__ == "__main__":
    main()
