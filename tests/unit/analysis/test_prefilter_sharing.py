"""What-if sub-analyses share their parent's checker prefilters (EdgeContext._signature), keyed by
the policy objects a principal's permissions come from. A what-if that changes one of them must
not get the parent's answer."""

from __future__ import annotations

from builders import Account, allow, doc, policy_arn, trust_aws, user_arn

from deescalate.analysis.analyze import analyze


def test_an_older_version_of_a_group_policy_is_prefiltered_as_itself() -> None:
    """u's group holds P; P's default version only lets u make another version the default, and
    that older version lets u put an inline policy on itself (found by independent review: the
    group object is unchanged by the what-if, only the policy is new)."""
    acct = Account()
    p = policy_arn("P")
    acct.managed("P", doc(allow("iam:PutUserPolicy", user_arn("u"))), doc(allow("iam:SetDefaultPolicyVersion", p)))
    acct.group("g", managed=(p,))
    acct.user("u", groups=("g",))
    acct.admin_role("admin", trust_aws(user_arn("nobody")))
    snap = acct.build()
    for summarise in (True, False):
        report = analyze(snap, summarise=summarise)
        assert [f.principal for f in report.findings] == [user_arn("u")]
        assert any(e.technique == "iam-setdefaultversion" for e in report.edges)


def test_an_older_version_of_an_own_policy_is_prefiltered_as_itself() -> None:
    acct = Account()
    p = policy_arn("P")
    acct.managed("P", doc(allow("iam:PutUserPolicy", user_arn("u"))), doc(allow("iam:SetDefaultPolicyVersion", p)))
    acct.user("u", managed=(p,))
    acct.admin_role("admin", trust_aws(user_arn("nobody")))
    snap = acct.build()
    report = analyze(snap)
    assert [f.principal for f in report.findings] == [user_arn("u")]
    assert any(e.technique == "iam-setdefaultversion" for e in report.edges)
