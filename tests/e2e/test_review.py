"""Review in Chromium: a reviewer rejects a reader's part with a reason; the reader sees it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e import ui
from tests.e2e.conftest import ADJUDICATOR, REVIEWED_READER, Shots, Stack

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.slow]

REASON = "The Lung-RADS category ignores the 8 mm nodule on slice 7."


def test_a_rejected_reader_sees_the_reason_and_can_edit_again(
    page: Any, stack: Stack, shots: Shots
) -> None:
    url = stack.node.url
    ui.login(page, url, REVIEWED_READER)
    page.get_by_role("link", name="Open task").first.click()
    ui.wait_for_image(page)
    page.get_by_label("lung-rads (required)").select_option("1")
    page.get_by_role("button", name="Mark task done").click()
    page.get_by_role("heading", name="My worklist").wait_for()
    ui.logout(page)

    ui.login(page, url, ADJUDICATOR)
    page.get_by_role("link", name="Review").click()
    page.get_by_role("heading", name="Review queue").wait_for()
    page.get_by_role("link", name=REVIEWED_READER).first.click()
    ui.wait_for_image(page)
    assert [i["kind"] for i in ui.items(page)] == ["classification"]
    page.get_by_role("radio", name="Reject").check()
    page.get_by_label("Reason (the reader sees it; required to reject)").fill(REASON)
    shots(page, "rejecting")
    page.get_by_role("button", name="Send decision").click()
    page.get_by_role("heading", name="Review queue").wait_for()
    ui.logout(page)

    ui.login(page, url, REVIEWED_READER)
    page.get_by_text(f"Rejected: {REASON}").wait_for()
    shots(page, "worklist-shows-the-reason")
    page.get_by_role("link", name="Open task").first.click()
    ui.wait_for_image(page)
    page.get_by_text(f"A reviewer sent this back: {REASON}").wait_for()
    assert page.get_by_role("button", name="Mark task done").is_enabled()
    page.keyboard.press("k")
    ui.click(page, 128, 128)
    assert ui.save_state(page) == "Unsaved changes"
    shots(page, "reopened-task")
