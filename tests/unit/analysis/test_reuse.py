"""A plan's verification analyses keep unchanged sources' edges (analysis/reuse.py) and still
report exactly what a fresh analysis reports."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import pytest
from builders import Account, allow, deny, doc, policy_arn, role_arn, trust_aws, trust_service, user_arn
from work_count import generated

from deescalate.analysis.analyze import analyze
from deescalate.analysis.edges.base import Checker, EdgeContext, Principal
from deescalate.analysis.edges.direct import DIRECT
from deescalate.analysis.reuse import Reuse
from deescalate.model import PolicyKind, PolicyRef, Report, Snapshot
from deescalate.policy.parse import parse_policy
from deescalate.remediate.plan import build_plan


def _checked(store: Reuse, seen: list[Reuse]) -> tuple[list[int], object]:
    """An analyze_fn that analyses with `store` and compares each report with a fresh analysis."""
    kept = [0]

    def run(snapshot: Snapshot) -> Report:
        reused = analyze(snapshot, summarise=False, reuse=store)
        kept[0] += store.hits
        fresh = analyze(snapshot, summarise=False)
        assert reused == fresh
        seen.append(store)
        return reused

    return kept, run


@pytest.mark.parametrize("shape", ["default", "groups", "iam-writers", "chains", "replicated"])
def test_plan_verifications_equal_fresh_analyses(shape: str) -> None:
    snap = generated(shape, 150)
    store = Reuse()
    report = analyze(snap, reuse=store)
    kept, run = _checked(store, [])
    plan = build_plan(snap, report, run)  # type: ignore[arg-type]
    fresh_plan = build_plan(snap, analyze(snap), lambda s: analyze(s, summarise=False))
    assert plan == fresh_plan
    assert kept[0] > 0, "the verification rounds kept nothing: the store is never used"


def _account() -> Account:
    acct = Account()
    acct.admin_role("admin", trust_aws(f"arn:aws:iam::{acct.account_id}:root"))
    acct.user("alice", doc(allow("sts:AssumeRole")))
    acct.user("bob")
    acct.role("worker", trust_service("lambda.amazonaws.com"), doc(allow("s3:GetObject")))
    return acct


def _with_inline(snap: Snapshot, arn: str, document: dict[str, object]) -> Snapshot:
    """`snap` with one more inline policy on the user or role `arn` (as a plan's apply adds one)."""
    ref = PolicyRef(kind=PolicyKind.INLINE, name="extra", attached_to=arn)
    policy = parse_policy(document, ref)
    if arn in snap.users:
        users = dict(snap.users)
        users[arn] = replace(users[arn], inline_policies=(*users[arn].inline_policies, policy))
        return replace(snap, users=MappingProxyType(users))
    roles = dict(snap.roles)
    roles[arn] = replace(roles[arn], inline_policies=(*roles[arn].inline_policies, policy))
    return replace(snap, roles=MappingProxyType(roles))


def test_a_changed_principal_is_analysed_again() -> None:
    snap = _account().build()
    store = Reuse()
    assert not {f.principal for f in analyze(snap, reuse=store).findings} - {user_arn("alice")}
    bob = user_arn("bob")
    changed = _with_inline(snap, bob, doc(allow("sts:AssumeRole")))
    report = analyze(changed, reuse=store)
    assert report == analyze(changed)
    assert bob in {f.principal for f in report.findings}


def test_a_change_a_plan_never_makes_empties_the_store() -> None:
    acct = _account()
    snap = acct.build()
    store = Reuse()
    analyze(snap, reuse=store)
    # The admin role's trust now names only bob: alice's kept edge to it would be wrong.
    admin = next(arn for arn in snap.roles if arn.endswith(":role/admin"))
    roles = dict(snap.roles)
    trust = parse_policy(trust_aws(user_arn("bob")), PolicyRef(kind=PolicyKind.TRUST, name="t", attached_to=admin))
    roles[admin] = replace(roles[admin], trust_policy=trust)
    changed = replace(snap, roles=MappingProxyType(roles))
    report = analyze(changed, reuse=store)
    assert report == analyze(changed)
    assert store.hits == 0
    assert user_arn("alice") not in {f.principal for f in report.findings}


def test_an_unchanged_principal_is_kept() -> None:
    snap = _account().build()
    store = Reuse()
    analyze(snap, reuse=store)
    changed = _with_inline(snap, user_arn("alice"), doc(deny("iam:PassRole")))
    assert analyze(changed, reuse=store) == analyze(changed)
    assert store.hits > 0 and store.misses > 0


def test_another_principals_new_allow_empties_the_store() -> None:
    """X-CodePipeline from mallory depends on whether the pipeline's role may start builds: an Allow
    added to that role (never a plan's doing) must not leave mallory's kept result in place."""
    acct = Account()
    mallory = acct.user("mallory", doc(allow(["iam:PassRole", "codebuild:CreateProject",
                                              "codepipeline:CreatePipeline"])))
    acct.admin_role("builder", trust_service("codebuild.amazonaws.com"))
    acct.role("pipe", trust_service("codepipeline.amazonaws.com"), doc(allow("s3:GetObject")))
    snap = acct.build()
    store = Reuse()
    assert not analyze(snap, summarise=False, reuse=store).findings
    changed = _with_inline(snap, role_arn("pipe"), doc(allow("codebuild:StartBuild")))
    report = analyze(changed, summarise=False, reuse=store)
    assert report == analyze(changed, summarise=False)
    assert mallory in {f.principal for f in report.findings}
    assert store.hits == 0


def test_prefilter_answers_are_shared_between_a_plans_analyses(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checkers' prefilters (EdgeContext.applicable) are asked once per policy set over all of
    a plan's analyses (contexts sharing the Reuse's Prefilters); a principal whose policies the
    plan changed is asked again, one whose policy the snapshot lacks is never shared."""
    asked: list[str] = []
    original = Checker.applies

    def counting(self: Checker, ctx: EdgeContext, source: Principal) -> bool:
        asked.append(source.arn)
        return original(self, ctx, source)

    monkeypatch.setattr(Checker, "applies", counting)
    acct = _account()
    acct.user("dave", managed=(policy_arn("Missing"),))
    snap = acct.build()
    changed = _with_inline(snap, user_arn("alice"), doc(deny("iam:PassRole")))
    store = Reuse()
    first = EdgeContext(snap, prefilters=store.prefilters)
    for name in ("alice", "bob", "dave"):
        first.applicable(first.principals[user_arn(name)], DIRECT)
    assert set(asked) == {user_arn("alice"), user_arn("bob"), user_arn("dave")}
    asked.clear()
    second = EdgeContext(changed, prefilters=store.prefilters)
    for name in ("alice", "bob", "dave"):
        second.applicable(second.principals[user_arn(name)], DIRECT)
    assert set(asked) == {user_arn("alice"), user_arn("dave")}
    asked.clear()
    EdgeContext(changed).applicable(second.principals[user_arn("bob")], DIRECT)  # no Reuse: its own
    assert set(asked) == {user_arn("bob")}


def test_a_policy_missing_from_one_snapshot_is_not_shared_with_the_next() -> None:
    """A principal naming a managed policy the snapshot lacks gets answers of its own (anything
    may be allowed); the next snapshot, holding the policy, is prefiltered on what it allows."""
    acct = _account()
    p = acct.managed("P", doc(allow("iam:PutUserPolicy", user_arn("carol"))))
    acct.user("carol", managed=(p,))
    full = acct.build()
    lacking = replace(full, policies=MappingProxyType({a: m for a, m in full.policies.items() if a != p}))
    store = Reuse()
    analyze(lacking, summarise=False, reuse=store)
    assert store.prefilters.applicable  # analyze() shares them
    report = analyze(full, summarise=False, reuse=store)
    assert report == analyze(full, summarise=False)
    assert user_arn("carol") in {f.principal for f in report.findings}
    store = Reuse()
    analyze(full, summarise=False, reuse=store)
    assert analyze(lacking, summarise=False, reuse=store) == analyze(lacking, summarise=False)


def test_an_allowing_policy_replaced_by_a_deny_only_one_empties_the_store() -> None:
    """Found by independent review: the ARN of an `Allow *` managed policy now names a deny-only
    document. u0's kept X-CreateRole+Attach edge would still attach it as admin-grade (a plan only
    adds, changes or drops its own deny-only policies, so this never happens in a plan)."""
    acct = Account()
    acct.admin_role("admin", trust_aws(f"arn:aws:iam::{acct.account_id}:root"))
    wide = acct.managed("wide", doc(allow("*")))
    narrow = acct.managed("narrow", doc(deny("s3:GetObject")))
    acct.user("u0", doc(allow(["iam:CreateRole", "iam:AttachRolePolicy", "iam:PassRole", "lambda:CreateFunction"])))
    snap = acct.build()
    policies = dict(snap.policies)
    policies[wide] = snap.policies[narrow]
    changed = replace(snap, policies=MappingProxyType(policies))
    store = Reuse()
    analyze(snap, summarise=False, reuse=store)
    assert analyze(changed, summarise=False, reuse=store) == analyze(changed, summarise=False)
    assert store.hits == 0


def test_a_deny_only_policy_arriving_where_one_was_missing_empties_the_store() -> None:
    """Found by independent review: a role attaching a policy the snapshot lacks "may" do anything
    (Authorizer.may_allow), and X-CodePipeline reads whether the pipeline's role may start builds.
    A plan placing its deny in that very managed policy ARN changes edges from other sources, so the
    arrival of a deny-only policy where one was attached but missing empties the store."""
    acct = _account()
    acct.admin_role("builder", trust_service("codebuild.amazonaws.com"))
    arn = acct.managed("deescalate-deny-role-pipe", doc(deny("s3:GetObject")))
    acct.role("pipe", trust_service("codepipeline.amazonaws.com"), doc(allow("s3:PutObject")), managed=(arn,))
    acct.user("mallory", doc(allow(["iam:PassRole", "codebuild:CreateProject", "codepipeline:CreatePipeline"])))
    full = acct.build()
    lacking = replace(full, policies=MappingProxyType({a: m for a, m in full.policies.items() if a != arn}))
    store = Reuse()
    before = analyze(lacking, summarise=False, reuse=store)
    after = analyze(full, summarise=False, reuse=store)
    assert store.hits == 0
    assert after == analyze(full, summarise=False)
    # (the case matters: pipe is a runner only while its policy is missing)
    techniques = {e.technique for e in before.edges if e.source == user_arn("mallory")}
    assert "X-CodePipeline" in techniques
    assert "X-CodePipeline" not in {e.technique for e in after.edges if e.source == user_arn("mallory")}
