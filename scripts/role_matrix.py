"""Print the role matrix of models/permissions.py as the Markdown table in the README."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.getcwd())

from models.enums import UserRole
from models.permissions import ROLE_MATRIX


def markdown() -> str:
    roles = list(UserRole)
    lines = [
        "| operation | " + " | ".join(r.value for r in roles) + " |",
        "| --- |" + " :-: |" * len(roles),
    ]
    for operation, allowed in ROLE_MATRIX.items():
        marks = " | ".join("✓" if role in allowed else "·" for role in roles)
        lines.append(f"| `{operation.value}` | {marks} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
