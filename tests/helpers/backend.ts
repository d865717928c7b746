// backendInfo() as tests compare it: the GEMM tile is timed at init, so it
// is checked for what it may be, and the rest compared exactly.
import assert from 'node:assert/strict';

/** Checks the tile (4×8 on the plain build; 4×8 or 6×8 on the relaxed one) and returns the other fields. */
export function withoutTile<T extends { build: string; gemmTile?: string }>(info: T): Omit<T, 'gemmTile'> {
  const { gemmTile, ...rest } = info;
  const allowed = info.build === 'relaxed-simd' ? ['4x8', '6x8'] : ['4x8'];
  assert.ok(allowed.includes(gemmTile ?? ''), `gemmTile ${gemmTile} on the ${info.build} build`);
  return rest;
}
