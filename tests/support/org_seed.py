"""An AWS Organization on the moto server, seeded through boto3, for `collect --organization`.

The management account is moto's default (123456789012). Accounts and OUs:

    root  (SCPs: FullAWSAccess, NoLeave; RCPs: RCPFullAWSAccess)
    ├── Prod       (SCP DenyRegions)                 prod-web
    │   └── Payments (SCP DenyIamUsers)              payments
    ├── Dev        (SCP DenyOrgs, RCP DenyExternal)  dev-a (SCP DenyKms on the account), dev-locked
    └── (root)                                       closed (CloseAccount: SUSPENDED)

IAM in each member is seeded through the OrganizationAccountAccessRole moto's CreateAccount makes
(moto maps an assumed role's temporary access key to the account in the role's ARN). moto lets
anyone assume any role, so "dev-locked"'s role is made unassumable by `DenyingProxy`: an HTTP
proxy in front of moto that answers sts:AssumeRole of the listed role ARNs with the error AWS
sends when a role's trust policy does not allow the caller (HTTP 403, AccessDenied), and passes
every other request through unchanged.
"""

from __future__ import annotations

import http.client
import json
import threading
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3

MGMT = "123456789012"
ROLE = "OrganizationAccountAccessRole"


def _doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


SCPS = {
    "NoLeave": ("root", _doc({"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"})),
    "DenyRegions": ("Prod", _doc({
        "Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}},
    })),
    "DenyIamUsers": ("Payments", _doc({"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"})),
    "DenyOrgs": ("Dev", _doc({"Effect": "Deny", "Action": "organizations:*", "Resource": "*"})),
    "DenyKms": ("dev-a", _doc({"Effect": "Deny", "Action": "kms:ScheduleKeyDeletion", "Resource": "*"})),
}
RCPS = {
    "DenyExternal": ("Dev", _doc({
        "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
        "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-placeholder0"}},
    })),
}


@dataclass
class SeededOrg:
    org_id: str
    root: str
    ous: dict[str, str]  # name -> id
    accounts: dict[str, str]  # name -> id (the management account is "management")
    ou_paths: dict[str, list[str]]  # account id -> [root, OU ids ...]
    policies: dict[str, str] = field(default_factory=dict)  # policy name -> id
    attached: dict[str, list[str]] = field(default_factory=dict)  # target id -> policy names
    users: dict[str, list[str]] = field(default_factory=dict)  # account id -> user names seeded


def seed_org(url: str) -> SeededOrg:
    def c(service: str, **creds: str) -> Any:
        return boto3.client(service, endpoint_url=url, region_name="us-east-1", **creds)

    org = c("organizations")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root = org.list_roots()["Roots"][0]["Id"]
    for ptype in ("SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"):
        org.enable_policy_type(RootId=root, PolicyType=ptype)
    ous: dict[str, str] = {}
    ous["Prod"] = org.create_organizational_unit(ParentId=root, Name="Prod")["OrganizationalUnit"]["Id"]
    ous["Payments"] = org.create_organizational_unit(ParentId=ous["Prod"], Name="Payments")[
        "OrganizationalUnit"
    ]["Id"]
    ous["Dev"] = org.create_organizational_unit(ParentId=root, Name="Dev")["OrganizationalUnit"]["Id"]
    where = {"prod-web": "Prod", "payments": "Payments", "dev-a": "Dev", "dev-locked": "Dev", "closed": None}
    accounts = {"management": MGMT}
    ou_paths = {MGMT: [root]}
    for name, ou in where.items():
        status = org.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        aid = status["AccountId"]
        accounts[name] = aid
        if ou is not None:
            org.move_account(AccountId=aid, SourceParentId=root, DestinationParentId=ous[ou])
        ou_paths[aid] = [root] + ([ous["Prod"]] if ou == "Payments" else []) + ([ous[ou]] if ou else [])
    org.close_account(AccountId=accounts["closed"])

    seeded = SeededOrg(org_id=org_id, root=root, ous=ous, accounts=accounts, ou_paths=ou_paths)
    targets = {"root": root, **ous, **accounts}
    for kind, table in (("SERVICE_CONTROL_POLICY", SCPS), ("RESOURCE_CONTROL_POLICY", RCPS)):
        for pname, (target, content) in table.items():
            pid = org.create_policy(Name=pname, Description=pname, Type=kind, Content=content)["Policy"][
                "PolicySummary"
            ]["Id"]
            org.attach_policy(PolicyId=pid, TargetId=targets[target])
            seeded.policies[pname] = pid

    # IAM in each member, through the role CreateAccount made there (and the management account's own).
    sts = c("sts")
    for name, aid in accounts.items():
        if name == "closed":
            continue
        if aid == MGMT:
            iam = c("iam")
        else:
            creds = sts.assume_role(RoleArn=f"arn:aws:iam::{aid}:role/{ROLE}", RoleSessionName="seed")[
                "Credentials"
            ]
            iam = c("iam", aws_access_key_id=creds["AccessKeyId"],
                    aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
        user = f"ci-{name}"
        iam.create_user(UserName=user)
        iam.put_user_policy(UserName=user, PolicyName="deploy", PolicyDocument=_doc(
            {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": f"arn:aws:iam::{MGMT}:role/admin"}
        ))
        seeded.users[aid] = [user]
    return seeded


class DenyingProxy:
    """A proxy to `upstream` answering sts:AssumeRole of `denied` role ARNs as AWS refuses one."""

    def __init__(self, upstream: str, denied: set[str]) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self.host, self.port = parsed.hostname or "127.0.0.1", parsed.port or 80
        self.denied = denied
        self.refused: list[str] = []
        # (IAM prefix, operation) of every JSON- or query-protocol request that went through
        # (Organizations, STS, IAM, EC2...): read from X-Amz-Target or the form's Action.
        self.operations: set[tuple[str, str]] = set()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
                role = (form.get("RoleArn") or [""])[0]
                scope = (self.headers.get("Authorization") or "").split("Credential=")[-1].split("/")
                service = scope[3] if len(scope) > 3 else "?"
                target = self.headers.get("X-Amz-Target")
                if target:
                    proxy.operations.add((service, target.rsplit(".", 1)[-1]))
                elif form.get("Action"):
                    proxy.operations.add((service, form["Action"][0]))
                if form.get("Action") == ["AssumeRole"] and role in proxy.denied:
                    proxy.refused.append(role)
                    error = (
                        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
                        "<Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::"
                        f"{MGMT}:user/collector is not authorized to perform: sts:AssumeRole on resource: "
                        f"{role}</Message></Error><RequestId>0</RequestId></ErrorResponse>"
                    ).encode()
                    self.send_response(403)
                    self.send_header("Content-Type", "text/xml")
                    self.send_header("Content-Length", str(len(error)))
                    self.end_headers()
                    self.wfile.write(error)
                    return
                conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> DenyingProxy:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
