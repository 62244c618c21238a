/**
 * Client side of block-wise transfer (RFC 7959 §2.3–2.5, RFC 9175 Request-Tag): sending a large request
 * body as Block1 (Size1 on the first block, following a smaller SZX the peer asks for), and following a
 * Block2 response to its last block. Bounded: a peer that never ends or sends more than the body limit
 * stops the transfer with an error.
 */
import { randomBytes } from 'node:crypto';
import { RequestCancelledError } from '../errors.js';
import { blockSize, Code, decodeBlock, encodeBlock, getOption, getUintOption, isSuccess, Opt, uintOption, type CoapMessage, type CoapOption } from './message.js';

/** Sends one exchange (a fresh token each time, as libcoap does) and resolves with the answer. */
export type BlockExchange = (options: CoapOption[], payload: Uint8Array) => Promise<CoapMessage>;

/** Sends `payload` in blocks; resolves with the answer to the last block (or the first non-2.31 answer). */
export async function sendBlock1(exchange: BlockExchange, baseOptions: readonly CoapOption[], payload: Uint8Array, initialSzx: number): Promise<CoapMessage> {
  const requestTag = randomBytes(2);
  let szx = initialSzx;
  let offset = 0;
  for (;;) {
    const size = blockSize(szx);
    const num = Math.floor(offset / size);
    const chunk = payload.subarray(offset, offset + size);
    const more = offset + chunk.length < payload.length;
    const options: CoapOption[] = [...baseOptions, { number: Opt.Block1, value: encodeBlock({ num, more, szx }) }, { number: Opt.RequestTag, value: requestTag }];
    if (num === 0) options.push({ number: Opt.Size1, value: uintOption(payload.length) });
    const response = await exchange(options, chunk);
    if (!more || response.code !== Code.Continue) return response;
    const echoed = getOption(response, Opt.Block1);
    const echo = echoed === undefined ? undefined : decodeBlock(echoed);
    offset += chunk.length;
    // The receiver may ask for smaller blocks (RFC 7959 §2.5); carry on from the same offset.
    if (echo !== undefined && echo.szx < szx) szx = echo.szx;
  }
}

/**
 * Fetches the remaining blocks of a Block2 response. Resolves with the whole body, or with the first
 * non-2.xx answer to a follow-up request.
 */
export async function followBlock2(exchange: BlockExchange, baseOptions: readonly CoapOption[], first: CoapMessage, limit: number): Promise<Uint8Array | CoapMessage> {
  const raw = getOption(first, Opt.Block2);
  const block = raw === undefined ? undefined : decodeBlock(raw);
  if (block === undefined || !block.more) return first.payload;
  const declared = getUintOption(first, Opt.Size2);
  const parts: Uint8Array[] = [first.payload];
  let total = first.payload.length;
  let num = block.num + 1;
  const options = baseOptions.filter((o) => o.number !== Opt.Observe && o.number !== Opt.Block1 && o.number !== Opt.Block2);
  for (;;) {
    const next = await exchange([...options, { number: Opt.Block2, value: encodeBlock({ num, more: false, szx: block.szx }) }], new Uint8Array(0));
    if (!isSuccess(next.code)) return next;
    const nb = getOption(next, Opt.Block2);
    const got = nb === undefined ? undefined : decodeBlock(nb);
    parts.push(next.payload);
    total += next.payload.length;
    if (total > limit || (declared !== undefined && total > declared)) throw new RequestCancelledError(`Block2 body exceeds ${Math.min(limit, declared ?? limit)} bytes`);
    if (got === undefined || !got.more) break;
    if (next.payload.length === 0 || got.num !== num) throw new RequestCancelledError(`Block2 peer answered block ${got.num} for ${num} or sent an empty block`);
    num = got.num + 1;
  }
  return Buffer.concat(parts);
}
