/**
 * `npm run bench`: every speed and memory target of the project, measured in one run on this machine, printed
 * as figures and ratios. Sections can be chosen: `npm run bench -- core dtls`.
 */
import { benchEimCore, printCoreBench } from './eim-core.js';
import { benchSimulator, printSimulatorBench } from './simulator.js';

type Section = { name: string; run: (out: (line: string) => void) => Promise<void> };

const SECTIONS: Section[] = [
  {
    name: 'core',
    run: async (out) => printCoreBench(await benchEimCore(), out),
  },
  { name: 'simulator', run: async (out) => printSimulatorBench(await benchSimulator(), out) },
];

const wanted = process.argv.slice(2);
const out = (line: string): void => void process.stdout.write(`${line}\n`);
out(`eIM benchmarks — node ${process.version}, ${(await import('node:os')).cpus().length} cores, ${new Date().toISOString()}`);
for (const s of SECTIONS) {
  if (wanted.length > 0 && !wanted.includes(s.name)) continue;
  out('');
  await s.run(out);
}
