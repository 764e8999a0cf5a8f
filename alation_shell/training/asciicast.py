"""`--record FILE.cast`: a session as asciicast v2, tapped from the same output stream the user sees.

asciicast v2 is newline-delimited JSON: a header (`version`, `width`, `height`, `timestamp`, `title`,
`env`), then one `[seconds, code, data]` event a line: `"o"` output, `"i"` input (only when asked: typed
passwords must never land in a file), `"r"` a resize (`"80x24"`), `"m"` a marker (a walkthrough's steps).
Any front end records the same way: it writes through `recorder.tap(stream)` and calls `marker` / `input`.
Output is recorded as a terminal shows it: a bare `\\n` becomes `\\r\\n` (a pipe has no tty to do that).
"""

from __future__ import annotations

import json
import os
import re
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

DEFAULT_SIZE = (80, 24)
_BARE_NEWLINE = re.compile(r"(?<!\r)\n")


class Recorder:
    """Writes one asciicast v2 file; events are flushed as they happen, so a dropped session keeps its past."""

    def __init__(self, path: str, *, width: int, height: int, title: str = "", record_input: bool = False,
                 env: dict[str, str] | None = None) -> None:
        self.path = path
        self.record_input = record_input
        self.width, self.height = width, height
        self.start = time.monotonic()
        self._last = 0.0
        try:
            self.file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            from alation_shell.errors import ShellError

            raise ShellError(f"cannot write the recording {path}: {exc.strerror or exc}") from exc
        header: dict = {"version": 2, "width": width, "height": height, "timestamp": int(time.time())}
        if title:
            header["title"] = title
        header["env"] = env if env is not None else {
            key: os.environ[key] for key in ("SHELL", "TERM") if os.environ.get(key)
        }
        self._write(header)

    def _write(self, value: object) -> None:
        self.file.write(json.dumps(value, ensure_ascii=False) + "\n")
        self.file.flush()

    def _event(self, code: str, data: str) -> None:
        if self.file.closed:
            return
        # Monotonic and never going back, even at the resolution of the printed number.
        at = max(round(time.monotonic() - self.start, 6), self._last)
        self._last = at
        self._write([at, code, data])

    def output(self, text: str) -> None:
        if text:
            self._event("o", _BARE_NEWLINE.sub("\r\n", text))

    def input(self, text: str) -> None:
        """What the user typed; dropped unless the recording was asked to keep input."""
        if self.record_input and text:
            self._event("i", text)

    def marker(self, label: str) -> None:
        self._event("m", label)

    def resize(self, width: int, height: int) -> None:
        if (width, height) != (self.width, self.height):
            self.width, self.height = width, height
            self._event("r", f"{width}x{height}")

    def tap(self, stream: TextIO) -> Tap:
        """A stream that writes to `stream` and records what it writes."""
        return Tap(stream, self)

    def close(self) -> None:
        if not self.file.closed:
            self.file.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Tap:
    """A text stream passing writes through to another and to a recorder (a terminal's fileno and size too,
    so prompt_toolkit can write through it)."""

    def __init__(self, stream: TextIO, recorder: Recorder) -> None:
        self.stream = stream
        self.recorder = recorder

    def write(self, text: str) -> int:
        self.recorder.output(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def fileno(self) -> int:
        return self.stream.fileno()

    def isatty(self) -> bool:
        return self.stream.isatty()

    @property
    def encoding(self) -> str:
        return getattr(self.stream, "encoding", "utf-8")

    @property
    def errors(self) -> str | None:
        return getattr(self.stream, "errors", None)

    def writable(self) -> bool:
        return True


def terminal_size(stream: TextIO) -> tuple[int, int]:
    """(width, height) of the terminal `stream` is on, else $COLUMNS / $LINES, else 80x24."""
    try:
        size = os.get_terminal_size(stream.fileno())
        return size.columns, size.lines
    except (OSError, ValueError, AttributeError):
        pass
    try:
        return int(os.environ["COLUMNS"]), int(os.environ["LINES"])
    except (KeyError, ValueError):
        return DEFAULT_SIZE


def watch_resizes(recorder: Recorder, stream: TextIO) -> None:
    """Record an `"r"` event whenever the terminal is resized (SIGWINCH; main thread, on a terminal only)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread() or not stream.isatty():
        return
    previous = signal.getsignal(signal.SIGWINCH)

    def on_resize(signum: int, frame: object) -> None:
        recorder.resize(*terminal_size(stream))
        if callable(previous):
            previous(signum, frame)

    signal.signal(signal.SIGWINCH, on_resize)
