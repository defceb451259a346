"""QIDO-RS through the real app: matching, paging, includefield, scopes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from node.runtime import NodeRuntime, open_node
from node.settings import NodeSettings
from tests.unit.node.api.dicomweb_fixtures import Stored, bearer, client_for, ingest

SAMPLES = ("CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm")  # JPEG2000 is quarantined


@pytest.fixture
def stored(runtime: NodeRuntime) -> dict[str, Stored]:
    found = ingest(runtime, *SAMPLES)
    assert found["JPEG2000.dcm"].quarantined
    assert not found["CT_small.dcm"].quarantined
    return found


@pytest.fixture
def client(runtime: NodeRuntime, stored: dict[str, Stored]) -> TestClient:
    return client_for(runtime)


def _get(client: TestClient, token: str, url: str, params: object = None) -> list[dict[str, Any]]:
    response = client.get(url, params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/dicom+json")
    result: list[dict[str, Any]] = response.json()
    return result


def _values(results: list[dict[str, Any]], tag: str) -> list[Any]:
    return [r[tag]["Value"][0] for r in results if "Value" in r.get(tag, {})]


def test_studies_default_attributes_use_dicom_json_vrs(
    client: TestClient, read_token: str, stored: dict[str, Stored]
) -> None:
    results = _get(
        client, read_token, "/dicom-web/studies", {"StudyInstanceUID": stored["CT_small.dcm"].study}
    )
    assert len(results) == 1
    study = results[0]
    assert study["0020000D"] == {"vr": "UI", "Value": [stored["CT_small.dcm"].study]}
    assert study["00100010"]["vr"] == "PN"
    assert set(study["00100010"]["Value"][0]) == {"Alphabetic"}
    assert study["00201206"] == {"vr": "IS", "Value": [1]}
    assert study["00201208"] == {"vr": "IS", "Value": [1]}
    assert study["00080061"] == {"vr": "CS", "Value": ["CT"]}
    assert study["00080056"]["Value"] == ["ONLINE"]
    assert study["00081190"]["Value"][0].endswith(
        f"/dicom-web/studies/{stored['CT_small.dcm'].study}"
    )
    # De-identification emptied the accession number: an element without "Value".
    assert study["00080050"] == {"vr": "SH"}


def test_quarantined_studies_are_visible_only_to_admins(
    client: TestClient, read_token: str, admin_token: str, stored: dict[str, Stored]
) -> None:
    reader = _values(_get(client, read_token, "/dicom-web/studies"), "0020000D")
    admin = _values(_get(client, admin_token, "/dicom-web/studies"), "0020000D")
    assert stored["JPEG2000.dcm"].study not in reader
    assert stored["JPEG2000.dcm"].study in admin
    assert len(reader) == 2 and len(admin) == 3


@pytest.mark.parametrize("key", ["PatientID", "00100020"])
def test_match_by_keyword_or_tag(
    client: TestClient, read_token: str, runtime: NodeRuntime, stored: dict[str, Stored], key: str
) -> None:
    ct = _get(
        client, read_token, "/dicom-web/studies", {"StudyInstanceUID": stored["CT_small.dcm"].study}
    )
    patient_id = ct[0]["00100020"]["Value"][0]
    results = _get(client, read_token, "/dicom-web/studies", {key: patient_id})
    assert _values(results, "0020000D") == [stored["CT_small.dcm"].study]


@pytest.mark.parametrize("separator", [",", "\\"])
def test_uid_lists(
    client: TestClient, read_token: str, stored: dict[str, Stored], separator: str
) -> None:
    uids = [stored["CT_small.dcm"].study, stored["MR_small.dcm"].study]
    results = _get(
        client, read_token, "/dicom-web/studies", {"StudyInstanceUID": separator.join(uids)}
    )
    assert sorted(_values(results, "0020000D")) == sorted(uids)


def test_wildcards_and_modalities(
    client: TestClient, read_token: str, stored: dict[str, Stored]
) -> None:
    assert len(_get(client, read_token, "/dicom-web/studies", {"PatientName": "hn-*"})) == 2
    assert len(_get(client, read_token, "/dicom-web/studies", {"PatientName": "nobody*"})) == 0
    mr = _get(client, read_token, "/dicom-web/studies", {"ModalitiesInStudy": "MR"})
    assert _values(mr, "0020000D") == [stored["MR_small.dcm"].study]
    both = _get(client, read_token, "/dicom-web/studies", {"ModalitiesInStudy": "MR,CT"})
    assert len(both) == 2


def test_fuzzy_person_name_matches_a_fragment(client: TestClient, read_token: str) -> None:
    name = _get(client, read_token, "/dicom-web/studies")[0]["00100010"]["Value"][0]["Alphabetic"]
    fragment = name[3:9].lower()
    assert _get(client, read_token, "/dicom-web/studies", {"PatientName": fragment}) == []
    fuzzy = _get(
        client, read_token, "/dicom-web/studies", {"PatientName": fragment, "fuzzymatching": "true"}
    )
    assert len(fuzzy) == 1


def test_empty_result_is_200_with_an_empty_array(client: TestClient, read_token: str) -> None:
    assert _get(client, read_token, "/dicom-web/studies", {"PatientID": "no-such-patient"}) == []


def test_limit_and_offset_page_through_results(client: TestClient, read_token: str) -> None:
    everything = _values(_get(client, read_token, "/dicom-web/studies"), "0020000D")
    first = _values(_get(client, read_token, "/dicom-web/studies", {"limit": "1"}), "0020000D")
    second = _values(
        _get(client, read_token, "/dicom-web/studies", {"limit": "1", "offset": "1"}), "0020000D"
    )
    assert first + second == everything
    assert _get(client, read_token, "/dicom-web/studies", {"offset": "5"}) == []


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"limit": "-1"}, "limit"),
        ({"offset": "x"}, "offset"),
        ({"fuzzymatching": "maybe"}, "fuzzymatching"),
        ({"StudyDate": "20201231-20200101"}, "StudyDate"),
        ({"StudyDate": "2020-01-01"}, "StudyDate"),
        ({"includefield": "NoSuchKeyword"}, "NoSuchKeyword"),
        ({"Modality": "CT"}, "Modality"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(
    client: TestClient, read_token: str, params: dict[str, str], named: str
) -> None:
    response = client.get("/dicom-web/studies", params=params, headers=bearer(read_token))
    assert response.status_code == 400
    assert named in response.json()["detail"]


def test_unknown_parameter_lists_the_allowed_keys(client: TestClient, read_token: str) -> None:
    response = client.get(
        "/dicom-web/studies", params={"Colour": "red"}, headers=bearer(read_token)
    )
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "'Colour'" in detail and "PatientID" in detail and "StudyDate" in detail


def test_includefield_reads_unindexed_attributes_from_a_stored_header(
    client: TestClient, read_token: str, stored: dict[str, Stored]
) -> None:
    scope = {"StudyInstanceUID": stored["CT_small.dcm"].study}
    by_keyword = _get(
        client, read_token, "/dicom-web/studies", {**scope, "includefield": "PatientAge"}
    )
    assert "00101010" in by_keyword[0]
    by_tag = _get(
        client,
        read_token,
        "/dicom-web/studies",
        [*scope.items(), ("includefield", "00080070,00101010")],
    )
    assert by_tag[0]["00080070"]["vr"] == "LO"  # Manufacturer, not in the index
    assert "00101010" in by_tag[0]


def test_includefield_all_at_instance_level_returns_the_header(
    client: TestClient, read_token: str, stored: dict[str, Stored]
) -> None:
    ct = stored["CT_small.dcm"]
    url = f"/dicom-web/studies/{ct.study}/series/{ct.series}/instances"
    result = _get(client, read_token, url, {"includefield": "all"})[0]
    assert result["00280030"]["vr"] == "DS"  # Pixel Spacing
    assert "7FE00010" not in result
    assert result["00280010"] == {"vr": "US", "Value": [128]}


def test_series_and_instance_levels(
    client: TestClient, read_token: str, stored: dict[str, Stored]
) -> None:
    mr = stored["MR_small.dcm"]
    series = _get(client, read_token, f"/dicom-web/studies/{mr.study}/series")
    assert _values(series, "0020000E") == [mr.series]
    assert series[0]["00201209"] == {"vr": "IS", "Value": [1]}
    assert "00100020" not in series[0]  # the URL names the study
    all_series = _get(client, read_token, "/dicom-web/series", {"Modality": "MR"})
    assert _values(all_series, "0020000E") == [mr.series]
    assert "00100020" in all_series[0]
    instances = _get(client, read_token, f"/dicom-web/studies/{mr.study}/instances")
    assert _values(instances, "00080018") == [mr.instance]
    assert instances[0]["00083002"]["Value"] == ["1.2.840.10008.1.2.1"]
    everywhere = _get(client, read_token, "/dicom-web/instances", {"SOPInstanceUID": mr.instance})
    assert _values(everywhere, "0020000E") == [mr.series]
    assert _values(everywhere, "00280010") == [64]


def test_quarantined_instances_are_hidden_from_readers(
    client: TestClient, read_token: str, admin_token: str, stored: dict[str, Stored]
) -> None:
    j2k = stored["JPEG2000.dcm"]
    url = f"/dicom-web/studies/{j2k.study}/series/{j2k.series}/instances"
    assert _get(client, read_token, url) == []
    assert _values(_get(client, admin_token, url), "00080018") == [j2k.instance]


def test_token_required_and_scope_checked(client: TestClient, ingest_token: str) -> None:
    missing = client.get("/dicom-web/studies")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert client.get("/dicom-web/studies", headers=bearer(ingest_token)).status_code == 403


def test_date_and_time_ranges(tmp_path: Path) -> None:
    settings = NodeSettings(
        data_dir=tmp_path / "dated", fsync=False, retain_longitudinal_modified_dates=True
    )
    with open_node(settings) as runtime:
        ct = ingest(runtime, "CT_small.dcm")["CT_small.dcm"]
        token = runtime.tokens.issue("r", ["read"]).token  # type: ignore[list-item]
        client = client_for(runtime)
        study = _get(client, token, "/dicom-web/studies")[0]
        date, time = study["00080020"]["Value"][0], study["00080030"]["Value"][0]
        year = int(date[:4])

        def uids(params: dict[str, str]) -> list[Any]:
            return _values(_get(client, token, "/dicom-web/studies", params), "0020000D")

        assert uids({"StudyDate": f"{year}0101-{year}1231"}) == [ct.study]
        assert uids({"StudyDate": f"{year - 1}0101-{year - 1}1231"}) == []
        assert uids({"StudyDate": f"{year}0101-"}) == [ct.study]
        assert uids({"StudyDate": f"-{year - 1}1231"}) == []
        assert uids({"StudyDate": date}) == [ct.study]
        assert uids({"StudyTime": f"{time[:2]}-{time[:2]}"}) == [ct.study]
        assert uids({"StudyDate": date, "StudyTime": f"-{time[:2]}"}) == [ct.study]
