"""Realistic call rows, written straight into the tables the server's migrations created.

The server must have started once on the database first: its migrations create the schema and it seeds
the default account. Rows then go in with the fastest tool each database has (PostgreSQL `COPY` through
asyncpg, SQLite `executemany`), because going through the API or the ORM would take far longer than the
two minutes a million rows may take.
"""

from __future__ import annotations

import datetime as dt
import random
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate
from typing import NamedTuple

import asyncpg

from testkit.postgres import asyncpg_dsn

MAIN_ACCOUNT_SID = "ACae6e420f425248d6a26948c17a9e2acf"
MAIN_AUTH_TOKEN = "77f8c12cc7b8f8423e5c38b035249166"
# A sub-account of the default one that owns a share of the calls, so every list query must really
# select by account rather than read the whole table.
SECOND_ACCOUNT_SID = "AC5ec0d0000000000000000000000be4c4"
SECOND_SHARE = 0.10

# Shares of the statuses: mostly finished calls, and a few of each live status (all eight appear).
STATUS_WEIGHTS = {
    "completed": 62, "no-answer": 10, "busy": 8, "failed": 6, "canceled": 6,
    "in-progress": 3, "queued": 3, "ringing": 2,
}
LIVE = frozenset({"queued", "ringing", "in-progress"})
DIRECTION_WEIGHTS = {"inbound": 50, "outbound-api": 35, "outbound-dial": 15}
DISTINCT_FROM = 300
DISTINCT_TO = 400
YEAR = dt.timedelta(days=365)


class CallRow(NamedTuple):
    """One row of the `calls` table; field names are its column names, in a fixed order for COPY."""

    sid: str
    account_sid: str
    parent_call_sid: str | None
    date_created: dt.datetime
    date_updated: dt.datetime
    to_address: str
    from_address: str
    destination: str
    sip_headers: str
    phone_number_sid: str | None
    status: str
    start_time: dt.datetime | None
    end_time: dt.datetime | None
    duration: int | None
    price: str | None
    price_unit: str | None
    direction: str
    answered_by: str | None
    forwarded_from: str | None
    caller_name: str | None
    url: str
    method: str
    fallback_url: str | None
    fallback_method: str
    status_callback: str | None
    status_callback_method: str
    status_callback_event: str
    timeout: int
    owner_node: str | None
    muted: bool
    api_version: str


COLUMNS: tuple[str, ...] = CallRow._fields


@dataclass(frozen=True)
class Population:
    """The addresses calls come from and go to, with a skew: a few numbers make many of the calls."""

    from_values: list[str]
    from_cum_weights: list[float]
    to_values: list[str]
    to_cum_weights: list[float]

    @classmethod
    def make(cls, rng: random.Random) -> Population:
        numbers = [f"+1555{rng.randrange(10**7):07d}" for _ in range(DISTINCT_FROM)]
        # `to` as the API shows it: a number, a client name, or the user part of a SIP URI.
        to_values = (
            [f"+1617{rng.randrange(10**7):07d}" for _ in range(DISTINCT_TO // 2)]
            + [f"client{i}" for i in range(DISTINCT_TO // 4)]
            + [f"user{i}" for i in range(DISTINCT_TO - DISTINCT_TO // 2 - DISTINCT_TO // 4)]
        )
        return cls(numbers, _zipf(len(numbers)), to_values, _zipf(len(to_values)))


def _zipf(n: int, exponent: float = 0.8) -> list[float]:
    """Cumulative weights for random.choices: rank k is chosen in proportion to 1/k^exponent."""
    return list(accumulate(1.0 / (rank ** exponent) for rank in range(1, n + 1)))


def _ms(value: dt.datetime) -> dt.datetime:
    """Millisecond precision, as the server stores timestamps (models/clock.py)."""
    return value.replace(microsecond=value.microsecond - value.microsecond % 1000)


def call_rows(count: int, *, seed: int = 20120424, now: dt.datetime | None = None) -> Iterator[CallRow]:
    """`count` calls over the year before `now`, oldest first (the order they would have been inserted)."""
    rng = random.Random(seed)
    people = Population.make(rng)
    statuses, status_weights = list(STATUS_WEIGHTS), list(accumulate(STATUS_WEIGHTS.values()))
    directions, direction_weights = list(DIRECTION_WEIGHTS), list(accumulate(DIRECTION_WEIGHTS.values()))
    end = now or dt.datetime.now(dt.UTC)
    start = end - YEAR
    step = YEAR / max(count, 1)
    previous_sid: str | None = None
    for index in range(count):
        created = _ms(start + step * (index + rng.random()))
        sid = f"CA{rng.getrandbits(128):032x}"
        status = rng.choices(statuses, cum_weights=status_weights)[0]
        direction = rng.choices(directions, cum_weights=direction_weights)[0]
        to = rng.choices(people.to_values, cum_weights=people.to_cum_weights)[0]
        started = None if status == "queued" else created + dt.timedelta(milliseconds=rng.randrange(200, 5000))
        duration = rng.randrange(1, 1800) if status == "completed" else None
        ended = None
        if status not in LIVE and started is not None:
            ended = started + dt.timedelta(seconds=duration or rng.randrange(0, 40))
        yield CallRow(
            sid=sid,
            account_sid=SECOND_ACCOUNT_SID if rng.random() < SECOND_SHARE else MAIN_ACCOUNT_SID,
            # A dialled leg belongs to the call before it (its parent in <Dial>).
            parent_call_sid=previous_sid if direction == "outbound-dial" else None,
            date_created=created,
            date_updated=ended or started or created,
            to_address=to,
            from_address=rng.choices(people.from_values, cum_weights=people.from_cum_weights)[0],
            destination=to if to.startswith("+") else f"client:{to}",
            sip_headers="",
            phone_number_sid=None,
            status=status,
            start_time=started,
            end_time=ended,
            duration=duration,
            price="-0.0125" if status == "completed" else None,
            price_unit="USD" if status == "completed" else None,
            direction=direction,
            answered_by=None,
            forwarded_from=None,
            caller_name=None,
            url="http://apps.example.com/rcml/hello.xml" if direction == "outbound-api" else "",
            method="POST",
            fallback_url=None,
            fallback_method="POST",
            status_callback=None,
            status_callback_method="POST",
            status_callback_event="completed",
            timeout=60,
            owner_node="node-1" if status in LIVE else None,
            muted=False,
            api_version="2012-04-24",
        )
        previous_sid = sid


def check_columns(table_columns: Sequence[tuple[str, bool]]) -> None:
    """Fail clearly if the server's schema moved away from CallRow (others edit the models).

    `table_columns` is (name, required) where required means NOT NULL without a database default.
    """
    names = {name for name, _ in table_columns}
    missing = [c for c in COLUMNS if c not in names]
    required_extra = [name for name, required in table_columns if required and name not in COLUMNS]
    if missing or required_extra:
        raise RuntimeError(
            f"the calls table no longer matches bench/dataset.py CallRow: columns gone {missing}, "
            f"new required columns {required_extra}"
        )


@dataclass(frozen=True)
class LoadTimes:
    rows: int
    insert_s: float  # the rows and their indexes
    vacuum_s: float

    @property
    def total_s(self) -> float:
        return self.insert_s + self.vacuum_s


# --- PostgreSQL ---------------------------------------------------------------------------------------

async def load_postgres(database_url: str, count: int) -> LoadTimes:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        check_columns(await conn.fetch(
            "SELECT column_name, is_nullable = 'NO' AND column_default IS NULL "
            "FROM information_schema.columns WHERE table_name = 'calls'"
        ))
        await conn.execute(
            "INSERT INTO accounts (sid, date_created, date_updated, friendly_name, email_address, status, type,"
            " role, auth_token, parent_sid, lineage) VALUES ($1, $2, $2, $3, $4, 'active', 'Full', 'Developer',"
            " $5, $6, $7) ON CONFLICT DO NOTHING",
            *_second_account_values(),
        )
        began = time.perf_counter()
        async with conn.transaction():
            # Building each index once after the COPY is about twice as fast as updating eight indexes row
            # by row. The migrations' own definitions are put back as they were, in the same transaction.
            indexes = await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
                " AND tablename = 'calls' AND indexname NOT IN"
                " (SELECT conname FROM pg_constraint WHERE conrelid = 'calls'::regclass)"
            )
            for index in indexes:
                await conn.execute(f'DROP INDEX "{index["indexname"]}"')
            # asyncpg streams the generator: the million rows never sit in memory at once.
            await conn.copy_records_to_table("calls", records=call_rows(count), columns=COLUMNS)
            await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for index in indexes:
                await conn.execute(index["indexdef"])
        inserted = time.perf_counter()
        # Fresh statistics for the planner, and an up-to-date visibility map for index-only scans.
        await conn.execute("VACUUM ANALYZE calls")
        await conn.execute("VACUUM ANALYZE accounts")
        return LoadTimes(count, inserted - began, time.perf_counter() - inserted)
    finally:
        await conn.close()


def _second_account_values() -> tuple:
    created = _ms(dt.datetime.now(dt.UTC))
    return (SECOND_ACCOUNT_SID, created, "Bench sub-account", "bench-sub@example.com",
            "0" * 32, MAIN_ACCOUNT_SID, f"{MAIN_ACCOUNT_SID}/{SECOND_ACCOUNT_SID}")


async def sample_postgres_sids(database_url: str, count: int) -> list[str]:
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        rows = await conn.fetch(
            "SELECT sid FROM calls WHERE account_sid = $1 ORDER BY random() LIMIT $2", MAIN_ACCOUNT_SID, count
        )
        return [row["sid"] for row in rows]
    finally:
        await conn.close()


# --- SQLite -------------------------------------------------------------------------------------------

def _sqlite_timestamp(value: dt.datetime) -> str:
    # The same text Tortoise's SQLite backend writes (it registers this adapter in its executor), so
    # keyset comparisons on the text column order these rows like rows the server wrote itself.
    return value.isoformat(" ")


def _sqlite_row(row: CallRow) -> tuple:
    return tuple(_sqlite_timestamp(v) if isinstance(v, dt.datetime) else v for v in row)


def load_sqlite(path: str, count: int) -> LoadTimes:
    conn = sqlite3.connect(path, timeout=30)
    try:
        info = conn.execute("PRAGMA table_info(calls)").fetchall()
        check_columns([(name, bool(notnull) and default is None) for _, name, _, notnull, default, _ in info])
        sid, created, name, email, token, parent, lineage = _second_account_values()
        conn.execute(
            "INSERT OR IGNORE INTO accounts (sid, date_created, date_updated, friendly_name, email_address,"
            " status, type, role, auth_token, parent_sid, lineage)"
            " VALUES (?, ?, ?, ?, ?, 'active', 'Full', 'Developer', ?, ?, ?)",
            (sid, _sqlite_timestamp(created), _sqlite_timestamp(created), name, email, token, parent, lineage),
        )
        began = time.perf_counter()
        placeholders = ", ".join("?" for _ in COLUMNS)
        conn.executemany(
            f"INSERT INTO calls ({', '.join(COLUMNS)}) VALUES ({placeholders})",
            (_sqlite_row(row) for row in call_rows(count)),
        )
        conn.commit()
        inserted = time.perf_counter()
        conn.execute("ANALYZE")
        return LoadTimes(count, inserted - began, time.perf_counter() - inserted)
    finally:
        conn.close()


def sample_sqlite_sids(path: str, count: int) -> list[str]:
    conn = sqlite3.connect(path, timeout=30)
    try:
        rows = conn.execute(
            "SELECT sid FROM calls WHERE account_sid = ? ORDER BY random() LIMIT ?", (MAIN_ACCOUNT_SID, count)
        ).fetchall()
        return [sid for (sid,) in rows]
    finally:
        conn.close()
