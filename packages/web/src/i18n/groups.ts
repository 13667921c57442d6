/** Strings of groups: creating one, its conversation, its info screen (members, roles, rename, leave). */
import type { Catalogue } from './catalogue.js';

const en = {
  newGroup: 'New group',
  groupName: 'Group name',
  pickMembers: 'Members',
  noContactsForGroup: 'Add contacts first: a group is made of your contacts.',
  createGroup: 'Create group',
  groupInfo: 'Group info',
  membersCount: (n: number) => `${n} member${n === 1 ? '' : 's'}`,
  admin: 'Admin',
  member: 'Member',
  rename: 'Rename',
  addMembers: 'Add members',
  add: 'Add',
  removeMember: (name: string) => `Remove ${name}`,
  promoteMember: (name: string) => `Make ${name} admin`,
  demoteMember: (name: string) => `Dismiss ${name} as admin`,
  leaveGroup: 'Leave group',
  confirmLeave: 'Leave this group? You will no longer receive its messages.',
  confirmRemove: (name: string) => `Remove ${name} from the group?`,
  leftGroup: 'You are no longer a member of this group.',
  privateLabel: 'private',
  youObject: 'you',
  /** `mine`: this person made the change ("You …"; Spanish conjugates it). */
  groupChange: (kind: string, _mine: boolean, by: string, who: string, name: string) => kind === 'created' ? `${by} created the group` : kind === 'added' ? `${by} added ${who}`
    : kind === 'removed' ? `${by} removed ${who}` : kind === 'left' ? `${by} left` : kind === 'promoted' ? `${by} made ${who} admin`
    : kind === 'demoted' ? `${by} dismissed ${who} as admin` : kind === 'renamed' ? `${by} renamed the group to “${name}”` : `${by} undid a change`,
  privateOption: (name: string) => `Only ${name} (private)`,
  privateTo: (name: string) => `Private to ${name}`,
  privateFrom: (name: string) => `Private from ${name}`,
  sendPrivately: 'Send to',
  everyone: 'Everyone',
  privateHint: (name: string) => `Only ${name} will see this message.`,
};
type Dict = typeof en;

const es: Dict = {
  newGroup: 'Nuevo grupo',
  groupName: 'Nombre del grupo',
  pickMembers: 'Miembros',
  noContactsForGroup: 'Añade contactos primero: un grupo se forma con tus contactos.',
  createGroup: 'Crear grupo',
  groupInfo: 'Info. del grupo',
  membersCount: (n) => `${n} miembro${n === 1 ? '' : 's'}`,
  admin: 'Admin',
  member: 'Miembro',
  rename: 'Cambiar nombre',
  addMembers: 'Añadir miembros',
  add: 'Añadir',
  removeMember: (name) => `Expulsar a ${name}`,
  promoteMember: (name) => `Hacer admin a ${name}`,
  demoteMember: (name) => `Quitar admin a ${name}`,
  leaveGroup: 'Salir del grupo',
  confirmLeave: '¿Salir de este grupo? Dejarás de recibir sus mensajes.',
  confirmRemove: (name) => `¿Expulsar a ${name} del grupo?`,
  leftGroup: 'Ya no eres miembro de este grupo.',
  privateLabel: 'privado',
  youObject: 'ti',
  groupChange: (kind, mine, by, who, name) => mine
    ? (kind === 'created' ? 'Creaste el grupo' : kind === 'added' ? `Añadiste a ${who}` : kind === 'removed' ? `Expulsaste a ${who}` : kind === 'left' ? 'Saliste del grupo'
      : kind === 'promoted' ? `Hiciste admin a ${who}` : kind === 'demoted' ? `Quitaste admin a ${who}` : kind === 'renamed' ? `Cambiaste el nombre a «${name}»` : 'Deshiciste un cambio')
    : kind === 'created' ? `${by} creó el grupo` : kind === 'added' ? `${by} añadió a ${who}`
    : kind === 'removed' ? `${by} expulsó a ${who}` : kind === 'left' ? `${by} salió del grupo` : kind === 'promoted' ? `${by} hizo admin a ${who}`
    : kind === 'demoted' ? `${by} quitó admin a ${who}` : kind === 'renamed' ? `${by} cambió el nombre a «${name}»` : `${by} deshizo un cambio`,
  privateOption: (name) => `Solo ${name} (privado)`,
  privateTo: (name) => `Privado para ${name}`,
  privateFrom: (name) => `Privado de ${name}`,
  sendPrivately: 'Enviar a',
  everyone: 'Todos',
  privateHint: (name) => `Solo ${name} verá este mensaje.`,
};

const pt: Dict = {
  newGroup: 'Novo grupo',
  groupName: 'Nome do grupo',
  pickMembers: 'Membros',
  noContactsForGroup: 'Adicione contatos primeiro: um grupo é formado pelos seus contatos.',
  createGroup: 'Criar grupo',
  groupInfo: 'Dados do grupo',
  membersCount: (n) => `${n} membro${n === 1 ? '' : 's'}`,
  admin: 'Admin',
  member: 'Membro',
  rename: 'Renomear',
  addMembers: 'Adicionar membros',
  add: 'Adicionar',
  removeMember: (name) => `Remover ${name}`,
  promoteMember: (name) => `Tornar ${name} admin`,
  demoteMember: (name) => `Remover ${name} como admin`,
  leaveGroup: 'Sair do grupo',
  confirmLeave: 'Sair deste grupo? Você deixará de receber as mensagens dele.',
  confirmRemove: (name) => `Remover ${name} do grupo?`,
  leftGroup: 'Você não é mais membro deste grupo.',
  privateLabel: 'privada',
  youObject: 'você',
  groupChange: (kind, _mine, by, who, name) => kind === 'created' ? `${by} criou o grupo` : kind === 'added' ? `${by} adicionou ${who}`
    : kind === 'removed' ? `${by} removeu ${who}` : kind === 'left' ? `${by} saiu` : kind === 'promoted' ? `${by} tornou ${who} admin`
    : kind === 'demoted' ? `${by} removeu ${who} como admin` : kind === 'renamed' ? `${by} mudou o nome para “${name}”` : `${by} desfez uma alteração`,
  privateOption: (name) => `Só ${name} (privada)`,
  privateTo: (name) => `Privada para ${name}`,
  privateFrom: (name) => `Privada de ${name}`,
  sendPrivately: 'Enviar para',
  everyone: 'Todos',
  privateHint: (name) => `Só ${name} verá esta mensagem.`,
};

export const groups: Catalogue<Dict> = { en, es, pt };
