// Small PEER state values for rule tests, in the shapes the agents really write (see the reference notes).
export const T0 = '2025-08-05T15:56:53Z';

export function v1Meta(spec: string, over: Record<string, unknown> = {}, cycle: Record<string, unknown> = {}) {
  return {
    spec_name: spec,
    created_at: T0,
    current_cycle: 1,
    current_phase: 'plan',
    cycles: { '1': { instruction: 'create-spec', status: 'running', started_at: T0, ...cycle } },
    ...over,
  };
}

export function v1Cycle(phases: Record<string, unknown>, over: Record<string, unknown> = {}) {
  return {
    cycle_number: 1,
    instruction: 'create-spec',
    started_at: T0,
    phases,
    status: { current_phase: 'plan', progress_percent: 0, last_update: T0 },
    ...over,
  };
}

export const done = (output: unknown = { summary: 'ok' }) => ({
  status: 'complete',
  completed_at: '2025-08-05T16:00:00Z',
  output,
});

export function v2Cycle(
  prefix: string,
  n: number,
  status: string,
  phases: Record<string, string>,
  over: Record<string, unknown> = {},
) {
  return {
    version: 1,
    cycle_id: `${prefix}.cycle.${n}`,
    metadata: {
      instruction_name: 'create-spec',
      spec_name: prefix.replace(/^peer\.spec\./, ''),
      key_prefix: prefix,
      cycle_number: n,
      created_at: '2025-08-21T10:00:00Z',
      updated_at: '2025-08-21T10:20:00Z',
      status,
      current_phase: 'review',
      ...over,
    },
    context: { peer_mode: 'new', spec_aware: true, user_requirements: 'x' },
    phases: Object.fromEntries(
      Object.entries(phases).map(([p, s]) => [
        p,
        s === 'completed'
          ? {
              status: s,
              started_at: '2025-08-21T10:01:00Z',
              completed_at: '2025-08-21T10:05:00Z',
              output: { summary: p },
            }
          : { status: s },
      ]),
    ),
  };
}

/** The v1 meta of demo-spec once finalize marked it complete. */
export const completeMeta = v1Meta(
  'demo-spec',
  { current_phase: 'complete' },
  { status: 'complete', completed_at: '2025-08-05T16:11:30Z' },
);

/** A v1 cycle that went plan → express → review without execute, and says it is complete. */
export const skipped = v1Cycle(
  {
    plan: done(),
    express: done(),
    review: done({ execution_status: 'incomplete', missing_phases: ['execute'], completeness: false }),
  },
  {
    completed_at: '2025-08-05T16:10:00Z',
    status: { current_phase: 'complete', progress_percent: 100, last_update: '2025-08-05T15:56:53Z' },
  },
);
