import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const CHUNK = 1 << 16;

/**
 * Read a file as another process appends to it (`tail -f` without the waiting): each `drain()`
 * hands over the bytes added since the last one. The caller decides when to drain (a timer, and
 * before it reads the same program's stdout, so a record written to the file before a line was
 * printed is seen first). The file is opened once: a program that truncates it (opens it with 'w'
 * again rather than 'a') is reported through `onTruncated`, never re-read from the start.
 */
export class FileFollower {
  private fd: number | undefined;
  private offset = 0;
  private truncated = false;
  private readonly buffer = Buffer.allocUnsafe(CHUNK);

  constructor(
    private readonly path: string,
    private readonly onData: (chunk: Buffer) => void,
    private readonly onTruncated: () => void,
  ) {}

  drain(): void {
    if (this.truncated) return;
    if (this.fd === undefined) {
      try {
        this.fd = openSync(this.path, 'r');
      } catch {
        return; // not created yet
      }
    }
    if (fstatSync(this.fd).size < this.offset) {
      this.truncated = true;
      this.onTruncated();
      return;
    }
    for (;;) {
      const n = readSync(this.fd, this.buffer, 0, CHUNK, this.offset);
      if (n === 0) return;
      this.offset += n;
      // A copy: the buffer is reused by the next read, and the consumer may keep part of it.
      this.onData(Buffer.from(this.buffer.subarray(0, n)));
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
