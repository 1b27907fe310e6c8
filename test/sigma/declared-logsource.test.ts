/**
 * Declared logsources end to end: a Sigma rule whose logsource no Vigil parser maps (macOS process_creation,
 * Windows Kernel-File file_access) runs through `SigmaService.test` (parser, built-in pipeline, DuckDB) on
 * events whose source declares that logsource, and on no other events: the same file read without the
 * declaration, or with another logsource, matches nothing.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readEvents, SigmaService } from '../../src/services/sigma.service.ts';

const MACOS_RULE = `
title: Osascript Display Dialog
id: 7c3b3e86-2f5e-4d6a-9a55-6a1c3d1e0b01
status: test
logsource:
  product: macos
  category: process_creation
detection:
  selection:
    Image|endswith: '/osascript'
    CommandLine|contains: 'display dialog'
  condition: selection
level: medium
`;

const FILE_ACCESS_RULE = `
title: Kernel-File Access To A Credential Store
id: 7c3b3e86-2f5e-4d6a-9a55-6a1c3d1e0b02
status: test
logsource:
  product: windows
  category: file_access
detection:
  selection:
    FileName|endswith: '\\Login Data'
  condition: selection
level: medium
`;

const macosEvents = [
  {
    timestamp: '2026-03-01T10:00:00Z',
    host: 'mbp-1',
    Image: '/usr/bin/osascript',
    CommandLine: 'osascript -e display dialog "Enter your password" default answer ""',
    ParentImage: '/bin/zsh',
  },
  {
    timestamp: '2026-03-01T10:00:01Z',
    host: 'mbp-1',
    Image: '/usr/bin/osascript',
    CommandLine: 'osascript -e "tell application \\"Finder\\" to activate"',
    ParentImage: '/bin/zsh',
  },
  {
    timestamp: '2026-03-01T10:00:02Z',
    host: 'mbp-1',
    Image: '/bin/ls',
    CommandLine: 'ls display dialog',
    ParentImage: '/bin/zsh',
  },
];

// A Kernel-File ETW record as a flat forwarder writes it: the Windows event parser stores its EventData.
const kernelFileEvents = [
  {
    EventID: 12,
    Channel: 'Microsoft-Windows-Kernel-File/Analytic',
    Computer: 'ws1',
    TimeCreated: '2026-03-01T10:00:00Z',
    FileName: 'C:\\Users\\bob\\AppData\\Local\\Google\\Chrome\\User Data\\Default\\Login Data',
  },
];

describe('declared logsources through SigmaService.test', () => {
  let dir: string;
  let macos: string;
  let kernelFile: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-declared-'));
    writeFileSync(join(dir, 'macos.yml'), MACOS_RULE);
    writeFileSync(join(dir, 'file_access.yml'), FILE_ACCESS_RULE);
    macos = join(dir, 'macos.ndjson');
    writeFileSync(macos, macosEvents.map((e) => JSON.stringify(e)).join('\n') + '\n');
    kernelFile = join(dir, 'kernel-file.ndjson');
    writeFileSync(kernelFile, kernelFileEvents.map((e) => JSON.stringify(e)).join('\n') + '\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const macosRule = () => join(dir, 'macos.yml');
  const fileAccessRule = () => join(dir, 'file_access.yml');

  it('readEvents stores the declared logsource on every event as metadata.logsource', async () => {
    const ls = { product: 'macos', category: 'process_creation' };
    const events = [];
    for await (const b of readEvents(macos, '00000000-0000-4000-8000-000000000001', {
      format: 'auto',
      timezone: 'UTC',
      logsource: ls,
    }))
      events.push(...b.events);
    expect(events).toHaveLength(3);
    for (const e of events) expect(e.metadata).toMatchObject({ logsource: ls });
    // Without a declaration the metadata has no logsource.
    for await (const b of readEvents(macos, '00000000-0000-4000-8000-000000000001', {
      format: 'auto',
      timezone: 'UTC',
    }))
      for (const e of b.events) expect(e.metadata).not.toHaveProperty('logsource');
  });

  it('the macOS rule compiles and matches only the declared events it selects', async () => {
    const sigma = new SigmaService();
    const declared = await sigma.test([macosRule()], [macos], {
      logsource: { product: 'macos', category: 'process_creation' },
    });
    expect(declared.unsupported).toEqual([]);
    expect(declared.events).toBe(3);
    expect(declared.matches).toEqual([
      { id: '7c3b3e86-2f5e-4d6a-9a55-6a1c3d1e0b01', title: 'Osascript Display Dialog', count: 1 },
    ]);
  });

  it('the same events without the declaration, or declaring another logsource, match nothing', async () => {
    const sigma = new SigmaService();
    const undeclared = await sigma.test([macosRule()], [macos]);
    expect(undeclared.unsupported).toEqual([]);
    expect(undeclared.events).toBe(3);
    expect(undeclared.matches).toEqual([]);
    for (const logsource of [
      { product: 'linux', category: 'process_creation' },
      { product: 'macos', category: 'file_event' },
      { product: 'macos' },
    ]) {
      const other = await sigma.test([macosRule()], [macos], { logsource });
      expect(other.matches, JSON.stringify(logsource)).toEqual([]);
    }
  });

  it('a Windows Kernel-File rule reads the declared events through the Windows event parser', async () => {
    const sigma = new SigmaService();
    const declared = await sigma.test([fileAccessRule()], [kernelFile], {
      logsource: { product: 'windows', category: 'file_access' },
    });
    expect(declared.unsupported).toEqual([]);
    expect(declared.matches.map((m) => m.count)).toEqual([1]);
    expect((await sigma.test([fileAccessRule()], [kernelFile])).matches).toEqual([]);
  });

  it('refuses a bad declared logsource', async () => {
    await expect(
      new SigmaService().test([macosRule()], [macos], { logsource: { product: 'Mac OS' } }),
    ).rejects.toThrow(/invalid logsource/);
  });
});
