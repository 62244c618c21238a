/**
 * Per-device FIFO of downlink requests for queue mode (OMA LwM2M 1.1.1 Transport §6.5): requests wait
 * while the device sleeps and go out one at a time (NSTART = 1) while it is awake; a request that times
 * out stays at the head for the next window (Leshan's queue mode only tracked presence; this one queues).
 * Memory is spent only on devices that have something queued.
 */
import { RequestTimeoutError } from './errors.js';

interface Pending<T> {
  readonly run: () => Promise<T>;
  readonly resolve: (value: T) => void;
  readonly reject: (error: Error) => void;
  /** Give up after this clock time (ms), if set. */
  readonly deadline: number | undefined;
}

export interface DownlinkQueueHooks {
  /** May the device be sent a request now? */
  isReady(endpoint: string): boolean;
  /** A request of a queue-mode device timed out: it is asleep; the request stays queued when true is returned. */
  onTimeout(endpoint: string): boolean;
  now(): number;
}

export class DownlinkQueue {
  readonly #queues = new Map<string, Pending<unknown>[]>();
  readonly #busy = new Set<string>();
  readonly #hooks: DownlinkQueueHooks;

  constructor(hooks: DownlinkQueueHooks) {
    this.#hooks = hooks;
  }

  /** Queues `run` for the device and starts draining if it is ready. Resolves with run's result. */
  enqueue<T>(endpoint: string, run: () => Promise<T>, deadline?: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let queue = this.#queues.get(endpoint);
      if (queue === undefined) {
        queue = [];
        this.#queues.set(endpoint, queue);
      }
      queue.push({ run, resolve, reject, deadline } as Pending<unknown>);
      this.kick(endpoint);
    });
  }

  pending(endpoint: string): number {
    return this.#queues.get(endpoint)?.length ?? 0;
  }

  /** Drains the device's queue if it is ready and nothing is in flight. */
  kick(endpoint: string): void {
    if (this.#busy.has(endpoint)) return;
    const queue = this.#queues.get(endpoint);
    if (queue === undefined || queue.length === 0) return;
    if (!this.#hooks.isReady(endpoint)) return;
    this.#busy.add(endpoint);
    void this.#drain(endpoint, queue);
  }

  /** Rejects everything queued for a device (deregistered). */
  drop(endpoint: string, error: Error): void {
    const queue = this.#queues.get(endpoint);
    this.#queues.delete(endpoint);
    for (const p of queue ?? []) p.reject(error);
  }

  /** Rejects everything queued for every device (server closing). */
  dropAll(error: Error): void {
    for (const endpoint of [...this.#queues.keys()]) this.drop(endpoint, error);
  }

  async #drain(endpoint: string, queue: Pending<unknown>[]): Promise<void> {
    try {
      while (queue.length > 0 && this.#hooks.isReady(endpoint) && this.#queues.get(endpoint) === queue) {
        const head = queue[0]!;
        if (head.deadline !== undefined && this.#hooks.now() > head.deadline) {
          queue.shift();
          head.reject(new RequestTimeoutError('request expired in the queue before the device woke up'));
          continue;
        }
        try {
          const result = await head.run();
          queue.shift();
          head.resolve(result);
        } catch (error) {
          if (error instanceof RequestTimeoutError && this.#hooks.onTimeout(endpoint)) break; // stays queued
          queue.shift();
          head.reject(error as Error);
        }
      }
    } finally {
      this.#busy.delete(endpoint);
      if (queue.length === 0 && this.#queues.get(endpoint) === queue) this.#queues.delete(endpoint);
    }
  }
}
