"""Helpers of the emulator tests: a plain-requests reader of the emulated API."""

from __future__ import annotations

from typing import Any

import requests

# A quiet working-day hour of the default dataset (2024-03-05 10:00 UTC, a Tuesday).
T0 = 1709632800
HOUR = 3600


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def get_logs(session: requests.Session, emu: Any, token: str | None = None, **params: Any) -> requests.Response:
    headers = auth(token or emu.token)
    return session.get(emu.base_url + "logs", params=params, headers=headers, timeout=30)


def read_all(session: requests.Session, emu: Any, **params: Any) -> tuple[list[dict], list[dict]]:
    """Every entry of a window the correct way (bounds and filters with every cursor); also the pages."""
    entries: list[dict] = []
    pages: list[dict] = []
    cursor = None
    while True:
        query = dict(params)
        if cursor:
            query["cursor"] = cursor
        response = get_logs(session, emu, **query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        entries.extend(body["entries"])
        cursor = body["response_metadata"]["next_cursor"]
        if not cursor:
            return entries, pages
