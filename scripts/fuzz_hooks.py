"""The fuzzer's check that the API document states every rule the server enforces.

Loaded by fuzz_api.py (SCHEMATHESIS_HOOKS). schemathesis's own `positive_data_acceptance` is told
to let 400 and 422 through (fuzz_api.toml), and this check decides instead: a request that matches
the document may be refused only for a rule the document states in words because JSON Schema
cannot state it (it depends on another field, on what is stored or configured, or on the clock).
Every field error of such a refusal must be one of ALLOWED; anything else means the document and
the server disagree, and the run fails.
"""
import json
import re

import schemathesis

try:  # coverage-phase probes of the request's shape (a wrong method, a missing body) are not judged
    from schemathesis.specs.openapi.checks import is_unexpected_http_status_case
except ImportError:  # another schemathesis: judge every case
    def is_unexpected_http_status_case(case):
        return False

INDEX = r"\[\d+\]"

# (field, rule, message): regular expressions matched against the whole field error.
ALLOWED = [
    # cursor: a nextCursor this API returned (opaque; a schema cannot tell one)
    (r"cursor", "format", r"is not a cursor this API returned"),
    # from/to: from before to (or now), at most 31 days apart
    (r"from", "range", r"must be before to|the range may span at most 31 days"),
    # statusFrom not greater than statusTo
    (r"statusFrom", "range", r"must not be greater than statusTo"),
    # a time, converted to UTC, is one a response can write back (years 0000-9999, milliseconds)
    (r".*", "range", r"'.*' is not between 0000-01-01T00:00:00Z and 9999-12-31T23:59:59\.999Z"),
    # an alert acknowledgement's expiresAt is in the future
    (r"expiresAt", "range", r"must be in the future"),
    # a silence ends after it starts and in the future
    (r"endsAt", "range", r"must be after startsAt and in the future"),
    # an acknowledgement happened at most 5 minutes ahead of the server's clock
    (rf"acknowledgements{INDEX}\.occurredAt", "range", r"is more than 5 minutes in the future"),
    # an order's location exists (rule B)
    (r"shipFromLocationId", "B", r"unknown location '.*'"),
    # a reservation's location exists
    (r"locationId", "B", r"unknown location '.*'"),
    # a line names the order's location (rule B)
    (rf"lines{INDEX}\.shipFromLocationId", "B", r"must equal the order's shipFromLocationId '.*'"),
    # QC small-format stores force-allocate (rule C)
    (r"isForceAllocation", "C", r"must be true for orders from a QC small-format store"),
    # QC small-format stores take cash on delivery only (rule I)
    (r"paymentMethod", "I", r"QC small-format stores take cash on delivery only"),
    # a delivery order has a delivery address (rule I)
    (r"deliveryAddress", "I", r"is required for delivery orders"),
    # a customer has an email or a phone (rule G)
    (r"customer", "G", r"needs an email or a phone number"),
    # an R- customer ID belongs to the shopper who registered with it (rule G)
    (r"customer\.id", "G", r"IDs starting with R- belong to shoppers who registered themselves"),
    # a line's SKU is in the catalog and for sale (rule H)
    (rf"(lines{INDEX}\.)?sku", "H", r"unknown SKU '.*'|SKU '.*' is not for sale"),
    # a line's discounts are at most its gross amount (rule H)
    (rf"lines{INDEX}\.discounts", "H", r"total discount exceeds the line amount .*"),
    # a line names each tax code once (rule H)
    (rf"lines{INDEX}\.taxes{INDEX}\.code", "H", r"tax '.*' appears twice on this line"),
    # a changed line's price stays within 120 % of its original price (FR8)
    (r"unitPrice", "FR8", r".* exceeds 120 % of the original price .*"),
    # a changed line's discounts stay within its new amount (rule H)
    (r"quantity", "H", r"the line's discounts would exceed its new amount .*"),
    # a reservation names each SKU once
    (rf"items{INDEX}\.sku", "unique", r"SKU '.*' appears twice"),
    # a user's or key's store exists
    (r"storeScope", "scope", r"unknown location '.*'"),
    # a user's region has a location in it
    (r"regionScope", "scope", r"no location is in region '.*'"),
    # scoped roles come with their scope
    (r"storeScope", "scope", r"a store manager needs a store"),
    (r"regionScope", "scope", r"a regional coordinator needs a region"),
    (r"customerId", "scope", r"a customer needs a customer ID"),
    # a password is at most 72 bytes in UTF-8 (its length in characters is in the document)
    (r"password|newPassword", "password", r"must be at most 72 bytes in UTF-8"),
    # a password has at least 4 different characters
    (r"password|newPassword", "password", r"must have at least 4 different characters"),
    # a channel the server is configured with
    (rf"(acknowledgements{INDEX}\.)?channel", "unknown_channel", r"'.*' is not a configured channel"),
    # an alert rule names a channel only for per-channel kinds
    (r"channel", "not_applicable", r".* rules are not per channel; leave out '.*'"),
    # a ratio threshold is below 1
    (r"threshold", "range", r"a ratio threshold must be below 1 \(0\.05 is 5%\)"),
    # a transmission to link an acknowledgement to exists, on the acknowledgement's channel
    (r"transmissionId", "exists", r"no transmission -?\d+"),
    (r"transmissionId", "channel", r"the acknowledgement is from '.*', the transmission went to '.*'"),
    # a failed delivery has a reason that is not blank
    (r"reason", "required", r"a failed delivery needs a reason"),
    # a key's or user's own rate is 0.1 or more, or 0 (the roles' default): not between 0 and 0.1
    (r"rateLimit\.requestsPerSecond", "format", r"must be 0\.1 to 1000000 requests a second, or 0 for the roles' default"),
    # a dead letter's corrected payload is a JSON document
    (r"payload", "json", r"must be a JSON document"),
]
ALLOWED = [(re.compile(field), rule, re.compile(message, re.DOTALL)) for field, rule, message in ALLOWED]


def allowed(error):
    return any(
        field.fullmatch(error.get("field", "")) and rule == error.get("rule") and message.fullmatch(error.get("message", ""))
        for field, rule, message in ALLOWED
    )


@schemathesis.check
def refused_only_for_rules_in_words(ctx, response, case):
    """A schema-valid request refused with 400 or 422 names only rules the document states in words."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    if is_unexpected_http_status_case(case):
        return None
    try:
        fields = json.loads(response.content)["error"].get("fields") or []
    except (ValueError, KeyError, TypeError, AttributeError):
        fields = []
    unexplained = [error for error in fields if not isinstance(error, dict) or not allowed(error)]
    if not fields or unexplained:
        shown = unexplained or [response.text[:300]]
        raise AssertionError(
            f"A request that matches the document was refused ({response.status_code}) for a rule the document "
            f"does not state in words: {json.dumps(shown, ensure_ascii=False)[:600]}")
    return None
