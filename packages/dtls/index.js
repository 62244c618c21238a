// Loads the compiled addon (built by `node-gyp rebuild` on `npm install`). Plain JavaScript so that it
// needs no transpiler; the typed wrapper lives in src/lwm2m/transport/.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const binding = require('./build/Release/eim_dtls.node');

export const { createContext, listen, feed, handleTimeout, write, close, info, opensslVersion } = binding;
