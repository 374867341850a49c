"""Vendor connectors: one package per vendor, each found through the prophub.connectors entry points."""
