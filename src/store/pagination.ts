/**
 * Cursor pagination shared by Store implementations: a cursor is the opaque, base64url-encoded sort key of
 * the last item of a page, so a listing resumes strictly after it even when rows are added meanwhile.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Page } from './store.js';

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** The page size to use: `limit` capped at MAX_LIMIT, DEFAULT_LIMIT when absent. */
export function limitOf(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidArgumentError('limit', 'expected a positive integer');
  return Math.min(limit, MAX_LIMIT);
}

export function encodeCursor(key: unknown[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The sort key inside `cursor`; InvalidArgumentError when it is not one `check` accepts. */
export function decodeCursor(cursor: string, check: (key: unknown[]) => boolean): unknown[] {
  try {
    const v: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(v) && check(v)) return v;
  } catch {
    // fall through: any malformed cursor gets the same error
  }
  throw new InvalidArgumentError('cursor', 'not a cursor returned by this listing');
}

/** Cuts `rows` (fetched with limit + 1) to a page, with a cursor when there was more. */
export function toPage<T>(rows: T[], limit: number, key: (last: T) => unknown[]): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(key(items[items.length - 1] as T)) };
}
