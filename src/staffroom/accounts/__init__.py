"""Orgs, users, groups, roles, sessions, passwords, TOTP."""
