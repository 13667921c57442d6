/** `sigilo devices`: the devices of this account, with their names; `devices remove N` unlinks one; `devices rename` names one. */
import { normaliseDeviceName } from '@sigilo/client-node';
import { UsageError } from '../command.js';
import { confirm } from '../client/confirm.js';
import { CLIENT_USAGE, clientCommand } from '../client/session.js';

const day = (d: number) => (d > 0 ? new Date(d * 86_400_000).toISOString().slice(0, 10) : '-');

export const devices = clientCommand({
  path: ['devices'],
  summary: 'list the devices of your account, with their names and the day each was last seen',
  usage: `sigilo devices ${CLIENT_USAGE} [--json]

Names are end-to-end encrypted: only your own devices can read them.
Unlink a lost device from your primary device: sigilo devices remove N.`,
  async run(ctx) {
    const client = await ctx.client();
    await client.connect({ reconnect: false });
    const list = await client.listDevices();
    const me = client.deviceId;
    const primary = Math.min(...list.map((d) => d.deviceId));
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify(list.map((d) => ({
        deviceId: d.deviceId, name: d.name ?? null, created: day(d.createdDay), lastSeen: day(d.lastSeenDay), current: d.deviceId === me, primary: d.deviceId === primary,
      })))}\n`);
      return 0;
    }
    const width = Math.max(4, ...list.map((d) => (d.name ?? '-').length));
    ctx.io.out(`DEVICE  ${'NAME'.padEnd(width)}  CREATED     LAST SEEN\n`);
    for (const d of list) {
      const notes = [d.deviceId === primary ? 'primary' : '', d.deviceId === me ? 'this device' : ''].filter(Boolean).join(', ');
      ctx.io.out(`${String(d.deviceId).padEnd(6)}  ${(d.name ?? '-').padEnd(width)}  ${day(d.createdDay).padEnd(10)}  ${day(d.lastSeenDay).padEnd(10)}${notes ? `  (${notes})` : ''}\n`);
    }
    return 0;
  },
});

export const devicesRemove = clientCommand({
  path: ['devices', 'remove'],
  summary: 'unlink a device from your account (from your primary device): it is disconnected and its queued messages deleted',
  usage: `sigilo devices remove DEVICE [--yes] ${CLIENT_USAGE} [--json]

DEVICE is the number \`sigilo devices\` shows. Asks for confirmation on a terminal;
without one, pass --yes. The removed device is told, in words, that it was removed.`,
  options: { yes: { type: 'boolean' } },
  positionals: true,
  async run(ctx) {
    const [arg, ...extra] = ctx.positionals;
    if (!arg || !/^\d+$/.test(arg) || extra.length) throw new UsageError('give the number of one device (sigilo devices lists them)');
    const deviceId = Number(arg);
    const client = await ctx.client();
    if (deviceId === client.deviceId) throw new UsageError('this is the device you are using; remove it from your primary device (or ask your administrator)');
    await client.connect({ reconnect: false });
    const target = (await client.listDevices()).find((d) => d.deviceId === deviceId);
    if (!target) {
      ctx.io.err(`sigilo devices remove: your account has no device ${deviceId} (sigilo devices lists them)\n`);
      return 1;
    }
    const what = `device ${deviceId}${target.name ? ` (${target.name})` : ''}, last seen ${day(target.lastSeenDay)}`;
    if (ctx.values.yes !== true) {
      if (!process.stdin.isTTY) {
        ctx.io.err(`sigilo devices remove: this would remove ${what}; without a terminal to confirm, pass --yes\n`);
        return 1;
      }
      if (!(await confirm(`Remove ${what} from your account? It is disconnected and its queued messages are deleted. [y/N] `))) {
        ctx.io.err('Nothing removed.\n');
        return 1;
      }
    }
    await client.removeDevice(deviceId);
    if (ctx.json) ctx.io.out(`${JSON.stringify({ removed: true, deviceId, name: target.name ?? null })}\n`);
    else ctx.io.out(`Removed ${what}. It was disconnected and its queued messages deleted.\n`);
    return 0;
  },
});

export const devicesRename = clientCommand({
  path: ['devices', 'rename'],
  summary: 'name a device of your account (default: this one); the name is encrypted for your devices only',
  usage: `sigilo devices rename [DEVICE] NAME ${CLIENT_USAGE} [--json]`,
  positionals: true,
  async run(ctx) {
    const args = ctx.positionals;
    if (args.length < 1 || args.length > 2 || (args.length === 2 && !/^\d+$/.test(args[0]!))) throw new UsageError('give a NAME, or a device number and a NAME');
    const name = normaliseDeviceName(args[args.length - 1]!);
    const client = await ctx.client();
    const deviceId = args.length === 2 ? Number(args[0]) : client.deviceId!;
    await client.connect({ reconnect: false });
    await client.setDeviceName(name, deviceId);
    if (ctx.json) ctx.io.out(`${JSON.stringify({ deviceId, name })}\n`);
    else ctx.io.out(`Device ${deviceId} is now called "${name}".\n`);
    return 0;
  },
});
