"""curl on the emulated server: the replication monitor answers, nothing leaves the emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alation_shell.instance import Instance
from alation_shell.session import Session

URL = "http://localhost/monitor/replication/"


def test_the_documented_replication_check(shell: Session) -> None:
    r = shell.execute(f"curl -L --insecure {URL}")
    assert (r.stdout, r.exit_code) == ('{"replication_mode": "standalone"}\n', 0)
    shell.execute("alation_conf alation.cluster.replication_mode -s secondary")
    assert json.loads(shell.execute(f"curl -sk {URL}").stdout) == {"replication_mode": "secondary"}


def test_the_readiness_scripts_parsing_reads_the_mode(shell: Session) -> None:
    """ProServ's check does `response.split('{')[1].split('}')[0].split(': ')[1].replace('"', '')`."""
    response = shell.execute(f"curl -L --insecure {URL}").stdout
    assert response.split("{")[1].split("}")[0].split(": ")[1].replace('"', "") == "standalone"


@pytest.mark.parametrize(
    ("line", "status", "message"),
    [
        ("curl https://example.com/", 6, "curl: (6) Could not resolve host: example.com"),
        ("curl file:///etc/passwd", 1, 'curl: (1) Protocol "file" not supported'),
        ("curl https://localhost/monitor/replication/", 60, "curl: (60) SSL certificate problem"),
        ("curl -f http://localhost/nope", 22, "curl: (22) The requested URL returned error: 404"),
        ("curl", 2, "curl: (2) no URL specified"),
    ],
)
def test_curl_errors(shell: Session, line: str, status: int, message: str) -> None:
    r = shell.execute(line)
    assert (r.stdout, r.exit_code) == ("", status)
    assert r.stderr.startswith(message)


def test_other_local_pages_are_nginxs_404_and_redirects_need_L(shell: Session) -> None:
    r = shell.execute("curl http://localhost/")
    assert r.exit_code == 0 and "<title>404 Not Found</title>" in r.stdout
    assert "301 Moved Permanently" in shell.execute("curl http://localhost/monitor/replication").stdout
    assert "replication_mode" in shell.execute("curl -L http://127.0.0.1:80/monitor/replication").stdout


def test_output_file_stays_in_the_instance(shell: Session, instance: Instance, tmp_path: Path) -> None:
    r = shell.execute(f"curl -sLk -o /data2/tmp/mode.json {URL}")
    assert (r.stdout, r.exit_code) == ("", 0)
    assert (instance.root / "data2/tmp/mode.json").read_text() == '{"replication_mode": "standalone"}\n'
    r = shell.execute(f"curl -sLk -o /var/x {URL}")
    assert r.exit_code == 1 and "Permission denied" in r.stderr
