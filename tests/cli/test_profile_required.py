"""Production refuses to start without an explicit rule profile (issue 12 part 2)."""

from __future__ import annotations

import os
import subprocess
import sys

from cds_service.clinical.profile import load_profile
from cds_service.protocol.discovery import discovery
from cds_service.settings import Settings


def test_production_without_cds_profile_refuses_to_start_with_one_line() -> None:
    env = {key: value for key, value in os.environ.items() if key != "CDS_PROFILE"}
    env.update(CDS_AUTH="required", CDS_DATABASE_URL="sqlite+aiosqlite:///:memory:")
    result = subprocess.run([sys.executable, "-m", "cds_service", "serve"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 3
    lines = [line for line in result.stderr.splitlines() if line.startswith("baclofen-cds:")]
    assert len(lines) == 1, result.stderr
    for words in ("CDS_PROFILE", "rtu-2014", "historical", "rtu-2017", "amm-2018", "80 mg/day", "current"):
        assert words in lines[0]


def test_sandbox_keeps_a_default_and_production_has_none() -> None:
    assert Settings(auth="off", profile=None).profile_name == "rtu-2014"
    assert Settings(auth="required", profile=None).profile_name is None
    assert Settings(auth="required", profile="amm-2018").profile_name == "amm-2018"


def test_profiles_carry_metadata_and_rtu_2014_is_historical() -> None:
    assert load_profile("rtu-2014").meta.status == "historical"
    for name in ("rtu-2017", "amm-2018"):
        meta = load_profile(name).meta
        assert meta.status == "current" and meta.version and meta.regulatory_date
        assert not meta.sign_off.signed  # the hospital's committee fills it in


def test_discovery_states_the_profile_maximum() -> None:
    text = " ".join(s.description for s in discovery(load_profile("amm-2018")).services)
    assert "80 mg/day" in text and "300" not in text and "amm-2018" in text
    assert "300 mg/day" in discovery(load_profile("rtu-2014")).services[0].description


def test_off_label_dose_offers_a_justification_in_80_mg_profiles() -> None:
    for name in ("rtu-2017", "amm-2018"):
        codes = [r.code for r in load_profile(name).override_reasons_for(["dose-over-max"])]
        assert "off-label-justified" in codes
    assert "off-label-justified" not in [r.code for r in load_profile("rtu-2014").override_reasons_for(
        ["dose-over-max"])]


def test_profiles_diff_prints_thresholds_rules_and_texts(capsys) -> None:  # type: ignore[no-untyped-def]
    from cds_service.cli import main

    assert main(["profiles", "diff", "rtu-2014", "amm-2018"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "- doses.max_mg_per_day: 300" in out and "+ doses.max_mg_per_day: 80" in out
    assert "+ policy.register_applies: False" in out
    assert "+ metadata.status: current" in out
    assert any(line.startswith("+ rules.dose-over-max.summary.fr:") for line in out)
    assert any(line.startswith("+ override_reasons.off-label-justified") for line in out)
    assert main(["profiles", "diff", "rtu-2014"]) == 2
