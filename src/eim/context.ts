/**
 * What the eIM domain modules share: the store seam, the eIM identity, validated eUICC keys, a clock, a
 * logger and the event sink. Built once by EimCore; no transport appears here.
 */
import type { Logger } from 'pino';
import type { AsyncVerifier } from '../crypto/ecdsa.js';
import type { Store } from '../store/store.js';
import type { EuiccKeys } from './euicc-keys.js';
import type { EimEvent } from './events.js';
import type { EimIdentity } from './identity.js';

export interface CoreContext {
  readonly store: Store;
  readonly identity: EimIdentity;
  readonly keys: EuiccKeys;
  readonly now: () => number;
  readonly randomBytes: (n: number) => Uint8Array;
  readonly logger: Logger;
  readonly emit: (event: EimEvent) => void;
  /** How many times one package is handed out before its operation fails as undeliverable. */
  readonly maxAttempts: number;
  /** Verifies an eUICC signature: on the crypto pool's workers when one is configured, else here. */
  readonly verify: AsyncVerifier;
}
