from __future__ import annotations

import inspect
import subprocess
import sys

import dedup


def test_all_is_sorted_and_unique() -> None:
    assert list(dedup.__all__) == sorted(set(dedup.__all__))


def test_all_names_every_public_object_and_only_those() -> None:
    public = {
        name for name in dir(dedup) if not name.startswith("_") and not inspect.ismodule(getattr(dedup, name))
    }
    public.discard("annotations")
    assert public == set(dedup.__all__)
    assert len(dedup.__all__) <= 20  # the user-level surface; kernels live in their modules


def test_every_exported_callable_is_documented() -> None:
    for name in dedup.__all__:
        assert inspect.getdoc(getattr(dedup, name)), name


def test_the_package_and_the_cli_load_nothing_heavy_until_a_run() -> None:
    code = (
        "import sys, dedup, dedup.cli; dedup.Config(); dedup.load_config; "
        "print(sorted(m for m in ('numpy', 'pyarrow', 'scipy', 'selectolax', 'dedup.kernels') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_version() -> None:
    from importlib.metadata import version

    assert isinstance(dedup.__version__, str) and dedup.__version__
    assert dedup.__version__ == version("dedup")  # the installed metadata reads it from the source
    code = "import sys, dedup, dedup.cli; dedup.__version__; print('importlib.metadata' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"  # the version is a constant, not looked up in the metadata
