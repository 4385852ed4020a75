"""Road-network commands: `python scripts/roads.py import FILE.osm.pbf [--name NAME]
[--if-empty]`.

Connects as the schema owner (DATABASE_URL). Prints the new version on success; on a bad
file prints why and exits 2, leaving the active network serving.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

sys.path.insert(0, os.getcwd())
from core.settings import get_settings
from services.roads.imports import OsmImportError, active_network, import_network


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="roads", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    load = commands.add_parser("import", help="import an OpenStreetMap extract as a new version")
    load.add_argument("file", type=Path)
    load.add_argument("--name", help="a label for the network (default: the file's name)")
    load.add_argument(
        "--if-empty", action="store_true", help="do nothing when a network is already active"
    )
    args = parser.parse_args(argv)
    dsn = get_settings().owner_dsn
    if args.if_empty and asyncio.run(active_network(dsn)):
        print("a road network is already active: nothing imported")
        return 0
    try:
        done = asyncio.run(import_network(dsn, args.file, name=args.name))
    except OsmImportError as exc:
        print(f"import failed: {exc}; the current network is unchanged", file=sys.stderr)
        return 2
    print(f"road network version {done.version} active: {done.edges} edges, {done.nodes} nodes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
