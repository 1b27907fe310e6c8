/**
 * First start: migrate, then make sure the platform has a first tenant and an administrator.
 * There is no default password: the admin gets a generated one, returned once, stored only as argon2id.
 */
import type { Database } from '../db/client.ts';
import type { Migrator } from '../db/migrator.ts';
import { ConflictError } from '../domain/errors.ts';
import type { MembershipRepository } from '../repositories/membership.repository.ts';
import type { TenantRepository } from '../repositories/tenant.repository.ts';
import type { UserRepository } from '../repositories/user.repository.ts';
import { generatePassword, hashPassword } from './password.ts';

export interface InitOptions {
  tenantSlug?: string;
  tenantName?: string;
  adminUsername?: string;
  adminEmail?: string;
}

export interface InitResult {
  /** Migrations applied by this call. */
  migrated: string[];
  /** True when this call created the first tenant and admin. */
  created: boolean;
  tenant?: { id: string; slug: string; name: string };
  admin?: { id: string; username: string; email: string };
  /** The generated password, present only when `created`: shown once, never stored in clear. */
  password?: string;
}

export class SetupService {
  constructor(
    private readonly db: Database,
    private readonly migrator: Migrator,
    private readonly tenants: TenantRepository,
    private readonly users: UserRepository,
    private readonly memberships: MembershipRepository,
  ) {}

  async init(opts: InitOptions = {}): Promise<InitResult> {
    const migrated = await this.migrator.migrate();
    const existing = await this.users.list({ limit: 1, sort: 'created_at' });
    if (existing.total > 0) {
      const first = existing.items[0]!;
      const tenant = first.defaultTenantId ? await this.tenants.get(first.defaultTenantId) : undefined;
      return {
        migrated,
        created: false,
        admin: { id: first.id, username: first.username, email: first.email },
        ...(tenant ? { tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name } } : {}),
      };
    }

    const password = generatePassword();
    const passwordHash = await hashPassword(password);
    try {
      return await this.db.tx(async () => {
        const slug = opts.tenantSlug ?? 'default';
        const tenant =
          (await this.tenants.getBySlug(slug)) ??
          (await this.tenants.create({
            slug,
            name: opts.tenantName ?? 'Default',
            description: 'Created by vigil init',
          }));
        const admin = await this.users.create({
          username: opts.adminUsername ?? 'admin',
          email: opts.adminEmail ?? 'admin@vigil.local',
          displayName: 'Administrator',
          passwordHash,
          // The first administrator also operates the platform (creates tenants): the cross-tenant `sre` role.
          platformRole: 'sre',
          defaultTenantId: tenant.id,
        });
        await this.memberships.add(tenant.id, admin.id, 'admin');
        return {
          migrated,
          created: true,
          tenant: { id: tenant.id, slug: tenant.slug, name: tenant.name },
          admin: { id: admin.id, username: admin.username, email: admin.email },
          password,
        };
      });
    } catch (e) {
      // Another process initialised the platform at the same moment: its admin stands, ours is not created.
      if (e instanceof ConflictError) return { ...(await this.init(opts)), migrated };
      throw e;
    }
  }
}
