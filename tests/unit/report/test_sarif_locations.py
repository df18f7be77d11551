"""SARIF for code scanning: results located at the principal's entry in the snapshot's IAM file,
rules only for the techniques with results (unless --sarif-all-rules), the SAR version named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from deescalate.analysis.techniques import all_techniques
from deescalate.cli import main
from deescalate.report.locate import IamFile, principal_locations, uri_for
from deescalate.sar import reference_version
from deescalate.snapshot import demo_path
from deescalate.snapshot.layout import IAM_DETAILS

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = json.loads((ROOT / "tests/assets/sarif-schema-2.1.0.json").read_text())


def sarif(capsys, *argv: str) -> dict:
    main([*argv, "--format", "sarif", "--fail-on", "none"])
    doc = json.loads(capsys.readouterr().out)
    jsonschema.Draft4Validator(SCHEMA).validate(doc)
    return doc


def _at(text: str, line: int, column: int) -> str:
    return text.splitlines()[line - 1][column - 1:]


def test_demo_results_point_at_each_principals_entry(capsys) -> None:
    run = sarif(capsys, "demo")["runs"][0]
    text = (demo_path() / IAM_DETAILS).read_text()
    assert run["results"]
    for r in run["results"]:
        loc = r["locations"][0]
        art, region = loc["physicalLocation"]["artifactLocation"], loc["physicalLocation"]["region"]
        assert art == {"uri": IAM_DETAILS, "uriBaseId": "DEESCALATE_DEMO"}
        arn = loc["logicalLocations"][0]["fullyQualifiedName"]
        assert _at(text, region["startLine"], region["startColumn"]).startswith(f'"Arn": "{arn}"')
    assert "DEESCALATE_DEMO" in run["originalUriBaseIds"]
    assert run["properties"]["serviceAuthorizationReference"] == reference_version()
    assert run["tool"]["driver"]["properties"]["serviceAuthorizationReference"] == reference_version()


def test_rules_are_those_with_results_unless_all_are_asked(capsys) -> None:
    run = sarif(capsys, "demo")["runs"][0]
    rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert sorted(rules) == sorted({r["ruleId"] for r in run["results"]})
    for r in run["results"]:
        assert rules[r["ruleIndex"]] == r["ruleId"]
    everything = sarif(capsys, "demo", "--sarif-all-rules")["runs"][0]
    all_ids = [r["id"] for r in everything["tool"]["driver"]["rules"]]
    assert len(all_ids) == len(all_techniques()) and set(rules) <= set(all_ids)
    for r in everything["results"]:
        assert all_ids[r["ruleIndex"]] == r["ruleId"]


def test_a_scanned_file_under_the_working_directory_is_named_relative(capsys, tmp_path, monkeypatch) -> None:
    # the raw get-account-authorization-details form, minified: every entry on line 1, told apart by column
    raw = json.loads((demo_path() / IAM_DETAILS).read_text())
    (tmp_path / "my snapshots").mkdir()
    file = tmp_path / "my snapshots" / "details.json"
    file.write_text(json.dumps(raw, separators=(",", ":")).replace('"Arn":', '"Arn": '))
    monkeypatch.chdir(tmp_path)
    run = sarif(capsys, "scan", "my snapshots/details.json")["runs"][0]
    text = file.read_text()
    for r in run["results"]:
        phys = r["locations"][0]["physicalLocation"]
        assert phys["artifactLocation"] == {"uri": "my%20snapshots/details.json"}
        arn = r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        assert phys["region"]["startLine"] == 1
        assert _at(text, 1, phys["region"]["startColumn"]).startswith(f'"Arn": "{arn}"')


def test_a_snapshot_directory_names_its_iam_file(capsys, tmp_path, monkeypatch) -> None:
    snap = tmp_path / "snap"
    shutil.copytree(demo_path(), snap)
    monkeypatch.chdir(tmp_path)
    run = sarif(capsys, "scan", "snap")["runs"][0]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {f"snap/{IAM_DETAILS}"}
    outside = sarif(capsys, "scan", str(snap / "manifest.json"))  # a manifest works too
    assert outside["runs"][0]["results"]


def test_uris_outside_the_working_directory_are_file_uris(tmp_path) -> None:
    assert uri_for(tmp_path / "a b.json", tmp_path / "elsewhere").startswith("file:///")
    assert uri_for(tmp_path / "a b.json", tmp_path) == "a%20b.json"


@pytest.mark.parametrize("content", [b"\xff\xfe not utf-8", None])
def test_an_unreadable_file_gives_no_locations(tmp_path, content) -> None:
    f = tmp_path / "iam.json"
    if content is not None:
        f.write_bytes(content)
    assert principal_locations([IamFile(path=f, uri="iam.json")]) == {}


def test_only_users_and_roles_are_located(tmp_path) -> None:
    f = tmp_path / "iam.json"
    f.write_text('{"GroupDetailList": [{"Arn": "arn:aws:iam::1:group/g"}],\n'
                 ' "RoleDetailList": [{"Arn": "arn:aws:iam::1:role/r",\n'
                 '   "InstanceProfileList": [{"Arn": "arn:aws:iam::1:instance-profile/p",\n'
                 '     "Roles": [{"Arn": "arn:aws:iam::1:role/r"}]}]}]}')
    got = principal_locations([IamFile(path=f, uri="iam.json")])
    assert set(got) == {"arn:aws:iam::1:role/r"}
    assert (got["arn:aws:iam::1:role/r"].line, got["arn:aws:iam::1:role/r"].column) == (2, 22)


def test_the_docs_count_the_catalogue_right() -> None:
    # README and docs/reports.md say how many rules --sarif-all-rules lists: keep them true.
    n = len(all_techniques())
    assert f"all {n} with `--sarif-all-rules`" in (ROOT / "README.md").read_text()
    assert f"`--sarif-all-rules` lists all {n} known techniques" in (ROOT / "docs/reports.md").read_text()
