/**
 * How every Logway handler is bundled: esbuild on this machine (never Docker), one minified ESM
 * file per function with a source map, for Node.js 22 on arm64.
 */
import { LogLevel, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import { lockedVersion } from './project';

/**
 * Packages that esbuild must leave out of every bundle: native (napi-rs) modules, which load a
 * per-platform `.node` binary from an optional dependency (`@node-rs/crc32-linux-arm64-gnu`, ...)
 * that esbuild cannot inline. Add any native compression codec here. Pure-JS packages (fzstd,
 * snappyjs) are bundled like everything else.
 *
 * The code that uses them must load them with a guarded runtime `require` and fall back to a
 * pure-JS implementation, as shared/records/crc32c.ts does: unless native modules are installed
 * (below), they are absent on Lambda.
 */
export const nativeModules = ['@node-rs/crc32'] as const;

/**
 * What happens to `nativeModules` on Lambda:
 * - `fallback` (default): they are not shipped; the pure-JS fallbacks run. Synthesis stays
 *   offline and fast, and the bundle is one file.
 * - `install`: after bundling, `npm install` fetches the linux-arm64 (glibc) build of each into
 *   the function's node_modules, so the native path runs. Needs the npm registry at synth time.
 * The trade-off is written up in docs/deploy.md.
 */
export type NativeModuleMode = 'fallback' | 'install';

/**
 * An ESM bundle has no `require`, yet CommonJS dependencies inlined by esbuild call it for Node
 * built-ins. The banner defines one. `createRequire` is imported under a private alias so that
 * a bundled module importing `createRequire` itself cannot collide with the banner's import.
 */
const esmRequireShim =
  "import { createRequire as __logwayCreateRequire } from 'module'; const require = __logwayCreateRequire(import.meta.url);";

export function logwayBundling(nativeModuleMode: NativeModuleMode = 'fallback'): BundlingOptions {
  return {
    forceDockerBundling: false,
    format: OutputFormat.ESM,
    target: 'node22',
    minify: true,
    sourceMap: true,
    // Mappings are enough for stack traces (NODE_OPTIONS=--enable-source-maps); the sources
    // themselves would double the asset.
    sourcesContent: false,
    mainFields: ['module', 'main'],
    banner: esmRequireShim,
    // Warnings and errors only: no size summary per function on every synth.
    logLevel: LogLevel.WARNING,
    // Setting this replaces the default (the runtime's @aws-sdk/*): the SDK is bundled, so each
    // function runs the SDK version the tests ran, not whatever the runtime ships.
    externalModules: [...nativeModules],
    ...(nativeModuleMode === 'install' ? { commandHooks: installNativeModulesForLambda() } : {}),
  };
}

/**
 * Installs the pinned version of each native module, for the Lambda platform (linux, arm64,
 * glibc) rather than the machine synthesizing, next to the bundle. npm >= 10.2 honours
 * --os/--cpu/--libc when it picks optional dependencies.
 */
function installNativeModulesForLambda(): NonNullable<BundlingOptions['commandHooks']> {
  const specs = nativeModules.map((name) => `${name}@${lockedVersion(name)}`).join(' ');
  return {
    beforeBundling: () => [],
    beforeInstall: () => [],
    afterBundling: (_inputDir: string, outputDir: string) => [
      `npm install --prefix "${outputDir}" --no-save --no-package-lock --omit=dev --no-audit --no-fund ` +
        `--os=linux --cpu=arm64 --libc=glibc ${specs}`,
    ],
  };
}

/**
 * The same options in esbuild's own terms, for bundles esbuild builds directly (`npm run build`
 * and the Kafka gateway's container): one definition of how Logway code is bundled.
 */
export function esbuildOptions(entryPoint: string, outfile: string) {
  const bundling = logwayBundling();
  return {
    entryPoints: [entryPoint],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: bundling.target ?? 'node22',
    minify: bundling.minify ?? true,
    sourcemap: bundling.sourceMap ? 'linked' : false,
    sourcesContent: bundling.sourcesContent ?? false,
    mainFields: bundling.mainFields ?? ['module', 'main'],
    banner: bundling.banner ? { js: bundling.banner } : undefined,
    external: bundling.externalModules ?? [],
    logLevel: 'error',
  } satisfies import('esbuild').BuildOptions;
}
