/**
 * The normalised vocabulary: what every parser may put in `normalized` (LogEventInput.normalized). This is the
 * contract the detection engine's field mappings target (`normalized.<key>`), so a key means the same thing
 * whatever the input format. Keys are snake_case; a key is absent (never null or '') when unknown. The
 * event's time, host, app, pid and message are columns of their own (ParsedEvent), not repeated here.
 *
 * Network
 *   src_ip, dst_ip        string   IPv4/IPv6 address of the source (client, remote peer) / destination
 *   src_port, dst_port    number
 *   src_host, dst_host    string   a host NAME of the source/destination when the record gives a name (e.g.
 *                                  `rhost=host.example.net`, reverse lookups); never an IP (that is *_ip)
 *   protocol              string   lower case (`tcp`, `udp`, or the record's own name)
 *
 * Identity
 *   user                  string   the account the event is about: the target of a logon or authentication,
 *                                  otherwise the acting user (Windows `DOMAIN\name` is split into user and
 *                                  user_domain)
 *   user_domain           string
 *   src_user              string   the acting account when the record names both (CEF suser, Windows Subject*)
 *   uid, auid             number   numeric Unix ids (auditd, PAM); auid 4294967295 (unset) is left out
 *
 * Outcome
 *   action                string   what happened, lower snake_case: `ssh_login`, `ssh_disconnect`,
 *                                  `ssh_connection`, `pam_auth`, `session_open`, `session_close`, `login`,
 *                                  `ftp_connection`, `ftp_login`, `process_start`, `process_end`, `logon`,
 *                                  `logoff`, ...; auditd uses its record type (`user_login`, `syscall`), CEF its
 *                                  `act`, CloudTrail its eventName
 *   outcome               string   `success` | `failure` (absent when unknown)
 *   reason                string   why, lower snake_case: `failed_password`, `invalid_user`, `unknown_user`,
 *                                  `authentication_failure`, `too_many_failures`, `reverse_mapping_failed`,
 *                                  `no_identification`, ...
 *   auth_method           string   `password`, `publickey`, `keyboard-interactive/pam`, `none`, ...
 *   invalid_user          boolean  sshd said the user does not exist
 *   service               string   the PAM service or daemon (`sshd`, `su`, `login`, `gdm`, `ftpd`)
 *   repeat_count          number   syslog `message repeated N times` / PAM `N more authentication failures`
 *
 *   disconnect_code       number   SSH disconnect reason code (`Received disconnect from IP: 11: ...`)
 *   terminal              string   auditd/PAM terminal
 *   operation             string   auditd `op=` (`PAM:authentication`, `PAM:session_open`)
 *   region, user_agent    string   CloudTrail awsRegion / userAgent
 *
 * Process
 *   pid                   number   the process the event is ABOUT (Windows ProcessId / NewProcessId, auditd
 *                                  pid); the emitting process is the `procid` column (syslog PID, Windows
 *                                  System/Execution ProcessID)
 *   process               string   executable path or name (Windows Image/NewProcessName, auditd exe)
 *   process_name          string   short name (auditd comm)
 *   command_line          string   (Windows CommandLine, auditd proctitle / EXECVE arguments)
 *   parent_process        string
 *   ppid                  number
 *
 * Severity
 *   level                 string   the record's own level word, lower case (`notice`, `error`, `err`, `info`);
 *                                  Windows Level 1-5 as `critical`, `error`, `warning`, `info`, `verbose`
 *   facility              string   syslog facility name (`auth`, `authpriv`, `daemon`, `local0`, ...)
 *   module                string   Apache 2.4 module of `[module:level]`
 *
 * Format-specific (kept with their ORIGINAL field names, so Sigma field names map 1:1)
 *   event_id              number   Windows EventID
 *   channel, provider     string   Windows Channel and Provider Name
 *   computer              string   Windows Computer
 *   record_id             number   Windows EventRecordID / RecordNumber
 *   task                  number   Windows System Task
 *   security_user_id      string   Windows System/Security UserID (a SID)
 *   event_data            object   Windows EventData (or UserData's fields), original names: Image,
 *                                  CommandLine, TargetObject, ...; one shape for the nested
 *                                  `Event.System/EventData` form and the flat (NXLog/OTRF) form
 *   audit_type            string   auditd record type (`SYSCALL`, `USER_LOGIN`)
 *   audit_serial          number   auditd event serial (records of one event share it)
 *   msgid                 string   RFC 5424 MSGID (Cisco IOS: the mnemonic of %FAC-SEV-MNEMONIC)
 *   procid_text           string   RFC 5424 PROCID when it is not a number
 *   sd                    object   RFC 5424 structured data: { "id@pen": { "param": "value" } }
 *   cef_version, cef_vendor, cef_product, cef_device_version, cef_signature_id, cef_name, cef_severity
 *                                  CEF header (cef_severity as in the record: a number 0-10 or a word)
 *   fields                object   the format's own key=value pairs with their original names: auditd (hex
 *                                  fields decoded, the nested msg='...' merged), CEF extension (unescaped),
 *                                  CSV rows are in `original` instead
 *   cloud_provider        string   `aws` for CloudTrail records
 */

import { isIP } from 'node:net';

export type Normalized = Record<string, unknown>;

/** Sets `key` when `value` is a non-empty string, a finite number, a boolean or an object; never null or ''. */
export function put(n: Normalized, key: string, value: unknown): void {
  if (value === undefined || value === null) return;
  if (typeof value === 'string') {
    if (value.length === 0 || value === '-') return;
  } else if (typeof value === 'number' && !Number.isFinite(value)) return;
  n[key] = value;
}

/** Sets `key` only when it is not already set. */
export function putDefault(n: Normalized, key: string, value: unknown): void {
  if (n[key] === undefined) put(n, key, value);
}

/** The address without brackets or a zone id when it is an IP address, else null. */
export function asIp(value: unknown): string | null {
  if (typeof value !== 'string' || value.length < 2 || value.length > 64) return null;
  let v = value;
  if (v.charCodeAt(0) === 91 && v.charCodeAt(v.length - 1) === 93) v = v.slice(1, -1);
  if (v.startsWith('::ffff:') && isIP(v.slice(7)) === 4) v = v.slice(7);
  return isIP(v) !== 0 ? v : null;
}

/** Sets `<prefix>_ip` when `value` is an IP address, else `<prefix>_host` when it is a plausible host name. */
export function putAddress(n: Normalized, prefix: 'src' | 'dst', value: unknown, overwrite = false): void {
  if (typeof value !== 'string' || value.length === 0 || value === '-' || value === '?') return;
  const ip = asIp(value);
  const key = ip ? `${prefix}_ip` : `${prefix}_host`;
  if (!overwrite && n[key] !== undefined) return;
  if (ip) n[key] = ip;
  else if (HOSTNAME.test(value)) n[key] = value;
}

const HOSTNAME = /^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$/;

/** An integer from a number or a decimal or `0x` hex string, else null. */
export function asInt(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) ? value : null;
  if (typeof value !== 'string' || value.length === 0 || value.length > 20) return null;
  if (value.startsWith('0x') || value.startsWith('0X')) {
    const n = Number.parseInt(value.slice(2), 16);
    return Number.isNaN(n) || !/^[0-9a-fA-F]+$/.test(value.slice(2)) ? null : n;
  }
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if ((c < 48 || c > 57) && !(i === 0 && c === 45)) return null;
  }
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

/** A port number (1-65535) or null. */
export function asPort(value: unknown): number | null {
  const n = asInt(value);
  return n !== null && n > 0 && n < 65536 ? n : null;
}

/** Splits `DOMAIN\user` (and `user@domain`, kept whole) into user and user_domain. */
export function putUser(n: Normalized, value: unknown, key = 'user'): void {
  if (typeof value !== 'string' || value.length === 0 || value === '-' || value === '?') return;
  const bs = value.indexOf('\\');
  if (bs > 0 && key === 'user') {
    put(n, 'user', value.slice(bs + 1));
    put(n, 'user_domain', value.slice(0, bs));
  } else put(n, key, value);
}

export const SYSLOG_FACILITIES = [
  'kern',
  'user',
  'mail',
  'daemon',
  'auth',
  'syslog',
  'lpr',
  'news',
  'uucp',
  'cron',
  'authpriv',
  'ftp',
  'ntp',
  'security',
  'console',
  'solaris-cron',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
] as const;
export const SYSLOG_SEVERITIES = [
  'emerg',
  'alert',
  'crit',
  'err',
  'warning',
  'notice',
  'info',
  'debug',
] as const;

/** Sets facility and level from a syslog PRI value. */
export function putPri(n: Normalized, pri: number): void {
  put(n, 'facility', SYSLOG_FACILITIES[pri >> 3]);
  put(n, 'level', SYSLOG_SEVERITIES[pri & 7]);
}

// ---------------------------------------------------------------------------------------------------------
// Message semantics: authentication and session events of sshd, PAM, su, login, ftpd and friends.

const IPV4_SRC = String.raw`(\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+)`;
const RE_SSH_AUTH = new RegExp(
  String.raw`^(Failed|Accepted|Postponed) (\S+) for (invalid user )?(.*?) from ${IPV4_SRC} port (\d+)(?: (ssh\d?))?`,
);
const RE_SSH_INVALID = new RegExp(String.raw`^[Ii]nvalid user (.*?) from ${IPV4_SRC}(?: port (\d+))?`);
const RE_SSH_INVALID_PREAUTH = /^input_userauth_request: invalid user (.*?) \[preauth\]/;
const RE_SSH_REVERSE = new RegExp(
  String.raw`^reverse mapping checking getaddrinfo for (\S+) \[${IPV4_SRC}\] failed`,
);
const RE_SSH_ADDR_PORT = new RegExp(String.raw`${IPV4_SRC}(?: port (\d+))?`);
const RE_SSH_TOO_MANY =
  /^Disconnecting(?: authenticating user)?:? Too many authentication failures(?: for (?:invalid user )?(\S+))?/;
const RE_REPEATED = /^message repeated (\d+) times: \[ ?(.*?) ?\]$/;
const RE_PAM_PREFIX = /^pam_unix\(([^:)]+)(?::([a-z]+))?\): /;
const RE_PAM_MORE = /^PAM (\d+) more authentication failures?;(.*)$/;
const RE_SESSION = /^session (opened|closed) for user (\S+)/;
const RE_FTP_CONN = new RegExp(String.raw`^connection from ${IPV4_SRC} \(([^)]*)\)`);
const RE_FTP_ANON = new RegExp(String.raw`^ANONYMOUS FTP LOGIN FROM ${IPV4_SRC}`);
const RE_AUTH_FAILED_FROM = new RegExp(String.raw`^Authentication failed from ${IPV4_SRC}`);
const RE_ROOT_LOGIN = /^ROOT LOGIN ON (\S+)(?: FROM (\S+))?/;
const RE_KV = /(?:^|[ ;])(rhost|user|ruser|logname|uid|euid|tty)=(\S*)/g;

/** `rhost=`, `user=` ... pairs of a PAM message. */
function pamPairs(n: Normalized, text: string): void {
  RE_KV.lastIndex = 0;
  for (let m = RE_KV.exec(text); m; m = RE_KV.exec(text)) {
    const key = m[1];
    const value = m[2] ?? '';
    if (value === '') continue;
    if (key === 'rhost') putAddress(n, 'src', value);
    else if (key === 'user') put(n, 'user', value);
    else if (key === 'uid') put(n, 'uid', asInt(value));
  }
}

/** Service name from a syslog tag such as `sshd`, `sshd(pam_unix)`, `su(pam_unix)`. */
function serviceOf(appname: string | null): string | null {
  if (!appname) return null;
  const p = appname.indexOf('(');
  return p > 0 ? appname.slice(0, p) : appname;
}

function sshAddr(n: Normalized, text: string): void {
  const m = RE_SSH_ADDR_PORT.exec(text);
  if (m) {
    putAddress(n, 'src', m[1]);
    put(n, 'src_port', asPort(m[2]));
  }
}

const NO_IDENT = 'Did not receive identification string from ';

/** Derives action/outcome/reason/user/src_* from an sshd message. Returns true when it recognised one. */
function sshd(n: Normalized, msg: string): boolean {
  const c = msg.charCodeAt(0);
  if (c === 70 || c === 65 || c === 80) {
    // Failed / Accepted / Postponed
    const m = RE_SSH_AUTH.exec(msg);
    if (m) {
      const verb = m[1];
      const method = m[2] ?? '';
      n.action = 'ssh_login';
      if (verb !== 'Postponed') n.outcome = verb === 'Accepted' ? 'success' : 'failure';
      if (verb === 'Failed') n.reason = method === 'password' ? 'failed_password' : `failed_${method}`;
      put(n, 'auth_method', method);
      if (m[3]) n.invalid_user = true;
      put(n, 'user', m[4]);
      putAddress(n, 'src', m[5]);
      put(n, 'src_port', asPort(m[6]));
      put(n, 'protocol', m[7]);
      return true;
    }
  }
  if (c === 73 || c === 105) {
    const m = RE_SSH_INVALID.exec(msg);
    if (m) {
      n.action = 'ssh_login';
      n.outcome = 'failure';
      n.reason = 'invalid_user';
      n.invalid_user = true;
      put(n, 'user', m[1]);
      putAddress(n, 'src', m[2]);
      put(n, 'src_port', asPort(m[3]));
      return true;
    }
    const p = RE_SSH_INVALID_PREAUTH.exec(msg);
    if (p) {
      n.action = 'ssh_login';
      n.outcome = 'failure';
      n.reason = 'invalid_user';
      n.invalid_user = true;
      put(n, 'user', p[1]);
      return true;
    }
  }
  if (msg.startsWith('reverse mapping checking')) {
    const m = RE_SSH_REVERSE.exec(msg);
    if (m) {
      n.action = 'ssh_connection';
      n.reason = 'reverse_mapping_failed';
      put(n, 'src_host', m[1]);
      putAddress(n, 'src', m[2]);
      return true;
    }
  }
  let text = msg;
  if (text.startsWith('error: ')) text = text.slice(7);
  if (text.startsWith('Received disconnect from ') || text.startsWith('Disconnected from ')) {
    n.action = 'ssh_disconnect';
    const rest = text.slice(text.indexOf('from ') + 5);
    const user = /^(?:invalid |authenticating )?user (\S+) /.exec(rest);
    if (user) put(n, 'user', user[1]);
    sshAddr(n, user ? rest.slice(user[0].length) : rest);
    const code = /: (\d+): /.exec(rest);
    if (code) put(n, 'disconnect_code', Number(code[1]));
    return true;
  }
  if (text.startsWith('Connection closed by ') || text.startsWith('Connection reset by ')) {
    n.action = 'ssh_disconnect';
    let rest = text.slice(text.indexOf(' by ') + 4);
    const user = /^(?:invalid |authenticating )?user (\S+) /.exec(rest);
    if (user) {
      put(n, 'user', user[1]);
      rest = rest.slice(user[0].length);
    }
    sshAddr(n, rest);
    return true;
  }
  if (text.startsWith(NO_IDENT)) {
    n.action = 'ssh_connection';
    n.outcome = 'failure';
    n.reason = 'no_identification';
    sshAddr(n, text.slice(NO_IDENT.length));
    return true;
  }
  if (text.startsWith('Disconnecting')) {
    const m = RE_SSH_TOO_MANY.exec(text);
    if (m) {
      n.action = 'ssh_login';
      n.outcome = 'failure';
      n.reason = 'too_many_failures';
      put(n, 'user', m[1]);
      return true;
    }
  }
  if (text.startsWith('Connection from ')) {
    n.action = 'ssh_connection';
    sshAddr(n, text.slice('Connection from '.length));
    return true;
  }
  return false;
}

/** PAM-style messages (`authentication failure; ... rhost= user=`, `check pass; user unknown`, sessions). */
function pam(n: Normalized, msg: string, service: string | null): boolean {
  let text = msg;
  let svc = service;
  const pre = RE_PAM_PREFIX.exec(text);
  if (pre) {
    svc = pre[1] ?? svc;
    text = text.slice(pre[0].length);
  }
  if (text.startsWith('authentication failure;')) {
    n.action = 'pam_auth';
    n.outcome = 'failure';
    n.reason = 'authentication_failure';
    put(n, 'service', svc);
    pamPairs(n, text);
    return true;
  }
  if (text.startsWith('check pass; user unknown')) {
    n.action = 'pam_auth';
    n.outcome = 'failure';
    n.reason = 'unknown_user';
    put(n, 'service', svc);
    return true;
  }
  const more = RE_PAM_MORE.exec(text);
  if (more) {
    n.action = 'pam_auth';
    n.outcome = 'failure';
    n.reason = 'authentication_failure';
    n.repeat_count = Number(more[1]);
    put(n, 'service', svc);
    pamPairs(n, more[2] ?? '');
    return true;
  }
  const session = RE_SESSION.exec(text);
  if (session) {
    n.action = session[1] === 'opened' ? 'session_open' : 'session_close';
    n.outcome = 'success';
    put(n, 'service', svc);
    put(n, 'user', session[2]);
    return true;
  }
  return false;
}

/**
 * Derives the auth vocabulary (action, outcome, reason, user, src_ip...) from a syslog-style message and its
 * app name. Cheap when nothing matches: a few startsWith checks before any regex runs.
 */
export function applyMessageSemantics(n: Normalized, appname: string | null, message: string | null): void {
  if (!message) return;
  let msg = message;
  const service = serviceOf(appname);
  if (msg.startsWith('message repeated ')) {
    const m = RE_REPEATED.exec(msg);
    if (m) {
      n.repeat_count = Number(m[1]);
      msg = m[2] ?? '';
    }
  }
  if (appname === 'sshd' && sshd(n, msg)) return;
  if (pam(n, msg, service)) return;
  if (service === 'ftpd') {
    const m = RE_FTP_CONN.exec(msg);
    if (m) {
      n.action = 'ftp_connection';
      putAddress(n, 'src', m[1]);
      putAddress(n, 'src', m[2]);
      return;
    }
    const a = RE_FTP_ANON.exec(msg);
    if (a) {
      n.action = 'ftp_login';
      n.outcome = 'success';
      n.user = 'anonymous';
      putAddress(n, 'src', a[1]);
      return;
    }
  }
  if (msg.startsWith('Authentication failed from ')) {
    const m = RE_AUTH_FAILED_FROM.exec(msg);
    if (m) {
      n.action = 'login';
      n.outcome = 'failure';
      n.reason = 'authentication_failure';
      put(n, 'service', service);
      putAddress(n, 'src', m[1]);
      return;
    }
  }
  if (msg.startsWith('ROOT LOGIN ON ')) {
    const m = RE_ROOT_LOGIN.exec(msg);
    n.action = 'login';
    n.outcome = 'success';
    n.user = 'root';
    if (m?.[2]) putAddress(n, 'src', m[2]);
    return;
  }
  if (msg.startsWith("Couldn't authenticate user") || msg.startsWith('Kerberos authentication failed')) {
    n.action = 'login';
    n.outcome = 'failure';
    n.reason = 'authentication_failure';
    put(n, 'service', service);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Text heuristics: source address and user of a free-text message.

const RE_IPV4 = /(?<![\d.])(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?!\.?\d)/;
const RE_SRC_HINT =
  /(?:\bfrom |\brhost=|\[client |\bsrc=|\bclient[ =]|\bsrc_ip=|\bSRC=|\bsource[ =:]+)\[?([0-9A-Fa-f:.]{3,45})/;
const RE_USER_HINT =
  /(?:\buser[= ]|\bUser[:=] ?|\bUSER=|\bacct="?|\busername[=:] ?|\blogin=|\bfor user |\bfor (?=[A-Za-z0-9_.@\\$-]{1,64} from ))(?:invalid user )?"?([A-Za-z0-9_.@\\$-]{1,64})/;

/** The first source-like IP of a free text: after `from`, `rhost=`, `[client`, `src=`..., else the first IPv4. */
export function findSourceIp(text: string): string | null {
  const hint = RE_SRC_HINT.exec(text);
  if (hint) {
    const ip = asIp(hint[1]?.replace(/[.:]+$/, ''));
    if (ip) return ip;
  }
  const m = RE_IPV4.exec(text);
  return m ? m[0] : null;
}

const NOT_USERS = new Set(['unknown', 'from', 'by', 'invalid', 'root)', '', '-', '?', 'none']);

/** A user name named in a free text (`user=x`, `for user x`, `Invalid user x`, `User:x`, `acct="x"`...). */
export function findUser(text: string): string | null {
  const m = RE_USER_HINT.exec(text);
  const u = m?.[1];
  if (!u || NOT_USERS.has(u)) return null;
  return u;
}

/** Fills src_ip and user from a free text when no parser set them. */
export function applyTextHeuristics(n: Normalized, text: string): void {
  if (n.src_ip === undefined) put(n, 'src_ip', findSourceIp(text));
  if (n.user === undefined) put(n, 'user', findUser(text));
}
