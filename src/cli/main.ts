/** Entry point of the `vigil` command (bin/vigil.js). */
import { main } from './program.ts';

process.exitCode = await main(process.argv);
