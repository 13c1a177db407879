// The last step of `npm run build`: writes dist/rules/rule-manifest.json, the rules' listing and a hash of each
// compiled rule file, so that `peer-audit rules` lists them without loading them (src/engine/registry.ts).
import { writeRuleManifest } from '../../dist/src/engine/registry.js';

await writeRuleManifest();
