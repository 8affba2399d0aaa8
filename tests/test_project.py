"""The set-up files agree with each other, so pip, conda and CI install one set."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def _requirement_names(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned with =="
            pins[re.sub(r"[-_.]+", "-", name.lower())] = version
    return pins


def test_environment_yml_delegates_to_requirements():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    assert any(str(d).startswith("python=3.11") for d in deps if isinstance(d, str))
    pip_section = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert "-r requirements.txt" in pip_section
    assert "-e ." in pip_section
    # Nothing else: a package listed only in environment.yml would split the two routes.
    assert sorted(pip_section) == sorted(["-r requirements.txt", "-e ."])
    conda_pkgs = [d.split("=")[0] for d in deps if isinstance(d, str)]
    assert conda_pkgs == ["python", "pip"]


def test_makefile_installs_the_torch_pins_of_requirements():
    pins = _requirement_names(ROOT / "requirements.txt")
    makefile = (ROOT / "Makefile").read_text()
    for pkg in ("torch", "torchvision"):
        assert f"{pkg}=={pins[pkg]}" in makefile


def test_ci_calls_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()
    assert "make demo" in (ROOT / "README.md").read_text()


def test_installed_versions_match_pins():
    from importlib.metadata import PackageNotFoundError, version

    pins = _requirement_names(ROOT / "requirements.txt")
    for name, pinned in pins.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            raise AssertionError(
                f"{name} is pinned in requirements.txt but not installed"
            ) from None
        assert installed.split("+")[0] == pinned, f"{name}: installed {installed}, pinned {pinned}"


def test_pyproject_declares_every_pin_with_a_range_the_pin_satisfies():
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        declared += extra
    pins = _requirement_names(ROOT / "requirements.txt")
    ranges = {}
    for text in declared:
        req = Requirement(text)
        ranges[re.sub(r"[-_.]+", "-", req.name.lower())] = req.specifier
    assert sorted(ranges) == sorted(pins), "pyproject.toml and requirements.txt list other packages"
    for name, spec in ranges.items():
        assert spec.contains(pins[name]), f"{name}: pin {pins[name]} outside {spec}"
