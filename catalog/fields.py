"""The provider foreign key, filled when a row is first written without one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models

if TYPE_CHECKING:  # for the type arguments of the base class (strings, which ruff does not read)
    from django.db.models.expressions import Combinable  # noqa: F401

    from .models.provider import Provider  # noqa: F401


class ProviderForeignKey(models.ForeignKey["Provider | Combinable", "Provider"]):
    """A provider foreign key that a row written without one gets at save (and bulk_create):
    the provider of its `fill_from` relation (an order's service), else the SIEULIKE_*
    provider. Not a `default`: a default is computed whenever an instance is built, and building
    one (in a form, a test) must not cost a query; the save is where the answer is needed.
    Rows from before providers got theirs from the data migration."""

    def __init__(self, *args: Any, fill_from: str | None = None, **kwargs: Any) -> None:
        self.fill_from = fill_from
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.fill_from:
            kwargs["fill_from"] = self.fill_from
        return name, path, args, kwargs

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        if getattr(model_instance, self.attname) is None:
            # The provider module itself, not the models package (which imports this one).
            from .models.provider import default_provider_pk

            source = getattr(model_instance, self.fill_from, None) if self.fill_from else None
            value = getattr(source, "provider_id", None) or default_provider_pk()
            setattr(model_instance, self.attname, value)
        return super().pre_save(model_instance, add)
