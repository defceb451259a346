"""The ``enrollment_request`` kind may carry the one-time token, and nothing else new."""

from __future__ import annotations

import pytest

from node.egress import KindRules, validate_payload
from node.errors import EgressRefusedError
from shared.crypto import build_csr, csr_pem, generate_private_key, public_key_pem


def _request() -> dict[str, str]:
    return {
        "site": "hospital-a",
        "csr_pem": csr_pem(build_csr(generate_private_key("ec-p256"), "hospital-a")).decode(),
        "supernode_public_key_pem": public_key_pem(generate_private_key("ec-p256")).decode(),
    }


def test_the_token_is_allowed_in_its_own_shape() -> None:
    validate_payload(
        "enrollment_request", {**_request(), "token": "hce.hospital-a." + "a" * 43}, KindRules()
    )
    for bad in ("free text", "hce.hospital-a.short", "hce.Hospital.xxx"):
        with pytest.raises(EgressRefusedError) as refused:
            validate_payload("enrollment_request", {**_request(), "token": bad}, KindRules())
        assert refused.value.field == "$.token"
