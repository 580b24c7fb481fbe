"""The public videos the Research API searches: each UTC day has its own, made from the day.

Day ``d`` holds :data:`PER_DAY` generated videos (their ids encode the day and place, so
one is found again from its id without a search), then the world's own videos created
that day. Everything about a generated video, its comments too, is a function of the
seed, the day and its place, so every run sees the same corpus, and a page costs what
it scans, not the size of the world.
"""

from __future__ import annotations

import datetime
import hashlib
import random
from collections.abc import Iterator, Mapping
from typing import Any

from ._data import Comment, World
from ._research_lists import REGIONS, VIDEO_FIELDS, research_video
from ._research_query import FIELDS, Record, length_of, record_of

PER_DAY = 120
_DAY = 86400
_EPOCH = datetime.date(1970, 1, 1).toordinal()
_BASE = 7_300_000_000_000_000_000
USERNAMES = tuple(
    f"{a}.{b}" for a in ("sunny", "urban", "pixel", "wild") for b in ("fox", "owl", "bee", "koi")
)
HASHTAGS = (
    "fyp", "dance", "recipe", "travel", "cats", "comedy", "diy", "fitness", "music",
    "fashion", "gaming", "science", "books", "art", "sports", "coffee",
)  # fmt: skip
WORDS = ("sunset", "tutorial", "vlog", "challenge", "remix", "morning", "city", "beach", "prank")
Video = dict[str, Any]


class Corpus:
    """Research videos by day; ``world`` adds the creator's own videos on their days."""

    def __init__(self, world: World, seed: int = 0) -> None:
        self.world, self.seed = world, seed
        self._by_day: dict[int, list[Video]] = {}
        self._indexed = -1
        self._comments: dict[str, list[Comment]] = {}

    def scan(self, day: int, place: int, last: int) -> Iterator[tuple[int, int, Record]]:
        """The searchable values of each video from day ``day`` (days since 1970), ``place``
        on, through day ``last``, with its position (day, place); :meth:`video` makes it."""
        own = self._own()
        while day <= last:
            mine = own.get(day, [])
            while place < PER_DAY + len(mine):
                if place < PER_DAY:
                    record: Record = _Generated(day, place, _digest(f"{self.seed}:{day}:{place}"))
                else:
                    record = record_of(self.video(day, place))
                yield day, place, record
                place += 1
            day, place = day + 1, 0

    def video(self, day: int, place: int) -> Video:
        """The whole video at this position (every Research field)."""
        if place < PER_DAY:
            return self.generated(day, place)
        own: Video = research_video(self.world, self._own()[day][place - PER_DAY], VIDEO_FIELDS)
        return own

    def generated(self, day: int, place: int) -> Video:
        n = _digest(f"{self.seed}:{day}:{place}")
        vid, tags, words = _id(day, place, n), _tags(n), _words(n)
        spacing = _DAY // PER_DAY
        return {
            "id": vid, "create_time": day * _DAY + place * spacing + n % spacing,
            "username": USERNAMES[(n >> 24) % len(USERNAMES)],
            "region_code": REGIONS[n % len(REGIONS)],
            "video_description": f"{words} " + " ".join(f"#{t}" for t in tags),
            "music_id": 6_900_000_000 + (n >> 28) % 10**6, "like_count": (n >> 32) % 50_000,
            "comment_count": len(self._comment_rng(str(vid))), "share_count": (n >> 36) % 2000,
            "view_count": 100 + (n >> 40) % 10**6, "hashtag_names": list(tags),
            "is_stem_verified": n % 11 == 0, "favourites_count": (n >> 44) % 5000,
            "video_duration": 5 + (n >> 48) % 400,
            "effect_ids": [str(n % 10**6)] if n % 4 == 0 else [],
            "playlist_id": 0, "voice_to_text": "", "video_mention_list": [],
            "hashtag_info_list": [{"hashtag_name": t} for t in tags],
            "video_label": {"content": ""},
        }  # fmt: skip

    def find(self, video_id: str) -> Video | None:
        """The generated video with this id, or None (its id says its day and place)."""
        if not video_id.isdigit() or int(video_id) < _BASE:
            return None
        day, place = divmod((int(video_id) - _BASE) // 10**5, 1000)
        if place >= PER_DAY:
            return None
        video = self.generated(day, place)
        return video if str(video["id"]) == video_id else None

    def comments(self, video_id: str) -> list[Comment]:
        """A generated video's comments, made once, the same in every run."""
        found = self._comments.get(video_id)
        if found is None:
            video = self.find(video_id)
            rng = random.Random(video_id)
            found = []
            for k in range(len(self._comment_rng(video_id))):
                found.append(Comment(
                    id=str(_BASE + 10**17 + int(video_id) % 10**15 * 100 + k), video_id=video_id,
                    text=rng.choice(("love this", "so good", "again!!", "where is this?")),
                    create_time=(video["create_time"] if video else 0) + 60 * (k + 1),
                    username=f"viewer{rng.randrange(1, 10**6)}", like_count=rng.randrange(0, 500),
                ))  # fmt: skip
            self._comments[video_id] = found
        return found

    def _comment_rng(self, video_id: str) -> range:
        return range(_digest(f"comments:{video_id}") % 13)

    def _own(self) -> Mapping[int, list[Video]]:
        # The world's videos by UTC day, rebuilt only when the world's videos change.
        videos = self.world.videos
        if self._indexed != len(videos):
            self._by_day = {}
            for video in sorted(videos, key=lambda v: v["create_time"]):
                self._by_day.setdefault(video["create_time"] // _DAY, []).append(video)
            self._indexed = len(videos)
        return self._by_day


class _Generated(Mapping[str, tuple[str, ...]]):
    """A generated video's searchable values, each made only when a condition asks for it:
    most videos a page scans fail the first condition, so they are never made whole."""

    __slots__ = ("day", "n", "place")

    def __init__(self, day: int, place: int, n: int) -> None:
        self.day, self.place, self.n = day, place, n

    def __getitem__(self, name: str) -> tuple[str, ...]:
        n = self.n
        if name == "region_code":
            return (REGIONS[n % len(REGIONS)],)
        if name == "username":
            return (USERNAMES[(n >> 24) % len(USERNAMES)],)
        if name == "hashtag_name":
            return _tags(n)
        if name == "keyword":
            return ((_words(n) + " " + " ".join(f"#{t}" for t in _tags(n))).lower(),)
        if name == "video_id":
            return (str(_id(self.day, self.place, n)),)
        if name == "music_id":
            return (str(6_900_000_000 + (n >> 28) % 10**6),)
        if name == "effect_id":
            return (str(n % 10**6),) if n % 4 == 0 else ()
        if name == "video_length":
            return (length_of(5 + (n >> 48) % 400),)
        if name == "create_date":
            return (f"{datetime.date.fromordinal(self.day + _EPOCH):%Y%m%d}",)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(FIELDS)

    def __len__(self) -> int:
        return len(FIELDS)


def _id(day: int, place: int, n: int) -> int:
    return _BASE + (day * 1000 + place) * 10**5 + n % 10**5


def _tags(n: int) -> tuple[str, ...]:
    return tuple(dict.fromkeys((HASHTAGS[(n >> 8) % 16], HASHTAGS[(n >> 12) % 16])))


def _words(n: int) -> str:
    return f"{WORDS[(n >> 16) % len(WORDS)]} {WORDS[(n >> 20) % len(WORDS)]}"


def day_number(date: datetime.date) -> int:
    return date.toordinal() - _EPOCH


def _digest(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
