/**
 * A raw CoAP peer for tests: sends hand-built messages from its own UDP socket and waits (bounded) for
 * the matching reply, like a libcoap client that picks a new token for every block.
 */
import { createSocket, type Socket } from 'node:dgram';
import { decodeMessage, encodeMessage, Opt, type CoapMessage, type CoapOption } from '../../src/lwm2m/coap/message.js';

export class RawPeer {
  readonly socket: Socket;
  #mid = 100;
  #token = 1;
  readonly #port: number;

  private constructor(socket: Socket, port: number) {
    this.socket = socket;
    this.#port = port;
  }

  static async open(serverPort: number): Promise<RawPeer> {
    const socket = createSocket('udp4');
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
    return new RawPeer(socket, serverPort);
  }

  /** Sends raw bytes without waiting. */
  sendRaw(bytes: Uint8Array): void {
    this.socket.send(bytes, this.#port, '127.0.0.1');
  }

  /** Sends a CON request with a fresh message id and token; resolves with the reply or undefined after ms. */
  request(code: number, path: string[], options: CoapOption[] = [], payload: Uint8Array = new Uint8Array(0), query: string[] = [], ms = 2000): Promise<CoapMessage | undefined> {
    const messageId = this.#mid++;
    const token = Uint8Array.of(this.#token++ & 0xff, 0, 0, 3);
    const all: CoapOption[] = [
      ...path.map((p) => ({ number: Opt.UriPath, value: Buffer.from(p) })),
      ...query.map((q) => ({ number: Opt.UriQuery, value: Buffer.from(q) })),
      ...options,
    ];
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.socket.removeListener('message', onMessage);
        resolve(undefined);
      }, ms);
      const onMessage = (m: Buffer): void => {
        let msg: CoapMessage;
        try {
          msg = decodeMessage(m);
        } catch {
          return;
        }
        if (msg.messageId !== messageId) return;
        clearTimeout(timer);
        this.socket.removeListener('message', onMessage);
        resolve(msg);
      };
      this.socket.on('message', onMessage);
      this.sendRaw(encodeMessage({ type: 'CON', code, messageId, token, options: all, payload }));
    });
  }

  close(): void {
    this.socket.close();
  }
}
