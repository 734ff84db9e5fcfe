// The consistency check's key lists at a large library's size (docs/recovery-points.md): the real
// functions of providers/shared/jobs/scripts/lib.sh (split_keys, compare_keys, consistency_members) on N
// generated Liferay keys (default 20,000,000: a library of that many file versions), with 1% of
// them missing from the "bucket" listing and 1% extra files. The listing comes from a file (rclone is
// replaced by `cat` for `lsf` only). Prints the wall time, the peak size of the Job's work directory
// (its /tmp is a 1 GiB emptyDir) and the peak RSS of the process tree, against the size the same
// lists take uncompressed (what the earlier plain files needed).
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { seconds } from './measure.ts';

const KEYS = Number(process.env.LC2_BENCH_KEYS ?? 20_000_000);
const root = join(process.env.LC2_BENCH_DIR ?? tmpdir(), 'lc2-bench-consistency');
const lib = readFileSync(new URL('../providers/shared/jobs/scripts/lib.sh', import.meta.url), 'utf8');

/** Disk used under a directory, in bytes (du: what an emptyDir's sizeLimit counts). */
const du = (dir: string) => { try { return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]); } catch { return 0; } };

export async function benchConsistency(): Promise<Record<string, unknown>> {
  rmSync(root, { recursive: true, force: true });
  const tmp = join(root, 'tmp');
  mkdirSync(tmp, { recursive: true });
  // Keys like Liferay's: {companyId}/{repositoryId}/{fileEntryId-based name}/{version}[~{storeUUID}],
  // in database order (not sorted), flagged P; the listing drops every 100th and adds 1% orphans.
  const gen = `awk -v n=${KEYS} 'BEGIN { srand(7); for (i = 1; i <= n; i++) { c = 20097 + (i % 3); r = 20121 + int(i / 50000); printf "P %d/%d/%d/%s%s\\n", c, r, 30000 + i, (i % 4 ? "1.0" : "1.1"), (i % 5 ? "" : sprintf("~%08x-0000-4000-8000-%012d", i, i)) } }'`;
  execFileSync('bash', ['-c', `${gen} > ${root}/keys.txt && sed 's/^P //' ${root}/keys.txt | awk 'NR % 100 != 0' > ${root}/listing.txt && awk -v n=${KEYS} 'BEGIN { for (i = 1; i <= n / 100; i++) printf "20097/29999/%d/1.0\\n", 900000000 + i }' >> ${root}/listing.txt`]);
  const plainBytes = du(join(root, 'keys.txt'));
  const script = `${lib}
rclone() { if [ "$1" = lsf ]; then cat "${root}/listing.txt"; else command rclone "$@"; fi; }
split_keys <"${root}/keys.txt"
compare_keys "store:unused"
printf '{%s}\\n' "$(consistency_members)" >"${root}/result.json"`;
  const t0 = process.hrtime.bigint();
  const child = spawn('bash', ['-c', script], { env: { ...process.env, TMPDIR: tmp, LC2_STEP: 'bench' }, stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  let peakDisk = 0;
  let peakRssKiB = 0;
  const sample = setInterval(() => {
    peakDisk = Math.max(peakDisk, du(tmp));
    try {
      const rss = execFileSync('bash', ['-c', `ps -o rss= -g ${child.pid} | awk '{ s += $1 } END { print s + 0 }'`], { encoding: 'utf8' });
      peakRssKiB = Math.max(peakRssKiB, Number(rss));
    } catch { /* the tree ended between two samples */ }
  }, 250);
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearInterval(sample);
  const wall = seconds(t0);
  if (code !== 0) throw new Error(`consistency functions exited ${code}`);
  const result = JSON.parse(readFileSync(join(root, 'result.json'), 'utf8')) as { expected: number; missing: number; orphans: number };
  const out = {
    keys: KEYS, seconds: +wall.toFixed(1), peakWorkDirMiB: +(peakDisk / 2 ** 20).toFixed(1),
    // The earlier plain files held the key list about five times (keys, expected, referenced, present, and missing/orphans).
    plainKeyListMiB: +(plainBytes / 2 ** 20).toFixed(1), peakRssMiB: +(peakRssKiB / 1024).toFixed(1),
    expected: result.expected, missing: result.missing, orphans: result.orphans,
  };
  rmSync(root, { recursive: true, force: true });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify({ consistency: await benchConsistency() }, null, 2));
