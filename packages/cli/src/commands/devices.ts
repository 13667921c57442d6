/** `sigilo devices`: the devices of this account, as the server knows them. */
import { CLIENT_USAGE, clientCommand } from '../client/session.js';

const day = (d: number) => (d > 0 ? new Date(d * 86_400_000).toISOString().slice(0, 10) : '-');

export const devices = clientCommand({
  path: ['devices'],
  summary: 'list the devices of your account',
  usage: `sigilo devices ${CLIENT_USAGE} [--json]

Remove a lost device with your administrator (sigilo admin revoke-device).`,
  async run(ctx) {
    const client = await ctx.client();
    await client.connect({ reconnect: false });
    const list = await client.listDevices();
    const me = client.deviceId;
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify(list.map((d) => ({ deviceId: d.deviceId, created: day(d.createdDay), lastSeen: day(d.lastSeenDay), current: d.deviceId === me })))}\n`);
      return 0;
    }
    ctx.io.out('DEVICE  CREATED     LAST SEEN\n');
    for (const d of list) ctx.io.out(`${String(d.deviceId).padEnd(6)}  ${day(d.createdDay).padEnd(10)}  ${day(d.lastSeenDay).padEnd(10)}${d.deviceId === me ? '  (this device)' : ''}\n`);
    return 0;
  },
});
