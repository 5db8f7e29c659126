import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { FusedKernel } from './kernel';
import { createWasmKernel } from './wasm-kernel';

/**
 * Where the build puts the compiled kernel (package.json "build:wasm": assembly/fused-kernel.ts
 * → dist/wasm/fused-kernel.wasm). This file compiles to dist/src/train/fused/.
 */
export function wasmKernelPath(): string {
  return path.join(__dirname, '..', '..', '..', 'wasm', 'fused-kernel.wasm');
}

export type WasmLoad = { ok: true; kernel: FusedKernel } | { ok: false; reason: string };

let loaded: WasmLoad | undefined;

/**
 * Compiles the kernel once per thread (each Piscina worker is its own thread) and checks that an
 * instance really starts; every net then gets its own instance and memory. A failure (no file,
 * a V8 without SIMD, …) is remembered, so the thread asks once and falls back to JS after that.
 *
 * Test-only fault injection: CONVERGE_FAULT=wasm hands the compiler a corrupted module, so the
 * real failure path runs (test/train/fused-wasm-fallback.test.ts).
 */
export function loadWasmKernel(): WasmLoad {
  if (loaded) return loaded;
  try {
    let bytes: Uint8Array = readFileSync(wasmKernelPath());
    if (process.env.CONVERGE_FAULT === 'wasm') bytes = bytes.subarray(0, bytes.length >> 1);
    const module = new WebAssembly.Module(bytes);
    const kernel = createWasmKernel(module);
    kernel.probe();
    loaded = { ok: true, kernel };
  } catch (e) {
    loaded = { ok: false, reason: `${(e as Error).name}: ${(e as Error).message}` };
  }
  return loaded;
}
