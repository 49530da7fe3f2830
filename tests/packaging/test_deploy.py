"""The container and balancer files: checked by their own tools where present (`docker compose config`,
`nginx -t`; CI installs both, see .ci/run), and for what ties them together everywhere."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.services import IN_CI

ROOT = Path(__file__).resolve().parents[2]
NODES = ("smsdesk1", "smsdesk2")
SERVICES = {"postgres", "redis", *NODES, "balancer"}
COMPOSE_ENV = {"POSTGRES_PASSWORD": "change-me", "SMSDESK_PUBLIC_URL": "https://desk.example.com"}


def _tool(name: str, found: object) -> None:
    if found:
        return
    if IN_CI:
        pytest.fail(f"{name} is required in CI (.ci/run installs it)")
    pytest.skip(f"{name} not found")


def _compose_command() -> list[str] | None:
    docker = shutil.which("docker")
    if docker is not None:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=60)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


def _compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    compose = _compose_command()
    _tool("docker compose (or docker-compose)", compose)
    assert compose is not None
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SMSDESK_", "POSTGRES_"))}
    return subprocess.run(
        [*compose, "-f", str(ROOT / "compose.yaml"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
        cwd=ROOT,
    )


def test_compose_file_is_valid_and_has_the_production_shape() -> None:
    result = _compose("config", "--services", env=COMPOSE_ENV)
    assert result.returncode == 0, result.stderr
    assert set(result.stdout.split()) == SERVICES
    full = _compose("config", env=COMPOSE_ENV)
    assert full.returncode == 0, full.stderr
    assert "postgresql://smsdesk:change-me@postgres:5432/smsdesk" in full.stdout
    assert "redis://redis:6379/0" in full.stdout
    assert "/etc/nginx/nginx.conf" in full.stdout


def test_compose_refuses_to_start_without_a_database_password() -> None:
    result = _compose("config", "--services", env={"SMSDESK_PUBLIC_URL": "https://desk.example.com"})
    assert result.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in result.stderr


def test_nginx_accepts_the_balancer_config(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).is_file()), None
    )
    _tool("nginx", nginx)
    openssl = shutil.which("openssl")
    _tool("openssl", openssl)
    assert nginx is not None and openssl is not None
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(tmp_path / "privkey.pem"),
            "-out",
            str(tmp_path / "fullchain.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    # the nodes' compose names do not resolve here (nginx -t resolves upstream hosts): loopback addresses
    # stand in for them, and the certificates' directory for the mounted one
    text = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    for i, node in enumerate(NODES, start=1):
        assert f"server {node}:8080" in text
        text = text.replace(f"server {node}:8080", f"server 127.0.0.{i}:8080")
    assert "/etc/nginx/certs/" in text
    text = text.replace("/etc/nginx/certs/", f"{tmp_path}/")
    conf = tmp_path / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    result = subprocess.run(
        [
            nginx,
            "-t",
            "-p",
            str(tmp_path),
            "-e",
            str(tmp_path / "error.log"),
            "-g",
            f"pid {tmp_path / 'nginx.pid'};",
            "-c",
            str(conf),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_balancer_upgrades_websockets_and_forwards_the_scheme() -> None:
    text = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    assert re.search(r"proxy_set_header Upgrade \$http_upgrade;", text)
    assert re.search(r"proxy_set_header Connection \$connection_upgrade;", text)
    assert "proxy_http_version 1.1;" in text
    assert "listen 443 ssl;" in text


def test_dockerfile_builds_the_wheel_once_and_runs_unprivileged_with_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    stages = re.findall(r"^FROM \S+ AS (\w+)$", text, re.MULTILINE)
    assert stages == ["build", "runtime"]
    build, runtime = text.split("AS runtime", 1)
    assert "npm" in build and "uv build --wheel" in build
    assert "npm" not in runtime and "COPY --from=build /dist/" in runtime
    assert re.search(r"^USER smsdesk$", runtime, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*\n?.*/health", runtime, re.MULTILINE)
    for copied in re.findall(r"^COPY (?!--from)(\S+) ", runtime, re.MULTILINE):
        assert (ROOT / copied).is_file(), copied


def _fake_smsdesk(tmp_path: Path, check_exit: int) -> Path:
    """A stand-in `smsdesk` on the PATH that records its calls; check-config exits with ``check_exit``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "smsdesk"
    fake.write_text(
        f'#!/bin/sh\necho "$*" >> "{tmp_path}/calls"\n[ "$1" = check-config ] && exit {check_exit}\nexit 0\n',
        encoding="utf-8",
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return bin_dir


@pytest.mark.parametrize(
    ("args", "check_exit", "calls", "code"),
    [
        ([], 0, ["check-config", "serve"], 0),
        (["serve", "--workers", "2"], 0, ["check-config --workers 2", "serve --workers 2"], 0),
        ([], 1, ["check-config"], 1),
        (["users", "list"], 1, ["users list"], 0),
    ],
)
def test_entrypoint_checks_the_config_before_serving(
    tmp_path: Path, args: list[str], check_exit: int, calls: list[str], code: int
) -> None:
    entrypoint = ROOT / "deploy" / "entrypoint.sh"
    assert os.access(entrypoint, os.X_OK)
    bin_dir = _fake_smsdesk(tmp_path, check_exit)
    result = subprocess.run(
        [str(entrypoint), *args],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == code, result.stderr
    assert (tmp_path / "calls").read_text(encoding="utf-8").splitlines() == calls


def test_readme_production_commands_match_the_files() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    nginx = (ROOT / "deploy" / "nginx.conf").read_text(encoding="utf-8")
    compose = (ROOT / "compose.yaml").read_text(encoding="utf-8")
    for path in set(re.findall(r"\b((?:deploy/[\w.]+)|compose\.yaml|Dockerfile)\b", readme)) - {
        "deploy/certs"
    }:
        assert (ROOT / path).exists(), path  # deploy/certs/ is the user's (git-ignored)
    # the one-host recipe rewrites the compose node names in deploy/nginx.conf: they must be there
    for old in re.findall(r"-e 's/(smsdesk\d:8080)/", readme):
        assert old in nginx, old
    assert len(re.findall(r"-e 's/(smsdesk\d:8080)/", readme)) == len(NODES)
    # the .env the README writes names every variable compose.yaml requires
    env_file = re.search(r"printf '([^']*)' > \.env", readme)
    assert env_file is not None
    written = {line.split("=", 1)[0] for line in env_file.group(1).split("\\n") if "=" in line}
    required = set(re.findall(r"\$\{(\w+):\?", compose))
    assert required <= written, required - written
