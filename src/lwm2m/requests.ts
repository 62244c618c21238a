/**
 * Downlink requests (server -> device, OMA LwM2M 1.1.1 Core §6.3 Device Management, §6.4 Information
 * Reporting), each typed with its response: `ResponseOf<R>`. Core types hold no CoAP objects.
 */
import type { Link } from './content/link-format.js';
import type { Lwm2mNode, Lwm2mValue } from './content/values.js';

export interface ReadRequest {
  readonly kind: 'read';
  readonly path: string;
  /** Accept; default: the best format the client announced. */
  readonly format?: number;
}

export interface WriteRequest {
  readonly kind: 'write';
  readonly path: string;
  /** One value for a resource path, or nodes under an instance path. */
  readonly value?: Lwm2mValue;
  readonly nodes?: readonly Lwm2mNode[];
  readonly format?: number;
  /** Partial update (POST) instead of replace (PUT). */
  readonly partial?: boolean;
}

export interface ExecuteRequest {
  readonly kind: 'execute';
  readonly path: string;
  readonly arguments?: string;
}

export interface DiscoverRequest {
  readonly kind: 'discover';
  readonly path: string;
}

export interface WriteAttributesRequest {
  readonly kind: 'write-attributes';
  readonly path: string;
  readonly attributes: Readonly<Record<'pmin' | 'pmax' | 'gt' | 'lt' | 'st' | 'epmin' | 'epmax' | 'con', number | undefined>>;
}

export interface ObserveRequest {
  readonly kind: 'observe';
  readonly path: string;
  readonly format?: number;
}

export interface CancelObserveRequest {
  readonly kind: 'cancel-observe';
  readonly path: string;
}

export type DownlinkRequest = ReadRequest | WriteRequest | ExecuteRequest | DiscoverRequest | WriteAttributesRequest | ObserveRequest | CancelObserveRequest;

interface BaseResponse {
  /** CoAP response code as "2.05". */
  readonly code: string;
  readonly success: boolean;
}

export interface ReadResponse extends BaseResponse {
  readonly format: number | undefined;
  readonly nodes: readonly Lwm2mNode[];
  readonly payload: Uint8Array;
}

export type WriteResponse = BaseResponse;
export type ExecuteResponse = BaseResponse;
export type WriteAttributesResponse = BaseResponse;
export type CancelObserveResponse = BaseResponse;

export interface DiscoverResponse extends BaseResponse {
  readonly links: readonly Link[];
}

export interface ObserveResponse extends ReadResponse {
  /** Set when the device accepted the observation. */
  readonly observationId: string | undefined;
}

export type ResponseOf<R extends DownlinkRequest> = R extends ReadRequest
  ? ReadResponse
  : R extends WriteRequest
    ? WriteResponse
    : R extends ExecuteRequest
      ? ExecuteResponse
      : R extends DiscoverRequest
        ? DiscoverResponse
        : R extends WriteAttributesRequest
          ? WriteAttributesResponse
          : R extends ObserveRequest
            ? ObserveResponse
            : CancelObserveResponse;

/** A notification of an observation, decoded. */
export interface NotificationEvent {
  readonly endpoint: string;
  readonly path: string;
  readonly observationId: string;
  readonly nodes: readonly Lwm2mNode[];
  /** The raw body (e.g. the opaque IPA message). */
  readonly payload: Uint8Array;
  readonly format: number | undefined;
  readonly confirmable: boolean;
}

/** Values reported by Send (POST /dp). */
export interface SendEvent {
  readonly endpoint: string;
  readonly nodes: readonly Lwm2mNode[];
}
