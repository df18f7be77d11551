"""policy/parse.py: the document's spellings become one shape; documents AWS rejects are refused."""

from __future__ import annotations

import json
import urllib.parse

import pytest

from deescalate.errors import PolicyError
from deescalate.model import Effect, PolicyKind, PolicyRef
from deescalate.policy.parse import parse_policy

REF = PolicyRef(kind=PolicyKind.INLINE, name="p1", attached_to="arn:aws:iam::111111111111:user/alice")


def test_string_or_list_and_single_statement_object() -> None:
    pol = parse_policy(
        {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}},
        REF,
    )
    (st,) = pol.statements
    assert st.effect is Effect.ALLOW
    assert st.actions == ("s3:GetObject",)
    assert st.resources == ("*",)
    assert st.not_actions is None


def test_url_encoded_document_is_decoded() -> None:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "NotAction": ["iam:*"], "Resource": "*"}]}
    pol = parse_policy(urllib.parse.quote(json.dumps(doc)), REF)
    assert pol.statements[0].not_actions == ("iam:*",)
    assert pol.statements[0].effect is Effect.DENY


def test_principal_forms_and_conditions() -> None:
    pol = parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Trust",
                    "Effect": "Allow",
                    "Principal": {"AWS": ["arn:aws:iam::1:root", "arn:aws:iam::2:user/x"], "Service": "ec2.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"Bool": {"aws:MultiFactorAuthPresent": True}, "NumericLessThan": {"k": 5}},
                },
                {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
            ],
        },
        REF,
    )
    first, second = pol.statements
    assert first.sid == "Trust"
    assert first.principal is not None
    assert ("Service", "ec2.amazonaws.com") in first.principal.entries
    assert len(first.principal.entries) == 3
    assert [(c.operator, c.key, c.values) for c in first.conditions] == [
        ("Bool", "aws:MultiFactorAuthPresent", ("true",)),
        ("NumericLessThan", "k", ("5",)),
    ]
    assert second.principal is not None and second.principal.entries == (("*", "*"),)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"Version": "2012-10-17", "Statement": [{"Action": "s3:*", "Resource": "*"}]}, "Effect must be"),
        (
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "a:b", "NotAction": "c:d", "Resource": "*"}]},
            "Action and NotAction cannot appear together",
        ),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*"}]}, "needs Action or NotAction"),
        ({"Version": "2012-10-17", "Statement": [], "Extra": 1}, "unknown top-level key"),
        ({"Version": "2019-01-01", "Statement": []}, "Version '2019-01-01'"),
        ({"Version": "2012-10-17"}, "no Statement"),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": 5, "Resource": "*"}]}, "Action must be"),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "a:b", "Bogus": 1}]}, "unknown key"),
        ("{not json", "not valid JSON"),
        ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "a:b", "Principal": {"Bad": "x"}}]},
         "unknown Principal type"),
    ],
)
def test_documents_aws_would_reject(doc: object, message: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(doc, REF)
    text = str(info.value)
    assert message in text
    assert "p1" in text and "user/alice" in text  # names the policy and where it sits
