/** The Worker's method table (worker-methods/): one file per concept, merged into one table; a name defined twice is refused. */
import { describe, expect, it } from 'vitest';
import { HostError, methodTable, type HostContext } from '../src/worker-methods/index.js';

const closed: HostContext = {
  client: undefined,
  store: undefined,
  need: () => { throw new HostError('NOT_OPEN', 'open the store first'); },
  setOpen: () => undefined,
  post: () => undefined,
};

describe('worker method table', () => {
  it('holds the methods of every file, and they refuse to run before the store is open', async () => {
    const table = methodTable(closed);
    for (const name of ['open', 'init', 'register', 'connect', 'whoami', 'startLink', 'waitLink', 'approveLink', 'close',
      'conversations', 'listMessages', 'sendText', 'markRead', 'typing', 'deleteForEveryone', 'deleteForMe',
      'addContact', 'addContactCard', 'listContacts', 'safetyNumber', 'acceptIdentity']) {
      expect(typeof table[name], name).toBe('function');
    }
    expect(Object.getPrototypeOf(table)).toBe(null);
    await expect(Promise.resolve().then(() => table.conversations!())).rejects.toMatchObject({ code: 'NOT_OPEN' });
  });

  it('refuses a method defined by two files', () => {
    const a = () => ({ ping: () => 1 });
    const b = () => ({ ping: () => 2 });
    expect(() => methodTable(closed, [a, b])).toThrow(/"ping" is defined twice/);
  });
});
