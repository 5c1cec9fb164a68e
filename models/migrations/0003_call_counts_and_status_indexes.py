from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from typing import Any

from tortoise.indexes import Index

# Triggers that keep `call_counts` equal to what COUNT(*) over `calls` would say, per account and status;
# one version per database, because trigger syntax has no common dialect.
# Statement-level, with transition tables: a bulk load (COPY of a million rows) adjusts each counter once,
# where a row-level trigger would update the same counter row a million times in one transaction, each
# update walking the chain of the previous ones. Rows whose account and status did not change add up to
# zero and write nothing.
_POSTGRES = """
CREATE OR REPLACE FUNCTION calls_count_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO call_counts (account_sid, status, total)
        SELECT account_sid, status, COUNT(*) FROM new_rows GROUP BY account_sid, status
        ON CONFLICT (account_sid, status) DO UPDATE SET total = call_counts.total + EXCLUDED.total;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO call_counts (account_sid, status, total)
        SELECT account_sid, status, -COUNT(*) FROM old_rows GROUP BY account_sid, status
        ON CONFLICT (account_sid, status) DO UPDATE SET total = call_counts.total + EXCLUDED.total;
    ELSE
        INSERT INTO call_counts (account_sid, status, total)
        SELECT account_sid, status, SUM(delta) FROM (
            SELECT account_sid, status, 1 AS delta FROM new_rows
            UNION ALL
            SELECT account_sid, status, -1 AS delta FROM old_rows
        ) AS changes
        GROUP BY account_sid, status HAVING SUM(delta) <> 0
        ON CONFLICT (account_sid, status) DO UPDATE SET total = call_counts.total + EXCLUDED.total;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER calls_count_insert AFTER INSERT ON calls
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION calls_count_change();
CREATE TRIGGER calls_count_update AFTER UPDATE ON calls
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION calls_count_change();
CREATE TRIGGER calls_count_delete AFTER DELETE ON calls
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION calls_count_change();
"""

# SQLite has row-level triggers only; with one writer and no row versions, they are cheap there.
_SQLITE = """
CREATE TRIGGER calls_count_insert AFTER INSERT ON calls BEGIN
    INSERT INTO call_counts (account_sid, status, total) VALUES (NEW.account_sid, NEW.status, 1)
    ON CONFLICT (account_sid, status) DO UPDATE SET total = total + 1;
END;
CREATE TRIGGER calls_count_delete AFTER DELETE ON calls BEGIN
    UPDATE call_counts SET total = total - 1 WHERE account_sid = OLD.account_sid AND status = OLD.status;
END;
CREATE TRIGGER calls_count_update AFTER UPDATE OF status, account_sid ON calls
    WHEN OLD.status IS NOT NEW.status OR OLD.account_sid IS NOT NEW.account_sid BEGIN
    UPDATE call_counts SET total = total - 1 WHERE account_sid = OLD.account_sid AND status = OLD.status;
    INSERT INTO call_counts (account_sid, status, total) VALUES (NEW.account_sid, NEW.status, 1)
    ON CONFLICT (account_sid, status) DO UPDATE SET total = total + 1;
END;
"""

# Calls stored before the counters existed.
_BACKFILL = """
INSERT INTO call_counts (account_sid, status, total)
SELECT account_sid, status, COUNT(*) FROM calls GROUP BY account_sid, status;
"""


# Tortoise alters a column on SQLite by rebuilding the table, which drops the table's indexes (the ones
# 0001 made); they are made again here, as 0001 defined them.
_SQLITE_INDEXES_LOST_BY_REBUILD = """
CREATE INDEX IF NOT EXISTS calls_account_page ON calls (account_sid, date_created, sid);
CREATE INDEX IF NOT EXISTS calls_account_from ON calls (account_sid, from_address, date_created, sid);
CREATE INDEX IF NOT EXISTS calls_account_to ON calls (account_sid, to_address, date_created, sid);
CREATE INDEX IF NOT EXISTS calls_account_status ON calls (account_sid, status, date_created, sid);
CREATE INDEX IF NOT EXISTS calls_account_start ON calls (account_sid, start_time);
CREATE INDEX IF NOT EXISTS calls_account_end ON calls (account_sid, end_time);
CREATE INDEX IF NOT EXISTS calls_parent ON calls (parent_call_sid, date_created, sid);
"""


async def install(_apps: Any, schema_editor: Any) -> None:
    dialect = schema_editor.client.capabilities.dialect
    if dialect == "postgres":
        await schema_editor.client.execute_script(_POSTGRES)
    elif dialect == "sqlite":
        await schema_editor.client.execute_script(_SQLITE_INDEXES_LOST_BY_REBUILD)
        await schema_editor.client.execute_script(_SQLITE)
    else:
        raise RuntimeError(f"no call_counts triggers written for {dialect}")
    await schema_editor.client.execute_script(_BACKFILL)


class Migration(migrations.Migration):
    dependencies = [('models', '0002_clients_and_numbers')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CallCount',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account_sid', fields.CharField(max_length=34)),
                ('status', fields.CharField(max_length=16)),
                ('total', fields.BigIntField(default=0)),
            ],
            options={'table': 'call_counts', 'app': 'models', 'unique_together': (('account_sid', 'status'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Call',
            name='to_address',
            field=fields.CharField(max_length=1024),
        ),
        ops.AddIndex(
            model_name='Call',
            index=Index(fields=['account_sid', 'from_address', 'status', 'date_created', 'sid'], name='calls_account_from_status'),
        ),
        ops.AddIndex(
            model_name='Call',
            index=Index(fields=['account_sid', 'to_address', 'status', 'date_created', 'sid'], name='calls_account_to_status'),
        ),
        ops.RunPython(install),
    ]
