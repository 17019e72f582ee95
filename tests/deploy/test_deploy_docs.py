"""The integrator guide stays true to the code and to the deployment files, and its JWT tools work.

- every setting of cds_service.settings is in the configuration table, with its real default;
- the prefetch templates are the service contract's;
- metric and alert names, the service ids, and the YAML/JSON examples are right;
- deploy/tools/make-jwks.py and make-test-jwt.py make a JWKS and a token that verify together.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "integrator-guide.md"
TOOLS = REPO / "deploy" / "tools"
# CI lays shared/ beside the clone; a developer's checkout has it at the same place.
CONTRACT = REPO.parent / "shared" / "spec" / "service-contract.md"


@pytest.fixture(scope="module")
def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def table_rows(markdown: str, first_header: str) -> list[list[str]]:
    """The body rows of the first Markdown table whose first header cell is `first_header`."""
    lines = markdown.splitlines()
    for index, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.lstrip().startswith("|") and cells[0] == first_header:
            rows = []
            for body in lines[index + 2 :]:
                if not body.lstrip().startswith("|"):
                    break
                rows.append([c.strip() for c in body.strip().strip("|").split("|")])
            return rows
    raise AssertionError(f"no table starting with {first_header!r}")


def code_blocks(markdown: str, language: str) -> list[str]:
    return re.findall(rf"^ *```{language}\n(.*?)^ *```", markdown, re.S | re.M)


def documented_default(value: Any) -> str:
    if value is None or value == []:
        return "*(none)*"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if value == {}:
        return "`{}`"
    return f"`{value}`"


def test_configuration_table_documents_every_setting_with_its_default(guide, settings_fields):
    rows = {row[0].strip("`"): row for row in table_rows(guide, "variable") if len(row) == 3}
    missing = settings_fields.keys() - rows.keys()
    assert not missing, f"settings missing from the guide's configuration table: {missing}"
    unknown = {k for k in rows if k.startswith("CDS_")} - settings_fields.keys()
    assert not unknown, f"the guide documents settings that do not exist: {unknown}"
    for name, info in settings_fields.items():
        default = info.get_default(call_default_factory=True)
        assert rows[name][1] == documented_default(default), (
            f"{name}: the guide says {rows[name][1]}, settings.py says {default!r}"
        )


def test_prefetch_templates_are_the_contracts(guide):
    if not CONTRACT.is_file():
        pytest.skip(f"service contract not found at {CONTRACT}")
    contract = dict((r[0], r[1]) for r in table_rows(CONTRACT.read_text(encoding="utf-8"), "key"))
    documented = dict((r[0], r[1]) for r in table_rows(guide, "key"))
    assert documented == contract


def test_guide_names_the_services_hooks_metrics_and_alerts(guide, metric_catalogue):
    for text in ("`baclofen-rtu`", "`baclofen-rtu-select`", "`order-sign`", "`order-select`"):
        assert text in guide
    assert "/cds-services" in guide and "FHIR R4" in guide.replace("**", "")
    for metric in metric_catalogue:
        assert f"`{metric}`" in guide, f"the metrics table misses {metric}"
    alerts = yaml.safe_load((REPO / "docs/operations/prometheus-alerts.yaml").read_text())
    for group in alerts["groups"]:
        for rule in group["rules"]:
            assert f"`{rule['alert']}`" in guide, f"the alerts table misses {rule['alert']}"
    for profile in ("rtu-2014", "rtu-2017", "amm-2018"):
        assert f"`{profile}`" in guide
    for claim in ("iss", "sub", "aud", "exp", "iat", "jti", "kid", "typ", "jku"):
        assert f"`{claim}`" in guide, f"JWT field {claim} not explained"


def test_guide_references_existing_files(guide):
    for path in sorted(set(re.findall(r"`((?:deploy|docs)/[\w./-]+)`", guide))):
        assert (REPO / path).exists(), f"the guide names a missing file: {path}"


def test_guide_yaml_and_json_examples_are_valid(guide, k8s, no_network):
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    for block in code_blocks(guide, "yaml"):
        for doc in yaml.safe_load_all(block):
            if isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc:
                kubernetes_validate.validate(doc, "1.30.0", strict=True)
    for block in code_blocks(guide, "json"):
        json.loads(block)


def test_guide_cronjob_matches_the_manifest(guide, k8s):
    (example,) = [
        d
        for block in code_blocks(guide, "yaml")
        for d in yaml.safe_load_all(block)
        if isinstance(d, dict) and d.get("kind") == "CronJob"
    ]
    real = k8s["CronJob/baclofen-cds-purge"]
    for field in ("schedule", "timeZone", "concurrencyPolicy"):
        assert example["spec"][field] == real["spec"][field]

    def container(obj: dict[str, Any]) -> dict[str, Any]:
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]

    for field in ("command", "args", "envFrom"):
        assert container(example)[field] == container(real)[field]


def test_guide_upgrade_and_deploy_commands_name_real_objects(guide, k8s):
    for name in re.findall(r"(?:job|deployment|cronjob)/([\w-]+)", guide):
        assert any(key.split("/")[1] == name for key in k8s), f"unknown object {name}"
    assert "kubectl apply -k deploy/k8s" in guide
    assert "kubectl wait --for=condition=complete" in guide


# ------------------------------------------------------------------------------------------
# deploy/tools: JWKS and test token
# ------------------------------------------------------------------------------------------


def make_key(tmp_path: Path, kind: str) -> Path:
    """A private key in PEM, made with openssl as the guide says (cryptography if no openssl)."""
    key = tmp_path / f"{kind}.key.pem"
    openssl = shutil.which("openssl")
    if openssl:
        option = "ec_paramgen_curve:P-384" if kind == "ec" else "rsa_keygen_bits:3072"
        algorithm = "EC" if kind == "ec" else "RSA"
        subprocess.run(
            [openssl, "genpkey", "-algorithm", algorithm, "-pkeyopt", option, "-out", str(key)],
            check=True,
            capture_output=True,
            timeout=60,
        )
    else:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        private = (
            ec.generate_private_key(ec.SECP384R1())
            if kind == "ec"
            else rsa.generate_private_key(public_exponent=65537, key_size=3072)
        )
        key.write_bytes(
            private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return key


def run_tool(*args: str) -> str:
    result = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(("kind", "alg"), [("ec", "ES384"), ("rsa", "RS384")])
def test_jwt_tools_make_a_verifiable_cds_hooks_token(tmp_path, kind, alg):
    from joserfc import jwt
    from joserfc.jwk import KeySet

    key = make_key(tmp_path, kind)
    jwks = json.loads(run_tool(str(TOOLS / "make-jwks.py"), str(key)))
    (public,) = jwks["keys"]
    assert public["alg"] == alg and public["use"] == "sig" and public["kid"]
    assert not {"d", "p", "q", "dp", "dq", "qi"} & public.keys(), "private parts leaked"

    audience = "https://cds.hospital.example/cds-services/baclofen-rtu"
    issuer = "https://ehr.hospital.example/"
    token = run_tool(str(TOOLS / "make-test-jwt.py"), str(key), issuer, audience).strip()
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=[alg])
    assert decoded.header == {"alg": alg, "typ": "JWT", "kid": public["kid"]}
    claims = decoded.claims
    assert claims["iss"] == issuer and claims["aud"] == audience and claims["sub"]
    assert 0 < claims["exp"] - claims["iat"] <= 300
    assert re.fullmatch(r"[0-9a-f-]{36}", claims["jti"])
    again = run_tool(str(TOOLS / "make-test-jwt.py"), str(key), issuer, audience).strip()
    assert jwt.decode(again, KeySet.import_key_set(jwks), algorithms=[alg]).claims["jti"] != (claims["jti"]), (
        "a new jti per token"
    )


def test_observation_codes_are_the_services(guide):
    """The LOINC codes the guide lists are those the discovery document publishes."""
    try:
        from cds_service.fhir.prefetch import PREFETCH_TEMPLATES
    except ImportError:
        pytest.skip("cds_service.fhir.prefetch.PREFETCH_TEMPLATES not available")
    published = set(re.findall(r"http://loinc\.org\|([\d-]+)", PREFETCH_TEMPLATES["observations"]))
    rows = table_rows(guide, "what")
    documented = {code for row in rows for code in re.findall(r"`([\d]+-\d)`", row[1])}
    assert documented == published
