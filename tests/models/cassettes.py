"""Replaying recorded HTTP exchanges of paid model APIs, in-process.

A recording (``recordings/NAME.yaml``) lists interactions: the request as it was sent
(method, URL, the headers that matter, the JSON body) and the response (status,
headers, body; SSE streams as their raw text). Authorization values are stored as
``<scrubbed>``. The SDK under test gets an ``httpx2.AsyncClient`` whose
``MockTransport`` serves the interactions in order and checks each request against
its recording; a scrubbed header must be present and carry the test's key, which is
compared, never stored or printed. An interaction left unplayed fails the test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import yaml

RECORDINGS = Path(__file__).parent / "recordings"
SCRUBBED = "<scrubbed>"
AUTH_HEADERS = ("authorization", "x-api-key")


@dataclass
class Cassette:
    """The interactions of one recording, served in order; see the module docstring."""

    name: str
    secret: str
    interactions: list[dict[str, Any]]
    played: int = 0
    problems: list[str] = field(default_factory=list)
    # Requests as the SDK sent them, authorization scrubbed, bodies parsed.
    requests: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def load(cls, name: str, secret: str) -> Cassette:
        data = yaml.safe_load((RECORDINGS / f"{name}.yaml").read_text(encoding="utf-8"))
        return cls(name, secret, list(data["interactions"]))

    def client(self) -> httpx2.AsyncClient:
        """An HTTP client for the SDK that talks to this recording only."""
        return httpx2.AsyncClient(transport=httpx2.MockTransport(self.handle))

    def handle(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content) if request.content else None
        headers = {
            k.lower(): (SCRUBBED if k.lower() in AUTH_HEADERS else v) for k, v in request.headers.items()
        }
        self.requests.append(
            {"method": request.method, "url": str(request.url), "headers": headers, "body": body}
        )
        if self.played >= len(self.interactions):
            return self._refuse(
                f"request {len(self.requests)} was not recorded: {request.method} {request.url}"
            )
        recorded = self.interactions[self.played]
        self.played += 1
        expected = recorded["request"]
        if (request.method, str(request.url)) != (expected["method"], expected["url"]):
            return self._refuse(
                f"sent {request.method} {request.url}, recorded {expected['method']} {expected['url']}"
            )
        for key, value in expected.get("headers", {}).items():
            sent = request.headers.get(key)
            if SCRUBBED in str(value):
                # Compared, never shown: the message names the header only.
                if sent != str(value).replace(SCRUBBED, self.secret):
                    return self._refuse(f"header {key} is missing or does not carry the test's key")
            elif sent != str(value):
                return self._refuse(f"header {key}: sent {sent!r}, recorded {value!r}")
        if body != expected.get("body"):
            return self._refuse(
                "request body differs from the recording:\n"
                f"sent:     {json.dumps(body, sort_keys=True)}\n"
                f"recorded: {json.dumps(expected.get('body'), sort_keys=True)}"
            )
        response = recorded["response"]
        content = response["body"]
        if not isinstance(content, str):
            content = json.dumps(content)
        return httpx2.Response(
            response["status"], headers=response.get("headers", {}), content=content.encode()
        )

    def _refuse(self, problem: str) -> httpx2.Response:
        self.problems.append(problem)
        # 418 is not retried by the SDKs, so the test ends at once with the problem recorded.
        return httpx2.Response(418, json={"error": {"type": "cassette_mismatch", "message": problem}})

    def check(self) -> None:
        """Fail unless every request matched and every recorded interaction was played."""
        assert not self.problems, f"{self.name}: " + "\n".join(self.problems)
        assert self.played == len(self.interactions), (
            f"{self.name}: {len(self.interactions) - self.played} recorded interaction(s) never played"
        )


__all__ = ["RECORDINGS", "SCRUBBED", "Cassette"]
