/**
 * Every runtime dependency is used: imported by the code that runs (src, worker, scripts, the
 * Prisma config), required as a peer by one that is, or run by an npm script through its command.
 * A dependency nothing uses is weight on every install and a review nobody needs (dataloader was one).
 *
 * Every dependency with an install script has been reviewed: package.json's `allowScripts` allows
 * or denies it by name (npm 11.16+ skips a denied one and warns of one left out; npm 12 skips those
 * too). Why each is allowed or denied: docs/operations.md, "Install scripts".
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

interface Manifest {
  allowScripts?: Record<string, boolean>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
  bin?: string | Record<string, string>;
  name?: string;
}

const read = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Manifest;

function sources(path: string): string[] {
  if (statSync(path).isFile()) return /\.(ts|mts|mjs|js)$/.test(path) ? [path] : [];
  return readdirSync(path).flatMap((name) => (name === 'node_modules' ? [] : sources(join(path, name))));
}

describe('package.json', () => {
  it('declares no runtime dependency that nothing imports, peers or runs', () => {
    const pkg = read('package.json');
    const code = ['src', 'worker', 'scripts', 'prisma.config.ts'].flatMap(sources).map((f) => readFileSync(f, 'utf8'));
    const imported = new Set<string>();
    for (const text of code)
      for (const m of text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)['"]((?:@[^/'"]+\/)?[^/'".][^/'"]*)/g))
        imported.add(m[1] as string);
    const deps = Object.keys(pkg.dependencies ?? {});
    const used = new Set(deps.filter((d) => imported.has(d)));
    for (const d of [...used])
      for (const peer of Object.keys(read(`node_modules/${d}/package.json`).peerDependencies ?? {})) used.add(peer);
    const scripts = Object.values(pkg.scripts ?? {}).join(' && ');
    for (const d of deps) {
      const { bin, name } = read(`node_modules/${d}/package.json`);
      const commands = typeof bin === 'string' ? [name ?? d] : Object.keys(bin ?? {});
      if (commands.some((c) => new RegExp(`(^|[\\s&;|(])${c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s`).test(scripts)))
        used.add(d);
    }
    const unused = deps.filter((d) => !used.has(d));
    expect(unused, 'in package.json "dependencies" but nothing imports, peers or runs them: use them or remove them').toEqual([]);
  });

  it("reviews every dependency's install script in allowScripts, by name", () => {
    const { allowScripts = {} } = read('package.json');
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    const withScripts = new Set(
      Object.entries(lock.packages)
        .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
        .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length)),
    );
    expect(withScripts.size, 'the lockfile lists packages with install scripts').toBeGreaterThan(0);
    // The lockfile has no `resolved` URLs, from which npm would match a pinned `name@version`.
    expect(
      Object.keys(allowScripts).filter((key) => key.lastIndexOf('@') > 0),
      'pinned entries npm cannot match',
    ).toEqual([]);
    expect(
      [...withScripts].filter((name) => typeof allowScripts[name] !== 'boolean'),
      'install scripts nobody reviewed: allow or deny each in package.json "allowScripts" and say why in docs/operations.md',
    ).toEqual([]);
    expect(
      Object.keys(allowScripts).filter((name) => !withScripts.has(name)),
      'allowScripts entries for packages the lockfile no longer installs with a script',
    ).toEqual([]);
  });
});
