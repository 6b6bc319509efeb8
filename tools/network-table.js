#!/usr/bin/env node
/** Prints the README's table of the study networks from `dpl describe --all --paper --json`. */
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const all = JSON.parse(
  execFileSync(process.execPath, [path.join(__dirname, '../packages/cli/dist/main.js'), 'describe', '--all', '--paper', '--json'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  }),
);
const study = all.filter((b) => b.inStudy).sort((a, b) => a.family.localeCompare(b.family) || a.backbone.localeCompare(b.backbone));
const j = (pts, k) => pts.map((p) => p[k]).join(' / ');
console.log('| network | ImageNet top-1 | params (M) | paper points (study index) | channels | stride | receptive field | convs before |');
console.log('|---|---|---|---|---|---|---|---|');
for (const b of study) {
  const p = b.points;
  console.log(
    `| ${b.backbone} | ${b.imagenetTop1} | ${b.paramsMillions} | ${p.map((x) => `${x.name} (${x.studyIndex})`).join(', ')} | ${j(p, 'channels')} | ${j(p, 'stride')} | ${j(p, 'receptiveField')} | ${j(p, 'convsBefore')} |`,
  );
}
