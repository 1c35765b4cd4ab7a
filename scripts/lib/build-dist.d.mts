export const ROOT: string;
export const DIST: string;
export function buildIfStale(say: (message: string) => void): void;
