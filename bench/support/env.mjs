// Benchmark settings read from the environment, with a clear error for a bad value.

/** A positive number from `name`, or `fallback` when it is unset or empty. */
export function numberEnv(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}

/** A comma list from `name` (entries trimmed, empty ones dropped), or `fallback` when it is unset or empty. */
export function listEnv(name, fallback) {
  const raw = process.env[name];
  return raw ? raw.split(',').map((s) => s.trim()).filter(Boolean) : fallback;
}
