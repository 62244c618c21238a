/**
 * API tokens: 32 random bytes shown once as `eim_<base64url>`, stored only as their SHA-256 (a random 256-bit
 * secret needs no slow hash: there is nothing to guess). Roles are ordered read < operate < admin.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ApiRole, ApiStore, ApiTokenRecord } from '../store/api-store.js';
import { InvalidArgumentError } from '../errors.js';

const RANK: Readonly<Record<ApiRole, number>> = { read: 0, operate: 1, admin: 2 };

/** True when `have` may do what `need` allows. */
export function roleAllows(have: ApiRole, need: ApiRole): boolean {
  return RANK[have] >= RANK[need];
}

/** Lowercase hex SHA-256 of a token string, as stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random token string. */
export function generateToken(): string {
  return `eim_${randomBytes(32).toString('base64url')}`;
}

/**
 * Creates and stores a token; returns its record and the secret, which is not stored and can not be shown
 * again. ConflictError when the name is taken.
 */
export async function createApiToken(apiStore: ApiStore, input: { name: string; role: ApiRole; now?: number }): Promise<{ record: ApiTokenRecord; token: string }> {
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(input.name)) throw new InvalidArgumentError('name', '1 to 64 letters, digits, dot, dash or underscore');
  if (!(input.role in RANK)) throw new InvalidArgumentError('role', 'one of read, operate, admin');
  const token = generateToken();
  const record: ApiTokenRecord = { id: randomUUID(), name: input.name, role: input.role, tokenHash: hashToken(token), createdAt: input.now ?? Date.now() };
  await apiStore.insertToken(record);
  return { record, token };
}

/**
 * On a first start (no token at all), creates an admin token named `name` (default 'admin') and returns its
 * secret for main.ts to store with 0600 permissions; returns undefined when tokens already exist.
 */
export async function createInitialAdminToken(apiStore: ApiStore, options: { name?: string; now?: number } = {}): Promise<string | undefined> {
  if ((await apiStore.countTokens()) > 0) return undefined;
  const { token } = await createApiToken(apiStore, { name: options.name ?? 'admin', role: 'admin', ...(options.now !== undefined ? { now: options.now } : {}) });
  return token;
}
