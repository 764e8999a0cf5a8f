"""What a session's terminal is and allows, as the front end saw it once: size, colour, escape codes.

Nothing here reads the process's own terminal or environment: a front end builds the value from what its
client has (the local REPL from this process's terminal, an SSH session from its pty request and the client's
environment), so that one process can serve many terminals.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

DUMB = ("dumb", "unknown")  # TERM values of terminals that take no escape codes (as prompt_toolkit reads them)


class Terminal:
    """A session's terminal. The default is no terminal at all: a pipe or a script (line mode)."""

    __slots__ = ("width", "height", "colour", "term", "interactive", "escapes")

    def __init__(
        self,
        *,
        width: int = 80,
        height: int = 24,
        colour: bool = False,
        term: str = "",
        interactive: bool = False,
        escapes: bool = False,
    ) -> None:
        self.width = width
        self.height = height
        self.colour = colour  # colours wanted (not NO_COLOR, not a dumb terminal)
        self.term = term  # the client's TERM
        self.interactive = interactive  # a person at a terminal: progress bars, prompts, ls in columns
        self.escapes = escapes  # escape codes may be written (`clear`): a pty whose TERM takes them

    @classmethod
    def of_client(cls, env: Mapping[str, str], width: int, height: int, *, pty: bool) -> Terminal:
        """The terminal of a client with environment `env` (NO_COLOR, TERM), `pty` when it has one."""
        term = env.get("TERM", "")
        dumb = term.lower() in DUMB
        return cls(
            width=width, height=height, term=term, interactive=pty,
            colour=pty and not dumb and not env.get("NO_COLOR"), escapes=pty and not dumb,
        )

    def resized(self, width: int, height: int) -> Terminal:
        """The same terminal at a new size (a window resized)."""
        if (width, height) == (self.width, self.height):
            return self
        return Terminal(width=width, height=height, colour=self.colour, term=self.term,
                        interactive=self.interactive, escapes=self.escapes)

    def __repr__(self) -> str:
        return (f"Terminal({self.width}x{self.height}, term={self.term!r}, colour={self.colour}, "
                f"interactive={self.interactive}, escapes={self.escapes})")
