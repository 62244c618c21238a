/**
 * Migration 2: API tokens (stored as SHA-256 hashes), webhook subscriptions with their in-order delivery
 * cursor, and the durable event outbox every event is written to before it is delivered (src/api).
 */
export const sql = `
CREATE TABLE api_tokens (
  id TEXT PRIMARY KEY NOT NULL,
  name TEXT NOT NULL UNIQUE,
  role TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  last_used_at INTEGER
) WITHOUT ROWID;

-- seq is the event id: strictly increasing, never reused (AUTOINCREMENT), so it orders deliveries.
CREATE TABLE event_outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL,
  at INTEGER NOT NULL,
  data TEXT NOT NULL
);

-- delivered_seq: every matching event up to it was accepted by the receiver; the next one is retried
-- (attempts, next_attempt_at) until it is, so a receiver gets every event in order.
CREATE TABLE webhooks (
  id TEXT PRIMARY KEY NOT NULL,
  url TEXT NOT NULL,
  event_types TEXT NOT NULL,
  secret TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  delivered_seq INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_error TEXT
) WITHOUT ROWID;
`;
