import { describe, expect, it } from 'vitest';
import { jsonErrorPosition } from './json.ts';
import { parseOne, parseResult } from './testing.ts';

describe('JSON', () => {
  it('reads the common vocabulary from a flat object', () => {
    const e = parseOne(
      '{"timestamp":"2024-05-01T10:00:00+02:00","host":"web-1","app":"nginx","pid":"812","level":"WARN","message":"slow upstream","src_ip":"198.51.100.4","dst_port":443,"user":"bob"}',
    );
    expect(e).toMatchObject({
      sourceType: 'json',
      host: 'web-1',
      appname: 'nginx',
      procid: 812,
      message: 'slow upstream',
    });
    expect(e.timestamp?.toISOString()).toBe('2024-05-01T08:00:00.000Z');
    expect(e.normalized).toEqual({ src_ip: '198.51.100.4', dst_port: 443, user: 'bob', level: 'warn' });
    expect(e.original).toMatchObject({ app: 'nginx' });
  });

  it('reads ECS-style nesting', () => {
    const e = parseOne(
      '{"@timestamp":"2024-05-01T10:00:00Z","host":{"name":"db-2"},"source":{"ip":"10.9.8.7","port":5555},"user":{"name":"DOM\\\\carol"},"event":{"action":"user-login","outcome":"failure"}}',
    );
    expect(e.host).toBe('db-2');
    expect(e.normalized).toEqual({
      src_ip: '10.9.8.7',
      src_port: 5555,
      user: 'carol',
      user_domain: 'DOM',
      action: 'user-login',
      outcome: 'failure',
    });
  });

  it('maps AWS CloudTrail records', () => {
    const e = parseOne(
      '{"eventVersion":"1.05","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::123456789123:user/pedro","userName":"pedro"},"eventTime":"2020-09-14T00:44:23Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"1.2.3.4","userAgent":"aws-cli/1.18","errorCode":"AccessDenied"}',
    );
    expect(e).toMatchObject({
      sourceType: 'json',
      appname: 's3.amazonaws.com',
      message: 's3.amazonaws.com GetObject',
    });
    expect(e.normalized).toEqual({
      cloud_provider: 'aws',
      action: 'GetObject',
      outcome: 'failure',
      reason: 'AccessDenied',
      src_ip: '1.2.3.4',
      user: 'pedro',
      region: 'us-east-1',
      user_agent: 'aws-cli/1.18',
    });
  });

  it('accepts any JSON value, rejects invalid JSON with the position', () => {
    expect(parseOne('[1,2]', 'json')).toMatchObject({
      sourceType: 'json',
      original: [1, 2],
      message: '[1,2]',
    });
    expect(parseResult('{"a": }')).toEqual({
      ok: false,
      reason: "invalid_json: at position 6 (line 1, column 7): Unexpected token '}'",
    });
    expect(parseResult('{\n  "a": 1\n  "b": 2\n}', 'json')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^invalid_json: at position 13 \(line 3, column 3\): /),
    });
    expect(parseResult('{"a":1', 'json')).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^invalid_json: at position 6 \(line 1, column 7\): /),
    });
    // An indented brace line of a text file is text, not a broken record.
    expect(parseOne('    {').sourceType).toBe('text');
  });
});

describe('jsonErrorPosition', () => {
  it.each([
    ['{"a":1}', -1],
    ['{"a":1} x', 8],
    ['{"a":[1,2,]}', 10],
    ['{"a":"b\\x"}', 8],
    ['{"a":tru}', 5],
    ['"abc', 4],
  ])('%s -> %i', (text, pos) => {
    expect(jsonErrorPosition(text)).toBe(pos);
  });
});
