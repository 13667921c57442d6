/** Every `sigilo` subcommand. Add a file under commands/ and list it here. */
import type { Command } from '../command.js';
import { adminAccounts } from './admin-accounts.js';
import { adminAudit } from './admin-audit.js';
import { adminInvite } from './admin-invite.js';
import { adminRemoveAccount } from './admin-remove-account.js';
import { adminRevokeDevice } from './admin-revoke-device.js';
import { serverStart } from './server-start.js';

export const COMMANDS: readonly Command[] = [
  serverStart,
  adminInvite,
  adminAccounts,
  adminRevokeDevice,
  adminRemoveAccount,
  adminAudit,
];
