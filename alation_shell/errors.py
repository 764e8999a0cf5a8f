"""Errors the operator sees. Each is caught once at the edge and rendered as one line: `prog: message`."""

from __future__ import annotations


class ShellError(Exception):
    """An error with a one-line message and the exit status of the command that raised it."""

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(ShellError):
    """The command's words are off: unknown flag, missing argument."""

    exit_code = 2


class UnknownCommand(ShellError):
    exit_code = 127


class UnknownParameter(ShellError):
    """A name that matches no parameter."""


class InvalidValue(ShellError):
    """A value that does not fit its parameter's type or range."""


class ConfigCorrupt(ShellError):
    """alation_conf.toml cannot be read; it is never overwritten while in this state."""


class StateCorrupt(ShellError):
    """A state file of the emulator (`var/clock.json`, ...) cannot be read; it is never overwritten in this state."""


class InstanceError(ShellError):
    """The sandbox directory is missing, unreadable or not an instance."""


class PathOutsideInstance(ShellError):
    """A path that would leave the emulated chroot."""


class Busy(ShellError):
    """Another process holds a lock this command needs (a backup or restore is running)."""


class BackupInProgress(Busy):
    pass


class CorruptArchive(ShellError):
    """A backup tarball that fails verification or holds unsafe members."""


class Aborted(ShellError):
    """The operator declined a confirmation; nothing was changed."""


class Cancelled(ShellError):
    """The command was cancelled (Ctrl-C, or its session's cancel token from another thread)."""

    exit_code = 130  # a shell's status for a command ended by SIGINT

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message)
