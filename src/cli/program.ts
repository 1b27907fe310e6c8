/**
 * `vigil`: the command line. Commands are thin: they parse arguments and call services from the container.
 * Errors print one clear line on stderr and exit non-zero (2 bad input, 3 not found, 4 conflict, 5 denied,
 * 6 unavailable, 1 anything else).
 */
import { Command, CommanderError } from 'commander';
import { isVigilError, ValidationError } from '../domain/errors.ts';
import { registerAudit } from './commands/audit.command.ts';
import { registerConfig } from './commands/config.command.ts';
import { registerDb } from './commands/db.command.ts';
import { registerIngest } from './commands/ingest.command.ts';
import { registerInit } from './commands/init.command.ts';
import { registerIntel } from './commands/intel.command.ts';
import { registerIntelSetup } from './commands/intel-setup.command.ts';
import { registerLogs } from './commands/logs.command.ts';
import { registerSeed } from './commands/seed.command.ts';
import { registerServe } from './commands/serve.command.ts';
import { registerSigma } from './commands/sigma.command.ts';
import { registerRules } from './commands/rules.command.ts';
import { registerDetect } from './commands/detect.command.ts';
import { CliContext, type GlobalOptions } from './context.ts';

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('vigil')
    .description('Vigil: multi-tenant security operations platform')
    .version('0.1.0')
    .option('-c, --config <file>', 'YAML configuration file (default ./vigil.yaml, or VIGIL_CONFIG)')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false })
    // before the sub-commands are added: commander copies this setting to each one when it is created
    .exitOverride();
  registerInit(program, ctx);
  registerServe(program, ctx);
  registerSeed(program, ctx);
  registerDb(program, ctx);
  registerIngest(program, ctx);
  registerLogs(program, ctx);
  registerSigma(program, ctx);
  registerRules(program, ctx);
  registerDetect(program, ctx);
  registerIntel(program, ctx);
  registerIntelSetup(program, ctx);
  registerAudit(program, ctx);
  registerConfig(program, ctx);
  return program;
}

function describeError(e: unknown): { message: string; exitCode: number } {
  if (isVigilError(e)) {
    let message = e.message;
    if (e instanceof ValidationError && e.issues.length > 1) {
      message += ` (also: ${e.issues
        .slice(1, 4)
        .map((i) => `${i.path}: ${i.message}`)
        .join('; ')})`;
    }
    return { message, exitCode: e.exitCode };
  }
  const err = e as { message?: string; code?: string };
  if (err?.code === 'ECONNREFUSED')
    return { message: `cannot connect to the database: ${err.message}`, exitCode: 6 };
  return { message: err?.message ?? String(e), exitCode: 1 };
}

export async function main(argv: string[]): Promise<number> {
  const holder: { program?: Command } = {};
  const ctx = new CliContext(() => (holder.program?.opts() ?? {}) as GlobalOptions);
  const program = (holder.program = buildProgram(ctx));
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed the help or the usage error; usage errors are bad input (2)
      return e.exitCode === 0 ? 0 : 2;
    }
    const { message, exitCode } = describeError(e);
    process.stderr.write(`error: ${message}\n`);
    if (process.env.VIGIL_DEBUG) process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
    return exitCode;
  } finally {
    await ctx.close().catch(() => undefined);
  }
}
