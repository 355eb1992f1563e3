"""Moved to dynaxx_neuro.activity (temporary re-export while rules migrate)."""
from dynaxx_neuro.activity import *  # noqa: F401,F403
from dynaxx_neuro.activity import count_sent, sent_events, EpochActivity  # noqa: F401
