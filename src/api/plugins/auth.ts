/**
 * Authentication, authorisation, rate limiting and auditing for every route: installed on the root
 * instance (not encapsulated), so route plugins registered later, campaigns included, inherit the hooks.
 * - onRequest: `Authorization: Bearer <token>` looked up by its SHA-256; 401 without a valid one, 403 when
 *   the token's role is below the route's `config.role`, 429 with Retry-After past the token's bucket.
 * - onSend: one audit line per mutating call (any method but GET/HEAD/OPTIONS) by an authenticated caller,
 *   with actor `api:<token name>`, written before the reply leaves.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions, preHandlerHookHandler } from 'fastify';
import type { ApiRole } from '../../store/api-store.js';
import type { AuditOutcome } from '../../store/records.js';
import type { ApiContext } from '../context.js';
import { ApiError } from '../errors.js';
import { TokenBucketLimiter, type RateLimitOptions } from '../rate-limit.js';
import { hashToken, roleAllows } from '../tokens.js';

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
/** lastUsedAt is written at most this often per token. */
const TOUCH_INTERVAL_MS = 60_000;

const ROLE_TAG = Symbol('eim.requiredRole');

/**
 * A preHandler for route plugins that take an `authorize(role)` option (src/api/routes/campaigns.ts). The
 * role is also lifted into the route's `config.role` by `liftAuthorizeRole`, so the onRequest hook enforces
 * it before the body is even parsed and the OpenAPI document shows it; the preHandler re-checks.
 */
export function authorize(role: ApiRole): preHandlerHookHandler {
  const handler = async (request: FastifyRequest): Promise<void> => {
    const p = request.principal;
    if (p === undefined) throw new ApiError('EIM_ERR_UNAUTHORIZED', 'an Authorization: Bearer <token> header is required');
    if (!roleAllows(p.role, role)) throw new ApiError('EIM_ERR_FORBIDDEN', `this needs the ${role} role; the token has ${p.role}`);
  };
  return Object.assign(handler, { [ROLE_TAG]: role }) as unknown as preHandlerHookHandler;
}

/** onRoute helper: a route guarded by `authorize(role)` and without `config.role` gets that role. */
export function liftAuthorizeRole(route: RouteOptions): void {
  const handlers = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
  const tagged = handlers.map((h) => (h as unknown as { [ROLE_TAG]?: ApiRole })[ROLE_TAG]).find((r) => r !== undefined);
  if (tagged === undefined) return;
  const config = (route.config ?? {}) as { role?: ApiRole };
  if (config.role === undefined) route.config = { ...config, role: tagged } as RouteOptions['config'];
}

export function requiredRole(request: FastifyRequest): ApiRole {
  return request.routeOptions.config.role ?? (READ_METHODS.has(request.method) ? 'read' : 'admin');
}

export function installAuth(app: FastifyInstance, ctx: ApiContext, rateLimit: RateLimitOptions | false): void {
  const limiter = rateLimit === false ? undefined : new TokenBucketLimiter(rateLimit, ctx.now);
  app.decorateRequest('principal', undefined);

  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config.public === true) return;
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([\x21-\x7e]{1,256})$/i.exec(header) : null;
    if (match === null) throw new ApiError('EIM_ERR_UNAUTHORIZED', 'an Authorization: Bearer <token> header is required');
    const token = await ctx.apiStore.findTokenByHash(hashToken(match[1]!));
    if (token === undefined) throw new ApiError('EIM_ERR_UNAUTHORIZED', 'unknown or revoked token');
    request.principal = { tokenId: token.id, name: token.name, role: token.role };
    const need = requiredRole(request);
    if (!roleAllows(token.role, need)) throw new ApiError('EIM_ERR_FORBIDDEN', `this needs the ${need} role; the token has ${token.role}`);
    const wait = limiter?.take(token.id) ?? 0;
    if (wait > 0) {
      void reply.header('retry-after', String(wait));
      throw new ApiError('EIM_ERR_RATE_LIMITED', `rate limit exceeded; retry in ${wait} s`, { retryAfterSeconds: wait });
    }
    const now = ctx.now();
    if (token.lastUsedAt === undefined || now - token.lastUsedAt > TOUCH_INTERVAL_MS) {
      await ctx.apiStore.touchToken(token.id, now).catch((err: unknown) => request.log.warn({ err }, 'token use not recorded'));
    }
  });

  app.addHook('onSend', async (request, reply, payload) => {
    const principal = request.principal;
    if (principal === undefined || READ_METHODS.has(request.method)) return payload;
    const status = reply.statusCode;
    const outcome: AuditOutcome = status < 400 ? 'ok' : status < 500 ? 'rejected' : 'error';
    const params = (request.params ?? {}) as Record<string, unknown>;
    const route = request.routeOptions.url ?? request.url;
    const eid = typeof params.eid === 'string' && /^[0-9]{32}$/.test(params.eid) ? params.eid : undefined;
    const operationId = route.startsWith('/v1/operations/') && typeof params.id === 'string' ? params.id : undefined;
    try {
      await ctx.store.commit((tx) =>
        tx.appendAudit({
          at: ctx.now(),
          actor: `api:${principal.name}`,
          action: `api ${request.method} ${route}`,
          ...(eid !== undefined ? { eid } : {}),
          ...(operationId !== undefined ? { operationId } : {}),
          outcome,
          detail: { statusCode: status, ...(Object.keys(params).length > 0 ? { params: params as Record<string, string> } : {}) },
        }),
      );
    } catch (err) {
      request.log.error({ err }, 'audit line not written');
    }
    return payload;
  });
}
