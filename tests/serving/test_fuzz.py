"""Schemathesis over the running service's own OpenAPI (`/docs.json`): no 5xx, answers as documented."""

from __future__ import annotations

import json
from collections import Counter

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from pipeline.core.rows import FLOAT32_MAX  # the largest number a record may hold
from tests.serving.conftest import MAX_RECORDS

# The lazy schema hides its use of `served` from pytest: the group is named here (tests/conftest.py).
pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("served")]

SEED = 20240611
MAX_EXAMPLES = 200  # per operation; POST /predict, /metadata and /admin/reload yield most cases
MIN_CASES = 500
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def value_schema(feature: dict) -> dict:
    """What a record may hold for one raw feature, by its kind (`/metadata`): null everywhere."""
    if feature["kind"] == "numeric":
        return {"type": "number", "minimum": -FLOAT32_MAX, "maximum": FLOAT32_MAX, "nullable": True}
    if feature["kind"] == "boolean":
        return {"type": "boolean", "nullable": True}
    # Known categories, unseen ones and numbers (spelt as text by the service) are all answered.
    known = [{"type": "string", "enum": feature["categories"]}] if feature["categories"] else []
    return {"anyOf": [*known, {"type": "string"}, {"type": "number", "nullable": True}]}


@pytest.fixture(scope="module")
def live_schema(served):
    """The OpenAPI document the service serves, loaded from it, with two changes made here.

    - BentoML documents `records` as an array of anything and `threshold` as anything: what
      the README promises is written in (1 to MAX_RECORDS records of the served raw features,
      each typed by its kind from `/metadata`: a finite float32 number, true/false or a
      category, null for a missing value; a threshold in [0, 1] or null), so that generated
      records reach the feature checks and the model, and negative cases break one thing.
    - BentoML documents its 400 (`InvalidArgument`) with a string `detail` but answers a body
      that fails its pydantic input model with pydantic's error list there, e.g.
      `{"error": "1 validation error for Input", "detail": [{"type": "list_type", ...}]}`:
      the framework's answer, not the service's, so a list is accepted too.
    """
    _, client = served
    raw = client.get("/docs.json").raise_for_status().json()
    features = client.get("/metadata").raise_for_status().json()["features"]
    predict = raw["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    predict["properties"]["records"].update(
        minItems=1,
        maxItems=MAX_RECORDS,
        items={
            "type": "object",
            "properties": {f["name"]: value_schema(f) for f in features},
            "required": [f["name"] for f in features],
            "additionalProperties": False,
        },
    )
    predict["properties"]["threshold"].update(type="number", minimum=0, maximum=1, nullable=True)
    detail = raw["components"]["schemas"]["InvalidArgument"]["properties"]["detail"]
    if detail.get("type") == "string":
        detail.pop("type")
        detail["anyOf"] = [{"type": "string"}, {"type": "array", "items": {"type": "object"}}]
    loaded = schemathesis.openapi.from_dict(raw, config=schemathesis.Config(seed=SEED))
    loaded.config.update(base_url=str(client.base_url))
    return loaded


@pytest.fixture
def tally():
    """What the fuzzer sent and got: (operation, status) -> count."""
    return Counter()


@pytest.fixture(scope="module")
def session():
    with requests.Session() as shared:
        yield shared


@pytest.fixture(autouse=True)
def _nodeid_for_schemathesis(request):
    """schemathesis 4.32.5's lazy schemas read and rename `item._nodeid`, gone in pytest 9.2
    (the id now lives in `item._id`): give it the attribute it reads; ids are reported as usual."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


schema = schemathesis.pytest.from_fixture("live_schema")


def exercise(case, tally: Counter, session: requests.Session) -> None:
    """Send one generated request, run the checks, count it, and hold the invariants below."""
    response = case.call_and_validate(session=session, checks=CHECKS, timeout=30)
    tally[f"{case.operation.label} {response.status_code}"] += 1
    if case.method.upper() != case.operation.method.upper():
        return  # a probe with another method (405): only the checks above apply
    if case.operation.path == "/admin/reload":
        # No ADMIN_TOKEN in the fixture's environment: reload is disabled, whatever is sent
        # (403, or a 4xx for a body or media type refused before that).
        assert 400 <= response.status_code < 500, response.text
    if case.operation.path == "/predict" and response.status_code == 200:
        assert len(response.json()["predictions"]) == len(case.body["records"])


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, database=None, deadline=None, suppress_health_check=list(HealthCheck))
def fuzz_every_operation(case, tally, session):
    """Not collected (no `test_` prefix): the test below calls it, and schemathesis runs it on
    generated cases of every operation, each operation a subtest of that test."""
    exercise(case, tally, session)


def test_service_answers_every_generated_request_as_documented(request, tally, tmp_path_factory):
    """Every generated request answered as documented, and enough of them sent: one test, so
    that the count never depends on another test having run before it."""
    fuzz_every_operation(request=request)
    total = sum(tally.values())
    summary = {"cases": total, "by_operation_and_status": dict(sorted(tally.items()))}
    out = tmp_path_factory.mktemp("fuzz") / "fuzz-summary.json"
    out.write_text(json.dumps(summary, indent=2))
    print(f"fuzz: {total} cases; {json.dumps(summary['by_operation_and_status'])}; written to {out}")
    assert total >= MIN_CASES, f"only {total} generated cases, fewer than {MIN_CASES}: {summary}"
