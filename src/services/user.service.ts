/**
 * Users of a tenant, managed by its admins: an admin sees and changes the users who are members of the
 * current tenant (an sre may read every user). Creating a user adds its membership in the current tenant;
 * deleting removes that membership, and the user itself only when it belongs to no other tenant. Passwords
 * are hashed with argon2id (password.ts); neither a password nor its hash ever reaches a response (except a
 * generated password, returned once on create) or an audit row. Every change is audited in the current
 * tenant, in the same transaction (audited.service.ts).
 */
import { isIP } from 'node:net';
import type { Database } from '../db/client.ts';
import { ConflictError, ForbiddenError, NotFoundError } from '../domain/errors.ts';
import type { MembershipRole } from '../domain/enums.ts';
import type { Principal } from '../domain/permissions.ts';
import type { AuditLogRepository } from '../repositories/audit-log.repository.ts';
import type { ListOptions, Page } from '../repositories/base.ts';
import type { MembershipRepository } from '../repositories/membership.repository.ts';
import { toPublicUser, type PublicUser, type UserRepository } from '../repositories/user.repository.ts';
import { audited, type Actor } from './audited.service.ts';
import { assertPasswordPolicy, generatePassword, hashPassword } from './password.ts';

const RESOURCE = 'user';

export interface UserListFilters {
  q?: string | undefined;
  isActive?: boolean | undefined;
}

export interface UserCreateInput {
  username: string;
  email: string;
  displayName?: string | null | undefined;
  /** When absent, one is generated and returned once. */
  password?: string | undefined;
  role: MembershipRole;
}

export interface UserChange {
  displayName?: string | null | undefined;
  email?: string | undefined;
  isActive?: boolean | undefined;
}

/** A created user, with the generated password when none was given (shown once, never stored). */
export type CreatedUser = PublicUser & { role: MembershipRole; password?: string };

export class UserService {
  constructor(
    private readonly db: Database,
    private readonly users: UserRepository,
    private readonly memberships: MembershipRepository,
    private readonly auditLogs: AuditLogRepository,
  ) {}

  /** Members of the tenant; an sre sees every user. */
  list(
    principal: Principal,
    tenantId: string | null,
    opts: ListOptions<UserListFilters> = {},
  ): Promise<Page<PublicUser>> {
    const { q, isActive } = opts.filters ?? {};
    const sre = principal.platformRole === 'sre';
    return this.users.list({
      ...opts,
      filters: { q, isActive, ...(sre ? {} : { tenantId: tenantId ?? undefined }) },
    });
  }

  /** A member of the tenant (an sre: any user); anyone else is NotFound. */
  async get(principal: Principal, tenantId: string | null, id: string): Promise<PublicUser> {
    const user = await this.users.get(id);
    if (!user) throw new NotFoundError(RESOURCE, id);
    if (principal.platformRole !== 'sre') {
      if (!tenantId || !(await this.memberships.get(tenantId, id))) throw new NotFoundError(RESOURCE, id);
    }
    return toPublicUser(user);
  }

  async create(tenantId: string, input: UserCreateInput, actor: Actor): Promise<CreatedUser> {
    const generated = input.password === undefined ? generatePassword() : undefined;
    if (input.password !== undefined) assertPasswordPolicy(input.password);
    const passwordHash = await hashPassword(input.password ?? generated!);
    const user = await audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'create', resourceType: RESOURCE },
      async () => {
        if (await this.users.getByUsername(input.username)) {
          throw new ConflictError(`username ${input.username} is taken`, 'username');
        }
        if (await this.users.getByEmail(input.email)) {
          throw new ConflictError(`email ${input.email} is taken`, 'email');
        }
        const row = await this.users.create({
          username: input.username,
          email: input.email,
          displayName: input.displayName ?? null,
          passwordHash,
          defaultTenantId: tenantId,
        });
        await this.memberships.add(tenantId, row.id, input.role);
        const result: CreatedUser = { ...row, role: input.role };
        return { result, after: { ...row, role: input.role }, resourceId: row.id };
      },
    );
    return generated ? { ...user, password: generated } : user;
  }

  /** Changes a member of the tenant: display name, email, active flag. */
  update(tenantId: string, id: string, patch: UserChange, actor: Actor): Promise<PublicUser> {
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'update', resourceType: RESOURCE, resourceId: id },
      async () => {
        const before = await this.#member(tenantId, id);
        const after = await this.users.update(id, {
          ...(patch.displayName !== undefined ? { displayName: patch.displayName } : {}),
          ...(patch.email !== undefined ? { email: patch.email } : {}),
          ...(patch.isActive !== undefined ? { isActive: patch.isActive } : {}),
        });
        return { result: after, before, after };
      },
    );
  }

  /**
   * Sets a new password for a member of the tenant (policy checked). Audited as `password_change` in the
   * same transaction; the row never holds the password or its hash.
   */
  async setPassword(tenantId: string, id: string, password: string, actor: Actor): Promise<void> {
    const { principal, meta } = actor;
    if (principal.tenantId !== tenantId) {
      throw new ForbiddenError(`${principal.name} does not act in tenant ${tenantId}`);
    }
    assertPasswordPolicy(password);
    const passwordHash = await hashPassword(password);
    await this.db.tenant(tenantId, async () => {
      await this.#member(tenantId, id);
      await this.users.update(id, { passwordHash });
      await this.auditLogs.create(tenantId, {
        userId: principal.kind === 'user' ? principal.id : null,
        actor: principal.name.slice(0, 255),
        action: 'password_change',
        resourceType: RESOURCE,
        resourceId: id,
        details: principal.crossTenant ? { crossTenant: true } : {},
        description: null,
        ipAddress: meta.ip && isIP(meta.ip) ? meta.ip : null,
        userAgent: meta.userAgent ?? null,
        success: true,
      });
    });
  }

  /**
   * Removes the user from the tenant; deletes the user when it belongs to no other tenant. The last admin
   * of the tenant stays (409).
   */
  delete(tenantId: string, id: string, actor: Actor): Promise<void> {
    return audited(
      this.db,
      this.auditLogs,
      tenantId,
      actor.principal,
      actor.meta,
      { action: 'delete', resourceType: RESOURCE, resourceId: id },
      async () => {
        const before = await this.#member(tenantId, id);
        const membership = await this.memberships.get(tenantId, id);
        if (membership?.role === 'admin') {
          const admins = await this.memberships.list(tenantId, { filters: { role: 'admin' }, limit: 2 });
          if (admins.total <= 1) {
            throw new ConflictError(
              'a tenant keeps at least one admin: make another member admin first',
              'role',
            );
          }
        }
        await this.memberships.remove(tenantId, id);
        const others = await this.memberships.listForUser(id);
        const deleted = others.length === 0;
        if (deleted) await this.users.delete(id);
        return { result: undefined, before: { ...before, role: membership?.role, deleted } };
      },
    );
  }

  /** The user, if a member of the tenant; NotFound otherwise. */
  async #member(tenantId: string, id: string): Promise<PublicUser> {
    const user = await this.users.get(id);
    if (!user || !(await this.memberships.get(tenantId, id))) throw new NotFoundError(RESOURCE, id);
    return toPublicUser(user);
  }
}
