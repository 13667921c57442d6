/** Attachments (spec/attachments.md): the Cobblestone-256 stream cipher profile and size padding. */
export * from './cipher.js';
export * from './padding.js';
