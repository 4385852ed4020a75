"""The README's role matrix is the one in code."""

from __future__ import annotations

from pathlib import Path

from scripts.role_matrix import markdown


def test_readme_role_matrix_matches_code() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    documented = readme.split("<!-- role-matrix:start -->")[1].split("<!-- role-matrix:end -->")[0]
    assert documented.strip() == markdown().strip(), "run scripts/role_matrix.py into the README"
