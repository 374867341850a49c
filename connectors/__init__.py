"""Vendor connectors, one package per vendor, found through prophub.connectors entry points."""
