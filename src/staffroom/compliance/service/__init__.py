"""Compliance operations: data export, erasure and its ledger, backups."""
