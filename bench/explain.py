"""EXPLAIN ANALYZE of the SQL the server sends for a Calls list page (PostgreSQL).

The SQL is built with the server's own query code (models.list_filters, models.paging), the same two
queries `models.paging.fetch_page` runs for a page: the `total` count and the page's rows. Only the query
construction is repeated here, because fetch_page executes its queries instead of returning them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import asyncpg

from bench.dataset import MAIN_ACCOUNT_SID
from testkit.postgres import asyncpg_dsn


@dataclass(frozen=True)
class ListQuery:
    name: str
    params: Mapping[str, str]
    page: int = 0
    page_size: int = 50
    after_sid: str | None = None


async def _server_sql(query: ListQuery) -> list[tuple[str, str]]:
    """[(label, SQL with parameters inline)] for the count and the rows of one page."""
    from models import Call
    from models.list_filters import CALLS
    from models.paging import NEWEST_FIRST, after

    scope = Call.filter(account_sid=MAIN_ACCOUNT_SID)
    filtered = CALLS.parse(query.params).apply(scope)
    ordered = filtered.order_by(*NEWEST_FIRST)
    if query.after_sid is not None:
        anchor_query = scope.filter(sid=query.after_sid).values_list("date_created", flat=True)
        anchor = await anchor_query
        rows = ordered.filter(after(anchor[0], query.after_sid))
        statements = [("anchor", anchor_query.sql(params_inline=True))]
    else:
        rows = ordered.offset(query.page * query.page_size)
        statements = []
    statements.append(("count (total)", filtered.count().sql(params_inline=True)))
    statements.append(("page rows", rows.limit(query.page_size + 1).sql(params_inline=True)))
    return statements


async def explain(database_url: str, queries: list[ListQuery]) -> str:
    from models.db import close_database, open_database

    await open_database(database_url, apply_migrations=False)
    conn = await asyncpg.connect(asyncpg_dsn(database_url))
    out: list[str] = []
    try:
        for query in queries:
            for label, sql in await _server_sql(query):
                plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                out.append(f"--- {query.name}: {label}\n{sql}")
                out.extend(row[0] for row in plan)
    finally:
        await conn.close()
        await close_database()
    return "\n".join(out)
