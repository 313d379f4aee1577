"""X-Twilio-Signature, checked as twilio's ``RequestValidator`` checks it, for a fraction of its cost.

Every webhook is signed, so this runs on every message, in the event loop
that also acknowledges the others. ``RequestValidator.validate`` parses the
URL and rebuilds it with and without the port, then computes both HMACs,
for every request. Here the URL's two spellings are worked out once per
URL (there are two webhook URLs), and the second HMAC is computed only when
the first spelling does not match.

The algorithm is Twilio's: the full URL Twilio requested, followed by every
parameter name (sorted, each once) and each of its distinct values (sorted);
HMAC-SHA1 keyed with the Auth Token (HMAC-SHA256 when the request says it
was signed that way); base64. The tests sign with twilio's own
``RequestValidator.compute_signature``, so the two cannot drift apart
unnoticed.
"""
from __future__ import annotations

import base64
import hmac
from functools import lru_cache
from hashlib import sha1, sha256
from urllib.parse import urlparse

from twilio.request_validator import add_port, remove_port

_HASHES = {"HMAC_SHA1": sha1, "HMAC_SHA256": sha256}


@lru_cache(maxsize=256)
def url_spellings(url: str) -> tuple[str, ...]:
    """The URL without its port, then with it: Twilio signs one or the other (bounded cache: the
    query string comes from the request)."""
    parsed = urlparse(url)
    without, with_port = remove_port(parsed), add_port(parsed)
    return (without,) if without == with_port else (without, with_port)


class SignatureChecker:
    """Checks webhooks signed with one secret (the account's Auth Token)."""

    def __init__(self, token: str) -> None:
        self._key = token.encode("utf-8")

    def signature(self, url: str, params: dict[str, list[str]], algorithm: str = "HMAC_SHA1") -> str:
        """What Twilio sends in X-Twilio-Signature for ``params`` posted to ``url``."""
        parts = [url]
        for name in sorted(params):
            values = params[name]
            if len(values) == 1:  # nearly every field: nothing to sort
                parts += (name, values[0])
            else:
                for value in sorted(set(values)):
                    parts += (name, value)
        signed = "".join(parts)
        mac = hmac.new(self._key, signed.encode("utf-8"), _HASHES[algorithm.upper()])
        return base64.b64encode(mac.digest()).decode("ascii")

    def valid(self, url: str, params: dict[str, list[str]], signature: str, algorithm: str | None = None) -> bool:
        """True when ``signature`` is Twilio's for ``params`` at ``url`` (with or without its port).

        An algorithm this module does not know fails the check (the caller logs why).
        """
        algorithm = (algorithm or "HMAC_SHA1").upper()
        if algorithm not in _HASHES:
            return False
        given = signature.encode("utf-8", errors="replace")
        return any(hmac.compare_digest(self.signature(spelling, params, algorithm).encode("ascii"), given)
                   for spelling in url_spellings(url))
