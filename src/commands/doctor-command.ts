// `peer-audit doctor`: its flags, and the checks run with them.
import { defineCommand, type CliContext } from './cli-context.js';
import { connectionFlags, localSourceFlags, logChoice, ruleFlag } from './flag-groups.js';
import { connectArgs } from './options.js';

export const doctorCommandModule = (cli: CliContext) =>
  defineCommand({
    command: 'doctor',
    describe:
      'Check that a scan can read everything: NATS, JetStream, the bucket and its settings, clocks, ' +
      'spec and log folders',
    builder: (y) =>
      localSourceFlags(connectionFlags(y), 'Check')
        .option('expect-replicas', ruleFlag.expectReplicas)
        .example('$0 doctor', 'Check the local NATS server, the bucket and the project in .')
        .example('$0 doctor --context prod --project ~/src/app', 'Check through a nats CLI context'),
    handler: async (a) => {
      const { doctorCommand } = await import('./doctor.js');
      cli.exitCode = await doctorCommand(
        {
          ...connectArgs(a),
          project: a.project,
          specs: a.specs,
          ...logChoice(a.logs as unknown, a['default-logs']),
          expectReplicas: a['expect-replicas'],
        },
        cli.chalk(process.stdout),
      );
    },
  });
