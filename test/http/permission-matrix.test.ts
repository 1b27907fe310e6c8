import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PERMISSIONS_DOC, renderPermissionsDoc } from '../../scripts/permissions-doc.ts';

describe('docs/permissions.md', () => {
  it('is the rendering of the permission model and the registered routes (npm run docs:permissions)', async () => {
    const rendered = await renderPermissionsDoc();
    expect(readFileSync(PERMISSIONS_DOC, 'utf8')).toBe(rendered);
    // sanity: the matrix names every role and at least the core routes
    expect(rendered).toMatch(
      /\| GET \| `\/api\/v1\/incidents` \| `incidents:read` \| yes \| yes \| yes \| yes \|/,
    );
    expect(rendered).toMatch(
      /\| DELETE \| `\/api\/v1\/sources\/:id` \| `sources:write` \| yes \| — \| — \| — \|/,
    );
  });
});
