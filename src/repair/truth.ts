// Kept for modules that import from here; the builders live in the model, where rules may use them.
export { V2_STATUS_FOR_PHASE, firstIncomplete, progressOf } from '../model/resume-fixes.js';
export { acknowledgement, knownNote, recordedRepairs } from '../model/acknowledged.js';
