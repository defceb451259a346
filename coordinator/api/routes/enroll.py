"""``POST /api/v1/enroll``: a node's one-time token and CSR become its certificate."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from coordinator.api.deps import Runtime
from coordinator.consortium import EnrollmentRequest

router = APIRouter(prefix="/api/v1", tags=["enrollment"])


class EnrollmentBody(BaseModel):
    """What a node sends to enroll: public material only."""

    token: str = Field(max_length=256)
    site: str = Field(max_length=63)
    csr_pem: str = Field(max_length=8192)
    supernode_public_key_pem: str = Field(max_length=8192)
    software_version: str | None = Field(default=None, max_length=64)


class EnrollmentResponse(BaseModel):
    """The node's certificate and what it must pin."""

    site: str
    certificate_pem: str
    ca_bundle_pem: str
    guideline_signing_public_key_pem: str
    fleet_address: str
    coordinator_url: str
    serial: str
    not_after: str


@router.post("/enroll")
def enroll(body: EnrollmentBody, runtime: Runtime) -> EnrollmentResponse:
    """Enroll a node (no admin token: the enrollment token is the credential)."""
    result = runtime.enrollment.enroll(
        EnrollmentRequest(body.token, body.site, body.csr_pem, body.supernode_public_key_pem)
    )
    runtime.site_activity.enrolled(result.site, body.software_version)
    return EnrollmentResponse(**result.to_json())
