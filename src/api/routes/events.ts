/**
 * GET /v1/events: every event as Server-Sent Events (WHATWG HTML §9.2), `id:` being the outbox seq. A client
 * that reconnects with `Last-Event-ID` first gets what it missed from the outbox, then the live stream.
 * `types` filters (exact, `prefix.*`); `max` closes the stream after that many events (scripts and tests).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { OutboxEvent } from '../../store/api-store.js';
import type { ApiContext } from '../context.js';
import { eventTypeMatches } from '../events.js';
import { errorResponses } from '../schemas/common.js';
import { iso } from '../views.js';

const KEEPALIVE_MS = 15_000;
const REPLAY_BATCH = 500;

function frame(e: OutboxEvent): string {
  return `id: ${e.seq}\nevent: ${e.type}\ndata: ${JSON.stringify({ id: e.seq, type: e.type, at: iso(e.at), data: e.data })}\n\n`;
}

export const eventRoutes: FastifyPluginAsync<{ ctx: ApiContext }> = async (app, { ctx }) => {
  // Open streams never go idle, so the server would wait for them forever on close: end them first.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const close of [...open]) close();
  });

  app.get('/v1/events', {
    config: { produces: 'text/event-stream' },
    schema: {
      summary: 'Event stream (text/event-stream): operation changes, results, notifications, registrations, campaigns',
      tags: ['events'],
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          types: { type: 'string', description: 'Comma-separated event types; `prefix.*` matches a family' },
          max: { type: 'integer', minimum: 1, description: 'Close the stream after this many events' },
        },
      },
      headers: { type: 'object', properties: { 'last-event-id': { type: 'string', pattern: '^[0-9]{1,15}$' } } },
      response: { 200: { description: 'text/event-stream', type: 'string' }, ...errorResponses(400) },
    },
    handler: async (request, reply) => {
      const q = request.query as { types?: string; max?: number };
      const patterns = q.types === undefined ? ['*'] : q.types.split(',').map((t) => t.trim()).filter((t) => t !== '');
      const lastId = request.headers['last-event-id'];
      let sent = 0;
      let lastSeq = typeof lastId === 'string' ? Number(lastId) : undefined;
      let replaying = lastSeq !== undefined;
      const backlog: OutboxEvent[] = [];
      const raw = reply.raw;
      let closed = false;
      const timers: { keepalive?: NodeJS.Timeout } = {};
      let unsubscribe: () => void = () => undefined;
      const close = (): void => {
        if (closed) return;
        closed = true;
        open.delete(close);
        unsubscribe();
        if (timers.keepalive !== undefined) clearInterval(timers.keepalive);
        raw.end();
      };
      const write = (e: OutboxEvent): void => {
        if (closed || (lastSeq !== undefined && e.seq <= lastSeq)) return;
        lastSeq = e.seq;
        if (!eventTypeMatches(patterns, e.type)) return;
        raw.write(frame(e));
        sent += 1;
        if (q.max !== undefined && sent >= q.max) close();
      };
      // Subscribe before replaying, buffering live events, so nothing falls between the two.
      open.add(close);
      unsubscribe = ctx.events.subscribe((e) => (replaying ? backlog.push(e) : write(e)));
      reply.hijack();
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      raw.write(': connected\n\n');
      raw.on('close', close);
      timers.keepalive = setInterval(() => raw.write(': keep-alive\n\n'), KEEPALIVE_MS);
      timers.keepalive.unref();
      try {
        while (replaying && !closed) {
          const batch = await ctx.apiStore.listEventsAfter(lastSeq!, REPLAY_BATCH);
          batch.forEach(write);
          if (batch.length < REPLAY_BATCH) replaying = false;
        }
      } catch (err) {
        request.log.error({ err }, 'event replay failed');
        replaying = false;
        close();
      }
      backlog.splice(0).forEach(write);
    },
  });
};
