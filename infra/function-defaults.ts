/**
 * Defaults of Logway's Lambda functions that something besides the stack needs to know (the
 * benchmark's cost model bills at this memory size). No CDK import: bench/prices.ts reads it.
 */

/** Memory of every function, in MB, unless the stack's `functionMemoryMB` says otherwise. */
export const defaultFunctionMemoryMB = 512;
