import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDuration, resolveConfig } from '../src/config.js';
import { tempDir } from './support/server.js';

describe('configuration', () => {
  const dir = tempDir('config');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has documented defaults', () => {
    const c = resolveConfig({ env: {}, cwd: dir });
    expect(c).toMatchObject({ host: '0.0.0.0', port: 8443, dataDir: join(dir, 'data'), logLevel: 'info' });
    expect(c.limits.maxDevicesPerAccount).toBe(5);
    expect(c.retention).toMatchObject({ undeliveredMs: 30 * 86_400_000, lastSeen: 'day' });
    expect(c.storage.synchronous).toBe('full');
  });

  it('reads the config file, then environment, then flags', () => {
    const data = join(dir, 'd1');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'sigilo.json'), JSON.stringify({ port: 9000, limits: { maxDevicesPerAccount: 3, maxMessageBytes: '64KiB' }, retention: { undelivered: '14d', lastSeen: 'off' } }));
    const fromFile = resolveConfig({ env: {}, cwd: dir, flags: { dataDir: data } });
    expect(fromFile.port).toBe(9000);
    expect(fromFile.limits).toMatchObject({ maxDevicesPerAccount: 3, maxMessageBytes: 65536 });
    expect(fromFile.retention).toMatchObject({ undeliveredMs: 14 * 86_400_000, lastSeen: 'off' });
    const fromEnv = resolveConfig({ env: { SIGILO_PORT: '9001', SIGILO_MAX_DEVICES: '4' }, cwd: dir, flags: { dataDir: data } });
    expect(fromEnv).toMatchObject({ port: 9001, limits: { maxDevicesPerAccount: 4 } });
    const fromFlags = resolveConfig({ env: { SIGILO_PORT: '9001' }, cwd: dir, flags: { dataDir: data, port: '9002' } });
    expect(fromFlags.port).toBe(9002);
  });

  it('rejects bad values naming the source, the setting and what is accepted', () => {
    expect(() => resolveConfig({ env: { SIGILO_PORT: 'eighty' }, cwd: dir })).toThrow(/environment variable SIGILO_PORT: port must be an integer from 0 to 65535 \(got "eighty"\)/);
    expect(() => resolveConfig({ env: {}, cwd: dir, flags: { 'retention.undelivered': '3 weeks' } })).toThrow(/retention.undelivered must be a duration/);
    expect(() => resolveConfig({ env: {}, cwd: dir, flags: { 'limits.maxDevicesPerAccount': '0' } })).toThrow(/from 1 to 100/);
    expect(() => resolveConfig({ env: {}, cwd: dir, flags: { 'tls.cert': 'a.pem' } })).toThrow(/tls.cert and tls.key go together/);
    expect(() => resolveConfig({ env: {}, cwd: dir, flags: { nonsense: 1 } })).toThrow(/unknown setting 'nonsense'/);
    expect(() => resolveConfig({ env: { SIGILO_CONFIG: join(dir, 'missing.json') }, cwd: dir })).toThrow(/does not exist/);
    try {
      resolveConfig({ env: {}, cwd: dir, flags: { 'limits.maxDevicesPerAccount': '0' } });
    } catch (e) {
      expect((e as { code: string }).code).toBe('CONFIG_INVALID');
    }
  });

  it('rejects unknown keys and malformed JSON in the config file', () => {
    const f1 = join(dir, 'bad-key.json');
    writeFileSync(f1, JSON.stringify({ limits: { maxDevice: 3 } }));
    expect(() => resolveConfig({ env: {}, cwd: dir, configFile: f1 })).toThrow(/bad-key.json: unknown setting 'limits.maxDevice'/);
    const f2 = join(dir, 'bad-json.json');
    writeFileSync(f2, '{ port: 1 ');
    expect(() => resolveConfig({ env: {}, cwd: dir, configFile: f2 })).toThrow(/bad-json.json is not valid JSON/);
    const f3 = join(dir, 'bad-type.json');
    writeFileSync(f3, JSON.stringify({ port: [1] }));
    expect(() => resolveConfig({ env: {}, cwd: dir, configFile: f3 })).toThrow(/port must be an integer/);
  });

  it('parses durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('30d')).toBe(2_592_000_000);
    expect(parseDuration('soon')).toBeUndefined();
  });
});
