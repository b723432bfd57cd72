"""The ledger is append-only in the database too: UPDATE (and on PostgreSQL DELETE) is refused.

A trigger, not a permission, so that a stray `queryset.update()`, a shell session or a bad data
migration fails loudly with an IntegrityError instead of silently rewriting history. A
correction is a new entry (see billing.services).

- PostgreSQL refuses UPDATE and DELETE. TRUNCATE (used by test flushes) is a different
  statement and stays possible.
- SQLite refuses UPDATE only: Django flushes SQLite test databases with DELETE, and SQLite has
  no TRUNCATE to tell the two apart. SQLite also drops triggers when Django rebuilds a table
  (an AlterField on LedgerEntry): such a migration must recreate this trigger.

A data migration that really must rewrite entries has to drop and recreate the trigger,
on purpose and in review.
"""

from django.db import migrations

# One statement per string, run without parameters (the "%" below is PL/pgSQL's, not a placeholder).
PG_CREATE = [
    """
CREATE OR REPLACE FUNCTION billing_ledgerentry_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'billing_ledgerentry is append-only: % refused', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql
""",
    """
CREATE TRIGGER billing_ledgerentry_append_only
    BEFORE UPDATE OR DELETE ON billing_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION billing_ledgerentry_append_only()
""",
]
PG_DROP = [
    "DROP TRIGGER IF EXISTS billing_ledgerentry_append_only ON billing_ledgerentry",
    "DROP FUNCTION IF EXISTS billing_ledgerentry_append_only()",
]
SQLITE_CREATE = [
    """
CREATE TRIGGER billing_ledgerentry_append_only BEFORE UPDATE ON billing_ledgerentry
BEGIN SELECT RAISE(ABORT, 'billing_ledgerentry is append-only: UPDATE refused'); END
""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS billing_ledgerentry_append_only"]


def _run(schema_editor, *, postgresql: list[str], sqlite: list[str]) -> None:
    statements = {"postgresql": postgresql, "sqlite": sqlite}.get(schema_editor.connection.vendor, [])
    for sql in statements:
        schema_editor.execute(sql, params=None)


def create(apps, schema_editor):
    _run(schema_editor, postgresql=PG_CREATE, sqlite=SQLITE_CREATE)


def drop(apps, schema_editor):
    _run(schema_editor, postgresql=PG_DROP, sqlite=SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_audit_constraints_and_indexes")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
