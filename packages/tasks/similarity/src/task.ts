/**
 * The perceptual-similarity task (docs/PROTOCOL.md section 3, after Zhang et al. 2018): how well a
 * loss network's LPIPS-style distance agrees with human judgements on BAPPS.
 *  - 2AFC score per val split (traditional, cnn, superres, deblur, color, frameinterp) and their
 *    unweighted mean: the headline, higher is better;
 *  - JND mAP, the traditional and cnn val splits pooled.
 * Variants: baseline (the network as it is), lin (learned channel weights on the frozen network),
 * tune (network and weights trained), scratch (random network, everything trained).
 * Without a data root the task writes a synthetic BAPPS into its scratch directory and scores that:
 * the offline demo, whose numbers say nothing about real perceptual quality.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  backendName,
  createEngineDistance,
  defineTask,
  inputError,
  ParamStore,
  PerceptualDistance,
  type PerceptualNormalization,
  type TaskContext,
  type TaskResult,
  type WeightsProvenance,
} from '@dpl/core';
import { jndMap, meanOverSplits, twoAfcScore, twoAfcScores } from '@dpl/metrics';
import { itemsOf, openSplit, type BappsSplit, type SkippedItem } from './bapps/loader';
import { generateSyntheticBapps } from './bapps/synthetic';
import { CONFIG, type SimilarityConfig } from './config';
import { readLinWeights } from './lin-weights';
import { createHead, initialNetworkWeights, linWeightsOf, TrainableNetwork } from './model';
import { scoreSplits, type SplitRecord } from './scoring';
import { trainSimilarity, type TrainSummary } from './train';

export const SIMILARITY_TASK_ID = 'similarity';

/** The seed of the synthetic stand-in: fixed, so every network of a suite sees the same data. */
export const SYNTHETIC_SEED = 0;

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

function hashWeights(w: Map<string, Float32Array>): string {
  const h = createHash('sha256');
  for (const [k, v] of [...w].sort(([a], [b]) => a.localeCompare(b))) h.update(k).update(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  return h.digest('hex');
}

/** The data to score: the given root, or the synthetic stand-in written to scratch. */
async function dataRoot(ctx: TaskContext, cfg: SimilarityConfig): Promise<{ root: string; synthetic: boolean }> {
  if (ctx.dataRoot) return { root: path.resolve(ctx.dataRoot), synthetic: false };
  const root = path.join(ctx.scratchDir, 'synthetic-bapps');
  ctx.progress.log(
    `no data root given: scoring a synthetic stand-in for BAPPS written to ${root} (its numbers say nothing about real perceptual quality; pass the BAPPS folder as the data root for the benchmark)`,
  );
  await generateSyntheticBapps(root, {
    seed: SYNTHETIC_SEED,
    size: cfg.imageSize,
    counts: { val: cfg.syntheticVal, train: cfg.syntheticTrain, jnd: cfg.syntheticJnd },
    progress: ctx.progress,
  });
  return { root, synthetic: true };
}

/** The first `max` ids of a split (in id order), or all of them. */
function limitIds(split: BappsSplit, max: number | null): string[] {
  return max === null ? split.ids : split.ids.slice(0, max);
}

interface Built {
  distance: PerceptualDistance;
  provenance: WeightsProvenance;
  weightsHash: string | null;
  training: TrainSummary | null;
  checkpoint: string | null;
  linSource: string | null;
  cleanup: () => void;
}

/** Builds the distance of the configured variant, training it when needed. */
async function buildDistance(ctx: TaskContext, cfg: SimilarityConfig, points: string[], trainSplits: BappsSplit[]): Promise<Built> {
  const input = { range: '[0,1]' as const, normalize: cfg.normalize as PerceptualNormalization, resize: null, validate: false };
  const batchNorm = cfg.lossNetworkMode;
  const net = ctx.lossNetwork;
  const channels = points.map((p) => net.backbone.point(p).channels);
  if (cfg.variant === 'baseline') {
    return {
      distance: new PerceptualDistance({ extractor: net, points, input, variant: 'baseline', batchNorm }),
      provenance: net.provenance,
      weightsHash: null,
      training: null,
      checkpoint: null,
      linSource: null,
      cleanup: () => undefined,
    };
  }
  const lin = (extractor: TrainableNetwork | typeof net, weights: Map<string, Float32Array>, source: string) =>
    new PerceptualDistance({ extractor, points, input, variant: 'lin', linWeights: weights, linSource: source, batchNorm });

  if (cfg.variant === 'lin' && cfg.linWeights) {
    const file = path.resolve(cfg.linWeights);
    const loaded = await readLinWeights(file, net.backbone.id, points, channels);
    if (loaded.hasNetwork)
      ctx.progress.log(`${file} also holds network weights (a tune/scratch checkpoint); variant lin uses only its channel weights`);
    return {
      distance: lin(net, loaded.weights, file),
      provenance: net.provenance,
      weightsHash: hashWeights(loaded.weights),
      training: null,
      checkpoint: null,
      linSource: file,
      cleanup: () => undefined,
    };
  }

  const store = new ParamStore(ctx.seed);
  let trainable: TrainableNetwork | null = null;
  let provenance = net.provenance;
  try {
    if (cfg.variant === 'tune' || cfg.variant === 'scratch') {
      const init = await initialNetworkWeights(net, cfg.variant, ctx.seed);
      provenance = init.provenance;
      trainable = new TrainableNetwork(net.backbone, store, provenance, points);
      trainable.load(init.sd);
    }
    createHead(store, points, channels, cfg.rankHidden);
    let training: TrainSummary | null = null;
    let checkpoint: string | null = null;
    let linSource: string;
    if (cfg.linWeights) {
      // tune / scratch: the checkpoint holds the network too
      linSource = path.resolve(cfg.linWeights);
      await store.load(linSource);
    } else {
      const items = itemsOf(trainSplits);
      const features = new PerceptualDistance({ extractor: trainable ?? net, points, input, variant: 'baseline', batchNorm });
      try {
        training = await trainSimilarity({
          cfg,
          store,
          features,
          trainNetwork: trainable !== null,
          points,
          items: limitTrain(items, cfg.maxTrainTriplets, ctx.seed),
          seed: ctx.seed,
          progress: ctx.progress,
          signal: ctx.signal,
        });
      } finally {
        features.dispose();
      }
      checkpoint = path.join(ctx.scratchDir, `similarity-${cfg.variant}.safetensors`);
      await store.save(checkpoint, { step: training.result.steps, config: { ...cfg, backbone: net.backbone.id, points } });
      linSource = checkpoint;
    }
    const weights = await linWeightsOf(store, points);
    let weightsHash = hashWeights(weights);
    if (trainable) weightsHash = sha256(weightsHash + hashWeights(new Map([...(await store.snapshot())].map(([k, v]) => [k, v.data]))));
    const extractor = trainable ?? net;
    const distance = lin(extractor, weights, linSource);
    return {
      distance,
      provenance,
      weightsHash,
      training,
      checkpoint,
      linSource,
      cleanup: () => store.dispose(),
    };
  } catch (e) {
    store.dispose();
    throw e;
  }
}

/** At most `max` training triplets, a seeded choice kept in order. */
function limitTrain<T>(items: T[], max: number | null, seed: number): T[] {
  if (max === null || items.length <= max) return items;
  // a stride over a seeded rotation: deterministic, spread over every train split
  const offset = seed % items.length;
  return Array.from({ length: max }, (_, i) => items[(offset + Math.floor((i * items.length) / max)) % items.length]);
}

function csv(records: SplitRecord[], kind: '2afc' | 'jnd'): string {
  const rows = [kind === '2afc' ? 'split,id,d0,d1,judge,score' : 'split,id,d,same'];
  for (const r of records.filter((x) => x.kind === kind)) {
    const scores = kind === '2afc' ? twoAfcScores(r.d0, r.d1, r.labels) : null;
    r.ids.forEach((id, i) =>
      rows.push(
        kind === '2afc' ? `${r.key},${id},${r.d0[i]},${r.d1[i]},${r.labels[i]},${scores![i]}` : `${r.key},${id},${r.d0[i]},${r.labels[i]}`,
      ),
    );
  }
  return `${rows.join('\n')}\n`;
}

async function runSimilarity(ctx: TaskContext<SimilarityConfig>): Promise<TaskResult> {
  const cfg = ctx.config;
  const started = Date.now();
  const points = ctx.lossNetwork.backbone.resolvePoints(ctx.points).map((p) => p.name);
  const data = await dataRoot(ctx, cfg);
  // open every split first: a missing or incomplete split fails before any work
  const val = cfg.valSplits.map((s) => openSplit(data.root, '2afc', 'val', s));
  const jnd = cfg.jndSplits.map((s) => openSplit(data.root, 'jnd', 'val', s));
  const needsTraining = cfg.variant !== 'baseline' && !cfg.linWeights;
  const train = needsTraining ? cfg.trainSplits.map((s) => openSplit(data.root, '2afc', 'train', s)) : [];

  const built = await buildDistance(ctx, cfg, points, train);
  let scorer: Awaited<ReturnType<typeof createEngineDistance>> | null = null;
  try {
    // the frozen loss network (baseline, lin) needs no gradients when scoring: it may run on
    // onnxruntime; tune and scratch score their trained network, which only tfjs holds
    const frozen = built.distance.extractor === ctx.lossNetwork;
    if (!frozen && cfg.engine === 'onnx') ctx.progress.log(`engine: tfjs (variant ${cfg.variant} scores its trained network on tfjs)`);
    scorer = await createEngineDistance(frozen ? cfg.engine : 'tfjs', built.distance, { log: (l) => ctx.progress.log(l) });
    const fingerprint = sha256(
      JSON.stringify({
        v: 1,
        backbone: ctx.lossNetwork.backbone.id,
        points,
        provenance: built.provenance,
        variant: cfg.variant,
        normalize: cfg.normalize,
        imageSize: cfg.imageSize,
        lossNetworkMode: cfg.lossNetworkMode,
        data: data.root,
        weights: built.weightsHash,
      }),
    ).slice(0, 16);
    const splits = [...val, ...jnd];
    const scoring = await scoreSplits({
      distance: scorer,
      splits,
      ids: new Map(splits.map((s) => [s.key, limitIds(s, cfg.maxPerSplit)])),
      batchSize: cfg.evalBatchSize,
      imageSize: cfg.imageSize,
      onBadItem: cfg.badImages,
      progress: ctx.progress,
      signal: ctx.signal,
      cacheDir: path.join(ctx.scratchDir, 'similarity-scores', fingerprint),
      fingerprint,
      resume: cfg.resume,
    });

    const twoAfc: Record<string, number> = {};
    const splitDetail: Record<string, Record<string, number>> = {};
    const skipped: SkippedItem[] = [...(built.training?.skipped ?? [])];
    for (const r of scoring.records) {
      skipped.push(...r.skipped);
      if (!r.ids.length)
        throw inputError(
          `split ${r.key}`,
          `has no readable item (${r.skipped.length} skipped)`,
          'check the skipped files listed in the log',
        );
      if (r.kind === '2afc') {
        const split = r.key.split('/')[2];
        twoAfc[split] = twoAfcScore(r.d0, r.d1, r.labels);
        splitDetail[r.key] = { '2afc': twoAfc[split], triplets: r.ids.length, skipped: r.skipped.length };
      } else {
        // a split's own mAP needs some "same" mass; the pooled mAP below is the metric
        const positive = r.labels.some((v) => v > 0);
        splitDetail[r.key] = { ...(positive ? { map: jndMap(r.d0, r.labels) } : {}), pairs: r.ids.length, skipped: r.skipped.length };
      }
    }
    const metrics: Record<string, number> = { '2afc_mean': meanOverSplits(twoAfc) };
    for (const s of cfg.valSplits) metrics[`2afc_${s}`] = twoAfc[s];
    const jndRecords = scoring.records.filter((r) => r.kind === 'jnd');
    if (jndRecords.length)
      metrics.jnd_map = jndMap(
        jndRecords.flatMap((r) => r.d0),
        jndRecords.flatMap((r) => r.labels),
      );

    const files: Record<string, string> = {};
    if (built.checkpoint) files.checkpoint = built.checkpoint;
    if (cfg.writeDistances) {
      files.distances2afc = path.join(ctx.scratchDir, 'similarity-distances-2afc.csv');
      fs.writeFileSync(files.distances2afc, csv(scoring.records, '2afc'));
      if (jndRecords.length) {
        files.distancesJnd = path.join(ctx.scratchDir, 'similarity-distances-jnd.csv');
        fs.writeFileSync(files.distancesJnd, csv(scoring.records, 'jnd'));
      }
    }
    const t = built.training;
    return {
      task: SIMILARITY_TASK_ID,
      metrics,
      splits: splitDetail,
      headline: { metric: '2afc_mean', higherIsBetter: true },
      provenance: built.provenance,
      backend: backendName(),
      detail: {
        data: { kind: data.synthetic ? 'synthetic' : 'bapps', root: data.root },
        variant: cfg.variant,
        engine: scorer.describe(),
        distance: built.distance.describe(),
        linWeights: built.linSource,
        training: t && {
          triplets: t.triplets,
          steps: t.result.steps,
          epochs: t.result.epochs,
          finalLoss: t.finalLoss,
          seconds: t.seconds,
        },
        scoring: {
          items: scoring.records.reduce((a, r) => a + r.ids.length, 0),
          scoredNow: scoring.scored,
          seconds: scoring.seconds,
          itemsPerSecond: scoring.seconds > 0 ? scoring.scored / scoring.seconds : null,
          resumedSplits: scoring.resumed,
          fingerprint,
        },
        skipped,
        files,
        seconds: (Date.now() - started) / 1000,
      },
    };
  } finally {
    await scorer?.dispose();
    built.distance.dispose();
    built.cleanup();
  }
}

export const similarityTask = defineTask({
  id: SIMILARITY_TASK_ID,
  description:
    'perceptual similarity on BAPPS (Zhang et al. 2018): 2AFC agreement with human judgements per split and JND mAP; variants baseline, lin, tune, scratch',
  config: CONFIG,
  run: runSimilarity,
});
