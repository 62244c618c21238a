/**
 * CoRE Link Format (RFC 6690), application/link-format = 40, as used by LwM2M Register/Update payloads
 * and Discover answers (OMA LwM2M 1.1.1 Core §6.2.1, §5.2.2): `</1/0>,</3443/0>;ver=1.0,</>;rt="oma.lwm2m";ct=110`.
 * Bounded, strict parser: a malformed list throws CoapDecodeError.
 */
import { CoapDecodeError } from '../errors.js';

export interface Link {
  readonly target: string;
  readonly attributes: ReadonlyMap<string, string | true>;
}

const MAX_LINKS = 4096;

export function parseLinkFormat(text: string): Link[] {
  const links: Link[] = [];
  let pos = 0;
  const s = text.trim();
  if (s.length === 0) return links;
  while (pos < s.length) {
    if (s[pos] !== '<') throw new CoapDecodeError(`link format: expected "<" at ${pos}`);
    const end = s.indexOf('>', pos);
    if (end < 0) throw new CoapDecodeError('link format: unterminated "<"');
    const target = s.slice(pos + 1, end);
    if (/[\s<,;]/.test(target)) throw new CoapDecodeError('link format: bad target');
    pos = end + 1;
    const attributes = new Map<string, string | true>();
    while (s[pos] === ';') {
      pos++;
      const m = /^([A-Za-z0-9!#$&+\-.^_`|~]+)/.exec(s.slice(pos));
      if (!m) throw new CoapDecodeError(`link format: bad attribute name at ${pos}`);
      const name = m[1]!;
      pos += name.length;
      if (s[pos] === '=') {
        pos++;
        if (s[pos] === '"') {
          const close = s.indexOf('"', pos + 1);
          if (close < 0) throw new CoapDecodeError('link format: unterminated quoted value');
          attributes.set(name, s.slice(pos + 1, close));
          pos = close + 1;
        } else {
          const vm = /^[^,;]*/.exec(s.slice(pos))!;
          attributes.set(name, vm[0]);
          pos += vm[0].length;
        }
      } else attributes.set(name, true);
    }
    links.push({ target, attributes });
    if (links.length > MAX_LINKS) throw new CoapDecodeError('link format: too many links');
    if (pos === s.length) break;
    if (s[pos] !== ',') throw new CoapDecodeError(`link format: expected "," at ${pos}`);
    pos++;
    while (s[pos] === ' ' || s[pos] === '\n' || s[pos] === '\r') pos++;
  }
  return links;
}

export function formatLinkFormat(links: readonly Link[]): string {
  return links
    .map((l) => `<${l.target}>` + [...l.attributes].map(([k, v]) => (v === true ? `;${k}` : /^[\w.\-:]*$/.test(v) ? `;${k}=${v}` : `;${k}="${v}"`)).join(''))
    .join(',');
}
