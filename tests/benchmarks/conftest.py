"""The scripts of ``benchmarks/`` are not a package: tests load them by path."""

from __future__ import annotations

import importlib.util
import sys

import pytest


@pytest.fixture(scope="session")
def load_benchmark(repo_root):
    """``load_benchmark("train_step")`` -> the module ``benchmarks/train_step.py``."""

    def load(relpath: str):
        path = repo_root / "benchmarks" / f"{relpath}.py"
        name = "benchmarks_" + relpath.replace("/", "_")
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        return sys.modules[name]

    return load
