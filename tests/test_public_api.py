from __future__ import annotations

import inspect

import dedup


def test_all_is_sorted_and_unique() -> None:
    assert list(dedup.__all__) == sorted(set(dedup.__all__))


def test_all_names_every_public_object_and_only_those() -> None:
    public = {
        name
        for name, value in vars(dedup).items()
        if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"
    }
    assert public == set(dedup.__all__)


def test_every_exported_callable_is_documented() -> None:
    for name in dedup.__all__:
        assert inspect.getdoc(getattr(dedup, name)), name
