/**
 * Test harness for the LwM2M layer: a server on 127.0.0.1 port 0 over plain UDP, simulated clients,
 * and bounded waits for server events (domain helpers in the style of Leshan's QueueModeTest).
 */
import { createSocket, type Socket } from 'node:dgram';
import type { EventEmitter } from 'node:events';
import { ManualClock } from '../../src/scheduler/clock.js';
import { Lwm2mServer, type Lwm2mServerOptions } from '../../src/lwm2m/server.js';
import { Lwm2mClient, type Lwm2mClientOptions } from '../../src/sim/lwm2m-client.js';

export interface Harness {
  readonly server: Lwm2mServer;
  readonly socket: Socket;
  readonly port: number;
  client(options: Partial<Lwm2mClientOptions> & { endpoint: string }): Promise<Lwm2mClient>;
  close(): Promise<void>;
}

/** Fast CoAP timing for tests: 100 ms ACK timeout, 2 retransmissions. */
export const FAST_COAP = { ackTimeoutMs: 100, maxRetransmit: 2, exchangeTimeoutMs: 3000 } as const;

export async function startServer(options: Partial<Lwm2mServerOptions> = {}): Promise<Harness> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const server = new Lwm2mServer({ socket, coap: FAST_COAP, requestTimeoutMs: 3000, ...options });
  const port = socket.address().port;
  const clients: Lwm2mClient[] = [];
  return {
    server,
    socket,
    port,
    async client(o) {
      const c = await Lwm2mClient.create({ server: { address: '127.0.0.1', port }, coap: FAST_COAP, lifetime: 300, ...o });
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) await c.close();
      server.close();
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    },
  };
}

/** Resolves with the arguments of the next `event` that passes `filter`, or rejects after `ms`. */
export function nextEvent<T extends unknown[]>(emitter: EventEmitter, event: string, filter: (...args: T) => boolean = () => true, ms = 3000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.removeListener(event, listener);
      reject(new Error(`no '${event}' event within ${ms} ms`));
    }, ms);
    const listener = (...args: T): void => {
      if (!filter(...args)) return;
      clearTimeout(timer);
      emitter.removeListener(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}

/** Waits until `condition` holds, polling every 10 ms, up to `ms`. */
export async function until(condition: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error(`${what} not reached within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The scheduler's ManualClock, started at a realistic epoch instant (the LwM2M layer has no clock of its own). */
export class TestClock extends ManualClock {
  constructor(start = 1_700_000_000_000) {
    super(start);
  }
}
