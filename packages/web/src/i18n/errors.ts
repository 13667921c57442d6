/** Errors a person understands (issue 13 point 11): what happened and what to do next. */
import type { Catalogue } from './catalogue.js';

const en = {
  errConnecting: 'Connecting…',
  errOffline: (s: number) => `Cannot reach the server. Retrying in ${s} s…`,
  errOfflineNow: 'Cannot reach the server. Retrying…',
  errCertHint: 'If this lasts, check your Wi-Fi or mobile data. If the browser warned about the certificate, install your organisation\'s certificate (see the server\'s /ca page).',
  errReconnecting: 'Reconnecting…',
  errBadPassphrase: 'Wrong passphrase. Try again (check Caps Lock).',
  errInUse: 'Sigilo is open in another tab: use that tab, or close it and reload this one.',
  errEvicted: 'The browser deleted this device\'s data (low storage, or site data cleared). Link this device again or restore a backup; messages kept only here are lost.',
  errInvite: 'This invite code is not valid or was already used. Ask your administrator for a new one.',
  errUnsupported: 'This browser lacks what Sigilo needs (private window or an old browser). Use a current browser in a normal window.',
  errGeneric: (m: string) => `Something went wrong: ${m}`,
  errIdentityChanged: (name: string) => `${name}'s safety number changed. They may have reinstalled Sigilo or got a new phone — or someone may be intercepting. Compare the safety number with them before you continue. Sending is blocked until you accept it.`,
  errAcceptIdentity: 'I compared it: accept the new safety number',
  errSendBlocked: 'Sending is blocked until you accept the new safety number.',
  errNotPersisted: 'This browser may delete Sigilo\'s data when space runs low. To keep it: install the app (browser menu ⋮ → Install app, or Add to Home screen) and open Sigilo from its icon; or allow notifications for this site. Keep a backup either way.',
  errDismiss: 'Dismiss',
  errVersion: 'The server needs a newer version of this app. Reload the page to get it; if a security warning appears, tell your administrator.',
  errSendFailed: 'Not sent. It will be retried when the connection is back.',
  errInvalidCard: 'This contact card has a typo. Copy it again.',
  errReplaced: 'This device connected from another tab or window; this one stopped. Close it and use the other.',
};
type Dict = typeof en;

const es: Dict = {
  errConnecting: 'Conectando…',
  errOffline: (s) => `No se puede contactar con el servidor. Reintentando en ${s} s…`,
  errOfflineNow: 'No se puede contactar con el servidor. Reintentando…',
  errCertHint: 'Si continúa, revisa el wifi o los datos móviles. Si el navegador avisó sobre el certificado, instala el certificado de tu organización (página /ca del servidor).',
  errReconnecting: 'Reconectando…',
  errBadPassphrase: 'Frase de paso incorrecta. Inténtalo de nuevo (revisa Bloq Mayús).',
  errInUse: 'Sigilo está abierto en otra pestaña: usa esa pestaña, o ciérrala y recarga esta.',
  errEvicted: 'El navegador borró los datos de este dispositivo (poco espacio o datos del sitio borrados). Vincula de nuevo este dispositivo o restaura una copia; los mensajes guardados solo aquí se perdieron.',
  errInvite: 'Este código de invitación no es válido o ya se usó. Pide uno nuevo a tu administrador.',
  errUnsupported: 'A este navegador le falta lo que Sigilo necesita (ventana privada o navegador antiguo). Usa un navegador actual en una ventana normal.',
  errGeneric: (m) => `Algo salió mal: ${m}`,
  errIdentityChanged: (name) => `El número de seguridad de ${name} cambió. Quizá reinstaló Sigilo o tiene un teléfono nuevo, o alguien podría estar interceptando. Compara el número de seguridad con esa persona antes de seguir. El envío está bloqueado hasta que lo aceptes.`,
  errAcceptIdentity: 'Lo comparé: aceptar el nuevo número de seguridad',
  errSendBlocked: 'El envío está bloqueado hasta que aceptes el nuevo número de seguridad.',
  errNotPersisted: 'Este navegador puede borrar los datos de Sigilo si falta espacio. Para conservarlos: instala la app (menú del navegador ⋮ → Instalar app, o Añadir a pantalla de inicio) y abre Sigilo desde su icono; o permite las notificaciones para este sitio. Guarda una copia de seguridad en todo caso.',
  errDismiss: 'Cerrar',
  errVersion: 'El servidor necesita una versión más nueva de esta app. Recarga la página para obtenerla; si aparece un aviso de seguridad, avisa a tu administrador.',
  errSendFailed: 'No enviado. Se reintentará cuando vuelva la conexión.',
  errInvalidCard: 'Esta tarjeta de contacto tiene un error. Cópiala de nuevo.',
  errReplaced: 'Este dispositivo se conectó desde otra pestaña o ventana; esta se detuvo. Ciérrala y usa la otra.',
};

const pt: Dict = {
  errConnecting: 'Conectando…',
  errOffline: (s) => `Não foi possível contatar o servidor. Tentando de novo em ${s} s…`,
  errOfflineNow: 'Não foi possível contatar o servidor. Tentando de novo…',
  errCertHint: 'Se continuar, verifique o Wi-Fi ou os dados móveis. Se o navegador avisou sobre o certificado, instale o certificado da sua organização (página /ca do servidor).',
  errReconnecting: 'Reconectando…',
  errBadPassphrase: 'Frase-senha incorreta. Tente de novo (verifique o Caps Lock).',
  errInUse: 'O Sigilo está aberto em outra aba: use aquela aba, ou feche-a e recarregue esta.',
  errEvicted: 'O navegador apagou os dados deste dispositivo (pouco espaço ou dados do site apagados). Vincule este dispositivo de novo ou restaure um backup; as mensagens guardadas só aqui foram perdidas.',
  errInvite: 'Este código de convite não é válido ou já foi usado. Peça um novo ao administrador.',
  errUnsupported: 'Falta a este navegador o que o Sigilo precisa (janela anônima ou navegador antigo). Use um navegador atual em uma janela normal.',
  errGeneric: (m) => `Algo deu errado: ${m}`,
  errIdentityChanged: (name) => `O número de segurança de ${name} mudou. Talvez a pessoa tenha reinstalado o Sigilo ou trocado de celular — ou alguém pode estar interceptando. Compare o número de segurança com ela antes de continuar. O envio fica bloqueado até você aceitá-lo.`,
  errAcceptIdentity: 'Comparei: aceitar o novo número de segurança',
  errSendBlocked: 'O envio está bloqueado até você aceitar o novo número de segurança.',
  errNotPersisted: 'Este navegador pode apagar os dados do Sigilo quando faltar espaço. Para mantê-los: instale o app (menu do navegador ⋮ → Instalar app, ou Adicionar à tela inicial) e abra o Sigilo pelo ícone; ou permita as notificações para este site. Mantenha um backup de qualquer forma.',
  errDismiss: 'Fechar',
  errVersion: 'O servidor precisa de uma versão mais nova deste app. Recarregue a página para obtê-la; se aparecer um aviso de segurança, avise o administrador.',
  errSendFailed: 'Não enviada. Será reenviada quando a conexão voltar.',
  errInvalidCard: 'Este cartão de contato tem um erro. Copie-o de novo.',
  errReplaced: 'Este dispositivo se conectou a partir de outra aba ou janela; esta parou. Feche-a e use a outra.',
};

export const errors: Catalogue<Dict> = { en, es, pt };
