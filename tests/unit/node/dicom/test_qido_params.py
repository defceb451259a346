"""QIDO-RS parameter parsing, without HTTP."""

from __future__ import annotations

import pytest

from node.dicom.qido import MAX_LIMIT, QidoQuery, parse_qido
from node.errors import QueryError
from node.store.criteria import Level, Match, MatchKind


def _parse(*params: tuple[str, str], level: Level = Level.STUDY) -> QidoQuery:
    return parse_qido(level, params, include_quarantined=False)


def _matches(*params: tuple[str, str], level: Level = Level.STUDY) -> tuple[Match, ...]:
    return _parse(*params, level=level).request.matches


def test_keyword_and_tag_name_the_same_key() -> None:
    expected = (Match("PatientID", MatchKind.SINGLE_VALUE, ("p1",)),)
    assert _matches(("PatientID", "p1")) == expected
    assert _matches(("00100020", "p1")) == expected


@pytest.mark.parametrize(
    ("value", "kind", "values"),
    [
        ("20200101-20201231", MatchKind.RANGE, ("20200101", "20201231")),
        ("20200101-", MatchKind.RANGE, ("20200101", "")),
        ("-20201231", MatchKind.RANGE, ("", "20201231")),
        ("20200101", MatchKind.SINGLE_VALUE, ("20200101",)),
    ],
)
def test_date_ranges(value: str, kind: MatchKind, values: tuple[str, ...]) -> None:
    assert _matches(("StudyDate", value)) == (Match("StudyDate", kind, values),)


def test_partial_time_range_ends_cover_the_whole_unit() -> None:
    (match,) = _matches(("StudyTime", "0930-12"))
    assert match.values == ("0930", "125959.999999")


@pytest.mark.parametrize("value", ["2020-01-01", "20201301x", "20201231-20200101", "-", "1"])
def test_bad_dates_are_query_errors(value: str) -> None:
    with pytest.raises(QueryError) as caught:
        _parse(("StudyDate", value))
    assert caught.value.parameter == "StudyDate"


def test_uid_lists_split_on_comma_or_backslash() -> None:
    for separator in (",", "\\"):
        (match,) = _matches(("StudyInstanceUID", f"1.2{separator}1.3"))
        assert match == Match("StudyInstanceUID", MatchKind.UID_LIST, ("1.2", "1.3"))


def test_wildcards_and_fuzzy_names() -> None:
    assert _matches(("PatientName", "Doe*")) == (
        Match("PatientName", MatchKind.WILDCARD, ("Doe*",)),
    )
    assert _matches(("PatientName", "doe"), ("fuzzymatching", "true")) == (
        Match("PatientName", MatchKind.WILDCARD, ("*doe*",)),
    )
    assert _parse(("fuzzymatching", "false")).request.fuzzy_matching is False


def test_paging_defaults_caps_and_errors() -> None:
    assert _parse().request.limit == MAX_LIMIT
    assert _parse(("limit", "5"), ("offset", "10")).request.limit == 5
    assert _parse(("limit", str(MAX_LIMIT * 10))).request.limit == MAX_LIMIT
    assert _parse(("offset", "10")).request.offset == 10
    for bad in (("limit", "-1"), ("limit", "x"), ("offset", "1.5")):
        with pytest.raises(QueryError, match=bad[0]):
            _parse(bad)


def test_includefield_forms() -> None:
    query = _parse(
        ("includefield", "StudyDescription,00080070"),
        ("includefield", "00081030"),
        ("PatientAge", ""),
        level=Level.STUDY,
    )
    assert [f"{t:08X}" for t in query.include_fields] == ["00081030", "00080070", "00101010"]
    assert _parse(("includefield", "all")).include_all


def test_unknown_keys_name_the_allowed_ones() -> None:
    with pytest.raises(QueryError) as caught:
        _parse(("SOPInstanceUID", "1.2"), level=Level.SERIES)
    assert caught.value.parameter == "SOPInstanceUID"
    assert "SeriesInstanceUID" in str(caught.value)
    assert _matches(("SOPInstanceUID", "1.2"), level=Level.INSTANCE)


def test_scope_from_the_url_is_a_match() -> None:
    query = parse_qido(
        Level.SERIES, [], include_quarantined=True, scope={"StudyInstanceUID": "1.2"}
    )
    assert query.request.matches == (Match("StudyInstanceUID", MatchKind.SINGLE_VALUE, ("1.2",)),)
    assert query.request.include_quarantined
