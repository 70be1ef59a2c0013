"""Deterministic audit events at any scale, generated on demand and never materialised.

The model: time is cut into hour blocks. A block's per-second event counts come from a PRNG
seeded with ``(seed, block)`` (a Poisson process whose rate follows the hour of the week, plus
occasional *bursts*: hundreds of events in one second). Event ``i`` of second ``s`` is derived
from a 64-bit hash of ``(seed, s, i)``: first a cheap *skeleton* (action, actor, entity) that the
``action``/``actor``/``entity`` filters test, then, only for entries that pass, the JSON text of
the entry. Most entries reuse one of 32,768 pre-drawn *bodies* (who did what to which object from
which device, with its details) whose JSON is rendered once and cached, so an entry costs little
more than formatting its id and ``date_create``; burst seconds and actions with per-event values
(huddles, messages, anomalies, exports) are rendered per entry from cached fragments. The same code
serves the HTTP API and :meth:`Dataset.events`, so the oracle tests use cannot drift from what the
server sends. Memory stays bounded (block counts are cached in an LRU; fragments per pool object).

Within one second, entries are ordered by index; across seconds, newest first.
"""

from __future__ import annotations

import bisect
import calendar
import json
import math
import random
import threading
import time
import unicodedata
from array import array
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from airflow_provider_slack_audit.emulator import catalog

MASK64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15

#: The first second for which Slack has audit data (the API answers ``invalid_range`` before it).
AUDIT_LOGS_EPOCH = calendar.timegm((2018, 3, 15, 0, 0, 0))
#: Default span of the generated data: the whole of 2024, UTC, both ends inclusive.
DEFAULT_START = calendar.timegm((2024, 1, 1, 0, 0, 0))
DEFAULT_END = calendar.timegm((2024, 12, 31, 23, 59, 59))
DEFAULT_EVENTS_PER_HOUR = 1000.0
_MAX_PER_SECOND = 65535
_BLOCK = 3600
_MAX_CACHED_BLOCKS = 512


def _mix(x: int) -> int:
    """SplitMix64 finaliser: a fast, well-spread 64-bit hash of an integer."""
    x = (x + _GOLDEN) & MASK64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
    return x ^ (x >> 31)


_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_B36_PAIRS = tuple(a + b for a in _B36 for b in _B36)


def _slack_id(prefix: str, h: int, length: int = 10) -> str:
    """A Slack-style id: a prefix and ``length`` (at most 12) upper-case letters and digits from ``h``."""
    p = _B36_PAIRS
    return prefix + (
        p[h % 1296] + p[(h >> 11) % 1296] + p[(h >> 22) % 1296] + p[(h >> 33) % 1296] + p[(h >> 44) % 1296]
        + p[(h >> 53) % 1296]
    )[:length]  # fmt: skip


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"))


# Hour-of-day activity (UTC) on a weekday; weekends run at 35 %. Normalised to a mean of 1.
_WEEKDAY_CURVE = (
    0.35, 0.3, 0.28, 0.28, 0.3, 0.4, 0.6, 0.9, 1.3, 1.6, 1.7, 1.7,
    1.6, 1.6, 1.7, 1.6, 1.4, 1.1, 0.8, 0.6, 0.5, 0.45, 0.4, 0.38,
)  # fmt: skip
_WEEK = [v * (0.35 if day >= 5 else 1.0) for day in range(7) for v in _WEEKDAY_CURVE]
_WEEK_MEAN = sum(_WEEK) / len(_WEEK)
_HOUR_OF_WEEK_FACTOR = tuple(v / _WEEK_MEAN for v in _WEEK)

_FIRST = (
    "Charlie", "Ella", "Miles", "Billie", "Dizzy", "Sarah", "Thelonious", "Nina", "Chet", "Ornette",
    "Mary Lou", "Herbie", "Alice", "Wayne", "Carla", "Sonny", "Esperanza", "Kamasi", "Norah", "Art",
    "Zoë", "José", "Renée", "Søren", "Aiko", "Nnamdi", "Priya", "Mateus", "Ilse", "Kenji",
)  # fmt: skip
_LAST = (
    "Parker", "Fitzgerald", "Davis", "Holiday", "Gillespie", "Vaughan", "Monk", "Simone", "Baker",
    "Coleman", "Williams", "Hancock", "Coltrane", "Shorter", "Bley", "Rollins", "Spalding",
    "Washington", "Jones", "Blakey", "Müller", "Núñez", "O'Brien", "Kowalski", "Tanaka", "Okafor",
)  # fmt: skip
_WORDS = (
    "alpha", "apollo", "atlas", "beacon", "bebop", "cobalt", "delta", "ember", "falcon", "galaxy",
    "harbor", "indigo", "juniper", "kepler", "lumen", "meridian", "nimbus", "orbit", "pioneer",
    "quartz", "redwood", "sierra", "tundra", "umbra", "vertex", "willow", "zephyr", "payments",
    "onboarding", "security", "incident", "release", "marketing", "finance", "legal", "hiring",
)  # fmt: skip
_CHANNEL_PREFIX = ("proj", "team", "ext", "help", "announce", "incident", "sales", "eng", "ops", "social")
_FILE_KINDS = (
    ("pdf", "pdf"), ("docx", "docx"), ("xlsx", "xlsx"), ("png", "png"), ("jpg", "jpg"),
    ("csv", "csv"), ("zip", "zip"), ("txt", "text"), ("pptx", "pptx"), ("mp4", "mp4"), ("key", "key"),
)  # fmt: skip
_UAS = tuple(
    _dumps(ua)
    for ua in (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/123.0.0.0 Safari/537.36 Edg/123.0.0.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Slack/4.38.125 Chrome/122.0.6261.156 Electron/29.4.0 Safari/537.36 Sonic",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Slack/4.37.101 Chrome/120.0.6099.291 Electron/28.2.10 Safari/537.36 Sonic",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "com.tinyspeck.chatlyio/24.04.10 (iPhone; iOS 17.4.1; Scale/3.00)",
        "Slack/24.04.10.0 (samsung SM-S918B; Android 14)",
        "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.4 Mobile/15E148 Safari/604.1",
        "SlackCLI/2.26.0 (darwin arm64)",
        "Go-http-client/2.0",
        "python-requests/2.31.0",
        "",
    )
)
_SCOPES = (
    "channels:read", "chat:write", "files:read", "users:read", "users:read.email", "groups:read",
    "im:history", "admin.conversations:write", "commands", "incoming-webhook", "reactions:read",
)  # fmt: skip
_RETENTION = ("RETAIN_ALL", "RETAIN_MSGS", "EXPIRE_ALL", "EXPIRE_MSGS")
_ROLE_NAMES = (
    ("Rl0001", "Channel Manager", "system"), ("Rl0002", "Workflow Admin", "system"),
    ("Rl0003", "Users Admin", "system"), ("Rl0004", "Roles Admin", "system"),
    ("Rl0005", "Channels Admin", "system"), ("Rl0006", "Conversation Admin", "system"),
    ("Rl0007", "Audit Logs Reader", "custom"), ("Rl0008", "Compliance Reviewer", "custom"),
)  # fmt: skip
_ACCOUNT_TYPE_ROLES = (
    ("Rl0A01", "Org Primary Owner"), ("Rl0A02", "Org Owner"), ("Rl0A03", "Org Admin"),
    ("Rl0A04", "Workspace Admin"), ("Rl0A05", "Regular Member"), ("Rl0A06", "Multi-Channel Guest"),
)  # fmt: skip
_ANOMALY_REASONS = (
    "asn", "ip_address", "tor", "unexpected_client", "unexpected_user_agent", "session_fingerprint",
    "excessive_downloads", "unexpected_scraping", "unexpected_admin_action",
)  # fmt: skip

# Pool sizes: how many distinct users, channels, files, ... an organisation has.
_N_WORKSPACES = 6
_N_USERS = 5000
_N_CHANNELS = 3000
_N_FILES = 500_000
_N_APPS = 60
_N_USERGROUPS = 150
_N_WORKFLOWS = 120
_N_BARRIERS = 8
_N_LISTS = 20_000
_N_CANVASES = 40_000
_N_HUDDLES = 50_000

_POOL_SIZE = {
    "workspace": _N_WORKSPACES,
    "enterprise": 1,
    "user": _N_USERS,
    "file": _N_FILES,
    "channel": _N_CHANNELS,
    "app": _N_APPS,
    "workflow": _N_WORKFLOWS,
    "barrier": _N_BARRIERS,
    "message": _N_CHANNELS,
    "huddle": _N_HUDDLES,
    "role": len(_ROLE_NAMES),
    "usergroup": _N_USERGROUPS,
    "workflow_v2": _N_WORKFLOWS,
    "account_type_role": len(_ACCOUNT_TYPE_ROLES),
    "list": _N_LISTS,
    "canvas": _N_CANVASES,
}
_ID_PREFIX = {
    "workspace": "T",
    "enterprise": "E",
    "user": "W",
    "file": "F",
    "channel": "C",
    "app": "A",
    "workflow": "Wf",
    "barrier": "Ib",
    "huddle": "R",
    "usergroup": "S",
    "workflow_v2": "Wf",
    "list": "F",
    "canvas": "F",
}
_SALT = {name: _mix(i + 0x1000) for i, name in enumerate(sorted(_POOL_SIZE))}

#: Actor kinds of a skeleton.
ACTOR_USER, ACTOR_APP, ACTOR_SECURITY = 0, 1, 2
_ACTOR_POOL = (_N_USERS, _N_APPS, 1)
SLACK_SECURITY_ID = "USLACKSECURITY"

_ACTION_SCALE = 1 << 20
#: Distinct pre-drawn entry bodies (action, actor, entity, device, details) most entries reuse.
_BODY_POOL = 1 << 15
_BODY_MASK = _BODY_POOL - 1
_SPECS = catalog.ACTION_SPECS
_ACTION_INDEX = {spec.name: i for i, spec in enumerate(_SPECS)}
_cum, _acc = [], 0
_total_weight = sum(spec.weight for spec in _SPECS)
for _spec in _SPECS:
    _acc += _spec.weight
    _cum.append(_acc * _ACTION_SCALE // _total_weight)
_ACTION_CUM = tuple(_cum)
_ACTION_NAMES = tuple(spec.name for spec in _SPECS)
_ACTION_ENTITY = tuple(spec.entity_type for spec in _SPECS)
_ACTION_ACTOR = tuple(
    ACTOR_APP
    if spec.name in catalog.APP_ACTOR_ACTIONS
    else ACTOR_SECURITY
    if spec.name in catalog.SLACK_SECURITY_ACTIONS
    else ACTOR_USER
    for spec in _SPECS
)
_ACTION_SELF = tuple(spec.name in catalog.SELF_ACTIONS for spec in _SPECS)
_BURST_ACTIONS = tuple(_ACTION_INDEX[name] for name in catalog.BURST_ACTIONS)


def action_indexes(names: Iterable[str]) -> frozenset[int]:
    """Indexes of known action names (the caller has checked they are known)."""
    return frozenset(_ACTION_INDEX[name] for name in names)


@dataclass(frozen=True)
class DatasetConfig:
    """What data the emulated organisation has.

    Attributes:
        seed: Everything generated derives from it; same seed, same events, byte for byte.
        start: First second with events (unix seconds, inclusive).
        end: Last second with events (unix seconds, inclusive); ``None`` means "up to now":
            events keep arriving in real time.
        events_per_hour: Average number of events per hour over the span (bursts included).
        bursts_per_hour: Average number of burst seconds per hour (one second holding far more
            events than a page's ``limit``).
        ingest_lag: Up to this many seconds pass between an event's ``date_create`` and the moment
            the API shows it (each event gets its own lag): out-of-order arrival, as a collector
            that reads up to "now" sees it. 0 = events are visible at once.
    """

    seed: int = 0
    start: int = DEFAULT_START
    end: int | None = DEFAULT_END
    events_per_hour: float = DEFAULT_EVENTS_PER_HOUR
    bursts_per_hour: float = 0.25
    ingest_lag: int = 0

    def __post_init__(self) -> None:
        if self.start < AUDIT_LOGS_EPOCH:
            raise ValueError(
                f"start={self.start} is before 2018-03-15 ({AUDIT_LOGS_EPOCH}), when Slack's audit data "
                "begins; pick a later start"
            )
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end={self.end} is before start={self.start}; swap or widen them")
        if not (0 <= self.events_per_hour <= 50_000_000):
            raise ValueError(f"events_per_hour={self.events_per_hour} must be between 0 and 50,000,000")
        if self.bursts_per_hour < 0:
            raise ValueError(f"bursts_per_hour={self.bursts_per_hour} must be >= 0")
        if self.ingest_lag < 0:
            raise ValueError(f"ingest_lag={self.ingest_lag} must be >= 0 seconds")


@dataclass(frozen=True)
class Filters:
    """The ``logs`` filters, already validated: action indexes, actor id, entity id (``None`` = any)."""

    actions: frozenset[int] | None = None
    actor: str | None = None
    entity: str | None = None

    @classmethod
    def make(
        cls, action: str | Sequence[str] | None = None, actor: str | None = None, entity: str | None = None
    ) -> Filters:
        """Build filters from API-style values (``action`` may be a comma list or a sequence)."""
        if action is None or action == "":
            actions = None
        else:
            names = action.split(",") if isinstance(action, str) else list(action)
            unknown = [n for n in names if n not in catalog.KNOWN_ACTIONS]
            if unknown:
                raise ValueError(f"unknown action(s) {unknown}; see GET actions for the names")
            actions = action_indexes(names)
        return cls(actions, actor or None, entity or None)


@dataclass(frozen=True)
class Page:
    """One page of rendered entries (JSON text each) and where the next page starts."""

    entries: list[str]
    next_second: int | None  # None: no more data in the window


class Dataset:
    """The event stream of one emulated organisation (thread-safe, bounded memory)."""

    def __init__(self, config: DatasetConfig | None = None) -> None:
        self.config = config or DatasetConfig()
        cfg = self.config
        self._seed_key = _mix(cfg.seed * 0x2545F4914F6CDD1D + 0x7F4A7C15)
        self._id_key32 = self._seed_key & 0xFFFFFFFF
        self._blocks: OrderedDict[int, array] = OrderedDict()
        self._lock = threading.Lock()
        self._empty = array("H", bytes(2 * _BLOCK))
        scale = min(5.0, max(1.0, cfg.events_per_hour / 5000.0))
        peak_lambda = cfg.events_per_hour / 3600.0 * max(_HOUR_OF_WEEK_FACTOR)
        self._burst_min = max(40, int(3 * peak_lambda + 10))
        self._burst_max = self._burst_min + int(560 * scale)
        mean_burst = cfg.bursts_per_hour * (self._burst_min + self._burst_max) / 2
        self._base_per_hour = max(cfg.events_per_hour - mean_burst, cfg.events_per_hour * 0.5)
        if cfg.events_per_hour == 0:
            self._base_per_hour = 0.0
            self._bursts_per_hour = 0.0
        else:
            self._bursts_per_hour = cfg.bursts_per_hour
        self._frag_cache: dict[tuple[str, int], str] = {}
        # Rendered JSON fragments, by pool index (lists: the fastest lookup in the hot loop).
        self._entity_frags: dict[str, list[str | None]] = {
            t: [None] * n for t, n in _POOL_SIZE.items() if t not in ("file", "message", "huddle")
        }
        self._ids: dict[str, list[str | None]] = {
            t: [None] * n for t, n in _POOL_SIZE.items() if t not in ("file", "huddle", "message")
        }
        self._body_skels: list[tuple[int, int, int, int, int] | None] = [None] * _BODY_POOL
        self._body_tails: list[str | None] = [None] * _BODY_POOL
        self._participants: dict[int, str] = {}
        self._actor_frags: list[list[str | None]] = [[None] * _N_USERS, [None] * _N_APPS, [None]]
        self._context_frags: list[list[str | None]] = [[None] * (_N_USERS * 4), [None] * (_N_APPS * 4), [None] * 4]
        self._enterprise_id = _slack_id("E", _mix(self._seed_key ^ 0xE), 8)
        self._enterprise_name = ("Birdland", "Blue Note", "Village Vanguard", "Minton's")[cfg.seed % 4]

    def warm(self) -> None:
        """Render the fragments every page needs (users, their devices, channels, apps, ...) now,
        so the first pages are as fast as later ones. Optional; takes well under a second."""
        for idx in range(_N_USERS):
            self._actor_frag(ACTOR_USER, idx)
            for device in range(4):
                self._context_frag(ACTOR_USER, idx, device)
        for idx in range(_N_APPS):
            self._actor_frag(ACTOR_APP, idx)
        for etype in ("user", "channel", "app", "workspace", "usergroup", "workflow", "workflow_v2"):
            for idx in range(_POOL_SIZE[etype]):
                self._frag(etype, idx)

    # ------------------------------------------------------------------ counts
    def _block(self, b: int) -> array:
        with self._lock:
            counts = self._blocks.get(b)
            if counts is not None:
                self._blocks.move_to_end(b)
                return counts
        counts = self._generate_block(b)
        with self._lock:
            self._blocks[b] = counts
            while len(self._blocks) > _MAX_CACHED_BLOCKS:
                self._blocks.popitem(last=False)
        return counts

    def _generate_block(self, b: int) -> array:
        cfg = self.config
        bstart = b * _BLOCK
        if bstart + _BLOCK - 1 < cfg.start or (cfg.end is not None and bstart > cfg.end):
            return self._empty
        rng = random.Random(_mix(self._seed_key ^ _mix(b + 0x5851F42D4C957F2D)))
        counts = array("H", bytes(2 * _BLOCK))
        hour_of_week = ((bstart // 86400 + 3) % 7) * 24 + (bstart // 3600) % 24
        lam_h = self._base_per_hour * _HOUR_OF_WEEK_FACTOR[hour_of_week]
        lam = lam_h / _BLOCK
        if lam <= 0:
            pass
        elif lam < 6:  # a Poisson process: exponential gaps between events
            expo = rng.expovariate
            t = expo(lam)
            while t < _BLOCK:
                i = int(t)
                if counts[i] < _MAX_PER_SECOND:
                    counts[i] += 1
                t += expo(lam)
        else:  # many per second: Poisson counts, normal approximation
            sd = math.sqrt(lam)
            gauss = rng.gauss
            for i in range(_BLOCK):
                v = int(gauss(lam, sd) + 0.5)
                if v > 0:
                    counts[i] = min(v, _MAX_PER_SECOND)
        # bursts: a Poisson number of seconds that hold hundreds of events each
        if self._bursts_per_hour > 0:
            limit, k, p = math.exp(-self._bursts_per_hour), 0, rng.random()
            while p > limit:
                k += 1
                p *= rng.random()
            for _ in range(k):
                i = rng.randrange(_BLOCK)
                counts[i] = min(_MAX_PER_SECOND, counts[i] + rng.randint(self._burst_min, self._burst_max))
        # clip to the span
        lo = cfg.start - bstart
        if lo > 0:
            counts[:lo] = array("H", bytes(2 * lo))
        if cfg.end is not None:
            hi = cfg.end - bstart
            if hi < _BLOCK - 1:
                n = _BLOCK - 1 - hi
                counts[hi + 1 :] = array("H", bytes(2 * n))
        return counts

    def count_in_second(self, second: int) -> int:
        """How many events (unfiltered, visibility ignored) carry ``date_create == second``."""
        return self._block(second // _BLOCK)[second % _BLOCK]

    def count(self, oldest: int, latest: int) -> int:
        """Unfiltered number of events in ``[oldest, latest]`` (visibility ignored). Cheap: counts only."""
        return sum(c for _, c in self.seconds(latest, oldest))

    def seconds(self, hi: int, lo: int) -> Iterator[tuple[int, int]]:
        """(second, count) of every non-empty second in ``[lo, hi]``, newest first (counts only, cheap)."""
        cfg = self.config
        lo = max(lo, cfg.start)
        if cfg.end is not None:
            hi = min(hi, cfg.end)
        if hi < lo:
            return
        b = hi // _BLOCK
        while True:
            bstart = b * _BLOCK
            if bstart + _BLOCK - 1 < lo:
                return
            counts = self._block(b)
            i_lo = max(lo - bstart, 0)
            for i in range(min(hi - bstart, _BLOCK - 1), i_lo - 1, -1):
                c = counts[i]
                if c:
                    yield bstart + i, c
            b -= 1

    # --------------------------------------------------------------- skeletons
    def _second_key(self, second: int) -> int:
        return _mix(self._seed_key ^ (second * 0xD1342543DE82EF95 & MASK64))

    def _skeleton(self, h: int, burst: tuple[int, int] | None) -> tuple[int, int, int, int, int]:
        """(action index, actor kind, actor index, entity index, body) of the entry with hash ``h``.

        Most entries take one of ``_BODY_POOL`` pre-drawn bodies (who did what to which object,
        from which device): ``body`` is its index, and its rendered JSON is cached. Entries of a
        burst second (one action on one entity by many actors) are drawn per entry (``body`` -1).
        """
        if burst is not None and ((h >> 20) & 0xFF) < 218:
            action, entity_idx = burst
            kind = _ACTION_ACTOR[action]
            actor_idx = ((h >> 28) & 0xFFFF) % _ACTOR_POOL[kind]
            return action, kind, actor_idx, actor_idx if _ACTION_SELF[action] else entity_idx, -1
        b = (h >> 40) & _BODY_MASK
        return self._body_skels[b] or self._body_skeleton(b)

    def _body_skeleton(self, b: int) -> tuple[int, int, int, int, int]:
        hb = _mix(self._seed_key ^ 0xB0D1E5 ^ b)
        action = bisect.bisect_right(_ACTION_CUM, hb & 0xFFFFF)
        kind = _ACTION_ACTOR[action]
        actor_idx = ((hb >> 28) & 0xFFFF) % _ACTOR_POOL[kind]
        entity_idx = actor_idx if _ACTION_SELF[action] else (hb >> 44) % _POOL_SIZE[_ACTION_ENTITY[action]]
        skel = self._body_skels[b] = (action, kind, actor_idx, entity_idx, b)
        return skel

    def _body_tail(self, b: int) -> str:
        """The cached JSON of a pooled body: everything of an entry after ``date_create``."""
        tail = self._body_tails[b]
        if tail is None:
            tail = self._body_tails[b] = self._tail(0, _mix(self._seed_key ^ 0x7A11 ^ b), self._skeleton_of_body(b))
        return tail

    def _skeleton_of_body(self, b: int) -> tuple[int, int, int, int, int]:
        return self._body_skels[b] or self._body_skeleton(b)

    def _burst(self, second: int, count: int, skey: int) -> tuple[int, int] | None:
        if count < self._burst_min:
            return None
        action = _BURST_ACTIONS[skey % len(_BURST_ACTIONS)]
        return action, (skey >> 16) % _POOL_SIZE[_ACTION_ENTITY[action]]

    def actor_id(self, kind: int, idx: int) -> str:
        """The id the ``actor`` filter matches for an actor."""
        if kind == ACTOR_SECURITY:
            return SLACK_SECURITY_ID
        if kind == ACTOR_APP:
            return self.entity_id("app", idx)
        return self.entity_id("user", idx)

    def entity_id(self, etype: str, idx: int) -> str:
        """The id the ``entity`` filter matches for an entity (messages have none)."""
        if etype == "enterprise":
            return self._enterprise_id
        if etype == "role":
            return _ROLE_NAMES[idx][0]
        if etype == "account_type_role":
            return _ACCOUNT_TYPE_ROLES[idx][0]
        if etype == "message":
            return ""
        ids = self._ids.get(etype)
        if ids is None:  # files, huddles: too many to keep
            return _slack_id(_ID_PREFIX[etype], _mix(self._seed_key ^ _SALT[etype] ^ idx))
        eid = ids[idx]
        if eid is None:
            h = _mix(self._seed_key ^ _SALT[etype] ^ idx)
            eid = ids[idx] = _slack_id(_ID_PREFIX[etype], h, 10 if etype != "workspace" else 8)
        return eid

    # ---------------------------------------------------------------- fragments
    def _file_frag(self, idx: int) -> str:
        # Files are many (a cache would thrash): formatted directly; every piece is plain ASCII.
        h = _mix(self._seed_key ^ _SALT["file"] ^ idx ^ 0xF00D)
        word, word2 = _WORDS[h % len(_WORDS)], _WORDS[(h >> 12) % len(_WORDS)]
        ext, ftype = _FILE_KINDS[(h >> 20) % len(_FILE_KINDS)]
        return (
            f'{{"type":"file","file":{{"id":"{self.entity_id("file", idx)}","name":"{word}_{word2}_{idx}.{ext}",'
            f'"filetype":"{ftype}","title":"{word.title()} {word2} notes {idx % 97}"}}}}'
        )

    def _frag(self, etype: str, idx: int) -> str:
        if etype == "file":
            return self._file_frag(idx)
        frags = self._entity_frags[etype]
        frag = frags[idx]
        if frag is None:
            frag = frags[idx] = _dumps(self._entity_obj(etype, idx))
        return frag

    def _user_obj(self, idx: int) -> dict:
        h = _mix(self._seed_key ^ 0x5EED ^ idx)
        first, last = _FIRST[h % len(_FIRST)], _LAST[(h >> 8) % len(_LAST)]
        local = unicodedata.normalize("NFKD", f"{first.split()[0]}.{last}").encode("ascii", "ignore").decode()
        local = local.lower().replace("'", "")
        return {
            "id": self.entity_id("user", idx),
            "name": f"{first} {last}",
            "email": f"{local}{idx}@{self._domain()}.example.com",
            "team": self.entity_id("workspace", idx % _N_WORKSPACES) if idx % 7 else self._enterprise_id,
        }

    def _domain(self) -> str:
        return self._enterprise_name.lower().replace(" ", "").replace("'", "")

    def _entity_obj(self, etype: str, idx: int) -> dict:
        h = _mix(self._seed_key ^ _SALT[etype] ^ idx ^ 0xF00D)
        eid = self.entity_id(etype, idx)
        word, word2 = _WORDS[h % len(_WORDS)], _WORDS[(h >> 12) % len(_WORDS)]
        if etype == "user":
            body: dict = self._user_obj(idx)
        elif etype == "workspace":
            body = {"id": eid, "name": f"{self._enterprise_name} {word.title()}", "domain": f"{word}-{idx}"}
        elif etype == "enterprise":
            body = {"id": eid, "name": self._enterprise_name, "domain": self._domain()}
        elif etype == "channel":
            shared = (h >> 20) % 10 == 0
            body = {
                "id": eid,
                "privacy": "private" if (h >> 24) % 3 == 0 else "public",
                "name": f"{_CHANNEL_PREFIX[(h >> 28) % len(_CHANNEL_PREFIX)]}-{word}-{word2}-{idx}",
                "is_shared": shared,
                "is_org_shared": (h >> 32) % 4 == 0,
            }
            if shared:
                body["teams_shared_with"] = [self.entity_id("workspace", (idx + 1) % _N_WORKSPACES)]
        elif etype == "file":
            ext, ftype = _FILE_KINDS[(h >> 20) % len(_FILE_KINDS)]
            title = f"{word.title()} {word2} notes {idx % 97}"
            body = {"id": eid, "name": f"{word}_{word2}_{idx}.{ext}", "filetype": ftype, "title": title}
        elif etype == "app":
            body = {
                "id": eid,
                "name": f"{word.title()} {('Bot', 'Sync', 'Connector', 'Alerts', 'Reporter')[(h >> 20) % 5]}",
                "is_distributed": (h >> 24) % 2 == 0,
                "is_directory_approved": (h >> 25) % 3 == 0,
                "is_workflow_app": (h >> 26) % 4 == 0,
                "scopes": [_SCOPES[(h >> (30 + k)) % len(_SCOPES)] for k in range(1 + (h >> 40) % 4)],
            }
        elif etype == "workflow":
            body = {"id": eid, "name": f"{word.title()} request form"}
        elif etype == "workflow_v2":
            body = {
                "id": eid,
                "app_id": self.entity_id("app", idx % _N_APPS),
                "date_updated": self.config.start - 86400 * (idx % 300),
                "callback_id": f"{word}_{word2}_workflow",
                "name": f"{word.title()} {word2} approvals",
                "updated_by": self.entity_id("user", idx % _N_USERS),
                "step_configuration": [
                    {"name": "Send a message", "step_function_type": "builtin", "step_function_app_id": ""}
                ],
            }
        elif etype == "barrier":
            body = {
                "id": eid,
                "primary_usergroup": self.entity_id("usergroup", idx),
                "barriered_from_usergroups": [self.entity_id("usergroup", idx + 50)],
                "restricted_subjects": ["call", "dm", "file_share"][: 1 + idx % 3],
            }
        elif etype == "role":
            rid, name, rtype = _ROLE_NAMES[idx]
            body = {"id": rid, "name": name, "type": rtype}
        elif etype == "account_type_role":
            rid, name = _ACCOUNT_TYPE_ROLES[idx]
            body = {"id": rid, "name": name}
        elif etype == "usergroup":
            body = {"id": eid, "name": f"{word}-{word2}-team"}
        elif etype == "list":
            body = {"id": eid, "name": f"{word.title()} tracker {idx}"}
        elif etype == "canvas":
            body = {"id": eid, "name": f"{word}-{word2}-{idx}", "title": f"{word.title()} {word2} plan"}
        else:  # pragma: no cover - every type has a branch
            raise AssertionError(etype)
        return {"type": etype, etype: body}

    def _actor_frag(self, kind: int, idx: int) -> str:
        frag = self._actor_frags[kind][idx]
        if frag is None:
            if kind == ACTOR_SECURITY:
                obj: dict = {
                    "type": "user",
                    "user": {"id": SLACK_SECURITY_ID, "name": "Slack Security", "email": "", "team": ""},
                }
            elif kind == ACTOR_APP:
                obj = {"type": "app", "app": self._entity_obj("app", idx)["app"]}
            else:
                obj = {"type": "user", "user": self._user_obj(idx)}
            frag = self._actor_frags[kind][idx] = _dumps(obj)
        return frag

    def _location_frag(self, idx: int) -> str:
        key = ("location", idx)
        frag = self._frag_cache.get(key)
        if frag is None:
            if idx < 0:
                body = self._entity_obj("enterprise", 0)["enterprise"]
                obj = {"type": "enterprise", **body}
            else:
                obj = {"type": "workspace", **self._entity_obj("workspace", idx)["workspace"]}
            frag = _dumps(obj)
            self._frag_cache[key] = frag
        return frag

    # ------------------------------------------------------------------ render
    def _context_frag(self, kind: int, actor_idx: int, device: int) -> str:
        """The ``context`` of an actor on one of its devices: location, ua, ip and session id.

        Each user works from a few devices, so the context repeats per (actor, device) and is
        rendered once: the cheap path of the hot loop.
        """
        slot = actor_idx * 4 + device
        frag = self._context_frags[kind][slot]
        if frag is not None:
            return frag
        h = _mix(self._seed_key ^ 0xC0C0 ^ ((kind * 100_000 + actor_idx) * 4 + device))
        loc = -1 if device == 3 or kind != ACTOR_USER else actor_idx % _N_WORKSPACES
        sv = (h >> 56) & 0xFF
        session = (
            f'"{1_000_000_000_000 + h % 8_999_999_999_999}"'
            if sv < 80
            else str(1_000_000_000_000 + h % 8_999_999_999_999)
            if sv < 230
            else "null"
        )
        ipv = (h >> 16) & 0xFFFFFFFF
        ip = (
            f"2001:db8:{ipv >> 16:x}:{ipv & 0xFFFF:x}::{(h >> 4) & 0xFFF:x}"
            if (h & 0xF) == 0
            else f"{1 + (ipv >> 24) % 223}.{(ipv >> 16) & 0xFF}.{(ipv >> 8) & 0xFF}.{1 + ipv % 254}"
        )
        ua = '""' if kind == ACTOR_SECURITY else _UAS[(h >> 20) % len(_UAS)]
        app = ',"app":' + _dumps(self._entity_obj("app", actor_idx)["app"]) if kind == ACTOR_APP else ""
        frag = f'{{"location":{self._location_frag(loc)},"ua":{ua},"ip_address":"{ip}","session_id":{session}{app}}}'
        self._context_frags[kind][slot] = frag
        return frag

    def _id_prefix(self, second: int) -> str:
        return f"{(second * 0x9E3779B1 + self._id_key32) & 0xFFFFFFFF:08x}-"

    def _render(
        self, second: int, index: int, h: int, skel: tuple[int, int, int, int, int], id_prefix: str | None = None
    ) -> str:
        """The JSON text of one entry (the slow path: pooled bodies are joined in :meth:`page`)."""
        x = ((h ^ 0xA5A5A5A5DEADBEEF) + _GOLDEN) & MASK64  # _mix, inlined
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
        h2 = x ^ (x >> 31)
        b = skel[4]
        tail = self._body_tail(b) if b >= 0 and not _ACTION_DYNAMIC[skel[0]] else self._tail(second, h2, skel)
        # unique per (second, index): the prefix is a bijection of the second, then the index
        return (
            f'{{"id":"{id_prefix or self._id_prefix(second)}{index ^ (self._id_key32 & 0xFFFF):04x}-'
            f'{0x4000 | (h & 0x0FFF):04x}-{0x8000 | ((h >> 12) & 0x3FFF):04x}-{(h >> 16) & 0xFFFFFFFFFFFF:012x}",'
            f'"date_create":{second},{tail}}}'
        )

    def _tail(self, second: int, h2: int, skel: tuple[int, int, int, int, int]) -> str:
        """``"action":...,"actor":...,"entity":...,"context":...,"details":...`` of an entry."""
        action, kind, actor_idx, entity_idx, _ = skel
        etype = _ACTION_ENTITY[action]
        name = _ACTION_NAMES[action]
        if etype == "message":
            entity = (
                f'{{"type":"message","message":{{"channel":"{self.entity_id("channel", entity_idx)}",'
                f'"team":"{self.entity_id("workspace", entity_idx % _N_WORKSPACES)}",'
                f'"timestamp":"{second - (h2 >> 40) % 86400}.{(h2 >> 8) % 1000000:06d}"}}}}'
            )
        elif etype == "huddle":
            key = actor_idx * 8 + (h2 >> 52) % 5
            participants = self._participants.get(key)
            if participants is None:
                participants = self._participants[key] = '","'.join(
                    self.entity_id("user", (actor_idx + k * 17) % _N_USERS) for k in range(1 + (h2 >> 52) % 5)
                )
            entity = (
                f'{{"type":"huddle","huddle":{{"id":"{self.entity_id("huddle", entity_idx)}",'
                f'"date_start":{second - (h2 >> 44) % 5400},"date_end":{second if name == "huddle_ended" else 0},'
                f'"participants":["{participants}"]}}}}'
            )
        elif etype == "file":
            entity = self._file_frag(entity_idx)
        else:
            entity = self._entity_frags[etype][entity_idx] or self._frag(etype, entity_idx)
        device = (h2 >> 36) & 3
        context = self._context_frags[kind][actor_idx * 4 + device] or self._context_frag(kind, actor_idx, device)
        if kind == ACTOR_USER and (h2 >> 48) % 32 == 0 and name in _APP_VIA:  # done through an app
            context = f'{context[:-1]},"app":{self._frag("app", (h2 >> 30) % _N_APPS)[_APP_FRAG_HEAD:-1]}}}'
        details_fn = _ACTION_DETAILS[action]
        details = "{}" if details_fn is None else details_fn(self, second, h2, actor_idx, entity_idx)
        return (
            f'"action":"{name}",'
            f'"actor":{self._actor_frags[kind][actor_idx] or self._actor_frag(kind, actor_idx)},"entity":{entity},'
            f'"context":{context},"details":{details}'
        )

    # -------------------------------------------------------------------- query
    def page(
        self,
        *,
        oldest: int,
        latest: int,
        limit: int | None,
        filters: Filters | None = None,
        visible: Callable[[int], int | None] | None = None,
        now: float | None = None,
        deadline: float | None = None,
    ) -> Page:
        """Entries of ``[oldest, latest]`` newest first: at least ``limit`` (finishing the last second).

        Args:
            oldest: Inclusive lower bound (unix seconds).
            latest: Inclusive upper bound; a cursor's position is passed here.
            limit: Stop after the second in which this many matching entries were collected;
                ``None`` reads the whole window.
            filters: What entries must match.
            visible: Hook that says, for a second, ``None`` (all of it visible) or the wall-clock
                time before which none of it is visible (late arrivals).
            now: Wall-clock time used for visibility (default: ``time.time()``).
            deadline: ``time.perf_counter()`` value after which the page ends at the next second
                boundary even if short (the API's "optimistic" limit); ``None`` = no deadline.
        """
        now = time.time() if now is None else now
        cfg = self.config
        hi = latest
        if cfg.end is None:
            hi = min(hi, int(now))
        lag = cfg.ingest_lag
        filters = filters or Filters()
        acts, actor, entity = filters.actions, filters.actor, filters.entity
        unfiltered = acts is None and actor is None and entity is None
        out: list[str] = []
        skeleton, render, second_key = self._skeleton, self._render, self._second_key
        body_skels, body_skeleton, tails, body_tail = (
            self._body_skels,
            self._body_skeleton,
            self._body_tails,
            self._body_tail,
        )
        dynamic, id16 = _ACTION_DYNAMIC, self._id_key32 & 0xFFFF
        checked = 0
        for second, count in self.seconds(hi, oldest):
            if visible is not None:
                visible_at = visible(second)
                if visible_at is not None and now < visible_at:
                    continue
            skey = second_key(second)
            burst = self._burst(second, count, skey)
            prefix = self._id_prefix(second)
            lagging = lag and second + lag > now
            burst_action = burst[0] if burst is not None else -1
            for index in range(count):
                x = (skey + (index + 1) * _GOLDEN) & MASK64  # _mix(skey + index * _GOLDEN), inlined
                x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
                x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
                h = x ^ (x >> 31)
                if lagging and second + h % (lag + 1) > now:
                    continue
                if burst_action >= 0 and ((h >> 20) & 0xFF) < 218:
                    skel = skeleton(h, burst)
                else:
                    b = (h >> 40) & _BODY_MASK
                    skel = body_skels[b] or body_skeleton(b)
                if not unfiltered:
                    if acts is not None and skel[0] not in acts:
                        continue
                    if actor is not None and self.actor_id(skel[1], skel[2]) != actor:
                        continue
                    if entity is not None and self.entity_id(_ACTION_ENTITY[skel[0]], skel[3]) != entity:
                        continue
                b = skel[4]
                if b >= 0 and not dynamic[skel[0]]:  # the common, cached path
                    out.append(
                        f'{{"id":"{prefix}{index ^ id16:04x}-{0x4000 | (h & 0x0FFF):04x}-'
                        f'{0x8000 | ((h >> 12) & 0x3FFF):04x}-{(h >> 16) & 0xFFFFFFFFFFFF:012x}",'
                        f'"date_create":{second},{tails[b] or body_tail(b)}}}'
                    )
                else:
                    out.append(render(second, index, h, skel, prefix))
            checked += 1
            if limit is not None and len(out) >= limit:
                return Page(out, second - 1 if second - 1 >= oldest else None)
            if deadline is not None and (checked & 15) == 0 and time.perf_counter() > deadline:
                return Page(out, second - 1 if second - 1 >= oldest else None)
        return Page(out, None)

    def events(
        self,
        oldest: int,
        latest: int,
        *,
        action: str | Sequence[str] | None = None,
        actor: str | None = None,
        entity: str | None = None,
        visible: Callable[[int], int | None] | None = None,
        now: float | None = None,
    ) -> list[dict]:
        """Every entry of the inclusive window that matches, newest first, as parsed JSON."""
        page = self.page(
            oldest=oldest,
            latest=latest,
            limit=None,
            filters=Filters.make(action, actor, entity),
            visible=visible,
            now=now,
        )
        return [json.loads(e) for e in page.entries]


# ------------------------------------------------------------------------ details
_APP_FRAG_HEAD = len('{"type":"app","app":')
_APP_VIA = frozenset({"file_downloaded", "file_uploaded", "file_shared", "canvas_edited", "public_channel_created"})


def _no_details(ds: Dataset, second: int, h: int, actor: int, entity: int) -> str:
    return "{}"


def _inviter(ds: Dataset, second: int, h: int, actor: int, entity: int) -> str:
    if h % 3:
        return "{}"
    return '{"inviter":' + _dumps(ds._user_obj((actor + 1 + h % 97) % _N_USERS)) + ',"channel_type":"C"}'


def _pref(ds: Dataset, second: int, h: int, actor: int, entity: int) -> str:
    choices = ("everyone", "admins_only", "owners_only", "regular", "ra")
    return _dumps({"previous_value": choices[h % 5], "new_value": choices[(h >> 8) % 5]})


def _retention(ds: Dataset, second: int, h: int, actor: int, entity: int) -> str:
    return _dumps(
        {
            "old_retention_policy": {"type": _RETENTION[h % 4], "duration_days": (h >> 8) % 400},
            "new_retention_policy": {"type": _RETENTION[(h >> 4) % 4], "duration_days": (h >> 16) % 400},
            "is_internal_integration": False,
        }
    )


def _emoji(ds: Dataset, second: int, h: int, actor: int, entity: int) -> str:
    name = f"{_WORDS[h % len(_WORDS)]}_{_WORDS[(h >> 8) % len(_WORDS)]}"
    return _dumps({"name": name}) if h % 4 else _dumps({"name": name, "previous_value": name[:5]})


def _users_list(ds: Dataset, h: int, n: int) -> list[str]:
    return [ds.entity_id("user", (h >> (k * 3)) % _N_USERS) for k in range(n)]


def _bulk(ds: Dataset, second: int, h: int, actor: int, entity: int) -> str:
    ok = _users_list(ds, h, 1 + h % 6)
    failed = _users_list(ds, h >> 20, (h >> 12) % 2)
    # Slack sends these either as arrays or as JSON-encoded strings: both happen.
    as_string = (h >> 40) % 2 == 0
    return _dumps(
        {
            "succeeded_users": _dumps(ok) if as_string else ok,
            "failed_users": _dumps(failed) if as_string else failed,
            "initiated_by": ds.entity_id("user", actor),
        }
    )


def _anomaly(ds: Dataset, second: int, h: int, actor: int, entity: int) -> str:
    reasons = [_ANOMALY_REASONS[(h >> (k * 5)) % len(_ANOMALY_REASONS)] for k in range(1 + h % 3)]
    return _dumps(
        {
            "action_timestamp": second * 1000 + h % 1000,
            "location": ("Lisbon, Portugal", "Austin, United States", "Osaka, Japan")[h % 3],
            "previous_ip_address": f"198.51.100.{1 + h % 250}",
            "asn": 64512 + h % 1000,
            "previous_asn": 64512 + (h >> 10) % 1000,
            "ua": "curl/8.4.0",
            "previous_ua": "Slack/4.37.101",
            "reason": sorted(set(reasons)),
            "is_internal": False,
        }
    )


def _app_details(ds: Dataset, second: int, h: int, actor: int, entity: int) -> str:
    return _dumps(
        {
            "app_owner_id": ds.entity_id("user", h % _N_USERS),
            "is_internal_integration": h % 5 == 0,
            "scopes": [_SCOPES[(h >> k) % len(_SCOPES)] for k in range(0, 12, 4)],
            "bot_scopes": [_SCOPES[(h >> k) % len(_SCOPES)] for k in range(20, 28, 4)],
            "is_token_rotation_enabled_app": False,
        }
    )


def _export(ds: Dataset, second: int, h: int, actor: int, entity: int) -> str:
    return _dumps(
        {
            "export_type": ("standard", "corporate", "channels")[h % 3],
            "export_start_ts": second - 86400 * (1 + h % 90),
            "export_end_ts": second - 60,
        }
    )


def _agent(ds: Dataset, second: int, h: int, actor: int, entity: int) -> str:
    if h % 8:
        return "{}"
    # Fields newer than every SDK's model: readers must keep them.
    return _dumps(
        {
            "acting_agent": "Slackbot",
            "agent_message": {
                "channel_id": _slack_id("D", h, 10),
                "message_ts": f"{second}.{h % 1000000:06d}",
                "thread_ts": f"{second - 600}.{(h >> 20) % 1000000:06d}",
            },
        }
    )


def _login(ds: Dataset, second: int, h: int, actor: int, entity: int) -> str:
    if h % 5:
        return "{}"
    return _dumps({"client_surface": ("desktop", "mobile", "web")[h % 3], "sso": True, "mfa_method": "totp"})


def _legal_hold(ds: Dataset, second: int, h: int, actor: int, entity: int) -> str:
    policy = {"id": _slack_id("LH", h, 8), "name": f"Matter {h % 900 + 100}", "on_hold_entity_count": h % 40}
    return _dumps({"old_legal_hold_policy": policy, "new_legal_hold_policy": {**policy, "name": policy["name"] + "b"}})


def _rename(ds: Dataset, second: int, h: int, actor: int, entity: int) -> str:
    return _dumps({"previous_value": f"old-{_WORDS[h % len(_WORDS)]}", "new_value": f"new-{_WORDS[(h >> 6) % 36]}"})


_DETAILS: dict[str, Callable[[Dataset, int, int, int, int], str]] = {
    "user_channel_join": _inviter,
    "guest_channel_join": _inviter,
    "emoji_added": _emoji,
    "emoji_removed": _emoji,
    "emoji_renamed": _emoji,
    "emoji_aliased": _emoji,
    "bulk_session_reset_by_admin": _bulk,
    "user_sessions_reset_by_anomaly_event_response": _bulk,
    "user_added_to_usergroup": _bulk,
    "anomaly": _anomaly,
    "app_installed": _app_details,
    "app_scopes_expanded": _app_details,
    "app_approved": _app_details,
    "manual_export_started": _export,
    "scheduled_export_started": _export,
    "channels_export_started": _export,
    "canvas_edited": _agent,
    "canvas_opened": _agent,
    "user_login": _login,
    "legal_hold_policy_updated": _legal_hold,
    "channel_renamed": _rename,
    "organization_renamed": _rename,
    **{
        spec.name: _retention if "retention" in spec.name else _pref
        for spec in catalog.ACTION_SPECS
        if spec.name.startswith("pref.")
    },
}
_ACTION_DETAILS: tuple[Callable[[Dataset, int, int, int, int], str] | None, ...] = tuple(
    _DETAILS.get(name) for name in _ACTION_NAMES
)
#: Actions whose entries hold per-event values (times, huddle ids): never taken from the body pool.
_ACTION_DYNAMIC: tuple[bool, ...] = tuple(
    _ACTION_ENTITY[i] in ("message", "huddle") or _ACTION_DETAILS[i] in (_anomaly, _export, _agent)
    for i in range(len(_ACTION_NAMES))
)
