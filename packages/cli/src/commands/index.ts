/** Every `sigilo` subcommand. Add a file under commands/ and list it here. */
import type { Command } from '../command.js';
import { adminAccounts } from './admin-accounts.js';
import { adminAudit } from './admin-audit.js';
import { adminExportAccount } from './admin-export-account.js';
import { adminLabel } from './admin-label.js';
import { adminInvite } from './admin-invite.js';
import { adminRemoveAccount } from './admin-remove-account.js';
import { adminRevokeDevice } from './admin-revoke-device.js';
import { adminTlsCa } from './admin-tls-ca.js';
import { adminCaCommands } from './admin-ca.js';
import { adminCaRequestCommands } from './admin-ca-requests.js';
import { caRequest } from './ca-request.js';
import { serverStart } from './server-start.js';
import { chat } from './chat.js';
import { contacts, contactsAdd } from './contacts.js';
import { deleteHistory } from './delete-history.js';
import { groupCommands } from './group.js';
import { devices, devicesRemove, devicesRename } from './devices.js';
import { inbox } from './inbox.js';
import { init } from './init.js';
import { link } from './link.js';
import { mute } from './mute.js';
import { disappear } from './disappear.js';
import { register } from './register.js';
import { send } from './send.js';
import { sendFile } from './send-file.js';
import { download } from './download.js';
import { verify } from './verify.js';
import { exportReceipts, receipts, verifyReceipt } from './receipts.js';
import { whoami } from './whoami.js';
import { backup } from './backup.js';
import { restore } from './restore.js';
import { profile, profileSet } from './profile.js';
import { username, usernameDelete, usernameSet } from './username.js';
import { directory, directoryJoin, directoryLeave } from './directory.js';
import { witness } from './witness.js';

export const COMMANDS: readonly Command[] = [
  serverStart,
  adminInvite,
  adminAccounts,
  adminRevokeDevice,
  adminRemoveAccount,
  adminLabel,
  adminAudit,
  adminExportAccount,
  adminTlsCa,
  ...adminCaCommands,
  ...adminCaRequestCommands,
  init,
  register,
  whoami,
  caRequest,
  link,
  contacts,
  contactsAdd,
  send,
  sendFile,
  download,
  inbox,
  chat,
  disappear,
  verify,
  receipts,
  exportReceipts,
  verifyReceipt,
  devices,
  devicesRemove,
  devicesRename,
  deleteHistory,
  mute,
  backup,
  restore,
  ...groupCommands,
  profile,
  profileSet,
  username,
  usernameSet,
  usernameDelete,
  directory,
  directoryJoin,
  directoryLeave,
  witness,
];
