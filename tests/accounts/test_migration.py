"""ApiKey and Profile moved from billing to accounts with their rows: a database made before the
move keeps every profile, key and staff permission after `migrate`."""

from __future__ import annotations

import hashlib

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.models import ApiKey, Profile
from accounts.services import api_key_user

BEFORE = [("billing", "0006_wallet_kinds_referrals_commissions"), ("accounts", None)]
RAW_KEY = "k" * 64


def _migrate(targets: list[tuple[str, str | None]]) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_move_keeps_its_profiles_keys_and_permissions() -> None:
    # given: the schema as it was before accounts existed, with a customer in it
    try:
        _given_a_customer_before_the_move()
    finally:
        # when (and in any case: the next tests need today's schema)
        _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    # then
    profile = Profile.objects.get(user__username="mig")
    assert (profile.language, profile.notify_refill) == ("en", True)
    assert api_key_user(raw=RAW_KEY) is not None
    assert ApiKey.objects.get().prefix == RAW_KEY[:8]
    permissions = Group.objects.get(name="key readers").permissions.all()
    assert [(p.content_type.app_label, p.codename) for p in permissions] == [
        ("accounts", "view_apikey")
    ]
    tables = set(connection.introspection.table_names())
    assert {"accounts_apikey", "accounts_profile"} <= tables
    assert not {"billing_apikey", "billing_profile"} & tables


def _given_a_customer_before_the_move() -> None:
    _migrate(BEFORE)
    # Every app as it stands now in the database (contenttypes and auth included), billing as of
    # 0006 with its two models.
    old = MigrationExecutor(connection)._create_project_state(with_applied_migrations=True).apps
    user = old.get_model("auth", "User").objects.create(username="mig")
    old.get_model("billing", "Profile").objects.create(user=user, language="en", notify_refill=True)
    old.get_model("billing", "ApiKey").objects.create(
        user=user, key_hash=hashlib.sha256(RAW_KEY.encode()).hexdigest(), prefix=RAW_KEY[:8]
    )
    content_types = old.get_model("contenttypes", "ContentType")
    apikey_type, _ = content_types.objects.get_or_create(app_label="billing", model="apikey")
    view_keys = old.get_model("auth", "Permission").objects.get_or_create(
        content_type=apikey_type, codename="view_apikey", defaults={"name": "Can view API key"}
    )[0]
    group = old.get_model("auth", "Group").objects.create(name="key readers")
    group.permissions.add(view_keys)
