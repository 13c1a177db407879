// The hook events `hook install` can register, by the name --events takes. Kept apart from hook-install.ts, so the
// command tree (which lists them in --help) does not load the settings editor and its diff library at start-up.

export const HOOK_EVENTS = {
  stop: { event: 'Stop' },
  'subagent-stop': { event: 'SubagentStop' },
  'post-tool-use': { event: 'PostToolUse', matcher: 'Write|Edit|MultiEdit|Bash' },
} as const;
export type HookEventChoice = keyof typeof HOOK_EVENTS;
export const HOOK_EVENT_CHOICES = Object.keys(HOOK_EVENTS) as HookEventChoice[];
