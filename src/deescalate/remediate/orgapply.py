"""apply and revert over an organization: account by account, each with its own credentials.

For each account of a plan directory (or of a plan holding several accounts), the work (apply's
`prepare`/`apply_plan`, revert's `revert_journal`/`revert_all`) runs with clients for that account:
the caller's own account with the caller's credentials, any other through sts:AssumeRole of the
role the user names (`--role-name`, default OrganizationAccountAccessRole, the role AWS
Organizations creates in the accounts it creates:
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_accounts_create-cross-account-role.html,
or `--role-arn-template arn:aws:iam::{account}:role/NAME`). Every account keeps its own journal and
lock (apply_plan and revert_journal take the account's lock from the credentials they are given).

An account that fails — its role cannot be assumed, its plan file is refused, a live check refuses,
a call fails — is recorded with its error and the next account goes on; `run_per_account` never
raises a `DeescalateError` for one account. The command prints one line per failed account and
exits with the largest exit code among them (2 a plan refused, 3 a live failure), 0 when all
succeeded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from deescalate.arn import account_of
from deescalate.errors import EXIT_CLEAN, ApplyError, DeescalateError, UsageError
from deescalate.remediate.aws import Clients, assume_role
from deescalate.remediate.names import PrincipalKind, iam_principal

DEFAULT_ROLE_NAME = "OrganizationAccountAccessRole"
ACCOUNT_PLACEHOLDER = "{account}"
T = TypeVar("T")


def role_arn_for(account: str, *, partition: str = "aws", role_name: str | None = None,
                 template: str | None = None) -> str:
    """The role to assume in `account`: a name in the caller's partition, or a template's ARN.

    The result must be an IAM role ARN *in that account* (UsageError otherwise): a template that
    names a fixed account would send every account's changes to one.
    """
    if template is not None:
        if ACCOUNT_PLACEHOLDER not in template:
            raise UsageError(f"--role-arn-template {template!r} has no {ACCOUNT_PLACEHOLDER} placeholder")
        arn = template.replace(ACCOUNT_PLACEHOLDER, account)
        shown = f"--role-arn-template {template!r}"
    else:
        name = role_name or DEFAULT_ROLE_NAME
        arn = f"arn:{partition}:iam::{account}:role/{name}"
        shown = f"--role-name {name!r}"
    who = iam_principal(arn)
    if who is None or who.kind is not PrincipalKind.ROLE or who.account != account:
        raise UsageError(f"{shown} gives {arn!r} for account {account}, not an IAM role ARN in that account")
    return arn


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountResult(Generic[T]):
    account: str
    via: str  # "own credentials" or the role ARN assumed
    value: T | None = None
    error: DeescalateError | None = None

    @property
    def exit_code(self) -> int:
        return EXIT_CLEAN if self.error is None else self.error.exit_code

    def error_line(self) -> str:
        """The failure in one line (the first line of the error; details are printed above it)."""
        text = str(self.error) if self.error is not None else ""
        first = text.splitlines()[0] if text else ""
        more = " (details above)" if "\n" in text else ""
        return f"account {self.account}: FAILED: {first}{more}"


Connect = Callable[[Clients, str], Clients]


def _assume(base: Clients, role_arn: str) -> Clients:
    return assume_role(base, role_arn, session_name="deescalate")


def run_per_account(
    accounts: Sequence[str],
    base: Clients,
    work: Callable[[str, Clients], T],
    *,
    caller: str,
    role_arn: Callable[[str], str],
    connect_as: Connect = _assume,
    refused: Mapping[str, DeescalateError] | None = None,
    started: Callable[[str, str], None] | None = None,
) -> list[AccountResult[T]]:
    """Run `work(account, clients)` for each account in order; one account's failure never stops the rest.

    `caller` is the base credentials' principal (its account is worked on without assuming);
    `refused` are accounts already failed (their plan file was refused), recorded without any call.
    The credentials assumed must land in the account asked for, else that account fails.
    """
    mine = account_of(caller)
    results: list[AccountResult[T]] = []
    for account in accounts:
        if refused and account in refused:
            results.append(AccountResult(account=account, via="", error=refused[account]))
            continue
        via = "own credentials"
        try:
            if account == mine:
                clients = base
            else:
                via = role_arn(account)
                clients = connect_as(base, via)
            if started:
                started(account, via)
            results.append(AccountResult(account=account, via=via, value=work(account, clients)))
        except DeescalateError as e:
            results.append(AccountResult(account=account, via=via, error=e))
    return results


def worst_exit(results: Sequence[AccountResult[T]]) -> int:
    return max((r.exit_code for r in results), default=EXIT_CLEAN)


def require_account(got: str, want: str, via: str) -> None:
    """The credentials obtained for an account must act in that account."""
    if got != want:
        raise ApplyError(f"the credentials from {via} act in account {got}, not {want}; refusing")
