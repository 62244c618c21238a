/**
 * Migration 5: whether the eIM verified a stored notification (its eUICC signature checked with the validated
 * eUICC key) or stored it unverified because it had no eUICC key yet (SGP.22 v2.5 §3.5, SGP.32 v1.2 §3.7).
 * Whoever acts on a notification later (the download relay ending its operation on the ProfileInstallationResult,
 * an operator reading the list) reads the verdict instead of deciding again. NULL is unverified: rows stored
 * before this migration count as unverified, the safe reading.
 */
export const sql = `
ALTER TABLE notifications ADD COLUMN verified INTEGER;
`;
