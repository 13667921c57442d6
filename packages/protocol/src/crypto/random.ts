/**
 * Randomness is a parameter, never taken from a global: production passes
 * `systemRandom` (from the provider modules), tests pass a seeded generator.
 */
export type Random = (length: number) => Uint8Array;
