"""Command line: `baclofen-cds` (also `python -m cds_service`).

  serve     run the service (uvicorn)
  check     evaluate one CDS Hooks request file offline and print the response JSON
  migrate   upgrade the database schema (Alembic)
  purge     delete audit and feedback rows older than the retention
  fixtures  list or show the FHIR scenarios of fhir_fixtures/
  terminology import-bdpm DIR | lookup CODE   French drug codes (BDPM index, formulary)
  profiles  list the rule profiles, or `profiles diff A B`: what changes between two
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
from datetime import date
from pathlib import Path
from typing import Any

from cds_service import __version__
from cds_service.settings import SANDBOX_PROFILE, get_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from cds_service.clinical.profile import ProfileError, load_profile, missing_profile_message
    from cds_service.observability.logging import configure, log, logging_config
    from cds_service.storage.database import migrate

    settings = get_settings()
    configure(settings.log_level, settings.log_format)
    if settings.profile_name is None:
        print(f"baclofen-cds: {missing_profile_message()}", file=sys.stderr)
        return 3
    try:
        profile = load_profile(settings.profile_name)
    except ProfileError as exc:
        print(f"baclofen-cds: invalid rule profile: {exc}", file=sys.stderr)
        return 3
    problem = _terminology_problem(settings)
    if problem is not None:
        print(f"baclofen-cds: invalid terminology: {problem}", file=sys.stderr)
        return 3
    log(logging.getLogger("cds_service.cli"), logging.WARNING if not settings.profile else logging.INFO,
        "rule profile" + ("" if settings.profile else ": sandbox default (CDS_PROFILE not set)"),
        profile=profile.id, title=profile.meta.label("en"))
    if settings.auto_migrate:
        try:
            migrate(settings.database_url)
        except Exception as exc:
            print(f"baclofen-cds: database migration failed: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 3
    problem = asyncio.run(_database_problem(settings.database_url))
    if problem is not None:
        print(f"baclofen-cds: database not ready: {problem}", file=sys.stderr)
        return 3
    workers = args.workers or settings.workers
    if workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="cds-metrics-")
    _clear_stale_metrics(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    # uvicorn re-raises SIGTERM/SIGINT after a graceful shutdown; exit 0 then, not "killed".
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_cleanly)
    uvicorn.run(
        "cds_service.app:app",
        host=args.host,
        port=args.port,
        workers=workers,
        # applied again by each worker process as it starts: every worker logs like one process
        log_config=logging_config(settings.log_level, settings.log_format),
        access_log=False,
        timeout_graceful_shutdown=int(settings.request_timeout_seconds) + 5,
        proxy_headers=True,
        server_header=False,
        # h11, not httptools: httptools buffers an unfinished header without limit (10 clients
        # sending 40 MB headers took two workers past the pod's memory limit before any
        # authentication). h11 refuses a request line + headers over the limit with 400 and
        # closes the connection; see docs/performance.md for what it costs.
        http="h11",
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )
    return 0


def _clear_stale_metrics(directory: str | None) -> None:
    """Files of dead workers would be summed into /metrics forever (e.g. a reused emptyDir)."""
    if not directory:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink(missing_ok=True)


async def _database_problem(url: str) -> str | None:
    """Start-up check: the database answers and is at the head revision (else why not)."""
    from cds_service.storage.database import DatabaseNotReady, check_ready, create_engine

    engine = create_engine(url)
    try:
        await check_ready(engine, url)
    except DatabaseNotReady as exc:
        return str(exc)
    finally:
        await engine.dispose()
    return None


def _terminology_problem(settings: Any) -> str | None:
    """Load (and install) the BDPM index and formulary; why they cannot be read, if so."""
    from cds_service.app import install_configured
    from cds_service.terminology.bdpm import BdpmError
    from cds_service.terminology.formulary import FormularyError

    try:
        install_configured(settings)
    except (OSError, ValueError, BdpmError, FormularyError) as exc:
        return str(exc)
    return None


def _exit_cleanly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _error(message: str) -> int:
    print(f"baclofen-cds: {message}", file=sys.stderr)
    return 2


def _check(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from cds_service.clinical.profile import load_profile
    from cds_service.fhir.client import new_http_client
    from cds_service.fhir.parsing import InvalidFhir
    from cds_service.fhir.prefetch import PatientUnavailable
    from cds_service.pipeline import Limits, TooManyResources, evaluate_hook, in_scope
    from cds_service.protocol.errors import from_validation
    from cds_service.protocol.models import HookRequest

    settings = get_settings()
    try:
        payload = json.loads(Path(args.request).read_text(encoding="utf-8"))
    except OSError as exc:
        return _error(f"cannot read {args.request}: {exc.strerror}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return _error(f"{args.request}: not valid JSON ({exc})")
    try:
        request = HookRequest.model_validate(payload)
    except ValidationError as exc:
        return _error(f"{args.request}: {from_validation(exc).message}")
    if request.hook not in ("order-sign", "order-select"):
        return _error(f"{args.request}: unsupported hook {request.hook!r}")
    offline = request.model_copy(update={"fhirServer": None, "fhirAuthorization": None})
    problem = _terminology_problem(settings)
    if problem is not None:
        return _error(f"invalid terminology: {problem}")

    limits = Limits(settings.max_draft_orders, settings.max_prefetch_entries)

    async def run() -> dict[str, Any]:
        if not in_scope(offline, limits):
            return {"cards": []}
        async with new_http_client() as http:
            outcome = await evaluate_hook(
                offline,
                hook="order-sign" if request.hook == "order-sign" else "order-select",
                profile=load_profile(args.profile or settings.profile or SANDBOX_PROFILE),
                http=http,
                lang=args.lang,
                today=date.today(),
                base_url=settings.public_url,
                deadline_seconds=settings.fhir_timeout_seconds,
                max_pages=settings.fhir_max_pages,
                limits=limits,
                page_size=settings.fhir_page_size,
            )
            return outcome.response()

    try:
        response = asyncio.run(run())
    except InvalidFhir as exc:
        return _error(f"{args.request}: invalid FHIR: {exc}")
    except TooManyResources as exc:
        return _error(f"{args.request}: too many resources: {exc}")
    except PatientUnavailable:
        return _error(f"{args.request}: prefetch.patient is missing (the service would answer 412)")
    json.dump(response, sys.stdout, ensure_ascii=False, indent=2)
    sys.stdout.write("\n")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from cds_service.storage.database import migrate

    settings = get_settings()
    migrate(settings.database_url)
    print("database migrated to the latest schema")
    return 0


def _purge(args: argparse.Namespace) -> int:
    from cds_service.storage.database import create_engine
    from cds_service.storage.repository import Repository

    settings = get_settings()
    days = args.days if args.days is not None else settings.retention_days

    async def run() -> dict[str, int]:
        engine = create_engine(settings.database_url)
        try:
            return await Repository(engine).purge(days)
        finally:
            await engine.dispose()

    counts = asyncio.run(run())
    print(json.dumps({"retention_days": days, "deleted": counts}))
    return 0


def _fixtures(args: argparse.Namespace) -> int:
    from cds_service import fixtures

    directory = fixtures.fixtures_dir(get_settings().fixtures_dir)
    if directory is None:
        return _error("no fhir_fixtures directory found (set CDS_FIXTURES_DIR)")
    if args.action == "list":
        for scenario in fixtures.list_scenarios(directory):
            print(f"{scenario.name:45} {scenario.service:20} {scenario.title}")
        return 0
    if not args.name:
        return _error("fixtures show needs a scenario NAME")
    try:
        scenario = fixtures.load_scenario(directory, args.name)
    except fixtures.UnknownScenario:
        return _error(f"unknown scenario {args.name!r} (see `baclofen-cds fixtures list`)")
    print(json.dumps({"name": scenario.name, "expected": scenario.expected, "request": scenario.request},
                     ensure_ascii=False, indent=2))
    return 0


def _terminology(args: argparse.Namespace) -> int:
    from cds_service.terminology import load_configured
    from cds_service.terminology.bdpm import BdpmError, import_bdpm

    settings = get_settings()
    if args.action == "import-bdpm":
        try:
            counts = import_bdpm(Path(args.argument), Path(settings.terminology_dir))
        except (OSError, BdpmError) as exc:
            return _error(f"import-bdpm: {exc}")
        print(json.dumps({"index": str(Path(settings.terminology_dir) / "bdpm-index.json"), **counts}))
        return 0
    try:
        terminology = load_configured(settings.terminology_dir, settings.formulary, settings.drug_code_systems)
    except (OSError, ValueError) as exc:
        return _error(f"invalid terminology: {exc}")
    system, _, code = args.argument.rpartition("|")
    if not system and len(code) == 7 and code.isdigit():
        system = "urn:oid:1.2.250.1.213.2.3.2"  # a bare 7-digit code: read as a CIP7
    found = terminology.identify(system, code)
    if found is None:
        read = terminology.recognised(system, code)
        kind = f" (a {read.kind.upper()} code by its {read.via}, not in the index)" if read else ""
        return _error(f"{args.argument}: unknown code{kind}")
    print(json.dumps({"code": code, "kind": found.kind, "recognised_by": found.via,
                      "source": found.entry.source, **found.entry.to_json()}, ensure_ascii=False, indent=2))
    return 0


def _profiles(args: argparse.Namespace) -> int:
    from cds_service.clinical.profile import PROFILE_NAMES, ProfileError, diff_profiles, load_profile

    if args.action == "list":
        for name in PROFILE_NAMES:
            profile = load_profile(name)
            print(f"{name:10} {profile.meta.label('en')}, max {profile.doses.max_mg_per_day:g} mg/day")
        return 0
    if len(args.names) != 2:
        return _error("profiles diff needs two profile names (e.g. rtu-2014 amm-2018)")
    try:
        for name in args.names:
            load_profile(name)
    except ProfileError as exc:
        return _error(str(exc))
    for line in diff_profiles(*args.names):
        print(line)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="baclofen-cds",
        description="CDS Hooks 2.0 service for the ANSM baclofen RTU (alcohol dependence). "
        "Configuration comes from CDS_* environment variables (see README).",
    )
    root.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the service")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument("--workers", type=int, default=None, help="worker processes (default CDS_WORKERS or 1)")
    serve.set_defaults(func=_serve)

    check = commands.add_parser("check", help="evaluate one CDS Hooks request file offline")
    check.add_argument("request", help="a CDS Hooks request JSON file (with full prefetch)")
    check.add_argument("--lang", choices=["fr", "en"], default="fr", help="card language (default fr)")
    check.add_argument("--profile", default=None, help="rule profile (default CDS_PROFILE, else rtu-2014, historical)")
    check.set_defaults(func=_check)

    migrate = commands.add_parser("migrate", help="upgrade the database schema to the latest revision")
    migrate.set_defaults(func=_migrate)

    purge = commands.add_parser("purge", help="delete audit and feedback rows older than the retention")
    purge.add_argument("--days", type=int, default=None, help="retention in days (default CDS_RETENTION_DAYS)")
    purge.set_defaults(func=_purge)

    profiles = commands.add_parser("profiles", help="list the rule profiles, or diff two for the drug committee")
    profiles.add_argument("action", choices=["list", "diff"])
    profiles.add_argument("names", nargs="*", help="two profile names (for diff)")
    profiles.set_defaults(func=_profiles)

    fixtures = commands.add_parser("fixtures", help="list or show the FHIR test scenarios")
    fixtures.add_argument("action", choices=["list", "show"])
    fixtures.add_argument("name", nargs="?", help="scenario name (for show)")
    fixtures.set_defaults(func=_fixtures)

    terminology = commands.add_parser(
        "terminology", help="import the BDPM files or look up a French drug code",
        description="import-bdpm DIR: read CIS_bdpm.txt, CIS_CIP_bdpm.txt, CIS_COMPO_bdpm.txt "
        "(and CIS_MITM.txt if present) from DIR and write bdpm-index.json into CDS_TERMINOLOGY_DIR. "
        "lookup CODE: show what a CIS, CIP7, CIP13 or UCD code (or SYSTEM|CODE) names, from the "
        "index and CDS_FORMULARY.")
    terminology.add_argument("action", choices=["import-bdpm", "lookup"])
    terminology.add_argument("argument", help="the BDPM directory (import-bdpm) or the code (lookup)")
    terminology.set_defaults(func=_terminology)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except BrokenPipeError:  # `baclofen-cds fixtures list | head`: the reader left, not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return result


if __name__ == "__main__":
    raise SystemExit(main())
