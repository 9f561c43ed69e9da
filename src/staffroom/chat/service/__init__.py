"""Chat business rules: conversations, messages, the outbox dispatcher, retention."""
