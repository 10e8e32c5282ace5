"""Shipped search recipes (YAML), one file per published setting; load them by name."""
