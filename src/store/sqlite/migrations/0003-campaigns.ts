/** Migration 3: campaigns and their frozen, ordered target device lists (src/scheduler, SqliteCampaignStore). */
export const sql = `
CREATE TABLE campaigns (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  name TEXT,
  request TEXT NOT NULL,
  target TEXT NOT NULL,
  start_at INTEGER NOT NULL,
  daily_window TEXT,
  rate REAL NOT NULL,
  max_in_flight INTEGER NOT NULL,
  canary_share REAL NOT NULL,
  failure_threshold REAL NOT NULL,
  min_results_for_threshold INTEGER NOT NULL,
  device_expiry_ms INTEGER,
  state TEXT NOT NULL,
  phase TEXT NOT NULL,
  paused_reason TEXT,
  total INTEGER NOT NULL,
  canary_count INTEGER NOT NULL,
  cursor INTEGER NOT NULL,
  baseline_finished INTEGER NOT NULL,
  baseline_failed INTEGER NOT NULL,
  created_by TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  completed_at INTEGER
);
CREATE INDEX campaigns_state ON campaigns (state, seq);
CREATE TABLE campaign_devices (
  campaign_id TEXT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  eid TEXT NOT NULL,
  operation_id TEXT,
  released_at INTEGER,
  skipped TEXT,
  PRIMARY KEY (campaign_id, seq)
) WITHOUT ROWID;
CREATE UNIQUE INDEX campaign_devices_eid ON campaign_devices (campaign_id, eid);
`;
