"""Outgoing email: rendered from templates, queued in the database, delivered by a backend."""

from staffroom.core.mail.backends import Email, MailBackend, make_backend
from staffroom.core.mail.queue import MailQueue

__all__ = ["Email", "MailBackend", "MailQueue", "make_backend"]
