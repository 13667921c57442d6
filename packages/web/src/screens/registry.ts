/**
 * Every screen, by route. To add a screen: write screens/<Name>.tsx and add one line here.
 * `ONBOARDING` screens show before the store is unlocked; `SCREENS` after, in the main pane
 * (beside the chat list on a desktop, instead of it on a phone).
 */
import type { FunctionComponent } from 'preact';
import { AddContact } from './AddContact.js';
import { ChatRoute } from './ChatRoute.js';
import { ContactInfo } from './ContactInfo.js';
import { GroupInfo } from './GroupInfo.js';
import { NewGroup } from './NewGroup.js';
import { Link } from './Link.js';
import { MyCard } from './MyCard.js';
import { NewChat } from './NewChat.js';
import { Register } from './Register.js';
import { Settings } from './Settings.js';
import { ChatSettings } from './ChatSettings.js';
import { Devices } from './Devices.js';

export interface ScreenDef {
  /** The route after `#/`, with `:param` segments ("chat/:id"). */
  readonly pattern: string;
  readonly component: FunctionComponent<{ params: Record<string, string> }>;
}

export const ONBOARDING: readonly ScreenDef[] = [
  { pattern: 'register', component: Register },
  { pattern: 'link', component: Link },
];

export const SCREENS: readonly ScreenDef[] = [
  { pattern: 'chat/:id', component: ChatRoute },
  { pattern: 'new-group', component: NewGroup },
  { pattern: 'group/:id', component: GroupInfo },
  { pattern: 'contact/:id', component: ContactInfo },
  { pattern: 'new', component: NewChat },
  { pattern: 'add-contact', component: AddContact },
  { pattern: 'me', component: MyCard },
  { pattern: 'settings', component: Settings },
  { pattern: 'chat/:id/settings', component: ChatSettings },
  { pattern: 'settings/devices', component: Devices },
];
