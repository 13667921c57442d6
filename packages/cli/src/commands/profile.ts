/** `sigilo profile`: your display name and avatar, end-to-end encrypted for your contacts and groups (client.md §11.1). */
import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ClientError, MAX_AVATAR_BYTES } from '@sigilo/client-node';
import { UsageError } from '../command.js';
import { printableName } from '../client/format.js';
import { CLIENT_USAGE, clientCommand, connectBestEffort } from '../client/session.js';

function avatarType(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'image/jpeg';
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png';
  if (Buffer.from(bytes.subarray(0, 4)).toString('latin1') === 'RIFF' && Buffer.from(bytes.subarray(8, 12)).toString('latin1') === 'WEBP') return 'image/webp';
  return undefined;
}

export const profile = clientCommand({
  path: ['profile'],
  summary: 'show your display name (what your contacts and groups see)',
  usage: `sigilo profile ${CLIENT_USAGE} [--json]
       sigilo profile set --name NAME [--avatar FILE | --no-avatar]`,
  positionals: true,
  async run(ctx) {
    if (ctx.positionals.length) throw new UsageError(`unknown subcommand '${ctx.positionals[0]}' (did you mean \`sigilo profile set --name NAME\`?)`);
    const client = await ctx.client();
    let p = client.profiles.own();
    // A linked device holds the key but not yet the plaintext: read it from the server.
    if (!p.name && !p.avatar && await connectBestEffort(client)) p = await client.profiles.fetchOwn();
    if (ctx.json) {
      ctx.io.out(`${JSON.stringify({ name: p.name ?? null, avatar: p.avatar ? { type: p.avatarType, bytes: p.avatar.length } : null })}\n`);
    } else if (!p.name && !p.avatar) {
      ctx.io.out('No profile yet. Set your name with: sigilo profile set --name "Your Name"\n');
    } else {
      ctx.io.out(`Name: ${p.name ? printableName(p.name) : '-'}\nAvatar: ${p.avatar ? `${p.avatarType}, ${p.avatar.length} bytes` : '-'}\n`);
    }
    return 0;
  },
});

export const profileSet = clientCommand({
  path: ['profile', 'set'],
  summary: 'set your display name (and avatar), encrypted so only your contacts and groups can read it',
  usage: `sigilo profile set [--name NAME] [--avatar FILE | --no-avatar] ${CLIENT_USAGE} [--json]

  --name NAME    your display name, 1–64 characters
  --avatar FILE  a small JPEG, PNG or WebP picture (at most ${MAX_AVATAR_BYTES / 1024} KiB)
  --no-avatar    remove your avatar

The profile is encrypted with your profile key, which travels only inside your
messages and your contact card: the server stores it but cannot read it. When you
are listed in the member directory (sigilo directory join), the new name is listed too.`,
  options: { name: { type: 'string' }, avatar: { type: 'string' }, 'no-avatar': { type: 'boolean' } },
  async run(ctx) {
    const name = ctx.values.name as string | undefined;
    const avatarPath = ctx.values.avatar as string | undefined;
    const noAvatar = ctx.values['no-avatar'] === true;
    if (name === undefined && avatarPath === undefined && !noAvatar) throw new UsageError('give --name NAME, --avatar FILE or --no-avatar');
    if (avatarPath !== undefined && noAvatar) throw new UsageError('give either --avatar FILE or --no-avatar');
    let avatar: { bytes: Uint8Array; type: string } | null | undefined = noAvatar ? null : undefined;
    if (avatarPath !== undefined) {
      const path = resolve(ctx.io.cwd, avatarPath);
      let size: number;
      try { size = statSync(path).size; } catch { throw new ClientError('INVALID_INPUT', `cannot read ${avatarPath}; check the path`); }
      if (size > MAX_AVATAR_BYTES) throw new ClientError('INVALID_INPUT', `the avatar is ${size} bytes; at most ${MAX_AVATAR_BYTES} (make the picture smaller)`);
      const bytes = new Uint8Array(readFileSync(path));
      const type = avatarType(bytes);
      if (!type) throw new ClientError('INVALID_INPUT', 'the avatar must be a JPEG, PNG or WebP picture');
      avatar = { bytes, type };
    }
    const client = await ctx.client();
    await client.connect({ reconnect: false });
    const p = await client.profiles.set({ ...(name !== undefined ? { name } : {}), ...(avatar !== undefined ? { avatar } : {}) });
    await client.usernames.republishIfListed();
    if (ctx.json) ctx.io.out(`${JSON.stringify({ name: p.name ?? null, avatar: p.avatar ? { type: p.avatarType, bytes: p.avatar.length } : null, listed: client.usernames.listed })}\n`);
    else ctx.io.out(`Profile saved${p.name ? `: ${printableName(p.name)}` : ''}. Your contacts see it with your next message.\n`);
    return 0;
  },
});
