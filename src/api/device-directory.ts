/**
 * The API's port onto the LwM2M registrations (OMA LwM2M 1.1.1 Core §6.2 registration interface, Transport
 * §6.5 queue mode): who is registered, how, and whether it is awake now. The LwM2M layer implements it and
 * main.ts wires it; the API never imports src/lwm2m (same rank). Tests use a fake.
 */

/** One device as the LwM2M server sees it. Times are epoch milliseconds. */
export interface DeviceView {
  /** LwM2M endpoint client name. */
  readonly endpoint: string;
  /** EID of the eUICC in the device, when known. */
  readonly eid?: string;
  /** Registration binding mode, e.g. 'U', 'UQ', 'T'. */
  readonly binding?: string;
  readonly queueMode: boolean;
  /** Transport address the device registered from, e.g. '203.0.113.7:5684'. */
  readonly address?: string;
  readonly registeredAt?: number;
  readonly lastUplinkAt?: number;
  /** The device can be reached now (queue mode: inside its awake window). */
  readonly awake: boolean;
  readonly nextExpectedUplinkAt?: number;
  /** DTLS PSK identity or certificate subject the session was established with. */
  readonly dtlsIdentity?: string;
  /** Registration lifetime in seconds. */
  readonly lifetime?: number;
}

/** Read-only, synchronous view of the registrations (it reads memory, never the network). */
export interface DeviceDirectory {
  /** The registered device with this endpoint name, or else the one hosting this EID; undefined when none. */
  get(endpointOrEid: string): DeviceView | undefined;
  /** Registered devices, ordered by endpoint; with `awake`, only those (not) awake now. */
  list(filter?: { readonly awake?: boolean }): DeviceView[];
  /**
   * Counts for /metrics; when absent the API counts `list()`. `dtlsHandshakes` is the number of completed
   * DTLS handshakes since start (a counter), when the LwM2M layer counts them.
   */
  stats?(): { readonly registered: number; readonly awake: number; readonly dtlsHandshakes?: number };
}
