import type { Command } from 'commander';
import type { InitResult } from '../../services/setup.service.ts';
import type { CliContext } from '../context.ts';
import { printJson, println } from '../output.ts';

/** The one-time banner for a newly created administrator (also printed by `vigil serve` on first start). */
export function printInitResult(r: InitResult, write: (line: string) => void = println): void {
  if (r.migrated.length) write(`applied ${r.migrated.length} migration(s): ${r.migrated.join(', ')}`);
  if (!r.created) {
    write(
      `already initialised: administrator ${r.admin?.username ?? '?'} exists${r.tenant ? ` (tenant ${r.tenant.slug})` : ''}; nothing created`,
    );
    return;
  }
  write('');
  write('Vigil is initialised.');
  write(`  tenant:   ${r.tenant!.slug} (${r.tenant!.name})`);
  write(`  admin:    ${r.admin!.username} <${r.admin!.email}>`);
  write(`  password: ${r.password}`);
  write('This password is shown once and stored only as an argon2id hash: keep it now.');
  write('');
}

export function registerInit(program: Command, ctx: CliContext): void {
  program
    .command('init')
    .description(
      'migrate and create the first tenant and its admin (generated password, shown once); idempotent',
    )
    .option('--tenant-slug <slug>', 'slug of the first tenant', 'default')
    .option('--tenant-name <name>', 'display name of the first tenant', 'Default')
    .option('--admin-username <name>', 'username of the first administrator', 'admin')
    .option('--admin-email <email>', 'email of the first administrator', 'admin@vigil.local')
    .option('--json', 'machine-readable output')
    .action(
      async (o: {
        tenantSlug: string;
        tenantName: string;
        adminUsername: string;
        adminEmail: string;
        json?: boolean;
      }) => {
        const c = await ctx.container();
        const r = await c.services.setup.init({
          tenantSlug: o.tenantSlug,
          tenantName: o.tenantName,
          adminUsername: o.adminUsername,
          adminEmail: o.adminEmail,
        });
        if (o.json) return printJson(r);
        printInitResult(r);
      },
    );
}
