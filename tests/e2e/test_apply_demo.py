"""The demo walkthrough of docs/remediation.md as a test: the packaged demo account recreated in moto
(account 111111111111), then plan --demo → apply --yes → collect → scan (clean) → revert → identical.

moto serves the account an access key belongs to: a key created in account 111111111111 (through
moto's `x-moto-account-id` header) makes every later request, the CLI's included, act there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest
from apply_helpers import iam_dump, seed_from_snapshot

from deescalate.analysis.analyze import analyze
from deescalate.cli import main
from deescalate.snapshot import DEMO_ACCOUNT_ID, load_demo, load_snapshot

pytestmark = pytest.mark.e2e


def _in_demo_account(client: Any) -> Any:
    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = DEMO_ACCOUNT_ID

    client.meta.events.register("before-sign.*.*", add_header)
    return client


def test_demo_walkthrough(moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                          capsys: pytest.CaptureFixture[str]) -> None:
    iam = _in_demo_account(boto3.client("iam", endpoint_url=moto_endpoint, region_name="us-east-1"))
    demo = load_demo()
    seed_from_snapshot(iam, demo)
    iam.create_user(UserName="deployer")  # the principal apply runs as (not in the plan)
    key = iam.create_access_key(UserName="deployer")["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    # a fresh session reads the environment (boto3's default session caches its first credentials)
    sts = boto3.Session().client("sts", endpoint_url=moto_endpoint, region_name="us-east-1")
    assert sts.get_caller_identity()["Account"] == DEMO_ACCOUNT_ID
    start = iam_dump(iam)

    plan = tmp_path / "plan.json"
    assert main(["plan", "--demo", "-o", str(plan)]) == 0
    assert main(["apply", str(plan), "--yes", "--endpoint-url", moto_endpoint]) == 0
    assert "Applied 1 call(s)" in capsys.readouterr().out
    assert main(["collect", "-o", str(tmp_path / "after"), "--endpoint-url", moto_endpoint,
                 "--region", "us-east-1"]) == 0
    after = load_snapshot(tmp_path / "after")
    assert after.account_id == DEMO_ACCOUNT_ID
    assert analyze(demo).findings and analyze(after).findings == ()
    assert main(["revert", "--journal", str(tmp_path / "plan.journal.jsonl"), "--yes",
                 "--endpoint-url", moto_endpoint]) == 0
    assert iam_dump(iam) == start
