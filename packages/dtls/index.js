// Loads the compiled addon (built by `node-gyp rebuild` on `npm install`). Plain JavaScript so that it
// needs no transpiler; the typed wrapper lives in src/lwm2m/transport/.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const binding = require('./build/Release/eim_dtls.node');

export const { createContext, listen, feed, handleTimeout, write, close, info, lastError, fields, opensslVersion } = binding;

// Indices into `fields` and its flag bits (mirrors the enums in src/dtls.c).
export const F_STATE = 0;
export const F_ESTABLISHED = 1;
export const F_TIMEOUT = 2;
export const F_FLAGS = 3;
export const F_OUT = 4;
export const F_LISTEN = 5;
export const FLAG_PSK_UNKNOWN = 1;
export const FLAG_PSK_ERROR = 2;
export const FLAG_ERROR = 4;
