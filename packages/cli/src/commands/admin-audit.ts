/** `sigilo admin audit`: what the server holds, for an auditor. */
import { formatAudit, type AuditSummary } from '@sigilo/server';
import { parse } from '../args.js';
import type { Command } from '../command.js';
import { adminConfig, dataOptions, runAdmin } from '../data-dir.js';

export const adminAudit: Command = {
  path: ['admin', 'audit'],
  summary: 'print what the server stores: rows per table, oldest row, whether sender identities are stored',
  usage: 'sigilo admin audit [--data DIR] [--config FILE] [--json]',
  async run(args, io) {
    const { values } = parse(args, dataOptions);
    const { result } = await runAdmin<AuditSummary>(adminConfig(io, values), { op: 'audit' }, (a) => a.audit());
    io.out(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatAudit(result)}\n`);
    return 0;
  },
};
