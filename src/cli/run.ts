/** Process entry of the `eim` command (bin/eim.js loads the compiled copy; tests run this file with tsx). */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
