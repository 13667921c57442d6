/**
 * Bundled for Chromium by app.test.ts and run on the app's origin while the app is locked: plays a
 * server that swapped a contact's identity key, by changing the key this device accepted for them
 * (in the app's own encrypted store, through the same IndexedDbStore the Worker uses). The contact's
 * next message then carries a key that differs from the accepted one, as after a key substitution.
 */
import { IndexedDbStore } from '@sigilo/client-web';

(globalThis as unknown as { sigiloTamper: unknown }).sigiloTamper = async (passphrase: string, profileName: string): Promise<boolean> => {
  const store = await IndexedDbStore.open({ name: 'sigilo', passphrase });
  try {
    const c = store.listContacts().find((k) => store.getContactProfile(k.accountId)?.name === profileName);
    if (!c?.identityKey) return false;
    const other = crypto.getRandomValues(new Uint8Array(c.identityKey.length));
    store.transaction(() => store.putContact({ ...c, identityKey: other, verified: false }));
    await store.flush();
    return true;
  } finally {
    store.close();
    await store.closed;
  }
};
