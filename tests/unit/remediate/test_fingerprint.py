"""fingerprint: document digests that ignore formatting, and state lines that name what changed."""

from __future__ import annotations

import json

from deescalate.remediate.fingerprint import document_digest, state_diff, state_lines


def test_digest_ignores_key_order_and_spacing_and_diff_names_changes() -> None:
    a = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    b = json.loads(json.dumps(a, indent=3, sort_keys=True))
    assert document_digest(a) == document_digest(json.dumps(b))
    old = state_lines(inline={"p": a, "deescalate-deny": a}, managed=["arn:x:policy/m"], boundary=None)
    assert not any("deescalate" in line for line in old)  # our own policies do not count
    new = state_lines(inline={"p": a}, managed=[], boundary="arn:x:policy/b")
    assert state_diff(old, new) == ("- managed arn:x:policy/m", "+ boundary arn:x:policy/b")
