/**
 * ESipa over HTTP (SGP.32 v1.2 §6.1 with the §6.3 ASN.1 binding): `POST /gsma/rsp2/asn1`, body = one ESipa
 * TLV, answer = one TLV (200) or nothing (204). For IPAs that poll the eIM over HTTP(S) instead of LwM2M.
 * Lenient where the field is inconsistent (any `gsma/rsp/v*` X-Admin-Protocol is accepted, notes §(e)).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { pino, type Logger } from 'pino';
import type { EsipaHandler } from './esipa-handler.js';

export const ESIPA_PATH = '/gsma/rsp2/asn1';
export const ESIPA_CONTENT_TYPE = 'application/x-gsma-rsp-asn1';
const ADMIN_PROTOCOL = 'gsma/rsp/v2.1.0';

export interface HttpBindingOptions {
  readonly handler: EsipaHandler;
  readonly logger?: Logger;
  /** Largest accepted body; a Bound Profile Package request is far smaller than the default 1 MiB. */
  readonly maxBodyBytes?: number;
}

function reply(res: ServerResponse, status: number, body?: Uint8Array): void {
  res.setHeader('X-Admin-Protocol', ADMIN_PROTOCOL);
  if (body !== undefined) {
    res.setHeader('Content-Type', ESIPA_CONTENT_TYPE);
    res.setHeader('Content-Length', body.length);
  }
  res.statusCode = status;
  res.end(body === undefined ? undefined : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
}

function readBody(req: IncomingMessage, max: number): Promise<Uint8Array | 'too-large'> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size <= max) return void chunks.push(c);
      // Stop keeping the body but let it drain, so the client still reads our 413.
      req.off('data', onData);
      req.resume();
      resolve('too-large');
    };
    req.on('data', onData);
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

/** The request listener, usable on any node:http or node:https server. */
export function esipaHttpListener(options: HttpBindingOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'esipa-http' });
  const max = options.maxBodyBytes ?? 1 << 20;
  return (req, res) => {
    void (async () => {
      if ((req.url ?? '').split('?')[0] !== ESIPA_PATH) return reply(res, 404);
      if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        return reply(res, 405);
      }
      const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== ESIPA_CONTENT_TYPE) return reply(res, 415);
      const body = await readBody(req, max);
      if (body === 'too-large') {
        res.setHeader('Connection', 'close');
        return reply(res, 413);
      }
      const outcome = await options.handler.handle(body);
      if (outcome.kind === 'response') return reply(res, 200, outcome.der);
      if (outcome.kind === 'empty') return reply(res, 204);
      log.info({ reason: outcome.reason, remote: req.socket.remoteAddress }, 'ESipa request refused');
      return reply(res, 400);
    })().catch((e: unknown) => {
      log.error({ err: e }, 'ESipa HTTP request failed');
      if (!res.headersSent) reply(res, 500);
      else res.destroy();
    });
  };
}

/** A plain HTTP server for the binding (TLS terminates in front of it, or use esipaHttpListener with node:https). */
export function createEsipaHttpServer(options: HttpBindingOptions): Server {
  const server = createServer(esipaHttpListener(options));
  // Slow or idle clients must not hold sockets forever.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  return server;
}
