/**
 * Migration 1: the initial schema (eUICCs, associations, profiles and their history, operations,
 * notifications, audit, device credentials). Times are INTEGER epoch ms, bytes BLOB, JSON TEXT.
 * Listing filters have an index here, except the audit filters on actor, action and outcome (see there).
 * Never edit a migration once released: add a new one.
 */

export const sql = `
-- A rowid table, not WITHOUT ROWID: with both certificates a row is ~1.3 KB, over the ~1 KB a WITHOUT ROWID
-- page keeps inline, so every read and every lastContactAt update went through overflow pages (measured:
-- 17 us -> 8 us per update, 16 us -> 8 us per read).
CREATE TABLE euiccs (
  eid TEXT PRIMARY KEY NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  last_contact_at INTEGER,
  endpoint TEXT UNIQUE,
  labels TEXT NOT NULL,
  euicc_certificate BLOB,
  eum_certificate BLOB,
  ci_pk_id BLOB,
  ipa_capabilities TEXT,
  euicc_info2 TEXT,
  default_smdp_address TEXT,
  resync TEXT
);
CREATE INDEX euiccs_last_contact ON euiccs (last_contact_at);

-- One row per (eUICC, label): the index behind the label filter (the labels column keeps their order).
CREATE TABLE euicc_labels (
  eid TEXT NOT NULL REFERENCES euiccs (eid) ON DELETE CASCADE,
  label TEXT NOT NULL,
  PRIMARY KEY (label, eid)
) WITHOUT ROWID;
CREATE INDEX euicc_labels_eid ON euicc_labels (eid);

CREATE TABLE associations (
  eim_id TEXT NOT NULL,
  eid TEXT NOT NULL REFERENCES euiccs (eid) ON DELETE CASCADE,
  counter_value INTEGER NOT NULL,
  association_token INTEGER,
  eim_entries TEXT,
  state TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (eim_id, eid)
) WITHOUT ROWID;
CREATE INDEX associations_eid ON associations (eid);

CREATE TABLE profiles (
  eid TEXT NOT NULL REFERENCES euiccs (eid) ON DELETE CASCADE,
  iccid TEXT NOT NULL,
  aid TEXT,
  state TEXT NOT NULL,
  profile_class TEXT,
  nickname TEXT,
  service_provider_name TEXT,
  profile_name TEXT,
  fallback_attribute INTEGER NOT NULL,
  policy_rules TEXT NOT NULL,
  last_verified_at INTEGER,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (eid, iccid)
) WITHOUT ROWID;
CREATE INDEX profiles_iccid_state ON profiles (iccid, state);

CREATE TABLE profile_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  eid TEXT NOT NULL,
  iccid TEXT NOT NULL,
  at INTEGER NOT NULL,
  change TEXT NOT NULL,
  operation_id TEXT
);
CREATE INDEX profile_history_eid ON profile_history (eid, iccid, id);

-- seq keeps insertion order stable (FIFO among equal createdAt) and survives VACUUM, unlike a bare rowid.
CREATE TABLE operations (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  eid TEXT NOT NULL,
  kind TEXT NOT NULL,
  params TEXT NOT NULL,
  state TEXT NOT NULL,
  counter_value INTEGER,
  eim_transaction_id BLOB,
  package_der BLOB,
  attempts INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  sent_at INTEGER,
  completed_at INTEGER,
  not_before INTEGER,
  expires_at INTEGER,
  result TEXT,
  error_code TEXT,
  error_message TEXT,
  campaign_id TEXT,
  idempotency_key TEXT UNIQUE
);
CREATE UNIQUE INDEX operations_transaction ON operations (eid, eim_transaction_id) WHERE eim_transaction_id IS NOT NULL;
CREATE INDEX operations_created ON operations (created_at, id);
CREATE INDEX operations_eid_state ON operations (eid, state, created_at, seq);
CREATE INDEX operations_eid_created ON operations (eid, created_at, id);
-- Also serves sentOperations: the 'sent' set is small (in flight), so sorting it by sent_at is cheap and one
-- index fewer on the hottest insert path is not (each index costs about 1-2 us per operation insert here).
CREATE INDEX operations_state_created ON operations (state, created_at, id);
CREATE INDEX operations_kind_created ON operations (kind, created_at, id);
CREATE INDEX operations_campaign_created ON operations (campaign_id, created_at, id) WHERE campaign_id IS NOT NULL;

CREATE TABLE notifications (
  eid TEXT NOT NULL,
  seq_number INTEGER NOT NULL,
  kind TEXT NOT NULL,
  iccid TEXT,
  notification_address TEXT,
  payload BLOB NOT NULL,
  received_at INTEGER NOT NULL,
  forward_state TEXT NOT NULL,
  forward_attempts INTEGER NOT NULL,
  next_forward_at INTEGER,
  ack_state TEXT NOT NULL,
  PRIMARY KEY (eid, seq_number)
);
CREATE INDEX notifications_ack ON notifications (eid, ack_state, seq_number);
CREATE INDEX notifications_forward ON notifications (forward_state, next_forward_at);

-- Written with every package issued and every result: kept light. No AUTOINCREMENT (the log is append-only,
-- so max(id) + 1 already never reuses an id, without the sqlite_sequence write per row), and indexes only for
-- the selective filters (eUICC, operation, time); actor/action/outcome listings scan by id and stop at the page.
CREATE TABLE audit (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  eid TEXT,
  operation_id TEXT,
  outcome TEXT NOT NULL,
  reason TEXT,
  detail TEXT
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_eid ON audit (eid, id) WHERE eid IS NOT NULL;
CREATE INDEX audit_operation ON audit (operation_id, id) WHERE operation_id IS NOT NULL;

CREATE TABLE device_credentials (
  endpoint TEXT PRIMARY KEY NOT NULL,
  eid TEXT,
  psk_identity TEXT UNIQUE,
  psk BLOB,
  certificate_fingerprint TEXT UNIQUE
) WITHOUT ROWID;
CREATE INDEX device_credentials_eid ON device_credentials (eid);
`;
