import { weightsError } from '../errors';
import type { StateDict } from '../weights/state-dict';
import type { Graph } from './ir';
import { optionalBuffers, transformerParams } from './transformer-ops';

/** A state_dict entry a graph reads, with its PyTorch shape. */
export interface ParamSpec {
  key: string;
  shape: number[];
  /**
   * 'scale': a per-channel factor (channelScale), 1 in a random init. 'embedding': a learned
   * additive table (class token, positional embedding, relative position bias), N(0, 0.02^2) in a
   * random init. 'buffer': a constant the graph recomputes (optionalBuffers), never read.
   */
  role: 'weight' | 'bias' | 'running_mean' | 'running_var' | 'scale' | 'embedding' | 'buffer';
}

/** Every state_dict key (and PyTorch shape) the graph needs, in graph order. */
export function expectedParams(graph: Graph): ParamSpec[] {
  const out: ParamSpec[] = [];
  for (const n of graph.nodes) {
    const op = n.op;
    if (op.kind === 'conv') {
      out.push({ key: `${op.key}.weight`, shape: [op.outChannels, op.inChannels / op.groups, ...op.kernel], role: 'weight' });
      if (op.bias) out.push({ key: `${op.key}.bias`, shape: [op.outChannels], role: 'bias' });
    } else if (op.kind === 'batchNorm') {
      out.push({ key: `${op.key}.weight`, shape: [op.channels], role: 'weight' });
      out.push({ key: `${op.key}.bias`, shape: [op.channels], role: 'bias' });
      out.push({ key: `${op.key}.running_mean`, shape: [op.channels], role: 'running_mean' });
      out.push({ key: `${op.key}.running_var`, shape: [op.channels], role: 'running_var' });
    } else if (op.kind === 'linear') {
      out.push({ key: `${op.key}.weight`, shape: [op.outFeatures, op.inFeatures], role: 'weight' });
      if (op.bias) out.push({ key: `${op.key}.bias`, shape: [op.outFeatures], role: 'bias' });
    } else if (op.kind === 'layerNorm') {
      out.push({ key: `${op.key}.weight`, shape: [op.channels], role: 'weight' });
      out.push({ key: `${op.key}.bias`, shape: [op.channels], role: 'bias' });
    } else if (op.kind === 'channelLinear') {
      out.push({ key: `${op.key}.weight`, shape: [op.outChannels, op.inChannels], role: 'weight' });
      if (op.bias) out.push({ key: `${op.key}.bias`, shape: [op.outChannels], role: 'bias' });
    } else if (op.kind === 'channelScale') {
      out.push({ key: op.param, shape: [...op.shape], role: 'scale' });
    } else {
      out.push(...transformerParams(op));
    }
  }
  return out;
}

/** How a state_dict matches a graph: missing, unexpected and mis-shaped keys. */
export interface BindingReport {
  missing: ParamSpec[];
  unexpected: string[];
  misshaped: { key: string; expected: number[]; actual: number[] }[];
}

/**
 * Compares a checkpoint with what the graph needs, before any tensor is built. Keys accepted by
 * `ignore` (a classifier head the features never use, BN batch counters) are not unexpected.
 */
export function checkStateDict(graph: Graph, sd: StateDict, ignore: (key: string) => boolean = () => false): BindingReport {
  const expected = expectedParams(graph);
  const want = new Map(expected.map((p) => [p.key, p]));
  const report: BindingReport = { missing: [], unexpected: [], misshaped: [] };
  for (const p of expected) {
    const rec = sd.get(p.key);
    if (!rec) report.missing.push(p);
    else if (rec.shape.length !== p.shape.length || rec.shape.some((d, i) => d !== p.shape[i])) {
      report.misshaped.push({ key: p.key, expected: p.shape, actual: rec.shape });
    }
  }
  // buffers the graph recomputes (Swin's relative_position_index): accepted when present, shape checked
  const optional = new Map(graph.nodes.flatMap((n) => optionalBuffers(n.op)).map((p) => [p.key, p]));
  for (const [key, p] of optional) {
    const r = sd.get(key);
    if (r && (r.shape.length !== p.shape.length || r.shape.some((d, i) => d !== p.shape[i]))) {
      report.misshaped.push({ key, expected: p.shape, actual: r.shape });
    }
  }
  for (const key of sd.keys()) {
    if (want.has(key) || optional.has(key) || key.endsWith('.num_batches_tracked') || ignore(key)) continue;
    report.unexpected.push(key);
  }
  return report;
}

/** Throws one error listing every missing, unexpected and mis-shaped key. */
export function assertBindable(source: string, backboneId: string, report: BindingReport): void {
  const lines: string[] = [];
  const cap = (xs: string[]) => (xs.length > 40 ? [...xs.slice(0, 40), `... and ${xs.length - 40} more`] : xs);
  if (report.missing.length) {
    lines.push(`missing keys (${report.missing.length}):`, ...cap(report.missing.map((p) => `  ${p.key} [${p.shape.join(', ')}]`)));
  }
  if (report.misshaped.length) {
    lines.push(
      `wrong shapes (${report.misshaped.length}):`,
      ...cap(report.misshaped.map((m) => `  ${m.key}: file has [${m.actual.join(', ')}], ${backboneId} needs [${m.expected.join(', ')}]`)),
    );
  }
  if (report.unexpected.length) {
    lines.push(`unexpected keys (${report.unexpected.length}):`, ...cap(report.unexpected.map((k) => `  ${k}`)));
  }
  if (lines.length) {
    throw weightsError(
      source,
      `is not a ${backboneId} checkpoint:\n${lines.join('\n')}`,
      `use the torchvision ${backboneId} weights ('dpl weights pull ${backboneId}') or a state_dict saved from torchvision.models.${backboneId}`,
    );
  }
}
