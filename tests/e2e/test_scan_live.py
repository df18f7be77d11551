"""`deescalate scan --endpoint-url ...`: collect into a temporary directory, analyse, gate.

A real moto server stands in for AWS. One user can rewrite its own inline policy (iam-007, a
one-step self-escalation: critical); one user can only read. The scan must flag the first, not
the second, write SARIF that validates, and honour a suppression.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import jsonschema
import pytest

from deescalate.cli import main

pytestmark = pytest.mark.e2e

ACCT = "123456789012"
REPO = Path(__file__).resolve().parents[2]


def _seed(url: str) -> None:
    iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1")
    iam.create_user(UserName="dev")
    iam.put_user_policy(UserName="dev", PolicyName="self-service", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iam:PutUserPolicy",
                       "Resource": f"arn:aws:iam::{ACCT}:user/dev"}]}))
    iam.create_user(UserName="reader")
    iam.attach_user_policy(UserName="reader", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")


def test_scan_collects_first_and_gates(moto_endpoint: str, tmp_path: Path, capsys) -> None:
    _seed(moto_endpoint)
    sarif = tmp_path / "r.sarif"
    live = ["scan", "--endpoint-url", moto_endpoint, "--region", "us-east-1"]
    report = tmp_path / "r.json"
    # The JSON goes to a file: the in-process moto server prints its own notices (App Runner has no
    # backend) to this process's stdout.
    code = main([*live, "--format", "json", "--output", f"json={report}", "--output", f"sarif={sarif}"])
    captured = capsys.readouterr()
    assert code == 1, captured.err
    doc = json.loads(report.read_text())
    assert doc["account_id"] == ACCT
    dev = f"arn:aws:iam::{ACCT}:user/dev"
    finding = next(f for f in doc["findings"] if f["principal"] == dev)
    assert finding["severity"] == "critical" and "iam-007" in finding["techniques"]
    assert f"arn:aws:iam::{ACCT}:user/reader" not in {f["principal"] for f in doc["findings"]}
    schema = json.loads((REPO / "tests/assets/sarif-schema-2.1.0.json").read_text())
    run = json.loads(sarif.read_text())
    jsonschema.Draft4Validator(schema).validate(run)
    # the collected directory is gone: its IAM file is named relative to a base id, at the Arn's line
    loc = run["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "iam/get-account-authorization-details.json",
                                       "uriBaseId": "DEESCALATE_COLLECTED"}
    assert loc["region"]["startLine"] > 1
    assert "DEESCALATE_COLLECTED" in run["runs"][0]["originalUriBaseIds"]

    sup = tmp_path / "accepted.yml"
    sup.write_text(f"- principal: '{dev}'\n  technique: '*'\n  reason: sandbox user, reviewed\n")
    assert {f["principal"] for f in doc["findings"]} == {dev}
    assert main([*live, "--suppressions", str(sup)]) == 0
    assert "Suppressed (1)" in capsys.readouterr().out
