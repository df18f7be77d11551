"""graph.py on hand-made edges, and analyze() on two accounts loaded from raw files."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from deescalate.analysis.analyze import analyze
from deescalate.analysis.graph import findings
from deescalate.model import ADMIN, AdminVerdict, Edge, Grant
from deescalate.snapshot import load_snapshots

A, B, C, D, X = (f"arn:aws:iam::111111111111:user/{n}" for n in "abcdx")


def edge(source: str, target: str, *, conditional: bool = False, technique: str = "t") -> Edge:
    return Edge(
        source=source,
        target=target,
        technique=technique,
        alternatives=((Grant(action="iam:Thing", resource=target),),),
        conditions=("allowed if aws:SourceIp ...",) if conditional else (),
    )


def test_unconditional_path_preferred_over_shorter_conditional_one() -> None:
    edges = [edge(A, D, conditional=True), edge(A, B), edge(B, C), edge(C, D)]
    (f,) = [f for f in findings([A, B, C], edges, [AdminVerdict(arn=D, reason="r")]) if f.principal == A]
    assert [e.target for e in f.paths[0]] == [B, C, D]
    assert not f.conditional
    assert f.edges == (edges[0],)  # the escalation edge leaving A, conditional or not


def test_conditional_when_every_path_is() -> None:
    edges = [edge(A, B, conditional=True), edge(B, ADMIN)]
    got = {f.principal: f for f in findings([A, B], edges, [])}
    assert got[A].conditional and not got[B].conditional
    assert got[A].techniques == ("t",)


def test_no_finding_without_a_sink_and_for_admins() -> None:
    edges = [edge(A, B), edge(D, ADMIN)]
    assert findings([A, B, D], edges, [AdminVerdict(arn=D, reason="r")]) == ()


def test_targets_are_sinks_but_still_sources() -> None:
    edges = [edge(A, X), edge(X, ADMIN)]
    got = {
        f.principal: f for f in findings([A, X], edges, [AdminVerdict(arn=X, reason="t", target_only=True)])
    }
    assert set(got) == {A, X}
    assert sorted(e[-1].target for e in got[A].paths) == sorted([ADMIN, X])


def _details(users: list[dict], roles: list[dict], policies: list[dict]) -> dict:  # type: ignore[type-arg]
    return {"UserDetailList": users, "GroupDetailList": [], "RoleDetailList": roles, "Policies": policies}


def test_cross_account_through_load_snapshots(tmp_path: Path) -> None:
    admin = {
        "PolicyName": "AdministratorAccess",
        "Arn": "arn:aws:iam::aws:policy/AdministratorAccess",
        "Path": "/",
        "DefaultVersionId": "v1",
        "PolicyVersionList": [
            {
                "VersionId": "v1",
                "IsDefaultVersion": True,
                "Document": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
                },
            }
        ],
    }
    dev = {
        "UserName": "dev",
        "UserId": "AIDA1",
        "Arn": "arn:aws:iam::111111111111:user/dev",
        "Path": "/",
        "GroupList": [],
        "AttachedManagedPolicies": [],
        "UserPolicyList": [
            {
                "PolicyName": "hop",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Action": "sts:AssumeRole",
                            "Resource": "arn:aws:iam::222222222222:role/*",
                        }
                    ],
                },
            }
        ],
    }
    ops = {
        "RoleName": "ops",
        "RoleId": "AROA1",
        "Arn": "arn:aws:iam::222222222222:role/ops",
        "Path": "/",
        "AssumeRolePolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        },
        "InstanceProfileList": [],
        "RolePolicyList": [],
        "AttachedManagedPolicies": [
            {"PolicyName": "AdministratorAccess", "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}
        ],
    }
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(_details([dev], [], [])))
    second.write_text(json.dumps(_details([], [ops], [admin])))
    report = analyze(load_snapshots([first, second]))
    assert [v.arn for v in report.admins] == ["arn:aws:iam::222222222222:role/ops"]
    (f,) = report.findings
    assert f.principal == "arn:aws:iam::111111111111:user/dev"
    assert [(e.technique, e.target) for e in f.paths[0]] == [
        ("sts-001", "arn:aws:iam::222222222222:role/ops")
    ]
    assert any("lambda-003" in u for u in report.unexamined)  # raw IAM files carry no inventory


def _reference_findings(
    principals: list[str], edges: list[Edge], verdicts: list[AdminVerdict]
) -> list[tuple[str, tuple[tuple[str, ...], ...], bool]]:
    """Each finding's principal, paths (edge ids) and conditional flag, by the plain breadth-first
    search over every edge (the one findings() used before it took set differences)."""
    sinks = {v.arn for v in verdicts} | {ADMIN}
    admins = {v.arn for v in verdicts if not v.target_only}
    adjacency: dict[str, list[Edge]] = {}
    for e in edges:
        adjacency.setdefault(e.source, []).append(e)
    for out in adjacency.values():
        out.sort(key=lambda e: (e.target, e.technique, e.via or ""))

    def bfs(start: str, unconditional: bool) -> dict[str, Edge]:
        parent: dict[str, Edge] = {}
        seen, queue = {start}, [start]
        while queue:
            node = queue.pop(0)
            for e in adjacency.get(node, ()):
                if (unconditional and e.conditional) or e.target in seen:
                    continue
                seen.add(e.target)
                parent[e.target] = e
                queue.append(e.target)
        return parent

    def path(start: str, end: str, parent: dict[str, Edge]) -> tuple[str, ...]:
        ids: list[str] = []
        while end != start:
            ids.append(parent[end].id)
            end = parent[end].source
        return tuple(reversed(ids))

    out: list[tuple[str, tuple[tuple[str, ...], ...], bool]] = []
    for arn in sorted(principals):
        if arn in admins or arn not in adjacency:
            continue
        firm, loose = bfs(arn, True), bfs(arn, False)
        reached = sorted(s for s in sinks if s != arn and s in loose)
        if reached:
            paths = tuple(path(arn, s, firm if s in firm else loose) for s in reached)
            out.append((arn, paths, not any(s in firm for s in reached)))
    return out


@given(
    st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 8), st.booleans(), st.sampled_from("ab")), max_size=40
    ),
    st.sets(st.integers(0, 7), max_size=3),
)
@settings(max_examples=400, deadline=None)
def test_paths_are_those_of_a_plain_breadth_first_search(
    spec: list[tuple[int, int, bool, str]], admin_ids: set[int]
) -> None:
    """Dense graphs with parallel edges (several techniques, conditional or not, to one target),
    self-escalation edges (to ADMIN) and cycles: the same paths, in the same order."""
    names = [f"arn:aws:iam::111111111111:user/u{i}" for i in range(8)]
    node = [*names, ADMIN]
    edges = [edge(node[s], node[t], conditional=c, technique=k) for s, t, c, k in spec if node[s] != node[t]]
    verdicts = [AdminVerdict(arn=names[i], reason="r") for i in sorted(admin_ids)]
    got = [
        (f.principal, tuple(tuple(e.id for e in p) for p in f.paths), f.conditional)
        for f in findings(names, edges, verdicts)
    ]
    assert got == _reference_findings(names, edges, verdicts)
