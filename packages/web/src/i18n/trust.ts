/** Strings of the contact screen: safety number, its QR code, scanning the other's, verified and changed states. */
import type { Catalogue } from './catalogue.js';

const en = {
  safetyNumberHint: (name: string) => `Compare these numbers with ${name}'s screen, in person or on a call you trust, or scan each other's code. If they match, your conversation is end-to-end encrypted with the right person.`,
  safetyNumberUnknown: 'The safety number appears once you have exchanged a first message.',
  qrLabel: (name: string) => `QR code of your safety number with ${name}`,
  scanCode: 'Scan their code',
  stopScan: 'Stop scanning',
  scanHint: 'Point the camera at the code on the other phone.',
  noCamera: 'No camera is available. Compare the numbers instead.',
  pasteCode: 'Or paste the code’s text',
  check: 'Check',
  qrFromPicture: 'Read the code from a picture',
  noQrInPicture: 'No QR code was found in this picture.',
  scanContactQr: 'Scan a contact’s QR code',
  markVerified: 'Mark as verified',
  verifiedBadge: 'Verified',
  verifiedOk: (name: string) => `${name} is verified.`,
  codeMismatch: 'This code does not match. It is not this contact’s current safety number: do not mark them verified.',
  keyChanged: 'Safety number changed',
  reviewChange: 'Review',
  viewContact: 'View contact',
};
type Dict = typeof en;

const es: Dict = {
  safetyNumberHint: (name) => `Compara estos números con la pantalla de ${name}, en persona o en una llamada de confianza, o escaneaos el código. Si coinciden, vuestra conversación está cifrada de extremo a extremo con la persona correcta.`,
  safetyNumberUnknown: 'El número de seguridad aparece cuando os hayáis intercambiado un primer mensaje.',
  qrLabel: (name) => `Código QR de tu número de seguridad con ${name}`,
  scanCode: 'Escanear su código',
  stopScan: 'Dejar de escanear',
  scanHint: 'Apunta la cámara al código del otro teléfono.',
  noCamera: 'No hay cámara disponible. Compara los números.',
  pasteCode: 'O pega el texto del código',
  check: 'Comprobar',
  qrFromPicture: 'Leer el código de una imagen',
  noQrInPicture: 'No se encontró ningún código QR en esta imagen.',
  scanContactQr: 'Escanear el QR de un contacto',
  markVerified: 'Marcar como verificado',
  verifiedBadge: 'Verificado',
  verifiedOk: (name) => `${name} está verificado.`,
  codeMismatch: 'Este código no coincide. No es el número de seguridad actual de este contacto: no lo marques como verificado.',
  keyChanged: 'Número de seguridad cambiado',
  reviewChange: 'Revisar',
  viewContact: 'Ver contacto',
};

const pt: Dict = {
  safetyNumberHint: (name) => `Compare estes números com a tela de ${name}, pessoalmente ou numa chamada de confiança, ou escaneiem o código um do outro. Se coincidirem, a conversa está criptografada de ponta a ponta com a pessoa certa.`,
  safetyNumberUnknown: 'O número de segurança aparece depois da troca da primeira mensagem.',
  qrLabel: (name) => `Código QR do seu número de segurança com ${name}`,
  scanCode: 'Escanear o código',
  stopScan: 'Parar de escanear',
  scanHint: 'Aponte a câmera para o código no outro telefone.',
  noCamera: 'Nenhuma câmera disponível. Compare os números.',
  pasteCode: 'Ou cole o texto do código',
  check: 'Verificar',
  qrFromPicture: 'Ler o código de uma imagem',
  noQrInPicture: 'Nenhum código QR foi encontrado nesta imagem.',
  scanContactQr: 'Escanear o QR de um contato',
  markVerified: 'Marcar como verificado',
  verifiedBadge: 'Verificado',
  verifiedOk: (name) => `${name} está verificado.`,
  codeMismatch: 'Este código não confere. Não é o número de segurança atual deste contato: não o marque como verificado.',
  keyChanged: 'Número de segurança alterado',
  reviewChange: 'Revisar',
  viewContact: 'Ver contato',
};

export const trust: Catalogue<Dict> = { en, es, pt };
