const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The bytes as text when they are valid UTF-8, else undefined, so the caller can fall back to
 * base64 and never show bytes lossily. Imports nothing: the CLI bundle uses it too.
 */
export function asUtf8(bytes: Uint8Array): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return undefined;
  }
}
