/** A concept's strings: English is the reference; es and pt must have the same keys (the type checks it). */
export type Catalogue<T> = { en: T; es: T; pt: T };
