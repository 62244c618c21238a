/**
 * Migration 4: fewer pages written per package and per result. Each index entry that moves lands on a page of
 * its own (eUICCs wake in no particular order), and a commit writes every page it touched to the WAL, which
 * the checkpointer copies again: measured here, ~10 pages (40 KB) per package issued, for ~500 bytes of data.
 * - eimTransactionId: the unique index (eid, eim_transaction_id) is gone. The eUICC's index now ends with it,
 *   (eid, state, eim_transaction_id): that entry moves anyway when a package is issued (queued -> sent), so a
 *   result is found by one seek per state, and the store checks uniqueness with the same lookup. Queued
 *   operations of one eUICC are few; their FIFO order is sorted when read.
 * - state listing: (state, created_at, id) moved two entries at every state change; listings by state now
 *   read operations_created (or the eUICC's index) and filter. The in-flight set keeps a small index by sent
 *   time, where entries are added at the end and leave soon after.
 * - notifications: the forwarding index holds only those still to forward (every result stores one that is
 *   never forwarded).
 * - eUICCs: lastContactAt changes at every exchange; its index is gone, and the listing filter reads the eUICCs
 *   in eid order (their page order anyway), stopping at a full page.
 */
export const sql = `
DROP INDEX operations_transaction;
DROP INDEX operations_eid_state;
CREATE INDEX operations_eid_state ON operations (eid, state, eim_transaction_id);
DROP INDEX operations_state_created;
CREATE INDEX operations_sent ON operations (sent_at) WHERE state = 'sent';
DROP INDEX notifications_forward;
CREATE INDEX notifications_forward ON notifications (next_forward_at) WHERE forward_state = 'pending';
DROP INDEX euiccs_last_contact;
`;
