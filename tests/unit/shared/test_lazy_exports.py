import pytest

from shared.lazy_exports import lazy_exports


def test_an_export_is_imported_on_first_use_and_kept() -> None:
    namespace: dict[str, object] = {}
    load = lazy_exports("pkg", {"dumps": "json"}, namespace)
    import json

    assert load("dumps") is json.dumps and namespace["dumps"] is json.dumps


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="module 'pkg' has no attribute 'nope'"):
        lazy_exports("pkg", {}, {})("nope")
