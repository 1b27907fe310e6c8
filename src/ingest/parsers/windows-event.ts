/**
 * Windows event records as JSON, normalised to ONE shape whatever the input shape:
 *
 *  - nested (evtx_dump / SigmaHQ regression data): `{"Event":{"System":{"Provider":{"#attributes":{"Name"}},
 *    "EventID":7,"TimeCreated":{"#attributes":{"SystemTime"}},"Channel","Computer","EventRecordID",...},
 *    "EventData":{...} | {"Data":[{"#attributes":{"Name"},"#text"}]} | [...] , "UserData":{"Root":{...}}}}`
 *    (XML-to-JSON variants with `@Name`/`Name` attributes and `{"#text":..}` values are read too);
 *  - flat (NXLog/Winlogbeat-like, OTRF Security-Datasets): `EventID`, `Channel`, `SourceName`/`Provider_Name`,
 *    `Hostname`/`Computer`, `TimeCreated`/`@timestamp`/`EventTime`, and the EventData fields at the top level.
 *
 * normalized: event_id, channel, provider, computer, record_id, level, event_data (ORIGINAL field names), and
 * the common vocabulary (user, src_ip, dst_ip, ports, process, command_line, action, outcome...).
 */
import { asInt, asIp, asPort, put, putDefault, putUser, type Normalized } from '../normalize.ts';
import { parseTimestamp } from '../timestamp.ts';
import type { ParsedEvent } from '../types.ts';
import { emptyEvent, type ParseContext } from './context.ts';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A scalar from `v`, `{"#text": v}` or `{"#attributes": {...}, "#text": v}`. */
function text(v: unknown): unknown {
  if (isObj(v)) return v['#text'] ?? v['$'] ?? v['value'];
  return v;
}

function str(v: unknown): string | null {
  const t = text(v);
  if (typeof t === 'string') return t;
  if (typeof t === 'number' || typeof t === 'boolean') return String(t);
  return null;
}

/** An XML attribute of a JSON-ified element: `#attributes.Name`, `@Name`, `_attributes.Name` or `Name`. */
function attr(el: unknown, name: string): unknown {
  if (!isObj(el)) return undefined;
  const a = el['#attributes'] ?? el['_attributes'] ?? el['@attributes'];
  if (isObj(a) && a[name] !== undefined) return a[name];
  return el['@' + name] ?? el[name];
}

/** True for `{"Event": {"System": {...}}}`. */
export function isNestedWindows(o: Obj): boolean {
  const e = o.Event;
  return isObj(e) && isObj(e.System);
}

/** True for a flat record: an EventID with a Channel or a provider name. */
export function isFlatWindows(o: Obj): boolean {
  const id = o.EventID ?? o.EventId ?? o.event_id;
  if (id === undefined || (typeof id !== 'number' && typeof id !== 'string' && !isObj(id))) return false;
  return (
    o.Channel !== undefined ||
    o.SourceName !== undefined ||
    o.Provider_Name !== undefined ||
    o.ProviderName !== undefined ||
    o.channel !== undefined
  );
}

/** Merges the named values of EventData/UserData in any of the JSON-ified XML shapes into `out`. */
function collectData(src: unknown, out: Obj): void {
  if (Array.isArray(src)) {
    src.forEach((item, i) => {
      const name = attr(item, 'Name');
      if (typeof name === 'string') out[name] = text(isObj(item) ? (item['#text'] ?? null) : item);
      else if (isObj(item)) collectData(item, out);
      else if (item !== null && item !== undefined) out[`Data_${i}`] = item;
    });
    return;
  }
  if (!isObj(src)) return;
  for (const [k, v] of Object.entries(src)) {
    if (k === '#attributes' || k === '_attributes' || k === '@attributes' || k === 'xmlns') continue;
    if (k === 'Data') {
      if (Array.isArray(v) || (isObj(v) && attr(v, 'Name') !== undefined)) {
        collectData(Array.isArray(v) ? v : [v], out);
        continue;
      }
    }
    out[k] = isObj(v) && ('#text' in v || '#attributes' in v) ? (v['#text'] ?? null) : v;
  }
}

/** Keys of a flat record that are System fields or shipper metadata, not EventData. */
const FLAT_SYSTEM = new Set([
  'EventID',
  'EventId',
  'Channel',
  'SourceName',
  'Provider_Name',
  'ProviderName',
  'ProviderGuid',
  'Provider_Guid',
  'Hostname',
  'Computer',
  'TimeCreated',
  '@timestamp',
  '@version',
  'EventTime',
  'EventReceivedTime',
  'Message',
  'Level',
  'LevelText',
  'Task',
  'Keywords',
  'RecordNumber',
  'EventRecordID',
  'Version',
  'Opcode',
  'OpcodeValue',
  'Severity',
  'SeverityValue',
  'EventType',
  'Category',
  'ThreadID',
  'ExecutionProcessID',
  'ExecutionThreadID',
  'SourceModuleName',
  'SourceModuleType',
  'port',
  'host',
  'tags',
  'AccountName',
  'AccountType',
  'Domain',
  'UserID',
]);

/** action/outcome of well-known event ids, by provider family. */
const SECURITY_ACTIONS: Record<number, [string, string?]> = {
  1102: ['log_cleared', 'success'],
  4624: ['logon', 'success'],
  4625: ['logon', 'failure'],
  4634: ['logoff', 'success'],
  4647: ['logoff', 'success'],
  4648: ['explicit_credential_logon', 'success'],
  4656: ['object_handle_request'],
  4657: ['registry_value_modified', 'success'],
  4658: ['object_handle_closed', 'success'],
  4663: ['object_access'],
  4672: ['special_privileges_assigned', 'success'],
  4688: ['process_start', 'success'],
  4689: ['process_end', 'success'],
  4697: ['service_installed', 'success'],
  4698: ['scheduled_task_created', 'success'],
  4720: ['user_created', 'success'],
  4726: ['user_deleted', 'success'],
  4740: ['user_locked_out', 'success'],
  4768: ['kerberos_tgt_request'],
  4769: ['kerberos_service_ticket_request'],
  4776: ['credential_validation'],
  5140: ['network_share_access', 'success'],
  5145: ['network_share_check'],
  5156: ['network_connection', 'success'],
  5157: ['network_connection', 'failure'],
  5158: ['network_bind', 'success'],
};
const SYSMON_ACTIONS: Record<number, string> = {
  1: 'process_start',
  2: 'file_time_changed',
  3: 'network_connection',
  5: 'process_end',
  6: 'driver_load',
  7: 'image_load',
  8: 'create_remote_thread',
  9: 'raw_access_read',
  10: 'process_access',
  11: 'file_create',
  12: 'registry_key',
  13: 'registry_value_set',
  14: 'registry_rename',
  15: 'file_stream_create',
  17: 'pipe_created',
  18: 'pipe_connected',
  19: 'wmi_filter',
  20: 'wmi_consumer',
  21: 'wmi_binding',
  22: 'dns_query',
  23: 'file_delete',
  24: 'clipboard_change',
  25: 'process_tampering',
  26: 'file_delete_detected',
};

const WINDOWS_LEVELS = ['info', 'critical', 'error', 'warning', 'info', 'verbose'];

function levelWord(v: unknown): string | undefined {
  const l = asInt(text(v));
  return l === null ? undefined : WINDOWS_LEVELS[l];
}

function firstString(d: Obj, keys: readonly string[]): string | null {
  for (const k of keys) {
    const v = d[k];
    if (typeof v === 'string' && v !== '' && v !== '-') return v;
    if (typeof v === 'number') return String(v);
  }
  return null;
}

/** The common vocabulary from EventData names (Security, Sysmon, PowerShell, WFP...). */
function commonFields(n: Normalized, d: Obj, eventId: number | null, provider: string | null): void {
  const target = firstString(d, ['TargetUserName']);
  const subject = firstString(d, ['SubjectUserName']);
  const sysmonUser = firstString(d, ['User', 'AccountName', 'UserName']);
  if (target) {
    put(n, 'user', target);
    put(n, 'user_domain', firstString(d, ['TargetDomainName']));
    if (subject && subject !== target) put(n, 'src_user', subject);
  } else if (sysmonUser) putUser(n, sysmonUser);
  else if (subject) {
    put(n, 'user', subject);
    put(n, 'user_domain', firstString(d, ['SubjectDomainName']));
  }
  for (const k of ['IpAddress', 'SourceAddress', 'SourceIp', 'ClientAddress', 'SourceNetworkAddress']) {
    const ip = asIp(d[k]);
    if (ip) {
      put(n, 'src_ip', ip);
      break;
    }
  }
  for (const k of ['DestAddress', 'DestinationIp', 'DestinationAddress']) {
    const ip = asIp(d[k]);
    if (ip) {
      put(n, 'dst_ip', ip);
      break;
    }
  }
  putDefault(n, 'src_host', firstString(d, ['SourceHostname', 'WorkstationName', 'Workstation']));
  putDefault(n, 'dst_host', firstString(d, ['DestinationHostname']));
  put(n, 'src_port', asPort(d.IpPort ?? d.SourcePort));
  put(n, 'dst_port', asPort(d.DestPort ?? d.DestinationPort));
  const proto = firstString(d, ['Protocol']);
  if (proto) put(n, 'protocol', proto === '6' ? 'tcp' : proto === '17' ? 'udp' : proto.toLowerCase());
  put(n, 'process', firstString(d, ['Image', 'NewProcessName', 'ProcessName', 'Application', 'SourceImage']));
  put(n, 'command_line', firstString(d, ['CommandLine', 'ProcessCommandLine']));
  put(n, 'parent_process', firstString(d, ['ParentImage', 'ParentProcessName']));
  // 4688 names the new process NewProcessId and its creator ProcessId; Sysmon names them ProcessId/ParentProcessId.
  const isNew = d.NewProcessId !== undefined;
  put(n, 'pid', asInt(isNew ? d.NewProcessId : (d.ProcessId ?? d.ProcessID)));
  put(n, 'ppid', asInt(isNew ? d.ProcessId : d.ParentProcessId));
  if (eventId !== null) {
    const isSysmon = provider !== null && provider.toLowerCase().includes('sysmon');
    if (isSysmon) put(n, 'action', SYSMON_ACTIONS[eventId]);
    else {
      const a = SECURITY_ACTIONS[eventId];
      if (a) {
        put(n, 'action', a[0]);
        put(n, 'outcome', a[1]);
      }
    }
  }
}

function finish(event: ParsedEvent, d: Obj, eventId: number | null, provider: string | null): void {
  const n = event.normalized;
  n.event_data = d;
  commonFields(n, d, eventId, provider);
}

/** Normalises a nested `{"Event": {...}}` record. */
export function normalizeNestedWindows(o: Obj, ctx: ParseContext): ParsedEvent {
  const e = o.Event as Obj;
  const sys = e.System as Obj;
  const event = emptyEvent('windows_event');
  const n = event.normalized;
  event.original = o;
  const provider = str(attr(sys.Provider, 'Name')) ?? str(sys.Provider);
  const eventId = asInt(text(sys.EventID));
  put(n, 'event_id', eventId);
  put(n, 'channel', str(sys.Channel));
  put(n, 'provider', provider);
  put(n, 'computer', str(sys.Computer));
  put(n, 'record_id', asInt(text(sys.EventRecordID)));
  put(n, 'level', levelWord(sys.Level));
  put(n, 'task', asInt(text(sys.Task)));
  const time = attr(sys.TimeCreated, 'SystemTime') ?? text(sys.TimeCreated);
  event.timestamp = parseTimestamp(time, ctx.tz);
  event.host = (n.computer as string | undefined) ?? null;
  event.appname = provider;
  const pid = asInt(attr(sys.Execution, 'ProcessID'));
  if (pid !== null) event.procid = pid;
  put(n, 'security_user_id', str(attr(sys.Security, 'UserID')));
  const d: Obj = {};
  collectData(e.EventData, d);
  if (isObj(e.UserData)) {
    for (const v of Object.values(e.UserData)) collectData(v, d);
  }
  const rendered = isObj(e.RenderingInfo) ? str(e.RenderingInfo.Message) : null;
  event.message = rendered ?? (typeof d.Message === 'string' ? d.Message : null);
  finish(event, d, eventId, provider);
  return event;
}

const RE_ACCOUNT_NAME = /Account Name:\s+([^\r\n\t]+)/;

/** Normalises a flat record (OTRF / NXLog / Winlogbeat-like). */
export function normalizeFlatWindows(o: Obj, ctx: ParseContext): ParsedEvent {
  const event = emptyEvent('windows_event');
  const n = event.normalized;
  event.original = o;
  const provider = str(o.SourceName ?? o.Provider_Name ?? o.ProviderName);
  const eventId = asInt(text(o.EventID ?? o.EventId ?? o.event_id));
  put(n, 'event_id', eventId);
  put(n, 'channel', str(o.Channel ?? o.channel));
  put(n, 'provider', provider);
  const computer = str(o.Computer ?? o.Hostname ?? (typeof o.host === 'string' ? o.host : null));
  put(n, 'computer', computer);
  put(n, 'record_id', asInt(o.EventRecordID ?? o.RecordNumber));
  put(n, 'level', levelWord(o.Level));
  put(n, 'task', asInt(o.Task));
  event.timestamp =
    parseTimestamp(o['@timestamp'], ctx.tz) ??
    parseTimestamp(o.TimeCreated, ctx.tz) ??
    parseTimestamp(o.UtcTime, 'UTC') ??
    parseTimestamp(o.EventTime, ctx.tz);
  event.host = computer;
  event.appname = provider;
  const pid = asInt(o.ExecutionProcessID);
  if (pid !== null) event.procid = pid;
  const d: Obj = {};
  for (const k in o) if (!FLAT_SYSTEM.has(k)) d[k] = o[k];
  if (isObj(o.EventData)) {
    delete d.EventData;
    collectData(o.EventData, d);
  }
  event.message = typeof o.Message === 'string' ? o.Message : null;
  if (!d.User && !d.TargetUserName && !d.SubjectUserName && typeof o.AccountName === 'string') {
    putUser(n, typeof o.Domain === 'string' ? `${o.Domain}\\${o.AccountName}` : o.AccountName);
  }
  finish(event, d, eventId, provider);
  // Events whose data is UserData (1102 log cleared, 104) reach the flat form with only the rendered Message.
  if (n.user === undefined && event.message) {
    const m = RE_ACCOUNT_NAME.exec(event.message);
    if (m?.[1] && m[1] !== '-') put(n, 'user', m[1]);
  }
  return event;
}
