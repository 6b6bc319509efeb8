/** The report's data: everything `dpl report` computes, as written to report.json. */
import type { Correlation } from './stats';

/** The architecture attributes of one extraction point that the analysis relates scores to. */
export interface PointAttributes {
  name: string;
  /** 1..4 for the study's points E1..E4. */
  paperIndex?: number;
  relativeDepth: number;
  convsBefore: number;
  paramsUpTo: number;
  receptiveField: number;
  stride: number;
  channels: number;
}

/** What the report needs to know about a loss network (from the plugin registry). */
export interface NetworkInfo {
  imagenetTop1?: number;
  paramsMillions?: number;
  point(name: string): PointAttributes | undefined;
}

/** Looks a backbone up; undefined when it is not installed. */
export type NetworkLookup = (backbone: string) => NetworkInfo | undefined;

/** The headline metric of one (network, point) over its seeds. */
export interface Aggregate {
  backbone: string;
  /** The table column: E1..E4 (E1+E2 for combined points) or the point names. */
  column: string;
  points: string[];
  seeds: number[];
  values: number[];
  mean: number;
  /** Sample standard deviation over seeds; null with one seed. */
  std: number | null;
  /** The attributes of the cell's deepest point (a combined cell is described by its deepest point). */
  attributes: PointAttributes | null;
}

export interface NetworkRow {
  backbone: string;
  /** 'random (seed 0)', 'pretrained vgg16-397923af.pth', or 'mixed: ...'. */
  weights: string;
  random: boolean;
  pretrained: boolean;
  backends: string[];
  imagenetTop1: number | null;
  paramsMillions: number | null;
  /** column -> aggregate */
  cells: Record<string, Aggregate>;
  best: Aggregate;
  /** Rank of the best point among networks (1 = best; ties share the mean rank). */
  rank: number;
}

export interface RankEntry {
  rank: number;
  backbone: string;
  column: string;
  points: string[];
  mean: number;
  weights: string;
}

export type Attribute =
  'imagenetTop1' | 'paramsMillions' | 'relativeDepth' | 'convsBefore' | 'paramsUpTo' | 'receptiveField' | 'stride' | 'channels';

export interface CorrelationRow extends Correlation {
  attribute: Attribute;
  /** 'networks': each network's best point; 'points': every (network, point). */
  sample: 'networks' | 'points';
}

export interface UseCaseReport {
  /** The task id, or `task (preset)` when the store holds a task under several presets. */
  id: string;
  task: string;
  preset: string;
  headline: { metric: string; higherIsBetter: boolean };
  columnKind: 'study' | 'points';
  columns: string[];
  seeds: number[];
  backends: string[];
  dplVersions: string[];
  /** 'pretrained', 'random' or 'mixed (k of n networks random)'. */
  weights: string;
  /** In store order. */
  networks: NetworkRow[];
  networkRanking: RankEntry[];
  pointRanking: RankEntry[];
  correlations: CorrelationRow[];
  cellCount: number;
}

export interface MeanRank {
  /** backbone, or `backbone column` for point-level ranks. */
  key: string;
  backbone: string;
  column: string | null;
  meanRank: number;
  /** Use cases it was ranked in. */
  useCases: number;
  ranks: Record<string, number>;
  weights: string;
}

export interface FailedCell {
  task: string;
  preset: string;
  backbone: string;
  points: string[];
  seed: number;
  attempts: number;
  error: string;
  hash: string;
}

/** One finished cell as written to the CSV and JSON. */
export interface CellRecord {
  useCase: string;
  task: string;
  preset: string;
  backbone: string;
  points: string[];
  column: string;
  seed: number;
  weights: string;
  backend: string;
  dplVersion: string;
  seconds: number | null;
  headlineMetric: string;
  headline: number | null;
  metrics: Record<string, number>;
  splits: Record<string, Record<string, number>> | null;
  hash: string;
}

export interface Report {
  generatedAt: string;
  store: string;
  /** The dpl that wrote the report. */
  reportVersion: string;
  /** The dpl version(s) that ran the cells. */
  dplVersions: string[];
  backends: string[];
  counts: { done: number; failed: number; pending: number; running: number };
  permutations: number;
  seed: number;
  useCases: UseCaseReport[];
  meanRanks: { networks: MeanRank[]; points: MeanRank[] };
  failed: FailedCell[];
  /** Things the reader should know (superseded duplicates, unknown backbones, missing metrics, random weights). */
  notes: string[];
  cells: CellRecord[];
}
