// The entry of a transcript-parsing worker thread (started by pool.ts from the file beside it).
import { serveParseJobs } from './pool.js';

serveParseJobs();
