"""What billing's admin pages share: rows that change only through services, and the page where
staff confirm a change of money (a form, then one service call)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.template.response import TemplateResponse


def confirm_page(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    template: str,
    *,
    original: Model,
    title: str,
    **context: Any,
) -> TemplateResponse:
    """The page where staff confirm a change of money to `original` (a child of
    templates/billing/admin/_confirm.html: crumbs, form, submit or cancel back to `original`)."""
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.opts,
            "original": original,
            "title": title,
            **context,
        },
    )
