/**
 * Server-side Block1 reassembly (RFC 7959 §2.3, §2.5) keyed by peer + URI + Request-Tag (RFC 9175 §3),
 * never by token: libcoap changes the token on every block. Bounded: a cap on concurrent transfers, on
 * the body size (4.13 with Size1), and a lifetime after which an abandoned transfer is dropped.
 */
import type { TimeSource } from '../../scheduler/ports.js';
import { blockSize, Code, decodeBlock, encodeBlock, getOption, getUintOption, Opt, uintOption, type CoapMessage, type CoapOption } from './message.js';

export interface ReassemblyLimits {
  /** Largest request body accepted, bytes (default 64 KiB + 1 KiB margin; at least 64 KiB for a BPP). */
  readonly maxBodySize: number;
  /** Concurrent transfers over all peers (default 1000). */
  readonly maxTransfers: number;
  /** Concurrent transfers per peer (default 4). */
  readonly maxTransfersPerPeer: number;
  /** A transfer with no block for this long is dropped (default 120 s, beyond one awake window of 93 s). */
  readonly lifetimeMs: number;
  /** Bytes held by all transfers together (default 16 MiB); a block beyond it gets 5.03. */
  readonly maxTotalBytes: number;
}

export type ReassemblyOutcome =
  | { readonly kind: 'continue'; readonly block1: Uint8Array }
  | { readonly kind: 'done'; readonly body: Uint8Array; readonly block1: Uint8Array }
  | { readonly kind: 'error'; readonly code: number; readonly reason: string; readonly options?: readonly CoapOption[] };

interface Transfer {
  readonly peer: string;
  readonly parts: Uint8Array[];
  received: number;
  touched: number;
}

export class BlockReassembler {
  readonly maxBodySize: number;
  readonly #limits: ReassemblyLimits;
  readonly #clock: TimeSource;
  readonly #transfers = new Map<string, Transfer>();
  readonly #perPeer = new Map<string, number>();
  #totalBytes = 0;

  constructor(limits: Partial<ReassemblyLimits>, clock: TimeSource) {
    this.#limits = {
      maxBodySize: limits.maxBodySize ?? 65_536 + 1024,
      maxTransfers: limits.maxTransfers ?? 1000,
      maxTransfersPerPeer: limits.maxTransfersPerPeer ?? 4,
      lifetimeMs: limits.lifetimeMs ?? 120_000,
      maxTotalBytes: limits.maxTotalBytes ?? 16 * 1024 * 1024,
    };
    this.maxBodySize = this.#limits.maxBodySize;
    this.#clock = clock;
  }

  get size(): number {
    return this.#transfers.size;
  }

  accept(peer: string, message: CoapMessage, path: string, query: readonly string[]): ReassemblyOutcome {
    const raw = getOption(message, Opt.Block1);
    const block = raw === undefined ? undefined : decodeBlock(raw);
    if (block === undefined) return { kind: 'error', code: Code.BadOption, reason: 'malformed Block1 option' };
    const tag = getOption(message, Opt.RequestTag);
    const key = `${peer}|${message.code}|${path}?${query.join('&')}#${tag === undefined ? '-' : Buffer.from(tag).toString('hex')}`;
    const size = blockSize(block.szx);
    const tooLarge = (reason: string): ReassemblyOutcome => {
      this.#drop(key);
      return { kind: 'error', code: Code.RequestEntityTooLarge, reason, options: [{ number: Opt.Size1, value: uintOption(this.#limits.maxBodySize) }] };
    };
    if (block.more && message.payload.length !== size) {
      this.#drop(key);
      return { kind: 'error', code: Code.BadRequest, reason: `block ${block.num} carries ${message.payload.length} bytes, not ${size}` };
    }
    let transfer = this.#transfers.get(key);
    if (block.num === 0) {
      const announced = getUintOption(message, Opt.Size1);
      if (announced !== undefined && announced > this.#limits.maxBodySize) return tooLarge(`Size1 ${announced} exceeds ${this.#limits.maxBodySize}`);
      if (!block.more) {
        this.#drop(key);
        return { kind: 'done', body: message.payload, block1: encodeBlock(block) };
      }
      if (transfer === undefined) {
        if (this.#transfers.size >= this.#limits.maxTransfers) return { kind: 'error', code: Code.ServiceUnavailable, reason: 'too many Block1 transfers in progress' };
        if ((this.#perPeer.get(peer) ?? 0) >= this.#limits.maxTransfersPerPeer) return { kind: 'error', code: Code.ServiceUnavailable, reason: 'too many Block1 transfers from this peer' };
        this.#perPeer.set(peer, (this.#perPeer.get(peer) ?? 0) + 1);
      } else {
        this.#totalBytes -= transfer.received; // a restart from block 0 drops what the old attempt held
      }
      transfer = { peer, parts: [], received: 0, touched: 0 };
      this.#transfers.set(key, transfer);
    } else if (transfer === undefined) {
      return { kind: 'error', code: Code.RequestEntityIncomplete, reason: `block ${block.num} without a transfer in progress` };
    }
    const offset = block.num * size;
    if (offset !== transfer.received) {
      // A retransmitted earlier block (lost ACK) is answered again without appending it.
      if (offset + message.payload.length === transfer.received && block.more) {
        transfer.touched = this.#clock.now();
        return { kind: 'continue', block1: encodeBlock(block) };
      }
      this.#drop(key);
      return { kind: 'error', code: Code.RequestEntityIncomplete, reason: `block ${block.num} starts at ${offset}, expected ${transfer.received}` };
    }
    if (transfer.received + message.payload.length > this.#limits.maxBodySize) return tooLarge(`body exceeds ${this.#limits.maxBodySize} bytes`);
    if (block.more && this.#totalBytes + message.payload.length > this.#limits.maxTotalBytes) {
      this.#drop(key);
      return { kind: 'error', code: Code.ServiceUnavailable, reason: 'Block1 memory budget exhausted' };
    }
    transfer.parts.push(message.payload);
    transfer.received += message.payload.length;
    this.#totalBytes += message.payload.length;
    transfer.touched = this.#clock.now();
    if (block.more) return { kind: 'continue', block1: encodeBlock(block) };
    const body = Buffer.concat(transfer.parts);
    this.#drop(key);
    return { kind: 'done', body, block1: encodeBlock(block) };
  }

  /** Drops transfers idle beyond their lifetime; returns their keys for logging. */
  expire(): string[] {
    const now = this.#clock.now();
    const expired: string[] = [];
    for (const [key, transfer] of this.#transfers) {
      if (now - transfer.touched > this.#limits.lifetimeMs) {
        expired.push(key);
        this.#drop(key);
      }
    }
    return expired;
  }

  #drop(key: string): void {
    const transfer = this.#transfers.get(key);
    if (transfer === undefined) return;
    this.#transfers.delete(key);
    this.#totalBytes -= transfer.received;
    const n = (this.#perPeer.get(transfer.peer) ?? 1) - 1;
    if (n <= 0) this.#perPeer.delete(transfer.peer);
    else this.#perPeer.set(transfer.peer, n);
  }
}
