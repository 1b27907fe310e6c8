/**
 * Writes docs/permissions.md from the code (`npm run docs:permissions`), or with --check exits 1 when the
 * committed document is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfig } from '../src/config/config.ts';
import { createLogger } from '../src/config/logger.ts';
import { createContainer } from '../src/container.ts';
import { Database } from '../src/db/client.ts';
import { buildApp } from '../src/http/app.ts';
import { renderPermissionMatrix } from '../src/http/permission-matrix.ts';
import { routeRegistry } from '../src/http/route-registry.ts';

export const PERMISSIONS_DOC = resolve(import.meta.dirname, '../docs/permissions.md');

export async function renderPermissionsDoc(): Promise<string> {
  const config = loadConfig({ env: { LOG_LEVEL: 'silent' } });
  const db = await Database.open({});
  try {
    const container = await createContainer(config, createLogger(config), db);
    const app = await buildApp({ container, logger: false });
    await app.ready();
    const text = renderPermissionMatrix(routeRegistry(app));
    await app.close();
    return text;
  } finally {
    await db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = await renderPermissionsDoc();
  if (process.argv.includes('--check')) {
    const current = readFileSync(PERMISSIONS_DOC, 'utf8');
    if (current !== text) {
      console.error('docs/permissions.md is out of date: run `npm run docs:permissions`');
      process.exit(1);
    }
  } else {
    writeFileSync(PERMISSIONS_DOC, text);
    console.log(`wrote ${PERMISSIONS_DOC}`);
  }
}
