"""Feeds: channels with audiences, posts, comments, reactions, reads and acknowledgements."""
