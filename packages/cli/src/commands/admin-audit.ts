/** `sigilo admin audit`: what the server holds, for an auditor; `--deep` reads every row, file, blob and log line. */
import { resolve } from 'node:path';
import { formatAudit, oldestAge, type AuditSummary, type DeepAuditReport } from '@sigilo/server';
import { parse } from '../args.js';
import type { Command } from '../command.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';

export const adminAudit: Command = {
  path: ['admin', 'audit'],
  summary: 'print what the server stores: rows per table, oldest row, whether sender identities are stored; --deep checks every byte',
  usage: `sigilo admin audit [--data DIR] [--config FILE] [--json]
       sigilo admin audit --deep [--log FILE]... [--data DIR] [--config FILE] [--json]

--deep reads every row of every table, the database files and their write-ahead
log, the attachment store and the given log files; lists every kind of data with
its count and age; and fails (exit code 3) if it finds plaintext, a sealed
sender's identity, or anything that pairs a sender with a recipient. The server
logs to standard error: give the file(s) that go to with --log.`,
  async run(args, io) {
    const { values } = parse(args, { ...dataOptions, deep: { type: 'boolean' }, log: { type: 'string', multiple: true } });
    const config = adminConfig(io, values);
    if (values.deep) {
      const logFiles = ((values.log as string[] | undefined) ?? []).map((f) => resolve(io.cwd, f));
      const { result } = await runAdmin<DeepAuditReport>(config, { op: 'deep-audit', logFiles }, (a) => a.deepAudit(logFiles));
      if (values.json) io.out(`${JSON.stringify(result, null, 2)}\n`);
      else io.out(`${formatDeepAudit(result)}\n`);
      if (!result.ok) {
        io.err(`AUDIT FAILED: ${result.findings.length} finding(s) above. Nothing was changed; find what wrote the data, remove it, and run the audit again.\n`);
        return 3;
      }
      return 0;
    }
    if (values.log) io.err('--log is only read with --deep\n');
    const { result } = await runAdmin<AuditSummary>(config, { op: 'audit' }, (a) => a.audit());
    io.out(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatAudit(result)}\n`);
    return 0;
  },
};

export function formatDeepAudit(r: DeepAuditReport): string {
  const s = r.scanned;
  const lines = [
    `Sigilo deep audit, ${new Date(r.generatedAt).toISOString()}`,
    `scanned: ${s.rows} rows in ${s.tables} tables; ${s.databaseFiles.map((f) => `${f.name} (${f.bytes} bytes)`).join(', ') || 'no database files (PostgreSQL: rows only)'}; ${s.blobs} attachment files (${s.blobBytes} bytes); ${s.logLines} log lines in ${s.logFiles.length} file(s)`,
    '',
    `${'count'.padStart(8)}  ${'oldest'.padEnd(26)} what (where)`,
    ...r.kinds.map((k) => `${String(k.count).padStart(8)}  ${(k.count && k.oldest !== undefined ? oldestAge({ table: k.where, rows: k.count, oldest: k.oldest, oldestIsDay: k.oldestIsDay }, r.generatedAt) : '-').padEnd(26)} ${k.kind} (${k.where})${k.note ? `, ${k.note}` : ''}`),
    '',
  ];
  if (r.ok) lines.push('PASSED: no plaintext, no sealed-sender identity, no sender-recipient pair, no identifier or address in the logs.');
  else {
    lines.push(`FAILED: ${r.findings.length} finding(s):`);
    for (const f of r.findings) lines.push(`  ${f.kind.toUpperCase()}  ${f.where}: ${f.detail}`);
  }
  return lines.join('\n');
}
