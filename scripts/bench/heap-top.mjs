/**
 * The allocation sites of heap-sample.mjs's profiles, summed over the files given: bytes sampled per
 * site, the largest first (the `HEAP_TOP` largest, 30 by default). A site is `HEAP_TOP_DEPTH` frames
 * of the stack (1 by default: the allocating function alone; 5: it and the four that called it).
 *
 *   node scripts/bench/heap-top.mjs /tmp/dawg-heap/<pid>-03[1-3]-*.json
 *   HEAP_TOP_DEPTH=5 HEAP_TOP=25 node scripts/bench/heap-top.mjs …
 */
import { readFileSync } from 'node:fs';

const depth = Number(process.env.HEAP_TOP_DEPTH) || 1;
const top = Number(process.env.HEAP_TOP) || 30;
const bySite = new Map();
let total = 0;
for (const file of process.argv.slice(2)) {
  const { head, samples } = JSON.parse(readFileSync(file, 'utf8'));
  const nodes = new Map();
  const parents = new Map();
  const walk = (node, parent) => {
    nodes.set(node.id, node);
    parents.set(node.id, parent);
    for (const child of node.children) walk(child, node);
  };
  walk(head, null);
  for (const { nodeId, size } of samples) {
    total += size;
    const frames = [];
    for (let node = nodes.get(nodeId); node && frames.length < depth; node = parents.get(node.id)) {
      const { functionName, url, lineNumber } = node.callFrame;
      frames.push(`${functionName || '(anonymous)'}@${url.split('/').slice(-2).join('/')}:${lineNumber + 1}`);
    }
    const site = frames.join(' < ');
    bySite.set(site, (bySite.get(site) ?? 0) + size);
  }
}
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top)) {
  console.log(`${(bytes / 1e6).toFixed(2).padStart(8)} MB ${((100 * bytes) / total).toFixed(1).padStart(5)} %  ${site}`);
}
console.log(`${(total / 1e6).toFixed(1)} MB sampled in ${process.argv.length - 2} file(s)`);
