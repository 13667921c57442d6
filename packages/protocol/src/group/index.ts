/** Groups (spec/groups.md): sender keys, the membership log, multi-recipient sealed sender. */
export * from './sender-key.js';
export * from './membership.js';
export * from './multi-recipient.js';
