/**
 * The few WebAssembly JS-API declarations the wasm kernel uses. TypeScript ships them only in
 * the DOM lib and @types/node 20 does not declare them, though Node 20 has the global.
 */
declare namespace WebAssembly {
  class Module {
    constructor(bytes: ArrayBufferView | ArrayBuffer);
  }
  class Instance {
    constructor(module: Module, imports?: Record<string, Record<string, unknown>>);
    readonly exports: Record<string, unknown>;
  }
  class Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
}
