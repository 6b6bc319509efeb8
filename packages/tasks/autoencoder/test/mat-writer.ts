/**
 * A minimal MAT level-5 writer for the tests (written from the format description, not from the
 * reader): numeric variables as miMATRIX elements, optionally each zlib-compressed (miCOMPRESSED),
 * little- or big-endian. Names of up to 4 bytes use the small data-element format, as MATLAB does.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

export interface MatVar {
  name: string;
  className: 'uint8' | 'double';
  dims: number[];
  /** Column-major values. */
  data: ArrayLike<number>;
}

const CLASS_ID = { double: 6, uint8: 9 };
const MI = { int8: 1, uint8: 2, int32: 5, uint32: 6, double: 9, matrix: 14, compressed: 15 };

class Out {
  parts: Buffer[] = [];
  constructor(readonly be: boolean) {}
  u32(v: number) {
    const b = Buffer.alloc(4);
    this.be ? b.writeUInt32BE(v >>> 0) : b.writeUInt32LE(v >>> 0);
    this.parts.push(b);
  }
  i32(v: number) {
    const b = Buffer.alloc(4);
    this.be ? b.writeInt32BE(v) : b.writeInt32LE(v);
    this.parts.push(b);
  }
  raw(b: Buffer) {
    this.parts.push(b);
  }
  pad() {
    const n = this.length() % 8;
    if (n) this.parts.push(Buffer.alloc(8 - n));
  }
  length() {
    return this.parts.reduce((a, p) => a + p.length, 0);
  }
  buf() {
    return Buffer.concat(this.parts);
  }
}

function matrix(v: MatVar, be: boolean): Buffer {
  const body = new Out(be);
  body.u32(MI.uint32);
  body.u32(8);
  body.u32(CLASS_ID[v.className]);
  body.u32(0);
  body.u32(MI.int32);
  body.u32(4 * v.dims.length);
  v.dims.forEach((d) => body.i32(d));
  body.pad();
  const name = Buffer.from(v.name, 'latin1');
  if (name.length <= 4) {
    body.u32((name.length << 16) | MI.int8);
    body.raw(Buffer.concat([name, Buffer.alloc(4 - name.length)]));
  } else {
    body.u32(MI.int8);
    body.u32(name.length);
    body.raw(name);
    body.pad();
  }
  const n = v.data.length;
  if (v.className === 'uint8') {
    body.u32(MI.uint8);
    body.u32(n);
    body.raw(Buffer.from(Uint8Array.from(v.data)));
  } else {
    body.u32(MI.double);
    body.u32(8 * n);
    const b = Buffer.alloc(8 * n);
    for (let i = 0; i < n; i++) be ? b.writeDoubleBE(v.data[i], 8 * i) : b.writeDoubleLE(v.data[i], 8 * i);
    body.raw(b);
  }
  body.pad();
  const el = new Out(be);
  el.u32(MI.matrix);
  el.u32(body.length());
  el.raw(body.buf());
  return el.buf();
}

export function writeMat(file: string, vars: MatVar[], o: { compress?: boolean; bigEndian?: boolean } = {}): void {
  const be = o.bigEndian ?? false;
  const head = Buffer.alloc(128, 0x20);
  head.write('MATLAB 5.0 MAT-file, written by the dpl autoencoder tests', 0, 'latin1');
  head.fill(0, 116, 124);
  be ? head.writeUInt16BE(0x0100, 124) : head.writeUInt16LE(0x0100, 124);
  head.write(be ? 'MI' : 'IM', 126, 'latin1');
  const out = new Out(be);
  out.raw(head);
  for (const v of vars) {
    const m = matrix(v, be);
    if (o.compress) {
      const z = zlib.deflateSync(m);
      out.u32(MI.compressed);
      out.u32(z.length);
      out.raw(z);
    } else {
      out.raw(m);
    }
  }
  fs.writeFileSync(file, out.buf());
}
