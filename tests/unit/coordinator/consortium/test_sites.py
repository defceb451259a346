from datetime import timedelta

import pytest

from coordinator.consortium import SiteStatus, token_site
from coordinator.errors import NotFoundError, SiteExistsError
from coordinator.runtime import CoordinatorRuntime
from shared.errors import InvalidInputError


def test_add_issues_a_one_time_token_naming_the_site(coordinator: CoordinatorRuntime) -> None:
    issued = coordinator.sites.add("hospital-a", created_by="test")
    assert token_site(issued.token) == "hospital-a"
    site = coordinator.sites.get("hospital-a")
    assert site.status is SiteStatus.PENDING
    assert site.to_json()["status"] == "pending"
    assert [s.name for s in coordinator.sites.list()] == ["hospital-a"]


def test_token_lifetime_defaults_to_the_setting(coordinator: CoordinatorRuntime) -> None:
    issued = coordinator.sites.add("hospital-a", created_by="test")
    short = coordinator.sites.add("hospital-a", created_by="test", expires_in=timedelta(hours=1))
    assert issued.expires_at - short.expires_at > timedelta(hours=22)


@pytest.mark.parametrize("name", ["Hospital A", "-a", "a_b", ""])
def test_site_names_are_dns_labels(coordinator: CoordinatorRuntime, name: str) -> None:
    with pytest.raises(InvalidInputError, match="site name"):
        coordinator.sites.add(name, created_by="test")


def test_a_revoked_site_cannot_be_reinvited(coordinator: CoordinatorRuntime) -> None:
    coordinator.sites.add("hospital-a", created_by="test")
    revoked = coordinator.sites.revoke("hospital-a")
    assert revoked.status is SiteStatus.REVOKED
    with pytest.raises(SiteExistsError, match="new site name"):
        coordinator.sites.add("hospital-a", created_by="test")


def test_unknown_site(coordinator: CoordinatorRuntime) -> None:
    with pytest.raises(NotFoundError, match="site list"):
        coordinator.sites.revoke("nowhere")
    with pytest.raises(NotFoundError):
        coordinator.sites.get("nowhere")
    assert coordinator.sites.certificate_site(12345) is None
