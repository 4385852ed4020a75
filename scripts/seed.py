"""Seed the demo workspace and print its admin login (`make seed`, part of `make run`)."""

from __future__ import annotations

import asyncio
import os
import sys

sys.path.insert(0, os.getcwd())

from core.runtime import Runtime
from core.settings import get_settings
from services.demo import seed_demo

DEFAULT_EMAIL = "admin@demo.omniroute.dev"
DEFAULT_PASSWORD = "omniroute-demo-2026"


async def main() -> None:
    settings = get_settings()
    if not settings.is_development and os.environ.get("SEED_DEMO") != "1":
        print("[seed] not development: skipping the demo workspace (SEED_DEMO=1 forces it)")
        return
    runtime = Runtime.start(settings)
    try:
        async with runtime.db.session(None) as session:
            login = await seed_demo(
                session=session,
                admin_email=os.environ.get("DEMO_ADMIN_EMAIL", DEFAULT_EMAIL),
                admin_password=os.environ.get("DEMO_ADMIN_PASSWORD", DEFAULT_PASSWORD),
            )
    finally:
        await runtime.close()
    state = "created" if login.created else "already there"
    print(f"[seed] demo workspace {login.workspace_id} ({state})")
    print(f"[seed] admin login: {login.email} / {login.password}")


if __name__ == "__main__":
    asyncio.run(main())
