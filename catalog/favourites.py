"""Starred services: the only write is the customer's own toggle."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction

from .models import FavouriteService
from .selectors import service_for_sale

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def favourite_toggle(*, user: User, service_id: int) -> bool | None:
    """Star or unstar a service for sale; returns the new state, None for an unknown service."""
    deleted, _rows = FavouriteService.objects.filter(user=user, service_id=service_id).delete()
    if deleted:
        return False
    if service_for_sale(service_id=service_id) is None:
        return None
    try:
        with transaction.atomic():
            FavouriteService.objects.create(user=user, service_id=service_id)
    except IntegrityError:
        pass  # a double click raced this one: it is starred either way
    return True
