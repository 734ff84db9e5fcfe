// `npm run bench`: every benchmark, figures printed as JSON. Not part of the tests.
import { benchHookSync } from './hook-sync.ts';
import { benchLocalBackup } from './local-backup.ts';
import { benchEncryption } from './encryption.ts';
import { benchRestore } from './restore.ts';
import { benchConsistency } from './consistency.ts';
import { benchArchive } from './archive.ts';
import { benchAwsCopy } from './aws-copy.ts';
import { benchGcpBackup } from './gcp-backup.ts';
import { benchSchedule } from './schedule.ts';
import { benchGlob } from './glob.ts';
import { benchScale } from './scale.ts';
import { benchCli } from './cli.ts';
import { benchStateMetrics } from './state-metrics.ts';

console.log(JSON.stringify({ hookSync: await benchHookSync(10) }, null, 2));
console.log(JSON.stringify({ localBackup: await benchLocalBackup() }, null, 2));
console.log(JSON.stringify({ encryption: await benchEncryption() }, null, 2));
console.log(JSON.stringify({ restore: await benchRestore() }, null, 2));
console.log(JSON.stringify({ consistency: await benchConsistency() }, null, 2));
console.log(JSON.stringify({ archive: await benchArchive() }, null, 2));
console.log(JSON.stringify({ awsCopy: await benchAwsCopy() }, null, 2));
console.log(JSON.stringify({ gcpBackup: await benchGcpBackup() }, null, 2));
console.log(JSON.stringify({ schedule: await benchSchedule() }, null, 2));
console.log(JSON.stringify({ glob: benchGlob() }, null, 2));
console.log(JSON.stringify({ scale: await benchScale() }, null, 2));
console.log(JSON.stringify({ cli: await benchCli() }, null, 2));
console.log(JSON.stringify({ stateMetrics: await benchStateMetrics() }, null, 2));
