"""Store tokens from rotating secrets, bound to the sender's IP (and, for Mainline, the target).

A token is ``sha1(secret + sender_ip_text + target)``.  Khashmir: the
target is empty (a token is bound to the IP only, as apt-p2p's); a new
secret is made at every checkpoint and only the three newest are kept, so
a token stays valid for two to three checkpoint intervals; the whole
20-byte hash is the token.  Mainline (``kept=2, size=4``, rotated every
TOKEN_INTERVAL): the target is the info-hash (get_peers, announce_peer) or
the item's target (get, put), and the token is the first 4 bytes, from the
two newest secrets, as libtorrent's ``generate_token`` binds it, so a token
is good for one to two intervals (5-10 minutes) and only for the IP and
the target it was handed out for: a token from get_peers(A) neither
announces B nor puts an item.
"""

from __future__ import annotations

import hashlib
import hmac
import os

KEPT_SECRETS = 3
CACHED_TOKENS = 4096  # (sender, target) pairs whose current token is remembered


class TokenSecrets:
    def __init__(self, kept: int = KEPT_SECRETS, size: int = 20) -> None:
        self.kept = kept
        self.size = size
        self.secrets: list[bytes] = [os.urandom(20)]
        self._current: dict[tuple[str, bytes], bytes] = {}  # (ip, target) -> token from the newest secret

    def rotate(self) -> None:
        self.secrets.insert(0, os.urandom(20))
        del self.secrets[self.kept:]
        self._current.clear()

    def _token(self, secret: bytes, ip: str, target: bytes) -> bytes:
        return hashlib.sha1(secret + ip.encode("ascii", "replace") + target).digest()[: self.size]

    def token_for(self, ip: str, target: bytes = b"") -> bytes:
        """The current token for a sender at ``ip`` about ``target`` (cached until the next rotation)."""
        key = (ip, target)
        token = self._current.get(key)
        if token is None:
            if len(self._current) >= CACHED_TOKENS:
                self._current.clear()
            token = self._current[key] = self._token(self.secrets[0], ip, target)
        return token

    def check(self, token: bytes, ip: str, target: bytes = b"") -> bool:
        """True when ``token`` was made for ``ip`` and ``target`` from a kept secret."""
        return any(hmac.compare_digest(token, self._token(s, ip, target)) for s in self.secrets)
