/**
 * A test SM-DP+ (SGP.22 v2.5 §5.6 ES9+, §6.5 JSON binding over HTTPS): holds profiles bound to matching
 * IDs, runs the server side of the common mutual authentication with its own certificates under the test
 * CI (ServerSigned1 + serverSignature1 with DPauth, checks euiccSignature1 with the eUICC certificate chain
 * sent in AuthenticateClient, SmdpSigned2 + smdpSignature2 with DPpb), binds a BoundProfilePackage to the
 * eUICC's one-time key (ECDH; synthetic protection, sgp22-download.ts), and records the notifications and
 * cancellations it receives. Listens on 127.0.0.1 only. Faults for tests: corrupt the BPP, announce another
 * serverAddress, refuse the next notifications with HTTP 503.
 */
import { createPublicKey, diffieHellman, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bytesEqual, toHex } from '../../asn1/hex.js';
import { EUICCInfo1, ServerSigned1, SmdpSigned2, StoreMetadataRequest } from '../../asn1/rsp.js';
import { AuthenticateServerResponseBody, BoundProfilePackageBody, CancelSessionResponseBody, EuiccSigned2, PrepareDownloadResponseBody, sig5f37, smdpSignInput } from '../../asn1/rsp-download.js';
import { decode, RECEIVED } from '../../asn1/schema.js';
import { encodeTlv, readSingle } from '../../asn1/tlv.js';
import { signEcdsa, spkiFromPoint, verifyEcdsa } from '../../crypto/ecdsa.js';
import { rawPublicPoint } from '../../crypto/keys.js';
import type { TestIdentity } from '../pki.js';
import { protectSegment, sessionKey } from './sgp22-download.js';
import type { SmdpCertificates } from './smdp-pki.js';

export interface SmdpProfile {
  readonly matchingId: string;
  readonly iccid: string;
  readonly serviceProviderName?: string;
  readonly profileName?: string;
  /** Size of the synthetic profile content in bytes (default 2 KB). */
  readonly size?: number;
}

export type SmdpProfileState = 'available' | 'downloaded' | 'installed' | 'cancelled';

export interface ReceivedEs9Notification {
  readonly at: number;
  /** The PendingNotification DER as received. */
  readonly pendingNotification: Uint8Array;
}

export interface TestSmdpOptions {
  readonly certificates: SmdpCertificates;
  /** The test CI (to check the eUICC's chain and to name euiccCiPKIdToBeUsed). */
  readonly ci: TestIdentity;
  readonly profiles?: readonly SmdpProfile[];
}

interface Es9Session {
  transactionId: Uint8Array;
  euiccChallenge: Uint8Array;
  serverChallenge: Uint8Array;
  serverAddress: string;
  euiccKey?: KeyObject;
  euiccSignature1?: Uint8Array;
  smdpSignature2?: Uint8Array;
  profile?: SmdpProfile;
}

class Es9Error extends Error {
  constructor(
    readonly subjectCode: string,
    readonly reasonCode: string,
    message: string,
  ) {
    super(message);
  }
}

const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
const unb64 = (s: unknown, what: string): Uint8Array => {
  if (typeof s !== 'string') throw new Es9Error('8.1', '2.1', `${what} missing`);
  return new Uint8Array(Buffer.from(s, 'base64'));
};

export class TestSmdp {
  readonly options: TestSmdpOptions;
  /** Notifications received on handleNotification, in arrival order. */
  readonly notifications: ReceivedEs9Notification[] = [];
  /** ES9+ calls by function name. */
  readonly calls: string[] = [];
  /** Every JSON request and successful answer, to check what the relay passed on. */
  readonly exchanges: { fn: string; request: Record<string, unknown>; response?: Record<string, unknown> }[] = [];
  readonly cancelled: { transactionId: string; reason: string | number }[] = [];
  readonly profileState = new Map<string, SmdpProfileState>();
  /** Faults: flip one byte of the next BPPs' profile elements. */
  corruptBpp = false;
  /** Faults: the serverAddress put in ServerSigned1 instead of ours. */
  announcedAddress: string | undefined;
  /** Faults: answer the next N handleNotification calls with HTTP 503. */
  refuseNotifications = 0;
  readonly #profiles = new Map<string, SmdpProfile>();
  readonly #sessions = new Map<string, Es9Session>();
  #server: Server | undefined;
  #address = '';

  constructor(options: TestSmdpOptions) {
    this.options = options;
    for (const p of options.profiles ?? []) this.addProfile(p);
  }

  addProfile(p: SmdpProfile): void {
    this.#profiles.set(p.matchingId, p);
    this.profileState.set(p.matchingId, 'available');
  }

  /** host:port this SM-DP+ answers on (what goes into activation codes). */
  get address(): string {
    return this.#address;
  }

  get smdpOid(): string {
    return this.options.certificates.smdpOid;
  }

  async start(port = 0): Promise<string> {
    const { tls } = this.options.certificates;
    const server = createServer({ key: tls.privateKeyPem, cert: tls.certificatePem, keepAliveTimeout: 5000 }, (req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.#server = server;
    this.#address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.#address;
  }

  /** Stops listening and drops every connection (an SM-DP+ that went down). */
  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const fn = /^\/gsma\/rsp2\/es9plus\/([A-Za-z]+)$/.exec(req.url ?? '')?.[1];
    if (req.method !== 'POST' || fn === undefined) {
      res.writeHead(404).end();
      return;
    }
    if (!String(req.headers['x-admin-protocol'] ?? '').startsWith('gsma/rsp/v2')) {
      res.writeHead(400).end();
      return;
    }
    this.calls.push(fn);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      res.writeHead(400).end();
      return;
    }
    const send = (json: Record<string, unknown>): void => {
      const text = JSON.stringify(json);
      res.writeHead(200, { 'Content-Type': 'application/json;charset=UTF-8', 'X-Admin-Protocol': 'gsma/rsp/v2.5.0', 'Content-Length': Buffer.byteLength(text) }).end(text);
    };
    try {
      if (fn === 'handleNotification') {
        if (this.refuseNotifications > 0) {
          this.refuseNotifications--;
          res.writeHead(503).end();
          return;
        }
        this.notifications.push({ at: Date.now(), pendingNotification: unb64(body.pendingNotification, 'pendingNotification') });
        res.writeHead(204, { 'X-Admin-Protocol': 'gsma/rsp/v2.5.0' }).end();
        return;
      }
      const out =
        fn === 'initiateAuthentication'
          ? this.#initiateAuthentication(body)
          : fn === 'authenticateClient'
            ? this.#authenticateClient(body)
            : fn === 'getBoundProfilePackage'
              ? this.#getBoundProfilePackage(body)
              : fn === 'cancelSession'
                ? this.#cancelSession(body)
                : undefined;
      if (out === undefined) {
        res.writeHead(404).end();
        return;
      }
      this.exchanges.push({ fn, request: body, response: out });
      send({ header: { functionExecutionStatus: { status: 'Executed-Success' } }, ...out });
    } catch (e) {
      if (!(e instanceof Es9Error)) throw e;
      send({ header: { functionExecutionStatus: { status: 'Failed', statusCodeData: { subjectCode: e.subjectCode, reasonCode: e.reasonCode, message: e.message } } } });
    }
  }

  #session(body: Record<string, unknown>): Es9Session {
    const id = typeof body.transactionId === 'string' ? body.transactionId.toUpperCase() : '';
    const s = this.#sessions.get(id);
    if (s === undefined) throw new Es9Error('8.10.1', '3.9', 'unknown transactionId');
    return s;
  }

  #initiateAuthentication(body: Record<string, unknown>): Record<string, unknown> {
    if (body.smdpAddress !== this.#address) throw new Es9Error('8.8.1', '3.8', `invalid SM-DP+ address ${String(body.smdpAddress)}`);
    const euiccChallenge = unb64(body.euiccChallenge, 'euiccChallenge');
    const info1 = decode(EUICCInfo1, unb64(body.euiccInfo1, 'euiccInfo1'));
    const ciPKId = this.options.ci.subjectKeyIdentifier;
    if (!info1.euiccCiPKIdListForVerification.some((k) => bytesEqual(k, ciPKId))) throw new Es9Error('8.8.2', '3.1', 'no supported CI public key');
    const session: Es9Session = {
      transactionId: new Uint8Array(randomBytes(16)),
      euiccChallenge,
      serverChallenge: new Uint8Array(randomBytes(16)),
      serverAddress: this.announcedAddress ?? this.#address,
    };
    this.#sessions.set(toHex(session.transactionId).toUpperCase(), session);
    const serverSigned1 = ServerSigned1.encode({ transactionId: session.transactionId, euiccChallenge, serverAddress: session.serverAddress, serverChallenge: session.serverChallenge });
    const { auth } = this.options.certificates;
    return {
      transactionId: toHex(session.transactionId).toUpperCase(),
      serverSigned1: b64(serverSigned1),
      serverSignature1: b64(sig5f37(signEcdsa(auth.privateKey, serverSigned1))),
      euiccCiPKIdToBeUsed: b64(encodeTlv(0x04, ciPKId)),
      serverCertificate: b64(auth.certificate),
    };
  }

  #authenticateClient(body: Record<string, unknown>): Record<string, unknown> {
    const s = this.#session(body);
    const asr = unb64(body.authenticateServerResponse, 'authenticateServerResponse');
    let decoded;
    try {
      decoded = decode(AuthenticateServerResponseBody, readSingle(asr).value);
    } catch {
      throw new Es9Error('8.1', '6.1', 'undecodable AuthenticateServerResponse');
    }
    if ('authenticateResponseError' in decoded) throw new Es9Error('8.1', '6.1', `eUICC refused: ${String(decoded.authenticateResponseError.authenticateErrorCode)}`);
    const ok = decoded.authenticateResponseOk;
    const ci = new X509Certificate(this.options.ci.certificate);
    let euiccKey: KeyObject;
    try {
      const eum = new X509Certificate(ok.eumCertificate);
      if (!eum.verify(ci.publicKey)) throw new Es9Error('8.1.2', '6.1', 'EUM certificate not signed by the CI');
      const euicc = new X509Certificate(ok.euiccCertificate);
      if (!euicc.verify(eum.publicKey)) throw new Es9Error('8.1.3', '6.1', 'eUICC certificate not signed by the EUM');
      euiccKey = euicc.publicKey;
    } catch (e) {
      if (e instanceof Es9Error) throw e;
      throw new Es9Error('8.1.3', '6.1', 'unreadable eUICC certificate');
    }
    const signed1 = ok.euiccSigned1;
    if (!verifyEcdsa(euiccKey, receivedSigned(signed1), ok.euiccSignature1).valid) throw new Es9Error('8.1', '6.1', 'euiccSignature1 does not verify');
    if (!bytesEqual(signed1.serverChallenge, s.serverChallenge) || !bytesEqual(signed1.transactionId, s.transactionId)) throw new Es9Error('8.1', '6.1', 'serverChallenge mismatch');
    const matchingId = signed1.ctxParams1.ctxParamsForCommonAuthentication.matchingId ?? '';
    const profile = this.#profiles.get(matchingId);
    if (profile === undefined || this.profileState.get(matchingId) !== 'available') throw new Es9Error('8.2.6', '3.8', `matching ID ${matchingId} refused`);
    Object.assign(s, { euiccKey, euiccSignature1: ok.euiccSignature1, profile });
    const smdpSigned2 = SmdpSigned2.encode({ transactionId: s.transactionId, ccRequiredFlag: false });
    const { pb } = this.options.certificates;
    const smdpSignature2 = signEcdsa(pb.privateKey, Buffer.concat([smdpSigned2, sig5f37(ok.euiccSignature1)]));
    s.smdpSignature2 = smdpSignature2;
    return {
      transactionId: toHex(s.transactionId).toUpperCase(),
      profileMetadata: b64(this.#metadata(profile)),
      smdpSigned2: b64(smdpSigned2),
      smdpSignature2: b64(sig5f37(smdpSignature2)),
      smdpCertificate: b64(pb.certificate),
    };
  }

  #metadata(p: SmdpProfile): Uint8Array {
    return StoreMetadataRequest.encode({ iccid: p.iccid, serviceProviderName: p.serviceProviderName ?? 'Test Operator', profileName: p.profileName ?? `Profile ${p.matchingId}`.slice(0, 64) });
  }

  #getBoundProfilePackage(body: Record<string, unknown>): Record<string, unknown> {
    const s = this.#session(body);
    if (s.profile === undefined || s.euiccKey === undefined || s.smdpSignature2 === undefined) throw new Es9Error('8.10.1', '3.9', 'no authenticated session');
    const pdr = unb64(body.prepareDownloadResponse, 'prepareDownloadResponse');
    let decoded;
    try {
      decoded = decode(PrepareDownloadResponseBody, readSingle(pdr).value);
    } catch {
      throw new Es9Error('8.1', '6.1', 'undecodable PrepareDownloadResponse');
    }
    if ('downloadResponseError' in decoded) throw new Es9Error('8.1', '6.1', `eUICC refused: ${String(decoded.downloadResponseError.downloadErrorCode)}`);
    const ok = decoded.downloadResponseOk;
    const signed2Bytes = signedBytesOf(ok.euiccSigned2, () => EuiccSigned2.encode(ok.euiccSigned2));
    if (!verifyEcdsa(s.euiccKey, Buffer.concat([signed2Bytes, sig5f37(s.smdpSignature2)]), ok.euiccSignature2).valid) throw new Es9Error('8.1', '6.1', 'euiccSignature2 does not verify');
    const bpp = this.#bind(s, s.profile, ok.euiccSigned2.euiccOtpk);
    this.profileState.set(s.profile.matchingId, 'downloaded');
    return { transactionId: toHex(s.transactionId).toUpperCase(), boundProfilePackage: b64(bpp) };
  }

  #bind(s: Es9Session, profile: SmdpProfile, euiccOtpk: Uint8Array): Uint8Array {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const smdpOtpk = rawPublicPoint(createPublicKey(privateKey));
    const peer = createPublicKey({ key: Buffer.from(spkiFromPoint(euiccOtpk, 'P-256')), format: 'der', type: 'spki' });
    const key = sessionKey(new Uint8Array(diffieHellman({ privateKey, publicKey: peer })), s.transactionId);
    const isc = { remoteOpId: 1, transactionId: s.transactionId, controlRefTemplate: { keyType: Uint8Array.of(0x88), keyLen: Uint8Array.of(0x10), hostId: new TextEncoder().encode('TEST-SMDP') }, smdpOtpk };
    const smdpSign = signEcdsa(this.options.certificates.pb.privateKey, smdpSignInput(isc, euiccOtpk));
    let index = 0;
    const configureIsdp = [protectSegment(key, index++, Uint8Array.of(0x30, 0x00))];
    const metadata = this.#metadata(profile);
    const metadataSegments: Uint8Array[] = [];
    for (let i = 0; i < metadata.length; i += 1000) metadataSegments.push(protectSegment(key, index++, metadata.subarray(i, i + 1000)));
    const content = new Uint8Array(randomBytes(profile.size ?? 2048));
    const elements: Uint8Array[] = [];
    for (let i = 0; i < content.length; i += 1020) elements.push(protectSegment(key, index++, content.subarray(i, i + 1020)));
    const first = elements[0];
    if (this.corruptBpp && first !== undefined) first[0] = first[0]! ^ 0xff;
    return BoundProfilePackageBody.encode({
      initialiseSecureChannelRequest: { ...isc, smdpSign },
      firstSequenceOf87: configureIsdp,
      sequenceOf88: metadataSegments,
      sequenceOf86: elements,
    });
  }

  #cancelSession(body: Record<string, unknown>): Record<string, unknown> {
    const s = this.#session(body);
    const csr = unb64(body.cancelSessionResponse, 'cancelSessionResponse');
    let decoded;
    try {
      decoded = decode(CancelSessionResponseBody, readSingle(csr).value);
    } catch {
      throw new Es9Error('8.1', '6.1', 'undecodable CancelSessionResponse');
    }
    if ('cancelSessionResponseError' in decoded) throw new Es9Error('8.1', '6.1', 'eUICC could not cancel');
    const ok = decoded.cancelSessionResponseOk;
    if (s.euiccKey !== undefined) {
      const signed = receivedSigned(ok.euiccCancelSessionSigned);
      if (!verifyEcdsa(s.euiccKey, signed, ok.euiccCancelSessionSignature).valid) throw new Es9Error('8.1', '6.1', 'euiccCancelSessionSignature does not verify');
    }
    this.cancelled.push({ transactionId: toHex(s.transactionId).toUpperCase(), reason: ok.euiccCancelSessionSigned.reason });
    if (s.profile !== undefined) this.profileState.set(s.profile.matchingId, 'available');
    this.#sessions.delete(toHex(s.transactionId).toUpperCase());
    return {};
  }
}

/** The bytes a decoded signed part was received as; `otherwise` when it was built locally. */
function signedBytesOf(v: object, otherwise: () => Uint8Array): Uint8Array {
  return (v as { [RECEIVED]?: Uint8Array })[RECEIVED] ?? otherwise();
}

function receivedSigned(v: object): Uint8Array {
  return signedBytesOf(v, () => {
    throw new Es9Error('8.1', '6.1', 'signed bytes not available');
  });
}
