import * as fs from 'node:fs';
import { looksLikeSafetensors, readSafetensors, readWeights, type StateDict } from '@dpl/core';

/**
 * Reads a state_dict, sniffing safetensors first: core's readWeights tests for a pickle first and
 * takes a safetensors file whose header length is 0x0280, 0x0380, 0x0480 or 0x0580 bytes for one
 * (its first two bytes, 0x80 0x02..0x05, are a pickle protocol header).
 */
export async function readStateDict(file: string): Promise<StateDict> {
  let head: Buffer;
  let size: number;
  try {
    const fh = await fs.promises.open(file, 'r');
    try {
      size = (await fh.stat()).size;
      head = Buffer.alloc(Math.min(16, size));
      await fh.read(head, 0, head.length, 0);
    } finally {
      await fh.close();
    }
  } catch {
    return readWeights(file); // its error names the file and the problem
  }
  return looksLikeSafetensors(head, size) ? readSafetensors(file) : readWeights(file);
}
