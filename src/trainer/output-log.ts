import { closeSync, openSync, writeSync } from 'node:fs';

/**
 * A run's whole output in one file, up to a cap. Past the cap the bytes are counted and dropped,
 * never buffered: a trainer that prints gigabytes costs a bounded file and bounded memory, and its
 * pipes are always drained, so it never blocks on a full pipe. The file says where it was cut and
 * how much was dropped.
 *
 * Writes are synchronous: each is one chunk read from a pipe (at most 64 KiB), so the event loop
 * is held for a local write of that size, and the log is complete the moment the run ends.
 */
export class CappedLog {
  private readonly fd: number;
  private written = 0;
  private dropped = 0;
  private closed = false;

  constructor(
    readonly path: string,
    private readonly capBytes: number,
  ) {
    this.fd = openSync(path, 'w');
  }

  /** Bytes the run printed so far (kept and dropped). */
  get totalBytes(): number {
    return this.written + this.dropped;
  }

  get cut(): boolean {
    return this.dropped > 0;
  }

  write(chunk: Buffer): void {
    if (this.closed) return;
    const room = this.capBytes - this.written;
    if (room >= chunk.length) {
      writeSync(this.fd, chunk);
      this.written += chunk.length;
      return;
    }
    if (room > 0) {
      writeSync(this.fd, chunk.subarray(0, room));
      this.written += room;
    }
    if (this.dropped === 0) writeSync(this.fd, `\n[converge: the log is cut here, at ${this.capBytes} bytes; the rest of the output is counted, not kept]\n`);
    this.dropped += chunk.length - Math.max(room, 0);
  }

  /** A line of converge's own (why the run ended, what was sent to its processes), past the cap too. */
  note(text: string): void {
    if (!this.closed) writeSync(this.fd, `\n[converge: ${text}]\n`);
  }

  close(): void {
    if (this.closed) return;
    if (this.dropped > 0) this.note(`${this.dropped} bytes of output after the cut were not kept (${this.totalBytes} in all)`);
    this.closed = true;
    closeSync(this.fd);
  }
}

/** The last few KB of one stream, for the database: what a person reads first when a run failed. */
export class ByteTail {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size - this.chunks[0]!.length >= this.maxBytes) this.size -= this.chunks.shift()!.length;
  }

  /** The tail as text, starting on a whole UTF-8 character. */
  text(): string {
    let tail = Buffer.concat(this.chunks, this.size);
    if (tail.length > this.maxBytes) tail = tail.subarray(tail.length - this.maxBytes);
    let start = 0;
    // Skip UTF-8 continuation bytes (10xxxxxx) left from a character cut at the start.
    while (start < tail.length && start < 4 && (tail[start]! & 0xc0) === 0x80) start++;
    return tail.subarray(start).toString('utf8');
  }

  /** The last `n` lines of the tail (a trailing newline ignored). */
  lastLines(n: number): string {
    const lines = this.text().replace(/\n$/, '').split('\n');
    return lines.slice(-n).join('\n');
  }
}
