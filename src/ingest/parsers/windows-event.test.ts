import { describe, expect, it } from 'vitest';
import { parseOne, parseResult } from './testing.ts';

// SigmaHQ regression data (nested form), shortened.
const NESTED = `{
  "Event": {
    "#attributes": { "xmlns": "http://schemas.microsoft.com/win/2004/08/events/event" },
    "System": {
      "Provider": { "#attributes": { "Name": "Microsoft-Windows-Sysmon", "Guid": "5770385F-C22A-43E0-BF4C-06F5698FFBD9" } },
      "EventID": 1, "Version": 5, "Level": 4, "Task": 1,
      "TimeCreated": { "#attributes": { "SystemTime": "2025-10-22T20:33:27.276702Z" } },
      "EventRecordID": 256875,
      "Execution": { "#attributes": { "ProcessID": 3168, "ThreadID": 4580 } },
      "Channel": "Microsoft-Windows-Sysmon/Operational",
      "Computer": "ar-win-1",
      "Security": { "#attributes": { "UserID": "S-1-5-18" } }
    },
    "EventData": {
      "RuleName": "-",
      "ProcessId": 3424,
      "Image": "C:\\\\Windows\\\\System32\\\\sc.exe",
      "CommandLine": "sc  stop mpssvc",
      "User": "AR-WIN-1\\\\Administrator",
      "ParentProcessId": 8252,
      "ParentImage": "C:\\\\Windows\\\\System32\\\\cmd.exe"
    }
  }
}`;

// OTRF Security-Datasets (flat form), shortened.
const FLAT =
  '{"SubjectUserName":"wardog","TimeCreated":"2020-10-21 12:19:04.411","CommandLine":"netsh  advfirewall firewall add rule name=\\"atomic testing\\" action=allow dir=in protocol=TCP localport=450","SubjectLogonId":"0xc61d9","NewProcessId":"0x27cc","SubjectDomainName":"WORKSTATION5","NewProcessName":"C:\\\\Windows\\\\System32\\\\netsh.exe","ProcessId":"0x1040","ParentProcessName":"C:\\\\Windows\\\\System32\\\\cmd.exe","EventID":4688,"Channel":"Security","Task":"13312","Message":"A new process has been created.","Hostname":"WORKSTATION5","SourceName":"Microsoft-Windows-Security-Auditing","RecordNumber":"1234"}';

describe('Windows events', () => {
  it('normalises the nested Event.System/EventData form', () => {
    const e = parseOne(NESTED);
    expect(e).toMatchObject({
      sourceType: 'windows_event',
      host: 'ar-win-1',
      appname: 'Microsoft-Windows-Sysmon',
      procid: 3168,
    });
    expect(e.timestamp?.toISOString()).toBe('2025-10-22T20:33:27.276Z');
    expect(e.normalized).toEqual({
      event_id: 1,
      channel: 'Microsoft-Windows-Sysmon/Operational',
      provider: 'Microsoft-Windows-Sysmon',
      computer: 'ar-win-1',
      record_id: 256875,
      level: 'info',
      task: 1,
      security_user_id: 'S-1-5-18',
      event_data: {
        RuleName: '-',
        ProcessId: 3424,
        Image: 'C:\\Windows\\System32\\sc.exe',
        CommandLine: 'sc  stop mpssvc',
        User: 'AR-WIN-1\\Administrator',
        ParentProcessId: 8252,
        ParentImage: 'C:\\Windows\\System32\\cmd.exe',
      },
      user: 'Administrator',
      user_domain: 'AR-WIN-1',
      process: 'C:\\Windows\\System32\\sc.exe',
      command_line: 'sc  stop mpssvc',
      parent_process: 'C:\\Windows\\System32\\cmd.exe',
      pid: 3424,
      ppid: 8252,
      action: 'process_start',
    });
  });

  it('normalises the flat OTRF form to the same shape', () => {
    const e = parseOne(FLAT);
    expect(e).toMatchObject({
      sourceType: 'windows_event',
      host: 'WORKSTATION5',
      message: 'A new process has been created.',
    });
    expect(e.timestamp?.toISOString()).toBe('2020-10-21T12:19:04.411Z');
    const n = e.normalized;
    expect(n).toMatchObject({
      event_id: 4688,
      channel: 'Security',
      provider: 'Microsoft-Windows-Security-Auditing',
      computer: 'WORKSTATION5',
      record_id: 1234,
      task: 13312,
      user: 'wardog',
      user_domain: 'WORKSTATION5',
      process: 'C:\\Windows\\System32\\netsh.exe',
      parent_process: 'C:\\Windows\\System32\\cmd.exe',
      pid: 0x27cc,
      ppid: 0x1040,
      action: 'process_start',
      outcome: 'success',
    });
    expect(Object.keys(n.event_data as object).sort()).toEqual([
      'CommandLine',
      'NewProcessId',
      'NewProcessName',
      'ParentProcessName',
      'ProcessId',
      'SubjectDomainName',
      'SubjectLogonId',
      'SubjectUserName',
    ]);
  });

  it('reads Data arrays, {#text} values and UserData', () => {
    const e = parseOne(
      JSON.stringify({
        Event: {
          System: {
            Provider: { '@Name': 'Microsoft-Windows-Security-Auditing' },
            EventID: { '#text': 4625, '#attributes': { Qualifiers: 0 } },
            TimeCreated: { '@SystemTime': '2024-01-02T03:04:05.678Z' },
            Channel: 'Security',
            Computer: 'DC01',
          },
          EventData: {
            Data: [
              { '#attributes': { Name: 'TargetUserName' }, '#text': 'admin' },
              { '@Name': 'IpAddress', '#text': '203.0.113.50' },
              { '@Name': 'IpPort', '#text': '50123' },
            ],
          },
        },
      }),
    );
    expect(e.normalized).toMatchObject({
      event_id: 4625,
      computer: 'DC01',
      event_data: { TargetUserName: 'admin', IpAddress: '203.0.113.50', IpPort: '50123' },
      user: 'admin',
      src_ip: '203.0.113.50',
      src_port: 50123,
      action: 'logon',
      outcome: 'failure',
    });
    const wmi = parseOne(
      '{"Event":{"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-WMI-Activity"}},"EventID":5858,"Channel":"Microsoft-Windows-WMI-Activity/Operational","Computer":"swachchhanda"},"UserData":{"Operation_ClientFailure":{"#attributes":{"xmlns":"http://manifests.microsoft.com/win/2006/windows/WMI"},"User":"swachchhanda\\\\xodih","ResultCode":"0x80041003"}}}}',
    );
    expect(wmi.normalized).toMatchObject({
      event_id: 5858,
      event_data: { User: 'swachchhanda\\xodih', ResultCode: '0x80041003' },
      user: 'xodih',
    });
  });

  it('forced windows_event rejects other JSON', () => {
    expect(parseResult('{"a":1}', 'windows_event')).toEqual({
      ok: false,
      reason: 'windows_event: not a Windows event (no Event.System, nor EventID with Channel or provider)',
    });
  });
});
