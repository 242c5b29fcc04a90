"""Store tokens from rotating secrets, bound to the sender's IP.

A token is ``sha1(secret + sender_ip_text)``.  Khashmir: a new secret is
made at every checkpoint and only the three newest are kept, so a token
stays valid for two to three checkpoint intervals; the whole 20-byte hash
is the token.  Mainline (``kept=2, size=4``, rotated every TOKEN_INTERVAL):
the first 4 bytes, from the two newest secrets, as libtorrent's, so a token
is good for one to two intervals (5-10 minutes).
"""

from __future__ import annotations

import hashlib
import hmac
import os

KEPT_SECRETS = 3
CACHED_TOKENS = 4096  # senders whose current token is remembered


class TokenSecrets:
    def __init__(self, kept: int = KEPT_SECRETS, size: int = 20) -> None:
        self.kept = kept
        self.size = size
        self.secrets: list[bytes] = [os.urandom(20)]
        self._current: dict[str, bytes] = {}  # ip -> token from the newest secret

    def rotate(self) -> None:
        self.secrets.insert(0, os.urandom(20))
        del self.secrets[self.kept:]
        self._current.clear()

    def _token(self, secret: bytes, ip: str) -> bytes:
        return hashlib.sha1(secret + ip.encode("ascii", "replace")).digest()[: self.size]

    def token_for(self, ip: str) -> bytes:
        """The current token for a sender at ``ip`` (cached until the next rotation)."""
        token = self._current.get(ip)
        if token is None:
            if len(self._current) >= CACHED_TOKENS:
                self._current.clear()
            token = self._current[ip] = self._token(self.secrets[0], ip)
        return token

    def check(self, token: bytes, ip: str) -> bool:
        """True when ``token`` was made for ``ip`` from a kept secret."""
        return any(hmac.compare_digest(token, self._token(s, ip)) for s in self.secrets)
