"""Invites, bulk import, domain binding, self-signup, access codes, offboarding."""
