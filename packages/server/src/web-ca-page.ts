/** The page at /ca: the organisation's CA certificate with step-by-step install instructions (es/pt/en). */

import { createHash } from 'node:crypto';

type Lang = 'es' | 'pt' | 'en';

/** The page's own style, inline so /ca works before the web app is installed; allowed by its hash in the page's CSP. */
const STYLE = [
  ':root{color-scheme:light dark;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;line-height:1.5}',
  'body{margin:0;background:Canvas;color:CanvasText}',
  'main{max-width:40rem;margin:0 auto;padding:1rem 1.25rem 3rem}',
  'nav{font-size:.9rem;margin-bottom:1rem}',
  'h1{font-size:1.5rem;line-height:1.25;margin:.5rem 0 1rem}',
  'h2{font-size:1.1rem;margin:1.5rem 0 .25rem}',
  'a{color:#1a73e8}',
  '#download{display:inline-block;padding:.75rem 1.25rem;border-radius:.5rem;background:#1a73e8;color:#fff;text-decoration:none;font-weight:600}',
  'dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem .75rem;margin:1.25rem 0}',
  'dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}',
  /* on a phone the labels go above their values, so the fingerprint keeps the width to be compared in few lines */
  '@media (max-width:30rem){dl{grid-template-columns:1fr;gap:0}dd{margin-bottom:.6rem}}',
  'code{font-size:.85rem}',
  'ol{padding-left:1.25rem}li{margin:.25rem 0}',
].join('');

/** The CSP source that admits STYLE and nothing else inline. */
export const CA_PAGE_STYLE_SOURCE = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

interface Text {
  title: string;
  intro: string;
  download: string;
  fingerprint: string;
  check: string;
  validUntil: string;
  steps: [string, string[]][];
  after: string;
}

const TEXT: Record<Lang, Text> = {
  en: {
    title: 'Install your organisation\'s certificate',
    intro: 'This Sigilo server uses a certificate issued by your organisation\'s own certificate authority (CA). Install the CA once on each phone and computer; the browser then trusts this server and the Sigilo app opens without warnings. This CA can only vouch for this server\'s names.',
    download: 'Download the CA certificate (sigilo-ca.crt)',
    fingerprint: 'SHA-256 fingerprint',
    check: 'Before you install it, compare this fingerprint with the one your administrator gave you in person or on paper. If they differ, do not install it.',
    validUntil: 'Valid until',
    steps: [
      ['Android', ['Download sigilo-ca.crt with the link above.', 'Open Settings → Security (or Security & privacy) → More security settings → Encryption & credentials → Install a certificate → CA certificate.', 'Tap "Install anyway", choose sigilo-ca.crt from Downloads and confirm with your screen lock.', 'Close and reopen the browser, then open this server\'s address.']],
      ['Windows', ['Download sigilo-ca.crt and double-click it.', 'Click "Install Certificate…", choose "Current User", then "Place all certificates in the following store" → Browse → "Trusted Root Certification Authorities".', 'Before you confirm the security warning, check the fingerprint: Windows shows only a SHA-1 "Thumbprint", so open PowerShell and run certutil -hashfile $HOME\\Downloads\\sigilo-ca.crt SHA256; it must print the SHA-256 fingerprint above (colons, spaces and capitals aside).', 'Restart the browser (Chrome, Edge; Firefox: see below).']],
      ['macOS', ['Download sigilo-ca.crt and double-click it: Keychain Access opens it in the "login" keychain.', 'Double-click the certificate "Sigilo CA", open "Trust" and set "When using this certificate" to "Always Trust".', 'Close the window and enter your password. Restart the browser.']],
      ['iPhone / iPad', ['Open this page in Safari and download sigilo-ca.crt; allow the configuration profile.', 'Settings → General → VPN & Device Management → install the downloaded profile.', 'Settings → General → About → Certificate Trust Settings → turn on full trust for "Sigilo CA".']],
      ['Linux (Chrome, Chromium)', ['Download sigilo-ca.crt.', 'In Chrome: Settings → Privacy and security → Security → Manage certificates → Authorities → Import, choose sigilo-ca.crt and tick "Trust this certificate for identifying websites".', 'Or in a terminal: certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "Sigilo CA" -i sigilo-ca.crt']],
      ['Firefox (any system)', ['Settings → Privacy & Security → Certificates → View Certificates → Authorities → Import.', 'Choose sigilo-ca.crt and tick "Trust this CA to identify websites".']],
    ],
    after: 'Then open the Sigilo app:',
  },
  es: {
    title: 'Instala el certificado de tu organización',
    intro: 'Este servidor Sigilo usa un certificado emitido por la autoridad de certificación (CA) propia de tu organización. Instala la CA una vez en cada teléfono y ordenador; así el navegador confía en este servidor y la app de Sigilo se abre sin avisos. Esta CA solo puede avalar los nombres de este servidor.',
    download: 'Descargar el certificado de la CA (sigilo-ca.crt)',
    fingerprint: 'Huella SHA-256',
    check: 'Antes de instalarlo, compara esta huella con la que te dio tu administrador en persona o en papel. Si no coinciden, no lo instales.',
    validUntil: 'Válido hasta',
    steps: [
      ['Android', ['Descarga sigilo-ca.crt con el enlace de arriba.', 'Abre Ajustes → Seguridad (o Seguridad y privacidad) → Más ajustes de seguridad → Cifrado y credenciales → Instalar un certificado → Certificado de CA.', 'Toca "Instalar de todas formas", elige sigilo-ca.crt en Descargas y confirma con el bloqueo de pantalla.', 'Cierra y vuelve a abrir el navegador y abre la dirección de este servidor.']],
      ['Windows', ['Descarga sigilo-ca.crt y haz doble clic.', 'Pulsa "Instalar certificado…", elige "Usuario actual" y luego "Colocar todos los certificados en el siguiente almacén" → Examinar → "Entidades de certificación raíz de confianza".', 'Antes de aceptar el aviso de seguridad, comprueba la huella: Windows solo muestra una "Huella digital" SHA-1, así que abre PowerShell y ejecuta certutil -hashfile $HOME\\Downloads\\sigilo-ca.crt SHA256; debe mostrar la huella SHA-256 de arriba (sin contar dos puntos, espacios ni mayúsculas).', 'Reinicia el navegador (Chrome, Edge; Firefox: ver abajo).']],
      ['macOS', ['Descarga sigilo-ca.crt y haz doble clic: Acceso a Llaveros lo abre en el llavero "inicio de sesión".', 'Haz doble clic en el certificado "Sigilo CA", abre "Confiar" y elige "Confiar siempre".', 'Cierra la ventana e introduce tu contraseña. Reinicia el navegador.']],
      ['iPhone / iPad', ['Abre esta página en Safari y descarga sigilo-ca.crt; permite el perfil de configuración.', 'Ajustes → General → VPN y gestión de dispositivos → instala el perfil descargado.', 'Ajustes → General → Información → Ajustes de confianza de certificados → activa la confianza total para "Sigilo CA".']],
      ['Linux (Chrome, Chromium)', ['Descarga sigilo-ca.crt.', 'En Chrome: Configuración → Privacidad y seguridad → Seguridad → Gestionar certificados → Entidades → Importar, elige sigilo-ca.crt y marca "Confiar en este certificado para identificar sitios web".', 'O en una terminal: certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "Sigilo CA" -i sigilo-ca.crt']],
      ['Firefox (cualquier sistema)', ['Ajustes → Privacidad y seguridad → Certificados → Ver certificados → Autoridades → Importar.', 'Elige sigilo-ca.crt y marca "Confiar en esta CA para identificar sitios web".']],
    ],
    after: 'Después abre la app de Sigilo:',
  },
  pt: {
    title: 'Instale o certificado da sua organização',
    intro: 'Este servidor Sigilo usa um certificado emitido pela autoridade certificadora (CA) própria da sua organização. Instale a CA uma vez em cada telefone e computador; assim o navegador confia neste servidor e o app Sigilo abre sem avisos. Esta CA só pode garantir os nomes deste servidor.',
    download: 'Baixar o certificado da CA (sigilo-ca.crt)',
    fingerprint: 'Impressão digital SHA-256',
    check: 'Antes de instalar, compare esta impressão digital com a que o administrador lhe entregou pessoalmente ou em papel. Se forem diferentes, não instale.',
    validUntil: 'Válido até',
    steps: [
      ['Android', ['Baixe sigilo-ca.crt pelo link acima.', 'Abra Configurações → Segurança (ou Segurança e privacidade) → Mais configurações de segurança → Criptografia e credenciais → Instalar um certificado → Certificado CA.', 'Toque em "Instalar assim mesmo", escolha sigilo-ca.crt em Downloads e confirme com o bloqueio de tela.', 'Feche e reabra o navegador e abra o endereço deste servidor.']],
      ['Windows', ['Baixe sigilo-ca.crt e clique duas vezes nele.', 'Clique em "Instalar Certificado…", escolha "Usuário Atual" e depois "Colocar todos os certificados no repositório a seguir" → Procurar → "Autoridades de Certificação Raiz Confiáveis".', 'Antes de aceitar o aviso de segurança, confira a impressão digital: o Windows mostra só uma "Impressão digital" SHA-1, então abra o PowerShell e execute certutil -hashfile $HOME\\Downloads\\sigilo-ca.crt SHA256; deve aparecer a impressão digital SHA-256 acima (sem contar dois-pontos, espaços e maiúsculas).', 'Reinicie o navegador (Chrome, Edge; Firefox: veja abaixo).']],
      ['macOS', ['Baixe sigilo-ca.crt e clique duas vezes: o Acesso às Chaves o abre no chaveiro "início de sessão".', 'Clique duas vezes no certificado "Sigilo CA", abra "Confiança" e escolha "Sempre Confiar".', 'Feche a janela e digite sua senha. Reinicie o navegador.']],
      ['iPhone / iPad', ['Abra esta página no Safari e baixe sigilo-ca.crt; permita o perfil de configuração.', 'Ajustes → Geral → VPN e Gerenciamento de Dispositivos → instale o perfil baixado.', 'Ajustes → Geral → Sobre → Ajustes de Confiança de Certificados → ative a confiança total para "Sigilo CA".']],
      ['Linux (Chrome, Chromium)', ['Baixe sigilo-ca.crt.', 'No Chrome: Configurações → Privacidade e segurança → Segurança → Gerenciar certificados → Autoridades → Importar, escolha sigilo-ca.crt e marque "Confiar neste certificado para identificar websites".', 'Ou num terminal: certutil -d sql:$HOME/.pki/nssdb -A -t "C,," -n "Sigilo CA" -i sigilo-ca.crt']],
      ['Firefox (qualquer sistema)', ['Configurações → Privacidade e Segurança → Certificados → Ver certificados → Autoridades → Importar.', 'Escolha sigilo-ca.crt e marque "Confiar nesta CA para identificar sites".']],
    ],
    after: 'Depois abra o app Sigilo:',
  },
};

export function pickPageLang(query: string | undefined, acceptLanguage: string | undefined): Lang {
  const q = /(?:^|&)lang=(es|pt|en)(?:&|$)/.exec(query ?? '')?.[1] as Lang | undefined;
  if (q) return q;
  for (const part of (acceptLanguage ?? '').split(',')) {
    const base = part.trim().split(/[-;]/)[0]?.toLowerCase();
    if (base === 'es' || base === 'pt' || base === 'en') return base;
  }
  return 'en';
}

export function caPage(o: { subject: string; fingerprint: string; notAfter: string; acceptLanguage: string | undefined; query?: string }): string {
  const lang = pickPageLang(o.query, o.acceptLanguage);
  const t = TEXT[lang];
  const steps = t.steps.map(([os, list]) => `<section><h2>${esc(os)}</h2><ol>${list.map((s) => `<li>${esc(s)}</li>`).join('')}</ol></section>`).join('\n');
  return `<!doctype html>
<html lang="${lang}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(t.title)}</title><link rel="icon" href="/favicon.ico"><style>${STYLE}</style></head>
<body>
<main>
<nav><a href="/ca?lang=es" hreflang="es">Español</a> · <a href="/ca?lang=pt" hreflang="pt">Português</a> · <a href="/ca?lang=en" hreflang="en">English</a></nav>
<h1>${esc(t.title)}</h1>
<p>${esc(t.intro)}</p>
<p><a id="download" href="/ca.crt" download="sigilo-ca.crt">${esc(t.download)}</a></p>
<dl>
<dt>${esc(t.fingerprint)}</dt><dd><code id="fingerprint">${esc(o.fingerprint).replaceAll(':', ':<wbr>')}</code></dd>
<dt>CA</dt><dd>${esc(o.subject)}</dd>
<dt>${esc(t.validUntil)}</dt><dd>${esc(o.notAfter)}</dd>
</dl>
<p><strong>${esc(t.check)}</strong></p>
${steps}
<p>${esc(t.after)} <a href="/">/</a></p>
</main>
</body>
</html>
`;
}
