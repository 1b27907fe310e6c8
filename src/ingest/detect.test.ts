import { describe, expect, it } from 'vitest';
import { detectFormat } from './detect.ts';

describe('detectFormat', () => {
  it.each([
    ['{"a":1}', 'json'],
    ['  {"a":1}', 'indented_json'],
    ['[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok', 'apache_error'],
    ['[1,2,3]', 'json'],
    ['[INFO] something happened', 'text'],
    ['<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - msg', 'rfc5424'],
    ['<34>Oct 11 22:14:15 mymachine su: msg', 'rfc3164'],
    ['Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186', 'rfc3164'],
    ['type=USER_ACCT msg=audit(1642723741.072:375): pid=10125', 'auditd'],
    ['node=web1 type=SYSCALL msg=audit(1642723741.072:375): arch=c000003e', 'auditd'],
    ['type=nothing here', 'text'],
    ['CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1', 'cef'],
    ['<one line to give the program name>', 'text'],
    ['LICENSE OF LOGHUB', 'text'],
    ['', 'text'],
  ])('%s -> %s', (record, format) => {
    expect(detectFormat(record)).toBe(format);
  });
});
