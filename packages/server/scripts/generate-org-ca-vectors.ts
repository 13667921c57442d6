/**
 * Writes spec/vectors/org-ca.json (spec/trust.md §2): a CA certificate, an identity certificate
 * and a CRL made from fixed keys, serials and times, so that another implementation can check its
 * encoder byte for byte and its verifier on known-good objects. Ed25519 signatures are
 * deterministic (RFC 8032), so the same inputs give the same bytes.
 *
 *   npx tsx packages/server/scripts/generate-org-ca-vectors.ts
 */
import { writeFileSync } from 'node:fs';
import { orgCaVectors } from '../test/support/org-ca-vectors.js';

const v = await orgCaVectors();
writeFileSync(new URL('../../../spec/vectors/org-ca.json', import.meta.url), `${JSON.stringify(v, null, 2)}\n`);
console.log('wrote spec/vectors/org-ca.json');
