"""Plausible Research API data: public videos by query, user profiles, followers and following."""

from __future__ import annotations

import datetime
import hashlib
import itertools
from collections.abc import Mapping
from typing import Any

from ._data import World
from ._family import invalid, whole
from ._research_corpus import Corpus, day_number
from ._research_lists import VIDEO_FIELDS, ResearchLists, field_names
from ._research_query import compile_query

MAX_RESEARCH_COUNT = 100
MAX_SPAN_DAYS = 30
# Searches whose pages are kept; a crawl past that many starts its pages over.
_SEARCHES_KEPT = 256


class Research:
    """The Research API over the world's videos, with search ids that pin a result set."""

    def __init__(self, world: World) -> None:
        self.world = world
        # search_id -> cursor -> where that cursor's match lies (day, place, matches to skip)
        self._searches: dict[str, dict[int, tuple[int, int, int]]] = {}
        self.corpus = Corpus(world, world.seed)
        self._ids = itertools.count(1)
        self.lists = ResearchLists(world, self.corpus)

    def video_query(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        """The videos ``query`` selects, created from start_date to end_date (UTC days).

        A page resumes where the one before it stopped (kept by search_id and cursor),
        so it costs what it scans, not the cursor.
        """
        names = field_names(query, VIDEO_FIELDS)
        match = compile_query(body.get("query"))
        start = _date(body, "start_date")
        end = _date(body, "end_date")
        if not 0 <= (end - start).days <= MAX_SPAN_DAYS:
            raise invalid(f"end_date must be 0 to {MAX_SPAN_DAYS} days after start_date")
        count = whole(body.get("max_count"), "max_count", 20, 1, MAX_RESEARCH_COUNT)
        cursor = whole(body.get("cursor"), "cursor", 0, 0, None)
        search_id = body.get("search_id")
        if cursor and search_id not in self._searches:
            raise invalid("a cursor past 0 needs the search_id of the first page")
        if not search_id:
            search_id = f"{7_300_000_000_000_000_000 + next(self._ids)}"
            if len(self._searches) >= _SEARCHES_KEPT:
                self._searches.clear()
            self._searches[search_id] = {}
        first, last = day_number(start), day_number(end)
        resumes = self._searches[search_id]
        # Where the match at ``cursor`` lies; without a record, counted from the start.
        start_day, start_place, skip = resumes.get(cursor, (first, 0, cursor))
        found: list[dict[str, Any]] = []
        has_more = False
        for day, place, record in self.corpus.scan(start_day, start_place, last):
            if not match(record):
                continue
            if skip:
                skip -= 1
            elif len(found) == count:
                has_more = True
                resumes[cursor + count] = (day, place, 0)
                break
            else:
                found.append(self.corpus.video(day, place))
        return {
            "videos": [{k: video[k] for k in names} for video in found],
            "cursor": cursor + len(found),
            "has_more": has_more,
            "search_id": search_id,
        }

    def user_info(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        name = _username(body)
        n = _digest(name)
        return {
            "display_name": name.replace(".", " ").title(), "bio_description": "simulated",
            "avatar_url": f"https://p16-sign.tiktokcdn.com/avatar/{n % 10**9}.jpeg",
            "is_verified": n % 7 == 0, "follower_count": self._followers(name),
            "following_count": self._following(name), "likes_count": n % 10**6,
            "video_count": n % 400,
        }  # fmt: skip

    def followers(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        name = _username(body)
        return self._page(body, "user_followers", "follower", self._followers(name))

    def following(self, query: Mapping[str, str], body: dict[str, Any], now: float) -> Any:
        name = _username(body)
        return self._page(body, "user_following", "followed", self._following(name))

    def _page(self, body: dict[str, Any], key: str, kind: str, total: int) -> Any:
        count = whole(body.get("max_count"), "max_count", 20, 1, MAX_RESEARCH_COUNT)
        cursor = whole(body.get("cursor"), "cursor", 0, 0, None)
        end = min(cursor + count, total)
        users = [
            {"display_name": f"Simulated {kind} {i}", "username": f"{kind}.{i}"}
            for i in range(cursor, end)
        ]
        return {key: users, "cursor": end, "has_more": end < total}

    def _followers(self, name: str) -> int:
        return 50 + _digest(name) % 250

    def _following(self, name: str) -> int:
        return 10 + _digest("following:" + name) % 120


def _date(body: Mapping[str, Any], name: str) -> datetime.date:
    raw = body.get(name)
    try:
        return datetime.datetime.strptime(str(raw), "%Y%m%d").date()
    except ValueError:
        raise invalid(f"{name} must be a date such as '20240131'") from None


def _username(body: Mapping[str, Any]) -> str:
    name = body.get("username")
    if not isinstance(name, str) or not name.strip():
        raise invalid("username is required")
    return name.strip()


def _digest(text: str) -> int:
    # A stable number per username, so a user looks the same across runs.
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
