// A local directory standing in for S3 (demo, single-machine use): bucket = sub-directory.
import { mkdir, readFile, readdir, realpath, rm, stat, writeFile, rename } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import { MAX_SMALL_OBJECT_BYTES, ObjectTooLarge, type ObjectInfo, type ObjectStore } from '../../../core/provider.ts';

export class FileObjectStore implements ObjectStore {
  private readonly root: string;
  constructor(root: string) { this.root = resolve(root); }

  private path(bucket: string, key: string): string {
    const p = resolve(this.root, bucket, key);
    if (!p.startsWith(resolve(this.root, bucket) + sep)) throw new Error(`key escapes the bucket: ${key}`);
    return p;
  }

  async get(bucket: string, key: string, maxBytes = MAX_SMALL_OBJECT_BYTES): Promise<Buffer | null> {
    try {
      const p = this.path(bucket, key);
      if ((await stat(p)).size > maxBytes) throw new ObjectTooLarge(bucket, key, maxBytes);
      return await readFile(p);
    } catch (e) { if (isNotFound(e)) return null; throw e; }
  }

  async put(bucket: string, key: string, body: string): Promise<void> {
    const p = this.path(bucket, key);
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.tmp-${process.pid}`;
    await writeFile(tmp, body);
    await rename(tmp, p);
  }

  async head(bucket: string, key: string): Promise<ObjectInfo | null> {
    try {
      const s = await stat(this.path(bucket, key));
      return s.isFile() ? { key, size: s.size } : null;
    } catch (e) { if (isNotFound(e)) return null; throw e; }
  }

  async list(bucket: string, prefix: string, after = '', limit = 1000): Promise<ObjectInfo[]> {
    const base = resolve(this.root, bucket);
    const all: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try { entries = await readdir(dir, { withFileTypes: true }); } catch (e) { if (isNotFound(e)) return; throw e; }
      for (const entry of entries) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await walk(full);
        else all.push({ key: relative(base, full).split(sep).join('/'), size: (await stat(full)).size });
      }
    };
    // Only the directory the prefix names can hold its keys: walk that, not the whole bucket - and
    // only if it really lies inside the bucket (no '..', no symlink leading out of it).
    const dir = prefix.includes('/') ? resolve(base, prefix.slice(0, prefix.lastIndexOf('/'))) : base;
    if (dir !== base && !dir.startsWith(base + sep)) return [];
    try {
      const [real, realBase] = await Promise.all([realpath(dir), realpath(base)]);
      if (real !== realBase && !real.startsWith(realBase + sep)) return [];
    } catch (e) { if (isNotFound(e) || (e as { code?: string }).code === 'ENOTDIR') return []; throw e; }
    await walk(dir);
    return all.filter((o) => o.key.startsWith(prefix) && o.key > after).sort((a, b) => (a.key < b.key ? -1 : 1)).slice(0, limit);
  }

  async sha256(bucket: string, key: string): Promise<string | null> {
    const path = this.path(bucket, key);
    if (!(await this.head(bucket, key))) return null;
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest('hex');
  }

  async deleteMany(bucket: string, keys: string[]): Promise<void> {
    await Promise.all(keys.map((k) => rm(this.path(bucket, k), { force: true })));
  }
}

function isNotFound(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: string }).code === 'ENOENT';
}
