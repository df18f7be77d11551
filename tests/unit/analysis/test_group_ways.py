"""Composition ranks only the nearest ways into a rewritten group (Composer._group_ways) and must
give what ranking every (joiner, user) pair gives: checked against that plain ranking on accounts
where many users and joiners share groups."""

from __future__ import annotations

from typing import Any

import pytest
from builders import Account, allow, doc, trust_aws, user_arn
from work_count import generated

from deescalate.analysis import compose
from deescalate.analysis.analyze import analyze
from deescalate.analysis.compose import MAX_WAYS, Composer
from deescalate.model import Group, Snapshot, User


def _writers() -> Snapshot:
    """A role that may rewrite every group and take over a few users, who take over the rest in
    a chain; joiners who may add anybody to any group; assumers of the role."""
    acct = Account()
    groups = [f"g{i}" for i in range(4)]
    for g in groups:
        acct.group(g)
    names = [f"u{i:02d}" for i in range(16)]
    for i, name in enumerate(names):
        grants = [allow("iam:CreateAccessKey", user_arn(names[(i + 1) % len(names)]))]
        if i % 4 == 1:
            grants.append(allow("iam:AddUserToGroup"))
        if i % 5 == 2:
            grants.append(allow("sts:AssumeRole", f"arn:aws:iam::{acct.account_id}:role/writer"))
        acct.user(name, doc(*grants), groups=tuple(groups[j] for j in range(4) if (i + j) % 3 == 0))
    acct.role(
        "writer",
        trust_aws(f"arn:aws:iam::{acct.account_id}:root"),
        doc(allow(["iam:PutGroupPolicy", "iam:AttachGroupPolicy"]),
            allow("iam:CreateAccessKey", [user_arn(n) for n in names[:3]])),
    )
    acct.admin_role("admin", trust_aws(user_arn("nobody")))
    return acct.build()


def _every_way(c: Composer, arn: str, group: Group, actor: str) -> tuple[int, list[tuple[str | None, str]]]:
    """Every way, ranked (the definition `_group_ways` shortcuts)."""
    mask = c.g.reach.get(arn, 0)
    users = [
        u for u in (c.ctx.principals.get(x) for x in c.g.members(mask))
        if isinstance(u, User) and u.arn not in c.ctx.admins and compose.boundary_caps(c.ctx.snapshot, u) is None
    ]
    joiners = [x for x in c.g.members(mask) if c.join(x, group.arn) is not None]
    ways: list[tuple[int, str | None, str]] = []
    for u in users:
        if group.arn in u.group_arns:
            if u.arn != actor:
                ways.append((len(c.path(arn, u.arn)), None, u.arn))
            continue
        for j in joiners:
            ways.append((len(c.path(arn, u.arn)) + len(c.path(arn, j)), j, u.arn))
    ways.sort(key=lambda w: (w[0], w[2] != arn, w[1] != arn, w[2], w[1] or ""))
    return len(ways), [(j, u) for _, j, u in ways[: MAX_WAYS + 1]]


@pytest.mark.parametrize(("shape", "size"), [("writers", 0), ("groups", 150), ("iam-writers", 150)])
def test_nearest_ways_equal_ranking_every_way(shape: str, size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    checked = [0]
    shortcut = Composer._group_ways

    def both(self: Composer, arn: str, group: Group, actor: str) -> Any:
        got = shortcut(self, arn, group, actor)
        assert got == _every_way(self, arn, group, actor), (arn, group.arn, actor)
        checked[0] += 1
        return got

    monkeypatch.setattr(Composer, "_group_ways", both)
    report = analyze(_writers() if shape == "writers" else generated(shape, size), summarise=False)
    if shape == "writers":
        assert checked[0] > 20
        assert any(e.technique == "X-GroupRewrite" for e in report.edges)
