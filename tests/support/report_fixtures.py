"""Hand-built Report values for the renderer tests (no analysis involved).

The account: alice assumes deployer (sts-001); deployer reaches the Admin role twice (lambda-001,
cloudformation-001), edits its own policy (iam-005) and passes a role to EC2 conditionally;
carol reaches Admin only under a condition; dave reaches the `prod-data` target; a user whose
name is a script tag can make itself admin. Admin is an administrator.
"""

from __future__ import annotations

from deescalate.analysis.techniques import all_techniques
from deescalate.model import (
    ADMIN,
    AdminVerdict,
    Deny,
    Edge,
    Finding,
    Grant,
    Plan,
    PrincipalPlan,
    Report,
)

ACCT = "111122223333"
ALICE = f"arn:aws:iam::{ACCT}:user/alice"
DEPLOYER = f"arn:aws:iam::{ACCT}:role/deployer"
ADMIN_ROLE = f"arn:aws:iam::{ACCT}:role/Admin"
CAROL = f"arn:aws:iam::{ACCT}:user/carol"
DAVE = f"arn:aws:iam::{ACCT}:user/dave"
PROD = f"arn:aws:iam::{ACCT}:role/prod-data"
EVIL_NAME = "<script>alert(1)</script>"
EVIL = f"arn:aws:iam::{ACCT}:user/{EVIL_NAME}"
EVIL_TAG = 'x" onmouseover="alert(2)'


def e(source: str, target: str, technique: str, *actions: str, via: str | None = None,
      conditions: tuple[str, ...] = ()) -> Edge:
    resource = target if target != ADMIN else source
    return Edge(
        source=source,
        target=target,
        technique=technique,
        alternatives=(tuple(Grant(action=a, resource=resource) for a in actions),),
        via=via,
        conditions=conditions,
        description=f"{technique} from {source}",
    )


A_B = e(ALICE, DEPLOYER, "sts-001", "sts:AssumeRole")
B_C1 = e(DEPLOYER, ADMIN_ROLE, "lambda-001", "iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction")
B_C2 = e(DEPLOYER, ADMIN_ROLE, "cloudformation-001", "iam:PassRole", "cloudformation:CreateStack")
B_SELF = e(DEPLOYER, ADMIN, "iam-005", "iam:PutRolePolicy")
CAROL_C = e(CAROL, ADMIN_ROLE, "ec2-001", "iam:PassRole", "ec2:RunInstances",
            conditions=('aws:SourceIp IpAddress "10.0.0.0/8" (request context unknown)',))
DAVE_P = e(DAVE, PROD, "iam-012", "iam:UpdateAssumeRolePolicy")
EVIL_SELF = e(EVIL, ADMIN, "iam-007", "iam:PutUserPolicy", via=EVIL_TAG)


def sample_report(*, with_plan: bool = False) -> Report:
    findings = (
        Finding(principal=ALICE, techniques=("sts-001", "lambda-001", "cloudformation-001", "iam-005"),
                paths=((A_B, B_SELF), (A_B, B_C1)), edges=()),
        Finding(principal=DEPLOYER, techniques=("lambda-001", "cloudformation-001", "iam-005"),
                paths=((B_SELF,), (B_C1,)), edges=(B_C1, B_C2, B_SELF)),
        Finding(principal=CAROL, techniques=("ec2-001",), paths=((CAROL_C,),), edges=(CAROL_C,),
                conditional=True),
        Finding(principal=DAVE, techniques=("iam-012",), paths=((DAVE_P,),), edges=(DAVE_P,)),
        Finding(principal=EVIL, techniques=("iam-007",), paths=((EVIL_SELF,),), edges=(EVIL_SELF,)),
    )
    plan = None
    if with_plan:
        plan = Plan(
            account_id=ACCT,
            snapshot="tests/fixture",
            snapshot_time="2026-11-28T00:00:00Z",
            verified=True,
            principals=(
                PrincipalPlan(
                    principal=DEPLOYER,
                    policy_name="deescalate-deny",
                    document='{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", '
                    '"Action": "iam:PassRole", "Resource": "' + ADMIN_ROLE + '"}]}',
                    denies=(
                        Deny(id="d1", principal=DEPLOYER, action="iam:PassRole", resource=ADMIN_ROLE,
                             cuts=(B_C1.id, B_C2.id), techniques=("lambda-001", "cloudformation-001"),
                             why="one deny cuts both pass-role edges"),
                        Deny(id="d2", principal=DEPLOYER, action="iam:PutRolePolicy", resource=DEPLOYER,
                             cuts=(B_SELF.id,), techniques=("iam-005",), why=f"tag said {EVIL_TAG}"),
                    ),
                ),
            ),
        )
    return Report(
        account_id=ACCT,
        admins=(
            AdminVerdict(arn=ADMIN_ROLE, reason="allowed * on * (AdministratorAccess)"),
            AdminVerdict(arn=PROD, reason="--target arn:aws:iam::*:role/prod-*", target_only=True),
        ),
        findings=findings,
        edges=(A_B, B_C1, B_C2, B_SELF, CAROL_C, DAVE_P, EVIL_SELF),
        unexamined=("ssm-001: EC2 inventory missing",),
        notes=("a note with <b>markup</b>",),
        source="tests/fixture",
        plan=plan,
    )


def every_technique_report() -> Report:
    """One finding per known technique, plus one id the table does not know."""
    admin = f"arn:aws:iam::{ACCT}:role/Admin"
    findings = []
    edges = []
    ids = [t.id for t in all_techniques()] + ["zz-unknown-001"]
    for i, tid in enumerate(ids):
        src = f"arn:aws:iam::{ACCT}:user/u{i}"
        edge = e(src, ADMIN if i % 2 else admin, tid, "iam:PassRole",
                 conditions=("cond",) if i % 5 == 0 else ())
        edges.append(edge)
        findings.append(Finding(principal=src, techniques=(tid,), paths=((edge,),), edges=(edge,),
                                conditional=edge.conditional))
    return Report(account_id=ACCT, admins=(AdminVerdict(arn=admin, reason="*:*"),),
                  findings=tuple(findings), edges=tuple(edges), source="every-technique")


def empty_report() -> Report:
    return Report(account_id=ACCT, admins=(AdminVerdict(arn=ADMIN_ROLE, reason="*:*"),), findings=(),
                  edges=(), source="clean")
