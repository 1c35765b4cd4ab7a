/**
 * The ffmpeg the tests and benchmarks measure with: the static build that @ffmpeg-installer/ffmpeg
 * ships inside npm for this platform (a devDependency: no system package needed), else the system's.
 */
import { createRequire } from 'node:module';

export function ffmpegPath() {
  try {
    return createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg').path;
  } catch {
    return 'ffmpeg'; // no build for this platform in the package (or not installed)
  }
}
