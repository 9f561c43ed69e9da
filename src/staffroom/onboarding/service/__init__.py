"""All business rules of onboarding; never imports Litestar."""

from staffroom.onboarding.service import importer, invites

__all__ = ["importer", "invites"]
