/** The app's languages: Spanish, Portuguese and English, chosen from the browser's language. */
import { signal } from '@preact/signals';

export type Lang = 'es' | 'pt' | 'en';
export const LANGS: readonly Lang[] = ['es', 'pt', 'en'];

const en = {
  title: 'Sigilo',
  tagline: 'Private messages for your organisation',
  connect: 'Connect',
  connectHint: 'Open the invite link your organisation sent you, or scan its QR code.',
  unlock: 'Unlock',
  passphrase: 'Passphrase',
  comingSoon: 'This screen is a placeholder: registration and chats arrive with the next version.',
  settings: 'Settings',
  language: 'Language',
  appVersion: 'App version',
  releaseKey: 'Release key fingerprint',
  manifest: 'Release manifest (SHA-256)',
  fingerprintHint: 'Compare the fingerprint with the one your organisation publishes. If they differ, do not use this app and tell your administrator.',
  notVerified: 'not yet verified (first visit)',
  updateAvailable: (v: string) => `Version ${v} is available, signed by your organisation's release key.`,
  updateNow: 'Update now',
  later: 'Later',
  warningTitle: 'Security warning',
  assetChanged: (path: string) => `The server is delivering a changed file (${path}) that your organisation's signed release does not contain. The app keeps using the verified copy.`,
  updateUnsigned: 'The server offered an update that is not signed by your organisation\'s release key. It was refused.',
  updateAssetBad: (v: string, path: string) => `The update to version ${v} was refused: its file ${path} does not match the signed release.`,
  rollback: (v: string) => `The server offered an older version (${v}) than the one you have. It was refused.`,
  expected: 'expected',
  got: 'got',
  tellAdmin: 'Tell your administrator. Do not type your passphrase if you are unsure.',
  offline: 'You are offline; the app works from its verified copy.',
  workerReplaced: 'The app\'s service worker was replaced without a confirmed update signed by your organisation. Close this tab and tell your administrator.',
  noWorker: 'This browser cannot keep a verified copy of the app (no service worker). Use a current browser.',
};
type Dict = typeof en;

const es: Dict = {
  title: 'Sigilo',
  tagline: 'Mensajes privados para tu organización',
  connect: 'Conectar',
  connectHint: 'Abre el enlace de invitación que te envió tu organización o escanea su código QR.',
  unlock: 'Desbloquear',
  passphrase: 'Frase de paso',
  comingSoon: 'Esta pantalla es provisional: el registro y los chats llegan con la próxima versión.',
  settings: 'Ajustes',
  language: 'Idioma',
  appVersion: 'Versión de la app',
  releaseKey: 'Huella de la clave de publicación',
  manifest: 'Manifiesto de la versión (SHA-256)',
  fingerprintHint: 'Compara la huella con la que publica tu organización. Si no coinciden, no uses esta app y avisa a tu administrador.',
  notVerified: 'aún sin verificar (primera visita)',
  updateAvailable: (v) => `Hay una nueva versión ${v}, firmada con la clave de publicación de tu organización.`,
  updateNow: 'Actualizar ahora',
  later: 'Más tarde',
  warningTitle: 'Aviso de seguridad',
  assetChanged: (path) => `El servidor entrega un archivo modificado (${path}) que no figura en la versión firmada por tu organización. La app sigue usando la copia verificada.`,
  updateUnsigned: 'El servidor ofreció una actualización que no está firmada con la clave de publicación de tu organización. Se rechazó.',
  updateAssetBad: (v, path) => `Se rechazó la actualización a la versión ${v}: su archivo ${path} no coincide con la versión firmada.`,
  rollback: (v) => `El servidor ofreció una versión más antigua (${v}) que la que tienes. Se rechazó.`,
  expected: 'esperado',
  got: 'recibido',
  tellAdmin: 'Avisa a tu administrador. No escribas tu frase de paso si tienes dudas.',
  offline: 'Sin conexión; la app funciona con su copia verificada.',
  workerReplaced: 'El service worker de la app fue reemplazado sin una actualización confirmada y firmada por tu organización. Cierra esta pestaña y avisa a tu administrador.',
  noWorker: 'Este navegador no puede guardar una copia verificada de la app (sin service worker). Usa un navegador actual.',
};

const pt: Dict = {
  title: 'Sigilo',
  tagline: 'Mensagens privadas para a sua organização',
  connect: 'Conectar',
  connectHint: 'Abra o link de convite que a sua organização enviou ou leia o código QR.',
  unlock: 'Desbloquear',
  passphrase: 'Frase-senha',
  comingSoon: 'Esta tela é provisória: o cadastro e as conversas chegam na próxima versão.',
  settings: 'Configurações',
  language: 'Idioma',
  appVersion: 'Versão do app',
  releaseKey: 'Impressão digital da chave de publicação',
  manifest: 'Manifesto da versão (SHA-256)',
  fingerprintHint: 'Compare a impressão digital com a que a sua organização publica. Se forem diferentes, não use este app e avise o administrador.',
  notVerified: 'ainda não verificado (primeira visita)',
  updateAvailable: (v) => `A versão ${v} está disponível, assinada com a chave de publicação da sua organização.`,
  updateNow: 'Atualizar agora',
  later: 'Depois',
  warningTitle: 'Aviso de segurança',
  assetChanged: (path) => `O servidor está entregando um arquivo alterado (${path}) que não consta da versão assinada pela sua organização. O app continua usando a cópia verificada.`,
  updateUnsigned: 'O servidor ofereceu uma atualização que não está assinada com a chave de publicação da sua organização. Ela foi recusada.',
  updateAssetBad: (v, path) => `A atualização para a versão ${v} foi recusada: o arquivo ${path} não corresponde à versão assinada.`,
  rollback: (v) => `O servidor ofereceu uma versão mais antiga (${v}) do que a sua. Ela foi recusada.`,
  expected: 'esperado',
  got: 'recebido',
  tellAdmin: 'Avise o administrador. Não digite a sua frase-senha se tiver dúvidas.',
  offline: 'Sem conexão; o app funciona com a cópia verificada.',
  workerReplaced: 'O service worker do app foi substituído sem uma atualização confirmada e assinada pela sua organização. Feche esta aba e avise o administrador.',
  noWorker: 'Este navegador não consegue guardar uma cópia verificada do app (sem service worker). Use um navegador atual.',
};

const DICTS: Record<Lang, Dict> = { en, es, pt };

/** The first of the browser's languages we have, else English. */
export function pickLang(languages: readonly string[]): Lang {
  for (const l of languages) {
    const base = l.toLowerCase().split('-')[0] as Lang;
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

const saved = (() => { try { return localStorage.getItem('sigilo.lang'); } catch { return null; } })();
export const lang = signal<Lang>(LANGS.includes(saved as Lang) ? saved as Lang : pickLang(navigator.languages ?? [navigator.language]));
export const t = (): Dict => DICTS[lang.value];
export function setLang(l: Lang): void {
  lang.value = l;
  try { localStorage.setItem('sigilo.lang', l); } catch { /* private mode */ }
  document.documentElement.lang = l;
}
