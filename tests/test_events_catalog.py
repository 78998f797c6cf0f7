"""Unit tests for the sample event catalog (lambdadev/events.py, lambdadev/catalog/).

The Go side, tests/go/eventscheck, proves each sample decodes into its
aws-lambda-go type; these tests cover the Python API and the derived values
inside the samples (digests, base64, gzip) that make them faithful.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from importlib import resources

import pytest

from lambdadev import events
from lambdadev.errors import UsageError

NAMES = [
    "apigw-http",
    "apigw-rest",
    "cloudwatch-logs",
    "dynamodb-stream",
    "function-url",
    "kinesis",
    "s3-delete",
    "s3-put",
    "schedule",
    "sns",
    "sqs",
]


def _sample(name: str) -> dict:
    doc = json.loads(events.load(name))
    assert isinstance(doc, dict)
    return doc


def test_catalog_lists_all_samples_sorted():
    listed = events.catalog()
    assert [e.name for e in listed] == NAMES
    for e in listed:
        assert e.description.strip() and "\n" not in e.description
        assert e.go_type.startswith("events.")


def test_catalog_matches_the_json_files():
    files = {p.name for p in (resources.files("lambdadev") / "catalog").iterdir() if p.name.endswith(".json")}
    assert files == {f"{n}.json" for n in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_each_sample_loads_as_json(name):
    raw = events.load(name)
    assert isinstance(raw, bytes)
    assert isinstance(json.loads(raw), dict)


@pytest.mark.parametrize(
    ("typo", "suggested"),
    [
        ("sqs-event", "sqs"),
        ("SQS", "sqs"),
        ("kinesys", "kinesis"),
        ("s3", "s3-put"),
        ("function_url", "function-url"),
    ],
)
def test_unknown_name_raises_usage_error_with_close_match(typo, suggested):
    with pytest.raises(UsageError) as info:
        events.load(typo)
    err = info.value
    assert err.exit_code == 2
    assert typo in err.message
    assert err.hint is not None
    assert repr(suggested) in err.hint
    assert "lambdadev events list" in err.hint


def test_unknown_name_without_close_match_still_points_to_list():
    with pytest.raises(UsageError) as info:
        events.load("zzzzzz")
    assert info.value.hint is not None
    assert "lambdadev events list" in info.value.hint


def test_load_never_reads_outside_the_catalog():
    with pytest.raises(UsageError):
        events.load("../events")
    with pytest.raises(UsageError):
        events.load("index")


# --- the derived values are computed, not made up -------------------------------


def test_cloudwatch_logs_data_is_real_gzip_base64():
    data = _sample("cloudwatch-logs")["awslogs"]["data"]
    payload = json.loads(gzip.decompress(base64.b64decode(data, validate=True)))
    assert payload["messageType"] == "DATA_MESSAGE"
    assert payload["logGroup"].startswith("/aws/lambda/")
    assert payload["logEvents"]
    for ev in payload["logEvents"]:
        assert ev["id"] and ev["timestamp"] > 0 and ev["message"]


def test_kinesis_data_is_base64_json():
    for rec in _sample("kinesis")["Records"]:
        payload = json.loads(base64.b64decode(rec["kinesis"]["data"], validate=True))
        assert payload["userId"] == rec["kinesis"]["partitionKey"]


def test_sqs_md5_of_body_matches_body():
    for rec in _sample("sqs")["Records"]:
        assert rec["md5OfBody"] == hashlib.md5(rec["body"].encode()).hexdigest()


@pytest.mark.parametrize("name", ["apigw-http", "function-url"])
def test_payload_v2_shape(name):
    doc = _sample(name)
    assert doc["version"] == "2.0"
    assert all(k == k.lower() for k in doc["headers"])
    assert "cookie" not in doc["headers"]  # 2.0 moves cookies to cookies[]
    if "body" in doc:
        assert doc["headers"]["content-length"] == str(len(doc["body"].encode()))


def test_function_url_uses_default_route():
    doc = _sample("function-url")
    assert doc["routeKey"] == "$default"
    assert doc["requestContext"]["routeKey"] == "$default"
    assert doc["requestContext"]["domainName"].endswith(".on.aws")
