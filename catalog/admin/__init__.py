"""Django admin of the catalog, one module a room: services (with their bulk actions), the
pricing rules, the history and syncs, providers and backups. Importing them registers them."""

from . import history, price_rules, providers, services

__all__ = ["history", "price_rules", "providers", "services"]
