export function ffmpegPath(): string;
