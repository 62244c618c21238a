/**
 * `npm run bench`: every speed and memory target of the project, measured in one run on this machine, printed
 * as figures and ratios. Sections can be chosen: `npm run bench -- core dtls`. EIM_BENCH_RUNS sets how many
 * times the fleet sections repeat (default 3; medians are printed).
 */
import { benchDtlsHandshakes } from './dtls-handshake.js';
import { benchEimCore, printCoreBench } from './eim-core.js';
import { benchLwm2mMemoryRuns, printMemoryBench } from './lwm2m-memory.js';
import { benchRoundTrip, printRoundTripBench, type RoundTripBench } from './round-trip.js';
import { benchSimulator, printSimulatorBench } from './simulator.js';
import { benchWakeStorm, printStormBench, stormPki, type StormBench } from './wake-storm.js';

type Section = { name: string; run: (out: (line: string) => void) => Promise<void> };

const RUNS = Math.max(1, Number(process.env['EIM_BENCH_RUNS'] ?? 3));

async function repeat<T>(fn: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < RUNS; i++) results.push(await fn(i));
  return results;
}

const SECTIONS: Section[] = [
  {
    name: 'core',
    run: async (out) => printCoreBench(await benchEimCore(), out),
  },
  {
    name: 'simulator',
    run: async (out) => printSimulatorBench(await benchSimulator(), out),
  },
  {
    name: 'dtls',
    run: async (out) => void (await benchDtlsHandshakes({ log: out })),
  },
  {
    name: 'lwm2m-memory',
    run: async (out) => printMemoryBench(await benchLwm2mMemoryRuns(RUNS), out),
  },
  {
    name: 'round-trip',
    run: async (out) => printRoundTripBench(await repeat<RoundTripBench>(() => benchRoundTrip()), out),
  },
  {
    name: 'wake-storm',
    run: async (out) => {
      const pki = stormPki(10_000);
      printStormBench(await repeat<StormBench>(() => benchWakeStorm({ devices: 10_000, pki })), out);
    },
  },
];

const wanted = process.argv.slice(2);
const out = (line: string): void => void process.stdout.write(`${line}\n`);
out(`eIM benchmarks — node ${process.version}, ${(await import('node:os')).cpus().length} cores, ${new Date().toISOString()}`);
for (const s of SECTIONS) {
  if (wanted.length > 0 && !wanted.includes(s.name)) continue;
  out('');
  await s.run(out);
}
