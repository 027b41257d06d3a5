"""The errors `dedup` raises for a user's mistake, each carrying its CLI exit code.

The hierarchy::

    DedupError                  exit 1, the base the CLI catches
     +-- ConfigError            exit 2: a bad config file, key, value or --set override
     +-- InputError             exit 1: input that cannot be read (file, line, field named)
     +-- OutputError            exit 1: the output folder cannot be written as asked
     +-- AccountingError        exit 1: read != kept + duplicates + rejected (a bug, never hidden)
     +-- VerificationError      exit 1: a dropped record does not verify against the record it
                                names (a bug, never hidden)
     +-- IndexMismatchError     exit 2: an index built with a different signature fingerprint
     +-- EngineError            exit 1: an execution engine failed
     +-- UnknownIdError         exit 1: no record of a run has the id asked about (dedup explain)

Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import ClassVar


class DedupError(Exception):
    """Base of every error `dedup` raises for a user's mistake."""

    exit_code: ClassVar[int] = 1


class ConfigError(DedupError):
    """A config file, key, value or override is wrong; the message names the dotted key path."""

    exit_code: ClassVar[int] = 2


class InputError(DedupError):
    """Input that cannot be read, located by file, line and field where known.

    Args:
        message: what was found, what was expected, and a hint.
        path: the file the problem is in.
        line: the 1-based line (or row) number, if the problem is in one record.
        field: the field name, if the problem is in one field.
    """

    def __init__(
        self, message: str, *, path: str | None = None, line: int | None = None, field: str | None = None
    ) -> None:
        self.path = path
        self.line = line
        self.field = field
        self.reason = message
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


class OutputError(DedupError):
    """The output folder cannot be written as asked (an earlier run is there, or no permission)."""


class AccountingError(DedupError):
    """The pipeline's own check that every record is accounted for failed; this is a bug."""


class VerificationError(DedupError):
    """The pipeline's own check that every dropped record verifies against the record it names failed.

    This is a bug: the run writes nothing rather than drop records on evidence it cannot show.
    """


class IndexMismatchError(DedupError):
    """An index holds signatures made with a different fingerprint than the config asks for."""

    exit_code: ClassVar[int] = 2


class EngineError(DedupError):
    """An execution engine failed to run a stage."""


class UnknownIdError(DedupError):
    """No record of the run has the id asked about; the message suggests the nearest ids."""
