"""What other apps read of a customer's profile: the e-mails they want, in their language."""

from __future__ import annotations

import pytest

from accounts.models import Profile
from accounts.selectors import customer_language, notice_wanted
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def test_a_customer_without_a_profile_gets_each_notice_by_its_default(settings) -> None:  # type: ignore[no-untyped-def]
    user = make_customer()
    Profile.objects.filter(user=user).delete()

    assert notice_wanted(user_id=user.pk, flag="notify_partial") is True
    assert notice_wanted(user_id=user.pk, flag="notify_completed") is False
    assert customer_language(user_id=user.pk) == settings.LANGUAGE_CODE


def test_a_customer_is_e_mailed_as_their_profile_says_in_their_language() -> None:
    user = make_customer()
    Profile.objects.filter(user=user).update(
        notify_partial=False, notify_completed=True, language="en"
    )

    assert notice_wanted(user_id=user.pk, flag="notify_partial") is False
    assert notice_wanted(user_id=user.pk, flag="notify_completed") is True
    assert customer_language(user_id=user.pk) == "en"
