import type { Command } from 'commander';
import { startServer } from '../../http/server.ts';
import { startBackground } from '../../jobs/background.ts';
import type { CliContext } from '../context.ts';
import { intOption } from '../output.ts';
import { printInitResult } from './init.command.ts';

export function registerServe(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the API server (migrates and creates the first admin on first start); `npm start`')
    .option('-p, --port <port>', 'port to listen on (default: PORT or 8080)', intOption('port', 0))
    .option('--host <host>', 'address to bind (default 0.0.0.0)')
    .action(async (o: { port?: number; host?: string }) => {
      if (o.port !== undefined) ctx.override({ server: { port: o.port } });
      if (o.host !== undefined) ctx.override({ server: { host: o.host } });
      const c = await ctx.container();
      const init = await c.services.setup.init();
      printInitResult(init, (line) => process.stdout.write(line + '\n'));
      // The log store opens at start: a locked DuckDB file fails here, clearly, not on the first request; and
      // log ingestion runs a killed process left `running` are closed as interrupted.
      await c.services.logIngest.store();
      const background = await startBackground(c);
      await startServer(c, {
        beforeClose: () => background.stop(),
        onReady: (address) =>
          c.logger.info(
            { address, engine: c.db.engine },
            `Vigil listening on ${address} (database: ${c.db.engine})`,
          ),
      });
      ctx.keepOpen();
    });
}
