/**
 * ES9+ client with the eIM in the LPA role (SGP.22 v2.5 §5.6 functions, §6.5 JSON binding over HTTPS,
 * SGP.32 v1.2 §3.2.3.2 "ES9+'"): POST https://<smdpAddress>/gsma/rsp2/es9plus/<function> with the
 * X-Admin-Protocol header, a JSON body whose ASN.1 members are base64 of their DER (byte-exact, never
 * re-encoded), TLS verified against the configured roots (SGP.26 test roots in labs), one keep-alive agent
 * for connection reuse, and a short timeout so a relayed call fits inside a device's awake window.
 * Outcomes are data, never exceptions: ok with the JSON body, a functionExecutionStatus failure with its
 * subject/reason codes, or a transport failure (unreachable, TLS, timeout, HTTP status).
 */
import { randomUUID } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { Agent, request } from 'node:https';
import { pino, type Logger } from 'pino';

export type Es9Function = 'initiateAuthentication' | 'authenticateClient' | 'getBoundProfilePackage' | 'handleNotification' | 'cancelSession';

export type Es9Outcome =
  | { readonly kind: 'ok'; readonly body: Record<string, unknown> }
  /** The SM-DP+ answered with functionExecutionStatus Failed (SGP.22 §6.5.1.4, subject and reason codes of §8). */
  | { readonly kind: 'failed'; readonly subjectCode: string; readonly reasonCode: string; readonly message?: string }
  /** No usable answer: connection refused, TLS failure, timeout, non-2xx HTTP status, unreadable body. */
  | { readonly kind: 'transport'; readonly message: string };

export interface Es9PlusClientOptions {
  /** Trusted roots for the SM-DP+ TLS certificates (PEM text or DER). */
  readonly ca: readonly (string | Uint8Array)[];
  /** Per-call timeout (default 10 s: several calls must fit in one awake window). */
  readonly timeoutMs?: number;
  /** functionRequesterIdentifier in request headers (default 'eim'). */
  readonly requesterIdentifier?: string;
  readonly adminProtocol?: string;
  readonly logger?: Logger;
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function pemOf(c: string | Uint8Array): string {
  if (typeof c === 'string') return c;
  const body = Buffer.from(c).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
}

/** `host[:port]` of an SM-DP+ address; IP literals get no SNI (RFC 6066 forbids it). */
function target(smdpAddress: string): { host: string; port: number } | undefined {
  const m = /^([A-Za-z0-9.-]+)(?::([0-9]{1,5}))?$/.exec(smdpAddress);
  if (m === null) return undefined;
  return { host: m[1]!, port: m[2] !== undefined ? Number(m[2]) : 443 };
}

export class Es9PlusClient {
  readonly #agent: Agent;
  readonly #timeoutMs: number;
  readonly #requester: string;
  readonly #adminProtocol: string;
  readonly #log: Logger;

  constructor(options: Es9PlusClientOptions) {
    // One secure context for every connection: building it from the CA list costs milliseconds each time.
    const secureContext = createSecureContext({ ca: options.ca.map(pemOf), minVersion: 'TLSv1.2' });
    this.#agent = new Agent({ keepAlive: true, maxSockets: 16, secureContext, minVersion: 'TLSv1.2' });
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#requester = options.requesterIdentifier ?? 'eim';
    this.#adminProtocol = options.adminProtocol ?? 'gsma/rsp/v2.5.0';
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ component: 'es9plus' });
  }

  initiateAuthentication(smdpAddress: string, a: { euiccChallenge: Uint8Array; euiccInfo1: Uint8Array }): Promise<Es9Outcome> {
    return this.call(smdpAddress, 'initiateAuthentication', { euiccChallenge: b64(a.euiccChallenge), euiccInfo1: b64(a.euiccInfo1), smdpAddress });
  }

  authenticateClient(smdpAddress: string, transactionId: Uint8Array, authenticateServerResponse: Uint8Array): Promise<Es9Outcome> {
    return this.call(smdpAddress, 'authenticateClient', { transactionId: hexId(transactionId), authenticateServerResponse: b64(authenticateServerResponse) });
  }

  getBoundProfilePackage(smdpAddress: string, transactionId: Uint8Array, prepareDownloadResponse: Uint8Array): Promise<Es9Outcome> {
    return this.call(smdpAddress, 'getBoundProfilePackage', { transactionId: hexId(transactionId), prepareDownloadResponse: b64(prepareDownloadResponse) });
  }

  cancelSession(smdpAddress: string, transactionId: Uint8Array, cancelSessionResponse: Uint8Array): Promise<Es9Outcome> {
    return this.call(smdpAddress, 'cancelSession', { transactionId: hexId(transactionId), cancelSessionResponse: b64(cancelSessionResponse) });
  }

  handleNotification(notificationAddress: string, pendingNotification: Uint8Array): Promise<Es9Outcome> {
    return this.call(notificationAddress, 'handleNotification', { pendingNotification: b64(pendingNotification) });
  }

  /** One ES9+ function call. */
  call(smdpAddress: string, fn: Es9Function, members: Record<string, unknown>): Promise<Es9Outcome> {
    const t = target(smdpAddress);
    if (t === undefined) return Promise.resolve({ kind: 'transport', message: `"${smdpAddress}" is not an SM-DP+ address` });
    const body = JSON.stringify({ header: { functionRequesterIdentifier: this.#requester, functionCallIdentifier: randomUUID() }, ...members });
    const ip = /^[0-9.]+$/.test(t.host);
    return new Promise((resolve) => {
      let settled = false;
      const done = (o: Es9Outcome): void => {
        if (settled) return;
        settled = true;
        if (o.kind !== 'ok') this.#log.info({ smdpAddress, fn, outcome: o }, 'ES9+ call failed');
        resolve(o);
      };
      const req = request(
        {
          host: t.host,
          port: t.port,
          ...(ip ? {} : { servername: t.host }),
          method: 'POST',
          path: `/gsma/rsp2/es9plus/${fn}`,
          agent: this.#agent,
          headers: {
            'Content-Type': 'application/json;charset=UTF-8',
            Accept: 'application/json',
            'X-Admin-Protocol': this.#adminProtocol,
            'User-Agent': 'eim-es9plus',
            'Content-Length': Buffer.byteLength(body),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => done({ kind: 'transport', message: e.message }));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (status === 204) return done({ kind: 'ok', body: {} });
            if (status < 200 || status > 299) return done({ kind: 'transport', message: `HTTP ${status}` });
            done(parseBody(Buffer.concat(chunks).toString('utf8')));
          });
        },
      );
      req.setTimeout(this.#timeoutMs, () => {
        req.destroy(new Error(`no answer within ${this.#timeoutMs} ms`));
      });
      req.on('error', (e: NodeJS.ErrnoException) => done({ kind: 'transport', message: e.code !== undefined ? `${e.code}: ${e.message}` : e.message }));
      req.end(body);
    });
  }

  /** Closes the idle keep-alive connections. */
  close(): void {
    this.#agent.destroy();
  }
}

/** transactionId in JSON: upper-case hex of its octets. */
export function hexId(transactionId: Uint8Array): string {
  return Buffer.from(transactionId).toString('hex').toUpperCase();
}

function parseBody(text: string): Es9Outcome {
  let json: unknown;
  try {
    json = text === '' ? {} : JSON.parse(text);
  } catch {
    return { kind: 'transport', message: 'the SM-DP+ answer is not JSON' };
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return { kind: 'transport', message: 'the SM-DP+ answer is not a JSON object' };
  const body = json as Record<string, unknown>;
  const status = (body.header as { functionExecutionStatus?: { status?: unknown; statusCodeData?: Record<string, unknown> } } | undefined)?.functionExecutionStatus;
  if (status === undefined || typeof status.status !== 'string' || status.status.startsWith('Executed-')) return { kind: 'ok', body };
  const scd = status.statusCodeData ?? {};
  return {
    kind: 'failed',
    subjectCode: String(scd.subjectCode ?? ''),
    reasonCode: String(scd.reasonCode ?? ''),
    ...(typeof scd.message === 'string' ? { message: scd.message } : {}),
  };
}

/** A base64 member of an ES9+ answer as bytes; undefined when missing or not base64. */
export function memberBytes(body: Record<string, unknown>, name: string): Uint8Array | undefined {
  const v = body[name];
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) return undefined;
  return new Uint8Array(Buffer.from(v, 'base64'));
}
