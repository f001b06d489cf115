"""Requests-per-minute and tokens-per-minute limits per (provider, base_url, model).

`limiter_for(key=..., rpm=..., tpm=...).acquire(tokens)` blocks until one more request of
`tokens` tokens fits both limits. With a redis:// `CELERY_BROKER_URL` the budget lives in Redis
and every worker process shares it (one Lua script checks and takes it atomically); without
one it lives in this process, which is where eager Celery runs everything.

Each limit is a token bucket that refills at limit/60 per second and holds at most one second's
worth (`BURST_S`): providers enforce per-minute limits over shorter windows too, so a whole
minute's budget spent in one burst would be answered with 429s. A request larger than the
bucket goes through once the bucket is full and leaves it in debt, so large requests are slowed
rather than refused. A limit of 0 means unlimited.
"""

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

import redis

BURST_S = 1.0
REDIS_PREFIX = "judgeapp:ratelimit:"


def limit_key(*, provider: str, base_url: str, model: str) -> str:
    """The key that every caller of one (provider, base_url, model) should share."""
    return "|".join(quote(part, safe="") for part in (provider, base_url, model))


class Buckets(Protocol):
    def take(self, *, key: str, rpm: int, tpm: int, tokens: int) -> float:
        """Take one request and `tokens` tokens and return 0, or take nothing and return the
        seconds to wait before trying again."""
        ...


@dataclass(frozen=True)
class Limiter:
    """Rate limits for one key; `acquire` blocks, `try_acquire` does not."""

    key: str
    rpm: int
    tpm: int
    buckets: Buckets
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        if self.rpm < 0 or self.tpm < 0:
            raise ValueError(f"rpm and tpm must be >= 0 (0 = unlimited): {self.rpm}, {self.tpm}")

    def try_acquire(self, tokens: int) -> float:
        """0.0 if the request may go now (its budget is taken), else the seconds to wait."""
        if tokens < 0:
            raise ValueError(f"tokens must be >= 0, got {tokens}")
        if not self.rpm and not self.tpm:
            return 0.0
        return self.buckets.take(key=self.key, rpm=self.rpm, tpm=self.tpm, tokens=tokens)

    def acquire(self, tokens: int) -> None:
        """Block until one request of `tokens` tokens fits both limits, and take its budget."""
        # Other holders of the key may take the budget first, so a wait is a time to look again.
        while (wait := self.try_acquire(tokens)) > 0:
            self.sleep(wait)


def limiter_for(*, key: str, rpm: int, tpm: int) -> Limiter:
    """A limiter shared by every process on the Redis broker, or by every thread of this one."""
    from django.conf import settings

    url = settings.CELERY_BROKER_URL or ""
    if url.startswith(("redis://", "rediss://")):
        return Limiter(key=key, rpm=rpm, tpm=tpm, buckets=_redis_buckets(url))
    return Limiter(key=key, rpm=rpm, tpm=tpm, buckets=LOCAL_BUCKETS)


@dataclass(frozen=True)
class _Bucket:
    level: float
    at: float


def _refilled(bucket: _Bucket | None, *, limit: int, now: float) -> float:
    rate = limit / 60.0
    capacity = max(1.0, rate * BURST_S)
    if bucket is None:
        return capacity
    return min(capacity, bucket.level + max(0.0, now - bucket.at) * rate)


def _wait(level: float, *, limit: int, cost: int) -> float:
    """Seconds until `level` reaches what `cost` needs (at most a full bucket)."""
    rate = limit / 60.0
    need = min(float(cost), max(1.0, rate * BURST_S))
    return max(0.0, (need - level) / rate)


@dataclass(frozen=True)
class LocalBuckets:
    """Buckets in this process's memory, guarded by one lock (held only to do the arithmetic)."""

    clock: Callable[[], float] = time.monotonic
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _state: dict[tuple[str, str], _Bucket] = field(default_factory=dict, init=False)

    def take(self, *, key: str, rpm: int, tpm: int, tokens: int) -> float:
        both = (("req", rpm, 1), ("tok", tpm, tokens))
        wanted = [(name, limit, cost) for name, limit, cost in both if limit]
        with self._lock:
            now = self.clock()
            levels = [
                _refilled(self._state.get((key, n)), limit=lim, now=now) for n, lim, _ in wanted
            ]
            waits = [
                _wait(level, limit=lim, cost=cost)
                for level, (_, lim, cost) in zip(levels, wanted, strict=True)
            ]
            wait = max(waits, default=0.0)
            for level, (name, _, cost) in zip(levels, wanted, strict=True):
                taken = cost if wait <= 0 else 0
                self._state[(key, name)] = _Bucket(level=level - taken, at=now)
        return wait


LOCAL_BUCKETS = LocalBuckets()

# The same arithmetic as LocalBuckets, done inside Redis so that checking and taking is one
# atomic step for every process. Redis's own clock is used, so workers' clocks need not agree.
# KEYS[1]: the hash of one key's buckets. ARGV: rpm, tpm, tokens, burst seconds.
_TAKE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local limits = {req = tonumber(ARGV[1]), tok = tonumber(ARGV[2])}
local costs = {req = 1, tok = tonumber(ARGV[3])}
local burst = tonumber(ARGV[4])
local levels, wait, ttl = {}, 0, 1
for _, name in ipairs({'req', 'tok'}) do
  local limit = limits[name]
  if limit > 0 then
    local rate = limit / 60
    local capacity = math.max(1, rate * burst)
    local level = tonumber(redis.call('HGET', KEYS[1], name))
    local at = tonumber(redis.call('HGET', KEYS[1], name .. '_at'))
    if level == nil or at == nil then
      level = capacity
    else
      level = math.min(capacity, level + math.max(0, now - at) * rate)
    end
    levels[name] = level
    wait = math.max(wait, (math.min(costs[name], capacity) - level) / rate)
  end
end
for name, level in pairs(levels) do
  if wait <= 0 then level = level - costs[name] end
  local rate = limits[name] / 60
  local capacity = math.max(1, rate * burst)
  ttl = math.max(ttl, math.ceil((capacity - level) / rate) + 1)
  redis.call('HSET', KEYS[1], name, tostring(level), name .. '_at', tostring(now))
end
-- A key that expires is a full bucket, so it may go once every bucket in it would be full.
redis.call('EXPIRE', KEYS[1], ttl)
return tostring(math.max(0, wait))
"""


@dataclass(frozen=True)
class RedisBuckets:
    """Buckets in Redis, shared by every process that uses the same server and database."""

    client: redis.Redis

    def take(self, *, key: str, rpm: int, tpm: int, tokens: int) -> float:
        wait = self.client.eval(_TAKE_LUA, 1, REDIS_PREFIX + key, rpm, tpm, tokens, BURST_S)
        return float(wait)


_redis_lock = threading.Lock()
_redis_by_url: dict[str, RedisBuckets] = {}


def _redis_buckets(url: str) -> RedisBuckets:
    # One client (one connection pool) per URL for the life of the process.
    with _redis_lock:
        if url not in _redis_by_url:
            _redis_by_url[url] = RedisBuckets(client=redis.Redis.from_url(url))
        return _redis_by_url[url]
