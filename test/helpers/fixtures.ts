import { TenantRepository, type Tenant } from '../../src/repositories/tenant.repository.ts';
import type { Database } from '../../src/db/client.ts';

let n = 0;
/** A new tenant with a unique slug. */
export async function makeTenant(db: Database, name = 'Tenant'): Promise<Tenant> {
  n += 1;
  const slug = `t-${process.pid}-${Date.now().toString(36)}-${n}`;
  return new TenantRepository(db).create({ slug, name: `${name} ${n}` });
}
