import { PostgresStorage } from '../../src/storage/postgres.js';
import { POSTGRES_URL, dropSchema, postgresUnavailable, randomSchema, requireService } from '../support/services.js';
import { runStorageConformance } from './conformance.js';

const unavailable = await postgresUnavailable();
requireService(unavailable, 'PostgreSQL');

runStorageConformance('postgres', async () => {
  const schema = randomSchema('sigilo_conformance');
  const storage = new PostgresStorage({ connectionString: POSTGRES_URL, schema });
  await storage.ready();
  return { storage, cleanup: () => dropSchema(schema) };
}, { skip: unavailable });
