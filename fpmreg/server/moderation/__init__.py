"""Moderation: reports, the moderator queue, yank, deprecation, quarantine, deletion."""
