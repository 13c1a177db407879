#!/usr/bin/env node
// Runs the bundled command line (dist/cli/, made by `npm run build`). With PEER_AUDIT_DEBUG set, an internal error's
// stack is printed: source maps then make it name the src/ files (reading the maps would slow every start-up).
if (process.env.PEER_AUDIT_DEBUG) process.setSourceMapsEnabled(true);
await import('../dist/cli/peer-audit.js');
