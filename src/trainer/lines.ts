import { StringDecoder } from 'node:string_decoder';

/** A line longer than this is cut (its head is kept and marked): memory stays bounded whatever a trainer prints. */
export const MAX_LINE_CHARS = 1 << 20;

export interface LineSplitterOptions {
  /**
   * Treat a bare `\r` as a terminal does: what follows overwrites the line, so only the last
   * segment is kept. Progress bars (Keras `verbose=1`, tqdm) redraw one line with `\r`.
   * @default false
   */
  carriageReturnOverwrites?: boolean;
  /** @default MAX_LINE_CHARS */
  maxLineChars?: number;
}

/**
 * Bytes in, whole lines out, as they arrive: a UTF-8 character or a line split across two
 * chunks is joined; a trailing `\r` (CRLF) is dropped. Each line comes with its 1-based number.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';
  private cut = false;
  private pendingCr = false;
  private count = 0;
  private readonly overwrite: boolean;
  private readonly maxChars: number;

  constructor(
    private readonly onLine: (line: string, lineNumber: number, cut: boolean) => void,
    options: LineSplitterOptions = {},
  ) {
    this.overwrite = options.carriageReturnOverwrites ?? false;
    this.maxChars = options.maxLineChars ?? MAX_LINE_CHARS;
  }

  /** Lines completed so far. */
  get lines(): number {
    return this.count;
  }

  push(chunk: Buffer | string): void {
    this.take(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
  }

  /** The last line when the stream ended without a newline. */
  end(): void {
    this.take(this.decoder.end());
    if (this.partial.length > 0 || this.cut) this.emit(this.partial);
  }

  private take(text: string): void {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      this.append(text.slice(start, nl));
      this.emit(this.partial);
      start = nl + 1;
    }
    this.append(text.slice(start));
  }

  private append(text: string): void {
    if (text.length === 0) return;
    if (this.overwrite) {
      // A bare \r starts the line over (a \r that ended the previous chunk was bare: text, which
      // lies between newlines, follows it). A \r just before \n is a CRLF ending.
      const cr = text.length < 2 ? -1 : text.lastIndexOf('\r', text.length - 2);
      if (this.pendingCr || cr !== -1) {
        this.partial = '';
        this.cut = false;
        text = text.slice(cr + 1);
      }
      this.pendingCr = text.endsWith('\r');
      if (this.pendingCr) text = text.slice(0, -1);
    }
    if (this.cut) return;
    const room = this.maxChars - this.partial.length;
    if (text.length > room) {
      this.partial += text.slice(0, room);
      this.cut = true;
    } else {
      this.partial += text;
    }
  }

  private emit(line: string): void {
    const cut = this.cut;
    this.partial = '';
    this.cut = false;
    this.pendingCr = false;
    this.count++;
    this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line, this.count, cut);
  }
}
