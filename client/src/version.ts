/** The client's version (kept equal to client/package.json's). */
export const clientVersion = '0.1.0';
