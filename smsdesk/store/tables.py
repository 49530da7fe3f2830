"""The relational schema, as SQLAlchemy Core tables. Migrations in ``migrations/`` create exactly this.

Aggregates that the domain owns (SMS sessions, agent states, monitoring subscriptions) are kept as a JSON
document plus the few columns that queries filter on; everything else is plain columns.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

__all__ = ["metadata"]

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_name", String(128), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("roles", JSON, nullable=False),
    Column("first_name", String(128), nullable=False, default=""),
    Column("last_name", String(128), nullable=False, default=""),
    Column("nickname", String(128), nullable=False, default=""),
    Column("capacity", Integer, nullable=False, default=0),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_ms", BigInteger, nullable=False),
    # -- conformance (issue 23): the User resource's emailAddress (spec §9.7), and the last referenceId the
    # user's session operations were answered with (unique and monotonic per user, docs/sessions.md)
    Column("email_address", String(256), nullable=False, default="", server_default=""),
    Column("reference_id", BigInteger, nullable=False, server_default="0"),
)

http_sessions = Table(
    "http_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("user_id", String(32), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger, nullable=False),
)

agents = Table(
    "agents",
    metadata,
    Column("user_id", String(32), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("reason", String(128), nullable=True),
    Column("since_ms", BigInteger, nullable=False),
    Column("idle_since_ms", BigInteger, nullable=False),
    # desktop (issue 24): wrap-up, the channel NotReady with workMode AfterCallWork (migration 0002_desktop)
    Column("work_mode", String(32), nullable=True),
    Column("wrap_session_id", String(32), nullable=True),
    Column("wrap_until_ms", BigInteger, nullable=True),
)

sms_sessions = Table(
    "sms_sessions",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("is_open", Boolean, nullable=False),
    Column("waiting", Boolean, nullable=False),  # needs routing (queued, no agent holds it)
    Column("queue", String(128), nullable=False),
    Column("customer", String(32), nullable=False),
    Column("business", String(32), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    Column("queued_ms", BigInteger, nullable=False),
    Column("deadline_ms", BigInteger, nullable=True),  # an offer expires then (offer timeout)
    Column("data", JSON, nullable=False),
    # liveops (statistics, reports, history, retention): the session's milestones, set by the session engine
    # with the rest of the row; the statistics' counters follow them on commit (store/counters.py)
    Column("agent_id", String(32), nullable=True),  # the agent who owns (or last owned) the session
    Column("offered_ms", BigInteger, nullable=True),  # first entered a queue (None: never queued)
    Column("accepted_ms", BigInteger, nullable=True),  # an agent first accepted it
    Column("first_reply_ms", BigInteger, nullable=True),  # first agent text to the customer
    Column("reply_wait_ms", BigInteger, nullable=True),  # customer's first text -> first agent text
    Column("ended_ms", BigInteger, nullable=True),  # over for the customer (no longer open)
    Column("parties", Text, nullable=True),  # ",u1,u2,": every user who ever took part (history access)
    Index("ix_sms_sessions_ended", "ended_ms"),  # retention
    Index("ix_sms_sessions_customer", "customer", "created_ms"),
    Index("ix_sms_sessions_agent", "agent_id", "created_ms"),
    Index("ix_sms_sessions_deadline", "deadline_ms"),
    Index("ix_sms_sessions_open_pair", "customer", "business", "is_open"),
    # at most one open session per (customer, business number): two racing inbound SMS cannot open two
    Index(
        "uq_sms_sessions_open",
        "customer",
        "business",
        unique=True,
        sqlite_where=text("is_open"),
        postgresql_where=text("is_open"),
    ),
    Index("ix_sms_sessions_waiting", "waiting", "queued_ms"),
)

session_members = Table(
    "session_members",
    metadata,
    Column("session_id", String(32), primary_key=True),
    Column("user_id", String(32), primary_key=True),
    Column("counts", Boolean, nullable=False),  # the member is an agent whose load this session adds to
    Index("ix_session_members_user", "user_id"),
)

# liveops: the texts of ``messages`` are indexed for full-text search (customer history) by objects that are
# not tables here: on SQLite the FTS5 table ``messages_fts`` fed by triggers, on PostgreSQL the generated
# column ``messages.tsv`` with a GIN index (migration 0002_liveops; docs/operations.md)
messages = Table(
    "messages",
    metadata,
    Column("session_id", String(32), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("data", JSON, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("user_id", String(32), nullable=False),
    Column("channel", String(64), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_events_user_id", "user_id", "id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("provider", String(32), nullable=False),
    Column("from_number", String(32), nullable=False),
    Column("to_number", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("session_id", String(32), nullable=True),
    Column("message_index", Integer, nullable=True),
    Column("status", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_ms", BigInteger, nullable=False),
    Column("lease_until_ms", BigInteger, nullable=False, default=0),
    Column("provider_message_id", String(128), nullable=True),
    Column("error", Text, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    # mms (issue 22): a PushUrl's URL, sent as MMS media by the providers that can (Twilio's MediaUrl); the
    # others send ``text``, the link (migration 0004_mms)
    Column("media_url", Text, nullable=True),
    Index("ix_outbox_due", "status", "next_attempt_ms"),
    Index("ix_outbox_provider_id", "provider", "provider_message_id"),
)

inbound = Table(
    "inbound",
    metadata,
    Column("provider", String(32), primary_key=True),
    Column("provider_message_id", String(128), primary_key=True),
    Column("session_id", String(32), nullable=True),
    Column("created_ms", BigInteger, nullable=False),
)

opt_outs = Table(
    "opt_outs",
    metadata,
    Column("number", String(32), primary_key=True),
    Column("opted_out", Boolean, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("supervisor_id", String(32), primary_key=True),
    Column("agent_id", String(32), primary_key=True),
    Column("data", JSON, nullable=False),
    Index("ix_subscriptions_agent", "agent_id"),
)

leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),  # e.g. "router": one node at a time does that job
    Column("holder", String(64), nullable=False),
    Column("until_ms", BigInteger, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("actor_id", String(32), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target_id", String(64), nullable=True),
    Column("details", JSON, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("id"),
)

# --- hardening: failed logins, counted per user name and per client address across every process and node
# (smsdesk/store/login_failures.py, docs/security.md)
login_failures = Table(
    "login_failures",
    metadata,
    Column("key", String(200), primary_key=True),  # "user:<name>" or "addr:<address>"
    Column("window_start_ms", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
    Index("ix_login_failures_window", "window_start_ms"),
)

# --- routing (issue 17): presence -------------------------------------------------------------------------
# Each serving process ("node" here: a worker process of a node has its own id) writes, every few seconds,
# a row per user who has a notification client on it; the router reads the latest per user (docs/routing.md).
presence = Table(
    "presence",
    metadata,
    Column("node_id", String(64), primary_key=True),
    Column("user_id", String(32), primary_key=True),
    Column("last_seen_ms", BigInteger, nullable=False),
    Index("ix_presence_user", "user_id"),
)

# --- routing (issue 17): agents' skills -------------------------------------------------------------------
user_skills = Table(
    "user_skills",
    metadata,
    Column("user_id", String(32), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("level", Integer, nullable=False),
)

# ---- cluster: what the nodes share beyond sessions (docs/deployment.md, "Any client on any node") ----

# The simulator's handsets read the outbox (docs/sms.md): what was sent to one number, newest first.
Index("ix_outbox_to", outbox.c.to_number, outbox.c.id)

cometd_clients = Table(
    "cometd_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("user_id", String(32), nullable=False),
    Column("resume_key", String(64), nullable=False),  # the browser's cookie, or "" (docs/notifications.md)
    Column("ack", Boolean, nullable=False),  # the client uses the CometD ack extension
    Column("subscriptions", JSON, nullable=False),  # the channel patterns, a sorted list
    Column("version", Integer, nullable=False),  # bumped by every change of the subscriptions
    Column("floor", BigInteger, nullable=False),  # the client gets no event up to this id (its start)
    Column("position", BigInteger, nullable=False),  # the last event id handed to the client
    Column("seen_ms", BigInteger, nullable=False),  # its last request (written at most every few seconds)
    Column("gone", Boolean, nullable=False),  # disconnected, expired or dropped: kept only to resume from
    Index("ix_cometd_clients_resume", "user_id", "resume_key"),
    Index("ix_cometd_clients_seen", "seen_ms"),
)

# ---- liveops: statistics counters kept on commit (smsdesk/store/counters.py, docs/operations.md) ----

stat_queue_minutes = Table(
    "stat_queue_minutes",
    metadata,
    Column("minute_ms", BigInteger, primary_key=True),  # epoch ms of the minute's start
    Column("queue", String(128), primary_key=True),
    Column("offered", Integer, nullable=False, default=0),
    Column("accepted", Integer, nullable=False, default=0),
    Column("accepted_in_sl", Integer, nullable=False, default=0),  # within service_level_s, as set then
    Column("wait_ms", BigInteger, nullable=False, default=0),
    Column("completed", Integer, nullable=False, default=0),
    Column("handle_ms", BigInteger, nullable=False, default=0),
    Column("abandoned", Integer, nullable=False, default=0),
    Column("replies", Integer, nullable=False, default=0),
    Column("reply_wait_ms", BigInteger, nullable=False, default=0),
)

stat_agent_quarters = Table(
    "stat_agent_quarters",
    metadata,
    Column("quarter_ms", BigInteger, primary_key=True),  # a quarter hour: every zone's midnight is on one
    Column("agent_id", String(32), primary_key=True),
    Column("handled", Integer, nullable=False, default=0),
    Column("handle_ms", BigInteger, nullable=False, default=0),
)

# --- tools (issue 22): standard responses and contact notes (docs/api.md, "Agent tools") ---------------------
standard_responses = Table(
    "standard_responses",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("category", String(100), nullable=False),
    Column("text", Text, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

contact_notes = Table(
    "contact_notes",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("customer_number", String(32), nullable=False),
    Column("author_id", String(32), nullable=False),
    Column("author_name", String(200), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_contact_notes_number", "customer_number", "created_ms"),
)

# --- mms (issue 22): the media of inbound messages, the bytes kept in the database (docs/api.md, "Media") -----
# A transcript message names its media by id (``media[].id``); ``GET /api/v2/media/{id}`` serves the bytes to
# the users who may read that message. Deleted with the session (retention, erasure).
media = Table(
    "media",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("session_id", String(32), nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("size", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Index("ix_media_session", "session_id"),
)
