/**
 * Builds the publishable @logway/client into client/dist:
 * - dist/index.js: the library, one ESM bundle (the service's murmur2 partitioner inlined);
 * - dist/cli.js: the `logway` CLI (its `dev` command prints how to run the local service from a
 *   clone, since the local runtime is not part of the package);
 * - dist/console/: the web console's files, which `logway console` serves;
 * - dist/types/: declarations (tsc), with relative imports given their .js extension so that
 *   `moduleResolution: node16/nodenext` consumers resolve them too.
 * The package's dependencies (commander, the AWS signer and credential chain) stay external.
 * Run with `npm run build:client` (repository root) or `npm run build` (in client/).
 */
import { build, type Plugin } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildConsole } from '../console/build';
import { repoRoot } from '../infra/project';

const clientDir = dirname(fileURLToPath(import.meta.url));
const defaultDistDir = join(clientDir, 'dist');
const manifest = JSON.parse(readFileSync(join(clientDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

/** `logway dev` in the package: instructions instead of the repository's local runtime. */
const publishedDev: Plugin = {
  name: 'published-dev',
  setup(b) {
    b.onResolve({ filter: /\/dev-runtime$/ }, () => ({ path: join(repoRoot, 'cli', 'dev-runtime.published.ts') }));
  },
};

/** `logway console` in the package: the console files next to the bundle, not the repository's build. */
const publishedConsole: Plugin = {
  name: 'published-console',
  setup(b) {
    b.onResolve({ filter: /\/console\/assets$/ }, () => ({ path: join(repoRoot, 'console', 'assets.published.ts') }));
  },
};

function addJsExtensions(dir: string): void {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      addJsExtensions(path);
      continue;
    }
    if (!path.endsWith('.d.ts')) continue;
    const text = readFileSync(path, 'utf8').replace(
      /(from\s+|import\()(['"])(\.{1,2}\/[^'"]+)\2/g,
      (match, prefix: string, quote: string, spec: string) => {
        if (/\.(js|json)$/.test(spec)) return match;
        const target = resolve(dirname(path), spec);
        // A module file wins over a folder of the same name (consumer.d.ts beside consumer/), as in resolution.
        const isDir = (() => {
          if (existsSync(`${target}.d.ts`)) return false;
          try {
            return statSync(target).isDirectory();
          } catch {
            return false;
          }
        })();
        return `${prefix}${quote}${spec}${isDir ? '/index' : ''}.js${quote}`;
      },
    );
    writeFileSync(path, text);
  }
}

export async function buildClient(
  options: { types?: boolean; outDir?: string } = {},
): Promise<{ files: { file: string; bytes: number }[] }> {
  const distDir = options.outDir ?? defaultDistDir;
  rmSync(distDir, { recursive: true, force: true });
  const common = {
    bundle: true,
    platform: 'node' as const,
    format: 'esm' as const,
    target: 'node20',
    external: Object.keys(manifest.dependencies),
    logLevel: 'error' as const,
    legalComments: 'none' as const,
  };
  await build({ ...common, entryPoints: [join(clientDir, 'src', 'index.ts')], outfile: join(distDir, 'index.js') });
  await build({
    ...common,
    entryPoints: [join(repoRoot, 'cli', 'main.ts')],
    outfile: join(distDir, 'cli.js'),
    banner: { js: '#!/usr/bin/env node' },
    plugins: [publishedDev, publishedConsole],
  });
  await buildConsole({ outDir: join(distDir, 'console') });
  // The build's timestamp is for rebuilding in a clone; the package needs only the files.
  rmSync(join(distDir, 'console', '.built'), { force: true });
  chmodSync(join(distDir, 'cli.js'), 0o755);
  if (options.types ?? true) {
    execFileSync(
      process.execPath,
      [
        join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'),
        '-p',
        join(clientDir, 'tsconfig.build.json'),
        '--outDir',
        join(distDir, 'types'),
      ],
      { stdio: 'inherit' },
    );
    addJsExtensions(join(distDir, 'types'));
  }
  const files = ['index.js', 'cli.js'].map((name) => ({ file: join(distDir, name), bytes: statSync(join(distDir, name)).size }));
  return { files };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildClient()
    .then(({ files }) => {
      for (const { file, bytes } of files)
        console.log(`${relative(repoRoot, file).padEnd(24)} ${(bytes / 1024).toFixed(1).padStart(7)} KiB`);
      console.log(`types in ${relative(repoRoot, join(defaultDistDir, 'types'))}/`);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
