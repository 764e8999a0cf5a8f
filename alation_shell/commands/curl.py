"""`curl` as procedures use it on the server: `curl -L --insecure http://localhost/monitor/replication/`
answers the node's replication mode as JSON (from `alation.cluster.replication_mode`).

Nothing ever leaves the emulator: any other host cannot be resolved, any other scheme is not supported
(so `file://` never reads a host file), and other paths on the local web server answer nginx's 404.
"""

from __future__ import annotations

import json

from alation_shell.commands.base import Context
from alation_shell.commands.text import options
from alation_shell.errors import ShellError

REPLICATION_PATH = "/monitor/replication/"
LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]")
NOT_FOUND = """\
<html>
<head><title>404 Not Found</title></head>
<body>
<center><h1>404 Not Found</h1></center>
<hr><center>nginx</center>
</body>
</html>
"""


MOVED = ("<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n"
         "<center><h1>301 Moved Permanently</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


class CurlError(ShellError):
    """curl's `curl: (N) message`, exit status N."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(f"({code}) {message}", exit_code=code)


def run(ctx: Context, args: list[str]) -> int:
    """`curl [-LksSfv] [-o FILE] URL`."""
    opts, operands = options(
        args, "LksSfvo:X:H:",
        ["location", "insecure", "silent", "show-error", "fail", "verbose", "output=", "request=", "header="],
        status=2,
    )
    flags = {flag for flag, _ in opts}
    output = next((value for flag, value in opts if flag in ("-o", "--output")), None)
    if not operands:
        raise CurlError(2, "no URL specified")
    body = _fetch(ctx, operands[0], follow="-L" in flags or "--location" in flags,
                  insecure="-k" in flags or "--insecure" in flags, fail="-f" in flags or "--fail" in flags)
    if output is not None:
        from alation_shell.pipeline import OutputFile

        OutputFile(ctx.session, output, append=False).commit(body)
    else:
        ctx.stdout.write(body)
    return 0


def _fetch(ctx: Context, url: str, *, follow: bool, insecure: bool, fail: bool) -> str:
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "http", url
    scheme = scheme.lower()
    if scheme not in ("http", "https"):
        raise CurlError(1, f'Protocol "{scheme}" not supported')
    authority, slash, path = rest.partition("/")
    host = authority.rsplit("@", 1)[-1]
    hostname = host if host.startswith("[") else host.split(":")[0]
    path = "/" + path.split("?")[0].split("#")[0] if slash else "/"
    if hostname.lower() not in LOCAL_HOSTS:
        raise CurlError(6, f"Could not resolve host: {hostname} (the emulated server reaches no network)")
    if scheme == "https" and not insecure:
        raise CurlError(60, "SSL certificate problem: self-signed certificate (use --insecure, -k)")
    if path == REPLICATION_PATH.rstrip("/"):
        if not follow:
            return MOVED
        path = REPLICATION_PATH
    if path == REPLICATION_PATH:
        mode = ctx.registry.get("alation.cluster.replication_mode")
        return json.dumps({"replication_mode": str(mode)}) + "\n"
    if fail:
        raise CurlError(22, "The requested URL returned error: 404")
    return NOT_FOUND
