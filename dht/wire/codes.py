"""KRPC error codes per wire profile, through profile-neutral meanings.

The two dialects number their errors differently, and 203-206 clash:

=====  ============================  =============================
code   Khashmir (apt-p2p)            Mainline (BEP 5, BEP 44)
=====  ============================  =============================
200    generic                       -
201    server error                  generic
202    malformed packet              server error
203    method unknown                protocol error (bad packet,
                                     arguments or token)
204    malformed request             method unknown
205    invalid token                 ``v`` too big
206    response too long             invalid signature
207    -                             salt too big
301    -                             CAS mismatch
302    -                             sequence number less than current
=====  ============================  =============================

So a code never crosses from one profile to the other: a handler raises a
:class:`Meaning`, the profile's :class:`ErrorTable` turns it into its code
(:meth:`ErrorTable.error`), and a received code is read back into a
meaning with the table of the profile it arrived on
(:meth:`ErrorTable.meaning`).  A meaning a profile has no code for goes out
as that profile's generic error.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from ..core import errors as khashmir_codes
from ..core.errors import KrpcError


class Meaning(enum.Enum):
    """What went wrong, whatever the profile calls it."""

    GENERIC = "generic error"
    SERVER = "server error"
    MALFORMED_PACKET = "malformed packet"
    PROTOCOL = "protocol error"  # wrong or missing arguments
    METHOD_UNKNOWN = "method unknown"
    INVALID_TOKEN = "invalid token"
    RESPONSE_TOO_LONG = "response too long"
    VALUE_TOO_BIG = "value too big"
    INVALID_SIGNATURE = "invalid signature"
    SALT_TOO_BIG = "salt too big"
    CAS_MISMATCH = "CAS mismatch"
    SEQ_TOO_OLD = "sequence number less than current"
    UNKNOWN = "unknown error code"  # only when reading a code


class WireError(KrpcError):
    """A KRPC error with its meaning and the code of one profile."""

    def __init__(self, meaning: Meaning, code: int, message: str, profile: str) -> None:
        super().__init__(code, message)
        self.meaning = meaning
        self.profile = profile


@dataclass(frozen=True)
class ErrorTable:
    """One profile's codes, both ways."""

    profile: str
    codes: dict[Meaning, int]
    #: received code -> meaning (built from ``codes``; first meaning wins).
    meanings: dict[int, Meaning] = field(init=False)

    def __post_init__(self) -> None:
        back: dict[int, Meaning] = {}
        for meaning, code in self.codes.items():
            back.setdefault(code, meaning)
        object.__setattr__(self, "meanings", back)

    def code(self, meaning: Meaning) -> int:
        """The code this profile sends for ``meaning`` (its generic code if none)."""
        return self.codes.get(meaning, self.codes[Meaning.GENERIC])

    def meaning(self, code: int) -> Meaning:
        """What a code received on this profile means."""
        return self.meanings.get(code, Meaning.UNKNOWN)

    def error(self, meaning: Meaning, message: str | None = None) -> WireError:
        """A :class:`WireError` to raise, with this profile's code."""
        return WireError(meaning, self.code(meaning), message or meaning.value, self.profile)


# Insertion order matters for the reverse table: the first meaning of a
# shared code is what that code is read back as.
MAINLINE = ErrorTable("mainline", {
    Meaning.GENERIC: 201,
    Meaning.SERVER: 202,
    Meaning.PROTOCOL: 203,
    Meaning.MALFORMED_PACKET: 203,
    Meaning.INVALID_TOKEN: 203,
    Meaning.METHOD_UNKNOWN: 204,
    Meaning.VALUE_TOO_BIG: 205,
    Meaning.INVALID_SIGNATURE: 206,
    Meaning.SALT_TOO_BIG: 207,
    Meaning.CAS_MISMATCH: 301,
    Meaning.SEQ_TOO_OLD: 302,
})

KHASHMIR = ErrorTable("khashmir", {
    Meaning.GENERIC: khashmir_codes.GENERIC,
    Meaning.SERVER: khashmir_codes.SERVER_ERROR,
    Meaning.MALFORMED_PACKET: khashmir_codes.MALFORMED_PACKET,
    Meaning.METHOD_UNKNOWN: khashmir_codes.METHOD_UNKNOWN,
    Meaning.PROTOCOL: khashmir_codes.MALFORMED_REQUEST,
    Meaning.INVALID_TOKEN: khashmir_codes.INVALID_TOKEN,
    Meaning.RESPONSE_TOO_LONG: khashmir_codes.RESPONSE_TOO_LONG,
})

TABLES = {t.profile: t for t in (MAINLINE, KHASHMIR)}
