/**
 * The official LPIPS linear-layer files (richzhang/PerceptualSimilarity, lpips/weights/v<version>/
 * <net>.pth) with their full SHA-256 and size: what `dpl weights pull lpips` fetches and checks, and
 * how a lin file is recognised as the pretrained one.
 */
export type LpipsNet = 'alex' | 'vgg' | 'squeeze';
/** An LPIPS version. */
export type LpipsVersion = '0.1' | '0.0';

/** One published LPIPS linear-layer weight file. */
export interface LpipsLinFile {
  net: LpipsNet;
  version: LpipsVersion;
  /** Path inside the repository, also the path under a mirror. */
  path: string;
  /** Path under dpl's weight cache ($DPL_HOME/weights). */
  cachePath: string;
  sha256: string;
  bytes: number;
}

/** The networks LPIPS publishes linear weights for. */
export const LPIPS_NETS: readonly LpipsNet[] = ['alex', 'vgg', 'squeeze'];
/** The published LPIPS versions. */
export const LPIPS_VERSIONS: readonly LpipsVersion[] = ['0.1', '0.0'];
/** Raw files of the repository at the commit the hashes were taken from. */
export const LPIPS_REPO_URL = 'https://raw.githubusercontent.com/richzhang/PerceptualSimilarity/master';

const file = (version: LpipsVersion, net: LpipsNet, sha256: string, bytes: number): LpipsLinFile => ({
  net,
  version,
  path: `lpips/weights/v${version}/${net}.pth`,
  cachePath: `lpips/v${version}/${net}.pth`,
  sha256,
  bytes,
});

/** LPIPS's linear-layer weight files: name, URL and SHA-256 per network and version. */
export const LPIPS_LIN_FILES: readonly LpipsLinFile[] = [
  file('0.1', 'alex', 'df73285e35b22355a2df87cdb6b70b343713b667eddbda73e1977e0c860835c0', 6009),
  file('0.1', 'vgg', 'a78928a0af1e5f0fcb1f3b9e8f8c3a2a5a3de244d830ad5c1feddc79b8432868', 7289),
  file('0.1', 'squeeze', '4a5350f23600cb79923ce65bb07cbf57dca461329894153e05a1346bd531cf76', 10811),
  file('0.0', 'alex', '18720f55913d0af89042f13faa7e536a6ce1444a0914e6db9461355ece1e8cd5', 5455),
  file('0.0', 'vgg', 'b9e4236260c3dd988fc79d2a48d645d885afcbb21f9fd595e6744cf7419b582c', 6735),
  file('0.0', 'squeeze', 'c27abd3a0145541baa50990817df58d3759c3f8154949f42af3b59b4e042d0bf', 10057),
];

/** The linear-layer weight file of one LPIPS network and version. */
export function lpipsLinFile(net: LpipsNet, version: LpipsVersion): LpipsLinFile {
  return LPIPS_LIN_FILES.find((f) => f.net === net && f.version === version)!;
}

/** The official file whose SHA-256 this is, if any. */
export const lpipsLinFileByHash = (sha256: string): LpipsLinFile | undefined => LPIPS_LIN_FILES.find((f) => f.sha256 === sha256);
