"""The test FHIR server (`tests/fhir_server.py`) as its own process, so its CPU is not the load generator's.

Run: `python -m tests.perf.fhir_stub --port 8093 --resources resources.json`; modes as in FakeFhir
(`/delay-20/fhir/...` answers after 20 ms).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import orjson
import uvicorn

from tests.fhir_server import FakeFhir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--resources", type=Path, required=True)
    args = parser.parse_args()
    fake = FakeFhir(record=False)
    fake.load(orjson.loads(args.resources.read_bytes()))
    fake.base = f"http://127.0.0.1:{args.port}"
    uvicorn.run(fake.app(), host="127.0.0.1", port=args.port, log_config=None, access_log=False)


if __name__ == "__main__":
    main()
