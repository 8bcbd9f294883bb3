// Types for snappyjs (pure-JS raw Snappy, https://github.com/zhipeng-jia/snappyjs); it ships none.
declare module 'snappyjs' {
  export function compress<T extends Uint8Array | ArrayBuffer>(uncompressed: T): T;
  export function uncompress<T extends Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
}
