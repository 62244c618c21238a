/**
 * The store seam of the operator API (src/api): API tokens, webhook subscriptions and the durable event
 * outbox. Records are plain data; every record returned is a fresh copy owned by the caller. Lookups return
 * undefined when nothing is found; changing a record that does not exist throws NotFoundError.
 */
import type { Json } from './records.js';

export type ApiRole = 'read' | 'operate' | 'admin';

export const API_ROLES: readonly ApiRole[] = ['read', 'operate', 'admin'];

/** An API token. Only the SHA-256 of the secret is stored; the secret itself is shown once, at creation. */
export interface ApiTokenRecord {
  id: string;
  /** Unique; used in audit lines as `api:<name>`. */
  name: string;
  role: ApiRole;
  /** Lowercase hex SHA-256 of the token string. Unique. */
  tokenHash: string;
  createdAt: number;
  lastUsedAt?: number;
}

/** One event as written to the outbox. `seq` orders events and never repeats. */
export interface OutboxEvent {
  seq: number;
  type: string;
  at: number;
  data: Json;
}

/** A webhook subscription and where its in-order delivery stands. */
export interface WebhookRecord {
  id: string;
  url: string;
  /** Event types delivered: exact names, `prefix.*`, or `*` for all. */
  eventTypes: string[];
  /** HMAC-SHA256 key of the X-Eim-Signature header. Never returned by the API. */
  secret: string;
  createdAt: number;
  /** Every outbox event up to this seq has been delivered (or did not match). */
  deliveredSeq: number;
  /** Failed attempts at the next event. */
  attempts: number;
  /** When the next attempt may run; unset when due now. */
  nextAttemptAt?: number;
  lastError?: string;
}

export interface ApiStore {
  /** Inserts a token; ConflictError when its name or hash is taken. */
  insertToken(record: ApiTokenRecord): Promise<void>;
  /** The token with this hash, or undefined. */
  findTokenByHash(tokenHash: string): Promise<ApiTokenRecord | undefined>;
  /** All tokens ordered by name. */
  listTokens(): Promise<ApiTokenRecord[]>;
  /** Deletes a token; returns false when it did not exist. */
  deleteToken(id: string): Promise<boolean>;
  /** Records a use of the token (best effort, for the operator's view); nothing when it does not exist. */
  touchToken(id: string, at: number): Promise<void>;
  /** Number of tokens (0 on a first start, when the first admin token is created). */
  countTokens(): Promise<number>;

  /**
   * Appends an event to the outbox and returns it with its seq. Appends are durable when the promise
   * resolves and are numbered in call order.
   */
  appendEvent(event: { type: string; at: number; data: Json }): Promise<OutboxEvent>;
  /** Events with seq > `afterSeq`, oldest first, at most `limit` (default 100). */
  listEventsAfter(afterSeq: number, limit?: number): Promise<OutboxEvent[]>;
  /** The highest seq written so far (0 when none). */
  lastEventSeq(): Promise<number>;
  /** Deletes events with seq <= `upToSeq` that every webhook has passed; returns how many were deleted. */
  pruneEvents(upToSeq: number): Promise<number>;
  /** The highest seq of the events written before `at` (epoch ms) and of none after them; 0 when none. */
  lastEventSeqBefore(at: number): Promise<number>;

  /** Inserts a subscription; ConflictError when its id exists. */
  insertWebhook(record: WebhookRecord): Promise<void>;
  getWebhook(id: string): Promise<WebhookRecord | undefined>;
  /** All subscriptions ordered by createdAt, then id. */
  listWebhooks(): Promise<WebhookRecord[]>;
  /** Deletes a subscription; returns false when it did not exist. */
  deleteWebhook(id: string): Promise<boolean>;
  /**
   * Moves a subscription's delivery state. With `expectedDeliveredSeq`, ConflictError unless the stored
   * deliveredSeq equals it (so two delivery loops never both advance one subscription). NotFoundError when
   * the subscription does not exist (it may have been deleted meanwhile).
   */
  updateWebhookDelivery(
    id: string,
    patch: { deliveredSeq?: number; attempts?: number; nextAttemptAt?: number | undefined; lastError?: string | undefined },
    options?: { expectedDeliveredSeq?: number },
  ): Promise<void>;

  /**
   * Reporting view for /metrics: how many operations are in each state (states with none are absent). It
   * reads the Store's operations table, which this seam never writes.
   */
  operationCountsByState(): Promise<Record<string, number>>;
}
