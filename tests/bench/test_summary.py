"""The score table names the split it scored on, private or not."""

from __future__ import annotations

from vaar.bench.summary import short_identity


def test_short_identity_keeps_the_scheme_of_a_private_split() -> None:
    digest = "0123456789abcdef" * 4
    assert short_identity(digest) == "0123456789ab"
    assert short_identity(f"hmac-sha256:{digest}") == "hmac-sha256:0123456789ab"  # was "hmac-sha256:"
