import node.annotate as annotate


def test_exports_are_sorted_and_present() -> None:
    assert annotate.__all__ == sorted(annotate.__all__)
    for name in annotate.__all__:
        assert hasattr(annotate, name), name
