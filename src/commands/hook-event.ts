// The Claude Code hook event `peer-audit hook` reads on stdin: the fields it uses, checked; every other field passes
// through (Claude Code adds fields from version to version).
import { z } from 'zod';

const text = z.string().min(1);

export const hookEventSchema = z.looseObject({
  hook_event_name: text.describe('Stop, SubagentStop, PostToolUse, … (others are answered with no output)'),
  session_id: text,
  transcript_path: z.string().optional(),
  cwd: text.describe('The project folder the session runs in'),
  stop_hook_active: z.boolean().optional(),
  agent_id: z.string().optional(),
  agent_type: z.string().optional(),
  agent_transcript_path: z.string().optional(),
  last_assistant_message: z.string().optional(),
  tool_name: z.string().optional(),
  tool_input: z.record(z.string(), z.unknown()).optional(),
  tool_response: z.unknown().optional(),
});

export type HookEvent = z.infer<typeof hookEventSchema>;

/** The event out of stdin's text, or why it cannot be read (one line). */
export function parseHookEvent(input: string): { event: HookEvent } | { error: string } {
  if (input.trim() === '') return { error: 'no hook event on stdin' };
  let json: unknown;
  try {
    json = JSON.parse(input);
  } catch (e) {
    return { error: `stdin is not JSON (${(e as Error).message.split('\n')[0]})` };
  }
  const r = hookEventSchema.safeParse(json);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue.path.length > 0 ? issue.path.join('.') : 'the event';
    return { error: `stdin is not a hook event: ${where}: ${issue.message}` };
  }
  return { event: r.data };
}
