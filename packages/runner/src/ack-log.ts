// A write probe's acknowledgements and failed attempts, in the order they came, on disk. The
// lost-write check needs every id a run wrote (a soak writes millions a day), and kept in memory
// they grew the runner's RSS with the run (about 20 MiB/h at 150 writes/s: the one trend in
// its memory). In memory here: the chunk being filled and one index entry per chunk written (its
// offset, length and time span), so a window of time reads only the chunks that overlap it.
//
// A record: kind and outcome (1 byte), acknowledging node (u16, 0 when the probe could not tell),
// the time (f64), then the id: the 16 bytes of a lower-case UUID (the app's order ids), a prefix
// number and a u32 for the probes' own `<prefix>-<seq>` ids, or its UTF-8 text. Ids come back
// exactly as they were written: only an id that prints back the same is stored in a short form.
import { closeSync, mkdirSync, openSync, readSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface AckRecord {
  readonly id: string;
  /** Acknowledged (true) or attempted and failed (false). */
  readonly ok: boolean;
  readonly at: number;
  readonly node: string | undefined;
}

export interface AckLogOptions {
  /** Folder the log goes in (a `.acks` folder is made in it, and removed when empty). */
  readonly dir: string;
  /** Bytes kept in memory before a chunk is written out (default 256 KiB). */
  readonly chunkBytes?: number;
  /** A chunk is also written out once it holds records this old (default 10 s): a killed runner leaves its log on disk. */
  readonly flushAfterMs?: number;
}

/** The folder (in a run's report folder) the logs go in. */
export const ACK_LOG_DIR = '.acks';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SERIES = /^(.*-)(0|[1-9]\d{0,8})$/;
const HEADER = 11;
const Kind = { Text: 0, Uuid: 1, Series: 2 } as const;
type Kind = (typeof Kind)[keyof typeof Kind];

interface ChunkIndex {
  readonly position: number;
  readonly length: number;
  readonly minAt: number;
  readonly maxAt: number;
}

const open = new Set<AckLog>();
let exitHook = false;
let serial = 0;

export class AckLog {
  readonly path: string;
  readonly #dir: string;
  readonly #chunk: Buffer;
  #used = 0;
  #minAt = Infinity;
  #maxAt = -Infinity;
  #chunkSince = 0;
  readonly #flushAfterMs: number;
  readonly #index: ChunkIndex[] = [];
  #fd: number | null = null;
  #written = 0;
  #closed = false;
  readonly #nodes: string[] = [''];
  readonly #nodeIndex = new Map<string, number>();
  readonly #prefixes: string[] = [];
  readonly #prefixIndex = new Map<string, number>();

  constructor(name: string, options: AckLogOptions) {
    this.#dir = join(options.dir, ACK_LOG_DIR);
    this.path = join(this.#dir, `${name.replace(/[^A-Za-z0-9_.@-]/g, '_')}-${process.pid}-${++serial}.bin`);
    this.#chunk = Buffer.allocUnsafeSlow(Math.max(64, options.chunkBytes ?? 256 * 1024));
    this.#flushAfterMs = options.flushAfterMs ?? 10_000;
  }

  /** Bytes the log keeps in memory (the chunk; the index is a few numbers per chunk written). */
  get memoryBytes(): number {
    return this.#chunk.length + this.#index.length * 32;
  }

  append(id: string, ok: boolean, at: number, node?: string): void {
    if (this.#closed) throw new Error(`the ack log ${this.path} is closed`);
    let kind: Kind = Kind.Text;
    let text: Buffer | undefined;
    let series: [number, number] | undefined;
    if (UUID.test(id)) kind = Kind.Uuid;
    else {
      const m = SERIES.exec(id);
      const prefix = m ? this.#prefix(m[1]!) : -1;
      if (m && prefix >= 0) {
        kind = Kind.Series;
        series = [prefix, Number(m[2])];
      } else text = Buffer.from(id, 'utf8');
    }
    const size = HEADER + (kind === Kind.Uuid ? 16 : kind === Kind.Series ? 6 : 4 + text!.length);
    const now = performance.now();
    if (this.#used + size > this.#chunk.length || (this.#used > 0 && now - this.#chunkSince >= this.#flushAfterMs)) this.#flush();
    if (this.#used === 0) this.#chunkSince = now;
    const big = size > this.#chunk.length ? Buffer.allocUnsafe(size) : undefined;
    const buf = big ?? this.#chunk;
    let o = big ? 0 : this.#used;
    buf[o] = kind | (ok ? 0x80 : 0);
    buf.writeUInt16LE(this.#node(node), o + 1);
    buf.writeDoubleLE(at, o + 3);
    o += HEADER;
    if (kind === Kind.Uuid) buf.write(id.replaceAll('-', ''), o, 16, 'hex');
    else if (kind === Kind.Series) {
      buf.writeUInt16LE(series![0], o);
      buf.writeUInt32LE(series![1], o + 2);
    } else {
      buf.writeUInt32LE(text!.length, o);
      text!.copy(buf, o + 4);
    }
    if (big) {
      this.#writeChunk(big, big.length, at, at);
      return;
    }
    this.#used += size;
    if (at < this.#minAt) this.#minAt = at;
    if (at > this.#maxAt) this.#maxAt = at;
  }

  /** Every record in the order written; with `from`/`to`, at least those with from <= at < to (whole chunks are read). */
  *records(window: { readonly from?: number; readonly to?: number } = {}): IterableIterator<AckRecord> {
    const from = window.from ?? -Infinity;
    const to = window.to ?? Infinity;
    let buf: Buffer | undefined;
    for (const c of this.#index) {
      if (c.maxAt < from || c.minAt >= to) continue;
      if (!buf || buf.length < c.length) buf = Buffer.allocUnsafe(Math.max(c.length, this.#chunk.length));
      let done = 0;
      while (done < c.length) {
        const n = readSync(this.#fd!, buf, done, c.length - done, c.position + done);
        if (n === 0) throw new Error(`the ack log ${this.path} ends before its chunk at ${c.position} (${c.length} bytes)`);
        done += n;
      }
      yield* this.#decode(buf, c.length);
    }
    if (this.#used > 0 && !(this.#maxAt < from || this.#minAt >= to)) {
      // A copy: the chunk may be written to while the caller iterates.
      yield* this.#decode(Buffer.from(this.#chunk.subarray(0, this.#used)), this.#used);
    }
  }

  /** Removes the file (and the `.acks` folder when nothing else is in it). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    open.delete(this);
    if (this.#fd !== null) {
      try {
        closeSync(this.#fd);
      } catch {
        // Already closed with the process.
      }
      this.#fd = null;
      rmSync(this.path, { force: true });
      try {
        rmdirSync(this.#dir);
      } catch {
        // Another log is still in it, or it is gone.
      }
    }
  }

  *#decode(buf: Buffer, length: number): IterableIterator<AckRecord> {
    let o = 0;
    while (o < length) {
      const head = buf[o]!;
      const kind = (head & 0x7f) as Kind;
      const nodeNo = buf.readUInt16LE(o + 1);
      const at = buf.readDoubleLE(o + 3);
      o += HEADER;
      let id: string;
      if (kind === Kind.Uuid) {
        const h = buf.toString('hex', o, o + 16);
        id = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
        o += 16;
      } else if (kind === Kind.Series) {
        id = this.#prefixes[buf.readUInt16LE(o)]! + String(buf.readUInt32LE(o + 2));
        o += 6;
      } else {
        const n = buf.readUInt32LE(o);
        id = buf.toString('utf8', o + 4, o + 4 + n);
        o += 4 + n;
      }
      yield { id, ok: (head & 0x80) !== 0, at, node: nodeNo === 0 ? undefined : this.#nodes[nodeNo] };
    }
  }

  #node(name: string | undefined): number {
    if (!name) return 0;
    let i = this.#nodeIndex.get(name);
    if (i === undefined) {
      if (this.#nodes.length > 65_535) throw new Error(`more than 65,535 acknowledging nodes in ${this.path}`);
      i = this.#nodes.length;
      this.#nodes.push(name);
      this.#nodeIndex.set(name, i);
    }
    return i;
  }

  /** The prefix's number, or -1 when there are too many (the id is then kept as text). */
  #prefix(prefix: string): number {
    let i = this.#prefixIndex.get(prefix);
    if (i === undefined) {
      if (this.#prefixes.length > 65_535) return -1;
      i = this.#prefixes.length;
      this.#prefixes.push(prefix);
      this.#prefixIndex.set(prefix, i);
    }
    return i;
  }

  #flush(): void {
    if (this.#used === 0) return;
    this.#writeChunk(this.#chunk, this.#used, this.#minAt, this.#maxAt);
    this.#used = 0;
    this.#minAt = Infinity;
    this.#maxAt = -Infinity;
  }

  #writeChunk(buf: Buffer, length: number, minAt: number, maxAt: number): void {
    if (this.#fd === null) {
      mkdirSync(this.#dir, { recursive: true });
      this.#fd = openSync(this.path, 'w+');
      open.add(this);
      if (!exitHook) {
        exitHook = true;
        process.once('exit', () => {
          for (const log of [...open]) log.close();
        });
      }
    }
    let done = 0;
    while (done < length) done += writeSync(this.#fd, buf, done, length - done, this.#written + done);
    this.#index.push({ position: this.#written, length, minAt, maxAt });
    this.#written += length;
  }
}
