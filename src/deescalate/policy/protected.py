"""AWS's rules that live outside policy documents: requests decided whatever the policies say.

- `sts:GetCallerIdentity` needs no permission, "even if an administrator attaches a policy ... that
  explicitly denies" it: always allowed.
  https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
- AWS managed policies (`arn:<partition>:iam::aws:policy/...`) cannot be changed by anyone: "You
  cannot change the permissions defined in AWS managed policies."
  https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html#aws-managed-policies
- Service-linked roles (path `/aws-service-role/`) are "protected AWS resources. Only the service
  that depends on the service-linked role can modify or delete the role" (IAM's
  UnmodifiableEntity error); only their description may be edited.
  https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_update-service-linked-role.html
  https://docs.aws.amazon.com/IAM/latest/APIReference/API_UpdateRoleDescription.html
- IAM Identity Center's roles (path `/aws-reserved/sso.amazonaws.com/`) are created and kept by
  Identity Center from permission sets; IAM refuses changes to their policies and trust.
  https://docs.aws.amazon.com/singlesignon/latest/userguide/permissionsetsconcept.html
- KMS aliases under `alias/aws/` are reserved for AWS managed keys: no one creates, updates or
  deletes them. https://docs.aws.amazon.com/kms/latest/developerguide/alias-create.html

`special(action, resource)` says which rule applies to a request, or None (almost every request:
one dict lookup on the lower-cased action). The Authorizer answers those requests before reading
any policy, so the escalation analysis, which asks it about every grant, builds no edge through a
protected resource (for example PutRolePolicy or UpdateAssumeRolePolicy on an SSO role).
"""

from __future__ import annotations

from deescalate.arn import parse_arn
from deescalate.model import Decision, Outcome, Reason

ALWAYS_ALLOWED = frozenset({"sts:getcalleridentity"})

# Changes to a managed policy (the resource is the policy).
POLICY_CHANGES = frozenset(
    {
        "iam:createpolicyversion",
        "iam:deletepolicyversion",
        "iam:setdefaultpolicyversion",
        "iam:deletepolicy",
        "iam:tagpolicy",
        "iam:untagpolicy",
    }
)
# Changes to a role's permissions, trust or existence (the resource is the role). Not
# UpdateRole/UpdateRoleDescription (the description of any role may be edited), not PassRole
# (services are handed service-linked roles), not DeleteServiceLinkedRole (the sanctioned way).
ROLE_CHANGES = frozenset(
    {
        "iam:putrolepolicy",
        "iam:deleterolepolicy",
        "iam:attachrolepolicy",
        "iam:detachrolepolicy",
        "iam:updateassumerolepolicy",
        "iam:putrolepermissionsboundary",
        "iam:deleterolepermissionsboundary",
        "iam:deleterole",
    }
)
ALIAS_CHANGES = frozenset({"kms:createalias", "kms:updatealias", "kms:deletealias"})

_KIND: dict[str, str] = {
    **dict.fromkeys(ALWAYS_ALLOWED, "free"),
    **dict.fromkeys(POLICY_CHANGES, "policy"),
    **dict.fromkeys(ROLE_CHANGES, "role"),
    **dict.fromkeys(ALIAS_CHANGES, "alias"),
}

SPECIAL_ACTIONS = frozenset(_KIND)

SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"
SERVICE_ROLE_PATH = "/aws-service-role/"

FREE = Decision(
    outcome=Outcome.ALLOW,
    reason=Reason.ALLOWED,
    detail="sts:GetCallerIdentity needs no permission: AWS allows it even under an explicit Deny",
)


def is_aws_managed_policy(arn: str) -> bool:
    """`arn:<partition>:iam::aws:policy/...`: a policy AWS owns (account `aws`)."""
    p = parse_arn(arn)
    return p is not None and p.service == "iam" and p.account == "aws" and p.resource_type == "policy"


def protected_role(arn: str) -> str | None:
    """Why a role ARN cannot be changed (service-linked or Identity Center), or None."""
    p = parse_arn(arn)
    if p is None or p.service != "iam" or p.resource_type != "role":
        return None
    path = "/" + p.resource_id
    if path.startswith(SERVICE_ROLE_PATH):
        return "a service-linked role: only its service may change it"
    if path.startswith(SSO_ROLE_PATH):
        return "an IAM Identity Center role: only Identity Center (its permission set) may change it"
    return None


def special(action: str, resource: str) -> Decision | None:
    """AWS's answer when a rule outside the policies decides the request (`action` lower-cased)."""
    kind = _KIND.get(action)
    if kind is None:
        return None
    if kind == "free":
        return FREE
    why: str | None = None
    if kind == "policy":
        if is_aws_managed_policy(resource):
            why = "an AWS managed policy: no one can change it"
    elif kind == "role":
        why = protected_role(resource)
    else:
        parts = resource.split(":", 5)
        if len(parts) == 6 and parts[2] == "kms" and parts[5].startswith("alias/aws/"):
            why = "a KMS alias under alias/aws/, reserved for AWS managed keys"
    if why is None:
        return None
    return Decision(outcome=Outcome.DENY, reason=Reason.PROTECTED, detail=f"{resource} is {why}")
