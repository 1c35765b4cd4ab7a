export const ROOT: string;
export const DIST: string;
export function buildIfStale(say: (message: string) => void): void;
export function build(say: (message: string) => void): void;
