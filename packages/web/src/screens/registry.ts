/**
 * Every screen, by route. To add a screen: write screens/<Name>.tsx and add one line here.
 * `ONBOARDING` screens show before the store is unlocked; `SCREENS` after, in the main pane
 * (beside the chat list on a desktop, instead of it on a phone).
 */
import type { FunctionComponent } from 'preact';
import { lazyScreen } from './lazy.js';

// Each screen is its own chunk, loaded when first shown (the first load carries only the chat list).
const AddContact = lazyScreen(() => import('./AddContact.js').then((m) => m.AddContact));
const ChatRoute = lazyScreen(() => import('./ChatRoute.js').then((m) => m.ChatRoute));
const ContactInfo = lazyScreen(() => import('./ContactInfo.js').then((m) => m.ContactInfo));
const GroupInfo = lazyScreen(() => import('./GroupInfo.js').then((m) => m.GroupInfo));
const NewGroup = lazyScreen(() => import('./NewGroup.js').then((m) => m.NewGroup));
const Link = lazyScreen(() => import('./Link.js').then((m) => m.Link));
const MyCard = lazyScreen(() => import('./MyCard.js').then((m) => m.MyCard));
const NewChat = lazyScreen(() => import('./NewChat.js').then((m) => m.NewChat));
const Register = lazyScreen(() => import('./Register.js').then((m) => m.Register));
const Settings = lazyScreen(() => import('./Settings.js').then((m) => m.Settings));
const ChatSettings = lazyScreen(() => import('./ChatSettings.js').then((m) => m.ChatSettings));
const Devices = lazyScreen(() => import('./Devices.js').then((m) => m.Devices));
const ServerPolicy = lazyScreen(() => import('./ServerPolicy.js').then((m) => m.ServerPolicy));

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
  { pattern: 'settings/server', component: ServerPolicy },
];
