/** Strings of the push choice in Settings › Notifications (spec/web.md §5), in each language. */
import type { Catalogue } from './catalogue.js';

const en = {
  pushTitle: 'When Sigilo is closed',
  pushOn: 'Notify me when Sigilo is closed',
  pushOnHint: 'An empty wake-up goes through your browser\'s push service: no sender, chat or text. The notice only says you may have new messages, even for a muted chat, as the wake-up cannot say which.',
  pushOff: 'Only while Sigilo is open (no push service)',
  pushOffHint: 'Nothing goes through a push service. Messages arrive only while Sigilo is open in a tab: keep it open to receive them.',
  pushActive: 'On: this browser wakes Sigilo when messages wait.',
  pushWorking: 'Setting up…',
  pushServerOff: 'This server sends no push notifications (it may have no way out to a push service). Messages arrive only while Sigilo is open.',
  pushUnreachable: 'The browser could not reach its push service (a closed network can block it). Messages arrive only while Sigilo is open.',
  pushRefused: 'This server does not accept this browser\'s push service. Messages arrive only while Sigilo is open.',
  pushDenied: 'The browser blocks notifications for this site, so Sigilo cannot tell you anything while it is closed. To change that, allow notifications in this site\'s settings (the icon left of the address), then choose this again. Until then messages arrive only while it is open.',
  pushUnsupported: 'This browser cannot receive push notifications. Messages arrive only while Sigilo is open.',
  pushOffline: 'The server could not be reached to set this up. Try again once connected.',
};

const es: typeof en = {
  pushTitle: 'Con Sigilo cerrado',
  pushOn: 'Avisarme cuando Sigilo esté cerrado',
  pushOnHint: 'Un aviso vacío pasa por el servicio push de tu navegador: sin remitente, chat ni texto. La notificación solo dice que puede que tengas mensajes nuevos, también de un chat silenciado, porque el aviso no puede decir de cuál.',
  pushOff: 'Solo con Sigilo abierto (sin servicio push)',
  pushOffHint: 'Nada pasa por un servicio push. Los mensajes llegan solo mientras Sigilo está abierto en una pestaña: déjalo abierto para recibirlos.',
  pushActive: 'Activado: este navegador despierta a Sigilo cuando hay mensajes esperando.',
  pushWorking: 'Configurando…',
  pushServerOff: 'Este servidor no envía notificaciones push (puede que no tenga salida a un servicio push). Los mensajes llegan solo con Sigilo abierto.',
  pushUnreachable: 'El navegador no pudo llegar a su servicio push (una red cerrada puede impedirlo). Los mensajes llegan solo con Sigilo abierto.',
  pushRefused: 'Este servidor no acepta el servicio push de este navegador. Los mensajes llegan solo con Sigilo abierto.',
  pushDenied: 'El navegador bloquea las notificaciones de este sitio, así que Sigilo no puede avisarte estando cerrado. Para cambiarlo, permite las notificaciones en la configuración de este sitio (el icono a la izquierda de la dirección) y vuelve a elegir esta opción. Hasta entonces, los mensajes llegan solo con Sigilo abierto.',
  pushUnsupported: 'Este navegador no puede recibir notificaciones push. Los mensajes llegan solo con Sigilo abierto.',
  pushOffline: 'No se pudo llegar al servidor para configurarlo. Inténtalo de nuevo con conexión.',
};

const pt: typeof en = {
  pushTitle: 'Com o Sigilo fechado',
  pushOn: 'Avisar quando o Sigilo estiver fechado',
  pushOnHint: 'Um aviso vazio passa pelo serviço push do seu navegador: sem remetente, conversa ou texto. A notificação só diz que você pode ter mensagens novas, mesmo de uma conversa silenciada, pois o aviso não pode dizer de qual.',
  pushOff: 'Só com o Sigilo aberto (sem serviço push)',
  pushOffHint: 'Nada passa por um serviço push. As mensagens só chegam enquanto o Sigilo está aberto numa aba: deixe-o aberto para recebê-las.',
  pushActive: 'Ativado: este navegador acorda o Sigilo quando há mensagens esperando.',
  pushWorking: 'Configurando…',
  pushServerOff: 'Este servidor não envia notificações push (pode não ter saída para um serviço push). As mensagens só chegam com o Sigilo aberto.',
  pushUnreachable: 'O navegador não conseguiu alcançar o serviço push dele (uma rede fechada pode impedir). As mensagens só chegam com o Sigilo aberto.',
  pushRefused: 'Este servidor não aceita o serviço push deste navegador. As mensagens só chegam com o Sigilo aberto.',
  pushDenied: 'O navegador bloqueia as notificações deste site, então o Sigilo não pode avisar você quando estiver fechado. Para mudar isso, permita as notificações nas configurações deste site (o ícone à esquerda do endereço) e escolha esta opção de novo. Até lá, as mensagens só chegam com o Sigilo aberto.',
  pushUnsupported: 'Este navegador não pode receber notificações push. As mensagens só chegam com o Sigilo aberto.',
  pushOffline: 'Não foi possível alcançar o servidor para configurar isso. Tente de novo quando estiver conectado.',
};

export const push: Catalogue<typeof en> = { en, es, pt };
