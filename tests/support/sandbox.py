"""The sandbox's team channel and the README's curl sent to it."""

from __future__ import annotations

import httpx

from tests.readme import SANDBOX_URL, curl_request, sandbox_curl

TEAM_CHANNEL = "C0SUPPORT"


def send_readme_curl(base_url: str) -> httpx.Response:
    """Send the README's sandbox alert, as its curl would, to the sandbox at ``base_url``."""
    sent = curl_request(sandbox_curl())
    url = sent.url.replace(SANDBOX_URL, base_url)
    return httpx.request(sent.method, url, headers=sent.headers, content=sent.body, timeout=30)
