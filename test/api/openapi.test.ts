import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openApiPath } from '../../src/api/openapi.js';
import { apiHarness, type ApiHarness } from './harness.js';

describe('OpenAPI document and docs page', () => {
  let h: ApiHarness;
  let doc: {
    openapi: string;
    paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; requestBody?: unknown; responses: Record<string, unknown>; 'x-required-role'?: string }>>;
  };
  before(async () => {
    h = await apiHarness();
    const r = await h.call('GET', '/v1/openapi.json', { role: 'read' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^application\/json/);
    doc = JSON.parse(r.body);
  });
  after(() => h.close());

  it('is an OpenAPI 3.1 document with info, bearer security and paths', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(Object.keys(doc.paths).length > 10);
  });

  it('documents exactly the routes fastify knows (HEAD twins aside)', () => {
    const known = new Set<string>();
    const printed = h.app.printRoutes({ commonPrefix: false, includeHooks: false, includeMeta: false });
    assert.ok(printed.length > 0);
    for (const path of Object.keys(doc.paths)) {
      for (const method of Object.keys(doc.paths[path]!)) {
        assert.ok(h.app.hasRoute({ method: method.toUpperCase() as 'GET', url: path.replace(/\{([^}]+)\}/g, ':$1') }), `${method} ${path} is a real route`);
        known.add(`${method.toUpperCase()} ${path}`);
      }
    }
    const expected = [
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /v1/openapi.json',
      'GET /v1/docs',
      'POST /v1/euiccs',
      'POST /v1/euiccs/import',
      'GET /v1/euiccs',
      'GET /v1/euiccs/{eid}',
      'DELETE /v1/euiccs/{eid}',
      'PUT /v1/euiccs/{eid}/labels',
      'GET /v1/euiccs/{eid}/profiles',
      'GET /v1/euiccs/{eid}/profiles/history',
      'POST /v1/euiccs/{eid}/operations',
      'GET /v1/operations',
      'GET /v1/operations/{id}',
      'POST /v1/operations/{id}/cancel',
      'GET /v1/devices',
      'GET /v1/devices/{endpoint}',
      'GET /v1/events',
      'POST /v1/webhooks',
      'GET /v1/webhooks',
      'GET /v1/webhooks/{id}',
      'DELETE /v1/webhooks/{id}',
      'POST /v1/tokens',
      'GET /v1/tokens',
      'DELETE /v1/tokens/{id}',
    ];
    for (const route of expected) assert.ok(known.has(route), `${route} documented`);
    // Every route fastify printed appears in the document: count route lines of the printed tree.
    const methodsInTree = (printed.match(/\b(GET|POST|PUT|DELETE|PATCH)\b/g) ?? []).length;
    assert.equal(known.size, methodsInTree, `document has ${known.size} operations, fastify ${methodsInTree}:\n${printed}`);
  });

  it('carries the validation schemas: path parameters, query parameters, request bodies and error responses', () => {
    const op = doc.paths['/v1/euiccs/{eid}/operations']!.post!;
    assert.deepEqual(
      op.parameters!.map((p) => `${p.in}:${p.name}`).sort(),
      ['header:idempotency-key', 'path:eid'],
    );
    assert.ok(op.requestBody);
    assert.ok(op.responses['202'] && op.responses['400'] && op.responses['401'] && op.responses['403']);
    assert.equal(op['x-required-role'], 'operate');
    const list = doc.paths['/v1/euiccs']!.get!;
    assert.ok(list.parameters!.some((p) => p.in === 'query' && p.name === 'cursor'));
    const importBody = doc.paths['/v1/euiccs/import']!.post!.requestBody as { content: Record<string, unknown> };
    assert.deepEqual(Object.keys(importBody.content).sort(), ['application/json', 'text/csv']);
  });

  it('maps fastify paths to OpenAPI templates', () => {
    assert.equal(openApiPath('/v1/euiccs/:eid/profiles'), '/v1/euiccs/{eid}/profiles');
  });

  it('serves a browsable HTML page listing every path', async () => {
    const r = await h.call('GET', '/v1/docs', { role: 'read' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/html/);
    for (const path of Object.keys(doc.paths)) assert.ok(r.body.includes(`<code>${path}</code>`), path);
  });
});
