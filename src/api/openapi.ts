/**
 * The OpenAPI 3.1 document, generated from the routes fastify registered (collected by an onRoute hook) and
 * their JSON Schemas as they are: OpenAPI 3.1 schemas are JSON Schema 2020-12, so the schemas that validate
 * requests are the ones documented. Also a plain HTML page listing the paths for browsing.
 */
import type { RouteOptions } from 'fastify';

export interface CollectedRoute {
  readonly method: string;
  readonly url: string;
  readonly schema: Record<string, unknown> | undefined;
  readonly role: string | undefined;
  readonly isPublic: boolean;
  readonly produces: string | undefined;
}

/** The routes of an onRoute event, one per method, HEAD (fastify's automatic twins of GET) left out. */
export function collectRoute(route: RouteOptions): CollectedRoute[] {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  const config = (route.config ?? {}) as { role?: string; public?: boolean; produces?: string };
  return methods
    .filter((m) => m !== 'HEAD')
    .map((method) => ({
      method,
      url: route.url,
      schema: route.schema as Record<string, unknown> | undefined,
      role: config.role ?? (method === 'GET' || method === 'OPTIONS' ? 'read' : 'admin'),
      isPublic: config.public === true,
      produces: config.produces,
    }));
}

/** `/v1/euiccs/:eid` to `/v1/euiccs/{eid}`. */
export function openApiPath(url: string): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

type Schema = Record<string, unknown>;

function parameters(schema: Schema | undefined, where: 'path' | 'query' | 'header'): Schema[] {
  if (schema === undefined) return [];
  const props = (schema.properties ?? {}) as Record<string, Schema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(props).map(([name, s]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(typeof s.description === 'string' ? { description: s.description } : {}),
    schema: s,
    ...(where === 'query' && s.type === 'array' ? { style: 'form', explode: true } : {}),
  }));
}

function requestBody(body: Schema | undefined): Schema | undefined {
  if (body === undefined) return undefined;
  if (body.content !== undefined) {
    const content = Object.fromEntries(Object.entries(body.content as Record<string, { schema: Schema }>).map(([type, c]) => [type, { schema: c.schema }]));
    return { required: true, content };
  }
  return { required: true, content: { 'application/json': { schema: body } } };
}

const STATUS_TEXT: Record<string, string> = {
  '200': 'OK',
  '201': 'Created',
  '202': 'Accepted',
  '204': 'No Content',
  '400': 'Invalid request (validation error details in `details`)',
  '401': 'Missing or unknown token',
  '403': "The token's role is too weak",
  '404': 'Not found',
  '409': 'Conflict with the current state',
  '415': 'Unsupported content type',
  '422': 'Certificate or signature refused',
  '429': 'Rate limited (see Retry-After)',
  '503': 'Store unreachable',
};

function responses(route: CollectedRoute): Schema {
  const map = (route.schema?.response ?? {}) as Record<string, Schema>;
  const out: Schema = {};
  for (const [status, schema] of Object.entries(map)) {
    const description = STATUS_TEXT[status] ?? 'Response';
    if (schema.type === 'null') out[status] = { description };
    else if (status.startsWith('2') && schema.type === 'string') out[status] = { description, content: { [route.produces ?? 'text/plain']: { schema } } };
    else out[status] = { description, content: { 'application/json': { schema } } };
  }
  if (Object.keys(out).length === 0) out['200'] = { description: 'OK' };
  return out;
}

export function buildOpenApiDocument(routes: readonly CollectedRoute[], info: { title: string; version: string; description?: string }): Schema {
  const paths: Record<string, Record<string, Schema>> = {};
  for (const r of [...routes].sort((a, b) => a.url.localeCompare(b.url) || a.method.localeCompare(b.method))) {
    const s = r.schema ?? {};
    const path = openApiPath(r.url);
    const params = [...parameters(s.params as Schema | undefined, 'path'), ...parameters(s.querystring as Schema | undefined, 'query'), ...parameters(s.headers as Schema | undefined, 'header')];
    const body = requestBody(s.body as Schema | undefined);
    const operation: Schema = {
      operationId: `${r.method.toLowerCase()}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ?? '').toUpperCase())}`,
      ...(typeof s.summary === 'string' ? { summary: s.summary } : {}),
      ...(typeof s.description === 'string' ? { description: s.description } : {}),
      ...(Array.isArray(s.tags) ? { tags: s.tags } : {}),
      ...(params.length > 0 ? { parameters: params } : {}),
      ...(body !== undefined ? { requestBody: body } : {}),
      responses: responses(r),
      ...(r.isPublic ? { security: [] } : { 'x-required-role': r.role }),
    };
    (paths[path] ??= {})[r.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info,
    servers: [{ url: '/' }],
    components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'API token (roles: read < operate < admin)' } } },
    security: [{ bearerAuth: [] }],
    paths,
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A self-contained HTML page listing every path and method of the document with its parameters. */
export function renderDocsPage(doc: Schema): string {
  const info = doc.info as { title: string; version: string; description?: string };
  const rows: string[] = [];
  for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, Schema>>)) {
    for (const [method, op] of Object.entries(methods)) {
      const params = ((op.parameters ?? []) as Schema[]).map((p) => `<code>${escapeHtml(String(p.name))}</code> (${escapeHtml(String(p.in))}${p.required === true ? ', required' : ''})`).join(', ');
      const role = op.security !== undefined ? 'public' : String(op['x-required-role']);
      const body = op.requestBody !== undefined ? `<details><summary>request body</summary><pre>${escapeHtml(JSON.stringify((op.requestBody as Schema).content, null, 2))}</pre></details>` : '';
      rows.push(
        `<tr><td class="m ${escapeHtml(method)}">${escapeHtml(method.toUpperCase())}</td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(String(op.summary ?? ''))}${op.description !== undefined ? `<br><small>${escapeHtml(String(op.description))}</small>` : ''}${params !== '' ? `<br><small>parameters: ${params}</small>` : ''}${body}</td><td>${escapeHtml(role)}</td><td>${escapeHtml(Object.keys(op.responses as Schema).join(' '))}</td></tr>`,
      );
    }
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(info.title)} ${escapeHtml(info.version)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4em;text-align:left;vertical-align:top}.m{font-weight:bold}.get{color:#060}.post{color:#036}.put{color:#630}.delete{color:#900}pre{background:#f6f6f6;padding:.5em;max-height:20em;overflow:auto}</style>
</head><body><h1>${escapeHtml(info.title)} <small>${escapeHtml(info.version)}</small></h1>
<p>${escapeHtml(info.description ?? '')} Machine-readable: <a href="/v1/openapi.json">/v1/openapi.json</a>. Send <code>Authorization: Bearer &lt;token&gt;</code>.</p>
<table><thead><tr><th>method</th><th>path</th><th>what</th><th>role</th><th>statuses</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></body></html>
`;
}
